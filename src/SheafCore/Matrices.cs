namespace SheafCore;

/// <summary>Conversions between C#'s sample-major <c>double[,]</c> and the core's feature-major batches.</summary>
internal static class Matrices
{
    /// <summary>Sample-major rows × cols → feature-major cols × rows (checks every value is finite).</summary>
    public static double[] ToFeatureMajor(double[,] samples, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(samples, parameterName);
        int rows = samples.GetLength(0), cols = samples.GetLength(1);
        var result = new double[rows * cols];
        for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
        {
            double v = samples[i, j];
            if (!double.IsFinite(v))
                throw new ArgumentException($"Sample {i}, feature {j} is {v}; only finite numbers are allowed.", parameterName);
            result[j * rows + i] = v;
        }
        return result;
    }

    /// <summary>Feature-major n × batch → sample-major batch × n.</summary>
    public static double[,] ToSampleMajor(double[] featureMajor, int n, int batch)
    {
        var result = new double[batch, n];
        for (int i = 0; i < n; i++)
        for (int s = 0; s < batch; s++)
            result[s, i] = featureMajor[i * batch + s];
        return result;
    }

    /// <summary>Row-major array → <c>double[,]</c>.</summary>
    public static double[,] ToArray2D(double[] rowMajor, int rows, int cols)
    {
        var result = new double[rows, cols];
        Buffer.BlockCopy(rowMajor, 0, result, 0, rows * cols * sizeof(double));
        return result;
    }

    /// <summary><c>double[,]</c> → row-major array.</summary>
    public static double[] ToRowMajor(double[,] matrix)
    {
        var result = new double[matrix.Length];
        Buffer.BlockCopy(matrix, 0, result, 0, matrix.Length * sizeof(double));
        return result;
    }

    public static double[,] ToArray2D(Numerics.DenseMatrix m) => ToArray2D(m.Values, m.Rows, m.Cols);
}
