namespace SheafCore.Cli;

/// <summary>Reading the input columns of a data CSV as the CLI contract describes.</summary>
internal static class DataLoading
{
    /// <summary>The first <paramref name="inputDimension"/> columns, or the named ones.</summary>
    public static double[,] ReadInputs(string path, int inputDimension, string? columnNames)
    {
        var table = CsvTable.Load(path);
        if (!string.IsNullOrWhiteSpace(columnNames))
        {
            var names = columnNames.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (names.Length != inputDimension)
                throw new CliUsageException($"--inputs names {names.Length} columns but the model takes {inputDimension} inputs.");
            foreach (var n in names)
                if (!table.Columns.Contains(n))
                    throw new SheafCoreFormatException(path, "header", $"no column named '{n}' (given by --inputs); columns are {string.Join(",", table.Columns)}.");
            return table.Select(names);
        }
        if (table.Columns.Count < inputDimension)
            throw new SheafCoreFormatException(path, "header", $"has {table.Columns.Count} columns but the model takes {inputDimension} inputs.");
        return table.SelectRange(0, inputDimension);
    }
}
