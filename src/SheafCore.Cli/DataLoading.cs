namespace SheafCore.Cli;

/// <summary>Reading the input columns of a data CSV as the CLI contract describes.</summary>
internal static class DataLoading
{
    /// <summary>The model's inputs from a data CSV, with the model's stored <see cref="NeuralNetwork.InputScaling"/> applied:
    /// the one place where commands that read inputs for a model (forward, diffuse, xray, train, diagnose, …) get them.</summary>
    public static double[,] ReadInputs(string path, NeuralNetwork network, string? columnNames) =>
        network.ScaleInputs(ReadRawInputs(path, network.InputDimension, columnNames));

    /// <summary>The first <paramref name="inputDimension"/> columns, or the named ones, unscaled.</summary>
    public static double[,] ReadRawInputs(string path, int inputDimension, string? columnNames)
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
