using System.CommandLine;

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
        var context = new CliContext(output, error);
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
internal sealed class CliContext(TextWriter output, TextWriter error)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "No progress output; results and errors only.",
        Recursive = true,
    };

    /// <summary>Writes progress/explanatory text unless --quiet.</summary>
    public void Info(ParseResult parsed, string line)
    {
        if (!parsed.GetValue(Quiet)) Output.WriteLine(line);
    }
}
