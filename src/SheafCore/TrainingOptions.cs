namespace SheafCore;

/// <summary>How the training stalks start.</summary>
public enum TrainingStalkInitialization
{
    /// <summary>I.i.d. N(0, 1) from <see cref="TrainingOptions.StalkSeed"/> (the paper's choice for regression).</summary>
    Random = 0,

    /// <summary>The forward pass of the current weights (the paper's choice for classification).</summary>
    Forward = 1,
}

/// <summary>
/// Settings of sheaf training (theory §5.2–5.3). The defaults are the paper's for a one-hidden-layer network:
/// α = 1, β = 1/n<sub>train</sub>, dt = 0.005, 100 epochs of 1000 steps, full batch, output coupling 1; regression starts from
/// random stalks and keeps them between epochs (warm start), classification resets them to the forward pass every epoch.
/// </summary>
public sealed class TrainingOptions
{
    /// <summary>Stalk rate α (&gt; 0).</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>Weight rate β (≥ 0); null means 1/n<sub>train</sub>. The weight force is a sum over the batch, so β·n<sub>train</sub>
    /// is the effective learning rate on the mean loss (≈ 1 is best, theory §8.3).</summary>
    public double? Beta { get; init; }

    /// <summary>Euler step dt (&gt; 0): 0.005 for one hidden layer, 0.01 for two in the paper.</summary>
    public double TimeStep { get; init; } = 0.005;

    /// <summary>Number of epochs (logging blocks).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Joint steps per epoch.</summary>
    public int StepsPerEpoch { get; init; } = 1000;

    /// <summary>Keep the stalks between epochs; null chooses by task (regression true, classification false).</summary>
    public bool? WarmStart { get; init; }

    /// <summary>Initial stalks; null chooses by task (regression Random, classification Forward). Ignored when
    /// <see cref="InitialStalks"/> is set.</summary>
    public TrainingStalkInitialization? StalkInitialization { get; init; }

    /// <summary>Seed of random stalk draws.</summary>
    public int StalkSeed { get; init; } = 42;

    /// <summary>Exact initial stalks (one column per training sample, e.g. from
    /// <see cref="NetworkSheaf.CreateState(double[,], string, string)"/>); resets without warm start then use the forward pass.</summary>
    public NetworkStalkState? InitialStalks { get; init; }

    /// <summary>Samples per step; 0 is full batch (the paper). Mini-batches cycle through contiguous blocks of the training
    /// set: only the selected samples' stalks move in a step and the weight force sums over them only, so each sample's
    /// stalks relax for a fraction m/n of the steps while the weights move every step (the stalks lag further behind
    /// their equilibrium).</summary>
    public int MiniBatchSize { get; init; }

    /// <summary>γ, the strength of the output edge to the pinned target (1 in the paper).</summary>
    public double OutputCoupling { get; init; } = 1.0;
}

/// <summary>The optimiser of the gradient-descent baseline.</summary>
public enum GradientDescentMethod
{
    /// <summary>Full-batch gradient descent θ −= lr·∇θ (the paper's "SGD").</summary>
    Sgd = 0,

    /// <summary>Adam with PyTorch's bias-corrected update.</summary>
    Adam = 1,
}

/// <summary>Settings of the backprop baseline: exact reverse-mode gradients of the mean loss, one full-batch step per step.</summary>
public sealed class GradientDescentOptions
{
    /// <summary>The optimiser.</summary>
    public GradientDescentMethod Method { get; init; } = GradientDescentMethod.Sgd;

    /// <summary>Learning rate (&gt; 0): 0.005 (regression) or 0.01 (classification) in the paper.</summary>
    public double LearningRate { get; init; } = 0.005;

    /// <summary>Number of epochs (logging blocks).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Gradient steps per epoch.</summary>
    public int StepsPerEpoch { get; init; } = 1000;

    /// <summary>Adam's first-moment decay β<sub>1</sub>.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's second-moment decay β<sub>2</sub>.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam's ε.</summary>
    public double Epsilon { get; init; } = 1e-8;
}
