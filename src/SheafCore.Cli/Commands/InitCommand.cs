using System.CommandLine;
using System.Globalization;

namespace SheafCore.Cli;

/// <summary><c>init --layers 2,30,1 [--output-activation identity] [--seed S] --model-out M.json</c>: a He-initialised model.</summary>
internal static class InitCommand
{
    public static Command Create(CliContext context)
    {
        var layers = new Option<string>("--layers") { Description = "Comma-separated widths n0,n1,…,n(k+1).", Required = true };
        var activation = new Option<string>("--output-activation") { Description = "identity, sigmoid or softmax.", DefaultValueFactory = _ => "identity" };
        activation.AcceptOnlyFromAmong("identity", "sigmoid", "softmax");
        var seed = new Option<int>("--seed") { Description = "Seed of the He draw W ~ N(0, 2/n_in), b = 0.", DefaultValueFactory = _ => 0 };
        var modelOut = CliPaths.OutputFile(new Option<string>("--model-out") { Description = "Model JSON to write (atomically).", Required = true });
        var command = new Command("init", "Write a He-initialised network as model JSON.") { layers, activation, seed, modelOut };
        command.SetAction(parsed =>
        {
            var widths = ParseLayers(parsed.GetValue(layers)!);
            var output = ParseActivation(parsed.GetValue(activation)!);
            var network = NeuralNetwork.CreateHeInitialized(widths, output, parsed.GetValue(seed));
            network.Save(parsed.GetValue(modelOut)!);
            context.Info(parsed, $"init: [{string.Join(",", widths)}] {parsed.GetValue(activation)}, seed {parsed.GetValue(seed)} → {parsed.GetValue(modelOut)}");
            return 0;
        });
        return command;
    }

    /// <summary>identity | sigmoid | softmax (already restricted by the option).</summary>
    public static OutputActivation ParseActivation(string text) => text switch
    {
        "sigmoid" => OutputActivation.Sigmoid,
        "softmax" => OutputActivation.Softmax,
        _ => OutputActivation.Identity,
    };

    /// <summary>Parses "2,30,1"; a one-line usage error names --layers otherwise.</summary>
    public static int[] ParseLayers(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] < 1)
                throw new CliUsageException($"--layers: '{parts[i]}' is not a positive integer width.");
        if (widths.Length < 2) throw new CliUsageException("--layers needs at least two widths (input and output).");
        return widths;
    }
}
