namespace SheafCore;

/// <summary>The operation an edge of a network sheaf performs.</summary>
public enum NetworkEdgeKind
{
    /// <summary>Affine edge e<sub>W,l</sub>: z<sup>(l)</sup> = W<sup>(l)</sup>a<sup>(l−1)</sup> + b<sup>(l)</sup>.</summary>
    Affine = 0,

    /// <summary>Activation edge e<sub>R,l</sub>: a<sup>(l)</sup> = ReLU(z<sup>(l)</sup>).</summary>
    Activation = 1,

    /// <summary>Output edge e<sub>out</sub>: a<sub>out</sub> = φ(z<sup>(k+1)</sup>) (sigmoid and softmax only).</summary>
    Output = 2,
}

/// <summary>The discord of one edge: squared norm of its discrepancy vector, per sample and as the batch mean.</summary>
/// <param name="Name">W1, R1, …, W(k+1), out.</param>
/// <param name="Kind">Affine, activation or output.</param>
/// <param name="Layer">The layer l the edge belongs to (the output edge belongs to layer k+1).</param>
/// <param name="PerSample">‖discrepancy‖² for each sample.</param>
/// <param name="Mean">Batch mean of <paramref name="PerSample"/>.</param>
public sealed record EdgeDiscord(string Name, NetworkEdgeKind Kind, int Layer, IReadOnlyList<double> PerSample, double Mean);

/// <summary>Per-edge discord of a batch of network stalks (theory §6: batch means of squared norms, no ½).</summary>
/// <param name="Edges">Edges in path order W1, R1, …, W(k+1), then out.</param>
public sealed record EdgeDiscordReport(IReadOnlyList<EdgeDiscord> Edges)
{
    /// <summary>Σ over edges of the batch-mean discord.</summary>
    public double Total => Edges.Sum(e => e.Mean);

    /// <summary>Batch-mean discord summed per layer (index 0 = layer 1).</summary>
    public IReadOnlyList<double> ByLayer =>
        Enumerable.Range(1, Edges.Max(e => e.Layer)).Select(l => Edges.Where(e => e.Layer == l).Sum(e => e.Mean)).ToArray();

    /// <summary>Batch-mean discord summed per operation type.</summary>
    /// <param name="kind">Affine, activation or output.</param>
    /// <returns>The sum.</returns>
    public double ByKind(NetworkEdgeKind kind) => Edges.Where(e => e.Kind == kind).Sum(e => e.Mean);
}

/// <summary>A network sheaf at a fixed pattern as a general sheaf, with where its free and pinned coordinates sit.</summary>
/// <param name="Sheaf">The general sheaf (vertices x, z1, a1, …, z(k+1)).</param>
/// <param name="FreeCoordinates">0-cochain indices of Ω, in the order z1, a1, …, z(k+1).</param>
/// <param name="BoundaryCoordinates">0-cochain indices of U, in the order x, 1<sub>n1</sub>, …, 1<sub>n(k+1)</sub>.</param>
public sealed record NetworkCellularSheaf(Sheaf Sheaf, IReadOnlyList<int> FreeCoordinates, IReadOnlyList<int> BoundaryCoordinates);
