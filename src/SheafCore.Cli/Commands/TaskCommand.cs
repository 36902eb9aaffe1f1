using System.CommandLine;
using System.Globalization;
using System.Text;

namespace SheafCore.Cli;

/// <summary><c>task</c>: writes one of the paper's synthetic tasks (theory §8.0) as train/test CSVs for <c>train</c>.</summary>
internal static class TaskCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Option<string>("--name") { Description = "paraboloid, saddle, circular or blobs.", Required = true };
        name.AcceptOnlyFromAmong("paraboloid", "saddle", "circular", "blobs");
        var seed = new Option<int>("--seed") { Description = "Data seed.", DefaultValueFactory = _ => 42 };
        var outDir = CliPaths.OutputFolder(new Option<string>("--out-dir") { Description = "Directory for <name>_train.csv and <name>_test.csv.", Required = true });
        var command = new Command("task", "Generate a synthetic task of the paper (300 train / 100 test rows; columns x1,x2 then y or y0..y3 one-hot).")
        {
            name, seed, outDir,
        };
        command.SetAction(parsed =>
        {
            string n = parsed.GetValue(name)!;
            var task = Enum.Parse<SyntheticTask>(n, ignoreCase: true);
            var set = SyntheticTasks.Generate(task, parsed.GetValue(seed));
            string dir = parsed.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            Write(Path.Combine(dir, $"{n}_train.csv"), set.Train);
            Write(Path.Combine(dir, $"{n}_test.csv"), set.Test);
            context.Info(parsed, $"task: wrote {n}_train.csv ({set.Train.Count} rows) and {n}_test.csv ({set.Test.Count} rows) to {dir}; " +
                $"1H layers [{string.Join(",", set.Layers1H)}], 2H [{string.Join(",", set.Layers2H)}], output {set.Output.ToString().ToLowerInvariant()}, SGD lr {set.LearningRate}");
            return 0;
        });
        return command;
    }

    private static void Write(string path, Dataset data)
    {
        var x = data.GetInputs();
        var y = data.GetTargets();
        int c = y.GetLength(1);
        var sb = new StringBuilder("x1,x2,");
        sb.AppendJoin(',', c == 1 ? ["y"] : Enumerable.Range(0, c).Select(j => "y" + j.ToString(CultureInfo.InvariantCulture))).Append('\n');
        for (int i = 0; i < data.Count; i++)
        {
            sb.Append(x[i, 0].ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(x[i, 1].ToString("R", CultureInfo.InvariantCulture));
            for (int j = 0; j < c; j++) sb.Append(',').Append(y[i, j].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
