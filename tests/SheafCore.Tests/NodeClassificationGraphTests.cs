namespace SheafCore.Tests;

/// <summary>Graph loading: NSD's canonicalisation and clear errors for inconsistent folders.</summary>
public sealed class NodeClassificationGraphTests
{
    private static readonly string[][] OneSplit = [["train", "val", "test", "train"]];

    private static string WriteFour(TempDirectory dir, IEnumerable<(int, int)> edges, int[]? labels = null,
        IEnumerable<(int, int)>? features = null, string[][]? splits = null)
    {
        var folder = dir.File("g");
        GraphFolders.Write(folder, 4, 3, 2, edges, features ?? [(0, 0), (1, 1), (2, 2), (3, 0)], labels ?? [0, 1, 0, 1], splits ?? OneSplit);
        return folder;
    }

    [Fact]
    public void Load_RemovesSelfLoopsAndMergesRepeatsInEitherDirection()
    {
        using var dir = new TempDirectory();
        var graph = NodeClassificationGraph.Load(WriteFour(dir, [(0, 0), (0, 1), (1, 0), (0, 1), (2, 3), (3, 3), (3, 2)]));
        Assert.Equal(7, graph.EdgeRowCount);
        Assert.Equal(2, graph.SelfLoopsRemoved);
        Assert.Equal(3, graph.DuplicatesMerged);
        Assert.Equal(2, graph.EdgeCount);
        var (sources, targets) = graph.GetEdges();
        Assert.Equal([0, 2], sources);
        Assert.Equal([1, 3], targets);
        Assert.Equal("g", graph.Name);
    }

    [Fact]
    public void Load_MakesDirectedEdgesUndirected()
    {
        using var dir = new TempDirectory();
        var graph = NodeClassificationGraph.Load(WriteFour(dir, [(3, 1), (2, 0)]));
        var (sources, targets) = graph.GetEdges();
        Assert.Equal([0, 1], sources);
        Assert.Equal([2, 3], targets);
    }

    [Fact]
    public void Load_ThrowsForOutOfRangeEdge_NamingFileAndLine()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(WriteFour(dir, [(0, 1), (1, 4)])));
        Assert.EndsWith("edges.csv", e.SourceName);
        Assert.Equal("line 3, column target", e.Location);
        Assert.Contains("outside [0, 4)", e.Problem);
    }

    [Fact]
    public void Load_ThrowsWhenLabelCountDiffersFromNodeCount()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(WriteFour(dir, [(0, 1)], labels: [0, 1, 0])));
        Assert.EndsWith("labels.csv", e.SourceName);
        Assert.Contains("3 label rows for 4 nodes", e.Problem);
    }

    [Fact]
    public void Load_ThrowsWhenFeaturesNameAMissingNode()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(WriteFour(dir, [(0, 1)], features: [(0, 0), (5, 1)])));
        Assert.EndsWith("features.csv", e.SourceName);
        Assert.Contains("features and nodes disagree", e.Problem);
    }

    [Fact]
    public void Load_ThrowsForFeatureIndexBeyondMeta()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(WriteFour(dir, [(0, 1)], features: [(0, 3)])));
        Assert.Equal("line 2, column feature_index", e.Location);
    }

    [Fact]
    public void Load_ThrowsForLabelOutOfRange()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(WriteFour(dir, [(0, 1)], labels: [0, 1, 2, 0])));
        Assert.Equal("line 4, column label", e.Location);
    }

    [Fact]
    public void Load_ThrowsForMissingFile()
    {
        using var dir = new TempDirectory();
        var folder = WriteFour(dir, [(0, 1)]);
        File.Delete(Path.Combine(folder, "splits.csv"));
        var e = Assert.Throws<SheafCoreFormatException>(() => NodeClassificationGraph.Load(folder));
        Assert.EndsWith("splits.csv", e.SourceName);
    }

    [Fact]
    public void Load_DropsUnlabelledNodesFromEverySplit()
    {
        using var dir = new TempDirectory();
        var graph = NodeClassificationGraph.Load(WriteFour(dir, [(0, 1)], labels: [0, -1, 0, 1]));
        Assert.Equal(NodeSplitRole.None, graph.GetSplit(0)[1]);
        Assert.Equal(NodeSplitRole.Train, graph.GetSplit(0)[0]);
    }

    [Fact]
    public void Create_ThrowsForMismatchedCounts()
    {
        var features = new double[3, 2];
        Assert.Throws<ArgumentException>(() => NodeClassificationGraph.Create(features, [0, 1], 2, [0], [1], [new NodeSplitRole[3]]));
        Assert.Throws<ArgumentException>(() => NodeClassificationGraph.Create(features, [0, 1, 0], 2, [0], [1], [new NodeSplitRole[2]]));
        Assert.Throws<ArgumentException>(() => NodeClassificationGraph.Create(features, [0, 1, 0], 2, [0, 1], [1], [new NodeSplitRole[3]]));
        Assert.Throws<ArgumentException>(() => NodeClassificationGraph.Create(features, [0, 1, 0], 2, [0], [-1], [new NodeSplitRole[3]]));
    }

    [Fact]
    public void Create_CanonicalisesLikeLoad()
    {
        var graph = NodeClassificationGraph.Create(new double[3, 2], [0, 1, 0], 2, [0, 1, 2, 2], [1, 0, 2, 0], [new NodeSplitRole[3]]);
        Assert.Equal(2, graph.EdgeCount);
        Assert.Equal(1, graph.SelfLoopsRemoved);
        Assert.Equal(1, graph.DuplicatesMerged);
    }
}
