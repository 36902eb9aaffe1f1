using SheafCore.Numerics;

namespace SheafCore;

/// <summary>
/// The stalks of a batch of network sheaves: the pinned inputs x and, per sample, every free stalk z<sup>(1)</sup>,
/// a<sup>(1)</sup>, …, z<sup>(k+1)</sup> and the output stalk a<sub>out</sub> = φ(z<sup>(k+1)</sup>) (for an identity output the
/// output stalk equals z<sup>(k+1)</sup>). Accessors return sample-major copies (one row per sample).
/// </summary>
public sealed class NetworkStalkState
{
    internal NetworkStalkState(NeuralNetwork network, double[] inputsFeatureMajor, NetworkStalks stalks)
    {
        Network = network;
        Inputs = inputsFeatureMajor;
        Core = stalks;
    }

    internal double[] Inputs { get; }

    internal NetworkStalks Core { get; }

    /// <summary>The network whose sheaf these stalks live on.</summary>
    public NeuralNetwork Network { get; }

    /// <summary>Number of samples B.</summary>
    public int BatchSize => Core.Batch;

    /// <summary>The pre-activation stalk z<sup>(layer)</sup>, samples × n<sub>layer</sub>.</summary>
    /// <param name="layer">1 … k+1.</param>
    /// <returns>A copy.</returns>
    public double[,] GetPreActivation(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layer, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, Network.HiddenLayerCount + 1);
        return Matrices.ToSampleMajor(Core.Z[layer - 1], Network.Layers[layer], BatchSize);
    }

    /// <summary>The post-activation stalk a<sup>(layer)</sup> (without its pinned ones-block), samples × n<sub>layer</sub>.</summary>
    /// <param name="layer">1 … k (hidden layers).</param>
    /// <returns>A copy.</returns>
    public double[,] GetActivation(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layer, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, Network.HiddenLayerCount);
        return Matrices.ToSampleMajor(Core.A[layer - 1], Network.Layers[layer], BatchSize);
    }

    /// <summary>The output stalk, samples × n<sub>k+1</sub>.</summary>
    public double[,] Outputs => Matrices.ToSampleMajor(Core.Output, Network.OutputDimension, BatchSize);

    /// <summary>The free coordinates ω of one sample in Ω order (z<sup>(1)</sup>, a<sup>(1)</sup>, …, z<sup>(k+1)</sup>).</summary>
    /// <param name="sample">0 … B−1.</param>
    /// <returns>A new array of length dim Ω.</returns>
    public double[] GetFreeCoordinates(int sample)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sample);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sample, BatchSize);
        var omega = new double[NetworkSheafBlocks.freeDim(Network.Core)];
        Core.GatherSample(sample, omega);
        return omega;
    }

    /// <summary>The state as stalk-state JSON (<c>{"z": […], "a": […]}</c>, sample-major; plus <c>"a_output"</c> for sigmoid/softmax).</summary>
    /// <returns>Compact JSON with round-trip numbers.</returns>
    public string ToJson() => StalkStateJson.Write(Network.Core, Core);

    internal NetworkStalks CloneCore()
    {
        var copy = new NetworkStalks(Network.Core, BatchSize);
        for (int l = 0; l < Core.Z.Length; l++) Array.Copy(Core.Z[l], copy.Z[l], Core.Z[l].Length);
        for (int l = 0; l < Core.A.Length; l++) Array.Copy(Core.A[l], copy.A[l], Core.A[l].Length);
        Array.Copy(Core.Output, copy.Output, Core.Output.Length);
        return copy;
    }
}
