namespace SheafCore;

/// <summary>One edge's discord as data: batch mean, share of the total, per sample.</summary>
/// <param name="Name">W1, R1, …, W(k+1), out.</param>
/// <param name="Kind">Affine, activation or output.</param>
/// <param name="Layer">The layer the edge belongs to (1-based).</param>
/// <param name="Mean">Batch mean of ‖discrepancy‖².</param>
/// <param name="Share">Mean ÷ total batch-mean discord (0 when the total is 0).</param>
/// <param name="PerSample">‖discrepancy‖² for each sample.</param>
public sealed record EdgeDiscordShare(string Name, NetworkEdgeKind Kind, int Layer, double Mean, double Share, IReadOnlyList<double> PerSample);

/// <summary>Discord summed over a group of edges (a layer or an operation type).</summary>
/// <param name="Label">"layer 2", "affine", …</param>
/// <param name="Mean">Batch-mean discord of the group.</param>
/// <param name="Share">Mean ÷ total batch-mean discord (0 when the total is 0).</param>
public sealed record DiscordGroup(string Label, double Mean, double Share);

/// <summary>Per-edge discord broken down as shares of the total, per layer, per operation type and per sample
/// (theory §6). Built by <see cref="Diagnostics.Breakdown(EdgeDiscordReport)"/>.</summary>
public sealed class DiscordBreakdown
{
    internal DiscordBreakdown(EdgeDiscordShare[] edges, double total, double[] totalPerSample, DiscordGroup[] byLayer, DiscordGroup[] byKind)
    {
        Edges = edges;
        Total = total;
        TotalPerSample = totalPerSample;
        ByLayer = byLayer;
        ByKind = byKind;
    }

    /// <summary>Every edge, in path order W1, R1, …, W(k+1), out.</summary>
    public IReadOnlyList<EdgeDiscordShare> Edges { get; }

    /// <summary>Total batch-mean discord Σ<sub>e</sub> mean<sub>e</sub>.</summary>
    public double Total { get; }

    /// <summary>Σ<sub>e</sub>‖discrepancy<sub>e</sub>‖² of each sample (the batch mean of these is <see cref="Total"/>).</summary>
    public IReadOnlyList<double> TotalPerSample { get; }

    /// <summary>Discord per layer, layer 1 first.</summary>
    public IReadOnlyList<DiscordGroup> ByLayer { get; }

    /// <summary>Discord per operation type: affine, activation, output (output only for sigmoid/softmax networks).</summary>
    public IReadOnlyList<DiscordGroup> ByKind { get; }

    /// <summary>The edge with the largest batch-mean discord.</summary>
    public EdgeDiscordShare Dominant => Edges.MaxBy(e => e.Mean)!;
}

/// <summary>Settings of <see cref="Diagnostics.DiagnosePinnedOutput(NeuralNetwork, double[,], double[,], PinnedDiagnosisOptions?, CancellationToken)"/>.</summary>
public sealed class PinnedDiagnosisOptions
{
    /// <summary>Stop when the largest change of a free coordinate in one step is below this (default 1e-8).</summary>
    public double Tolerance { get; init; } = 1e-8;

    /// <summary>Reference step of the adaptive integrator (default 0.01).</summary>
    public double TimeStep { get; init; } = 0.01;

    /// <summary>Step limit of the adaptive integrator (default 5,000). A flow that ends on a ReLU boundary keeps
    /// crossing it and never meets <see cref="Tolerance"/>; <see cref="PinnedOutputDiagnosis.DiscordSettled"/> tells that case apart.</summary>
    public int MaximumSteps { get; init; } = 5_000;
}

/// <summary>The pinned-output diagnosis of a network: forward pass, output hard-pinned to the target, diffused to
/// equilibrium; the discord left on each edge shows where the network's error sits.</summary>
public sealed class PinnedOutputDiagnosis
{
    internal PinnedOutputDiagnosis(double[,] forwardOutputs, double[,] targets, double[] before, DiffusionResult diffusion, DiffusionIntegrator integrator, OutputEdgeForce force, DiscordBreakdown after)
    {
        Integrator = integrator;
        OutputForce = force;
        ForwardOutputs = forwardOutputs;
        Targets = targets;
        ForwardSquaredError = before;
        Diffusion = diffusion;
        Discord = after;
    }

