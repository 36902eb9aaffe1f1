using System.Text.Json;

namespace SheafCore.Cli;

/// <summary>JSON reports (camelCase fields), written atomically.</summary>
internal static class Reports
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public static void Write(string path, IReadOnlyDictionary<string, object> fields) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(fields, Options));
}
