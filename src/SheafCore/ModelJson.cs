using System.Text;
using System.Text.Json;

namespace SheafCore;

/// <summary>Reads and writes the model JSON of the CLI contract:
/// <c>{"layers":[…], "output":"identity|sigmoid|softmax", "weights":[W1,…], "biases":[b1,…]}</c>,
/// W<sup>(l)</sup> as a list of n<sub>l</sub> rows of n<sub>l−1</sub> numbers, and optionally
/// <c>"inputScaling": {"mean": […], "std": […]}</c> (n<sub>0</sub> numbers each). Unknown fields are ignored.</summary>
internal static class ModelJson
{
    public const int FormatVersion = 1;

    public static NeuralNetwork Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new SheafCoreFormatException(source, $"line {e.LineNumber + 1}", "not valid JSON: " + FirstSentence(e.Message), e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SheafCoreFormatException(source, "", "the model must be a JSON object.");

            var layersElement = Required(root, "layers", JsonValueKind.Array, source);
            var layers = new int[layersElement.GetArrayLength()];
            if (layers.Length < 2) throw new SheafCoreFormatException(source, "layers", "needs at least two widths (input and output).");
            for (int i = 0; i < layers.Length; i++)
            {
                var e = layersElement[i];
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out layers[i]) || layers[i] < 1)
                    throw new SheafCoreFormatException(source, $"layers[{i}]", "must be a positive integer.");
            }

            var output = OutputActivation.Identity;
            if (root.TryGetProperty("output", out var outputElement))
            {
                if (outputElement.ValueKind != JsonValueKind.String || !TryParseActivation(outputElement.GetString()!, out output))
                    throw new SheafCoreFormatException(source, "output", "must be \"identity\", \"sigmoid\" or \"softmax\".");
            }

            var weightsElement = Required(root, "weights", JsonValueKind.Array, source);
            var biasesElement = Required(root, "biases", JsonValueKind.Array, source);
            int affine = layers.Length - 1;
            if (weightsElement.GetArrayLength() != affine)
                throw new SheafCoreFormatException(source, "weights", $"expected {affine} matrices for layers [{string.Join(",", layers)}], found {weightsElement.GetArrayLength()}.");
            if (biasesElement.GetArrayLength() != affine)
                throw new SheafCoreFormatException(source, "biases", $"expected {affine} vectors for layers [{string.Join(",", layers)}], found {biasesElement.GetArrayLength()}.");

            var weights = new double[affine][];
            var biases = new double[affine][];
            for (int l = 0; l < affine; l++)
            {
                int rows = layers[l + 1], cols = layers[l];
                var w = weightsElement[l];
                if (w.ValueKind != JsonValueKind.Array || w.GetArrayLength() != rows)
                    throw new SheafCoreFormatException(source, $"weights[{l}]", $"must be a list of {rows} rows.");
                weights[l] = new double[rows * cols];
                for (int r = 0; r < rows; r++)
                {
                    var row = w[r];
                    if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != cols)
                        throw new SheafCoreFormatException(source, $"weights[{l}][{r}]", $"must be a list of {cols} numbers.");
                    for (int c = 0; c < cols; c++)
                        weights[l][r * cols + c] = Number(row[c], $"weights[{l}][{r}][{c}]", source);
                }
                var b = biasesElement[l];
                if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != rows)
                    throw new SheafCoreFormatException(source, $"biases[{l}]", $"must be a list of {rows} numbers.");
                biases[l] = new double[rows];
                for (int r = 0; r < rows; r++) biases[l][r] = Number(b[r], $"biases[{l}][{r}]", source);
            }
            var scaling = root.TryGetProperty("inputScaling", out var scalingElement) ? ParseScaling(scalingElement, layers[0], source) : null;
            return new NeuralNetwork(new Numerics.Mlp(layers, (Numerics.OutputActivation)(int)output, weights, biases), scaling);
        }
    }

    public static string Write(NeuralNetwork network)
    {
        var mlp = network.Core;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", FormatVersion);
            writer.WriteStartArray("layers");
            foreach (var n in mlp.Layers) writer.WriteNumberValue(n);
            writer.WriteEndArray();
            writer.WriteString("output", ActivationName(network.Output));
            writer.WriteStartArray("weights");
            for (int l = 0; l < mlp.AffineCount; l++)
            {
                int rows = mlp.Layers[l + 1], cols = mlp.Layers[l];
                writer.WriteStartArray();
                for (int r = 0; r < rows; r++)
                {
                    writer.WriteStartArray();
                    for (int c = 0; c < cols; c++) writer.WriteNumberValue(mlp.Weights[l][r * cols + c]);
                    writer.WriteEndArray();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
            writer.WriteStartArray("biases");
            for (int l = 0; l < mlp.AffineCount; l++)
            {
                writer.WriteStartArray();
                foreach (var v in mlp.Biases[l]) writer.WriteNumberValue(v);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
            if (network.InputScaling is { } scaling)
            {
                writer.WriteStartObject("inputScaling");
                writer.WriteStartArray("mean");
                foreach (var v in scaling.Mean) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                writer.WriteStartArray("std");
                foreach (var v in scaling.Std) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string ActivationName(OutputActivation activation) => activation switch
    {
        OutputActivation.Sigmoid => "sigmoid",
        OutputActivation.Softmax => "softmax",
        _ => "identity",
    };

    public static bool TryParseActivation(string text, out OutputActivation activation)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "identity": activation = OutputActivation.Identity; return true;
            case "sigmoid": activation = OutputActivation.Sigmoid; return true;
            case "softmax": activation = OutputActivation.Softmax; return true;
            default: activation = OutputActivation.Identity; return false;
        }
    }

    /// <summary><c>"inputScaling": {"mean": [n0 finite numbers], "std": [n0 finite positive numbers]}</c>.</summary>
    private static InputScaling ParseScaling(JsonElement element, int inputDimension, string source)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SheafCoreFormatException(source, "inputScaling", "must be a JSON object {\"mean\": […], \"std\": […]}.");
        double[] Vector(string name)
        {
            string location = "inputScaling." + name;
            if (!element.TryGetProperty(name, out var v))
                throw new SheafCoreFormatException(source, location, "this field is missing.");
            if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != inputDimension)
                throw new SheafCoreFormatException(source, location, $"must be a list of {inputDimension} numbers (one per input).");
            var values = new double[inputDimension];
            for (int j = 0; j < inputDimension; j++) values[j] = Number(v[j], $"{location}[{j}]", source);
            return values;
        }
        var mean = Vector("mean");
        var std = Vector("std");
        for (int j = 0; j < std.Length; j++)
            if (std[j] <= 0) throw new SheafCoreFormatException(source, $"inputScaling.std[{j}]", "must be positive.");
        return new InputScaling(mean, std);
    }

    internal static JsonElement Required(JsonElement root, string name, JsonValueKind kind, string source)
    {
        if (!root.TryGetProperty(name, out var element))
            throw new SheafCoreFormatException(source, name, "this field is missing.");
        if (element.ValueKind != kind)
            throw new SheafCoreFormatException(source, name, $"must be a JSON {kind.ToString().ToLowerInvariant()}.");
        return element;
    }

    internal static double Number(JsonElement e, string location, string source)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var v))
            throw new SheafCoreFormatException(source, location, "must be a number.");
        if (!double.IsFinite(v))
            throw new SheafCoreFormatException(source, location, "must be a finite number.");
        return v;
    }

    internal static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return (i < 0 ? message : message[..(i + 1)]).ReplaceLineEndings(" ");
    }
}