    /// <summary>The forward pass (sample-major, one row per sample).</summary>
    public double[,] ForwardOutputs { get; }

    /// <summary>The targets the output was pinned to.</summary>
    public double[,] Targets { get; }

    /// <summary>‖forward output − target‖² per sample: the discord of the forward pass once the output is pinned, all of it
    /// on the last edge (W(k+1) for identity output, out for sigmoid/softmax).</summary>
    public IReadOnlyList<double> ForwardSquaredError { get; }

    /// <summary>Batch mean of <see cref="ForwardSquaredError"/>.</summary>
    public double MeanForwardSquaredError => ForwardSquaredError.Average();

    /// <summary>The diffusion run (adaptive integrator) from the forward pass with the output pinned.</summary>
    public DiffusionResult Diffusion { get; }

    /// <summary>The integrator that produced <see cref="Diffusion"/>: adaptive, or explicit Euler when the adaptive
    /// step-size control stalled (it accepts only energy-decreasing steps, which the identity output force of a
    /// sigmoid/softmax network does not guarantee).</summary>
    public DiffusionIntegrator Integrator { get; }

    /// <summary>The output-edge force of <see cref="Diffusion"/> (sigmoid/softmax networks): identity, or the Jacobian
    /// (gradient) force when both integrators refused the identity force's energy growth.</summary>
    public OutputEdgeForce OutputForce { get; }

    /// <summary>Whether the diffusion met its tolerance.</summary>
    public bool Converged => Diffusion.Converged;

    /// <summary>Whether the batch-mean discord changed by less than 1e-6 (relative) over the last half of the run:
    /// true when the diffusion converged, and also when it stopped at the step limit while chattering on a ReLU
    /// boundary with the discord already settled.</summary>
    public bool DiscordSettled
    {
        get
        {
            if (Diffusion.Converged) return true;
            var trace = Diffusion.DiscordTrace;
            double last = trace[^1], mid = trace[trace.Count / 2];
            return Math.Abs(mid - last) <= 1e-6 * Math.Max(Math.Abs(last), 1e-300) + 1e-300;
        }
    }

    /// <summary>Discord per edge at the end of the diffusion: where the error sits.</summary>
    public DiscordBreakdown Discord { get; }
}

