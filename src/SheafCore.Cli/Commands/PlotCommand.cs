using System.CommandLine;
using SheafCore.Plotting;

namespace SheafCore.Cli;

/// <summary><c>plot loss|surface</c>: figures from files (training logs, a model and its data).</summary>
internal static class PlotCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("plot", "PNG figures from files: loss curves from training logs, the learned surface of a 2-input model.");
        command.Subcommands.Add(Loss(context));
        command.Subcommands.Add(Surface(context));
        return command;
    }

    private static Command Loss(CliContext context)
    {
        var logs = CliPaths.InputFile(new Option<string[]>("--log") { Description = "LABEL=LOG.csv (a train --log file); repeatable, e.g. --log sheaf=a.csv --log sgd=b.csv.", Required = true },
            spec => spec.IndexOf('=') is var eq and > 0 ? spec[(eq + 1)..] : null);
        var column = new Option<string>("--column") { Description = "Loss column: trainLoss or testLoss.", DefaultValueFactory = _ => "trainLoss" };
        var output = CliPaths.OutputFile(new Option<string>("--output") { Description = "PNG file to write.", Required = true });
        var title = new Option<string?>("--title") { Description = "Figure title." };
        var command = new Command("loss", "Loss curves (log scale) from one or more training logs.") { logs, column, output, title };
        command.SetAction(parsed =>
        {
            var curves = new List<LossCurve>();
            foreach (var spec in parsed.GetValue(logs) ?? [])
            {
                int eq = spec.IndexOf('=');
                if (eq <= 0 || eq == spec.Length - 1) throw new CliUsageException($"--log '{spec}' must look like LABEL=LOG.csv.");
                curves.Add(LossCurve.FromLogCsv(spec[..eq], spec[(eq + 1)..], parsed.GetValue(column)!));
            }
            Plots.LossCurves(parsed.GetValue(output)!, curves, new PlotOptions { Title = parsed.GetValue(title) });
            context.Info(parsed, $"plot loss: {curves.Count} curves → {parsed.GetValue(output)}");
            return 0;
        });
        return command;
    }

    private static Command Surface(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string>("--model") { Description = "Model JSON with two inputs.", Required = true });
        var input = CliPaths.InputFile(new Option<string>("--input") { Description = "Data CSV: the two inputs, then (optionally) a label column.", Required = true });
        var output = CliPaths.OutputFile(new Option<string>("--output") { Description = "PNG file to write.", Required = true });
        var title = new Option<string?>("--title") { Description = "Figure title." };
        var command = new Command("surface", "The learned surface (decision boundary for classifiers) of a 2-input model with the data on top.") { model, input, output, title };
        command.SetAction(parsed =>
        {
            var network = NeuralNetwork.Load(parsed.GetValue(model)!);
            if (network.InputDimension != 2) throw new CliUsageException($"--model: the model takes {network.InputDimension} inputs; a surface needs 2.");
            var path = parsed.GetValue(input)!;
            var table = CsvTable.Load(path);
            var x = DataLoading.ReadRawInputs(path, 2, null); // raw coordinates: the surface is drawn in input space (Predict scales)
            int[]? labels = null;
            if (network.Output != OutputActivation.Identity && table.Columns.Count == 3)
            {
                var y = table.SelectRange(2, 1);
                labels = Enumerable.Range(0, y.GetLength(0)).Select(i => (int)Math.Round(y[i, 0])).ToArray();
            }
            Plots.DecisionSurface(parsed.GetValue(output)!, network, x, labels, new PlotOptions { Height = 600, Title = parsed.GetValue(title) });
            context.Info(parsed, $"plot surface → {parsed.GetValue(output)}");
            return 0;
        });
        return command;
    }
}
