using SheafCore.Numerics;

namespace SheafCore;

/// <summary>Which end of an edge a restriction map sits on.</summary>
public enum EdgeEnd
{
    /// <summary>The source (tail) vertex.</summary>
    Source = 0,

    /// <summary>The target (head) vertex.</summary>
    Target = 1,
}

/// <summary>
/// A cellular sheaf on a graph: vertex stalks R<sup>d<sub>v</sub></sup>, edge stalks R<sup>d<sub>e</sub></sup> and a restriction
/// map at each end of each edge. The coboundary is (δx)<sub>e</sub> = F<sub>target⊴e</sub>x<sub>target</sub> − F<sub>source⊴e</sub>x<sub>source</sub>,
/// the Laplacian L = δᵀδ, and the normalised Laplacian (D+I)<sup>−1/2</sup>L(D+I)<sup>−1/2</sup> with D the block diagonal of L.
/// A 0-cochain is one vector: vertex v occupies entries [<see cref="VertexOffset"/>(v), <see cref="VertexOffset"/>(v) + d<sub>v</sub>).
/// Topology is fixed; restriction-map values can be changed in place with <see cref="SetRestrictionMap"/>.
/// Not thread-safe for concurrent writes.
/// </summary>
public sealed class Sheaf
{
    private readonly CellularSheaf _core;
    private readonly SheafLaplacianMatrix _laplacian;
    private readonly NormalisedSheafLaplacian _normalised;
    private readonly double[] _edgeWorkspace;

    internal Sheaf(CellularSheaf core)
    {
        _core = core;
        _laplacian = SheafLaplacian.assemble(core);
        _normalised = SheafLaplacian.assembleNormalised(_laplacian);
        _edgeWorkspace = new double[core.EdgeCochainDim];
    }

    internal CellularSheaf Core => _core;

    /// <summary>Number of vertices.</summary>
    public int VertexCount => _core.VertexCount;

    /// <summary>Number of edges.</summary>
    public int EdgeCount => _core.EdgeCount;

    /// <summary>dim C⁰ = Σ<sub>v</sub> d<sub>v</sub>.</summary>
    public int VertexCochainDimension => _core.VertexCochainDim;

    /// <summary>dim C¹ = Σ<sub>e</sub> d<sub>e</sub>.</summary>
    public int EdgeCochainDimension => _core.EdgeCochainDim;

    /// <summary>d<sub>v</sub>.</summary>
    /// <param name="vertex">Vertex index.</param>
    /// <returns>The stalk dimension.</returns>
    public int StalkDimension(int vertex) => _core.VertexDims[CheckVertex(vertex)];

    /// <summary>First entry of vertex <paramref name="vertex"/> in a 0-cochain.</summary>
    /// <param name="vertex">Vertex index.</param>
    /// <returns>The offset.</returns>
    public int VertexOffset(int vertex) => _core.VertexOffsets[CheckVertex(vertex)];

    /// <summary>d<sub>e</sub>.</summary>
    /// <param name="edge">Edge index.</param>
    /// <returns>The edge stalk dimension.</returns>
    public int EdgeStalkDimension(int edge) => _core.EdgeDims[CheckEdge(edge)];

    /// <summary>Source and target vertex of an edge.</summary>
    /// <param name="edge">Edge index.</param>
    /// <param name="source">Source vertex.</param>
    /// <param name="target">Target vertex.</param>
    public void GetEdge(int edge, out int source, out int target)
    {
        CheckEdge(edge);
        source = _core.EdgeSources[edge];
        target = _core.EdgeTargets[edge];
    }

    /// <summary>destination = δx.</summary>
    /// <param name="x">A 0-cochain (length dim C⁰).</param>
    /// <param name="destination">Length dim C¹.</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    public void ApplyCoboundary(ReadOnlySpan<double> x, Span<double> destination) => Coboundary.apply(_core, x, destination);

    /// <summary>destination = δᵀy.</summary>
    /// <param name="y">A 1-cochain (length dim C¹).</param>
    /// <param name="destination">Length dim C⁰.</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    public void ApplyCoboundaryTranspose(ReadOnlySpan<double> y, Span<double> destination) => Coboundary.applyTranspose(_core, y, destination);

