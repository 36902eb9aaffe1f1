using SheafCore.Cli;

namespace SheafCore.Tests;

/// <summary>Runs the CLI in-process and captures stdout, stderr and the exit code.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }
}
