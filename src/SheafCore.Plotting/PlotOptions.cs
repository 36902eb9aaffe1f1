namespace SheafCore.Plotting;

/// <summary>Size and title of a figure.</summary>
public sealed class PlotOptions
{
    /// <summary>Width in pixels (default 800).</summary>
    public int Width { get; init; } = 800;

    /// <summary>Height in pixels (default 500).</summary>
    public int Height { get; init; } = 500;

    /// <summary>Title (null: the figure's default title; empty: no title).</summary>
    public string? Title { get; init; }

    internal void Validate()
    {
        if (Width is < 100 or > 10_000) throw new ArgumentOutOfRangeException(nameof(Width), Width, "The width must lie in 100 … 10,000 pixels.");
        if (Height is < 100 or > 10_000) throw new ArgumentOutOfRangeException(nameof(Height), Height, "The height must lie in 100 … 10,000 pixels.");
    }
}

/// <summary>One loss curve: loss against training step.</summary>
public sealed class LossCurve
{
    /// <summary>Creates a curve.</summary>
    /// <param name="label">Legend text, e.g. "sheaf (train)".</param>
    /// <param name="steps">Step numbers.</param>
    /// <param name="losses">Losses, one per step (must be finite and positive to appear on the log axis; others are skipped).</param>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    public LossCurve(string label, IReadOnlyList<double> steps, IReadOnlyList<double> losses)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(losses);
        if (steps.Count != losses.Count) throw new ArgumentException($"{steps.Count} steps but {losses.Count} losses.", nameof(losses));
        if (steps.Count == 0) throw new ArgumentException("A loss curve needs at least one point.", nameof(steps));
        Label = label;
        Steps = steps.ToArray();
        Losses = losses.ToArray();
    }

    /// <summary>Legend text.</summary>
    public string Label { get; }

    /// <summary>Step numbers.</summary>
    public IReadOnlyList<double> Steps { get; }

    /// <summary>Losses.</summary>
    public IReadOnlyList<double> Losses { get; }

    /// <summary>The training loss of a run.</summary>
    /// <param name="label">Legend text.</param>
    /// <param name="report">The run (from <see cref="SheafTrainer"/> or <see cref="GradientDescentTrainer"/>).</param>
    /// <returns>The curve.</returns>
    public static LossCurve FromReport(string label, TrainingReport report) => FromReport(label, report, testLoss: false);

    /// <summary>The training or test loss of a run (test losses that are not finite, e.g. without a test set, are not drawn).</summary>
    /// <param name="label">Legend text.</param>
    /// <param name="report">The run.</param>
    /// <param name="testLoss">True for the test loss, false for the training loss.</param>
    /// <returns>The curve.</returns>
    public static LossCurve FromReport(string label, TrainingReport report, bool testLoss)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new LossCurve(label, report.Log.Select(p => (double)p.Step).ToArray(),
            report.Log.Select(p => testLoss ? p.TestLoss : p.TrainLoss).ToArray());
    }

    /// <summary>A column of a training log CSV (<c>step,trainLoss,testLoss,…</c>, as <c>train --log</c> writes it).</summary>
    /// <param name="label">Legend text.</param>
    /// <param name="logCsvPath">The log file.</param>
    /// <param name="column">Loss column (default trainLoss).</param>
    /// <returns>The curve.</returns>
    /// <exception cref="SheafCoreFormatException">The file is malformed or lacks the columns.</exception>
    public static LossCurve FromLogCsv(string label, string logCsvPath, string column = "trainLoss")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logCsvPath);
        ArgumentNullException.ThrowIfNull(column);
        string[] lines;
        try { lines = File.ReadAllLines(logCsvPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(logCsvPath, "", "cannot be read: " + e.Message, e);
        }
        if (lines.Length == 0) throw new SheafCoreFormatException(logCsvPath, "", "the file is empty (a header row is required).");
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        int stepColumn = header.IndexOf("step"), lossColumn = header.IndexOf(column);
        if (stepColumn < 0 || lossColumn < 0)
            throw new SheafCoreFormatException(logCsvPath, "header", $"needs columns 'step' and '{column}'; columns are {string.Join(",", header)}.");
        var steps = new List<double>();
        var losses = new List<double>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var cells = lines[i].Split(',');
            if (cells.Length != header.Count)
                throw new SheafCoreFormatException(logCsvPath, $"row {i + 1}", $"has {cells.Length} cells but the header has {header.Count} columns.");
            steps.Add(Number(cells[stepColumn], logCsvPath, i, "step"));
            losses.Add(Number(cells[lossColumn], logCsvPath, i, column));
        }
        if (steps.Count == 0) throw new SheafCoreFormatException(logCsvPath, "", "no data rows after the header.");
        return new LossCurve(label, steps, losses);
    }

    private static double Number(string cell, string path, int line, string column) =>
        double.TryParse(cell.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new SheafCoreFormatException(path, $"row {line + 1}, column {column}", $"'{cell.Trim()}' is not a finite number.");
}
