namespace SheafCore;

/// <summary>How the extreme eigenpairs of L<sub>Ω</sub> are computed.</summary>
public enum SpectralMethod
{
    /// <summary>Matrix-free Lanczos with full reorthogonalisation (default).</summary>
    Lanczos = 0,

    /// <summary>Dense L<sub>Ω</sub> and a full Jacobi eigendecomposition (the check; O(dim Ω³)).</summary>
    Dense = 1,
}

/// <summary>
/// The spectral "X-ray" of the restricted Laplacian L<sub>Ω</sub>(σ) at one sample's activation pattern (theory §7):
/// λ<sub>min</sub> sets the diffusion rate, λ<sub>max</sub> the stiffness, κ how uniformly information propagates; the
/// per-block energy of the Fiedler (λ<sub>min</sub>) and top (λ<sub>max</sub>) eigenvectors shows where they live.
/// </summary>
public sealed class SpectralXRay
{
    internal SpectralXRay(Numerics.SpectralXray core) => Core = core;

    internal Numerics.SpectralXray Core { get; }

    /// <summary>λ<sub>min</sub>(L<sub>Ω</sub>) &gt; 0, the spectral gap.</summary>
    public double LambdaMin => Core.LambdaMin;

    /// <summary>λ<sub>max</sub>(L<sub>Ω</sub>).</summary>
    public double LambdaMax => Core.LambdaMax;

    /// <summary>κ = λ<sub>max</sub>/λ<sub>min</sub>.</summary>
    public double Condition => Core.Condition;

    /// <summary>Unit eigenvector of λ<sub>min</sub> (Ω order z1, a1, …, z(k+1)).</summary>
    public IReadOnlyList<double> FiedlerVector => Core.FiedlerVector;

    /// <summary>Unit eigenvector of λ<sub>max</sub>.</summary>
    public IReadOnlyList<double> TopVector => Core.TopVector;

    /// <summary>Free block names z1, a1, …, z(k+1).</summary>
    public IReadOnlyList<string> BlockNames => Core.BlockNames;

    /// <summary>Fraction of the Fiedler vector's squared norm on each block (sums to 1).</summary>
    public IReadOnlyList<double> FiedlerBlockEnergy => Core.FiedlerBlockEnergy;

    /// <summary>Fraction of the top vector's squared norm on each block (sums to 1).</summary>
    public IReadOnlyList<double> TopBlockEnergy => Core.TopBlockEnergy;

    /// <summary>M = max(1, max<sub>l≥2</sub>‖W<sup>(l)</sup>‖₂).</summary>
    public double WeightNormBound => Core.WeightNormBound;

    /// <summary>(1 + M)², an upper bound on λ<sub>max</sub> for every activation pattern.</summary>
    public double LambdaMaxUpperBound => Core.LambdaMaxUpperBound;

    /// <summary>(Σ<sub>j=0..2k</sub> M<sup>⌈j/2⌉</sup>)<sup>−2</sup>, a lower bound on λ<sub>min</sub> for every activation pattern.</summary>
    public double LambdaMinLowerBound => Core.LambdaMinLowerBound;

    /// <summary>The method used.</summary>
    public SpectralMethod Method => (SpectralMethod)(int)Core.Method;

    /// <summary>Whether Lanczos met its tolerance (always true for the dense method).</summary>
    public bool Converged => Core.Converged;

    /// <summary>Lanczos iterations (0 for the dense method).</summary>
    public int Iterations => Core.Iterations;
}

/// <summary>Medians and quartiles of a batch of X-rays, and the stability of the eigenvectors across it.</summary>
public sealed class SpectralSummary
{
    internal SpectralSummary(Numerics.SpectralSummary s)
    {
        Count = s.Count;
        LambdaMin = Quartiles.From(s.LambdaMin);
        LambdaMax = Quartiles.From(s.LambdaMax);
        Condition = Quartiles.From(s.Condition);
        BlockNames = s.BlockNames;
        FiedlerBlockEnergy = s.FiedlerBlockEnergy.Select(Quartiles.From).ToArray();
        TopBlockEnergy = s.TopBlockEnergy.Select(Quartiles.From).ToArray();
        FiedlerStability = s.FiedlerStability;
        TopStability = s.TopStability;
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Quartiles of λ<sub>min</sub>.</summary>
    public Quartiles LambdaMin { get; }

    /// <summary>Quartiles of λ<sub>max</sub>.</summary>
    public Quartiles LambdaMax { get; }

    /// <summary>Quartiles of κ.</summary>
    public Quartiles Condition { get; }

    /// <summary>Free block names.</summary>
    public IReadOnlyList<string> BlockNames { get; }

    /// <summary>Per block: quartiles of the Fiedler energy fraction.</summary>
    public IReadOnlyList<Quartiles> FiedlerBlockEnergy { get; }

    /// <summary>Per block: quartiles of the top-vector energy fraction.</summary>
    public IReadOnlyList<Quartiles> TopBlockEnergy { get; }

    /// <summary>Mean |cos| between the Fiedler vectors of all sample pairs (NaN for one sample).</summary>
    public double FiedlerStability { get; }

    /// <summary>Mean |cos| between the top vectors of all sample pairs (NaN for one sample).</summary>
    public double TopStability { get; }
}

/// <summary>Lower quartile, median and upper quartile.</summary>
/// <param name="Lower">25th percentile.</param>
/// <param name="Median">50th percentile.</param>
/// <param name="Upper">75th percentile.</param>
public sealed record Quartiles(double Lower, double Median, double Upper)
{
    internal static Quartiles From(Numerics.Quartiles q) => new(q.Lower, q.Median, q.Upper);
}
