namespace SheafCore;

/// <summary>
/// A file or text could not be read as SheafCore data (model JSON, stalk-state JSON, CSV). The message names
/// the file and the row, column or field at fault, in one line.
/// </summary>
public sealed class SheafCoreFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file path (or a description such as "model JSON") that was being read.</param>
    /// <param name="location">Where in it: a row/column ("row 3, column x2") or a JSON field ("weights[1][0]").</param>
    /// <param name="problem">What is wrong, as a short sentence.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public SheafCoreFormatException(string source, string location, string problem, Exception? inner = null)
        : base(Compose(source, location, problem), inner)
    {
        SourceName = source;
        Location = location;
        Problem = problem;
    }

    /// <summary>The file path or description of what was read.</summary>
    public string SourceName { get; }

    /// <summary>The row, column or field at fault (empty when the whole input is at fault).</summary>
    public string Location { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }

    private static string Compose(string source, string location, string problem) =>
        string.IsNullOrEmpty(location) ? $"{source}: {problem}" : $"{source}: {location}: {problem}";
}
