namespace SheafCore;

/// <summary>The time integrator of the sheaf heat equation.</summary>
public enum DiffusionIntegrator
{
    /// <summary>The reference explicit Euler update (theory §3.2), one Laplacian application per step.</summary>
    Euler = 0,

    /// <summary>An adaptive integrator that reaches the same tolerance with far fewer Laplacian applications.</summary>
    Adaptive = 1,
}

/// <summary>How free stalks are initialised before diffusion.</summary>
public enum StalkInitialization
{
    /// <summary>At the forward pass (already the equilibrium when only the input is pinned).</summary>
    Forward = 0,

    /// <summary>All zeros.</summary>
    Zeros = 1,

    /// <summary>I.i.d. N(0, 1) from a seed, drawn z<sup>(1)</sup> … z<sup>(k+1)</sup>, then a<sup>(1)</sup> … a<sup>(k)</sup>, then a<sub>out</sub>.</summary>
    Random = 2,
}

/// <summary>How the nonlinear output edge (sigmoid/softmax) pushes on z<sup>(k+1)</sup>.</summary>
public enum OutputEdgeForce
{
    /// <summary>−J<sub>φ</sub>(z)ᵀ(φ(z) − a<sub>out</sub>): the gradient of ½‖φ(z) − a<sub>out</sub>‖² (default).</summary>
    Jacobian = 0,

    /// <summary>−(φ(z) − a<sub>out</sub>): a cross-entropy-like edge that does not saturate; use when the output is pinned to labels.</summary>
    Identity = 1,
}

/// <summary>Settings of a heat-equation run on a network sheaf.</summary>
public sealed class DiffusionOptions
{
    /// <summary>Diffusion rate α (default 1).</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>Euler step dt (default 0.01).</summary>
    public double TimeStep { get; init; } = 0.01;

    /// <summary>Stop when the largest change of a free coordinate in one step is below this (default 1e-9).</summary>
    public double Tolerance { get; init; } = 1e-9;

    /// <summary>Never stop before this many steps (default 5).</summary>
    public int MinimumSteps { get; init; } = 5;

    /// <summary>Stop after this many steps even if not converged (default 100,000).</summary>
    public int MaximumSteps { get; init; } = 100_000;

    /// <summary>The integrator (default Euler).</summary>
    public DiffusionIntegrator Integrator { get; init; } = DiffusionIntegrator.Euler;

    /// <summary>Output-edge force for sigmoid/softmax networks (default Jacobian).</summary>
    public OutputEdgeForce OutputForce { get; init; } = OutputEdgeForce.Jacobian;

    /// <summary>Record the discord every this many steps (default 1: every step).</summary>
    public int DiscordTraceInterval { get; init; } = 1;

    /// <summary>Keep at most this many ReLU-crossing events (default 100,000).</summary>
    public int MaximumCrossingEvents { get; init; } = 100_000;
}

/// <summary>A ReLU boundary crossing during diffusion: the mask of neuron <paramref name="Neuron"/> of hidden layer
/// <paramref name="Layer"/> flipped for sample <paramref name="Sample"/> during step <paramref name="Step"/>.</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Sample">Sample index.</param>
/// <param name="Layer">Hidden layer 1 … k.</param>
/// <param name="Neuron">Neuron index within the layer.</param>
public sealed record ReluCrossing(int Step, int Sample, int Layer, int Neuron);

/// <summary>Progress of a running diffusion.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="Change">Largest change of a free coordinate in the last step.</param>
/// <param name="Discord">Batch-mean total discord before the last step.</param>
public sealed record DiffusionProgress(int Step, double Change, double Discord);

/// <summary>The outcome of a heat-equation run.</summary>
public sealed class DiffusionResult
{
    internal DiffusionResult(NetworkStalkState state, bool converged, int steps, int laplacianApplications, int rejectedSteps,
        double finalChange, int[] traceSteps, double[] discordTrace, ReluCrossing[] crossings)
    {
        State = state;
        Converged = converged;
        Steps = steps;
        LaplacianApplications = laplacianApplications;
        RejectedSteps = rejectedSteps;
        FinalChange = finalChange;
        TraceSteps = traceSteps;
        DiscordTrace = discordTrace;
        Crossings = crossings;
    }

    /// <summary>The final stalks.</summary>
    public NetworkStalkState State { get; }

    /// <summary>Whether the stopping rule was met before the step limit.</summary>
    public bool Converged { get; }

    /// <summary>Accepted steps.</summary>
    public int Steps { get; }

    /// <summary>Applications of the (state-dependent) Laplacian, i.e. force evaluations.</summary>
    public int LaplacianApplications { get; }

    /// <summary>Adaptive steps rejected by the energy control (0 for Euler).</summary>
    public int RejectedSteps { get; }

    /// <summary>Largest change of a free coordinate in the last step.</summary>
    public double FinalChange { get; }

    /// <summary>Step numbers at which <see cref="DiscordTrace"/> was recorded (0 = initial state; the last entry is the final state).</summary>
    public IReadOnlyList<int> TraceSteps { get; }

    /// <summary>Batch mean of Σ<sub>e</sub>‖discrepancy<sub>e</sub>‖² at <see cref="TraceSteps"/>.</summary>
    public IReadOnlyList<double> DiscordTrace { get; }

    /// <summary>The final batch-mean total discord.</summary>
    public double FinalDiscord => DiscordTrace[^1];

    /// <summary>ReLU crossing events, in order.</summary>
    public IReadOnlyList<ReluCrossing> Crossings { get; }
}

/// <summary>The heat equation diverged (non-finite values or growing energy). The message suggests a stable step.</summary>
public sealed class DiffusionDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="step">The step at which the run stopped.</param>
    /// <param name="suggestedTimeStep">A step size that is stable for every activation pattern.</param>
    public DiffusionDivergedException(string message, int step, double suggestedTimeStep) : base(message)
    {
        Step = step;
        SuggestedTimeStep = suggestedTimeStep;
    }

    /// <summary>The step at which the run stopped.</summary>
    public int Step { get; }

    /// <summary>A step size that keeps explicit Euler stable for every activation pattern (from the spectral bound of theory §3.3).</summary>
    public double SuggestedTimeStep { get; }
}

/// <summary>The directly computed equilibrium of the pinned heat equation.</summary>
/// <param name="State">The equilibrium stalks.</param>
/// <param name="Converged">Per sample: a self-consistent activation pattern was found. False means the equilibrium
/// lies on a ReLU switching surface (where explicit Euler chatters) or the iteration cycled.</param>
/// <param name="Iterations">Per sample: linear solves used.</param>
public sealed record EquilibriumResult(NetworkStalkState State, IReadOnlyList<bool> Converged, IReadOnlyList<int> Iterations);
