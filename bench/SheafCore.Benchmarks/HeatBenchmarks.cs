using BenchmarkDotNet.Attributes;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>Time to tolerance 1e-9 of the network heat equation from random N(0,1) stalks: the reference explicit
/// Euler update at dt = 0.01 (baseline) against the adaptive RKC2 integrator with the same stopping rule.</summary>
[MemoryDiagnoser]
public class HeatBenchmarks
{
    [Params("2-6-4-4-1@1", "2-30-1@1", "2-30-1@300")]
    public string Case = "2-30-1@300";

    private HeatProblem _problem = null!;

    [GlobalSetup]
    public void Setup() => _problem = HeatProblem.Create(Case);

    [Benchmark(Baseline = true)]
    public int Euler() => _problem.Run(adaptive: false).LaplacianApplications;

    [Benchmark]
    public int Adaptive() => _problem.Run(adaptive: true).LaplacianApplications;
}

/// <summary>A heat-equation workload: network "widths@batch", He weights (seed 42), inputs U[−2,2]² (seed 7), initial
/// stalks N(0,1) (seed 11); dt = 0.01, tol = 1e-9, α = 1.</summary>
internal sealed class HeatProblem
{
    private Mlp _mlp = null!;
    private double[] _x = null!;
    private NetworkStalks _initial = null!;
    private NetworkStalks _work = null!;
    private HeatSettings _settings = null!;

    public string Name { get; private set; } = "";

    public static HeatProblem Create(string spec)
    {
        var parts = spec.Split('@');
        var layers = parts[0].Split('-').Select(int.Parse).ToArray();
        int batch = int.Parse(parts[1]);
        var p = new HeatProblem { Name = spec };
        p._mlp = Mlp.HeInitialised(layers, Numerics.OutputActivation.Identity, 42);
        var rng = new Rng(7);
        p._x = new double[layers[0] * batch];
        for (int i = 0; i < p._x.Length; i++) p._x[i] = rng.Uniform(-2, 2);
        p._initial = new NetworkStalks(p._mlp, batch);
        var init = new Rng(11);
        foreach (var z in p._initial.Z) init.FillNormal(z, 1.0);
        foreach (var a in p._initial.A) init.FillNormal(a, 1.0);
        p._work = new NetworkStalks(p._mlp, batch);
        p._settings = new HeatSettings(1.0, 0.01, 1e-9, 5, 1_000_000, Numerics.OutputForceMode.Jacobian, 1_000_000, 0);
        return p;
    }

    public HeatRunResult Run(bool adaptive)
    {
        for (int l = 0; l < _initial.Z.Length; l++) Array.Copy(_initial.Z[l], _work.Z[l], _initial.Z[l].Length);
        for (int l = 0; l < _initial.A.Length; l++) Array.Copy(_initial.A[l], _work.A[l], _initial.A[l].Length);
        return adaptive
            ? NetworkAdaptiveHeat.run(_mlp, _x, _work, [], _settings, null!, CancellationToken.None)
            : NetworkHeat.runEuler(_mlp, _x, _work, [], _settings, null!, CancellationToken.None);
    }

    /// <summary>Largest |stalk − forward pass| after a run (accuracy check for the printed table).</summary>
    public double ErrorVsForward()
    {
        var f = new NetworkStalks(_mlp, _work.Batch);
        Numerics.UnitriangularSolve.solve(_mlp, _x, f);
        double e = 0;
        for (int l = 0; l < f.Z.Length; l++)
            for (int i = 0; i < f.Z[l].Length; i++) e = Math.Max(e, Math.Abs(f.Z[l][i] - _work.Z[l][i]));
        return e;
    }
}
