using System.Text;
using System.Text.Json;
using SheafCore.Numerics;

namespace SheafCore;

/// <summary>The stalk-state JSON of the CLI contract: <c>{"z": [Z1, …, Zk+1], "a": [A1, …, Ak], "a_output": …}</c>,
/// sample-major (<c>z[l][i][j]</c> is neuron j of z<sup>(l+1)</sup> for sample i). Other fields are ignored.</summary>
internal static class StalkStateJson
{
    public static void Read(string json, string source, Mlp mlp, NetworkStalks stalks)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException e)
        {
            throw new SheafCoreFormatException(source, $"line {e.LineNumber + 1}", "not valid JSON.", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new SheafCoreFormatException(source, "", "the state must be a JSON object.");
            ReadBlocks(root, "z", mlp.AffineCount, l => mlp.Layers[l + 1], l => stalks.Z[l], stalks.Batch, source, required: true);
            ReadBlocks(root, "a", mlp.HiddenCount, l => mlp.Layers[l + 1], l => stalks.A[l], stalks.Batch, source, required: true);
            if (mlp.Output != Numerics.OutputActivation.Identity)
            {
                if (root.TryGetProperty("a_output", out var aOut))
                    ReadBlock(aOut, "a_output", mlp.OutputDim, stalks.Output, stalks.Batch, source);
                else
                    Activations.applyOutput(mlp.Output, mlp.OutputDim, stalks.Batch, stalks.Z[mlp.AffineCount - 1], stalks.Output);
            }
            else
            {
                Array.Copy(stalks.Z[mlp.AffineCount - 1], stalks.Output, stalks.Output.Length);
            }
        }
    }

    private static void ReadBlocks(JsonElement root, string name, int count, Func<int, int> width, Func<int, double[]> target, int batch, string source, bool required)
    {
        if (!root.TryGetProperty(name, out var list))
        {
            if (required && count > 0) throw new SheafCoreFormatException(source, name, "this field is missing.");
            return;
        }
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() != count)
            throw new SheafCoreFormatException(source, name, $"must be a list of {count} stalks.");
        for (int l = 0; l < count; l++) ReadBlock(list[l], $"{name}[{l}]", width(l), target(l), batch, source);
    }

    private static void ReadBlock(JsonElement block, string location, int width, double[] destination, int batch, string source)
    {
        if (block.ValueKind != JsonValueKind.Array || block.GetArrayLength() != batch)
            throw new SheafCoreFormatException(source, location, $"must have one row per sample ({batch}).");
        for (int i = 0; i < batch; i++)
        {
            var row = block[i];
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != width)
                throw new SheafCoreFormatException(source, $"{location}[{i}]", $"must be a list of {width} numbers.");
            for (int j = 0; j < width; j++)
            {
                if (row[j].ValueKind != JsonValueKind.Number || !row[j].TryGetDouble(out var v) || !double.IsFinite(v))
                    throw new SheafCoreFormatException(source, $"{location}[{i}][{j}]", "must be a finite number.");
                destination[j * batch + i] = v;
            }
        }
    }

    public static string Write(Mlp mlp, NetworkStalks stalks)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteBlocks(w, "z", stalks.Z, mlp, stalks.Batch);
            WriteBlocks(w, "a", stalks.A, mlp, stalks.Batch);
            if (mlp.Output != Numerics.OutputActivation.Identity)
            {
                w.WritePropertyName("a_output");
                WriteBlock(w, stalks.Output, mlp.OutputDim, stalks.Batch);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteBlocks(Utf8JsonWriter w, string name, double[][] blocks, Mlp mlp, int batch)
    {
        w.WriteStartArray(name);
        for (int l = 0; l < blocks.Length; l++) WriteBlock(w, blocks[l], mlp.Layers[l + 1], batch);
        w.WriteEndArray();
    }

    private static void WriteBlock(Utf8JsonWriter w, double[] block, int width, int batch)
    {
        w.WriteStartArray();
        for (int i = 0; i < batch; i++)
        {
            w.WriteStartArray();
            for (int j = 0; j < width; j++) w.WriteNumberValue(block[j * batch + i]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
