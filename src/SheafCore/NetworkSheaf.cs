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
        UnitriangularSolve.solve(Network.Core, x, stalks);
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