    /// <summary>destination = L x with the assembled block-sparse Laplacian (vectorised; above about 10⁵ stored values the
    /// rows are split over two cores, with the same result bit for bit).</summary>
    /// <param name="x">A 0-cochain.</param>
    /// <param name="destination">Length dim C⁰; must not overlap <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    public void ApplyLaplacian(ReadOnlySpan<double> x, Span<double> destination) => SheafLaplacian.applyTwoThreads(_laplacian, x, destination);

    /// <summary>destination = (D+I)<sup>−1/2</sup> L (D+I)<sup>−1/2</sup> x; its spectrum lies in [0, 2].</summary>
    /// <param name="x">A 0-cochain.</param>
    /// <param name="destination">Length dim C⁰.</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    public void ApplyNormalizedLaplacian(ReadOnlySpan<double> x, Span<double> destination) => SheafLaplacian.applyNormalised(_normalised, x, destination);

    /// <summary>The Dirichlet energy ½‖δx‖².</summary>
    /// <param name="x">A 0-cochain.</param>
    /// <returns>The energy.</returns>
    public double DirichletEnergy(ReadOnlySpan<double> x) => SheafEnergy.dirichletEnergy(_core, x, _edgeWorkspace);

    /// <summary>Per-edge discrepancy ‖(δx)<sub>e</sub>‖² for every edge.</summary>
    /// <param name="x">A 0-cochain.</param>
    /// <returns>One value per edge.</returns>
    public double[] EdgeDiscrepancies(ReadOnlySpan<double> x)
    {
        var result = new double[EdgeCount];
        SheafEnergy.edgeDiscrepancies(_core, x, result);
        return result;
    }

    /// <summary>Rewrites one restriction map in place (same family and shape) and refills the Laplacians without
    /// allocating. For dense/orthogonal maps pass d<sub>e</sub> × d<sub>v</sub> row-major values, for diagonal maps the
    /// diagonal, for identity maps nothing.</summary>
    /// <param name="edge">Edge index.</param>
    /// <param name="end">Which end.</param>
    /// <param name="values">New values.</param>
    /// <exception cref="ArgumentException">Wrong length, non-finite values, or a non-orthogonal matrix for an orthogonal map.</exception>
    public void SetRestrictionMap(int edge, EdgeEnd end, ReadOnlySpan<double> values)
    {
        CheckEdge(edge);
        _core.SetMap(2 * edge + (end == EdgeEnd.Target ? 1 : 0), values);
        SheafLaplacian.refill(_core, _laplacian);
        SheafLaplacian.refillNormalised(_laplacian, _normalised);
    }

    /// <summary>δ as a dense matrix (dim C¹ × dim C⁰).</summary>
    /// <returns>A new matrix.</returns>
    public double[,] ToDenseCoboundary() => Matrices.ToArray2D(Coboundary.toDense(_core));

    /// <summary>L as a dense matrix.</summary>
    /// <returns>A new matrix.</returns>
    public double[,] ToDenseLaplacian() => Matrices.ToArray2D(SheafLaplacian.toDense(_laplacian));

    /// <summary>The normalised Laplacian as a dense matrix.</summary>
    /// <returns>A new matrix.</returns>
    public double[,] ToDenseNormalizedLaplacian() => Matrices.ToArray2D(SheafLaplacian.normalisedToDense(_normalised));

    /// <summary>H⁰ = ker δ by a dense eigen-decomposition of L (for small sheaves: cost O((dim C⁰)³)).</summary>
    /// <returns>dim H⁰ and an orthonormal basis.</returns>
    public GlobalSectionsResult GlobalSections()
    {
        var sections = Numerics.HarmonicExtension.globalSections(_core);
        return new GlobalSectionsResult(sections.Dimension, Columns(sections.Basis));
    }

