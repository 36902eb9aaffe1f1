using System.Diagnostics;
using SheafCore.Numerics;

namespace SheafCore;

/// <summary>One epoch of training, evaluated without dropout.</summary>
/// <param name="Split">Split index.</param>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="TrainLoss">Mean NLL over the training nodes.</param>
/// <param name="ValidationLoss">Mean NLL over the validation nodes.</param>
/// <param name="ValidationAccuracy">Validation accuracy (fraction).</param>
/// <param name="TestAccuracy">Test accuracy at this epoch (fraction).</param>
/// <param name="BestEpoch">The best validation epoch so far.</param>
public sealed record SheafDiffusionEpoch(int Split, int Epoch, double TrainLoss, double ValidationLoss,
    double ValidationAccuracy, double TestAccuracy, int BestEpoch);

/// <summary>The result of training on one split.</summary>
/// <param name="Split">Split index.</param>
/// <param name="TestAccuracy">Test accuracy (fraction) at the best validation epoch.</param>
/// <param name="ValidationAccuracy">Validation accuracy at that epoch.</param>
/// <param name="ValidationLoss">Validation loss at that epoch.</param>
/// <param name="BestEpoch">The best validation epoch (0-based).</param>
/// <param name="EpochsRun">Epochs run before early stopping or the epoch limit.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record SheafDiffusionSplitResult(int Split, double TestAccuracy, double ValidationAccuracy,
    double ValidationLoss, int BestEpoch, int EpochsRun, double Seconds);

/// <summary>Results over several splits.</summary>
/// <param name="Splits">Per-split results, in the order run.</param>
/// <param name="MeanTestAccuracy">Mean test accuracy (fraction).</param>
/// <param name="StdTestAccuracy">Population standard deviation (ddof = 0, as the reference reports).</param>
/// <param name="Seconds">Total wall time.</param>
public sealed record SheafDiffusionRunResult(IReadOnlyList<SheafDiffusionSplitResult> Splits,
    double MeanTestAccuracy, double StdTestAccuracy, double Seconds);

