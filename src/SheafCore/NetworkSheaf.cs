using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// The cellular sheaf of a ReLU network (theory §2): a path graph with one vertex per intermediate quantity
/// (x, z<sup>(1)</sup>, a<sup>(1)</sup>, …, z<sup>(k+1)</sup>), one edge per computational step, the step's map as restriction
/// map, and biases carried by pinned ones-blocks. On the free coordinates Ω = (z<sup>(1)</sup>, a<sup>(1)</sup>, …, z<sup>(k+1)</sup>)
/// the coboundary δ<sub>Ω</sub> is unit lower block-bidiagonal for every activation pattern, so the forward pass is the
/// unique harmonic extension of the input.
/// </summary>
/// <example><code>
/// var sheaf = NeuralNetwork.CreateHeInitialized(new[] { 2, 6, 4, 1 }, OutputActivation.Identity, 7).ToSheaf();
/// NetworkStalkState state = sheaf.HarmonicExtension(new double[,] { { 0.5, -0.3 } });
/// double[,] output = state.Outputs;            // equals network.Forward(...)
/// EdgeDiscordReport discord = sheaf.EdgeDiscord(state);   // all zero: a global section
/// </code></example>
public sealed class NetworkSheaf
{
    internal NetworkSheaf(NeuralNetwork network) => Network = network;

    /// <summary>The network (weights are shared, not copied).</summary>
    public NeuralNetwork Network { get; }

    /// <summary>Names of the free blocks in Ω order: z1, a1, …, zk, ak, z(k+1).</summary>
    public IReadOnlyList<string> FreeBlockNames => NetworkSheafBlocks.freeBlockNames(Network.Core);

    /// <summary>dim Ω = 2(n<sub>1</sub> + … + n<sub>k</sub>) + n<sub>k+1</sub>, which equals the total edge-stalk dimension.</summary>
    public int FreeDimension => NetworkSheafBlocks.freeDim(Network.Core);

    /// <summary>dim U = n<sub>0</sub> + n<sub>1</sub> + … + n<sub>k+1</sub>: the input and the ones-blocks.</summary>
    public int BoundaryDimension => NetworkSheafBlocks.boundaryDim(Network.Core);

    /// <summary>
    /// The harmonic extension of a batch of pinned inputs: solves δ<sub>Ω</sub> ω = −δ<sub>U</sub> u by block forward
    /// substitution over the whole batch (one matrix–matrix product per affine block), with the activation pattern
    /// read from the solution itself. The result is the forward pass, with every stalk.
    /// </summary>
    /// <param name="inputs">Samples × n<sub>0</sub>; at least one row; finite values.</param>
    /// <returns>All stalks of every sample.</returns>
    /// <exception cref="ArgumentException">Wrong column count, empty batch, or non-finite input.</exception>
    public NetworkStalkState HarmonicExtension(double[,] inputs)
    {
        int batch = Network.CheckInputs(inputs, nameof(inputs));
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        var stalks = new NetworkStalks(Network.Core, batch);
        // Large layers split the batch columns over all cores; the result is bit-identical to one thread.
        UnitriangularSolve.solveParallel(Network.Core, x, stalks, Gemm.DefaultParallelism);
        return new NetworkStalkState(Network, x, stalks);
    }

    /// <summary>
    /// Solves δ<sub>Ω</sub>(σ) ω = −δ<sub>U</sub> u with a fixed activation pattern σ shared by all samples. For σ equal to
    /// a sample's own pattern this is its forward pass; otherwise it is the unique zero-energy cochain of the linear
    /// sheaf F<sub>σ</sub>.
    /// </summary>
    /// <param name="inputs">Samples × n<sub>0</sub>.</param>
    /// <param name="pattern">The activation pattern.</param>
    /// <returns>All stalks.</returns>
    /// <exception cref="ArgumentException">Shape mismatch of inputs or pattern.</exception>
    public NetworkStalkState SolveWithPattern(double[,] inputs, ActivationPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        int batch = Network.CheckInputs(inputs, nameof(inputs));
        var masks = pattern.ToCore(Network, nameof(pattern));
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        var batchMasks = new double[masks.Length][];
        for (int l = 0; l < masks.Length; l++)
        {
            batchMasks[l] = new double[masks[l].Length * batch];
            for (int i = 0; i < masks[l].Length; i++) Array.Fill(batchMasks[l], masks[l][i], i * batch, batch);
        }
        var stalks = new NetworkStalks(Network.Core, batch);
        UnitriangularSolve.solveWithPattern(Network.Core, x, batchMasks, stalks);
        return new NetworkStalkState(Network, x, stalks);
    }

