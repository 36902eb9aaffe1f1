using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text;

namespace SheafCore.Cli;

/// <summary>Flags that name files or folders are checked once, after parsing and before any work, so that a bad path
/// is one line naming the flag (not a .NET message about a parameter called 'path' or a temporary file), and so that
/// a command with several outputs never writes the first and then fails on the second. The readers still report
/// what is wrong inside a file; this only checks that the path can be what the flag needs.</summary>
internal static class CliPaths
{
    private enum Kind { InputFile, InputFolder, OutputFile, OutputFolder }

    private sealed record Role(Kind Kind, Func<string, string?> Extract);

    // Options are created per run; a weak table lets them go with their command tree.
    private static readonly ConditionalWeakTable<Option, Role> Roles = new();

    // Linux NAME_MAX; AtomicFile's temporary file adds ".{pid}.{guid}.tmp" and a leading dot to the name.
    private const int MaxNameBytes = 255;
    private const int TemporarySuffixBytes = 1 + 1 + 10 + 1 + 32 + 4;

    /// <summary>Marks an option whose value (or the part <paramref name="extract"/> picks from it) is a file to read.</summary>
    public static TOption InputFile<TOption>(TOption option, Func<string, string?>? extract = null) where TOption : Option => Mark(option, Kind.InputFile, extract);

    /// <summary>Marks an option whose value is a folder to read.</summary>
    public static TOption InputFolder<TOption>(TOption option) where TOption : Option => Mark(option, Kind.InputFolder, null);

    /// <summary>Marks an option whose value is a file to write (atomically).</summary>
    public static TOption OutputFile<TOption>(TOption option) where TOption : Option => Mark(option, Kind.OutputFile, null);

    /// <summary>Marks an option whose value is a folder to write into (created if missing).</summary>
    public static TOption OutputFolder<TOption>(TOption option) where TOption : Option => Mark(option, Kind.OutputFolder, null);

    private static TOption Mark<TOption>(TOption option, Kind kind, Func<string, string?>? extract) where TOption : Option
    {
        Roles.AddOrUpdate(option, new Role(kind, extract ?? (v => v)));
        return option;
    }

    /// <summary>The first problem with a path given to a marked flag of the parsed command, or null.</summary>
    public static string? FirstProblem(ParseResult parsed)
    {
        foreach (var option in parsed.CommandResult.Command.Options)
        {
            if (!Roles.TryGetValue(option, out var role) || parsed.GetResult(option) is not { Implicit: false } result) continue;
            foreach (var token in result.Tokens)
            {
                if (role.Extract(token.Value) is not { } path) continue; // a malformed LABEL=FILE: the command names it
                if (Problem(role.Kind, path) is { } problem) return $"{option.Name}: {problem}";
            }
        }
        return null;
    }

    private static string? Problem(Kind kind, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "the path is empty.";
        if (path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0) return $"the path '{Show(path)}' contains a control character that no file name can hold.";
        string full = Path.GetFullPath(path);
        switch (kind)
        {
            case Kind.InputFile:
                if (Directory.Exists(full)) return $"'{Show(path)}' is a folder, not a file.";
                if (!File.Exists(full)) return $"no file '{Show(path)}'.";
                return null;
            case Kind.InputFolder:
                if (File.Exists(full)) return $"'{Show(path)}' is a file, not a folder.";
                if (!Directory.Exists(full)) return $"no folder '{Show(path)}'.";
                return null;
            case Kind.OutputFile:
                if (Path.EndsInDirectorySeparator(path) || Directory.Exists(full)) return $"'{Show(path)}' is a folder; give a file name.";
                int bytes = Encoding.UTF8.GetByteCount(Path.GetFileName(full));
                if (bytes + TemporarySuffixBytes > MaxNameBytes)
                    return $"the file name is {bytes} bytes long; at most {MaxNameBytes - TemporarySuffixBytes} (the atomic save writes a longer temporary name beside it).";
                string parent = Path.GetDirectoryName(full) ?? full;
                if (File.Exists(parent)) return $"'{Show(parent)}' is a file, not a folder.";
                if (!Directory.Exists(parent)) return $"the folder '{Show(parent)}' does not exist.";
                return null;
            default:
                if (File.Exists(full)) return $"'{Show(path)}' is a file, not a folder.";
                for (var dir = new DirectoryInfo(full); dir is not null; dir = dir.Parent)
                {
                    if (Encoding.UTF8.GetByteCount(dir.Name) > MaxNameBytes) return $"the folder name '{Show(dir.Name)}' is longer than {MaxNameBytes} bytes.";
                    if (File.Exists(dir.FullName)) return $"'{Show(dir.FullName)}' is a file, not a folder.";
                    if (Directory.Exists(dir.FullName)) break;
                }
                return null;
        }
    }

    /// <summary>The path as it can appear in a one-line message (control characters escaped).</summary>
    private static string Show(string path)
    {
        var sb = new StringBuilder(path.Length);
        foreach (char c in path) sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        return sb.ToString();
    }
}
