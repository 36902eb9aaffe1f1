namespace SheafCore;

/// <summary>The paper's four synthetic tasks (theory §8.0).</summary>
public enum SyntheticTask
{
    /// <summary>Regression y = x₁² + x₂² − 2/3 + N(0, 0.02²), x ~ U[−2, 2]².</summary>
    Paraboloid = 0,

    /// <summary>Regression y = x₁² − x₂² + 0.5 sin(2x₁) + N(0, 0.02²), x ~ U[0, 2]².</summary>
    Saddle = 1,

    /// <summary>Binary: the unit disk (class 0) against the annulus 1.5–2.5 (class 1), radial noise 0.1.</summary>
    Circular = 2,

    /// <summary>Four overlapping Gaussian blobs, one-hot targets.</summary>
    Blobs = 3,
}

/// <summary>A generated task: 300 training and 100 test samples and the paper's configuration for it.</summary>
public sealed class SyntheticTaskSet
{
    internal SyntheticTaskSet(SyntheticTask task, Dataset train, Dataset test, OutputActivation output, int[] layers1H, int[] layers2H, double learningRate)
    {
        Task = task;
        Train = train;
        Test = test;
        Output = output;
        Layers1H = Array.AsReadOnly(layers1H);
        Layers2H = Array.AsReadOnly(layers2H);
        LearningRate = learningRate;
    }

    /// <summary>Which task.</summary>
    public SyntheticTask Task { get; }

    /// <summary>300 training samples.</summary>
    public Dataset Train { get; }

    /// <summary>100 test samples.</summary>
    public Dataset Test { get; }

    /// <summary>The output activation of the task's networks (identity, sigmoid or softmax).</summary>
    public OutputActivation Output { get; }

    /// <summary>The paper's one-hidden-layer architecture ([2,30,1], [2,25,1] or [2,25,4]).</summary>
    public IReadOnlyList<int> Layers1H { get; }

    /// <summary>The paper's two-hidden-layer architecture ([2,10,8,1] or [2,10,8,4]).</summary>
    public IReadOnlyList<int> Layers2H { get; }

    /// <summary>The paper's SGD learning rate (0.005 regression, 0.01 classification).</summary>
    public double LearningRate { get; }
}

/// <summary>Seeded generators of the paper's synthetic tasks. The reference points come from PyTorch's random stream, which
/// .NET cannot reproduce: these sets follow the same distributions (compare statistically), and the same seed gives the same
/// points on every machine.</summary>
public static class SyntheticTasks
{
    /// <summary>Generates a task.</summary>
    /// <param name="task">Which task.</param>
    /// <param name="seed">Data seed.</param>
    /// <returns>Train (300) and test (100) sets with the task's configuration.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Unknown task.</exception>
    public static SyntheticTaskSet Generate(SyntheticTask task, int seed)
    {
        if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task.");
        var d = Numerics.SyntheticTasks.generate((Numerics.SyntheticTaskKind)(int)task, seed);
        Dataset Make(double[] x, double[] y, int n) =>
            Dataset.Create(Matrices.ToArray2D(x, n, 2), Matrices.ToArray2D(y, n, d.TargetColumns));
        return new SyntheticTaskSet(task, Make(d.TrainInputs, d.TrainTargets, d.TrainCount), Make(d.TestInputs, d.TestTargets, d.TestCount),
            (OutputActivation)(int)d.Output, d.Layers1H, d.Layers2H, d.LearningRate);
    }
}
