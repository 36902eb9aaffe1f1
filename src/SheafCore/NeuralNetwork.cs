using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// A feed-forward ReLU network [n<sub>0</sub>, n<sub>1</sub>, …, n<sub>k+1</sub>]: k hidden ReLU layers and an output
/// activation. z<sup>(l)</sup> = W<sup>(l)</sup>a<sup>(l−1)</sup> + b<sup>(l)</sup>, a<sup>(l)</sup> = ReLU(z<sup>(l)</sup>)
/// (z = 0 counts as active), output φ(z<sup>(k+1)</sup>). float64 throughout.
/// </summary>
/// <example><code>
/// var net = NeuralNetwork.CreateHeInitialized(new[] { 2, 30, 1 }, OutputActivation.Identity, seed: 42);
/// double[,] y = net.Forward(new double[,] { { 0.5, -0.3 } });
/// </code></example>
public sealed class NeuralNetwork
{
    internal NeuralNetwork(Mlp core, InputScaling? inputScaling = null)
    {
        if (inputScaling is not null && inputScaling.Dimension != core.InputDim)
            throw new ArgumentException($"The input scaling has {inputScaling.Dimension} columns but the network takes {core.InputDim} inputs.", nameof(inputScaling));
        Core = core;
        InputScaling = inputScaling;
    }

    internal Mlp Core { get; }

    /// <summary>The standardisation of raw inputs stored with the model (<c>train --standardize</c>), or null. The weights act on
    /// standardised inputs: <see cref="Forward"/>, <see cref="ToSheaf"/> and the trainers take inputs already scaled;
    /// <see cref="Predict"/> and <see cref="ScaleInputs"/> take raw ones.</summary>
    public InputScaling? InputScaling { get; }

    /// <summary>This network with another input scaling (the weights are copied, not folded).</summary>
    /// <param name="inputScaling">The scaling, with <see cref="InputDimension"/> columns, or null for none.</param>
    /// <returns>A new network.</returns>
    /// <exception cref="ArgumentException">The scaling's column count is not <see cref="InputDimension"/>.</exception>
    public NeuralNetwork WithInputScaling(InputScaling? inputScaling) => new(Core.Clone(), inputScaling);

    /// <summary>Applies <see cref="InputScaling"/> to raw inputs; a copy of them when the model has none. Every CLI command that
    /// reads inputs for a model goes through this.</summary>
    /// <param name="rawInputs">Samples × n<sub>0</sub> raw inputs.</param>
    /// <returns>The inputs the weights act on (a new array).</returns>
    /// <exception cref="ArgumentException">Wrong column count or no rows.</exception>
    public double[,] ScaleInputs(double[,] rawInputs)
    {
        CheckInputs(rawInputs, nameof(rawInputs));
        return InputScaling is null ? (double[,])rawInputs.Clone() : InputScaling.Apply(rawInputs);
    }

    /// <summary>The model's prediction on raw inputs: <see cref="ScaleInputs"/>, then <see cref="Forward"/>.</summary>
    /// <param name="rawInputs">Samples × n<sub>0</sub> raw inputs; at least one row.</param>
    /// <returns>Samples × n<sub>k+1</sub> outputs.</returns>
    /// <exception cref="ArgumentException">Wrong column count, no rows, or a NaN/infinite input.</exception>
    public double[,] Predict(double[,] rawInputs) => Forward(ScaleInputs(rawInputs));

    /// <summary>Layer widths [n<sub>0</sub>, …, n<sub>k+1</sub>].</summary>
    public IReadOnlyList<int> Layers => Array.AsReadOnly(Core.Layers);

    /// <summary>The output activation φ.</summary>
    public OutputActivation Output => (OutputActivation)(int)Core.Output;

    /// <summary>k, the number of hidden ReLU layers.</summary>
    public int HiddenLayerCount => Core.HiddenCount;

    /// <summary>n<sub>0</sub>, the input width.</summary>
    public int InputDimension => Core.InputDim;

    /// <summary>n<sub>k+1</sub>, the output width.</summary>
    public int OutputDimension => Core.OutputDim;

    /// <summary>Creates a He-initialised network: W<sup>(l)</sup> ~ N(0, 2/n<sub>l−1</sub>), b = 0, drawn from a seeded
    /// generator (the same seed gives the same weights on every machine).</summary>
    /// <param name="layers">Widths, at least two, all positive.</param>
    /// <param name="output">Output activation.</param>
    /// <param name="seed">Seed of the weight draw.</param>
    /// <returns>The network.</returns>
    /// <exception cref="ArgumentException">Fewer than two layers or a non-positive width.</exception>
    public static NeuralNetwork CreateHeInitialized(IReadOnlyList<int> layers, OutputActivation output, int seed)
    {
        ArgumentNullException.ThrowIfNull(layers);
        CheckActivation(output, nameof(output));
        return new NeuralNetwork(Mlp.HeInitialised(layers.ToArray(), (Numerics.OutputActivation)(int)output, seed));
    }

