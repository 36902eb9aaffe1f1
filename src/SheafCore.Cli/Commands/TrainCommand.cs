using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SheafCore.Cli;

/// <summary><c>train</c>: sheaf training (theory §5) or the backprop baseline, full batch and deterministic; writes the trained
/// model atomically and an optional per-epoch log CSV.</summary>
internal static class TrainCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string?>("--model") { Description = "Initial model JSON (or give --layers for a He-initialised one)." });
        var layers = new Option<string?>("--layers") { Description = "Architecture for a He-initialised model, e.g. 2,30,1." };
        var activation = new Option<string>("--output-activation") { Description = "identity, sigmoid or softmax (with --layers).", DefaultValueFactory = _ => "identity" };
        activation.AcceptOnlyFromAmong("identity", "sigmoid", "softmax");
        var seed = new Option<int>("--seed") { Description = "Seed of the He initialisation (with --layers).", DefaultValueFactory = _ => 42 };
        var train = CliPaths.InputFile(new Option<string>("--train") { Description = "Training CSV: inputs, then targets (or --inputs/--targets).", Required = true });
        var test = CliPaths.InputFile(new Option<string?>("--test") { Description = "Test CSV with the same columns." });
        var method = new Option<string>("--method")
        {
            Description = "sheaf (no backward pass), sgd (full-batch gradient descent), adam, or equilibrium / equilibrium-adam "
                + "(stalks relaxed to equilibrium each step, then local weight updates; an experiment beyond the paper; see --relaxation).",
            Required = true,
        };
        method.AcceptOnlyFromAmong("sheaf", "sgd", "adam", "equilibrium", "equilibrium-adam");
        var steps = new Option<int?>("--steps") { Description = "Total steps (default 100000 for one hidden layer, 200000 otherwise)." };
        var dt = new Option<double?>("--dt") { Description = "Euler step (default 0.005 for one hidden layer, 0.01 otherwise)." };
        var alpha = new Option<double>("--alpha") { Description = "Stalk rate α.", DefaultValueFactory = _ => 1.0 };
        var beta = new Option<double?>("--beta") { Description = "Weight rate β (default 1/n_train)." };
        var lr = new Option<double?>("--lr") { Description = "Learning rate of sgd/adam (default 0.005 regression, 0.01 classification; adam 0.001)." };
        var stepsPerEpoch = new Option<int>("--steps-per-epoch") { Description = "Steps between log rows (and stalk resets).", DefaultValueFactory = _ => 1000 };
        var stalkInit = new Option<string?>("--stalk-init") { Description = "random or forward (default random for regression, forward for classification)." };
        stalkInit.AcceptOnlyFromAmong("random", "forward");
        var stalkSeed = new Option<int>("--stalk-seed") { Description = "Seed of random stalks.", DefaultValueFactory = _ => 42 };
        var initState = CliPaths.InputFile(new Option<string?>("--init-state") { Description = "Exact initial stalks (stalk-state JSON, one row per training sample)." });
        var warmStart = new Option<bool?>("--warm-start") { Description = "Keep stalks between epochs (default true for regression, false for classification)." };
        var miniBatch = new Option<int>("--mini-batch") { Description = "Samples per sheaf step (0 = full batch).", DefaultValueFactory = _ => 0 };
        var coupling = new Option<double>("--output-coupling") { Description = "Strength γ of the output edge to the target.", DefaultValueFactory = _ => 1.0 };
        var relaxation = new Option<string>("--relaxation")
        {
            Description = "equilibrium methods: direct (exact structured solve; its transposed solves are a backward pass, not local) "
                + "or diffusion (adaptive heat flow to --relax-tol; local).",
            DefaultValueFactory = _ => "direct",
        };
        relaxation.AcceptOnlyFromAmong("direct", "diffusion");
        var relaxTol = new Option<double>("--relax-tol") { Description = "diffusion relaxation: stop when the largest stalk force is below this.", DefaultValueFactory = _ => 1e-6 };
        var relaxMaxSteps = new Option<int>("--relax-max-steps") { Description = "diffusion relaxation: integrator steps allowed per training step.", DefaultValueFactory = _ => 10_000 };
        var patternIterations = new Option<int>("--pattern-iterations") { Description = "direct relaxation: active-set pattern solves allowed per sample and step.", DefaultValueFactory = _ => 3 };
        var plot = CliPaths.OutputFolder(new Option<string?>("--plot") { Description = "Folder for PNG figures: loss.png (train and test loss curves)." });
        var modelOut = CliPaths.OutputFile(new Option<string>("--model-out") { Description = "Where to write the trained model (atomically).", Required = true });
        var log = CliPaths.OutputFile(new Option<string?>("--log") { Description = "Log CSV: step,trainLoss,testLoss,trainAccuracy,testAccuracy at step 0 and every epoch." });
        var standardize = new Option<bool>("--standardize") { Description = "Standardise inputs by the training mean and std, stored as the model's inputScaling and applied by every command." };
        var inputs = new Option<string?>("--inputs") { Description = "Comma-separated input column names." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated target column names." };

        var command = new Command("train", "Train a network: sheaf (local discrepancy minimisation, no backward pass) or sgd/adam (exact gradients).")
        {
            model, layers, activation, seed, train, test, method, steps, dt, alpha, beta, lr, stepsPerEpoch, stalkInit, stalkSeed, initState,
            warmStart, miniBatch, coupling, relaxation, relaxTol, relaxMaxSteps, patternIterations, plot, modelOut, log, standardize, inputs, targets, context.Json,
        };
        command.SetAction(parsed =>
        {
            CheckNumericFlags(parsed, dt, alpha, beta, lr, coupling, miniBatch);
            var network = LoadNetwork(parsed.GetValue(model), parsed.GetValue(layers), parsed.GetValue(activation)!, parsed.GetValue(seed));
            string trainPath = parsed.GetValue(train)!;
            var (trainX, trainY) = TrainingData.Read(trainPath, network, parsed.GetValue(inputs), parsed.GetValue(targets));
            double[,]? testX = null, testY = null;
            if (parsed.GetValue(test) is { } testPath)
                (testX, testY) = TrainingData.Read(testPath, network, parsed.GetValue(inputs), parsed.GetValue(targets));

            // The contract's --standardize: the training set's column moments, stored as the model's inputScaling (not folded
            // into the weights). Without it a model that already carries a scaling keeps it. Either way the data the trainer
            // and the test evaluation see go through the one shared scaling step.
            if (parsed.GetValue(standardize)) network = network.WithInputScaling(InputScaling.FromData(trainX));
            trainX = network.ScaleInputs(trainX);
            if (testX is not null) testX = network.ScaleInputs(testX);
            var trainSet = Dataset.Create(trainX, trainY);
            var testSet = testX is null ? null : Dataset.Create(testX, testY!);

            bool oneHidden = network.HiddenLayerCount <= 1;
            int spe = Flags.Positive(parsed.GetValue(stepsPerEpoch), "--steps-per-epoch");
            int total = Flags.NonNegative(parsed.GetValue(steps) ?? (oneHidden ? 100_000 : 200_000), "--steps");
            if (total < spe && total > 0) spe = total;
            if (total % spe != 0)
                throw new CliUsageException($"--steps ({total}) must be a multiple of --steps-per-epoch ({spe}): the log has one row per epoch.");
            int epochs = total / spe;
            bool regression = network.Output == OutputActivation.Identity;
            string how = parsed.GetValue(method)!;
            bool quiet = !context.Chatty(parsed);
            // On a terminal a progress bar per epoch; otherwise (redirected, tests, scripts) the plain lines, about ten per run.
            using var bar = RichConsole.StartBar(context.Rich(parsed), $"train ({how})", total);
            var progress = new InlineProgress(entry =>
            {
                if (context.Rich(parsed))
                    bar.Update(entry.Step, FormattableString.Invariant($"{how} step {entry.Step} loss {entry.TrainLoss:G3}"));
                else if (!quiet && (entry.Step == 0 || (entry.Step / spe) % Math.Max(1, epochs / 10) == 0 || entry.Step == total))
                    context.Output.WriteLine(FormattableString.Invariant($"step {entry.Step,8}: train loss {entry.TrainLoss:G6}, test loss {entry.TestLoss:G6}"));
            });

            TrainingReport report;
            if (how == "sheaf")
            {
                NetworkStalkState? given = null;
                if (parsed.GetValue(initState) is { } statePath)
                {
                    string text;
                    try { text = File.ReadAllText(statePath); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new SheafCoreFormatException(statePath, "", "cannot be read: " + e.Message, e);
                    }
                    given = network.ToSheaf().CreateState(trainX, text, statePath);
                }
                var options = new TrainingOptions
                {
                    Alpha = Flags.Positive(parsed.GetValue(alpha), "--alpha"),
                    Beta = parsed.GetValue(beta) is { } b ? Flags.NonNegative(b, "--beta") : null,
                    TimeStep = Flags.Positive(parsed.GetValue(dt) ?? (oneHidden ? 0.005 : 0.01), "--dt"),
                    Epochs = epochs,
                    StepsPerEpoch = spe,
                    WarmStart = parsed.GetValue(warmStart),
                    StalkInitialization = parsed.GetValue(stalkInit) switch
                    {
                        "random" => TrainingStalkInitialization.Random,
                        "forward" => TrainingStalkInitialization.Forward,
                        _ => null,
                    },
                    StalkSeed = parsed.GetValue(stalkSeed),
                    InitialStalks = given,
                    MiniBatchSize = Flags.NonNegative(parsed.GetValue(miniBatch), "--mini-batch"),
                    OutputCoupling = Flags.NonNegative(parsed.GetValue(coupling), "--output-coupling"),
                };
                report = new SheafTrainer(options).Fit(network, trainSet, testSet, progress, CancellationToken.None);
            }
            else if (how.StartsWith("equilibrium", StringComparison.Ordinal))
            {
                bool adam = how == "equilibrium-adam";
                var options = new EquilibriumTrainingOptions
                {
                    Method = adam ? GradientDescentMethod.Adam : GradientDescentMethod.Sgd,
                    LearningRate = Flags.Positive(parsed.GetValue(lr) ?? (adam ? 0.001 : regression ? 0.005 : 0.01), "--lr"),
                    Epochs = epochs,
                    StepsPerEpoch = spe,
                    OutputCoupling = Flags.Positive(parsed.GetValue(coupling), "--output-coupling"),
                    Relaxation = parsed.GetValue(relaxation) == "diffusion" ? EquilibriumRelaxation.Diffusion : EquilibriumRelaxation.Direct,
                    DiffusionTolerance = Flags.Positive(parsed.GetValue(relaxTol), "--relax-tol"),
                    MaximumPatternIterations = Flags.Positive(parsed.GetValue(patternIterations), "--pattern-iterations"),
                    DiffusionMaxSteps = Flags.Positive(parsed.GetValue(relaxMaxSteps), "--relax-max-steps"),
                };
                var trainer = new EquilibriumTrainer(options);
                report = trainer.Fit(network, trainSet, testSet, progress, CancellationToken.None);
                context.Info(parsed, FormattableString.Invariant(
                    $"equilibrium ({parsed.GetValue(relaxation)}): unconverged {trainer.LastUnconverged}, relaxation work {trainer.LastRelaxationWork}"));
            }
            else
            {
                bool adam = how == "adam";
                var options = new GradientDescentOptions
                {
                    Method = adam ? GradientDescentMethod.Adam : GradientDescentMethod.Sgd,
                    LearningRate = Flags.Positive(parsed.GetValue(lr) ?? (adam ? 0.001 : regression ? 0.005 : 0.01), "--lr"),
                    Epochs = epochs,
                    StepsPerEpoch = spe,
                };
                report = new GradientDescentTrainer(options).Fit(network, trainSet, testSet, progress, CancellationToken.None);
            }

            bar.Dispose();
            if (parsed.GetValue(log) is { } logPath) AtomicFile.WriteAllText(logPath, LogCsv(report.Log));
            if (report.Diverged)
            {
                context.Error.WriteLine($"sheafcore: training diverged (loss {report.Final.TrainLoss}) by step {report.Steps}; no model written. Try a smaller --dt/--beta/--lr.");
                return 3;
            }
            AtomicFile.WriteAllText(parsed.GetValue(modelOut)!, ModelJsonWithMetadata(report.Network, how, report));
            if (parsed.GetValue(plot) is { } plotDir)
            {
                var png = Path.Combine(CliPlots.Folder(plotDir), "loss.png");
                var curves = new List<Plotting.LossCurve> { Plotting.LossCurve.FromReport($"{how} train", report) };
                if (testSet is not null) curves.Add(Plotting.LossCurve.FromReport($"{how} test", report, testLoss: true));
                Plotting.Plots.LossCurves(png, curves, new Plotting.PlotOptions { Title = $"Training loss ({how})" });
                context.Info(parsed, "  plots: " + png);
            }
            context.Emit(parsed, null, ResultFields(report, how, parsed.GetValue(modelOut)!));
            double perStep = report.Steps == 0 ? 0 : report.Elapsed.TotalMilliseconds * 1000 / report.Steps;
            context.Info(parsed, FormattableString.Invariant(
                $"train ({how}): {report.Steps} steps in {report.Elapsed.TotalSeconds:F2} s ({perStep:F1} µs/step incl. logging); final train loss {report.Final.TrainLoss:G6}, test loss {report.Final.TestLoss:G6}"));
            return 0;
        });
        return command;
    }

    /// <summary>The --json result: method, steps, seconds, final losses/accuracies (null where they do not apply), model path.</summary>
    private static Dictionary<string, object> ResultFields(TrainingReport report, string method, string modelOut)
    {
        static object Number(double v) => double.IsNaN(v) ? null! : v;
        return new Dictionary<string, object>
        {
            ["method"] = method,
            ["steps"] = report.Steps,
            ["seconds"] = report.Elapsed.TotalSeconds,
            ["finalTrainLoss"] = report.Final.TrainLoss,
            ["finalTestLoss"] = Number(report.Final.TestLoss),
            ["finalTrainAccuracy"] = Number(report.Final.TrainAccuracy),
            ["finalTestAccuracy"] = Number(report.Final.TestAccuracy),
            ["modelOut"] = modelOut,
        };
    }

    /// <summary>Checks every numeric flag whether or not the chosen method uses it, so that a bad value (say --lr -1 with
    /// --method sheaf) is a one-line usage error instead of being silently ignored.</summary>
    private static void CheckNumericFlags(ParseResult parsed, Option<double?> dt, Option<double> alpha, Option<double?> beta,
        Option<double?> lr, Option<double> coupling, Option<int> miniBatch)
    {
        if (parsed.GetValue(dt) is { } d) Flags.Positive(d, "--dt");
        Flags.Positive(parsed.GetValue(alpha), "--alpha");
        if (parsed.GetValue(beta) is { } b) Flags.NonNegative(b, "--beta");
        if (parsed.GetValue(lr) is { } l) Flags.Positive(l, "--lr");
        Flags.NonNegative(parsed.GetValue(coupling), "--output-coupling");
        Flags.NonNegative(parsed.GetValue(miniBatch), "--mini-batch");
    }

    private static NeuralNetwork LoadNetwork(string? modelPath, string? layerSpec, string activation, int seed)
    {
        if (modelPath is not null && layerSpec is not null) throw new CliUsageException("Give either --model or --layers, not both.");
        if (modelPath is not null) return NeuralNetwork.Load(modelPath);
        if (layerSpec is null) throw new CliUsageException("Give --model M.json or --layers n0,n1,…,nK+1.");
        var widths = layerSpec.Split(',', StringSplitOptions.TrimEntries);
        var layers = new int[widths.Length];
        for (int i = 0; i < widths.Length; i++)
            if (!int.TryParse(widths[i], NumberStyles.None, CultureInfo.InvariantCulture, out layers[i]) || layers[i] < 1)
                throw new CliUsageException($"--layers: '{widths[i]}' is not a positive integer.");
        if (layers.Length < 2) throw new CliUsageException("--layers needs at least an input and an output width.");
        var output = activation switch { "sigmoid" => OutputActivation.Sigmoid, "softmax" => OutputActivation.Softmax, _ => OutputActivation.Identity };
        return NeuralNetwork.CreateHeInitialized(layers, output, seed);
    }

    /// <summary>Writes the contract's log: accuracy (and test) columns empty where they do not apply; numbers round-trip.</summary>
    internal static string LogCsv(IReadOnlyList<TrainingProgress> log)
    {
        static string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        var sb = new StringBuilder("step,trainLoss,testLoss,trainAccuracy,testAccuracy\n");
        foreach (var e in log)
            sb.Append(e.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Cell(e.TrainLoss)).Append(',').Append(Cell(e.TestLoss))
              .Append(',').Append(Cell(e.TrainAccuracy)).Append(',').Append(Cell(e.TestAccuracy)).Append('\n');
        return sb.ToString();
    }

    private static string ModelJsonWithMetadata(NeuralNetwork network, string method, TrainingReport report)
    {
        var root = JsonNode.Parse(network.ToJson())!.AsObject();
        var training = new JsonObject
        {
            ["method"] = method,
            ["steps"] = report.Steps,
            ["finalTrainLoss"] = report.Final.TrainLoss,
        };
        if (!double.IsNaN(report.Final.TestLoss)) training["finalTestLoss"] = report.Final.TestLoss;
        root["training"] = training;
        return root.ToJsonString();
    }

    /// <summary>IProgress that runs synchronously on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class InlineProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

