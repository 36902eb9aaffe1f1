/// Laws of the spectral X-ray of the network sheaf (theory §2.6, §3.3, §7): the matrix-free restricted Laplacian, Lanczos
/// against the dense eigensolver, unitriangularity consequences (L_Ω ≻ 0, det = 1) and the pattern-independent bounds.
module SheafCore.Properties.SpectralProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance
open SheafCore.Properties.NetworkSheafProperties

/// A random free cochain for a network case (seeded from the case seed, so it replays).
let private randomCochain (seed: int) (n: int) =
    let rng = Rng(int64 seed + 17L)
    Array.init n (fun _ -> rng.Normal())

/// Lanczos extremes of a case's own random pattern.
let private lanczos (c: NetworkCase) =
    NetworkSpectrum.extremesLanczos (c.Mlp, c.Pattern, int64 c.Seed, NetworkSpectrum.DefaultTolerance)

/// ‖L·v − λ·v‖₂ with the dense L_Ω.
let private eigenResidual (l: DenseMatrix) (lambda: float) (v: float[]) =
    let lv = Dense.multiplyVector l v
    sqrt (Array.fold2 (fun acc a b -> acc + (a - lambda * b) * (a - lambda * b)) 0.0 lv v)

/// Tolerance of the determinant laws. Measured over 400 random cases (1–5 hidden layers, widths 1–40, dim Ω ≤ 440):
/// max |det δ_Ω − 1| = 2.9e-15 (LU with partial pivoting), max |det L_Ω − 1| = 3.8e-13 (squared Cholesky diagonal,
/// summed in logs); 1e-11 leaves a margin of about 25.
[<Literal>]
let DeterminantTolerance = 1e-11