    /// <summary>
    /// The pinned harmonic extension: the coordinates in <paramref name="boundaryCoordinates"/> are held at
    /// <paramref name="boundaryValues"/>, the others solve L<sub>II</sub>x<sub>I</sub> = −L<sub>IB</sub>x<sub>B</sub>
    /// (the minimiser of the Dirichlet energy). The result says whether the answer is unique; when it is not, the dense
    /// path returns the minimum-norm solution and a basis of all others.
    /// </summary>
    /// <param name="boundaryCoordinates">Distinct 0-cochain indices that are pinned.</param>
    /// <param name="boundaryValues">One finite value per boundary coordinate, in the same order.</param>
    /// <param name="options">Solver options (null: defaults).</param>
    /// <returns>The extension and what is known about it.</returns>
    /// <exception cref="ArgumentException">Out-of-range or repeated coordinates, mismatched lengths, non-finite values.</exception>
    public HarmonicExtensionResult HarmonicExtension(IReadOnlyList<int> boundaryCoordinates, ReadOnlySpan<double> boundaryValues, HarmonicExtensionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(boundaryCoordinates);
        if (boundaryValues.Length != boundaryCoordinates.Count)
            throw new ArgumentException($"Expected {boundaryCoordinates.Count} values (one per boundary coordinate), got {boundaryValues.Length}.", nameof(boundaryValues));
        var mask = new bool[VertexCochainDimension];
        var full = new double[VertexCochainDimension];
        for (int i = 0; i < boundaryCoordinates.Count; i++)
        {
            int c = boundaryCoordinates[i];
            if ((uint)c >= (uint)mask.Length)
                throw new ArgumentOutOfRangeException(nameof(boundaryCoordinates), c, $"Coordinate out of range [0, {mask.Length}).");
            if (mask[c]) throw new ArgumentException($"Coordinate {c} is listed twice.", nameof(boundaryCoordinates));
            if (!double.IsFinite(boundaryValues[i]))
                throw new ArgumentException($"Boundary value {i} is {boundaryValues[i]}; only finite numbers are allowed.", nameof(boundaryValues));
            mask[c] = true;
            full[c] = boundaryValues[i];
        }
        return Solve(mask, full, options ?? new HarmonicExtensionOptions());
    }

    /// <summary>The pinned harmonic extension with whole vertices pinned.</summary>
    /// <param name="boundaryVertices">Distinct vertex indices.</param>
    /// <param name="boundaryValues">Their stalk values concatenated in the order of <paramref name="boundaryVertices"/>.</param>
    /// <param name="options">Solver options (null: defaults).</param>
    /// <returns>The extension and what is known about it.</returns>
    /// <exception cref="ArgumentException">Unknown or repeated vertices, mismatched lengths, non-finite values.</exception>
    public HarmonicExtensionResult HarmonicExtensionOnVertices(IReadOnlyList<int> boundaryVertices, ReadOnlySpan<double> boundaryValues, HarmonicExtensionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(boundaryVertices);
        var coordinates = new List<int>();
        var seen = new HashSet<int>();
        foreach (var v in boundaryVertices)
        {
            if ((uint)v >= (uint)VertexCount)
                throw new ArgumentOutOfRangeException(nameof(boundaryVertices), v, $"Unknown vertex; there are {VertexCount} vertices.");
            if (!seen.Add(v)) throw new ArgumentException($"Vertex {v} is listed twice.", nameof(boundaryVertices));
            for (int r = 0; r < _core.VertexDims[v]; r++) coordinates.Add(_core.VertexOffsets[v] + r);
        }
        if (boundaryValues.Length != coordinates.Count)
            throw new ArgumentException($"The boundary vertices have {coordinates.Count} coordinates in all but {boundaryValues.Length} values were given.", nameof(boundaryValues));
        return HarmonicExtension(coordinates, boundaryValues, options);
    }