/// <summary>Reading training CSVs as the CLI contract describes: inputs first, targets after (or named), classification
/// targets as one integer-label column 0..C−1 or C one-hot columns.</summary>
internal static class TrainingData
{
    public static (double[,] X, double[,] Y) Read(string path, NeuralNetwork network, string? inputNames, string? targetNames)
    {
        var table = CsvTable.Load(path);
        int n0 = network.InputDimension, nOut = network.OutputDimension;
        var x = DataLoading.ReadRawInputs(path, n0, inputNames);
        double[,] raw;
        string[] names;
        if (!string.IsNullOrWhiteSpace(targetNames))
        {
            names = targetNames.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var n in names)
                if (!table.Columns.Contains(n))
                    throw new SheafCoreFormatException(path, "header", $"no column named '{n}' (given by --targets); columns are {string.Join(",", table.Columns)}.");
            raw = table.Select(names);
        }
        else
        {
            int count = table.Columns.Count - n0;
            bool labels = network.Output != OutputActivation.Identity && count == 1;
            if (count != nOut && !labels)
                throw new SheafCoreFormatException(path, "header",
                    $"has {table.Columns.Count} columns but the model needs {n0} inputs and {(network.Output == OutputActivation.Softmax ? $"{nOut} one-hot targets or 1 label column" : $"{nOut} target(s)")}.");
            names = table.Columns.Skip(n0).ToArray();
            raw = table.SelectRange(n0, count);
        }
        return (x, Targets(path, network, raw, names));
    }

    private static double[,] Targets(string path, NeuralNetwork network, double[,] raw, string[] names)
    {
        int rows = raw.GetLength(0), cols = raw.GetLength(1), nOut = network.OutputDimension;
        string At(int row, int col) => $"row {row + 2}, column {names[col]}";
        switch (network.Output)
        {
            case OutputActivation.Identity:
                if (cols != nOut) throw new SheafCoreFormatException(path, "header", $"{cols} target columns selected but the model has {nOut} outputs.");
                return raw;
            case OutputActivation.Sigmoid:
                if (cols != nOut) throw new SheafCoreFormatException(path, "header", $"{cols} target columns selected but the model has {nOut} outputs.");
                for (int i = 0; i < rows; i++)
                    for (int c = 0; c < cols; c++)
                        if (raw[i, c] is < 0 or > 1)
                            throw new SheafCoreFormatException(path, At(i, c), $"label {raw[i, c].ToString(CultureInfo.InvariantCulture)} is out of range: binary targets lie in [0, 1].");
                return raw;
            default:
                if (cols == 1)
                {
                    var oneHot = new double[rows, nOut];
                    for (int i = 0; i < rows; i++)
                    {
                        double v = raw[i, 0];
                        if (v != Math.Floor(v) || v < 0 || v >= nOut)
                            throw new SheafCoreFormatException(path, At(i, 0), $"label {v.ToString(CultureInfo.InvariantCulture)} is out of range: labels are integers 0..{nOut - 1}.");
                        oneHot[i, (int)v] = 1;
                    }
                    return oneHot;
                }
                if (cols != nOut) throw new SheafCoreFormatException(path, "header", $"{cols} target columns selected but the model has {nOut} classes.");
                for (int i = 0; i < rows; i++)
                {
                    double sum = 0;
                    for (int c = 0; c < cols; c++)
                    {
                        if (raw[i, c] is not (0 or 1))
                            throw new SheafCoreFormatException(path, At(i, c), $"{raw[i, c].ToString(CultureInfo.InvariantCulture)} is out of range: one-hot targets are 0 or 1.");
                        sum += raw[i, c];
                    }
                    if (sum != 1) throw new SheafCoreFormatException(path, $"row {i + 2}", "a one-hot row must contain exactly one 1.");
                }
                return raw;
        }
    }
}
