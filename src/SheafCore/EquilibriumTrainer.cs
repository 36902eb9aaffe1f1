using System.Diagnostics;
using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// Sheaf training with the stalks at equilibrium (issue 5, item 8; an experiment beyond the paper): before every weight
/// update the training stalks of each sample are relaxed to their output-pinned equilibrium, then each affine edge is
/// updated from its own residual and endpoint stalk, by descent or Adam. Identity (MSE), sigmoid and softmax
/// (cross-entropy output edge) networks. With <see cref="EquilibriumRelaxation.Direct"/> the equilibrium is an exact
/// structured solve whose transposed unitriangular solves are a backward pass, so that variant is NOT local: it measures
/// how much of sheaf training's gap to SGD comes from stalks that never reach equilibrium. With
/// <see cref="EquilibriumRelaxation.Diffusion"/> the stalks are relaxed by the heat flow (local message passing, the
/// adaptive integrator) to a tolerance: the whole step is then local.
/// </summary>
public sealed class EquilibriumTrainer
{
    /// <summary>Creates a trainer.</summary>
    /// <param name="options">Settings (null: descent, lr 0.005, 100 × 1000 steps, γ = 1).</param>
    public EquilibriumTrainer(EquilibriumTrainingOptions? options = null) => Options = options ?? new EquilibriumTrainingOptions();

    /// <summary>The settings.</summary>
    public EquilibriumTrainingOptions Options { get; }

    /// <summary>After <see cref="Fit"/>: Direct, the sample-steps whose active-set iteration found no self-consistent
    /// pattern (the last solve was used); Diffusion, the relaxations stopped by the step cap before the tolerance.</summary>
    public int LastUnconverged { get; private set; }

    /// <summary>After <see cref="Fit"/>: Direct, the per-sample re-solves after pattern changes; Diffusion, the force
    /// evaluations (Laplacian applications) of all relaxations.</summary>
    public long LastRelaxationWork { get; private set; }

    /// <summary>Trains a copy of <paramref name="initial"/>; deterministic.</summary>
    /// <param name="initial">The initial identity-output network (not modified); the trained one keeps its <see cref="NeuralNetwork.InputScaling"/>.</param>
    /// <param name="train">Training data, inputs already scaled (<see cref="NeuralNetwork.ScaleInputs"/>).</param>
    /// <param name="test">Optional test data, evaluated at every log row.</param>
    /// <param name="progress">Receives every log row (step 0 and each epoch); may be null.</param>
    /// <param name="cancellationToken">Cancels the run (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>The trained network and the log.</returns>
    /// <exception cref="ArgumentException">Data that do not match the network, or invalid settings (named).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public TrainingReport Fit(NeuralNetwork initial, Dataset train, Dataset? test, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(train);
        train.CheckAgainst(initial, nameof(train));
        test?.CheckAgainst(initial, nameof(test));
        var o = Options;
        var settings = new EquilibriumTrainingSettings(
            o.LearningRate, o.Epochs, o.StepsPerEpoch, o.Method == GradientDescentMethod.Adam, o.Beta1, o.Beta2, o.Epsilon,
            o.OutputCoupling, o.MaximumPatternIterations,
            o.Relaxation == EquilibriumRelaxation.Diffusion ? Numerics.EquilibriumRelaxation.Diffusion : Numerics.EquilibriumRelaxation.Direct,
            o.DiffusionTolerance, o.DiffusionMaxSteps);
        if (!Enum.IsDefined(o.Relaxation)) throw new ArgumentException("Unknown relaxation.", nameof(Options));
        EquilibriumTraining.validate(settings);
        EquilibriumTraining.validateFor(initial.Core, settings);
        var mlp = initial.Core.Clone();
        var callback = progress is null ? null : new Action<TrainingLogEntry>(e => progress.Report(TrainingProgress.From(e)));
        var clock = Stopwatch.StartNew();
        var (result, stats) = EquilibriumTraining.train(mlp, train.Core, test?.Core!, settings, callback!, cancellationToken);
        clock.Stop();
        LastUnconverged = stats.Unconverged;
        LastRelaxationWork = stats.Work;
        return new TrainingReport(new NeuralNetwork(mlp, initial.InputScaling), result.Log.Select(TrainingProgress.From).ToArray(),
            result.Steps, result.Diverged, clock.Elapsed, null);
    }
}

/// <summary>Settings of <see cref="EquilibriumTrainer"/>.</summary>
public sealed class EquilibriumTrainingOptions
{
    /// <summary>Descent or Adam on the local updates.</summary>
    public GradientDescentMethod Method { get; init; } = GradientDescentMethod.Sgd;

    /// <summary>Step size (&gt; 0). The local update is scaled by 1/(γ·nB/2), so that as γ → 0 it is the gradient of the
    /// mean squared error and this rate compares with SGD's learning rate.</summary>
    public double LearningRate { get; init; } = 0.005;

    /// <summary>Number of epochs (logging blocks).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Steps (equilibrium solve + local update) per epoch.</summary>
    public int StepsPerEpoch { get; init; } = 1000;

    /// <summary>Adam's first-moment decay β<sub>1</sub>.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's second-moment decay β<sub>2</sub>.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam's ε.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>γ, the strength of the output edge to the target (&gt; 0; 1 is the paper's training energy).</summary>
    public double OutputCoupling { get; init; } = 1.0;

    /// <summary>Active-set iterations (pattern solves) allowed per sample and step to find a self-consistent activation pattern (Direct).</summary>
    public int MaximumPatternIterations { get; init; } = 3;

    /// <summary>How the stalks reach equilibrium: the exact structured solve (not local) or heat diffusion (local).</summary>
    public EquilibriumRelaxation Relaxation { get; init; } = EquilibriumRelaxation.Direct;

    /// <summary>Diffusion: relax until the largest stalk force is below this (&gt; 0).</summary>
    public double DiffusionTolerance { get; init; } = 1e-6;

    /// <summary>Diffusion: accepted integrator steps allowed per relaxation (&gt; 0).</summary>
    public int DiffusionMaxSteps { get; init; } = 10_000;
}

/// <summary>How <see cref="EquilibriumTrainer"/> brings the stalks to equilibrium before each local update.</summary>
public enum EquilibriumRelaxation
{
    /// <summary>Exact structured solve (forward and transposed unitriangular solves, an m×m system per sample). Exact but
    /// not local: the transposed solves are a backward pass.</summary>
    Direct = 0,

    /// <summary>The heat flow integrated by the adaptive RKC integrator to a tolerance, warm-started each step: local
    /// message passing, so the whole training step is local.</summary>
    Diffusion = 1,
}
