using System.Text;
using System.Text.Json;

namespace SheafCore;

/// <summary>Reads and writes a trained NSD model:
/// <c>{"format":1, "kind":"neural-sheaf-diffusion", "options":{…}, "featureCount":p, "classCount":C,
/// "graph":"name", "result":{…}, "parameters":[…]}</c>. The options are those of
/// <see cref="NeuralSheafDiffusionOptions"/> in camelCase (family as diag|orth|general|identity); the parameters are
/// the flat vector of the model's layout, which the options and the two counts fix.</summary>
internal static class SheafDiffusionModelJson
{
    public const int FormatVersion = 1;
    private const string Kind = "neural-sheaf-diffusion";

    public static string Write(SheafDiffusionModel model, double[] parameters)
    {
        var o = model.Options;
        var r = model.Result;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", FormatVersion);
            writer.WriteString("kind", Kind);
            writer.WriteStartObject("options");
            writer.WriteString("family", o.Family.ToShortName());
            writer.WriteNumber("stalkDimension", o.StalkDimension);
            writer.WriteBoolean("lowPass", o.LowPassChannel);
            writer.WriteBoolean("highPass", o.HighPassChannel);
            writer.WriteNumber("hiddenChannels", o.HiddenChannels);
            writer.WriteNumber("layers", o.Layers);
            writer.WriteNumber("dropout", o.Dropout);
            writer.WriteNumber("inputDropout", o.InputDropout);
            writer.WriteBoolean("secondLinear", o.SecondLinear);
            writer.WriteBoolean("edgeWeights", o.EdgeWeights);
            writer.WriteBoolean("sparseLearner", o.SparseLearner);
            writer.WriteNumber("learningRate", o.LearningRate);
            writer.WriteNumber("weightDecay", o.WeightDecay);
            // null: the map learners share the weight decay (the options' default), kept as such.
            if (o.SheafDecay is { } sheafDecay) writer.WriteNumber("sheafDecay", sheafDecay);
            else writer.WriteNull("sheafDecay");
            writer.WriteNumber("epochs", o.Epochs);
            writer.WriteNumber("patience", o.Patience);
            writer.WriteBoolean("stopOnAccuracy", o.StopOnAccuracy);
            writer.WriteNumber("seed", o.Seed);
            writer.WriteEndObject();
            writer.WriteNumber("featureCount", model.Graph.FeatureCount);
            writer.WriteNumber("classCount", model.Graph.ClassCount);
            writer.WriteString("graph", model.Graph.Name);
            writer.WriteStartObject("result");
            writer.WriteNumber("split", r.Split);
            writer.WriteNumber("testAccuracy", r.TestAccuracy);
            writer.WriteNumber("validationAccuracy", r.ValidationAccuracy);
            writer.WriteNumber("validationLoss", r.ValidationLoss);
            writer.WriteNumber("bestEpoch", r.BestEpoch);
            writer.WriteNumber("epochsRun", r.EpochsRun);
            writer.WriteNumber("seconds", r.Seconds);
            writer.WriteEndObject();
            writer.WriteStartArray("parameters");
            foreach (var v in parameters) writer.WriteNumberValue(v);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static SheafDiffusionModel Parse(string json, string source, NodeClassificationGraph graph)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SheafCoreFormatException(source, $"line {e.LineNumber + 1}", "not valid JSON: " + ModelJson.FirstSentence(e.Message), e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SheafCoreFormatException(source, "", "the model must be a JSON object.");
            if (!root.TryGetProperty("kind", out var kind) || kind.ValueKind != JsonValueKind.String || kind.GetString() != Kind)
                throw new SheafCoreFormatException(source, "kind", $"must be \"{Kind}\" (this is not a saved Neural Sheaf Diffusion model).");
            int format = Integer(ModelJson.Required(root, "format", JsonValueKind.Number, source), "format", source);
            if (format != FormatVersion)
                throw new SheafCoreFormatException(source, "format", $"version {format} is not supported (this build reads {FormatVersion}).");

            var o = ModelJson.Required(root, "options", JsonValueKind.Object, source);
            string familyName = ModelJson.Required(o, "family", JsonValueKind.String, source).GetString()!;
            if (!SheafFamilyNames.TryParse(familyName, out var family))
                throw new SheafCoreFormatException(source, "options.family", $"must be {string.Join(", ", SheafFamilyNames.All)}.");
            int Int(string name) => Integer(ModelJson.Required(o, name, JsonValueKind.Number, source), "options." + name, source);
            double Real(string name) => ModelJson.Number(ModelJson.Required(o, name, JsonValueKind.Number, source), "options." + name, source);
            bool Flag(string name)
            {
                if (!o.TryGetProperty(name, out var e)) throw new SheafCoreFormatException(source, "options." + name, "this field is missing.");
                if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new SheafCoreFormatException(source, "options." + name, "must be true or false.");
                return e.GetBoolean();
            }
            var options = new NeuralSheafDiffusionOptions
            {
                Family = family,
                StalkDimension = Int("stalkDimension"),
                LowPassChannel = Flag("lowPass"),
                HighPassChannel = Flag("highPass"),
                HiddenChannels = Int("hiddenChannels"),
                Layers = Int("layers"),
                Dropout = Real("dropout"),
                InputDropout = Real("inputDropout"),
                SecondLinear = Flag("secondLinear"),
                EdgeWeights = Flag("edgeWeights"),
                SparseLearner = Flag("sparseLearner"),
                LearningRate = Real("learningRate"),
                WeightDecay = Real("weightDecay"),
                SheafDecay = o.TryGetProperty("sheafDecay", out var sd) && sd.ValueKind == JsonValueKind.Null ? null : Real("sheafDecay"),
                Epochs = Int("epochs"),
                Patience = Int("patience"),
                StopOnAccuracy = Flag("stopOnAccuracy"),
                Seed = Long(ModelJson.Required(o, "seed", JsonValueKind.Number, source), "options.seed", source),
            };
            NeuralSheafDiffusion trainer;
            try { trainer = new NeuralSheafDiffusion(options); }
            catch (ArgumentException e)
            {
                string field = string.IsNullOrEmpty(e.ParamName) ? "" : char.ToLowerInvariant(e.ParamName[0]) + e.ParamName[1..];
                throw new SheafCoreFormatException(source, "options." + field, ModelJson.FirstSentence(e.Message), e);
            }

            int features = Integer(ModelJson.Required(root, "featureCount", JsonValueKind.Number, source), "featureCount", source);
            int classes = Integer(ModelJson.Required(root, "classCount", JsonValueKind.Number, source), "classCount", source);
            if (features != graph.FeatureCount || classes != graph.ClassCount)
                throw new ArgumentException($"The model was trained on {features} features and {classes} classes; graph '{graph.Name}' has " +
                    $"{graph.FeatureCount} features and {graph.ClassCount} classes.", nameof(graph));

            var r = ModelJson.Required(root, "result", JsonValueKind.Object, source);
            double ResultNumber(string name) => ModelJson.Number(ModelJson.Required(r, name, JsonValueKind.Number, source), "result." + name, source);
            int ResultInt(string name) => Integer(ModelJson.Required(r, name, JsonValueKind.Number, source), "result." + name, source);
            var result = new SheafDiffusionSplitResult(ResultInt("split"), ResultNumber("testAccuracy"), ResultNumber("validationAccuracy"),
                ResultNumber("validationLoss"), ResultInt("bestEpoch"), ResultInt("epochsRun"), ResultNumber("seconds"));

            var p = ModelJson.Required(root, "parameters", JsonValueKind.Array, source);
            int expected = trainer.ParameterCount(features, classes);
            if (p.GetArrayLength() != expected)
                throw new SheafCoreFormatException(source, "parameters", $"expected {expected} numbers for these options, found {p.GetArrayLength()}.");
            var parameters = new double[expected];
            int j = 0;
            foreach (var e in p.EnumerateArray())
            {
                parameters[j] = ModelJson.Number(e, $"parameters[{j}]", source);
                j++;
            }
            return new SheafDiffusionModel(graph, options, trainer.Config(features, classes), parameters, result);
        }
    }

    private static long Long(JsonElement e, string location, string source)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v))
            throw new SheafCoreFormatException(source, location, "must be an integer.");
        return v;
    }

    private static int Integer(JsonElement e, string location, string source)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int v))
            throw new SheafCoreFormatException(source, location, "must be an integer.");
        return v;
    }
}
