namespace SheafCore;

/// <summary>The family of a restriction map, which decides how it is stored and applied.</summary>
public enum RestrictionMapFamily
{
    /// <summary>Any d<sub>e</sub> × d<sub>v</sub> matrix.</summary>
    Dense = 0,

    /// <summary>A square diagonal matrix, stored as its diagonal.</summary>
    Diagonal = 1,

    /// <summary>A square orthogonal matrix (QᵀQ = I, checked to 1e-10).</summary>
    Orthogonal = 2,

    /// <summary>The identity; stores nothing.</summary>
    Identity = 3,
}

/// <summary>
/// A restriction map F<sub>v⊴e</sub> : F(v) → F(e) from a vertex stalk R<sup>d<sub>v</sub></sup> to an edge stalk
/// R<sup>d<sub>e</sub></sup>. Immutable; create it with one of the factory methods.
/// </summary>
public sealed class RestrictionMap
{
    private RestrictionMap(RestrictionMapFamily family, int rows, int columns, double[] values)
    {
        Family = family;
        Rows = rows;
        Columns = columns;
        Values = values;
    }

    /// <summary>The family.</summary>
    public RestrictionMapFamily Family { get; }

    /// <summary>d<sub>e</sub>, the edge-stalk dimension (rows of the matrix).</summary>
    public int Rows { get; }

    /// <summary>d<sub>v</sub>, the vertex-stalk dimension (columns of the matrix).</summary>
    public int Columns { get; }

    internal double[] Values { get; }

    /// <summary>A general dense map.</summary>
    /// <param name="matrix">d<sub>e</sub> × d<sub>v</sub> (either may be 0); finite entries.</param>
    /// <returns>The map (the matrix is copied).</returns>
    /// <exception cref="ArgumentException">A NaN or infinite entry.</exception>
    public static RestrictionMap Dense(double[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return Dense(matrix.GetLength(0), matrix.GetLength(1), Matrices.ToRowMajor(matrix));
    }

    /// <summary>A general dense map from row-major values.</summary>
    /// <param name="rows">d<sub>e</sub> ≥ 0.</param>
    /// <param name="columns">d<sub>v</sub> ≥ 0.</param>
    /// <param name="rowMajor">rows × columns finite values.</param>
    /// <returns>The map (values are copied).</returns>
    /// <exception cref="ArgumentException">Wrong length or a non-finite value.</exception>
    public static RestrictionMap Dense(int rows, int columns, ReadOnlySpan<double> rowMajor)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (rowMajor.Length != rows * columns)
            throw new ArgumentException($"Expected {rows * columns} values for a {rows}×{columns} map, got {rowMajor.Length}.", nameof(rowMajor));
        CheckFinite(rowMajor, nameof(rowMajor));
        return new RestrictionMap(RestrictionMapFamily.Dense, rows, columns, rowMajor.ToArray());
    }

    /// <summary>A diagonal map diag(d).</summary>
    /// <param name="diagonal">The diagonal; its length is the stalk dimension on both sides.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">A non-finite value.</exception>
    public static RestrictionMap Diagonal(ReadOnlySpan<double> diagonal)
    {
        CheckFinite(diagonal, nameof(diagonal));
        return new RestrictionMap(RestrictionMapFamily.Diagonal, diagonal.Length, diagonal.Length, diagonal.ToArray());
    }

    /// <summary>An orthogonal map Q (QᵀQ = I).</summary>
    /// <param name="matrix">A square orthogonal matrix.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">Not square, non-finite, or not orthogonal to 1e-10.</exception>
    public static RestrictionMap Orthogonal(double[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int n = matrix.GetLength(0);
        if (matrix.GetLength(1) != n) throw new ArgumentException("An orthogonal map must be square.", nameof(matrix));
        var values = Matrices.ToRowMajor(matrix);
        Numerics.CellularSheaf.ValidateMap(nameof(matrix), Numerics.RestrictionFamily.Orthogonal, n, n, values);
        return new RestrictionMap(RestrictionMapFamily.Orthogonal, n, n, values);
    }

    /// <summary>The identity map on R<sup>dimension</sup>.</summary>
    /// <param name="dimension">≥ 0.</param>
    /// <returns>The map.</returns>
    public static RestrictionMap Identity(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        return new RestrictionMap(RestrictionMapFamily.Identity, dimension, dimension, []);
    }

    private static void CheckFinite(ReadOnlySpan<double> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i])) throw new ArgumentException($"Value {i} is {values[i]}; only finite numbers are allowed.", name);
    }
}
