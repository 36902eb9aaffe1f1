using System.Globalization;

namespace SheafCore;

/// <summary>
/// A pinned neuron constraint (theory §4) on some coordinates of one stalk of a network sheaf: a hard pin holds
/// them at their targets (a Dirichlet condition, re-imposed after every step); a soft pin adds the energy
/// ½γ‖v − target‖², i.e. an edge to a pinned ghost vertex with coupling γ. Stalks are named x, z1, a1, …, z(k+1)
/// and out (the output stalk: z(k+1) for an identity output, a<sub>out</sub> otherwise). A pin on x replaces input values.
/// Targets are a scalar, one value per coordinate, or one row per sample.
/// </summary>
public sealed class NeuronPin
{
    private readonly double[]? _perCoordinate;
    private readonly double[,]? _perSample;

    private NeuronPin(string stalk, int[]? coordinates, double[]? perCoordinate, double[,]? perSample, double? coupling)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stalk);
        if (coordinates is not null && coordinates.Distinct().Count() != coordinates.Length)
            throw new ArgumentException("A coordinate is listed twice.", nameof(coordinates));
        if (coordinates is not null && coordinates.Any(c => c < 0))
            throw new ArgumentOutOfRangeException(nameof(coordinates), "Coordinates must be non-negative.");
        if (coupling is { } g && !(double.IsFinite(g) && g >= 0))
            throw new ArgumentOutOfRangeException(nameof(coupling), g, "The coupling γ must be finite and non-negative.");
        if (perCoordinate is not null && perCoordinate.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("Pin targets must be finite.", "values");
        if (perSample is not null && perSample.Cast<double>().Any(v => !double.IsFinite(v)))
            throw new ArgumentException("Pin targets must be finite.", "valuesPerSample");
        Stalk = stalk.Trim();
        Coordinates = coordinates;
        _perCoordinate = perCoordinate;
        _perSample = perSample;
        Coupling = coupling;
    }

    /// <summary>The stalk name (x, z1, a1, …, out).</summary>
    public string Stalk { get; }

    /// <summary>The pinned coordinates of the stalk, or null for all of them.</summary>
    public IReadOnlyList<int>? Coordinates { get; }

    /// <summary>γ of a soft pin; null for a hard pin.</summary>
    public double? Coupling { get; }

    /// <summary>True for a hard (Dirichlet) pin.</summary>
    public bool IsHard => Coupling is null;

    /// <summary>Hard pin of coordinates (all if none given) to one value.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="value">Target.</param>
    /// <param name="coordinates">Coordinates; empty means the whole stalk.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Hard(string stalk, double value, params int[] coordinates) =>
        new(stalk, coordinates.Length == 0 ? null : coordinates, [value], null, null);

    /// <summary>Hard pin with one target per coordinate.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="coordinates">Coordinates, or null for the whole stalk.</param>
    /// <param name="values">One target per pinned coordinate.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Hard(string stalk, int[]? coordinates, double[] values) =>
        new(stalk, coordinates, (double[])(values ?? throw new ArgumentNullException(nameof(values))).Clone(), null, null);

    /// <summary>Hard pin with per-sample targets.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="coordinates">Coordinates, or null for the whole stalk.</param>
    /// <param name="valuesPerSample">Samples × pinned coordinates.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Hard(string stalk, int[]? coordinates, double[,] valuesPerSample) =>
        new(stalk, coordinates, null, (double[,])(valuesPerSample ?? throw new ArgumentNullException(nameof(valuesPerSample))).Clone(), null);

    /// <summary>Soft pin of coordinates (all if none given) toward one value with coupling γ.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="value">Target.</param>
    /// <param name="coupling">γ ≥ 0.</param>
    /// <param name="coordinates">Coordinates; empty means the whole stalk.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Soft(string stalk, double value, double coupling, params int[] coordinates) =>
        new(stalk, coordinates.Length == 0 ? null : coordinates, [value], null, coupling);

    /// <summary>Soft pin with one target per coordinate.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="coordinates">Coordinates, or null for the whole stalk.</param>
    /// <param name="values">One target per pinned coordinate.</param>
    /// <param name="coupling">γ ≥ 0.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Soft(string stalk, int[]? coordinates, double[] values, double coupling) =>
        new(stalk, coordinates, (double[])(values ?? throw new ArgumentNullException(nameof(values))).Clone(), null, coupling);

    /// <summary>Soft pin with per-sample targets.</summary>
    /// <param name="stalk">Stalk name.</param>
    /// <param name="coordinates">Coordinates, or null for the whole stalk.</param>
    /// <param name="valuesPerSample">Samples × pinned coordinates.</param>
    /// <param name="coupling">γ ≥ 0.</param>
    /// <returns>The pin.</returns>
    public static NeuronPin Soft(string stalk, int[]? coordinates, double[,] valuesPerSample, double coupling) =>
        new(stalk, coordinates, null, (double[,])(valuesPerSample ?? throw new ArgumentNullException(nameof(valuesPerSample))).Clone(), coupling);

    /// <summary>Parses the CLI pin syntax <c>STALK[:COORDS]=VALUE[@GAMMA]</c>, e.g. <c>z1:0=0.5</c>, <c>z1:0,2-3=1</c>,
    /// <c>z1=0@10</c>, <c>out=1</c>. COORDS is a comma list of indices or ranges a-b; without @GAMMA the pin is hard.</summary>
    /// <param name="spec">The text.</param>
    /// <returns>The pin.</returns>
    /// <exception cref="FormatException">The text does not follow the syntax; the message quotes it.</exception>
    public static NeuronPin Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int eq = spec.IndexOf('=');
        if (eq <= 0) throw new FormatException($"Pin '{spec}' must look like STALK[:COORDS]=VALUE[@GAMMA].");
        string left = spec[..eq].Trim(), right = spec[(eq + 1)..].Trim();
        string stalk = left;
        int[]? coordinates = null;
        int colon = left.IndexOf(':');
        if (colon >= 0)
        {
            stalk = left[..colon].Trim();
            var list = new List<int>();
            foreach (var part in left[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries))
            {
                var bounds = part.Split('-', StringSplitOptions.TrimEntries);
                if (bounds.Length is < 1 or > 2 || !bounds.All(b => int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                    throw new FormatException($"Pin '{spec}': '{part}' is not a coordinate index or range a-b.");
                int a = int.Parse(bounds[0], CultureInfo.InvariantCulture), b = int.Parse(bounds[^1], CultureInfo.InvariantCulture);
                if (b < a) throw new FormatException($"Pin '{spec}': range '{part}' is empty.");
                for (int c = a; c <= b; c++) list.Add(c);
            }
            coordinates = list.ToArray();
        }
        if (stalk.Length == 0) throw new FormatException($"Pin '{spec}' names no stalk.");
        double? coupling = null;
        int at = right.IndexOf('@');
        string valueText = at >= 0 ? right[..at] : right;
        if (at >= 0)
        {
            if (!double.TryParse(right[(at + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var g) || !double.IsFinite(g) || g < 0)
                throw new FormatException($"Pin '{spec}': the coupling after '@' must be a finite number ≥ 0.");
            coupling = g;
        }
        if (!double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new FormatException($"Pin '{spec}': '{valueText}' is not a finite number.");
        try
        {
            return new NeuronPin(stalk, coordinates, [value], null, coupling);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Pin '{spec}': {e.Message}", e);
        }
    }

    /// <summary>Resolves the stalk name against a network: the core stalk index (−1 for x) and its width.</summary>
    internal (int Index, int Width) Resolve(NeuralNetwork network)
    {
        int k = network.HiddenLayerCount;
        string s = Stalk.ToLowerInvariant();
        if (s == "x") return (-1, network.InputDimension);
        if (s == "out")
            return network.Output == OutputActivation.Identity ? (2 * k, network.OutputDimension) : (2 * k + 1, network.OutputDimension);
        if (s.Length >= 2 && (s[0] == 'z' || s[0] == 'a') && int.TryParse(s[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
        {
            if (s[0] == 'z' && layer >= 1 && layer <= k + 1) return (2 * (layer - 1), network.Layers[layer]);
            if (s[0] == 'a' && layer >= 1 && layer <= k) return (2 * (layer - 1) + 1, network.Layers[layer]);
        }
        var names = string.Join(", ", new[] { "x" }.Concat(network.ToSheaf().FreeBlockNames).Append("out"));
        throw new ArgumentException($"Unknown stalk '{Stalk}'; this network has {names}.", "pins");
    }

    /// <summary>The coordinates and the coordinates × batch target block for a network and batch size.</summary>
    internal (int Index, int[] Coordinates, double[] Targets) ToCore(NeuralNetwork network, int batch)
    {
        var (index, width) = Resolve(network);
        var coordinates = Coordinates?.ToArray() ?? Enumerable.Range(0, width).ToArray();
        foreach (var c in coordinates)
            if (c >= width) throw new ArgumentException($"Pin on {Stalk}: coordinate {c} does not exist (width {width}).", "pins");
        if (_perCoordinate is { Length: > 1 } && _perCoordinate.Length != coordinates.Length)
            throw new ArgumentException($"Pin on {Stalk}: {_perCoordinate.Length} targets for {coordinates.Length} coordinates.", "pins");
        if (_perSample is not null && (_perSample.GetLength(0) != batch || _perSample.GetLength(1) != coordinates.Length))
            throw new ArgumentException($"Pin on {Stalk}: per-sample targets must be {batch} × {coordinates.Length}.", "pins");
        var targets = new double[coordinates.Length * batch];
        for (int ci = 0; ci < coordinates.Length; ci++)
            for (int s = 0; s < batch; s++)
            {
                targets[ci * batch + s] = _perSample is not null ? _perSample[s, ci]
                    : _perCoordinate!.Length == 1 ? _perCoordinate[0]
                    : _perCoordinate[ci];
            }
        return (index, coordinates, targets);
    }
}
