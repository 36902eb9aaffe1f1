namespace SheafCore;

/// <summary>Pins for the heat equation on a general sheaf: hard pins hold coordinates fixed (Dirichlet), soft pins add
/// ½γ(x<sub>i</sub> − target)² to the energy. Build with the fluent methods; several soft pins on one coordinate add.</summary>
public sealed class SheafPins
{
    private readonly Dictionary<int, double> _hard = [];
    private readonly List<(int Coordinate, double Target, double Coupling)> _soft = [];

    /// <summary>Hard-pins a 0-cochain coordinate to a value.</summary>
    /// <param name="coordinate">Index into the 0-cochain.</param>
    /// <param name="value">Finite value.</param>
    /// <returns>This, for chaining.</returns>
    public SheafPins Hard(int coordinate, double value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coordinate);
        if (!double.IsFinite(value)) throw new ArgumentException("Pin values must be finite.", nameof(value));
        _hard[coordinate] = value;
        return this;
    }

    /// <summary>Hard-pins every coordinate of a vertex's stalk.</summary>
    /// <param name="sheaf">The sheaf (for the stalk's position).</param>
    /// <param name="vertex">Vertex index.</param>
    /// <param name="values">d<sub>v</sub> values.</param>
    /// <returns>This, for chaining.</returns>
    public SheafPins HardVertex(Sheaf sheaf, int vertex, ReadOnlySpan<double> values)
    {
        ArgumentNullException.ThrowIfNull(sheaf);
        int d = sheaf.StalkDimension(vertex), o = sheaf.VertexOffset(vertex);
        if (values.Length != d) throw new ArgumentException($"Vertex {vertex} has stalk dimension {d}; got {values.Length} values.", nameof(values));
        for (int r = 0; r < d; r++) Hard(o + r, values[r]);
        return this;
    }

    /// <summary>Soft-pins a coordinate toward a target with coupling γ ≥ 0.</summary>
    /// <param name="coordinate">Index into the 0-cochain.</param>
    /// <param name="target">Finite target.</param>
    /// <param name="coupling">γ ≥ 0.</param>
    /// <returns>This, for chaining.</returns>
    public SheafPins Soft(int coordinate, double target, double coupling)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coordinate);
        if (!double.IsFinite(target)) throw new ArgumentException("Pin targets must be finite.", nameof(target));
        if (!(double.IsFinite(coupling) && coupling >= 0)) throw new ArgumentOutOfRangeException(nameof(coupling), coupling, "γ must be finite and ≥ 0.");
        _soft.Add((coordinate, target, coupling));
        return this;
    }

    internal Numerics.SheafHeatPins ToCore(int n)
    {
        var pins = Numerics.SheafHeatPins.None(n);
        foreach (var (c, v) in _hard)
        {
            if (c >= n) throw new ArgumentException($"Pinned coordinate {c} is outside the 0-cochain (dimension {n}).", "pins");
            pins.HardMask[c] = true;
            pins.HardValues[c] = v;
        }
        if (_soft.Count == 0) return pins;
        var gamma = new double[n];
        var target = new double[n];
        foreach (var (c, t, g) in _soft)
        {
            if (c >= n) throw new ArgumentException($"Soft-pinned coordinate {c} is outside the 0-cochain (dimension {n}).", "pins");
            // Σ γ_i (x − t_i)² = (Σγ_i)(x − t̄)² + const with t̄ the γ-weighted mean target.
            target[c] = gamma[c] + g > 0 ? (gamma[c] * target[c] + g * t) / (gamma[c] + g) : t;
            gamma[c] += g;
        }
        return new Numerics.SheafHeatPins(pins.HardMask, pins.HardValues, gamma, target);
    }
}

/// <summary>Settings of a heat run x' = −α(Lx + γ⊙(x − target)) on a general sheaf.</summary>
public sealed class SheafDiffusionOptions
{
    /// <summary>Diffusion rate α (default 1).</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>Euler step (default 0.01); also the reference step of the adaptive stopping rule.</summary>
    public double TimeStep { get; init; } = 0.01;

    /// <summary>Stop when an Euler step of size <see cref="TimeStep"/> would change no free coordinate by this much (default 1e-9).</summary>
    public double Tolerance { get; init; } = 1e-9;

    /// <summary>Never stop before this many steps (default 5).</summary>
    public int MinimumSteps { get; init; } = 5;

    /// <summary>Step limit (default 100,000).</summary>
    public int MaximumSteps { get; init; } = 100_000;

    /// <summary>Euler (reference) or Adaptive (damped RKC2 under energy step control, stages from a Gershgorin bound).</summary>
    public DiffusionIntegrator Integrator { get; init; } = DiffusionIntegrator.Euler;
}

/// <summary>The outcome of a heat run on a general sheaf.</summary>
/// <param name="State">The final 0-cochain.</param>
/// <param name="Converged">The stopping rule was met.</param>
/// <param name="Steps">Accepted steps.</param>
/// <param name="LaplacianApplications">Products with L (including the adaptive integrator's spectral estimate).</param>
/// <param name="RejectedSteps">Adaptive steps rejected by the energy control (0 for Euler).</param>
/// <param name="TraceSteps">Steps at which the energy was recorded.</param>
/// <param name="EnergyTrace">E(x) = ½xᵀLx + ½Σγ(x − target)² at those steps.</param>
public sealed record SheafDiffusionResult(
    double[] State, bool Converged, int Steps, int LaplacianApplications, int RejectedSteps,
    IReadOnlyList<int> TraceSteps, IReadOnlyList<double> EnergyTrace);