    /// <summary>Creates a network from explicit weights and biases.</summary>
    /// <param name="weights">W<sup>(1)</sup> … W<sup>(k+1)</sup>; W<sup>(l)</sup> is n<sub>l</sub> × n<sub>l−1</sub>; the widths are read from them.</param>
    /// <param name="biases">b<sup>(1)</sup> … b<sup>(k+1)</sup>, b<sup>(l)</sup> of length n<sub>l</sub>.</param>
    /// <param name="output">Output activation.</param>
    /// <returns>The network (the arrays are copied).</returns>
    /// <exception cref="ArgumentException">Shapes do not chain, counts differ, or a value is NaN or infinite.</exception>
    public static NeuralNetwork FromWeights(IReadOnlyList<double[,]> weights, IReadOnlyList<double[]> biases, OutputActivation output)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(biases);
        CheckActivation(output, nameof(output));
        if (weights.Count == 0) throw new ArgumentException("At least one weight matrix is needed.", nameof(weights));
        if (biases.Count != weights.Count)
            throw new ArgumentException($"Expected {weights.Count} bias vectors, got {biases.Count}.", nameof(biases));
        var layers = new int[weights.Count + 1];
        layers[0] = weights[0]?.GetLength(1) ?? throw new ArgumentNullException(nameof(weights));
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l] ?? throw new ArgumentNullException(nameof(weights), $"weights[{l}] is null.");
            if (w.GetLength(1) != layers[l])
                throw new ArgumentException($"weights[{l}] has {w.GetLength(1)} columns but the previous layer has width {layers[l]}.", nameof(weights));
            layers[l + 1] = w.GetLength(0);
        }
        var flatWeights = weights.Select(Matrices.ToRowMajor).ToArray();
        var flatBiases = biases.Select(b => (double[])(b ?? throw new ArgumentNullException(nameof(biases))).Clone()).ToArray();
        return new NeuralNetwork(new Mlp(layers, (Numerics.OutputActivation)(int)output, flatWeights, flatBiases));
    }

    /// <summary>A copy of W<sup>(layer)</sup> (n<sub>layer</sub> × n<sub>layer−1</sub>).</summary>
    /// <param name="layer">1 … k+1.</param>
    /// <returns>The weight matrix.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> outside 1 … k+1.</exception>
    public double[,] GetWeights(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layer, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, Core.AffineCount);
        return Matrices.ToArray2D(Core.Weights[layer - 1], Core.Layers[layer], Core.Layers[layer - 1]);
    }

    /// <summary>A copy of b<sup>(layer)</sup>.</summary>
    /// <param name="layer">1 … k+1.</param>
    /// <returns>The bias vector.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> outside 1 … k+1.</exception>
    public double[] GetBiases(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layer, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, Core.AffineCount);
        return (double[])Core.Biases[layer - 1].Clone();
    }

    /// <summary>The ordinary forward pass for a batch, on inputs the weights act on directly (already scaled when the model
    /// has an <see cref="InputScaling"/>; use <see cref="Predict"/> for raw inputs).</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>, one sample per row; at least one row.</param>
    /// <returns>Samples × n<sub>k+1</sub> outputs φ(z<sup>(k+1)</sup>).</returns>
    /// <exception cref="ArgumentException">Wrong column count, no rows, or a NaN/infinite input.</exception>
    public double[,] Forward(double[,] inputs)
    {
        int batch = CheckInputs(inputs, nameof(inputs));
        var x = Matrices.ToFeatureMajor(inputs, nameof(inputs));
        var workspace = new ForwardWorkspace(Core, batch);
        // Large layers split the batch columns over all cores; the result is bit-identical to one thread.
        Numerics.Forward.runParallel(Core, x, workspace, Gemm.DefaultParallelism);
        return Matrices.ToSampleMajor(workspace.Output, Core.OutputDim, batch);
    }

    /// <summary>Turns this network into its cellular sheaf (path graph, extended stalks, restriction maps).</summary>
    /// <returns>The network sheaf; it shares this network's weights.</returns>
    public NetworkSheaf ToSheaf() => new(this);

    /// <summary>Reads a model JSON file (the format of the CLI contract).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="SheafCoreFormatException">The file is not a valid model; the message names the field.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static NeuralNetwork Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(path, "", "cannot be read: " + e.Message, e);
        }
        return ModelJson.Parse(text, path);
    }

    /// <summary>Parses model JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The network.</returns>
    /// <exception cref="SheafCoreFormatException">Malformed or inconsistent model.</exception>
    public static NeuralNetwork FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return ModelJson.Parse(json, "model JSON");
    }

    /// <summary>The model JSON of this network (format version 1).</summary>
    /// <returns>Compact JSON; numbers round-trip exactly.</returns>
    public string ToJson() => ModelJson.Write(this);

    /// <summary>Saves the model JSON atomically (temporary file, then rename).</summary>
    /// <param name="path">Target file.</param>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    internal int CheckInputs(double[,] inputs, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(inputs, parameterName);
        if (inputs.GetLength(0) == 0) throw new ArgumentException("The batch is empty; at least one sample is needed.", parameterName);
        if (inputs.GetLength(1) != Core.InputDim)
            throw new ArgumentException($"Each sample needs {Core.InputDim} inputs but has {inputs.GetLength(1)}.", parameterName);
        return inputs.GetLength(0);
    }

    private static void CheckActivation(OutputActivation output, string name)
    {
        if (!Enum.IsDefined(output)) throw new ArgumentOutOfRangeException(name, output, "Unknown output activation.");
    }
}
