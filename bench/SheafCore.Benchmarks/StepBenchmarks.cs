using BenchmarkDotNet.Attributes;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>One step of each training/relaxation loop on [2,30,1] (He weights, seed 42), batch 300, one thread:
/// the scalar reference twin (the loops as they were before the fused kernels; baseline) against the vectorised step.
/// Paper reference implementation (Python, same machine class): heat step 137 µs, sheaf-training step 179 µs,
/// SGD step 156 µs.</summary>
[MemoryDiagnoser]
public class HeatStepBenchmarks
{
    private StepProblem _p = null!;

    [GlobalSetup]
    public void Setup() => _p = StepProblem.Create();

    [Benchmark(Baseline = true)]
    public double ScalarTwin()
    {
        NetworkHeat.computeForcesReference(_p.Mlp, _p.X, _p.Stalks, [], OutputForceMode.Jacobian, _p.Heat);
        return NetworkHeat.eulerStepReference(_p.Mlp, _p.Stalks, 0.01, _p.Heat);
    }

    [Benchmark]
    public double Vectorised()
    {
        NetworkHeat.computeForces(_p.Mlp, _p.X, _p.Stalks, [], OutputForceMode.Jacobian, _p.Heat);
        return NetworkHeat.eulerStep(_p.Mlp, _p.Stalks, 0.01, _p.Heat);
    }
}

/// <summary>One joint stalk/weight step of sheaf training (α = 1, β = 1/300, dt = 0.005, γ = 1, full batch).</summary>
[MemoryDiagnoser]
public class SheafTrainingStepBenchmarks
{
    private StepProblem _p = null!;

    [GlobalSetup]
    public void Setup() => _p = StepProblem.Create();

    [Benchmark(Baseline = true)]
    public double ScalarTwin() => SheafTraining.stepReference(_p.Mlp, _p.X, _p.Y, _p.Stalks, 0, _p.Batch, _p.Training, _p.TrainWs);

    [Benchmark]
    public double Vectorised() => SheafTraining.step(_p.Mlp, _p.X, _p.Y, _p.Stalks, 0, _p.Batch, _p.Training, _p.TrainWs);
}

/// <summary>One full-batch SGD step (forward, reverse-mode gradient, θ −= lr·∇θ with lr = 0.01).</summary>
[MemoryDiagnoser]
public class SgdStepBenchmarks
{
    private StepProblem _p = null!;

    [GlobalSetup]
    public void Setup() => _p = StepProblem.Create();

    [Benchmark(Baseline = true)]
    public double ScalarTwin()
    {
        double loss = Backprop.gradientReference(_p.Mlp, _p.X, _p.Y, _p.Backprop);
        _p.SgdUpdate(0.01);
        return loss;
    }

    [Benchmark]
    public double Vectorised()
    {
        double loss = Backprop.gradient(_p.Mlp, _p.X, _p.Y, _p.Backprop);
        _p.SgdUpdate(0.01);
        return loss;
    }
}

/// <summary>[2,30,1] identity output, batch 300: x ~ U[−2,2]², y = x1² + x2² (the paraboloid task), stalks N(0,1).</summary>
internal sealed class StepProblem
{
    public Mlp Mlp = null!;
    public double[] X = null!, Y = null!;
    public NetworkStalks Stalks = null!;
    public HeatWorkspace Heat = null!;
    public SheafStepWorkspace TrainWs = null!;
    public BackpropWorkspace Backprop = null!;
    public SheafTrainingSettings Training = null!;
    public int Batch;

    public static StepProblem Create(int batch = 300)
    {
        var p = new StepProblem { Batch = batch };
        p.Mlp = Mlp.HeInitialised([2, 30, 1], Numerics.OutputActivation.Identity, 42);
        var rng = new Rng(7);
        p.X = new double[2 * batch];
        for (int i = 0; i < p.X.Length; i++) p.X[i] = rng.Uniform(-2, 2);
        p.Y = new double[batch];
        for (int s = 0; s < batch; s++) p.Y[s] = p.X[s] * p.X[s] + p.X[batch + s] * p.X[batch + s];
        p.Stalks = new NetworkStalks(p.Mlp, batch);
        foreach (var z in p.Stalks.Z) rng.FillNormal(z, 1.0);
        foreach (var a in p.Stalks.A) rng.FillNormal(a, 1.0);
        p.Heat = new HeatWorkspace(p.Mlp, batch);
        p.TrainWs = new SheafStepWorkspace(p.Mlp, batch);
        p.Backprop = new BackpropWorkspace(p.Mlp, batch);
        p.Training = new SheafTrainingSettings(1.0, 1.0 / batch, 0.005, 1, 1, true, StalkInitMethod.Forward, 0, 0, 1.0);
        return p;
    }

    public void SgdUpdate(double lr)
    {
        for (int l = 0; l < Mlp.AffineCount; l++)
        {
            var w = Mlp.Weights[l]; var g = Backprop.GradW[l];
            for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
            var b = Mlp.Biases[l]; var gb = Backprop.GradB[l];
            for (int i = 0; i < b.Length; i++) b[i] -= lr * gb[i];
        }
    }
}