[<Properties(Arbitrary = [| typeof<NetworkArbitraries> |], MaxTest = 200)>]
module ``Network spectrum`` =

    [<Property>]
    let ``matrix-free L_Ω apply equals the dense L_Ω·v`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let n = NetworkSheafBlocks.freeDim c.Mlp
        let v = randomCochain seed n
        let expected = Array.zeroCreate n
        let actual = Array.create n nan
        let workspace = Array.zeroCreate n
        NetworkSpectrum.applyRestrictedLaplacianReference (c.Mlp, c.Pattern, ReadOnlySpan v, Span expected)
        NetworkSpectrum.applyRestrictedLaplacian (c.Mlp, c.Pattern, ReadOnlySpan v, Span actual, Span workspace)
        let l = NetworkSheafBlocks.restrictedLaplacianDense c.Mlp c.Pattern
        // Summation order differs (δᵀ(δv) vs the assembled blocks): scale by ‖L‖_max·‖v‖_∞·n.
        maxAbsDiff expected actual <= 1e-13 * (1.0 + maxAbs l.Values) * (1.0 + maxAbs v) * float n

    [<Property>]
    let ``Lanczos extremes equal the dense eigenvalues to 1e-8`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 4 12
        let l = lanczos c
        let d = NetworkSpectrum.extremesDense (c.Mlp, c.Pattern)
        let lDense = NetworkSheafBlocks.restrictedLaplacianDense c.Mlp c.Pattern
        l.Converged
        && abs (l.LambdaMin - d.LambdaMin) <= 1e-8 * d.LambdaMin
        && abs (l.LambdaMax - d.LambdaMax) <= 1e-8 * d.LambdaMax
        // The Ritz vectors are eigenvectors too (residual relative to ‖L‖ = λ_max).
        && eigenResidual lDense l.LambdaMin l.MinVector <= 1e-8 * d.LambdaMax
        && eigenResidual lDense l.LambdaMax l.MaxVector <= 1e-8 * d.LambdaMax

    [<Property>]
    let ``L_Ω is positive definite and det δ_Ω = det L_Ω = 1 for every pattern`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let l = NetworkSheafBlocks.restrictedLaplacianDense c.Mlp c.Pattern
        let delta = NetworkSheafBlocks.restrictedCoboundaryDense c.Mlp c.Pattern
        let chol = DenseFactor.tryCholesky l
        let n = l.Rows
        chol.Succeeded
        && (let mutable logDet = 0.0
            for i in 0 .. n - 1 do
                logDet <- logDet + 2.0 * log chol.Factor[i, i]
            abs (exp logDet - 1.0) <= DeterminantTolerance)
        && abs (DenseFactor.determinant delta - 1.0) <= DeterminantTolerance
        // Dense eigenvalues only where the O(n³) Jacobi sweeps stay cheap.
        && (n > 150 || (DenseFactor.symmetricEigen l).Values[0] > 0.0)

    [<Property>]
    let ``the §3.3 bounds hold: λ_max ≤ (1 + M)² and λ_min ≥ (Σ M^⌈j/2⌉)^(−2)`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let e = lanczos c
        let m = NetworkSpectrum.weightNormBound c.Mlp
        e.Converged
        && e.LambdaMax <= NetworkSpectrum.lambdaMaxUpperBound m * (1.0 + 1e-9)
        && e.LambdaMin >= NetworkSpectrum.lambdaMinLowerBound (c.Mlp.HiddenCount, m) * (1.0 - 1e-9)

    [<Property>]
    let ``block energies lie in [0, 1] and sum to 1`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 4 12
        let x = NetworkSpectrum.xray (c.Mlp, c.Pattern, SpectralMethod.Lanczos, int64 seed)
        let ok (e: float[]) =
            e.Length = 2 * c.Mlp.HiddenCount + 1
            && Array.forall (fun v -> v >= 0.0 && v <= 1.0) e
            && abs (Array.sum e - 1.0) <= 1e-12
        ok x.FiedlerBlockEnergy && ok x.TopBlockEnergy

    [<Fact>]
    let ``X-ray of a random small net: κ = λ_max/λ_min, energies sum to 1, Lanczos and dense agree`` () =
        let c = NetworkGen.create 20260415 2 8
        let lz = NetworkSpectrum.xray (c.Mlp, c.Pattern, SpectralMethod.Lanczos, 1L)
        let dn = NetworkSpectrum.xray (c.Mlp, c.Pattern, SpectralMethod.Dense, 1L)
        Assert.True(lz.Converged)
        Assert.True(closeTo 1e-14 (lz.LambdaMax / lz.LambdaMin) lz.Condition)
        Assert.True(closeTo 1e-8 dn.Condition lz.Condition)
        Assert.True(lz.LambdaMinLowerBound <= lz.LambdaMin && lz.LambdaMax <= lz.LambdaMaxUpperBound)
        for e in [ lz.FiedlerBlockEnergy; lz.TopBlockEnergy; dn.FiedlerBlockEnergy; dn.TopBlockEnergy ] do
            Assert.True(abs (Array.sum e - 1.0) <= 1e-12)
        // Same sign convention on both paths, so the vectors agree entry by entry (λ_min, λ_max are simple here).
        Assert.True(maxAbsDiff dn.FiedlerVector lz.FiedlerVector <= 1e-6)
        Assert.True(maxAbsDiff dn.TopVector lz.TopVector <= 1e-6)

    [<Fact>]
    let ``batch X-ray, quartiles and stability are consistent`` () =
        let c = NetworkGen.create 7 2 10
        let xrays = NetworkSpectrum.xrayBatch (c.Mlp, ReadOnlySpan c.Inputs, c.Batch, SpectralMethod.Lanczos, 3L)
        Assert.Equal(c.Batch, xrays.Length)
        let s = NetworkSpectrum.summarise xrays
        Assert.True(s.LambdaMin.Lower <= s.LambdaMin.Median && s.LambdaMin.Median <= s.LambdaMin.Upper)
        Assert.True(c.Batch < 2 || (s.FiedlerStability >= 0.0 && s.FiedlerStability <= 1.0 + 1e-12))
        let q = NetworkSpectrum.quartiles (ReadOnlySpan [| 4.0; 1.0; 3.0; 2.0; 5.0 |])
        Assert.True(q.Lower = 2.0 && q.Median = 3.0 && q.Upper = 4.0)
        Assert.True(closeTo 1e-15 1.0 (NetworkSpectrum.stability [| [| 1.0; 2.0 |]; [| -2.0; -4.0 |] |]))