/// <summary>Per-edge diagnostics of network sheaves (theory §6): discord shares per edge, layer, operation type and
/// sample, and the pinned-output diagnosis of a trained network.</summary>
public static class Diagnostics
{
    /// <summary>Breaks a per-edge discord report down into shares of the total, per layer and per operation type.</summary>
    /// <param name="report">From <see cref="NetworkSheaf.EdgeDiscord(NetworkStalkState)"/>.</param>
    /// <returns>The breakdown.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    /// <exception cref="ArgumentException">The report has no edges.</exception>
    public static DiscordBreakdown Breakdown(EdgeDiscordReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Edges.Count == 0) throw new ArgumentException("The report has no edges.", nameof(report));
        double total = report.Total;
        double Share(double v) => total > 0 ? v / total : 0;
        var edges = report.Edges.Select(e => new EdgeDiscordShare(e.Name, e.Kind, e.Layer, e.Mean, Share(e.Mean), e.PerSample)).ToArray();
        int batch = report.Edges[0].PerSample.Count;
        var perSample = new double[batch];
        foreach (var e in report.Edges)
            for (int i = 0; i < batch; i++) perSample[i] += e.PerSample[i];
        var byLayer = report.ByLayer.Select((v, l) => new DiscordGroup($"layer {l + 1}", v, Share(v))).ToArray();
        var kinds = report.Edges.Select(e => e.Kind).Distinct().Order();
        var byKind = kinds.Select(k => new DiscordGroup(k.ToString().ToLowerInvariant(), report.ByKind(k), Share(report.ByKind(k)))).ToArray();
        return new DiscordBreakdown(edges, total, perSample, byLayer, byKind);
    }

    /// <summary>Breaks down the discord of a state on a sheaf (shorthand for <see cref="Breakdown(EdgeDiscordReport)"/>
    /// of <see cref="NetworkSheaf.EdgeDiscord(NetworkStalkState)"/>).</summary>
    /// <param name="sheaf">The network sheaf.</param>
    /// <param name="state">Stalks on it.</param>
    /// <returns>The breakdown.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static DiscordBreakdown Breakdown(NetworkSheaf sheaf, NetworkStalkState state)
    {
        ArgumentNullException.ThrowIfNull(sheaf);
        return Breakdown(sheaf.EdgeDiscord(state));
    }

    /// <summary>
    /// The pinned-output diagnosis: start from the forward pass, hard-pin the output stalk to the true target (for
    /// sigmoid/softmax networks the pin is on <c>out</c> and the output edge uses <see cref="OutputEdgeForce.Identity"/>),
    /// diffuse with the adaptive integrator, and report the discord per edge at the end.
    /// </summary>
    /// <param name="network">A (trained) network.</param>
    /// <param name="inputs">Inputs, one row per sample.</param>
    /// <param name="targets">Targets, one row per sample, one column per output (one-hot for softmax).</param>
    /// <param name="options">Settings (null: defaults).</param>
    /// <param name="cancellationToken">Cancels the diffusion.</param>
    /// <returns>The diagnosis.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">Shapes do not match the network, or values are not finite.</exception>
    public static PinnedOutputDiagnosis DiagnosePinnedOutput(NeuralNetwork network, double[,] inputs, double[,] targets,
        PinnedDiagnosisOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        options ??= new PinnedDiagnosisOptions();
        if (targets.GetLength(0) != inputs.GetLength(0))
            throw new ArgumentException($"There are {targets.GetLength(0)} target rows for {inputs.GetLength(0)} inputs.", nameof(targets));
        if (targets.GetLength(1) != network.OutputDimension)
            throw new ArgumentException($"The targets have {targets.GetLength(1)} columns but the network has {network.OutputDimension} outputs.", nameof(targets));
        foreach (var t in targets)
            if (!double.IsFinite(t)) throw new ArgumentException("The targets contain a non-finite value.", nameof(targets));
        var sheaf = network.ToSheaf();
        var forwardState = sheaf.HarmonicExtension(inputs);
        var forward = forwardState.Outputs;
        var pin = NeuronPin.Hard("out", null, targets);
        int batch = forward.GetLength(0), outputs = forward.GetLength(1);
        var before = new double[batch];
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < outputs; j++) before[i] += (forward[i, j] - targets[i, j]) * (forward[i, j] - targets[i, j]);
        // Attempts in order. The adaptive integrator accepts a step only if the energy (squared discord) falls, and
        // the Euler run stops as diverged when that energy grows for 100 steps. The identity output force is not the
        // gradient of that energy, so on sigmoid/softmax networks (and at an exact equilibrium, where the energy cannot
        // fall) the first attempts can be refused; the last one is the Jacobian force, a true gradient flow.
        var attempts = new List<(DiffusionIntegrator Integrator, OutputEdgeForce Force)>
        {
            (DiffusionIntegrator.Adaptive, OutputEdgeForce.Identity),
            (DiffusionIntegrator.Euler, OutputEdgeForce.Identity),
        };
        if (network.Output != OutputActivation.Identity) attempts.Add((DiffusionIntegrator.Euler, OutputEdgeForce.Jacobian));
        double dt = options.TimeStep;
        DiffusionResult? diffusion = null;
        var used = attempts[0];
        foreach (var attempt in attempts)
        {
            used = attempt;
            try
            {
                diffusion = sheaf.Diffuse(forwardState, new DiffusionOptions
                {
                    Integrator = attempt.Integrator,
                    Tolerance = options.Tolerance,
                    TimeStep = dt,
                    MaximumSteps = options.MaximumSteps,
                    OutputForce = attempt.Force,
                    DiscordTraceInterval = 1,
                }, [pin], null, cancellationToken);
                break;
            }
            catch (DiffusionDivergedException e) when (attempt != attempts[^1])
            {
                dt = Math.Min(dt, 0.9 * e.SuggestedTimeStep);
            }
        }
        var after = Breakdown(sheaf.EdgeDiscord(diffusion!.State));
        return new PinnedOutputDiagnosis(forward, (double[,])targets.Clone(), before, diffusion!, used.Integrator, used.Force, after);
    }
}
