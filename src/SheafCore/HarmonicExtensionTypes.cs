namespace SheafCore;

/// <summary>How <see cref="Sheaf.HarmonicExtension(IReadOnlyList{int}, ReadOnlySpan{double}, HarmonicExtensionOptions?)"/> solves.</summary>
public enum HarmonicExtensionMethod
{
    /// <summary>Sparse LDLᵀ when the interior has at most <see cref="HarmonicExtensionOptions.DirectLimit"/> coordinates (the dense
    /// pivoted LDLᵀ when L<sub>II</sub> turns out singular, so rank and null space are still exact), otherwise CG.</summary>
    Automatic = 0,

    /// <summary>Dense pivoted LDLᵀ of L<sub>II</sub>: exact rank, nullity and a null-space basis.</summary>
    Dense = 1,

    /// <summary>Matrix-free Jacobi-preconditioned conjugate gradients on the sparse Laplacian.</summary>
    ConjugateGradient = 2,

    /// <summary>Sparse LDLᵀ of L<sub>II</sub> (minimum-degree order, dense trailing block); when a pivot is below the tolerance
    /// (L<sub>II</sub> singular) the dense pivoted LDLᵀ runs instead and the result says <see cref="Dense"/>.</summary>
    SparseLdlt = 3,
}

/// <summary>What is known about the uniqueness of a harmonic extension.</summary>
public enum SolutionUniqueness
{
    /// <summary>L<sub>II</sub> is non-singular: the extension is the only one.</summary>
    Unique = 0,

    /// <summary>L<sub>II</sub> is singular: adding any combination of <see cref="HarmonicExtensionResult.NullSpaceBasis"/> gives another extension.</summary>
    NotUnique = 1,

    /// <summary>CG cannot tell; solve densely to find out.</summary>
    Unknown = 2,
}

/// <summary>Options of a pinned harmonic extension.</summary>
public sealed class HarmonicExtensionOptions
{
    /// <summary>Which solver; default <see cref="HarmonicExtensionMethod.Automatic"/>.</summary>
    public HarmonicExtensionMethod Method { get; init; } = HarmonicExtensionMethod.Automatic;

    /// <summary>Largest interior size solved by a direct (sparse LDLᵀ) method under <see cref="HarmonicExtensionMethod.Automatic"/>
    /// (default 1500). Above it CG runs: a singular L<sub>II</sub> falls back to the dense factorisation, which costs O(n³).</summary>
    public int DirectLimit { get; init; } = 1500;

    /// <summary>Dense: pivots below this times the largest count as zero (rank decision). CG: relative residual target. Default 1e-10.</summary>
    public double RelativeTolerance { get; init; } = 1e-10;

    /// <summary>CG iteration cap (default 10,000).</summary>
    public int MaximumIterations { get; init; } = 10_000;
}

/// <summary>The result of a pinned harmonic extension: x with x<sub>B</sub> given and L<sub>II</sub>x<sub>I</sub> = −L<sub>IB</sub>x<sub>B</sub>.</summary>
/// <param name="Solution">The full 0-cochain (boundary entries hold the given values).</param>
/// <param name="Method">The solver that ran (Dense, SparseLdlt or ConjugateGradient).</param>
/// <param name="Uniqueness">Unique, NotUnique, or Unknown (CG without structural evidence).</param>
/// <param name="Rank">Rank of L<sub>II</sub> (dense), or null when unknown.</param>
/// <param name="Nullity">Nullity of L<sub>II</sub> (dense), or null when unknown.</param>
/// <param name="NullSpaceBasis">Dense: an orthonormal basis of ker L<sub>II</sub>, embedded as full cochains zero on the boundary.
/// CG: only the structurally detected kernel vectors, possibly incomplete.</param>
/// <param name="RelativeResidual">‖L<sub>II</sub>x<sub>I</sub> + L<sub>IB</sub>x<sub>B</sub>‖ / ‖L<sub>IB</sub>x<sub>B</sub>‖.</param>
/// <param name="Converged">Dense: true. CG: whether the tolerance was met.</param>
/// <param name="Iterations">CG iterations (0 for dense).</param>
public sealed record HarmonicExtensionResult(
    double[] Solution,
    HarmonicExtensionMethod Method,
    SolutionUniqueness Uniqueness,
    int? Rank,
    int? Nullity,
    IReadOnlyList<double[]> NullSpaceBasis,
    double RelativeResidual,
    bool Converged,
    int Iterations);

/// <summary>The global sections H⁰ = ker δ of a sheaf.</summary>
/// <param name="Dimension">dim H⁰.</param>
/// <param name="Basis">An orthonormal basis, each a full 0-cochain.</param>
public sealed record GlobalSectionsResult(int Dimension, IReadOnlyList<double[]> Basis);
