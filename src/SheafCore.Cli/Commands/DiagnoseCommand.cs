using System.CommandLine;
using System.Globalization;

namespace SheafCore.Cli;

/// <summary><c>diagnose --model M.json --input X.csv [--targets …] [--state S.json] [--report R.json]</c>: per-edge discord
/// by layer and operation type; the pinned-output diagnosis when targets are present.</summary>
internal static class DiagnoseCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string>("--model") { Description = "Model JSON file.", Required = true });
        var input = CliPaths.InputFile(new Option<string>("--input") { Description = "Data CSV: inputs (first n0 columns, or --inputs), then targets (remaining columns, or --targets).", Required = true });
        var inputs = new Option<string?>("--inputs") { Description = "Comma-separated input column names." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated target column names (default: the columns after the inputs, if any)." };
        var state = CliPaths.InputFile(new Option<string?>("--state") { Description = "Diagnose these stalks (stalk-state JSON, e.g. from diffuse --state-out) instead of the pinned-output run." });
        var tol = new Option<double>("--tol") { Description = "Tolerance of the pinned-output diffusion.", DefaultValueFactory = _ => 1e-8 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Step limit of the pinned-output diffusion.", DefaultValueFactory = _ => 5_000 };
        var report = CliPaths.OutputFile(new Option<string?>("--report") { Description = "JSON report: edges (name, kind, layer, mean, share, perSample), byLayer, byKind, total, pinnedOutput." });
        var plot = CliPaths.OutputFolder(new Option<string?>("--plot") { Description = "Write PNG figures (discord bars, discord decay, output vs forward) to this folder." });
        var command = new Command("diagnose", "Per-edge discord by layer and operation type; with targets, the pinned-output diagnosis of where the error sits.")
        {
            model, input, inputs, targets, state, tol, maxSteps, report, plot, context.Json,
        };
        command.SetAction(parsed =>
        {
            var network = NeuralNetwork.Load(parsed.GetValue(model)!);
            string inputPath = parsed.GetValue(input)!;
            var sheaf = network.ToSheaf();
            var fields = new Dictionary<string, object> { ["layers"] = network.Layers.ToArray(), ["output"] = network.Output.ToString().ToLowerInvariant() };
            DiscordBreakdown breakdown;
            PinnedOutputDiagnosis? diagnosis = null;
            double[,] x;
            if (parsed.GetValue(state) is { } statePath)
            {
                x = DataLoading.ReadInputs(inputPath, network, parsed.GetValue(inputs));
                string text;
                try { text = File.ReadAllText(statePath); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SheafCoreFormatException(statePath, "", "cannot be read: " + e.Message, e);
                }
                breakdown = Diagnostics.Breakdown(sheaf, sheaf.CreateState(x, text, statePath));
                fields["mode"] = "state";
            }
            else if (HasTargets(inputPath, network, parsed.GetValue(targets)))
            {
                (var raw, var y) = TrainingData.Read(inputPath, network, parsed.GetValue(inputs), parsed.GetValue(targets));
                x = network.ScaleInputs(raw);
                diagnosis = Diagnostics.DiagnosePinnedOutput(network, x, y, new PinnedDiagnosisOptions
                {
                    Tolerance = Flags.NonNegative(parsed.GetValue(tol), "--tol"),
                    MaximumSteps = Flags.Positive(parsed.GetValue(maxSteps), "--max-steps"),
                });
                breakdown = diagnosis.Discord;
                fields["mode"] = "pinned-output";
                fields["pinnedOutput"] = new Dictionary<string, object>
                {
                    ["converged"] = diagnosis.Converged,
                    ["discordSettled"] = diagnosis.DiscordSettled,
                    ["integrator"] = diagnosis.Integrator.ToString().ToLowerInvariant(),
                    ["outputForce"] = diagnosis.OutputForce.ToString().ToLowerInvariant(),
                    ["steps"] = diagnosis.Diffusion.Steps,
                    ["laplacianApplications"] = diagnosis.Diffusion.LaplacianApplications,
                    ["forwardMeanSquaredError"] = diagnosis.MeanForwardSquaredError,
                    ["forwardSquaredError"] = diagnosis.ForwardSquaredError.ToArray(),
                    ["finalDiscord"] = diagnosis.Diffusion.FinalDiscord,
                    ["reluCrossings"] = diagnosis.Diffusion.Crossings.Count,
                };
            }
            else
            {
                x = DataLoading.ReadInputs(inputPath, network, parsed.GetValue(inputs));
                breakdown = Diagnostics.Breakdown(sheaf, sheaf.HarmonicExtension(x));
                fields["mode"] = "forward";
            }
            string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
            string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";
            context.Info(parsed, $"diagnose: {x.GetLength(0)} samples of [{string.Join(",", network.Layers)}], mode {fields["mode"]}");
            if (diagnosis is not null)
                context.Info(parsed, $"  pinned output: forward MSE-sum {G(diagnosis.MeanForwardSquaredError)}; diffusion {(diagnosis.Converged ? "converged" : diagnosis.DiscordSettled ? "stopped with the discord settled (chattering on a ReLU boundary)" : "NOT converged")} after {diagnosis.Diffusion.Steps} steps; residual discord {G(breakdown.Total)}");
            else if (fields["mode"] is "forward")
                context.Info(parsed, "  no targets: the forward pass is the harmonic extension, so every edge has zero discord (give targets for the pinned-output diagnosis)");
            if (context.Rich(parsed))
            {
                RichConsole.Table("discord per edge (batch mean)", ["edge", "kind", "layer", "mean", "share"],
                    breakdown.Edges.Select(e => (IReadOnlyList<string>)[e.Name, e.Kind.ToString().ToLowerInvariant(), e.Layer.ToString(CultureInfo.InvariantCulture), G(e.Mean), P(e.Share)]));
                RichConsole.Table("share by layer and by type", ["group", "share"],
                    breakdown.ByLayer.Concat(breakdown.ByKind).Select(g => (IReadOnlyList<string>)[g.Label, P(g.Share)]));
            }
            else
            {
                context.Info(parsed, "  edge   kind        layer  mean        share");
                foreach (var e in breakdown.Edges)
                    context.Info(parsed, $"  {e.Name,-6} {e.Kind.ToString().ToLowerInvariant(),-11} {e.Layer,5}  {G(e.Mean),-10}  {P(e.Share)}");
                context.Info(parsed, "  by layer: " + string.Join("  ", breakdown.ByLayer.Select(g => $"{g.Label} {P(g.Share)}")));
                context.Info(parsed, "  by type:  " + string.Join("  ", breakdown.ByKind.Select(g => $"{g.Label} {P(g.Share)}")));
            }
            fields["samples"] = x.GetLength(0);
            fields["total"] = breakdown.Total;
            fields["totalPerSample"] = breakdown.TotalPerSample.ToArray();
            fields["dominantEdge"] = breakdown.Dominant.Name;
            fields["edges"] = breakdown.Edges.Select(e => new Dictionary<string, object>
            {
                ["name"] = e.Name, ["kind"] = e.Kind.ToString().ToLowerInvariant(), ["layer"] = e.Layer,
                ["mean"] = e.Mean, ["share"] = e.Share, ["perSample"] = e.PerSample.ToArray(),
            }).ToArray();
            fields["byLayer"] = breakdown.ByLayer.Select(Group).ToArray();
            fields["byKind"] = breakdown.ByKind.Select(Group).ToArray();
            context.Emit(parsed, parsed.GetValue(report), fields);
            if (parsed.GetValue(plot) is { } dir) CliPlots.Diagnose(dir, breakdown, diagnosis, context, parsed);
            // Same rule as diffuse: a pinned-output run that neither converged nor settled its discord exits 3 with one
            // line on stderr; its report and plots are still written (they show where it stopped).
            if (diagnosis is { Converged: false, DiscordSettled: false })
            {
                context.Error.WriteLine(FormattableString.Invariant(
                    $"sheafcore: the pinned-output diffusion did not converge within --max-steps {diagnosis.Diffusion.Steps}; the diagnosis is of the state after the last step."));
                return 3;
            }
            return 0;
        });
        return command;
    }

    private static Dictionary<string, object> Group(DiscordGroup g) => new() { ["label"] = g.Label, ["mean"] = g.Mean, ["share"] = g.Share };

    private static bool HasTargets(string path, NeuralNetwork network, string? targetNames)
    {
        if (!string.IsNullOrWhiteSpace(targetNames)) return true;
        return CsvTable.Load(path).Columns.Count > network.InputDimension;
    }
}
