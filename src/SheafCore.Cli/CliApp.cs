using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SheafCore.Cli;

/// <summary>The <c>sheafcore</c> command line: builds the command tree and turns every failure into one line on
/// stderr with a non-zero exit code (2: usage error, 1: bad input or failed run).</summary>
public static class CliApp
{
    /// <summary>Runs the tool.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="output">Where results go (stdout).</param>
    /// <param name="error">Where errors go (stderr).</param>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        // Progress bars and tables only for the real console, and only when it is a terminal.
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var context = new CliContext(output, error, terminal);
        var root = new RootCommand("SheafCore: neural networks as cellular sheaves (harmonic extension, diffusion, training, diagnostics).");
        root.Options.Add(context.Quiet);
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(InitCommand.Create(context));
        root.Subcommands.Add(ForwardCommand.Create(context));
        root.Subcommands.Add(DiffuseCommand.Create(context));
        root.Subcommands.Add(XrayCommand.Create(context));
        root.Subcommands.Add(DiagnoseCommand.Create(context));
        root.Subcommands.Add(PlotCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(TaskCommand.Create(context));
        root.Subcommands.Add(NsdCommand.Create(context));
        root.Subcommands.Add(SweepCommand.Create(context));
        StrictNumbers.Apply(root);

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"sheafcore: {OneLine(parsed.Errors[0].Message)} (see 'sheafcore --help')");
            return 2;
        }
        if (parsed.Action is not System.CommandLine.Help.HelpAction && CliPaths.FirstProblem(parsed) is { } pathProblem)
        {
            error.WriteLine($"sheafcore: {pathProblem}");
            return 1;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = error });
        }
        catch (Exception e) when (e is SheafCoreFormatException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or CliUsageException)
        {
            error.WriteLine($"sheafcore: {OneLine(e.Message)}");
            return e is CliUsageException ? 2 : 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("sheafcore: cancelled.");
            return 130;
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>A flag value that makes no sense (e.g. an unknown method name); reported with exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>Writers and global options shared by all commands.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool terminal = false)
{
    private static readonly JsonSerializerOptions JsonLine = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "No progress output; results and errors only.",
        Recursive = true,
    };

    /// <summary>One instance shared by every command that supports it (forward, diffuse, xray, diagnose, train, nsd, sweep).</summary>
    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the result as one JSON object on stdout and nothing else (errors still go to stderr).",
    };

    /// <summary>True when progress and explanatory text are wanted: neither --quiet nor --json.</summary>
    public bool Chatty(ParseResult parsed) => !parsed.GetValue(Quiet) && !parsed.GetValue(Json);

    /// <summary>Spectre progress bars and tables: stdout is a terminal, and neither --quiet nor --json.</summary>
    public bool Rich(ParseResult parsed) => terminal && Chatty(parsed);

    /// <summary>Writes progress/explanatory text unless --quiet or --json.</summary>
    public void Info(ParseResult parsed, string line)
    {
        if (Chatty(parsed)) Output.WriteLine(line);
    }

    /// <summary>Writes a result line (shown even with --quiet) unless --json.</summary>
    public void Result(ParseResult parsed, string line)
    {
        if (!parsed.GetValue(Json)) Output.WriteLine(line);
    }

    /// <summary>The result object: to the --report file (atomically) if given, and as one JSON line on stdout with --json.</summary>
    public void Emit(ParseResult parsed, string? reportPath, IReadOnlyDictionary<string, object> fields)
    {
        if (reportPath is not null) Reports.Write(reportPath, fields);
        if (parsed.GetValue(Json)) Output.WriteLine(JsonSerializer.Serialize(fields, JsonLine));
    }
}
