using System.CommandLine;

namespace SheafCore.Cli;

/// <summary><c>forward --model M.json --input X.csv --output Y.csv [--method solve|plain] [--inputs a,b] [--report R.json]</c></summary>
internal static class ForwardCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string>("--model") { Description = "Model JSON file.", Required = true });
        var input = CliPaths.InputFile(new Option<string>("--input") { Description = "Input CSV (header row; first n0 columns are the inputs unless --inputs is given).", Required = true });
        var output = CliPaths.OutputFile(new Option<string>("--output") { Description = "Output CSV to write (header y0,y1,…; round-trip numbers).", Required = true });
        var method = new Option<string>("--method")
        {
            Description = "solve: harmonic extension by the unitriangular solve; plain: the ordinary forward pass.",
            DefaultValueFactory = _ => "solve",
        };
        method.AcceptOnlyFromAmong("solve", "plain");
        var inputs = new Option<string?>("--inputs") { Description = "Comma-separated input column names." };
        var report = CliPaths.OutputFile(new Option<string?>("--report") { Description = "Write a JSON report (fields: samples, method)." });

        var command = new Command("forward", "Network output for each CSV row, as the harmonic extension of the pinned input or by the plain forward pass.")
        {
            model, input, output, method, inputs, report, context.Json,
        };
        command.SetAction(parsed =>
        {
            var network = NeuralNetwork.Load(parsed.GetValue(model)!);
            var x = DataLoading.ReadInputs(parsed.GetValue(input)!, network, parsed.GetValue(inputs));
            string how = parsed.GetValue(method)!;
            double[,] y = how == "plain" ? network.Forward(x) : network.ToSheaf().HarmonicExtension(x).Outputs;
            CsvTable.Save(parsed.GetValue(output)!, y);
            context.Info(parsed, $"forward: {x.GetLength(0)} samples through [{string.Join(",", network.Layers)}] by {how}; wrote {parsed.GetValue(output)}");
            context.Emit(parsed, parsed.GetValue(report), new Dictionary<string, object>
            {
                ["samples"] = x.GetLength(0), ["method"] = how, ["output"] = parsed.GetValue(output)!,
            });
            return 0;
        });
        return command;
    }
}
