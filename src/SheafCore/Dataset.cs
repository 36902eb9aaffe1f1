using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// A labelled data set for training: inputs (samples × n<sub>0</sub>) and targets (samples × n<sub>out</sub>). Regression
/// targets are any finite numbers; binary (sigmoid) targets lie in [0, 1]; multi-class (softmax) targets are one-hot rows
/// (use <see cref="FromLabels"/> for integer labels). Immutable; values are copied in.
/// </summary>
public sealed class Dataset
{
    private Dataset(double[] inputs, double[] targets, int count, int inputDimension, int targetDimension)
    {
        Core = new TrainingData(inputs, targets, count);
        InputDimension = inputDimension;
        TargetDimension = targetDimension;
    }

    internal TrainingData Core { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Core.Count;

    /// <summary>Input columns n<sub>0</sub>.</summary>
    public int InputDimension { get; }

    /// <summary>Target columns.</summary>
    public int TargetDimension { get; }

    /// <summary>Creates a data set from inputs and targets with one sample per row.</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>, at least one row, finite.</param>
    /// <param name="targets">Samples × n<sub>out</sub>, the same number of rows, finite.</param>
    /// <returns>The data set.</returns>
    /// <exception cref="ArgumentException">No rows or columns, row counts differ, or a value is NaN or infinite
    /// (the message names the row and column).</exception>
    public static Dataset Create(double[,] inputs, double[,] targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.GetLength(0) == 0) throw new ArgumentException("The data set is empty; at least one sample is needed.", nameof(inputs));
        if (inputs.GetLength(1) == 0) throw new ArgumentException("At least one input column is needed.", nameof(inputs));
        if (targets.GetLength(1) == 0) throw new ArgumentException("At least one target column is needed.", nameof(targets));
        if (targets.GetLength(0) != inputs.GetLength(0))
            throw new ArgumentException($"There are {inputs.GetLength(0)} input rows but {targets.GetLength(0)} target rows.", nameof(targets));
        return new Dataset(
            Matrices.ToFeatureMajor(inputs, nameof(inputs)), Matrices.ToFeatureMajor(targets, nameof(targets)),
            inputs.GetLength(0), inputs.GetLength(1), targets.GetLength(1));
    }

    /// <summary>Creates a classification data set from integer labels 0 … C−1, stored one-hot.</summary>
    /// <param name="inputs">Samples × n<sub>0</sub>.</param>
    /// <param name="labels">One label per row, each in 0 … <paramref name="classCount"/> − 1.</param>
    /// <param name="classCount">C ≥ 2.</param>
    /// <returns>The data set (targets samples × C, one-hot).</returns>
    /// <exception cref="ArgumentException">Row counts differ, a label is out of range (the row is named), or an input is not finite.</exception>
    public static Dataset FromLabels(double[,] inputs, IReadOnlyList<int> labels, int classCount)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (labels.Count != inputs.GetLength(0))
            throw new ArgumentException($"There are {inputs.GetLength(0)} input rows but {labels.Count} labels.", nameof(labels));
        var targets = new double[labels.Count, classCount];
        for (int i = 0; i < labels.Count; i++)
        {
            if (labels[i] < 0 || labels[i] >= classCount)
                throw new ArgumentException($"Row {i}: label {labels[i]} is outside 0..{classCount - 1}.", nameof(labels));
            targets[i, labels[i]] = 1.0;
        }
        return Create(inputs, targets);
    }

    /// <summary>The inputs, samples × n<sub>0</sub> (a copy).</summary>
    /// <returns>A new matrix.</returns>
    public double[,] GetInputs() => Matrices.ToSampleMajor(Core.Inputs, InputDimension, Count);

    /// <summary>The targets, samples × n<sub>out</sub> (a copy).</summary>
    /// <returns>A new matrix.</returns>
    public double[,] GetTargets() => Matrices.ToSampleMajor(Core.Targets, TargetDimension, Count);

    /// <summary>Checks the shapes against a network and the targets against its output activation.</summary>
    internal void CheckAgainst(NeuralNetwork network, string parameterName)
    {
        if (InputDimension != network.InputDimension)
            throw new ArgumentException($"The data has {InputDimension} input columns but the network takes {network.InputDimension}.", parameterName);
        if (TargetDimension != network.OutputDimension)
            throw new ArgumentException($"The data has {TargetDimension} target columns but the network has {network.OutputDimension} outputs.", parameterName);
        var t = Core.Targets;
        int n = TargetDimension, count = Count;
        switch (network.Output)
        {
            case OutputActivation.Sigmoid:
                for (int c = 0; c < n; c++)
                    for (int i = 0; i < count; i++)
                        if (t[c * count + i] is < 0 or > 1)
                            throw new ArgumentException($"Row {i}, target {c}: {t[c * count + i]} is outside [0, 1] (binary targets are 0/1 probabilities).", parameterName);
                break;
            case OutputActivation.Softmax:
                for (int i = 0; i < count; i++)
                {
                    double sum = 0;
                    for (int c = 0; c < n; c++)
                    {
                        double v = t[c * count + i];
                        if (v is < 0 or > 1)
                            throw new ArgumentException($"Row {i}, target {c}: {v} is outside [0, 1] (multi-class targets are one-hot rows).", parameterName);
                        sum += v;
                    }
                    if (Math.Abs(sum - 1) > 1e-9)
                        throw new ArgumentException($"Row {i}: the targets sum to {sum}, not 1 (multi-class targets are one-hot rows).", parameterName);
                }
                break;
        }
    }
}
