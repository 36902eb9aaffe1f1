namespace SheafCore;

/// <summary>
/// Per-column standardisation of a network's raw inputs, x' = (x − mean) / std, stored in the model JSON as
/// <c>"inputScaling": {"mean": […], "std": […]}</c> (CLI contract, <c>train --standardize</c>). The network's weights act
/// on the standardised inputs; the scaling is not folded into W<sup>(1)</sup>, b<sup>(1)</sup>.
/// </summary>
/// <example><code>
/// var scaling = InputScaling.FromData(trainInputs);
/// double[,] standardized = scaling.Apply(rawInputs);
/// </code></example>
public sealed class InputScaling
{
    private readonly double[] _mean;
    private readonly double[] _std;

    /// <summary>Creates a scaling from explicit column means and standard deviations.</summary>
    /// <param name="mean">Column means, finite.</param>
    /// <param name="std">Column standard deviations, finite and positive; as many as <paramref name="mean"/>.</param>
    /// <exception cref="ArgumentException">Empty, lengths differ, a mean is not finite, or a std is not finite and positive.</exception>
    public InputScaling(IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0) throw new ArgumentException("At least one column is needed.", nameof(mean));
        if (std.Count != mean.Count)
            throw new ArgumentException($"Expected {mean.Count} standard deviations (one per mean), got {std.Count}.", nameof(std));
        for (int j = 0; j < mean.Count; j++)
        {
            if (!double.IsFinite(mean[j])) throw new ArgumentException($"mean[{j}] is {mean[j]}; it must be finite.", nameof(mean));
            if (!double.IsFinite(std[j]) || std[j] <= 0)
                throw new ArgumentException($"std[{j}] is {std[j]}; it must be finite and positive.", nameof(std));
        }
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    /// <summary>The column means.</summary>
    public IReadOnlyList<double> Mean => Array.AsReadOnly(_mean);

    /// <summary>The column standard deviations (all positive).</summary>
    public IReadOnlyList<double> Std => Array.AsReadOnly(_std);

    /// <summary>The number of input columns.</summary>
    public int Dimension => _mean.Length;

    /// <summary>The training set's column means and population standard deviations (std 1 for a constant column).</summary>
    /// <param name="inputs">Samples × columns, at least one row, all finite.</param>
    /// <returns>The scaling.</returns>
    /// <exception cref="ArgumentException">No rows or columns, or a NaN/infinite value.</exception>
    public static InputScaling FromData(double[,] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int rows = inputs.GetLength(0), cols = inputs.GetLength(1);
        if (rows == 0 || cols == 0) throw new ArgumentException("At least one sample and one column are needed.", nameof(inputs));
        var mean = new double[cols];
        var std = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double s = 0;
            for (int i = 0; i < rows; i++)
            {
                if (!double.IsFinite(inputs[i, j]))
                    throw new ArgumentException($"Sample {i}, feature {j} is {inputs[i, j]}; only finite numbers are allowed.", nameof(inputs));
                s += inputs[i, j];
            }
            mean[j] = s / rows;
            double v = 0;
            for (int i = 0; i < rows; i++) v += (inputs[i, j] - mean[j]) * (inputs[i, j] - mean[j]);
            std[j] = v > 0 ? Math.Sqrt(v / rows) : 1.0;
        }
        return new InputScaling(mean, std);
    }

    /// <summary>A standardised copy, (x − mean) / std column by column.</summary>
    /// <param name="inputs">Samples × <see cref="Dimension"/> raw inputs.</param>
    /// <returns>The standardised inputs (a new array).</returns>
    /// <exception cref="ArgumentException">The column count is not <see cref="Dimension"/>.</exception>
    public double[,] Apply(double[,] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.GetLength(1) != _mean.Length)
            throw new ArgumentException($"The scaling has {_mean.Length} columns but the inputs have {inputs.GetLength(1)}.", nameof(inputs));
        var result = new double[inputs.GetLength(0), _mean.Length];
        for (int i = 0; i < inputs.GetLength(0); i++)
            for (int j = 0; j < _mean.Length; j++) result[i, j] = (inputs[i, j] - _mean[j]) / _std[j];
        return result;
    }
}
