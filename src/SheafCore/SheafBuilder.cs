namespace SheafCore;

/// <summary>Builds an immutable-topology <see cref="Sheaf"/> on a graph: add vertices with their stalk dimensions,
/// then edges with a restriction map at each end.</summary>
/// <example><code>
/// var builder = new SheafBuilder();
/// int u = builder.AddVertex(2), v = builder.AddVertex(2);
/// builder.AddEdge(u, v, RestrictionMap.Identity(2), RestrictionMap.Diagonal([1.0, -1.0]));
/// Sheaf sheaf = builder.Build();
/// </code></example>
public sealed class SheafBuilder
{
    private readonly List<int> _vertexDimensions = [];
    private readonly List<(int Source, int Target, RestrictionMap SourceMap, RestrictionMap TargetMap)> _edges = [];

    /// <summary>Adds a vertex.</summary>
    /// <param name="stalkDimension">d<sub>v</sub> ≥ 0 (0 is allowed: a vertex with no data).</param>
    /// <returns>The vertex index (0, 1, … in order of addition).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stalkDimension"/> is negative.</exception>
    public int AddVertex(int stalkDimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stalkDimension);
        _vertexDimensions.Add(stalkDimension);
        return _vertexDimensions.Count - 1;
    }

    /// <summary>Adds an edge source → target; the coboundary on it is F<sub>target</sub>x<sub>target</sub> − F<sub>source</sub>x<sub>source</sub>.
    /// Multiple edges between the same vertices are allowed; self-loops are not.</summary>
    /// <param name="source">Source vertex.</param>
    /// <param name="target">Target vertex (≠ source).</param>
    /// <param name="sourceMap">F<sub>source⊴e</sub>: d<sub>e</sub> × d<sub>source</sub>.</param>
    /// <param name="targetMap">F<sub>target⊴e</sub>: d<sub>e</sub> × d<sub>target</sub>.</param>
    /// <returns>The edge index.</returns>
    /// <exception cref="ArgumentException">Unknown vertex, self-loop, or map shapes that do not fit.</exception>
    public int AddEdge(int source, int target, RestrictionMap sourceMap, RestrictionMap targetMap)
    {
        ArgumentNullException.ThrowIfNull(sourceMap);
        ArgumentNullException.ThrowIfNull(targetMap);
        if ((uint)source >= (uint)_vertexDimensions.Count)
            throw new ArgumentOutOfRangeException(nameof(source), source, $"Unknown vertex; there are {_vertexDimensions.Count} vertices.");
        if ((uint)target >= (uint)_vertexDimensions.Count)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"Unknown vertex; there are {_vertexDimensions.Count} vertices.");
        if (source == target) throw new ArgumentException($"Self-loop at vertex {source}; self-loops are not allowed.", nameof(target));
        if (sourceMap.Columns != _vertexDimensions[source])
            throw new ArgumentException($"The source map has {sourceMap.Columns} columns but vertex {source} has stalk dimension {_vertexDimensions[source]}.", nameof(sourceMap));
        if (targetMap.Columns != _vertexDimensions[target])
            throw new ArgumentException($"The target map has {targetMap.Columns} columns but vertex {target} has stalk dimension {_vertexDimensions[target]}.", nameof(targetMap));
        if (sourceMap.Rows != targetMap.Rows)
            throw new ArgumentException($"The two maps give edge stalk dimensions {sourceMap.Rows} and {targetMap.Rows}; they must agree.", nameof(targetMap));
        _edges.Add((source, target, sourceMap, targetMap));
        return _edges.Count - 1;
    }

    /// <summary>Number of vertices added so far.</summary>
    public int VertexCount => _vertexDimensions.Count;

    /// <summary>Number of edges added so far.</summary>
    public int EdgeCount => _edges.Count;

    /// <summary>Builds the sheaf: its coboundary, assembled Laplacian and normalised Laplacian.</summary>
    /// <returns>A new sheaf; later changes to the builder do not affect it.</returns>
    public Sheaf Build()
    {
        int e = _edges.Count;
        var families = new Numerics.RestrictionFamily[2 * e];
        var maps = new double[2 * e][];
        for (int i = 0; i < e; i++)
        {
            families[2 * i] = (Numerics.RestrictionFamily)(int)_edges[i].SourceMap.Family;
            maps[2 * i] = _edges[i].SourceMap.Values;
            families[2 * i + 1] = (Numerics.RestrictionFamily)(int)_edges[i].TargetMap.Family;
            maps[2 * i + 1] = _edges[i].TargetMap.Values;
        }
        var core = Numerics.CellularSheaf.Create(
            _vertexDimensions.ToArray(),
            _edges.Select(x => x.Source).ToArray(),
            _edges.Select(x => x.Target).ToArray(),
            _edges.Select(x => x.SourceMap.Rows).ToArray(),
            families,
            maps);
        return new Sheaf(core);
    }
}
