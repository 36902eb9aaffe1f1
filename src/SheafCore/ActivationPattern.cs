namespace SheafCore;

/// <summary>
/// An activation pattern σ of a network: for every hidden layer, which ReLUs are active (z ≥ 0). Each pattern
/// fixes the ReLU restriction maps R<sub>l</sub> = diag(σ<sub>l</sub>) and so an ordinary linear cellular sheaf F<sub>σ</sub>.
/// Immutable.
/// </summary>
public sealed class ActivationPattern
{
    private readonly bool[][] _masks;

    private ActivationPattern(bool[][] masks) => _masks = masks;

    /// <summary>Creates a pattern from one mask per hidden layer (true = active).</summary>
    /// <param name="masks">Masks for hidden layers 1 … k (copied).</param>
    /// <returns>The pattern.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="masks"/> or one of its entries is null.</exception>
    public static ActivationPattern FromMasks(IReadOnlyList<bool[]> masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        var copy = new bool[masks.Count][];
        for (int l = 0; l < masks.Count; l++)
            copy[l] = (bool[])(masks[l] ?? throw new ArgumentNullException(nameof(masks), $"Mask {l + 1} is null.")).Clone();
        return new ActivationPattern(copy);
    }

    /// <summary>A uniformly random pattern for a network, from a seed.</summary>
    /// <param name="network">The network whose hidden widths the pattern follows.</param>
    /// <param name="seed">Seed.</param>
    /// <returns>The pattern.</returns>
    public static ActivationPattern Random(NeuralNetwork network, int seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        var rng = new Numerics.Rng(seed);
        var masks = new bool[network.HiddenLayerCount][];
        for (int l = 0; l < masks.Length; l++)
        {
            masks[l] = new bool[network.Layers[l + 1]];
            for (int j = 0; j < masks[l].Length; j++) masks[l][j] = rng.NextDouble() < 0.5;
        }
        return new ActivationPattern(masks);
    }

    /// <summary>k, the number of hidden layers covered.</summary>
    public int HiddenLayerCount => _masks.Length;

    /// <summary>A copy of the mask of hidden layer <paramref name="layer"/> (1-based).</summary>
    /// <param name="layer">1 … k.</param>
    /// <returns>true where the ReLU is active.</returns>
    public bool[] GetMask(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layer, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, _masks.Length);
        return (bool[])_masks[layer - 1].Clone();
    }

    /// <summary>Number of active ReLUs over all hidden layers.</summary>
    public int ActiveCount => _masks.Sum(m => m.Count(b => b));

    internal double[][] ToCore(NeuralNetwork network, string parameterName)
    {
        if (_masks.Length != network.HiddenLayerCount)
            throw new ArgumentException($"The pattern covers {_masks.Length} hidden layers; the network has {network.HiddenLayerCount}.", parameterName);
        var result = new double[_masks.Length][];
        for (int l = 0; l < _masks.Length; l++)
        {
            if (_masks[l].Length != network.Layers[l + 1])
                throw new ArgumentException($"Mask {l + 1} has {_masks[l].Length} entries; hidden layer {l + 1} has width {network.Layers[l + 1]}.", parameterName);
            result[l] = _masks[l].Select(b => b ? 1.0 : 0.0).ToArray();
        }
        return result;
    }

    internal static ActivationPattern FromCore(double[][] masks) =>
        new(masks.Select(m => m.Select(v => v != 0.0).ToArray()).ToArray());
}
