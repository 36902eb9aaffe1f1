using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SheafCore.Cli;

/// <summary><c>sweep beta</c> (final losses of sheaf training over a list of weight rates β, theory §8.3.1) and
/// <c>sweep spectral</c> (X-ray medians of the restricted Laplacian every N steps of sheaf and SGD training, theory §7):
/// the reproductions of issue 5, item 5. Both write one CSV; docs/results/sweeps.md reads them.</summary>
internal static class SweepCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("sweep", "Reproduction sweeps: β·n_train (sweep beta) and the spectrum during training (sweep spectral).");
        command.Subcommands.Add(Beta(context));
        command.Subcommands.Add(Spectral(context));
        command.Subcommands.Add(PlotCurves(context));
        return command;
    }

    /// <summary>The options both sweeps share: model, data, initial stalks and the sheaf step.</summary>
    private sealed class Common
    {
        public Option<string> Model { get; } = CliPaths.InputFile(new Option<string>("--model") { Description = "Initial model JSON.", Required = true });
        public Option<string> Train { get; } = CliPaths.InputFile(new Option<string>("--train") { Description = "Training CSV (inputs, then targets).", Required = true });
        public Option<string?> Test { get; } = CliPaths.InputFile(new Option<string?>("--test") { Description = "Test CSV with the same columns." });
        public Option<string?> InitState { get; } = CliPaths.InputFile(new Option<string?>("--init-state") { Description = "Exact initial stalks (stalk-state JSON); else random N(0,1) stalks." });
        public Option<int> StalkSeed { get; } = new("--stalk-seed") { Description = "Seed of random stalks.", DefaultValueFactory = _ => 42 };
        public Option<int> Steps { get; } = new("--steps") { Description = "Steps per run.", DefaultValueFactory = _ => 100_000 };
        public Option<double> Dt { get; } = new("--dt") { Description = "Euler step of the sheaf dynamics.", DefaultValueFactory = _ => 0.005 };
        public Option<double> Alpha { get; } = new("--alpha") { Description = "Stalk rate α.", DefaultValueFactory = _ => 1.0 };
        public Option<string> Out { get; } = CliPaths.OutputFile(new Option<string>("--out") { Description = "CSV to write (atomically).", Required = true });

        public void AddTo(Command command)
        {
            command.Options.Add(Model); command.Options.Add(Train); command.Options.Add(Test); command.Options.Add(InitState);
            command.Options.Add(StalkSeed); command.Options.Add(Steps); command.Options.Add(Dt); command.Options.Add(Alpha); command.Options.Add(Out);
        }

        /// <summary>Model, data scaled by the model's stored inputScaling, and the initial stalks if given.</summary>
        public (NeuralNetwork Network, Dataset Train, Dataset? Test, NetworkStalkState? Stalks) Load(ParseResult parsed)
        {
            var network = NeuralNetwork.Load(parsed.GetValue(Model)!);
            var (trainX, trainY) = TrainingData.Read(parsed.GetValue(Train)!, network, null, null);
            trainX = network.ScaleInputs(trainX);
            Dataset? test = null;
            if (parsed.GetValue(Test) is { } testPath)
            {
                var (testX, testY) = TrainingData.Read(testPath, network, null, null);
                test = Dataset.Create(network.ScaleInputs(testX), testY);
            }
            NetworkStalkState? stalks = null;
            if (parsed.GetValue(InitState) is { } statePath)
            {
                string text;
                try { text = File.ReadAllText(statePath); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SheafCoreFormatException(statePath, "", "cannot be read: " + e.Message, e);
                }
                stalks = network.ToSheaf().CreateState(trainX, text, statePath);
            }
            return (network, Dataset.Create(trainX, trainY), test, stalks);
        }
    }

    private static Command Beta(CliContext context)
    {
        var common = new Common();
        var betas = new Option<string>("--betas")
        {
            Description = "Comma-separated weight rates β.",
            DefaultValueFactory = _ => "1e-5,3e-5,1e-4,3e-4,1e-3,2e-3,3.3333333333333335e-3,5e-3,1e-2,3e-2,1e-1",
        };
        var command = new Command("beta", "Sheaf training for each β (warm start, full batch); final train/test loss against β·n_train.") { betas };
        common.AddTo(command);
        command.SetAction(parsed =>
        {
            var (network, train, test, stalks) = common.Load(parsed);
            var values = ParseList(parsed.GetValue(betas)!, "--betas");
            int steps = Flags.Positive(parsed.GetValue(common.Steps), "--steps");
            int spe = Math.Min(1000, steps);
            if (steps % spe != 0) throw new CliUsageException($"--steps ({steps}) must be a multiple of 1000 (or below it).");
            var csv = new StringBuilder("beta,betaTimesNTrain,steps,finalTrainLoss,finalTestLoss,diverged,wallSeconds\n");
            using var bar = RichConsole.StartBar(context.Rich(parsed), "sweep beta", values.Length);
            int done = 0;
            foreach (var beta in values)
            {
                var options = new TrainingOptions
                {
                    Alpha = Flags.Positive(parsed.GetValue(common.Alpha), "--alpha"), Beta = Flags.NonNegative(beta, "--betas"),
                    TimeStep = Flags.Positive(parsed.GetValue(common.Dt), "--dt"), Epochs = steps / spe, StepsPerEpoch = spe, WarmStart = true,
                    StalkInitialization = TrainingStalkInitialization.Random, StalkSeed = parsed.GetValue(common.StalkSeed), InitialStalks = stalks,
                };
                var report = new SheafTrainer(options).Fit(network, train, test, null, CancellationToken.None);
                csv.Append(Invariant($"{beta:R},{beta * train.Count:R},{report.Steps},{report.Final.TrainLoss:R},{Cell(report.Final.TestLoss)},{report.Diverged},{report.Elapsed.TotalSeconds:F2}\n"));
                string line = Invariant($"sweep beta: β = {beta:G4} (β·n = {beta * train.Count:G3}): train {report.Final.TrainLoss:G4}, test {report.Final.TestLoss:G4}, {report.Elapsed.TotalSeconds:F1} s");
                if (context.Rich(parsed)) bar.Update(++done, Invariant($"β {beta:G3} done"));
                else context.Info(parsed, line);
            }
            AtomicFile.WriteAllText(parsed.GetValue(common.Out)!, csv.ToString());
            return 0;
        });
        return command;
    }

    /// <summary><c>sweep plot</c>: lines from columns of sweep CSVs (plain numeric cells, no quoted commas), for the
    /// reproduction figures (test loss against β·n_train, against integration time, λ_min during training, …).</summary>
    private static Command PlotCurves(CliContext context)
    {
        var series = new Option<string[]>("--series")
        {
            Description = "LABEL=FILE:XCOLUMN:YCOLUMN[:FILTERCOLUMN=VALUE] (repeatable): one line per series, rows filtered by an optional column value.",
            Required = true,
        };
        CliPaths.InputFile(series, spec => spec.IndexOf('=') is var eq and > 0 ? spec[(eq + 1)..].Split(':')[0] : null);
        var logX = new Option<bool>("--log-x") { Description = "Log10 x axis." };
        var logY = new Option<bool>("--log-y") { Description = "Log10 y axis." };
        var xLabel = new Option<string>("--x-label") { Description = "x-axis label.", DefaultValueFactory = _ => "x" };
        var yLabel = new Option<string>("--y-label") { Description = "y-axis label.", DefaultValueFactory = _ => "y" };
        var title = new Option<string?>("--title") { Description = "Figure title." };
        var output = CliPaths.OutputFile(new Option<string>("--output") { Description = "PNG file to write.", Required = true });
        var command = new Command("plot", "A line figure from columns of CSV files (sweep results, training logs).") { series, logX, logY, xLabel, yLabel, title, output };
        command.SetAction(parsed =>
        {
            var curves = new List<Plotting.LossCurve>();
            foreach (var spec in parsed.GetValue(series)!)
            {
                int eq = spec.IndexOf('=');
                if (eq <= 0) throw new CliUsageException($"--series '{spec}': expected LABEL=FILE:XCOLUMN:YCOLUMN[:FILTERCOLUMN=VALUE].");
                var parts = spec[(eq + 1)..].Split(':');
                if (parts.Length is < 3 or > 4) throw new CliUsageException($"--series '{spec}': expected LABEL=FILE:XCOLUMN:YCOLUMN[:FILTERCOLUMN=VALUE].");
                curves.Add(ReadSeries(spec[..eq], parts[0], parts[1], parts[2], parts.Length == 4 ? parts[3] : null));
            }
            string path = parsed.GetValue(output)!;
            Plotting.Plots.Curves(path, curves, parsed.GetValue(xLabel)!, parsed.GetValue(yLabel)!, parsed.GetValue(logX), parsed.GetValue(logY),
                new Plotting.PlotOptions { Title = parsed.GetValue(title) });
            context.Info(parsed, "  plot: " + path);
            return 0;
        });
        return command;
    }

    private static Plotting.LossCurve ReadSeries(string label, string file, string xColumn, string yColumn, string? filter)
    {
        string[] lines;
        try { lines = File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(file, "", "cannot be read: " + e.Message, e);
        }
        if (lines.Length == 0) throw new SheafCoreFormatException(file, "", "the file is empty (a header row is required).");
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        int Column(string name) => header.IndexOf(name) is var i and >= 0 ? i
            : throw new SheafCoreFormatException(file, "header", $"no column '{name}'; columns are {string.Join(",", header)}.");
        int xi = Column(xColumn), yi = Column(yColumn), fi = -1;
        string? fv = null;
        if (filter is not null)
        {
            int eq = filter.IndexOf('=');
            if (eq <= 0) throw new CliUsageException($"--series filter '{filter}': expected COLUMN=VALUE.");
            fi = Column(filter[..eq]);
            fv = filter[(eq + 1)..];
        }
        var xs = new List<double>();
        var ys = new List<double>();
        for (int r = 1; r < lines.Length; r++)
        {
            if (lines[r].Length == 0) continue;
            var cells = lines[r].Split(',');
            if (cells.Length != header.Count) throw new SheafCoreFormatException(file, $"row {r + 1}", $"has {cells.Length} cells, the header {header.Count}.");
            if (fi >= 0 && cells[fi].Trim() != fv) continue;
            double Parse(int c) => double.TryParse(cells[c], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
            xs.Add(Parse(xi));
            ys.Add(Parse(yi));
        }
        if (xs.Count == 0) throw new SheafCoreFormatException(file, "", $"no rows{(filter is null ? "" : " match " + filter)}.");
        return new Plotting.LossCurve(label, xs, ys);
    }

    private static Command Spectral(CliContext context)
    {
        var common = new Common();
        var every = new Option<int>("--every") { Description = "Steps between X-rays (a multiple of 1000).", DefaultValueFactory = _ => 5000 };
        var samples = new Option<int>("--samples") { Description = "X-ray the first this many training inputs.", DefaultValueFactory = _ => 50 };
        var beta = new Option<double?>("--beta") { Description = "Weight rate β of sheaf training (default 1/n_train)." };
        var lr = new Option<double>("--lr") { Description = "Learning rate of the SGD run.", DefaultValueFactory = _ => 0.005 };
        var method = new Option<string>("--xray-method") { Description = "dense (the reference's full eigendecomposition) or lanczos.", DefaultValueFactory = _ => "dense" };
        method.AcceptOnlyFromAmong("dense", "lanczos");
        var command = new Command("spectral", "Sheaf and SGD training from the same model; λ_min, λ_max, κ medians (and IQR) every N steps.") { every, samples, beta, lr, method };
        common.AddTo(command);
        command.SetAction(parsed =>
        {
            var (network, train, test, stalks) = common.Load(parsed);
            int steps = Flags.Positive(parsed.GetValue(common.Steps), "--steps");
            int n = Flags.Positive(parsed.GetValue(every), "--every");
            if (n % 1000 != 0 || steps % n != 0)
                throw new CliUsageException($"--every ({n}) must be a multiple of 1000 that divides --steps ({steps}).");
            int count = Math.Min(Flags.Positive(parsed.GetValue(samples), "--samples"), train.Count);
            var all = train.GetInputs();
            var x = new double[count, all.GetLength(1)];
            for (int i = 0; i < count; i++)
                for (int j = 0; j < all.GetLength(1); j++) x[i, j] = all[i, j];
            var xrayMethod = parsed.GetValue(method) == "dense" ? SpectralMethod.Dense : SpectralMethod.Lanczos;
            var blocks = network.ToSheaf().XRay(x, xrayMethod)[0].BlockNames;
            var csv = new StringBuilder("method,step,trainLoss,testLoss,lambdaMinMedian,lambdaMinLower,lambdaMinUpper,lambdaMaxMedian,lambdaMaxLower,lambdaMaxUpper,conditionMedian,"
                + string.Join(",", blocks.Select(b => "fiedlerEnergy_" + b)) + "," + string.Join(",", blocks.Select(b => "topEnergy_" + b)) + ",trainSeconds\n");

            using var bar = RichConsole.StartBar(context.Rich(parsed), "sweep spectral", 2 * (steps / n + 1));
            int rows = 0;
            void Row(string name, int step, NeuralNetwork net, TrainingProgress progress, double seconds)
            {
                var s = NetworkSheaf.Summarize(net.ToSheaf().XRay(x, xrayMethod));
                csv.Append(Invariant($"{name},{step},{progress.TrainLoss:R},{Cell(progress.TestLoss)},{s.LambdaMin.Median:R},{s.LambdaMin.Lower:R},{s.LambdaMin.Upper:R},"))
                   .Append(Invariant($"{s.LambdaMax.Median:R},{s.LambdaMax.Lower:R},{s.LambdaMax.Upper:R},{s.Condition.Median:R},"))
                   .Append(string.Join(",", s.FiedlerBlockEnergy.Select(q => q.Median.ToString("R", CultureInfo.InvariantCulture)))).Append(',')
                   .Append(string.Join(",", s.TopBlockEnergy.Select(q => q.Median.ToString("R", CultureInfo.InvariantCulture))))
                   .Append(Invariant($",{seconds:F2}\n"));
                string line = Invariant($"sweep spectral: {name} step {step}: loss {progress.TrainLoss:G4}, λ_min {s.LambdaMin.Median:G4}, λ_max {s.LambdaMax.Median:G4}, κ {s.Condition.Median:G4}");
                if (context.Rich(parsed)) bar.Update(++rows, Invariant($"{name} step {step}"));
                else context.Info(parsed, line);
            }

            // Sheaf: chunks of N steps, each warm-started from the previous chunk's final stalks and weights, which is the
            // same trajectory as one warm-started run (the loop does nothing at an epoch boundary but log).
            var clock = new Stopwatch();
            var net = network;
            var state = stalks;
            TrainingReport? last = null;
            for (int step = 0; step <= steps; step += n)
            {
                if (step > 0)
                {
                    var options = new TrainingOptions
                    {
                        Alpha = Flags.Positive(parsed.GetValue(common.Alpha), "--alpha"),
                        Beta = parsed.GetValue(beta) is { } b ? Flags.NonNegative(b, "--beta") : null,
                        TimeStep = Flags.Positive(parsed.GetValue(common.Dt), "--dt"), Epochs = n / 1000, StepsPerEpoch = 1000, WarmStart = true,
                        StalkInitialization = TrainingStalkInitialization.Random, StalkSeed = parsed.GetValue(common.StalkSeed), InitialStalks = state,
                    };
                    clock.Start();
                    last = new SheafTrainer(options).Fit(net, train, test, null, CancellationToken.None);
                    clock.Stop();
                    if (last.Diverged) throw new CliUsageException($"sheaf training diverged by step {step}; try a smaller --dt/--beta.");
                    net = last.Network;
                    state = last.FinalStalks;
                }
                Row("sheaf", step, net, last?.Final ?? Evaluate(net, train, test), clock.Elapsed.TotalSeconds);
            }

            clock.Reset();
            net = network;
            for (int step = 0; step <= steps; step += n)
            {
                TrainingProgress progress;
                if (step > 0)
                {
                    var options = new GradientDescentOptions { LearningRate = Flags.Positive(parsed.GetValue(lr), "--lr"), Epochs = n / 1000, StepsPerEpoch = 1000 };
                    clock.Start();
                    var report = new GradientDescentTrainer(options).Fit(net, train, test, null, CancellationToken.None);
                    clock.Stop();
                    net = report.Network;
                    progress = report.Final;
                }
                else progress = Evaluate(net, train, test);
                Row("sgd", step, net, progress, clock.Elapsed.TotalSeconds);
            }
            AtomicFile.WriteAllText(parsed.GetValue(common.Out)!, csv.ToString());
            return 0;
        });
        return command;
    }

    /// <summary>Losses of the untrained network (a zero-step run logs only step 0).</summary>
    private static TrainingProgress Evaluate(NeuralNetwork network, Dataset train, Dataset? test) =>
        new GradientDescentTrainer(new GradientDescentOptions { Epochs = 0, StepsPerEpoch = 1 }).Fit(network, train, test, null, CancellationToken.None).Final;

    private static double[] ParseList(string text, string flag) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t =>
            double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v
                : throw new CliUsageException($"{flag}: '{t}' is not a number.")).ToArray();

    private static string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);
}
