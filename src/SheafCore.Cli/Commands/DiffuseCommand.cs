using System.CommandLine;

namespace SheafCore.Cli;

/// <summary><c>diffuse</c>: the sheaf heat equation with the inputs (and any extra pins) held; writes the output stalk.</summary>
internal static class DiffuseCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliPaths.InputFile(new Option<string>("--model") { Description = "Model JSON file.", Required = true });
        var input = CliPaths.InputFile(new Option<string>("--input") { Description = "Input CSV (first n0 columns, or --inputs).", Required = true });
        var output = CliPaths.OutputFile(new Option<string>("--output") { Description = "Output CSV: the output stalk after diffusion.", Required = true });
        var integrator = new Option<string>("--integrator") { Description = "euler (reference update) or adaptive.", DefaultValueFactory = _ => "euler" };
        integrator.AcceptOnlyFromAmong("euler", "adaptive");
        var dt = new Option<double>("--dt") { Description = "Euler step (also the reference step of the adaptive stopping rule).", DefaultValueFactory = _ => 0.01 };
        var alpha = new Option<double>("--alpha") { Description = "Diffusion rate α.", DefaultValueFactory = _ => 1.0 };
        var tol = new Option<double>("--tol") { Description = "Stop when the largest change of a free coordinate in one step is below this.", DefaultValueFactory = _ => 1e-9 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Step limit.", DefaultValueFactory = _ => 100_000 };
        var minSteps = new Option<int>("--min-steps") { Description = "Never stop before this many steps.", DefaultValueFactory = _ => 5 };
        var init = new Option<string>("--init") { Description = "Initial free stalks: forward, zeros or random.", DefaultValueFactory = _ => "random" };
        init.AcceptOnlyFromAmong("forward", "zeros", "random");
        var seed = new Option<int>("--seed") { Description = "Seed of --init random.", DefaultValueFactory = _ => 0 };
        var initState = CliPaths.InputFile(new Option<string?>("--init-state") { Description = "Start exactly from these stalks (stalk-state JSON); overrides --init." });
        var pins = new Option<string[]>("--pin") { Description = "Pin SPEC STALK[:COORDS]=VALUE[@GAMMA], e.g. z1:0=0.5, z1=0@10, out=1. Repeatable.", AllowMultipleArgumentsPerToken = false };
        var outputForce = new Option<string>("--output-force") { Description = "Output edge force for sigmoid/softmax: jacobian or identity.", DefaultValueFactory = _ => "jacobian" };
        outputForce.AcceptOnlyFromAmong("jacobian", "identity");
        var inputs = new Option<string?>("--inputs") { Description = "Comma-separated input column names." };
        var report = CliPaths.OutputFile(new Option<string?>("--report") { Description = "JSON report: converged, steps, laplacianApplications, finalDiscord, maxAbsErrorVsForward, …" });
        var stateOut = CliPaths.OutputFile(new Option<string?>("--state-out") { Description = "Write the final stalks as stalk-state JSON." });
        var plot = CliPaths.OutputFolder(new Option<string?>("--plot") { Description = "Write PNG figures (discord decay with ReLU crossings, output stalk vs forward) to this folder." });

        var command = new Command("diffuse", "Run the sheaf heat equation with the inputs pinned (and any --pin) and write the output stalk.")
        {
            model, input, output, integrator, dt, alpha, tol, maxSteps, minSteps, init, seed, initState, pins, outputForce, inputs, report, stateOut, plot,
            context.Json,
        };
        command.SetAction(parsed =>
        {
            var network = NeuralNetwork.Load(parsed.GetValue(model)!);
            var x = DataLoading.ReadInputs(parsed.GetValue(input)!, network, parsed.GetValue(inputs));
            var sheaf = network.ToSheaf();
            var pinList = new List<NeuronPin>();
            foreach (var spec in parsed.GetValue(pins) ?? [])
            {
                try { pinList.Add(NeuronPin.Parse(spec)); }
                catch (FormatException e) { throw new CliUsageException($"--pin: {e.Message}"); }
            }
            NetworkStalkState initial;
            if (parsed.GetValue(initState) is { } statePath)
            {
                string text;
                try { text = File.ReadAllText(statePath); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SheafCoreFormatException(statePath, "", "cannot be read: " + e.Message, e);
                }
                initial = sheaf.CreateState(x, text, statePath);
            }
            else
            {
                var how = parsed.GetValue(init) switch { "forward" => StalkInitialization.Forward, "zeros" => StalkInitialization.Zeros, _ => StalkInitialization.Random };
                initial = sheaf.CreateState(x, how, parsed.GetValue(seed));
            }
            var options = new DiffusionOptions
            {
                Alpha = Flags.Positive(parsed.GetValue(alpha), "--alpha"),
                TimeStep = Flags.Positive(parsed.GetValue(dt), "--dt"),
                Tolerance = Flags.NonNegative(parsed.GetValue(tol), "--tol"),
                MaximumSteps = Flags.Positive(parsed.GetValue(maxSteps), "--max-steps"),
                MinimumSteps = Flags.NonNegative(parsed.GetValue(minSteps), "--min-steps"),
                Integrator = parsed.GetValue(integrator) == "adaptive" ? DiffusionIntegrator.Adaptive : DiffusionIntegrator.Euler,
                OutputForce = parsed.GetValue(outputForce) == "identity" ? OutputEdgeForce.Identity : OutputEdgeForce.Jacobian,
                DiscordTraceInterval = 100,
            };
            // On a terminal: a progress bar over the step budget, advanced every 1000 steps with the current change.
            DiffusionResult result;
            using (var bar = RichConsole.StartBar(context.Rich(parsed), "diffuse", options.MaximumSteps))
                result = sheaf.Diffuse(initial, options, pinList, new InlineProgress<DiffusionProgress>(p =>
                    bar.Update(p.Step, FormattableString.Invariant($"diffuse step {p.Step} change {p.Change:G2}"))), CancellationToken.None);
            var y = result.State.Outputs;
            CsvTable.Save(parsed.GetValue(output)!, y);
            if (parsed.GetValue(stateOut) is { } stateFile) AtomicFile.WriteAllText(stateFile, result.State.ToJson());
            var forward = network.Forward(x);
            double maxError = 0;
            for (int i = 0; i < y.GetLength(0); i++)
                for (int j = 0; j < y.GetLength(1); j++) maxError = Math.Max(maxError, Math.Abs(y[i, j] - forward[i, j]));
            context.Info(parsed, $"diffuse: {(result.Converged ? "converged" : "NOT converged")} after {result.Steps} steps " +
                $"({result.LaplacianApplications} Laplacian applications, {result.RejectedSteps} rejected); final discord {result.FinalDiscord:G4}; " +
                $"max |output − forward| {maxError:G4}; {result.Crossings.Count} ReLU crossings");
            context.Emit(parsed, parsed.GetValue(report), new Dictionary<string, object>
            {
                ["converged"] = result.Converged,
                ["steps"] = result.Steps,
                ["laplacianApplications"] = result.LaplacianApplications,
                ["rejectedSteps"] = result.RejectedSteps,
                ["finalDiscord"] = result.FinalDiscord,
                ["finalChange"] = result.FinalChange,
                ["maxAbsErrorVsForward"] = maxError,
                ["samples"] = y.GetLength(0),
                ["integrator"] = parsed.GetValue(integrator)!,
                ["pins"] = pinList.Count,
                ["reluCrossings"] = result.Crossings.Count,
                ["output"] = parsed.GetValue(output)!,
            });
            if (parsed.GetValue(plot) is { } plotDir) CliPlots.Diffuse(plotDir, result, forward, context, parsed);
            if (result.Converged) return 0;
            // Exit 3: a finished run whose outputs are written but whose stopping rule was not met; one line says so
            // even under --quiet, so a script never sees a bare non-zero exit.
            context.Error.WriteLine(FormattableString.Invariant(
                $"sheafcore: diffusion did not converge within --max-steps {options.MaximumSteps} (last change {result.FinalChange:G3} > --tol {options.Tolerance:G3}); outputs hold the state after the last step."));
            return 3;
        });
        return command;
    }
}

/// <summary>IProgress that runs synchronously on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>Checks of numeric flags: one-line usage errors naming the flag.</summary>
internal static class Flags
{
    public static double Positive(double value, string flag) =>
        double.IsFinite(value) && value > 0 ? value : throw new CliUsageException($"{flag} must be a positive number (got {value}).");

    public static double NonNegative(double value, string flag) =>
        double.IsFinite(value) && value >= 0 ? value : throw new CliUsageException($"{flag} must be a finite number ≥ 0 (got {value}).");

    public static double Rate(double value, string flag) =>
        value >= 0 && value < 1 ? value : throw new CliUsageException($"{flag} must lie in [0, 1) (got {value}).");

    public static int Positive(int value, string flag) =>
        value > 0 ? value : throw new CliUsageException($"{flag} must be a positive integer (got {value}).");

    public static int NonNegative(int value, string flag) =>
        value >= 0 ? value : throw new CliUsageException($"{flag} must be a non-negative integer (got {value}).");
}
