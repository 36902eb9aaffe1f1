namespace SheafCore;

/// <summary>
/// One row of a training log: the losses (and accuracies) of the standard forward pass with the weights after
/// <see cref="Step"/> steps. MSE is the mean over all entries; binary and multi-class cross-entropy the mean over
/// samples, probabilities clamped to [10<sup>−12</sup>, 1 − 10<sup>−12</sup>].
/// </summary>
/// <param name="Step">Steps taken so far (0 = the initial model).</param>
/// <param name="TrainLoss">Mean loss on the training set.</param>
/// <param name="TestLoss">Mean loss on the test set; NaN without a test set.</param>
/// <param name="TrainAccuracy">Fraction of training samples classified correctly (sigmoid &gt; 0.5, softmax argmax); NaN for regression.</param>
/// <param name="TestAccuracy">The same on the test set; NaN for regression or without a test set.</param>
public readonly record struct TrainingProgress(int Step, double TrainLoss, double TestLoss, double TrainAccuracy, double TestAccuracy)
{
    internal static TrainingProgress From(Numerics.TrainingLogEntry e) => new(e.Step, e.TrainLoss, e.TestLoss, e.TrainAccuracy, e.TestAccuracy);
}

/// <summary>The outcome of a training run.</summary>
public sealed class TrainingReport
{
    internal TrainingReport(NeuralNetwork network, TrainingProgress[] log, int steps, bool diverged, TimeSpan elapsed, NetworkStalkState? finalStalks)
    {
        Network = network;
        Log = Array.AsReadOnly(log);
        Steps = steps;
        Diverged = diverged;
        Elapsed = elapsed;
        FinalStalks = finalStalks;
    }

    /// <summary>The trained network (a new object; the initial network is not modified).</summary>
    public NeuralNetwork Network { get; }

    /// <summary>The log: a row at step 0 and one after every epoch.</summary>
    public IReadOnlyList<TrainingProgress> Log { get; }

    /// <summary>The last log row.</summary>
    public TrainingProgress Final => Log[^1];

    /// <summary>Steps taken.</summary>
    public int Steps { get; }

    /// <summary>True when the training loss became NaN or infinite (the run stopped at that epoch).</summary>
    public bool Diverged { get; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Sheaf training only: the training stalks at the end (null for gradient descent).</summary>
    public NetworkStalkState? FinalStalks { get; }
}
