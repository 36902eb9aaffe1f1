using SheafCore.Numerics;

namespace SheafCore;

/// <summary>Role of a node in one of a graph's fixed train/validation/test splits.</summary>
public enum NodeSplitRole
{
    /// <summary>In no set (e.g. outside Cora's largest component, or unlabelled).</summary>
    None = 0,

    /// <summary>Training node.</summary>
    Train = 1,

    /// <summary>Validation node (early stopping).</summary>
    Validation = 2,

    /// <summary>Test node.</summary>
    Test = 3,
}

/// <summary>
/// A node-classification graph with features, labels and fixed splits, in the shared data format
/// (<c>edges.csv</c>, <c>features.csv</c>, <c>labels.csv</c>, <c>splits.csv</c>, <c>meta.csv</c>).
/// </summary>
/// <remarks>
/// The edge list is canonicalised as Neural Sheaf Diffusion does: every pair is made undirected, self-loops are
/// removed and repeated pairs (in either direction) are merged; the counts of what was dropped are kept in
/// <see cref="SelfLoopsRemoved"/> and <see cref="DuplicatesMerged"/>. Out-of-range nodes, features or labels and
/// counts that disagree with <c>meta.csv</c> are errors. Nodes labelled −1 are removed from every split.
/// </remarks>
public sealed class NodeClassificationGraph
{
    internal NodeClassificationGraph(NodeGraph graph, string name)
    {
        Graph = graph;
        Name = name;
    }

    internal NodeGraph Graph { get; }

    /// <summary>The data set's name (the folder name when loaded from disk).</summary>
    public string Name { get; }

    /// <summary>Number of nodes n.</summary>
    public int NodeCount => Graph.NodeCount;

    /// <summary>Number of input features per node.</summary>
    public int FeatureCount => Graph.FeatureCount;

    /// <summary>Number of classes.</summary>
    public int ClassCount => Graph.ClassCount;

    /// <summary>Undirected edges after canonicalisation (no self-loops, no repeats).</summary>
    public int EdgeCount => Graph.EdgeCount;

    /// <summary>Rows of the source edge list, before canonicalisation.</summary>
    public int EdgeRowCount => Graph.EdgeRows;

    /// <summary>Self-loop rows removed.</summary>
    public int SelfLoopsRemoved => Graph.SelfLoopsRemoved;

    /// <summary>Rows merged because their undirected pair was already listed (in either direction).</summary>
    public int DuplicatesMerged => Graph.DuplicatesMerged;

    /// <summary>Number of fixed splits.</summary>
    public int SplitCount => Graph.Splits.Length;

    /// <summary>The label of every node (−1: none).</summary>
    /// <returns>A copy, length <see cref="NodeCount"/>.</returns>
    public int[] GetLabels() => (int[])Graph.Labels.Clone();

    /// <summary>The role of every node in one split.</summary>
    /// <param name="split">Split index in [0, <see cref="SplitCount"/>).</param>
    /// <returns>A new array, length <see cref="NodeCount"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is out of range.</exception>
    public NodeSplitRole[] GetSplit(int split)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(split);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(split, SplitCount);
        return Graph.Splits[split].Select(r => (NodeSplitRole)(int)r).ToArray();
    }

    /// <summary>The undirected edges as (source, target) pairs with source &lt; target, sorted.</summary>
    /// <returns>Two new arrays of length <see cref="EdgeCount"/>.</returns>
    public (int[] Sources, int[] Targets) GetEdges() => ((int[])Graph.Sources.Clone(), (int[])Graph.Targets.Clone());

    /// <summary>Reads a graph folder.</summary>
    /// <param name="folder">A folder holding the five CSV files.</param>
    /// <returns>The canonicalised graph.</returns>
    /// <exception cref="ArgumentException"><paramref name="folder"/> is null or blank.</exception>
    /// <exception cref="SheafCoreFormatException">A file is missing or malformed, or a node, feature or label is
    /// out of range, or the counts disagree; the message names the file and line.</exception>
    public static NodeClassificationGraph Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        try
        {
            var graph = GraphData.load(folder);
            return new NodeClassificationGraph(graph, new DirectoryInfo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))).Name);
        }
        catch (GraphData.GraphFormatError e)
        {
            throw new SheafCoreFormatException(e.file, e.location, e.problem, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(folder, "", "cannot be read: " + e.Message, e);
        }
    }

    /// <summary>Builds a graph in memory (same validation and canonicalisation as <see cref="Load"/>).</summary>
    /// <param name="features">Dense features, nodes × features.</param>
    /// <param name="labels">One label per node in [0, <paramref name="classCount"/>) or −1.</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="sources">Edge sources (any direction; self-loops and repeats allowed).</param>
    /// <param name="targets">Edge targets.</param>
    /// <param name="splits">Per split, one role per node.</param>
    /// <returns>The canonicalised graph.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">Counts disagree or an index is out of range; the message names it.</exception>
    public static NodeClassificationGraph Create(
        double[,] features, int[] labels, int classCount, int[] sources, int[] targets, IReadOnlyList<NodeSplitRole[]> splits)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(splits);
        int n = features.GetLength(0), p = features.GetLength(1);
        if (labels.Length != n)
            throw new ArgumentException($"There are {labels.Length} labels for {n} feature rows.", nameof(labels));
        var pointers = new int[n + 1];
        var columns = new List<int>();
        var values = new List<double>();
        for (int v = 0; v < n; v++)
        {
            for (int j = 0; j < p; j++)
                if (features[v, j] != 0) { columns.Add(j); values.Add(features[v, j]); }
            pointers[v + 1] = columns.Count;
        }
        var roles = splits.Select((s, i) =>
        {
            if (s is null || s.Length != n)
                throw new ArgumentException($"Split {i} does not have one role per node ({n}).", nameof(splits));
            return s.Select(r => (SplitRole)(int)r).ToArray();
        }).ToArray();
        var graph = GraphData.create(n, p, classCount, sources, targets, pointers, columns.ToArray(), values.ToArray(), labels, roles);
        return new NodeClassificationGraph(graph, "in-memory");
    }
}