/// <summary>
/// Neural Sheaf Diffusion (Bodnar, Di Giovanni, Chamberlain, Liò, Bronstein, NeurIPS 2022) for node
/// classification, trained full batch with exact gradients on the general sheaf engine.
/// </summary>
/// <remarks>
/// <para>Each node carries a D×f matrix (D = d learned stalk coordinates plus the optional fixed low/high-pass
/// ones). Each layer learns one restriction map per (node, edge) from the endpoint features,
/// F_{v⊴e} = Φ_t(x_v, x_u) = σ(V_t[x_v ‖ x_u]), assembles the augmented normalised sheaf Laplacian
/// Δ_t = (D+I)^{-1/2} L (D+I)^{-1/2}, and takes one explicit diffusion step
/// X_{t+1} = (I ⊗ diag(1 + tanh ε_t)) X_t − ELU(Δ_t (I ⊗ W1_t) Drop(X_t) W2_tᵀ).
/// The read-out is log_softmax(X_T W_outᵀ + b_out); training minimises the mean NLL of the training nodes with
/// Adam (L2 decay; the map learners have their own) and keeps the test accuracy of the best validation epoch.</para>
/// <para>Every random draw comes from a seeded generator, so a run is reproducible bit for bit on one machine.</para>
/// </remarks>
/// <example><code>
/// var graph = NodeClassificationGraph.Load("data/graphs/texas");
/// var nsd = new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("texas", SheafFamily.Diagonal));
/// var result = nsd.Train(graph, Enumerable.Range(0, 10).ToArray());
/// Console.WriteLine($"{100 * result.MeanTestAccuracy:F2} ± {100 * result.StdTestAccuracy:F2}");
/// </code></example>
public sealed class NeuralSheafDiffusion
{
    /// <summary>Creates a trainer.</summary>
    /// <param name="options">Architecture and training settings.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, a dropout rate is outside [0, 1), a
    /// learning rate or decay is negative, or the orthogonal family has d &lt; 2.</exception>
    public NeuralSheafDiffusion(NeuralSheafDiffusionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.StalkDimension, options.Family == SheafFamily.Orthogonal ? 2 : 1, nameof(options.StalkDimension));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.HiddenChannels, nameof(options.HiddenChannels));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Layers, nameof(options.Layers));
        CheckRate(options.Dropout, nameof(options.Dropout));
        CheckRate(options.InputDropout, nameof(options.InputDropout));
        if (!(options.LearningRate > 0 && double.IsFinite(options.LearningRate)))
            throw new ArgumentOutOfRangeException(nameof(options.LearningRate), options.LearningRate, "Must be positive and finite.");
        if (!(options.WeightDecay >= 0) || (options.SheafDecay is { } sheafDecay && !(sheafDecay >= 0)))
            throw new ArgumentOutOfRangeException(nameof(options.WeightDecay), "Weight decays must be non-negative.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Epochs, nameof(options.Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Patience, nameof(options.Patience));
        if (!Enum.IsDefined(options.Family))
            throw new ArgumentOutOfRangeException(nameof(options.Family), options.Family, "Unknown family.");
        Options = options;
    }

    private static void CheckRate(double p, string name)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(name, p, "A dropout rate must lie in [0, 1).");
    }

    /// <summary>The settings.</summary>
    public NeuralSheafDiffusionOptions Options { get; }

    /// <summary>Number of trainable parameters of the model on a graph with the given feature and class counts.</summary>
    /// <param name="featureCount">Input features.</param>
    /// <param name="classCount">Classes.</param>
    /// <returns>The parameter count.</returns>
    public int ParameterCount(int featureCount, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(featureCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        return new NsdLayout(Config(featureCount, classCount)).Count;
    }

    internal NsdConfig Config(int featureCount, int classCount) => new(
        (NsdFamily)(int)Options.Family, Options.StalkDimension, Options.LowPassChannel, Options.HighPassChannel,
        Options.HiddenChannels, Options.Layers, Options.Dropout, Options.InputDropout, Options.SecondLinear,
        Options.EdgeWeights, Options.SparseLearner, featureCount, classCount);

    /// <summary>Trains a fresh model on one split.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="split">Split index.</param>
    /// <param name="progress">Receives every epoch's evaluation (optional).</param>
    /// <param name="cancellationToken">Checked once per epoch.</param>
    /// <returns>The test accuracy at the best validation epoch, with details.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is out of range.</exception>
    /// <exception cref="ArgumentException">The split has no training or validation nodes.</exception>
    /// <exception cref="InvalidOperationException">Training diverged (non-finite loss).</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public SheafDiffusionSplitResult TrainSplit(NodeClassificationGraph graph, int split,
        IProgress<SheafDiffusionEpoch>? progress = null, CancellationToken cancellationToken = default) =>
        Fit(graph, split, progress, cancellationToken).Result;

    /// <summary>Trains a fresh model on one split and returns it with the parameters of its best validation epoch,
    /// to predict nodes and inspect the learned sheaf. Same training and numbers as <see cref="TrainSplit"/>.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="split">Split index.</param>
    /// <param name="progress">Receives every epoch's evaluation (optional).</param>
    /// <param name="cancellationToken">Checked once per epoch.</param>
    /// <returns>The trained model; its <see cref="SheafDiffusionModel.Result"/> is what <see cref="TrainSplit"/> returns.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is out of range.</exception>
    /// <exception cref="ArgumentException">The split has no training or validation nodes.</exception>
    /// <exception cref="InvalidOperationException">Training diverged (non-finite loss).</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public SheafDiffusionModel Fit(NodeClassificationGraph graph, int split,
        IProgress<SheafDiffusionEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentOutOfRangeException.ThrowIfNegative(split);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(split, graph.SplitCount);
        var training = new NsdTrainingOptions(Options.LearningRate, Options.WeightDecay,
            Options.SheafDecay ?? Options.WeightDecay, Options.Epochs, Options.Patience, Options.StopOnAccuracy, Options.Seed);
        Action<NsdEpoch>? report = progress is null
            ? null
            : e => progress.Report(new SheafDiffusionEpoch(e.Split, e.Epoch, e.TrainLoss, e.ValidationLoss,
                e.ValidationAccuracy, e.TestAccuracy, e.BestEpoch));
        var config = Config(graph.FeatureCount, graph.ClassCount);
        var r = NsdTraining.trainSplit(config, graph.Graph, split, training, report!, cancellationToken);
        var result = new SheafDiffusionSplitResult(r.Split, r.TestAccuracy, r.ValidationAccuracy, r.ValidationLoss,
            r.BestEpoch, r.EpochsRun, r.Seconds);
        return new SheafDiffusionModel(graph, Options, config, r.Parameters, result);
    }

    /// <summary>Trains one fresh model per split, in order, and summarises the test accuracies.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="splits">Split indices to run.</param>
    /// <param name="progress">Receives every epoch's evaluation (optional).</param>
    /// <param name="cancellationToken">Checked once per epoch.</param>
    /// <returns>Per-split results, mean and population standard deviation.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="splits"/> is empty.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public SheafDiffusionRunResult Train(NodeClassificationGraph graph, IReadOnlyList<int> splits,
        IProgress<SheafDiffusionEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(splits);
        if (splits.Count == 0) throw new ArgumentException("At least one split is needed.", nameof(splits));
        var clock = Stopwatch.StartNew();
        var results = new List<SheafDiffusionSplitResult>(splits.Count);
        foreach (int s in splits) results.Add(TrainSplit(graph, s, progress, cancellationToken));
        double mean = results.Average(r => r.TestAccuracy);
        double std = Math.Sqrt(results.Average(r => (r.TestAccuracy - mean) * (r.TestAccuracy - mean)));
        return new SheafDiffusionRunResult(results, mean, std, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Runs <see cref="Train"/> on the thread pool.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="splits">Split indices to run.</param>
    /// <param name="progress">Receives every epoch's evaluation (optional).</param>
    /// <param name="cancellationToken">Checked once per epoch.</param>
    /// <returns>A task with the results.</returns>
    public Task<SheafDiffusionRunResult> TrainAsync(NodeClassificationGraph graph, IReadOnlyList<int> splits,
        IProgress<SheafDiffusionEpoch>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Train(graph, splits, progress, cancellationToken), cancellationToken);
}
