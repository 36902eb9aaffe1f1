using System.Text.Json;
using System.Text.Json.Serialization;

namespace SheafCore.Cli;

/// <summary>JSON reports (camelCase fields), written atomically.</summary>
internal static class Reports
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Write(string path, IReadOnlyDictionary<string, object> fields) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(fields, Options));
}
