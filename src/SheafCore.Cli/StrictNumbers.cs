using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SheafCore.Cli;

/// <summary>Numeric flags are read in the invariant culture with no thousands separators: the default parser would
/// turn <c>--dt 1,5</c> into 15 (and, under a culture with ',' as the decimal point, <c>--dt 0.01</c> into 1).</summary>
internal static class StrictNumbers
{
    /// <summary>Gives every int, long and double option of the tree (nullable or not) the strict parser.</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<double> o: o.CustomParser = r => Real(r, o.Name) ?? 0; break;
                case Option<double?> o: o.CustomParser = r => Real(r, o.Name); break;
                case Option<int> o: o.CustomParser = r => (int)(Integer(r, o.Name, int.MinValue, int.MaxValue) ?? 0); break;
                case Option<int?> o: o.CustomParser = r => (int?)Integer(r, o.Name, int.MinValue, int.MaxValue); break;
                case Option<long> o: o.CustomParser = r => Integer(r, o.Name, long.MinValue, long.MaxValue) ?? 0; break;
                case Option<long?> o: o.CustomParser = r => Integer(r, o.Name, long.MinValue, long.MaxValue); break;
            }
        }
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    private static string? Token(ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 1) return result.Tokens[0].Value;
        result.AddError($"{name} expects one value.");
        return null;
    }

    private static double? Real(ArgumentResult result, string name)
    {
        if (Token(result, name) is not { } text) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        result.AddError($"{name}: '{text}' is not a number (write it like 0.01 or 1e-9).");
        return null;
    }

    private static long? Integer(ArgumentResult result, string name, long min, long max)
    {
        if (Token(result, name) is not { } text) return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        result.AddError($"{name}: '{text}' is not an integer in [{min}, {max}].");
        return null;
    }
}
