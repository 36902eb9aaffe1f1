namespace SheafCore;

/// <summary>The short names of the restriction-map families, as the <c>sheafcore nsd --model</c> flag, the reference
/// scripts and saved models spell them: <c>diag</c>, <c>orth</c>, <c>general</c> and <c>identity</c>.</summary>
public static class SheafFamilyNames
{
    private static readonly string[] Names = ["diag", "orth", "general", "identity"];

    private static readonly SheafFamily[] Families =
        [SheafFamily.Diagonal, SheafFamily.Orthogonal, SheafFamily.General, SheafFamily.Identity];

    /// <summary>Every short name, in the order of <see cref="SheafFamily"/>.</summary>
    public static IReadOnlyList<string> All { get; } = Array.AsReadOnly(Names);

    /// <summary>The short name of <paramref name="family"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined family.</exception>
    public static string ToShortName(this SheafFamily family)
    {
        int i = Array.IndexOf(Families, family);
        if (i < 0) throw new ArgumentOutOfRangeException(nameof(family), family, "Not a defined sheaf family.");
        return Names[i];
    }

    /// <summary>The family named <paramref name="name"/> (exact, lower case).</summary>
    /// <returns>False when the name is none of <see cref="All"/>.</returns>
    public static bool TryParse(string? name, out SheafFamily family)
    {
        int i = Array.IndexOf(Names, name);
        family = i < 0 ? default : Families[i];
        return i >= 0;
    }

    /// <summary>The family named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is none of <see cref="All"/>.</exception>
    public static SheafFamily Parse(string name) =>
        TryParse(name, out var family)
            ? family
            : throw new ArgumentException($"'{name}' is not a sheaf family; expected {string.Join(", ", Names)}.", nameof(name));
}
