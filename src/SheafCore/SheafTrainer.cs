using System.Diagnostics;
using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// Training by local discrepancy minimisation with no backward pass (theory §5): one copy of the stalks per training sample,
/// the input pinned to x and the output tied to the target by an edge, and stalks and weights relaxing together under the
/// joint explicit-Euler dynamics
/// z<sub>ℓ</sub> += α·dt·[r<sub>ℓ</sub> − σ<sub>ℓ</sub>⊙(z<sub>ℓ</sub> − a<sub>ℓ</sub>)],
/// a<sub>ℓ</sub> += α·dt·[−(a<sub>ℓ</sub> − σ<sub>ℓ</sub>⊙z<sub>ℓ</sub>) − W<sub>ℓ+1</sub>ᵀr<sub>ℓ+1</sub>],
/// z<sub>k+1</sub> += α·dt·[r<sub>k+1</sub> − γ(φ(z<sub>k+1</sub>) − y)],
/// W<sub>ℓ</sub> −= β·dt·Σ<sub>i</sub> r<sub>i,ℓ</sub>a<sub>i,ℓ−1</sub>ᵀ, b<sub>ℓ</sub> −= β·dt·Σ<sub>i</sub> r<sub>i,ℓ</sub>,
/// where r<sub>ℓ</sub> = W<sub>ℓ</sub>a<sub>ℓ−1</sub> + b<sub>ℓ</sub> − z<sub>ℓ</sub> and every force uses the old state and weights.
/// Each weight update reads only the two end stalks of its own edge. Prediction uses the standard forward pass.
/// </summary>
/// <example><code>
/// var task = SyntheticTasks.Generate(SyntheticTask.Paraboloid, seed: 42);
/// var net = NeuralNetwork.CreateHeInitialized(task.Layers1H, task.Output, seed: 42);
/// var report = new SheafTrainer(new TrainingOptions { Epochs = 10 }).Fit(net, task.Train, task.Test, null, default);
/// Console.WriteLine(report.Final.TestLoss);
/// </code></example>
public sealed class SheafTrainer
{
    /// <summary>Creates a trainer.</summary>
    /// <param name="options">Settings (null: the paper's defaults).</param>
    public SheafTrainer(TrainingOptions? options = null) => Options = options ?? new TrainingOptions();

    /// <summary>The settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Trains a copy of <paramref name="initial"/> on <paramref name="train"/>.</summary>
    /// <param name="initial">The initial network (not modified); the trained one keeps its <see cref="NeuralNetwork.InputScaling"/>.</param>
    /// <param name="train">Training data, inputs already scaled (<see cref="NeuralNetwork.ScaleInputs"/>).</param>
    /// <returns>The report.</returns>
    public TrainingReport Fit(NeuralNetwork initial, Dataset train) => Fit(initial, train, null, null, CancellationToken.None);

