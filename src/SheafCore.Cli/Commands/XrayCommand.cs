using System.CommandLine;
using System.Globalization;

namespace SheafCore.Cli;

/// <summary><c>xray --model M.json --input X.csv [--method lanczos|dense] [--report R.json]</c>.</summary>
internal static class XrayCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string>("--model") { Description = "Model JSON file.", Required = true });
        var input = CliPaths.InputFile(new Option<string>("--input") { Description = "Input CSV (first n0 columns, or --inputs).", Required = true });
        var inputs = new Option<string?>("--inputs") { Description = "Comma-separated input column names." };
        var method = new Option<string>("--method") { Description = "lanczos (matrix-free) or dense (check).", DefaultValueFactory = _ => "lanczos" };
        method.AcceptOnlyFromAmong("lanczos", "dense");
        var report = CliPaths.OutputFile(new Option<string?>("--report") { Description = "JSON report: lambdaMin, lambdaMax, condition (one entry per sample), block energies, summary." });
        var plot = CliPaths.OutputFolder(new Option<string?>("--plot") { Description = "Write the eigenvector block-energy figure (xray-block-energy.png) to this folder." });
        var command = new Command("xray", "Spectrum of the restricted Laplacian L_Ω at each sample's activation pattern.") { model, input, inputs, method, report, plot, context.Json };
        command.SetAction(parsed =>
        {
            var network = NeuralNetwork.Load(parsed.GetValue(model)!);
            var x = DataLoading.ReadInputs(parsed.GetValue(input)!, network, parsed.GetValue(inputs));
            var sheaf = network.ToSheaf();
            var xrays = sheaf.XRay(x, parsed.GetValue(method) == "dense" ? SpectralMethod.Dense : SpectralMethod.Lanczos);
            var summary = NetworkSheaf.Summarize(xrays);
            string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
            if (context.Rich(parsed))
            {
                RichConsole.Table($"xray: {xrays.Count} samples of [{string.Join(",", network.Layers)}]", ["quantity", "median", "lower quartile", "upper quartile", "bound"],
                [
                    ["λ_min", G(summary.LambdaMin.Median), G(summary.LambdaMin.Lower), G(summary.LambdaMin.Upper), "≥ " + G(xrays[0].LambdaMinLowerBound)],
                    ["λ_max", G(summary.LambdaMax.Median), G(summary.LambdaMax.Lower), G(summary.LambdaMax.Upper), "≤ " + G(xrays[0].LambdaMaxUpperBound)],
                    ["κ", G(summary.Condition.Median), G(summary.Condition.Lower), G(summary.Condition.Upper), ""],
                ]);
                RichConsole.Table("eigenvector energy per block (median)", ["block", "Fiedler", "top"],
                    summary.BlockNames.Select((b, i) => (IReadOnlyList<string>)[b, G(summary.FiedlerBlockEnergy[i].Median), G(summary.TopBlockEnergy[i].Median)]));
            }
            else
            {
                context.Info(parsed, $"xray: {xrays.Count} samples of [{string.Join(",", network.Layers)}]");
                context.Info(parsed, $"  λ_min median {G(summary.LambdaMin.Median)} [IQR {G(summary.LambdaMin.Lower)}, {G(summary.LambdaMin.Upper)}] (bound ≥ {G(xrays[0].LambdaMinLowerBound)})");
                context.Info(parsed, $"  λ_max median {G(summary.LambdaMax.Median)} [IQR {G(summary.LambdaMax.Lower)}, {G(summary.LambdaMax.Upper)}] (bound ≤ {G(xrays[0].LambdaMaxUpperBound)})");
                context.Info(parsed, $"  κ median {G(summary.Condition.Median)}");
                context.Info(parsed, "  block energy (median)  " + string.Join("  ", summary.BlockNames.Select((b, i) =>
                    $"{b}: Fiedler {G(summary.FiedlerBlockEnergy[i].Median)} top {G(summary.TopBlockEnergy[i].Median)}")));
            }
            context.Emit(parsed, parsed.GetValue(report), new Dictionary<string, object>
            {
                ["samples"] = xrays.Count,
                ["method"] = parsed.GetValue(method)!,
                ["lambdaMin"] = xrays.Select(r => r.LambdaMin).ToArray(),
                ["lambdaMax"] = xrays.Select(r => r.LambdaMax).ToArray(),
                ["condition"] = xrays.Select(r => r.Condition).ToArray(),
                ["blocks"] = summary.BlockNames.ToArray(),
                ["fiedlerBlockEnergy"] = xrays.Select(r => r.FiedlerBlockEnergy.ToArray()).ToArray(),
                ["topBlockEnergy"] = xrays.Select(r => r.TopBlockEnergy.ToArray()).ToArray(),
                ["lambdaMaxUpperBound"] = xrays[0].LambdaMaxUpperBound,
                ["lambdaMinLowerBound"] = xrays[0].LambdaMinLowerBound,
                ["summary"] = new Dictionary<string, object>
                {
                    ["lambdaMinMedian"] = summary.LambdaMin.Median,
                    ["lambdaMaxMedian"] = summary.LambdaMax.Median,
                    ["conditionMedian"] = summary.Condition.Median,
                    ["fiedlerBlockEnergyMedian"] = summary.FiedlerBlockEnergy.Select(q => q.Median).ToArray(),
                    ["topBlockEnergyMedian"] = summary.TopBlockEnergy.Select(q => q.Median).ToArray(),
                    ["fiedlerStability"] = double.IsNaN(summary.FiedlerStability) ? null! : summary.FiedlerStability,
                    ["topStability"] = double.IsNaN(summary.TopStability) ? null! : summary.TopStability,
                },
            });
            if (parsed.GetValue(plot) is { } dir)
            {
                var file = Path.Combine(CliPlots.Folder(dir), "xray-block-energy.png");
                SheafCore.Plotting.Plots.XRayBlockEnergies(file, summary);
                context.Info(parsed, $"  plots: {file}");
            }
            return 0;
        });
        return command;
    }
}
