using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace SheafCore.Cli;

/// <summary><c>nsd</c>: trains Neural Sheaf Diffusion on a graph folder, one fresh model per split, and reports
/// per-split test accuracy, mean ± population std and wall time.</summary>
internal static class NsdCommand
{
    public static Command Create(CliContext context)
    {
        var dataset = CliPaths.InputFolder(new Option<string>("--dataset") { Description = "Graph folder (edges.csv, features.csv, labels.csv, splits.csv, meta.csv).", Required = true });
        var model = new Option<string>("--model") { Description = "Restriction-map family: diag, orth, general or identity (the control).", DefaultValueFactory = _ => "diag" };
        model.AcceptOnlyFromAmong([.. SheafFamilyNames.All]);
        var splits = new Option<string>("--splits") { Description = "Splits to run: a range 0-9, a list 0,3,5, or one index.", DefaultValueFactory = _ => "0-9" };
        var report = CliPaths.OutputFile(new Option<string?>("--report") { Description = "JSON report: testAccuracy (per split, fraction), mean, std, seconds, …" });
        var predictions = CliPaths.OutputFile(new Option<string?>("--predictions") { Description = "CSV of every node's predicted class and class probabilities, per split (split,node,role,label,predicted,p0,…)." });
        var saveModels = CliPaths.OutputFolder(new Option<string?>("--save-models") { Description = "Folder for the trained model of every split, split<k>.json (best validation epoch; SheafDiffusionModel.Load reads it)." });
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation and dropout (each split derives its own stream).", DefaultValueFactory = _ => 43 };
        var epochs = new Option<int?>("--epochs") { Description = "Override the maximum number of epochs of the data set's settings." };
        var patience = new Option<int?>("--patience") { Description = "Override the early-stopping patience." };
        // Hyper-parameter overrides (for searches on the data sets without a released configuration).
        var stalkDim = new Option<int?>("--stalk-dim") { Description = "Override the learned stalk dimension d." };
        var layers = new Option<int?>("--layers") { Description = "Override the number of diffusion layers." };
        var hidden = new Option<int?>("--hidden") { Description = "Override the hidden channels f." };
        var dropout = new Option<double?>("--dropout") { Description = "Override the dropout rate, in [0, 1)." };
        var inputDropout = new Option<double?>("--input-dropout") { Description = "Override the input dropout rate, in [0, 1)." };
        var lr = new Option<double?>("--lr") { Description = "Override the Adam learning rate." };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Override the weight decay (also the sheaf decay unless --sheaf-decay is given)." };
        var sheafDecay = new Option<double?>("--sheaf-decay") { Description = "Override the map learners' weight decay." };
        var stopOn = new Option<string?>("--stop-on") { Description = "Override the early-stopping criterion: loss or acc (validation)." };
        stopOn.AcceptOnlyFromAmong("loss", "acc");
        var lowPass = new Option<bool?>("--lp") { Description = "Override the fixed low-pass channel (true/false)." };
        var highPass = new Option<bool?>("--hp") { Description = "Override the fixed high-pass channel (true/false)." };
        var secondLinear = new Option<bool?>("--second-linear") { Description = "Override the second linear layer after the lift (true/false)." };
        var sparseLearner = new Option<bool?>("--sparse-learner") { Description = "Override the variant (chunk-summed) map learner (true/false)." };

        var command = new Command("nsd", "Train Neural Sheaf Diffusion (Bodnar et al. 2022) with the data set's published hyper-parameters.")
        {
            dataset, model, splits, report, predictions, saveModels, seed, epochs, patience,
            stalkDim, layers, hidden, dropout, inputDropout, lr, weightDecay, sheafDecay, stopOn, lowPass, highPass, secondLinear, sparseLearner,
            context.Json,
        };
        command.SetAction((parsed, cancellationToken) =>
        {
            var clock = Stopwatch.StartNew();
            var graph = NodeClassificationGraph.Load(parsed.GetValue(dataset)!);
            var family = SheafFamilyNames.Parse(parsed.GetValue(model)!);
            var options = NeuralSheafDiffusionOptions.ForDataset(graph.Name, family) with { Seed = parsed.GetValue(seed) };
            if (parsed.GetValue(epochs) is { } e) options = options with { Epochs = Flags.Positive(e, "--epochs") };
            if (parsed.GetValue(patience) is { } p) options = options with { Patience = Flags.Positive(p, "--patience") };
            if (parsed.GetValue(stalkDim) is { } sd) options = options with { StalkDimension = Flags.Positive(sd, "--stalk-dim") };
            if (family == SheafFamily.Orthogonal && options.StalkDimension < 2)
                throw new CliUsageException($"--stalk-dim must be at least 2 for --model orth (got {options.StalkDimension}).");
            if (parsed.GetValue(layers) is { } l) options = options with { Layers = Flags.NonNegative(l, "--layers") };
            if (parsed.GetValue(hidden) is { } h) options = options with { HiddenChannels = Flags.Positive(h, "--hidden") };
            if (parsed.GetValue(dropout) is { } dr) options = options with { Dropout = Flags.Rate(dr, "--dropout") };
            if (parsed.GetValue(inputDropout) is { } idr) options = options with { InputDropout = Flags.Rate(idr, "--input-dropout") };
            if (parsed.GetValue(lr) is { } rate) options = options with { LearningRate = Flags.Positive(rate, "--lr") };
            if (parsed.GetValue(weightDecay) is { } wd)
                options = options with { WeightDecay = Flags.NonNegative(wd, "--weight-decay"), SheafDecay = parsed.GetValue(sheafDecay) is null ? null : options.SheafDecay };
            if (parsed.GetValue(sheafDecay) is { } shd) options = options with { SheafDecay = Flags.NonNegative(shd, "--sheaf-decay") };
            if (parsed.GetValue(stopOn) is { } stop) options = options with { StopOnAccuracy = stop == "acc" };
            if (parsed.GetValue(lowPass) is { } lp) options = options with { LowPassChannel = lp };
            if (parsed.GetValue(highPass) is { } hp) options = options with { HighPassChannel = hp };
            if (parsed.GetValue(secondLinear) is { } sl) options = options with { SecondLinear = sl };
            if (parsed.GetValue(sparseLearner) is { } spl) options = options with { SparseLearner = spl };
            var list = ParseSplits(parsed.GetValue(splits)!, graph.SplitCount);
            var trainer = new NeuralSheafDiffusion(options);
            context.Info(parsed, $"nsd: {graph.Name}: {graph.NodeCount} nodes, {graph.EdgeCount} undirected edges " +
                $"({graph.SelfLoopsRemoved} self-loops removed, {graph.DuplicatesMerged} repeats merged), {graph.FeatureCount} features, " +
                $"{graph.ClassCount} classes; {parsed.GetValue(model)} d={options.StalkDimension} layers={options.Layers} " +
                $"f={options.HiddenChannels} lp={options.LowPassChannel} hp={options.HighPassChannel}; " +
                $"{trainer.ParameterCount(graph.FeatureCount, graph.ClassCount)} parameters");
            // On a terminal one bar over splits × epoch budget (early stopping jumps it to the split's end); otherwise lines.
            using var bar = RichConsole.StartBar(context.Rich(parsed), "nsd", (double)list.Length * options.Epochs);
            IProgress<SheafDiffusionEpoch>? progress = context.Rich(parsed)
                ? new InlineProgress<SheafDiffusionEpoch>(e => bar.Update(Array.IndexOf(list, e.Split) * (double)options.Epochs + e.Epoch + 1,
                    string.Create(CultureInfo.InvariantCulture, $"split {e.Split} epoch {e.Epoch + 1} val {100 * e.ValidationAccuracy:F1}%")))
                : context.Chatty(parsed) ? new EpochPrinter(context.Output) : null;
            var results = new List<SheafDiffusionSplitResult>();
            // Per split and layer: the learned maps' mean alignment on same-label and on different-label edges.
            var alignment = new List<Dictionary<string, double[]>>();
            var predictionCsv = new System.Text.StringBuilder("split,node,role,label,predicted");
            for (int k = 0; k < graph.ClassCount; k++) predictionCsv.Append(CultureInfo.InvariantCulture, $",p{k}");
            predictionCsv.Append('\n');
            // The report is rewritten (atomically) after every split, marked complete only at the end, so a long
            // run that is stopped keeps the splits it finished.
            Dictionary<string, object> Fields(bool complete)
            {
                double mean = results.Average(r => r.TestAccuracy);
                double std = Math.Sqrt(results.Average(r => (r.TestAccuracy - mean) * (r.TestAccuracy - mean)));
                return new Dictionary<string, object>
                {
                    ["dataset"] = graph.Name,
                    ["model"] = parsed.GetValue(model)!,
                    ["splits"] = results.Select(r => r.Split).ToArray(),
                    ["complete"] = complete,
                    ["testAccuracy"] = results.Select(r => r.TestAccuracy).ToArray(),
                    ["mean"] = mean,
                    ["std"] = std,
                    ["seconds"] = clock.Elapsed.TotalSeconds,
                    ["bestEpoch"] = results.Select(r => r.BestEpoch).ToArray(),
                    ["epochsRun"] = results.Select(r => r.EpochsRun).ToArray(),
                    ["validationAccuracy"] = results.Select(r => r.ValidationAccuracy).ToArray(),
                    ["sheafAlignment"] = alignment,
                    ["seed"] = options.Seed,
                    ["options"] = new Dictionary<string, object>
                    {
                        ["stalkDimension"] = options.StalkDimension,
                        ["lowPass"] = options.LowPassChannel,
                        ["highPass"] = options.HighPassChannel,
                        ["layers"] = options.Layers,
                        ["hiddenChannels"] = options.HiddenChannels,
                        ["dropout"] = options.Dropout,
                        ["inputDropout"] = options.InputDropout,
                        ["secondLinear"] = options.SecondLinear,
                        ["edgeWeights"] = options.EdgeWeights,
                        ["sparseLearner"] = options.SparseLearner,
                        ["learningRate"] = options.LearningRate,
                        ["weightDecay"] = options.WeightDecay,
                        ["sheafDecay"] = options.SheafDecay ?? options.WeightDecay,
                        ["epochs"] = options.Epochs,
                        ["patience"] = options.Patience,
                        ["stopOnAccuracy"] = options.StopOnAccuracy,
                    },
                };
            }
            string? reportPath = parsed.GetValue(report);
            string? predictionPath = parsed.GetValue(predictions);
            string? modelFolder = parsed.GetValue(saveModels);
            if (modelFolder is not null) Directory.CreateDirectory(modelFolder);
            foreach (int s in list)
            {
                var trained = trainer.Fit(graph, s, progress, cancellationToken);
                var r = trained.Result;
                results.Add(r);
                var layers = trained.InspectSheaf();
                alignment.Add(new Dictionary<string, double[]>
                {
                    ["sameLabel"] = layers.Select(l => l.SameLabelMean).ToArray(),
                    ["differentLabel"] = layers.Select(l => l.DifferentLabelMean).ToArray(),
                });
                if (modelFolder is not null) trained.Save(Path.Combine(modelFolder, string.Create(CultureInfo.InvariantCulture, $"split{s}.json")));
                if (predictionPath is not null)
                {
                    AppendPredictions(predictionCsv, trained, s);
                    AtomicFile.WriteAllText(predictionPath, predictionCsv.ToString());
                }
                bar.Update((Array.IndexOf(list, s) + 1) * (double)options.Epochs);
                if (!context.Rich(parsed))
                    context.Result(parsed, string.Create(CultureInfo.InvariantCulture,
                        $"split {s}: test accuracy {100 * r.TestAccuracy:F2} % (best epoch {r.BestEpoch}, {r.EpochsRun} epochs, {r.Seconds:F1} s)"));
                if (layers.Count > 0 && !context.Rich(parsed))
                    context.Info(parsed, string.Create(CultureInfo.InvariantCulture,
                        $"  split {s}: last layer's map alignment: same-label edges {layers[^1].SameLabelMean:F3} ({layers[^1].SameLabelEdges}), different-label edges {layers[^1].DifferentLabelMean:F3} ({layers[^1].DifferentLabelEdges})"));
                if (reportPath is not null && results.Count < list.Length) Reports.Write(reportPath, Fields(complete: false));
            }
            bar.Dispose();
            if (context.Rich(parsed))
                RichConsole.Table($"nsd {graph.Name} ({parsed.GetValue(model)})",
                    ["split", "test accuracy %", "best epoch", "epochs", "seconds", "alignment same label", "alignment different label"],
                    results.Select((r, i) => (IReadOnlyList<string>)[r.Split.ToString(CultureInfo.InvariantCulture), (100 * r.TestAccuracy).ToString("F2", CultureInfo.InvariantCulture),
                        r.BestEpoch.ToString(CultureInfo.InvariantCulture), r.EpochsRun.ToString(CultureInfo.InvariantCulture), r.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                        LastLayer(alignment[i]["sameLabel"]), LastLayer(alignment[i]["differentLabel"])]));
            var fields = Fields(complete: true);
            context.Result(parsed, string.Create(CultureInfo.InvariantCulture,
                $"mean ± std: {100 * (double)fields["mean"]:F2} ± {100 * (double)fields["std"]:F2} % over {results.Count} split(s); wall time {(double)fields["seconds"]:F1} s"));
            context.Emit(parsed, reportPath, fields);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The last layer's value, "–" for a model without layers.</summary>
    private static string LastLayer(double[] perLayer) => perLayer.Length == 0 ? "–" : perLayer[^1].ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>One CSV row per node: split, node, role, label (−1 when unlabelled), predicted class, probabilities.</summary>
    private static void AppendPredictions(System.Text.StringBuilder csv, SheafDiffusionModel trained, int split)
    {
        var p = trained.PredictProbabilities();
        var predicted = trained.PredictLabels();
        var labels = trained.Graph.GetLabels();
        var roles = trained.Graph.GetSplit(split);
        for (int v = 0; v < labels.Length; v++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{split},{v},{roles[v].ToString().ToLowerInvariant()},{labels[v]},{predicted[v]}");
            for (int k = 0; k < p.GetLength(1); k++) csv.Append(CultureInfo.InvariantCulture, $",{p[v, k]:R}");
            csv.Append('\n');
        }
    }

    /// <summary>"0-9", "0,3,5" or "4" → split indices, each checked against the graph's split count.</summary>
    internal static int[] ParseSplits(string text, int count)
    {
        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new CliUsageException($"--splits: '{part}' is not an index or a range a-b.");
            int lo = int.Parse(ends[0], CultureInfo.InvariantCulture);
            int hi = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (lo > hi) throw new CliUsageException($"--splits: the range '{part}' is empty.");
            if (hi >= count) throw new CliUsageException($"--splits: split {hi} does not exist (the data set has {count}).");
            for (int s = lo; s <= hi; s++) result.Add(s);
        }
        if (result.Count == 0) throw new CliUsageException("--splits: no split given.");
        return result.ToArray();
    }

    /// <summary>Prints a progress line every 100 epochs (synchronously, so lines stay in order).</summary>
    private sealed class EpochPrinter(TextWriter output) : IProgress<SheafDiffusionEpoch>
    {
        public void Report(SheafDiffusionEpoch e)
        {
            if ((e.Epoch + 1) % 100 != 0) return;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  split {e.Split} epoch {e.Epoch + 1}: train loss {e.TrainLoss:F4}, val loss {e.ValidationLoss:F4}, val acc {100 * e.ValidationAccuracy:F2} %, best epoch {e.BestEpoch}"));
        }
    }
}