    /// <summary>Trains a copy of <paramref name="initial"/> on <paramref name="train"/>, deterministically for given options.</summary>
    /// <param name="initial">The initial network (not modified); the trained one keeps its <see cref="NeuralNetwork.InputScaling"/>.</param>
    /// <param name="train">Training data, inputs already scaled (<see cref="NeuralNetwork.ScaleInputs"/>) (its columns must match the network).</param>
    /// <param name="test">Optional test data, evaluated at every log row.</param>
    /// <param name="progress">Receives every log row (step 0 and each epoch); may be null.</param>
    /// <param name="cancellationToken">Cancels the run (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>The trained network, the log and the final stalks.</returns>
    /// <exception cref="ArgumentException">Data that do not match the network (columns, target ranges), a non-positive rate or
    /// step, or initial stalks of the wrong shape; the parameter or option is named.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public TrainingReport Fit(NeuralNetwork initial, Dataset train, Dataset? test, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(train);
        train.CheckAgainst(initial, nameof(train));
        test?.CheckAgainst(initial, nameof(test));
        var o = Options;
        bool regression = initial.Output == OutputActivation.Identity;
        var init = o.InitialStalks is not null ? StalkInitMethod.Given
            : (o.StalkInitialization ?? (regression ? TrainingStalkInitialization.Random : TrainingStalkInitialization.Forward)) == TrainingStalkInitialization.Random
                ? StalkInitMethod.Random : StalkInitMethod.Forward;
        if (o.InitialStalks is { } given)
        {
            if (given.BatchSize != train.Count)
                throw new ArgumentException($"The initial stalks hold {given.BatchSize} samples but the training set has {train.Count}.", nameof(TrainingOptions.InitialStalks));
            if (!given.Network.Layers.SequenceEqual(initial.Layers))
                throw new ArgumentException("The initial stalks belong to a network of a different architecture.", nameof(TrainingOptions.InitialStalks));
        }
        var settings = new SheafTrainingSettings(
            o.Alpha, o.Beta ?? 1.0 / train.Count, o.TimeStep, o.Epochs, o.StepsPerEpoch,
            o.WarmStart ?? regression, init, o.StalkSeed, o.MiniBatchSize, o.OutputCoupling);
        SheafTraining.validate(settings);
        var mlp = initial.Core.Clone();
        var callback = progress is null ? null : new Action<TrainingLogEntry>(e => progress.Report(TrainingProgress.From(e)));
        var clock = Stopwatch.StartNew();
        var (result, stalks) = SheafTraining.train(mlp, train.Core, test?.Core!, settings, o.InitialStalks?.Core!, callback!, cancellationToken);
        clock.Stop();
        var network = new NeuralNetwork(mlp, initial.InputScaling);
        return new TrainingReport(network, result.Log.Select(TrainingProgress.From).ToArray(), result.Steps, result.Diverged, clock.Elapsed,
            new NetworkStalkState(network, train.Core.Inputs, stalks));
    }

    /// <summary>
    /// Measures, per affine layer, how well the purely local weight update agrees with the exact loss gradient (theory §4 last
    /// paragraph, §5). With the weights frozen the training stalks relax (explicit Euler from the forward pass) to the
    /// equilibrium of output-pinned diffusion with output coupling γ; there the local update
    /// U<sub>ℓ</sub> = −Σ<sub>i</sub> r<sub>i,ℓ</sub>[a<sub>i,ℓ−1</sub>; 1]ᵀ is compared with the exact gradient ∇<sub>ℓ</sub> of the summed per-sample
    /// edge loss (its direction is that of the mean-loss gradient).
    /// </summary>
    /// <param name="network">The network (not modified).</param>
    /// <param name="data">Inputs and targets.</param>
    /// <param name="outputCoupling">γ &gt; 0; as γ → 0 the equilibrium residuals become γ times the backprop deltas, so the
    /// cosine and the norm ratio ‖U‖/(γ‖∇‖) tend to 1 (while no activation pattern changes).</param>
    /// <param name="tolerance">Stop relaxing when the largest change in one step is below this.</param>
    /// <param name="maximumSteps">Relaxation step limit.</param>
    /// <returns>Per-layer cosine and norm ratio, and whether the relaxation converged.</returns>
    /// <exception cref="ArgumentException">Data that do not match the network, or γ ≤ 0.</exception>
    public static GradientAgreementReport MeasureGradientAgreement(NeuralNetwork network, Dataset data, double outputCoupling, double tolerance, int maximumSteps)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        data.CheckAgainst(network, nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputCoupling);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maximumSteps);
        var r = GradientAgreement.measure(network.Core.Clone(), data.Core.Inputs, data.Core.Targets, data.Count, outputCoupling, 0.0, tolerance, maximumSteps);
        var layers = r.Layers.Select((l, i) => new LayerGradientAgreement(i + 1, l.Cosine, l.NormRatio, l.GradientNorm)).ToArray();
        return new GradientAgreementReport(Array.AsReadOnly(layers), r.RelaxationSteps, r.Converged);
    }
}

/// <summary>Agreement of one affine layer's local update with the exact gradient.</summary>
/// <param name="Layer">ℓ = 1 … k+1.</param>
/// <param name="Cosine">cos∠(U<sub>ℓ</sub>, −∇<sub>ℓ</sub>) over the (W<sup>(ℓ)</sup>, b<sup>(ℓ)</sup>) entries; NaN if either is zero.</param>
/// <param name="NormRatio">‖U<sub>ℓ</sub>‖ / (γ‖∇<sub>ℓ</sub>‖).</param>
/// <param name="GradientNorm">‖∇<sub>ℓ</sub>‖ of the summed per-sample edge loss.</param>
public readonly record struct LayerGradientAgreement(int Layer, double Cosine, double NormRatio, double GradientNorm);

/// <summary>The result of <see cref="SheafTrainer.MeasureGradientAgreement"/>.</summary>
/// <param name="Layers">One entry per affine layer.</param>
/// <param name="RelaxationSteps">Euler steps of the stalk relaxation.</param>
/// <param name="Converged">Whether the relaxation met the tolerance.</param>
public sealed record GradientAgreementReport(IReadOnlyList<LayerGradientAgreement> Layers, int RelaxationSteps, bool Converged);
