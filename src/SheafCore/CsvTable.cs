using System.Globalization;
using System.Text;

namespace SheafCore;

/// <summary>A numeric CSV table: a header row of column names, then one sample per row, numbers in invariant
/// culture. Reading checks every cell and reports the file, row and column of the first problem.</summary>
public sealed class CsvTable
{
    private readonly double[,] _values;

    private CsvTable(string[] columns, double[,] values)
    {
        Columns = columns;
        _values = values;
    }

    /// <summary>Column names from the header, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount => _values.GetLength(0);

    /// <summary>All values, rows × columns (a copy).</summary>
    public double[,] ToArray() => (double[,])_values.Clone();

    /// <summary>Reads a CSV file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The table.</returns>
    /// <exception cref="SheafCoreFormatException">Unreadable file, no header, no rows, ragged rows, duplicate column
    /// names, or a cell that is not a finite number; the message names the row and column.</exception>
    public static CsvTable Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SheafCoreFormatException(path, "", "cannot be read: " + e.Message, e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses CSV text.</summary>
    /// <param name="text">The CSV content.</param>
    /// <param name="source">A name for error messages (e.g. the path).</param>
    /// <returns>The table.</returns>
    /// <exception cref="SheafCoreFormatException">See <see cref="Load"/>.</exception>
    public static CsvTable Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var lines = text.Split('\n');
        int first = 0;
        while (first < lines.Length && lines[first].Trim().Length == 0) first++;
        if (first == lines.Length) throw new SheafCoreFormatException(source, "", "the file is empty (a header row is required).");
        var header = lines[first].TrimEnd('\r').Split(',').Select(c => c.Trim()).ToArray();
        if (header.All(h => double.TryParse(h, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            throw new SheafCoreFormatException(source, "row 1", "the first row is numeric; a header row of column names is required.");
        for (int c = 0; c < header.Length; c++)
        {
            if (header[c].Length == 0) throw new SheafCoreFormatException(source, $"row 1, column {c + 1}", "empty column name in the header.");
            for (int d = 0; d < c; d++)
                if (header[d] == header[c]) throw new SheafCoreFormatException(source, $"row 1, column {c + 1}", $"duplicate column name '{header[c]}'.");
        }
        var rows = new List<double[]>();
        for (int i = first + 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != header.Length)
                throw new SheafCoreFormatException(source, $"row {i + 1}", $"has {cells.Length} cells but the header has {header.Length} columns.");
            var row = new double[cells.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                var cell = cells[c].Trim();
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                    throw new SheafCoreFormatException(source, $"row {i + 1}, column {header[c]}", $"'{Shorten(cell)}' is not a number.");
                if (!double.IsFinite(row[c]))
                    throw new SheafCoreFormatException(source, $"row {i + 1}, column {header[c]}", $"'{Shorten(cell)}' is not a finite number.");
            }
            rows.Add(row);
        }
        if (rows.Count == 0) throw new SheafCoreFormatException(source, "", "no data rows after the header.");
        var values = new double[rows.Count, header.Length];
        for (int i = 0; i < rows.Count; i++)
            for (int c = 0; c < header.Length; c++) values[i, c] = rows[i][c];
        return new CsvTable(header, values);
    }

    /// <summary>The columns with the given names, in the given order, as samples × names.Count.</summary>
    /// <param name="names">Column names.</param>
    /// <returns>A new matrix.</returns>
    /// <exception cref="ArgumentException">A name is not a column.</exception>
    public double[,] Select(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var indices = names.Select(n =>
        {
            int i = Array.IndexOf((string[])Columns, n);
            return i >= 0 ? i : throw new ArgumentException($"No column named '{n}'; the columns are {string.Join(",", Columns)}.", nameof(names));
        }).ToArray();
        return SelectIndices(indices);
    }

    /// <summary>Columns [start, start + count) as samples × count.</summary>
    /// <param name="start">First column (0-based).</param>
    /// <param name="count">Number of columns.</param>
    /// <returns>A new matrix.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range exceeds the table.</exception>
    public double[,] SelectRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > Columns.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"The table has {Columns.Count} columns; columns {start}..{start + count - 1} were requested.");
        return SelectIndices(Enumerable.Range(start, count).ToArray());
    }

    private double[,] SelectIndices(int[] indices)
    {
        var result = new double[RowCount, indices.Length];
        for (int i = 0; i < RowCount; i++)
            for (int j = 0; j < indices.Length; j++) result[i, j] = _values[i, indices[j]];
        return result;
    }

    /// <summary>Writes a matrix as CSV with header <c>prefix0,prefix1,…</c>, numbers round-trip ("R"), atomically.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="values">Rows × columns.</param>
    /// <param name="prefix">Column-name prefix (default "y").</param>
    public static void Save(string path, double[,] values, string prefix = "y")
    {
        ArgumentNullException.ThrowIfNull(values);
        var sb = new StringBuilder();
        int cols = values.GetLength(1);
        sb.AppendJoin(',', Enumerable.Range(0, cols).Select(j => prefix + j.ToString(CultureInfo.InvariantCulture))).Append('\n');
        for (int i = 0; i < values.GetLength(0); i++)
        {
            for (int j = 0; j < cols; j++)
            {
                if (j > 0) sb.Append(',');
                sb.Append(values[i, j].ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private static string Shorten(string s) => s.Length <= 20 ? s : s[..20] + "…";
}
