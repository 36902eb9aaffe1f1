using BenchmarkDotNet.Attributes;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>The forward pass as a batched unitriangular solve (harmonic extension, every stalk written) against the
/// plain forward pass of the same network on the same batch. Both reuse preallocated buffers.</summary>
[MemoryDiagnoser]
public class ForwardBenchmarks
{
    [Params("2-30-1", "784-512-512-10")]
    public string Network = "2-30-1";

    [Params(1024)]
    public int Batch;

    private Mlp _mlp = null!;
    private double[] _x = null!;
    private ForwardWorkspace _workspace = null!;
    private NetworkStalks _stalks = null!;

    [GlobalSetup]
    public void Setup()
    {
        var layers = Network.Split('-').Select(int.Parse).ToArray();
        _mlp = Mlp.HeInitialised(layers, Numerics.OutputActivation.Identity, 42);
        var rng = new Rng(7);
        _x = new double[layers[0] * Batch];
        for (int i = 0; i < _x.Length; i++) _x[i] = rng.Uniform(-2, 2);
        _workspace = new ForwardWorkspace(_mlp, Batch);
        _stalks = new NetworkStalks(_mlp, Batch);
    }

    [Benchmark(Baseline = true)]
    public void PlainForward() => Forward.run(_mlp, _x, _workspace);

    [Benchmark]
    public void UnitriangularSolve() => Numerics.UnitriangularSolve.solve(_mlp, _x, _stalks);

    /// <summary>The plain forward pass with each layer's GEMM split over two threads (bit-identical result).</summary>
    [Benchmark]
    public void PlainForwardTwoThreads() => Forward.runParallel(_mlp, _x, _workspace, 2);
}
