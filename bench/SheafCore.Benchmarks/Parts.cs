using System.Diagnostics;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>Stopwatch profile of the pieces of the [2,30,1] batch-300 steps: µs per call, best of 7 batches.</summary>
internal static class Parts
{
    private static void Time(string name, Action action)
    {
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 400) action();
        double best = double.MaxValue;
        for (int b = 0; b < 7; b++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 1000; i++) action();
            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / 1000);
        }
        Console.WriteLine($"{name,-44} {best,8:F2} us");
    }

    public static void Run()
    {
        var p = StepProblem.Create();
        int B = p.Batch;
        var r30 = new double[30 * B]; var r1 = new double[B]; var g30 = new double[60]; var g1 = new double[30];
        var fw = new ForwardWorkspace(p.Mlp, B);
        Time("gemm addBias 30x300x2", () => Gemm.multiplyAddBias(30, B, 2, p.Mlp.Weights[0], 2, p.X, B, p.Mlp.Biases[0], r30, B));
        Time("gemm addBias 1x300x30", () => Gemm.multiplyAddBias(1, B, 30, p.Mlp.Weights[1], 30, p.Stalks.A[0], B, p.Mlp.Biases[1], r1, B));
        Time("gemm transposeA 30x300x1 (Wᵀr)", () => Gemm.multiplyTransposeA(30, B, 1, p.Mlp.Weights[1], 30, r1, B, r30, B, false));
        Time("gemm transposeB 30x2x300 (grad W1)", () => Gemm.multiplyTransposeB(30, 2, B, r30, B, p.X, B, g30, 2, false));
        Time("gemm transposeB 1x30x300 (grad W2)", () => Gemm.multiplyTransposeB(1, 30, B, r1, B, p.Stalks.A[0], B, g1, 30, false));
        Time("dots transposeB 30x2x300", () => FusedKernels.multiplyTransposeBSmall(30, 2, B, r30, B, p.X, B, g30, 2));
        Time("dots transposeB 1x30x300", () => FusedKernels.multiplyTransposeBSmall(1, 30, B, r1, B, p.Stalks.A[0], B, g1, 30));
        Time("Forward.run", () => Forward.run(p.Mlp, p.X, fw));
        Time("Losses.value", () => Losses.value(p.Mlp.Output, 1, B, fw.Output, p.Y));
        Time("Losses.outputGradient", () => Losses.outputGradient(p.Mlp.Output, 1, B, fw.Output, p.Y, r1));
        Time("heat computeForces", () => NetworkHeat.computeForces(p.Mlp, p.X, p.Stalks, [], OutputForceMode.Jacobian, p.Heat));
        Time("heat eulerStep", () => NetworkHeat.eulerStep(p.Mlp, p.Stalks, 1e-9, p.Heat));
        var st = new SheafTrainingSettings(1.0, 0.0, 1e-9, 1, 1, true, StalkInitMethod.Forward, 0, 0, 1.0);
        Time("sheaf step (β = 0, tiny dt)", () => SheafTraining.step(p.Mlp, p.X, p.Y, p.Stalks, 0, B, st, p.TrainWs));
        Time("backprop gradient", () => Backprop.gradient(p.Mlp, p.X, p.Y, p.Backprop));
        var q = StepProblem.Create();
        Time("heat step (forces + Euler), twin", () => { NetworkHeat.computeForcesReference(q.Mlp, q.X, q.Stalks, [], OutputForceMode.Jacobian, q.Heat); NetworkHeat.eulerStepReference(q.Mlp, q.Stalks, 0.01, q.Heat); });
        Time("heat step (forces + Euler), vectorised", () => { NetworkHeat.computeForces(q.Mlp, q.X, q.Stalks, [], OutputForceMode.Jacobian, q.Heat); NetworkHeat.eulerStep(q.Mlp, q.Stalks, 0.01, q.Heat); });
        Time("sheaf training step, twin", () => SheafTraining.stepReference(q.Mlp, q.X, q.Y, q.Stalks, 0, B, q.Training, q.TrainWs));
        Time("sheaf training step, vectorised", () => SheafTraining.step(q.Mlp, q.X, q.Y, q.Stalks, 0, B, q.Training, q.TrainWs));
        Time("SGD step, twin", () => { Backprop.gradientReference(q.Mlp, q.X, q.Y, q.Backprop); q.SgdUpdate(0.01); });
        Time("SGD step, vectorised", () => { Backprop.gradient(q.Mlp, q.X, q.Y, q.Backprop); q.SgdUpdate(0.01); });
    }
}