    /// <summary>Runs the sheaf heat equation x' = −α(Lx + γ⊙(x − target)) from <paramref name="initial"/> with hard pins held,
    /// until an Euler step of size dt would change no free coordinate by the tolerance. Its limit is the pinned
    /// harmonic extension (when unique).</summary>
    /// <param name="initial">Starting 0-cochain (hard-pinned entries are overwritten by their values).</param>
    /// <param name="options">Settings (null: defaults).</param>
    /// <param name="pins">Pins (null: none; then the flow tends to the projection onto H⁰).</param>
    /// <returns>The final state and the run's record.</returns>
    /// <exception cref="ArgumentException">Wrong length, non-finite values, bad settings or pins.</exception>
    /// <exception cref="DiffusionDivergedException">The run diverged; the message suggests a stable step.</exception>
    public SheafDiffusionResult Diffuse(ReadOnlySpan<double> initial, SheafDiffusionOptions? options = null, SheafPins? pins = null)
    {
        options ??= new SheafDiffusionOptions();
        int n = VertexCochainDimension;
        if (initial.Length != n) throw new ArgumentException($"Expected {n} values, got {initial.Length}.", nameof(initial));
        var corePins = (pins ?? new SheafPins()).ToCore(n);
        bool adaptive = options.Integrator == DiffusionIntegrator.Adaptive;
        var d = Numerics.SheafHeatSettings.Default;
        // The adaptive stopping rule is on ‖F‖∞; Euler's change per step is dt·‖F‖∞.
        var settings = new Numerics.SheafHeatSettings(
            options.Alpha, options.TimeStep, adaptive ? options.Tolerance / options.TimeStep : options.Tolerance,
            options.MinimumSteps, options.MaximumSteps, d.EnergyEvery, d.MaximumStages, d.Damping);
        if (!(double.IsFinite(options.TimeStep) && options.TimeStep > 0))
            throw new ArgumentOutOfRangeException(nameof(options), options.TimeStep, "TimeStep must be positive and finite.");
        var state = new double[n];
        var r = adaptive
            ? SheafHeat.rkc(_laplacian, initial, corePins, settings, state)
            : SheafHeat.euler(_laplacian, initial, corePins, settings, state);
        if (r.Diverged) throw new DiffusionDivergedException(r.DivergenceReason, r.Steps, r.SuggestedStep);
        return new SheafDiffusionResult(state, r.Converged, r.Steps, r.LaplacianApplications, r.RejectedSteps, r.TraceSteps, r.EnergyTrace);
    }

    private HarmonicExtensionResult Solve(bool[] mask, double[] full, HarmonicExtensionOptions options)
    {
        if (!double.IsFinite(options.RelativeTolerance) || options.RelativeTolerance < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.RelativeTolerance, "RelativeTolerance must be finite and non-negative.");
        if (options.MaximumIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaximumIterations, "MaximumIterations must be positive.");
        int interior = mask.Count(b => !b);
        var method = options.Method switch
        {
            HarmonicExtensionMethod.Dense or HarmonicExtensionMethod.SparseLdlt or HarmonicExtensionMethod.ConjugateGradient => options.Method,
            HarmonicExtensionMethod.Automatic => interior <= options.DirectLimit ? HarmonicExtensionMethod.SparseLdlt : HarmonicExtensionMethod.ConjugateGradient,
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Method, "Unknown method."),
        };
        var r = method switch
        {
            HarmonicExtensionMethod.Dense => Numerics.HarmonicExtension.solveDense(_core, mask, full, options.RelativeTolerance),
            HarmonicExtensionMethod.SparseLdlt => Numerics.HarmonicExtension.solveSparse(_core, mask, full, options.RelativeTolerance),
            _ => Numerics.HarmonicExtension.solveConjugateGradient(_core, mask, full, options.RelativeTolerance, options.MaximumIterations),
        };
        return new HarmonicExtensionResult(
            r.Solution,
            r.Method switch
            {
                Numerics.HarmonicExtensionMethod.DenseLdlt => HarmonicExtensionMethod.Dense,
                Numerics.HarmonicExtensionMethod.SparseLdlt => HarmonicExtensionMethod.SparseLdlt,
                _ => HarmonicExtensionMethod.ConjugateGradient,
            },
            r.Uniqueness switch
            {
                HarmonicExtensionUniqueness.Unique => SolutionUniqueness.Unique,
                HarmonicExtensionUniqueness.NotUnique => SolutionUniqueness.NotUnique,
                _ => SolutionUniqueness.Unknown,
            },
            r.Rank >= 0 ? r.Rank : null,
            r.Nullity >= 0 ? r.Nullity : null,
            Columns(r.NullSpaceBasis),
            r.RelativeResidual,
            r.Converged,
            r.Iterations);
    }

    private static double[][] Columns(DenseMatrix m)
    {
        var result = new double[m.Cols][];
        for (int c = 0; c < m.Cols; c++)
        {
            result[c] = new double[m.Rows];
            for (int i = 0; i < m.Rows; i++) result[c][i] = m[i, c];
        }
        return result;
    }

    private int CheckVertex(int vertex)
    {
        if ((uint)vertex >= (uint)VertexCount)
            throw new ArgumentOutOfRangeException(nameof(vertex), vertex, $"Unknown vertex; there are {VertexCount} vertices.");
        return vertex;
    }

    private int CheckEdge(int edge)
    {
        if ((uint)edge >= (uint)EdgeCount)
            throw new ArgumentOutOfRangeException(nameof(edge), edge, $"Unknown edge; there are {EdgeCount} edges.");
        return edge;
    }
}
