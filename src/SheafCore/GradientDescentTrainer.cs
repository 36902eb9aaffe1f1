using System.Diagnostics;
using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// The backprop baseline: full-batch gradient descent (the paper's "SGD", θ −= lr·∇θ) or Adam, with exact gradients of the
/// mean loss by reverse mode through the network (MSE for identity, binary / categorical cross-entropy for sigmoid / softmax).
/// Started from the same initial network it compares directly with <see cref="SheafTrainer"/>.
/// </summary>
public sealed class GradientDescentTrainer
{
    /// <summary>Creates a trainer.</summary>
    /// <param name="options">Settings (null: SGD, lr 0.005, 100 × 1000 steps).</param>
    public GradientDescentTrainer(GradientDescentOptions? options = null) => Options = options ?? new GradientDescentOptions();

    /// <summary>The settings.</summary>
    public GradientDescentOptions Options { get; }

    /// <summary>Trains a copy of <paramref name="initial"/> on <paramref name="train"/>.</summary>
    /// <param name="initial">The initial network (not modified); the trained one keeps its <see cref="NeuralNetwork.InputScaling"/>.</param>
    /// <param name="train">Training data, inputs already scaled (<see cref="NeuralNetwork.ScaleInputs"/>).</param>
    /// <returns>The report.</returns>
    public TrainingReport Fit(NeuralNetwork initial, Dataset train) => Fit(initial, train, null, null, CancellationToken.None);

    /// <summary>Trains a copy of <paramref name="initial"/>; deterministic.</summary>
    /// <param name="initial">The initial network (not modified); the trained one keeps its <see cref="NeuralNetwork.InputScaling"/>.</param>
    /// <param name="train">Training data, inputs already scaled (<see cref="NeuralNetwork.ScaleInputs"/>) (its columns must match the network).</param>
    /// <param name="test">Optional test data, evaluated at every log row.</param>
    /// <param name="progress">Receives every log row (step 0 and each epoch); may be null.</param>
    /// <param name="cancellationToken">Cancels the run (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>The trained network and the log.</returns>
    /// <exception cref="ArgumentException">Data that do not match the network or invalid settings (named).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public TrainingReport Fit(NeuralNetwork initial, Dataset train, Dataset? test, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(train);
        train.CheckAgainst(initial, nameof(train));
        test?.CheckAgainst(initial, nameof(test));
        var o = Options;
        var settings = new GradientDescentSettings(
            (GradientMethod)(int)o.Method, o.LearningRate, o.Epochs, o.StepsPerEpoch, o.Beta1, o.Beta2, o.Epsilon);
        Backprop.validate(settings);
        var mlp = initial.Core.Clone();
        var callback = progress is null ? null : new Action<TrainingLogEntry>(e => progress.Report(TrainingProgress.From(e)));
        var clock = Stopwatch.StartNew();
        var result = Backprop.train(mlp, train.Core, test?.Core!, settings, callback!, cancellationToken);
        clock.Stop();
        return new TrainingReport(new NeuralNetwork(mlp, initial.InputScaling), result.Log.Select(TrainingProgress.From).ToArray(), result.Steps, result.Diverged, clock.Elapsed, null);
    }

    /// <summary>The exact gradient of the mean loss at <paramref name="network"/> by reverse mode.</summary>
    /// <param name="network">The network.</param>
    /// <param name="data">Inputs and targets.</param>
    /// <param name="weightGradients">∂L/∂W<sup>(ℓ)</sup>, ℓ = 1 … k+1 (n<sub>ℓ</sub> × n<sub>ℓ−1</sub>).</param>
    /// <param name="biasGradients">∂L/∂b<sup>(ℓ)</sup>.</param>
    /// <returns>The mean loss L.</returns>
    public static double Gradient(NeuralNetwork network, Dataset data, out double[][,] weightGradients, out double[][] biasGradients)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        data.CheckAgainst(network, nameof(data));
        var ws = new BackpropWorkspace(network.Core, data.Count);
        double loss = Backprop.gradient(network.Core, data.Core.Inputs, data.Core.Targets, ws);
        var layers = network.Core.Layers;
        weightGradients = ws.GradW.Select((g, l) => Matrices.ToArray2D(g, layers[l + 1], layers[l])).ToArray();
        biasGradients = ws.GradB.Select(g => (double[])g.Clone()).ToArray();
        return loss;
    }
}
