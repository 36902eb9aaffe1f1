using System.Globalization;
using System.Text;

namespace SheafCore.Tests;

/// <summary>Writes small graph folders in the shared data format, and finds the shared data sets.</summary>
internal static class GraphFolders
{
    /// <summary>The shared graphs folder: $SHEAFCORE_DATA (its graphs/ subfolder, or itself), else the first
    /// shared/data/graphs found walking up from the test binary; null when absent.</summary>
    public static string? SharedGraphs()
    {
        if (Environment.GetEnvironmentVariable("SHEAFCORE_DATA") is { Length: > 0 } env)
        {
            var candidate = Path.Combine(env, "graphs");
            return Directory.Exists(candidate) ? candidate : Directory.Exists(env) ? env : null;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "graphs");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Writes the five files. Features are given as (node, feature) pairs with value 1.</summary>
    public static void Write(string folder, int nodes, int features, int classes, IEnumerable<(int, int)> edges,
        IEnumerable<(int Node, int Feature)> nonZeros, IReadOnlyList<int> labels, IReadOnlyList<string[]> splits)
    {
        Directory.CreateDirectory(folder);
        var edgeList = edges.ToList();
        File.WriteAllText(Path.Combine(folder, "meta.csv"),
            $"key,value\nname,synthetic\nnum_nodes,{nodes}\nnum_features,{features}\nnum_classes,{classes}\nnum_edge_rows,{edgeList.Count}\n");
        File.WriteAllText(Path.Combine(folder, "edges.csv"),
            "source,target\n" + string.Concat(edgeList.Select(e => $"{e.Item1},{e.Item2}\n")));
        File.WriteAllText(Path.Combine(folder, "features.csv"),
            "node,feature_index,value\n" + string.Concat(nonZeros.Select(x => $"{x.Node},{x.Feature},1\n")));
        File.WriteAllText(Path.Combine(folder, "labels.csv"),
            "node,label\n" + string.Concat(labels.Select((y, v) => $"{v},{y}\n")));
        var text = new StringBuilder("node");
        for (int s = 0; s < splits.Count; s++) text.Append(CultureInfo.InvariantCulture, $",split{s}");
        text.Append('\n');
        for (int v = 0; v < splits[0].Length; v++)
            text.Append(CultureInfo.InvariantCulture, $"{v},{string.Join(",", splits.Select(s => s[v]))}\n");
        File.WriteAllText(Path.Combine(folder, "splits.csv"), text.ToString());
    }

    /// <summary>A learnable two-class graph: 40 nodes on a ring plus chords between classes (heterophilous),
    /// each node with a noisy class-indicative bag of words, and two fixed 50/25/25 splits.</summary>
    /// <param name="folder">Target folder.</param>
    /// <param name="untrainableSecondSplit">Make split 1 all test nodes, so training on it fails.</param>
    public static void WriteSynthetic(string folder, bool untrainableSecondSplit = false)
    {
        const int n = 40, p = 12;
        var random = new Random(5);
        var labels = Enumerable.Range(0, n).Select(v => v % 2).ToArray();
        var edges = new List<(int, int)>();
        for (int v = 0; v < n; v++) edges.Add((v, (v + 1) % n));
        for (int v = 0; v < n; v += 3) edges.Add((v, (v + 7) % n));
        var nonZeros = new List<(int, int)>();
        for (int v = 0; v < n; v++)
            for (int j = 0; j < p; j++)
                if (random.NextDouble() < ((j < p / 2) == (labels[v] == 0) ? 0.5 : 0.15)) nonZeros.Add((v, j));
        string[] Split(int shift) => Enumerable.Range(0, n).Select(v => ((v + shift) % 4) switch { 0 or 1 => "train", 2 => "val", _ => "test" }).ToArray();
        string[] second = untrainableSecondSplit ? Enumerable.Repeat("test", n).ToArray() : Split(1);
        Write(folder, n, p, 2, edges, nonZeros, labels, [Split(0), second]);
    }
}
