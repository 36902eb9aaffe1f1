using SheafCore.Numerics;

namespace SheafCore;

/// <summary>How one layer's learned restriction maps relate the two ends of each edge.</summary>
/// <param name="Layer">Diffusion layer (0-based).</param>
/// <param name="EdgeAlignment">Per undirected edge, in the order of <see cref="NodeClassificationGraph.GetEdges"/>:
/// the cosine ⟨F_s, F_t⟩_F / (‖F_s‖_F‖F_t‖_F) of the edge's two maps, in [−1, 1] (0 when a map is zero).
/// +1: the maps are positive multiples of each other, so diffusion pulls the two ends together; −1: they are
/// opposite, and it pushes them apart.</param>
/// <param name="SameLabelMean">Mean alignment over edges whose ends share a label (NaN if there are none).</param>
/// <param name="SameLabelEdges">Number of such edges.</param>
/// <param name="DifferentLabelMean">Mean alignment over edges whose ends have different labels (NaN if none).</param>
/// <param name="DifferentLabelEdges">Number of such edges. Edges with an unlabelled end are in neither group.</param>
public sealed record LearnedSheafLayer(int Layer, IReadOnlyList<double> EdgeAlignment, double SameLabelMean,
    int SameLabelEdges, double DifferentLabelMean, int DifferentLabelEdges);

/// <summary>
/// A Neural Sheaf Diffusion model trained on one split of a graph, with the parameters of its best validation
/// epoch: the model whose test accuracy <see cref="Result"/> reports. It predicts every node of the graph and shows
/// what the learned sheaf does on the edges.
/// </summary>
/// <remarks>Instances are safe to use from several threads (calls are serialised: the forward pass reuses one set of
/// buffers).</remarks>
/// <example><code>
/// var graph = NodeClassificationGraph.Load("data/graphs/texas");
/// var nsd = new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("texas", SheafFamily.Diagonal));
/// var model = nsd.Fit(graph, split: 0);
/// int[] predicted = model.PredictLabels();
/// var last = model.InspectSheaf()[^1];
/// Console.WriteLine($"alignment: same label {last.SameLabelMean:F2}, different label {last.DifferentLabelMean:F2}");
/// </code></example>
public sealed class SheafDiffusionModel
{
    private readonly NsdConfig _config;
    private readonly double[] _parameters;
    private readonly object _gate = new();
    // Built on first use (its buffers are sized by the graph), so TrainSplit, which only wants Result, pays nothing.
    private NsdModel? _model;

    internal SheafDiffusionModel(NodeClassificationGraph graph, NeuralSheafDiffusionOptions options, NsdConfig config,
        double[] parameters, SheafDiffusionSplitResult result)
    {
        Graph = graph;
        Options = options;
        _config = config;
        _parameters = parameters;
        Result = result;
    }

    private NsdModel Model => _model ??= new NsdModel(_config, Graph.Graph);

    /// <summary>The graph the model predicts on: the one it was trained on, or the one given to <see cref="Load"/>.</summary>
    public NodeClassificationGraph Graph { get; }

    /// <summary>The settings it was trained with.</summary>
    public NeuralSheafDiffusionOptions Options { get; }

    /// <summary>The training outcome (test accuracy at the best validation epoch, the epoch these parameters are from).</summary>
    public SheafDiffusionSplitResult Result { get; }

    /// <summary>Number of trainable parameters.</summary>
    public int ParameterCount => _parameters.Length;

    /// <summary>The model as JSON (format version 1): options, feature and class counts, the training result and the
    /// parameters. Numbers round-trip exactly.</summary>
    /// <returns>Compact JSON.</returns>
    public string ToJson() => SheafDiffusionModelJson.Write(this, _parameters);

    /// <summary>Saves <see cref="ToJson"/> atomically (temporary file, then rename): an interrupted save leaves the
    /// previous file intact.</summary>
    /// <param name="path">Target file.</param>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a saved model and binds it to a graph with the same feature and class counts (the graph it was
    /// trained on, or another with the same features, e.g. grown by new nodes).</summary>
    /// <param name="path">The file.</param>
    /// <param name="graph">The graph to predict on.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="graph"/> is null.</exception>
    /// <exception cref="ArgumentException">The graph's feature or class count differs from the model's.</exception>
    /// <exception cref="SheafCoreFormatException">The file cannot be read or is not a valid model; the message names
    /// the field.</exception>
    public static SheafDiffusionModel Load(string path, NodeClassificationGraph graph)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(graph);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(path, "", "cannot be read: " + e.Message, e);
        }
        return SheafDiffusionModelJson.Parse(text, path, graph);
    }

    /// <summary>Parses model JSON text (see <see cref="Load"/>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="graph">The graph to predict on.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">The graph's feature or class count differs from the model's.</exception>
    /// <exception cref="SheafCoreFormatException">Malformed or inconsistent model.</exception>
    public static SheafDiffusionModel FromJson(string json, NodeClassificationGraph graph)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(graph);
        return SheafDiffusionModelJson.Parse(json, "model JSON", graph);
    }

    /// <summary>Class probabilities of every node (evaluation mode: no dropout).</summary>
    /// <returns>An n×C array; each row sums to 1.</returns>
    public double[,] PredictProbabilities()
    {
        double[] flat;
        lock (_gate) flat = NsdInspection.probabilities(Model, _parameters);
        int n = Graph.NodeCount, classes = Graph.ClassCount;
        var result = new double[n, classes];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    /// <summary>The most probable class of every node (the lowest index on ties).</summary>
    /// <returns>n class indices.</returns>
    public int[] PredictLabels()
    {
        var p = PredictProbabilities();
        var labels = new int[p.GetLength(0)];
        for (int v = 0; v < labels.Length; v++)
            for (int k = 1; k < p.GetLength(1); k++)
                if (p[v, k] > p[v, labels[v]]) labels[v] = k;
        return labels;
    }

    /// <summary>Per layer, how the learned restriction maps align across every edge, split by whether the edge's
    /// ends share a label. Reads the labels of all nodes, test nodes included: it is an analysis of the trained
    /// model, not an input to it.</summary>
    /// <returns>One entry per diffusion layer (empty for a model with no layers).</returns>
    /// <remarks>Neural Sheaf Diffusion's argument is that maps which disagree on heterophilous edges let diffusion
    /// separate classes; comparing <see cref="LearnedSheafLayer.SameLabelMean"/> with
    /// <see cref="LearnedSheafLayer.DifferentLabelMean"/> shows whether a trained model does that. The identity
    /// control has alignment 1 on every edge.</remarks>
    public IReadOnlyList<LearnedSheafLayer> InspectSheaf()
    {
        double[][] layers;
        lock (_gate) layers = NsdInspection.alignment(Model, _parameters);
        var labels = Graph.Graph.Labels;
        var (sources, targets) = (Graph.Graph.Sources, Graph.Graph.Targets);
        var result = new LearnedSheafLayer[layers.Length];
        for (int t = 0; t < layers.Length; t++)
        {
            double same = 0, different = 0;
            int sameCount = 0, differentCount = 0;
            for (int e = 0; e < sources.Length; e++)
            {
                int a = labels[sources[e]], b = labels[targets[e]];
                if (a < 0 || b < 0) continue;
                if (a == b) { same += layers[t][e]; sameCount++; }
                else { different += layers[t][e]; differentCount++; }
            }
            result[t] = new LearnedSheafLayer(t, layers[t], sameCount > 0 ? same / sameCount : double.NaN, sameCount,
                differentCount > 0 ? different / differentCount : double.NaN, differentCount);
        }
        return result;
    }
}