    /// <summary>Stalks for a batch of pinned inputs, initialised at the forward pass, at zero, or at random.</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>.</param>
    /// <param name="initialization">Forward, Zeros or Random.</param>
    /// <param name="seed">Seed of the random draw (ignored otherwise).</param>
    /// <returns>A new state.</returns>
    public NetworkStalkState CreateState(double[,] inputs, StalkInitialization initialization, int seed = 0)
    {
        int batch = Network.CheckInputs(inputs, nameof(inputs));
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        var stalks = new NetworkStalks(Network.Core, batch);
        switch (initialization)
        {
            case StalkInitialization.Forward:
                UnitriangularSolve.solve(Network.Core, x, stalks);
                break;
            case StalkInitialization.Zeros:
                break;
            case StalkInitialization.Random:
                var rng = new Rng(seed);
                foreach (var z in stalks.Z) rng.FillNormal(z, 1.0);
                foreach (var a in stalks.A) rng.FillNormal(a, 1.0);
                if (Network.Output != OutputActivation.Identity) rng.FillNormal(stalks.Output, 1.0);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "Unknown initialisation.");
        }
        if (Network.Output == OutputActivation.Identity && initialization != StalkInitialization.Forward)
            Array.Copy(stalks.Z[^1], stalks.Output, stalks.Output.Length);
        return new NetworkStalkState(Network, x, stalks);
    }

    /// <summary>Stalks read from stalk-state JSON text (<c>{"z": […], "a": […], "a_output": …}</c>, sample-major).</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>; the JSON must hold one row per sample.</param>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">A name for error messages (e.g. the path).</param>
    /// <returns>A new state.</returns>
    /// <exception cref="SheafCoreFormatException">Malformed JSON or wrong shapes; the message names the field.</exception>
    public NetworkStalkState CreateState(double[,] inputs, string json, string source = "stalk-state JSON")
    {
        ArgumentNullException.ThrowIfNull(json);
        int batch = Network.CheckInputs(inputs, nameof(inputs));
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        var stalks = new NetworkStalks(Network.Core, batch);
        StalkStateJson.Read(json, source, Network.Core, stalks);
        return new NetworkStalkState(Network, x, stalks);
    }

    /// <summary>
    /// Runs the sheaf heat equation dω/dt = −α∇E(ω) from <paramref name="initial"/> with the input and any extra
    /// <paramref name="pins"/> held, ReLU masks read from the current z at every step (z ≥ 0 active). Explicit Euler is
    /// the reference update of theory §3.2; it stops when the largest change of a free coordinate in one step is below
    /// the tolerance. The initial state is not modified.
    /// </summary>
    /// <param name="initial">Starting stalks (see <see cref="CreateState(double[,], StalkInitialization, int)"/>).</param>
    /// <param name="options">Settings (null: defaults).</param>
    /// <param name="pins">Extra pinned neurons (null: only the input).</param>
    /// <param name="progress">Receives progress every 1000 steps (may be null).</param>
    /// <param name="cancellationToken">Cancels the run (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>The final state and the run's record.</returns>
    /// <exception cref="ArgumentException">Bad options or pins (names the setting or pin).</exception>
    /// <exception cref="DiffusionDivergedException">Non-finite values or growing energy; the message suggests a stable dt.</exception>
    public DiffusionResult Diffuse(NetworkStalkState initial, DiffusionOptions? options = null, IReadOnlyList<NeuronPin>? pins = null,
        IProgress<DiffusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckState(initial);
        options ??= new DiffusionOptions();
        var mlp = Network.Core;
        var (x, pinArray) = ResolvePins(initial, pins);
        var stalks = initial.CloneCore();
        var settings = new HeatSettings(
            options.Alpha, options.TimeStep, options.Tolerance, options.MinimumSteps, options.MaximumSteps,
            (Numerics.OutputForceMode)(int)options.OutputForce, options.DiscordTraceInterval, options.MaximumCrossingEvents);
        Action<int, double, double>? report = progress is null ? null : (step, change, discord) => progress.Report(new DiffusionProgress(step, change, discord));
        var run = options.Integrator switch
        {
            DiffusionIntegrator.Euler => NetworkHeat.runEuler(mlp, x, stalks, pinArray, settings, report, cancellationToken),
            DiffusionIntegrator.Adaptive => NetworkAdaptiveHeat.run(mlp, x, stalks, pinArray, settings, report, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Integrator, "Unknown integrator."),
        };
        if (run.Diverged)
            throw new DiffusionDivergedException(run.DivergenceReason, run.Steps, NetworkHeat.stableStep(mlp, options.Alpha, NetworkHeat.maxGamma(pinArray)));
        if (Network.Output == OutputActivation.Identity) Array.Copy(stalks.Z[^1], stalks.Output, stalks.Output.Length);
        return new DiffusionResult(
            new NetworkStalkState(Network, x, stalks), run.Converged, run.Steps, run.LaplacianApplications, run.RejectedSteps, run.FinalChange,
            run.TraceSteps, run.DiscordTrace,
            run.Crossings.Select(c => new ReluCrossing(c.Step, c.Sample, c.Layer, c.Neuron)).ToArray());
    }

    /// <summary>
    /// The equilibrium of the pinned heat equation computed directly (theory §4): per sample, the least-squares cochain
    /// minimising ½‖δ<sub>Ω</sub>(σ)ω + δ<sub>U</sub>u‖² + ½Σγ‖v − t‖² with the hard pins held, for the activation pattern σ
    /// of the solution itself (found by iterating σ ← pattern(ω(σ)) from the initial guess). Identity-output networks only.
    /// </summary>
    /// <param name="initialGuess">Stalks whose pattern starts the iteration (e.g. the forward pass or a diffused state).</param>
    /// <param name="pins">Pinned neurons (null: only the input, whose equilibrium is the forward pass).</param>
    /// <param name="maximumIterations">Cap on pattern updates per sample (default 50).</param>
    /// <returns>The equilibrium stalks and, per sample, whether a self-consistent pattern was found.</returns>
    /// <exception cref="ArgumentException">A sigmoid/softmax network, or bad pins.</exception>
    public EquilibriumResult SolveEquilibrium(NetworkStalkState initialGuess, IReadOnlyList<NeuronPin>? pins = null, int maximumIterations = 50)
    {
        CheckState(initialGuess);
        var (x, corePins) = ResolvePins(initialGuess, pins);
        var stalks = initialGuess.CloneCore();
        var samples = NetworkEquilibrium.solve(Network.Core, x, stalks, corePins, maximumIterations);
        return new EquilibriumResult(
            new NetworkStalkState(Network, x, stalks),
            samples.Select(r => r.Converged).ToArray(),
            samples.Select(r => r.Iterations).ToArray());
    }

    private (double[] X, StalkPin[] Pins) ResolvePins(NetworkStalkState state, IReadOnlyList<NeuronPin>? pins)
    {
        int batch = state.BatchSize;
        var x = (double[])state.Inputs.Clone();
        var corePins = new List<StalkPin>();
        foreach (var pin in pins ?? [])
        {
            ArgumentNullException.ThrowIfNull(pin, nameof(pins));
            var (index, coordinates, targets) = pin.ToCore(Network, batch);
            if (index < 0)
            {
                if (!pin.IsHard) throw new ArgumentException("The input x can only be hard-pinned.", nameof(pins));
                for (int ci = 0; ci < coordinates.Length; ci++) Array.Copy(targets, ci * batch, x, coordinates[ci] * batch, batch);
                continue;
            }
            corePins.Add(new StalkPin(index, coordinates, targets, pin.Coupling ?? 0.0, pin.IsHard));
        }
        return (x, corePins.ToArray());
    }

    /// <summary>The spectral X-ray of L<sub>Ω</sub> at each input's own activation pattern (forward pass, z ≥ 0 active).</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>.</param>
    /// <param name="method">Lanczos (default) or Dense.</param>
    /// <param name="seed">Seed of the Lanczos start vector.</param>
    /// <returns>One X-ray per sample.</returns>
    public IReadOnlyList<SpectralXRay> XRay(double[,] inputs, SpectralMethod method = SpectralMethod.Lanczos, int seed = 0)
    {
        int batch = Network.CheckInputs(inputs, nameof(inputs));
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method.");
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        return NetworkSpectrum.xrayBatch(Network.Core, x, batch, (Numerics.SpectralMethod)(int)method, seed)
            .Select(r => new SpectralXRay(r)).ToArray();
    }

    /// <summary>The X-ray of L<sub>Ω</sub> at a given activation pattern.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <param name="method">Lanczos (default) or Dense.</param>
    /// <param name="seed">Seed of the Lanczos start vector.</param>
    /// <returns>The X-ray.</returns>
    public SpectralXRay XRay(ActivationPattern pattern, SpectralMethod method = SpectralMethod.Lanczos, int seed = 0)
    {
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method.");
        return new SpectralXRay(NetworkSpectrum.xray(Network.Core, CorePattern(pattern), (Numerics.SpectralMethod)(int)method, seed));
    }

    /// <summary>Medians/quartiles of a batch of X-rays and the eigenvector stability across the batch.</summary>
    /// <param name="xrays">X-rays of this network (at least one).</param>
    /// <returns>The summary.</returns>
    public static SpectralSummary Summarize(IReadOnlyList<SpectralXRay> xrays)
    {
        ArgumentNullException.ThrowIfNull(xrays);
        if (xrays.Count == 0) throw new ArgumentException("At least one X-ray is needed.", nameof(xrays));
        return new SpectralSummary(NetworkSpectrum.summarise(xrays.Select(x => x.Core).ToArray()));
    }

    /// <summary>The activation pattern of one input under the forward pass (z ≥ 0 counts as active).</summary>
    /// <param name="input">n<sub>0</sub> finite values.</param>
    /// <returns>The pattern.</returns>
    public ActivationPattern ActivationPatternOf(ReadOnlySpan<double> input) =>
        ActivationPattern.FromCore(NetworkSheafBlocks.patternOf(Network.Core, CheckInput(input, nameof(input))));

    /// <summary>The restricted coboundary δ<sub>Ω</sub> (dim Ω × dim Ω): unit lower block-bidiagonal with −R<sub>l</sub> and
    /// −W<sup>(l)</sup> below the diagonal; det δ<sub>Ω</sub> = 1 for every pattern.</summary>
    /// <param name="pattern">The activation pattern.</param>
    /// <returns>A dense copy.</returns>
    public double[,] RestrictedCoboundary(ActivationPattern pattern) =>
        Matrices.ToArray2D(NetworkSheafBlocks.restrictedCoboundaryDense(Network.Core, CorePattern(pattern)));

    /// <summary>The boundary part δ<sub>U</sub> of the coboundary (dim Ω × dim U).</summary>
    /// <returns>A dense copy.</returns>
    public double[,] BoundaryCoboundary() => Matrices.ToArray2D(NetworkSheafBlocks.boundaryCoboundaryDense(Network.Core));

    /// <summary>The restricted Laplacian L<sub>Ω</sub> = δ<sub>Ω</sub>ᵀδ<sub>Ω</sub>, symmetric positive definite with determinant 1.</summary>
    /// <param name="pattern">The activation pattern.</param>
    /// <returns>A dense copy (dim Ω × dim Ω).</returns>
    public double[,] RestrictedLaplacian(ActivationPattern pattern) =>
        Matrices.ToArray2D(NetworkSheafBlocks.restrictedLaplacianDense(Network.Core, CorePattern(pattern)));

    /// <summary>The coupling block L<sub>ΩU</sub> = δ<sub>Ω</sub>ᵀδ<sub>U</sub>; the harmonic extension solves
    /// L<sub>Ω</sub> ω = −L<sub>ΩU</sub> u.</summary>
    /// <param name="pattern">The activation pattern.</param>
    /// <returns>A dense copy (dim Ω × dim U).</returns>
    public double[,] RestrictedBoundaryLaplacian(ActivationPattern pattern) =>
        Matrices.ToArray2D(NetworkSheafBlocks.restrictedBoundaryLaplacianDense(Network.Core, CorePattern(pattern)));

    /// <summary>The boundary values u = (x, 1<sub>n1</sub>, …, 1<sub>n(k+1)</sub>) of one input.</summary>
    /// <param name="input">n<sub>0</sub> finite values.</param>
    /// <returns>A vector of length dim U.</returns>
    public double[] BoundaryValues(ReadOnlySpan<double> input) =>
        NetworkSheafBlocks.boundaryValues(Network.Core, CheckInput(input, nameof(input)));

    /// <summary>
    /// The network sheaf at a fixed activation pattern as a general <see cref="SheafCore.Sheaf"/> on the path
    /// v<sub>x</sub> — v<sub>z1</sub> — v<sub>a1</sub> — … — v<sub>z(k+1)</sub>, with extended stalks (x, 1) and (a<sup>(l)</sup>, 1),
    /// weight-edge maps [W | diag(b)] and I, ReLU-edge maps diag(σ) and [I | 0]. The nonlinear output edge of a
    /// sigmoid/softmax network is not part of this linear sheaf. Pinning <see cref="NetworkCellularSheaf.BoundaryCoordinates"/>
    /// to <see cref="BoundaryValues"/> and solving the harmonic extension gives the forward pass.
    /// </summary>
    /// <param name="pattern">The activation pattern.</param>
    /// <returns>The sheaf with the positions of Ω and U in its 0-cochains.</returns>
    public NetworkCellularSheaf ToCellularSheaf(ActivationPattern pattern)
    {
        var (core, free, boundary) = NetworkSheafBlocks.toCellularSheaf(Network.Core, CorePattern(pattern));
        return new NetworkCellularSheaf(new Sheaf(core), free, boundary);
    }

    /// <summary>Per-edge discord of a state: ‖W a + b − z‖² on affine edges, ‖ReLU(z) − a‖² on activation edges,
    /// ‖φ(z) − a<sub>out</sub>‖² on the output edge; per sample and as batch means.</summary>
    /// <param name="state">Stalks on this sheaf.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">The state belongs to another network.</exception>
    public EdgeDiscordReport EdgeDiscord(NetworkStalkState state)
    {
        CheckState(state);
        var mlp = Network.Core;
        int edges = NetworkDiscord.edgeCount(mlp), batch = state.BatchSize;
        var values = new double[edges * batch];
        NetworkDiscord.compute(mlp, state.Inputs, state.Core, values);
        var list = new EdgeDiscord[edges];
        for (int e = 0; e < edges; e++)
        {
            var perSample = values.AsSpan(e * batch, batch).ToArray();
            list[e] = new EdgeDiscord(
                NetworkDiscord.edgeName(mlp, e),
                (NetworkEdgeKind)(int)NetworkDiscord.edgeKind(mlp, e),
                NetworkDiscord.edgeLayer(mlp, e),
                perSample,
                perSample.Average());
        }
        return new EdgeDiscordReport(list);
    }

    /// <summary>The Dirichlet energy ½ Σ<sub>e</sub> ‖discrepancy<sub>e</sub>‖² of each sample.</summary>
    /// <param name="state">Stalks on this sheaf.</param>
    /// <returns>One energy per sample.</returns>
    public double[] DirichletEnergy(NetworkStalkState state)
    {
        CheckState(state);
        var energy = new double[state.BatchSize];
        NetworkDiscord.energyPerSample(Network.Core, state.Inputs, state.Core, energy);
        return energy;
    }

    internal double[][] CorePattern(ActivationPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return pattern.ToCore(Network, nameof(pattern));
    }

    private double[] CheckInput(ReadOnlySpan<double> input, string name)
    {
        if (input.Length != Network.InputDimension)
            throw new ArgumentException($"The input needs {Network.InputDimension} values but has {input.Length}.", name);
        for (int i = 0; i < input.Length; i++)
            if (!double.IsFinite(input[i])) throw new ArgumentException($"Input {i} is {input[i]}; only finite numbers are allowed.", name);
        return input.ToArray();
    }

    private void CheckState(NetworkStalkState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!ReferenceEquals(state.Network, Network))
            throw new ArgumentException("The state belongs to a different network.", nameof(state));
    }
}
