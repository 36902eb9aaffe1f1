namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// The two extreme eigenpairs of a symmetric operator.
type internal ExtremeEigenpairs =
    { LambdaMin: float
      LambdaMax: float
      /// Unit eigenvector of LambdaMin (sign fixed: its largest-magnitude entry is positive).
      MinVector: float[]
      /// Unit eigenvector of LambdaMax (same sign convention).
      MaxVector: float[]
      /// Lanczos iterations (= operator applications); 0 for the dense path.
      Iterations: int
      /// Both Ritz pairs met the tolerance (always true for the dense path and when the Krylov space became
      /// invariant or reached the full dimension).
      Converged: bool
      /// Ritz residual bounds ‖A·y − θ·y‖ = β_m·|s_m| of the two pairs (0 for the dense path).
      MinResidual: float
      MaxResidual: float }

/// <summary>Lanczos with full reorthogonalisation for the extreme eigenpairs of a symmetric operator.</summary>
/// <remarks>
/// After m steps A·Q_m = Q_m·T_m + β_m·q_{m+1}·e_mᵀ with T_m tridiagonal (α on the diagonal, β off it). For an
/// eigenpair (θ, s) of T_m the Ritz pair (θ, Q_m s) has residual ‖A·Q_m s − θ·Q_m s‖ = β_m·|s_m|, and some eigenvalue
/// of A lies within that distance of θ. The extreme eigenvalues of T_m are found by Sturm-count bisection (O(m) per
/// probe, robust), their vectors by inverse iteration on T_m − θI (tridiagonal Gaussian elimination with partial
/// pivoting, as LAPACK dgtsv), so a step costs one application, O(m·n) for reorthogonalisation (classical Gram–Schmidt
/// applied twice) and O(m) for the convergence test — no O(m³) tridiagonal eigensolve per step.
/// </remarks>
[<RequireQualifiedAccess>]
module internal Lanczos =

    /// Number of eigenvalues of the m×m tridiagonal T (diagonal a, off-diagonal b) below x, by the signs of the
    /// LDLᵀ pivots of T − xI (Sturm sequence). Zero pivots are replaced by −pivmin (LAPACK dstebz's device).
    let private countBelow (a: float[], b: float[], m: int, x: float, pivmin: float) =
        let mutable count = 0
        let mutable q = a[0] - x
        if abs q < pivmin then q <- -pivmin
        if q < 0.0 then count <- count + 1
        for i in 1 .. m - 1 do
            q <- a[i] - x - b[i - 1] * b[i - 1] / q
            if abs q < pivmin then q <- -pivmin
            if q < 0.0 then count <- count + 1
        count

    /// Smallest (smallest = true) or largest eigenvalue of T by bisection on the Gershgorin interval, to the last bit.
    let private extremeEigenvalue (a: float[], b: float[], m: int, smallest: bool) =
        let mutable lo = Double.MaxValue
        let mutable hi = -Double.MaxValue
        let mutable maxB = 0.0
        for i in 0 .. m - 1 do
            let left = if i > 0 then abs b[i - 1] else 0.0
            let right = if i < m - 1 then abs b[i] else 0.0
            lo <- min lo (a[i] - left - right)
            hi <- max hi (a[i] + left + right)
            maxB <- max maxB (left * left)
        let scale = max (abs lo) (abs hi)
        let pivmin = max 1e-300 (Double.Epsilon + 1e-30 * max 1.0 maxB)
        // Widen slightly so both ends are strict.
        lo <- lo - 1e-14 * scale - 1e-300
        hi <- hi + 1e-14 * scale + 1e-300
        let mutable iterations = 0
        while iterations < 200 && hi - lo > 2.0 * Double.Epsilon * max (abs lo) (abs hi) + 1e-300 do
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi then iterations <- 200
            else
                let c = countBelow (a, b, m, mid, pivmin)
                if smallest then (if c >= 1 then hi <- mid else lo <- mid)
                else (if c = m then hi <- mid else lo <- mid)
                iterations <- iterations + 1
        0.5 * (lo + hi)

    /// Unit eigenvector of T for the eigenvalue θ by three steps of inverse iteration. The work arrays have length ≥ m.
    let private tridiagonalEigenvector
        (a: float[], b: float[], m: int, theta: float, s: float[], dl: float[], d: float[], du: float[], du2: float[])
        =
        let mutable scale = 0.0
        for i in 0 .. m - 1 do
            scale <- max scale (abs a[i] + (if i < m - 1 then abs b[i] else 0.0))
        // Replacement for an exactly zero pivot: T − θI is singular when θ is exact, which inverse iteration wants.
        let tiny = 1e-15 * max scale 1e-300
        for i in 0 .. m - 1 do
            // A start vector with no special structure, so it is not orthogonal to the wanted eigenvector.
            s[i] <- 1.0 + 0.1 * float ((i * 7919) % 13)
        for _ in 1 .. 3 do
            for i in 0 .. m - 1 do
                d[i] <- a[i] - theta
                if i < m - 1 then
                    dl[i] <- b[i]
                    du[i] <- b[i]
                du2[i] <- 0.0
            // Forward elimination with partial pivoting (LAPACK dgtsv): du2 holds the fill of a row swap.
            for i in 0 .. m - 2 do
                if abs d[i] >= abs dl[i] then
                    if d[i] = 0.0 then d[i] <- tiny
                    let fact = dl[i] / d[i]
                    d[i + 1] <- d[i + 1] - fact * du[i]
                    s[i + 1] <- s[i + 1] - fact * s[i]
                    du2[i] <- 0.0
                else
                    let fact = d[i] / dl[i]
                    d[i] <- dl[i]
                    let temp = d[i + 1]
                    d[i + 1] <- du[i] - fact * temp
                    if i < m - 2 then
                        du2[i] <- du[i + 1]
                        du[i + 1] <- -fact * du2[i]
                    du[i] <- temp
                    let t = s[i]
                    s[i] <- s[i + 1]
                    s[i + 1] <- t - fact * s[i + 1]
            if d[m - 1] = 0.0 then d[m - 1] <- tiny
            s[m - 1] <- s[m - 1] / d[m - 1]
            if m >= 2 then s[m - 2] <- (s[m - 2] - du[m - 2] * s[m - 1]) / d[m - 2]
            for i in m - 3 .. -1 .. 0 do
                s[i] <- (s[i] - du[i] * s[i + 1] - du2[i] * s[i + 2]) / d[i]
            let mutable norm = 0.0
            for i in 0 .. m - 1 do
                norm <- norm + s[i] * s[i]
            let inv = 1.0 / sqrt norm
            for i in 0 .. m - 1 do
                s[i] <- s[i] * inv

    /// Flips v so that its largest-magnitude entry is positive (a deterministic sign for eigenvectors).
    let fixSign (v: float[]) =
        let mutable k = 0
        for i in 1 .. v.Length - 1 do
            if abs v[i] > abs v[k] then k <- i
        if v.Length > 0 && v[k] < 0.0 then
            for i in 0 .. v.Length - 1 do
                v[i] <- -v[i]

    /// <summary>Extreme eigenpairs of a symmetric operator by Lanczos with full reorthogonalisation.</summary>
    /// <param name="operator">Symmetric operator of dimension n ≥ 1.</param>
    /// <param name="seed">Seed of the (normal) start vector, so results are reproducible.</param>
    /// <param name="relativeTolerance">A Ritz pair is converged when its residual bound β_m|s_m| ≤ tol·|θ|, or is at
    /// the round-off floor 64ε·max|θ| where it cannot shrink further.</param>
    /// <param name="maximumIterations">Cap on the Krylov dimension (clamped to n).</param>
    /// <remarks>Stops when both extreme pairs converge, when β_m hits the round-off floor (the Krylov space is
    /// invariant, so its Ritz values are exact eigenvalues — and with a random start it contains every eigenspace,
    /// hence both extremes), or at m = n. Stores the basis: O(n·m) memory.</remarks>
    let extremes (operator: ILinearOperator, seed: int64, relativeTolerance: float, maximumIterations: int) : ExtremeEigenpairs =
        if isNull operator then nullArg (nameof operator)
        let n = operator.Dimension
        Guard.positive (nameof operator) n
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        Guard.positive (nameof maximumIterations) maximumIterations
        let mMax = min n maximumIterations
        let basis = ResizeArray<float[]>(mMax)
        let a = Array.zeroCreate<float> mMax
        let b = Array.zeroCreate<float> mMax
        let sMin = Array.zeroCreate<float> mMax
        let sMax = Array.zeroCreate<float> mMax
        let dl = Array.zeroCreate<float> mMax
        let d = Array.zeroCreate<float> mMax
        let du = Array.zeroCreate<float> mMax
        let du2 = Array.zeroCreate<float> mMax
        let rng = Rng seed
        let mutable q = Array.init n (fun _ -> rng.Normal())
        let q0Norm = TensorPrimitives.Norm(ReadOnlySpan q)
        TensorPrimitives.Divide(ReadOnlySpan q, q0Norm, Span q)
        let w = Array.zeroCreate<float> n
        let mutable m = 0
        let mutable thetaMin = nan
        let mutable thetaMax = nan
        let mutable rMin = nan
        let mutable rMax = nan
        let mutable converged = false
        let mutable finished = false
        while not finished do
            basis.Add q
            operator.Apply(ReadOnlySpan q, Span w)
            let alpha = TensorPrimitives.Dot(ReadOnlySpan q, ReadOnlySpan w)
            a[m] <- alpha
            // Full reorthogonalisation against every stored vector, twice ("twice is enough"); it also removes the
            // α·q_m and β_{m−1}·q_{m−1} terms of the three-term recurrence.
            for _pass in 1 .. 2 do
                for i in 0 .. basis.Count - 1 do
                    let c = TensorPrimitives.Dot(ReadOnlySpan basis[i], ReadOnlySpan w)
                    TensorPrimitives.MultiplyAdd(ReadOnlySpan basis[i], -c, ReadOnlySpan w, Span w)
            let beta = TensorPrimitives.Norm(ReadOnlySpan w)
            b[m] <- beta
            m <- m + 1
            thetaMin <- extremeEigenvalue (a, b, m, true)
            thetaMax <- extremeEigenvalue (a, b, m, false)
            tridiagonalEigenvector (a, b, m, thetaMin, sMin, dl, d, du, du2)
            tridiagonalEigenvector (a, b, m, thetaMax, sMax, dl, d, du, du2)
            rMin <- beta * abs sMin[m - 1]
            rMax <- beta * abs sMax[m - 1]
            let scale = max (abs thetaMin) (abs thetaMax)
            // Round-off floor 64ε·max|θ| (ε = 2⁻⁵², machine epsilon): residuals cannot be driven below it.
            let floor = 64.0 * 2.220446049250313e-16 * scale
            let okMin = rMin <= relativeTolerance * abs thetaMin || rMin <= floor
            let okMax = rMax <= relativeTolerance * abs thetaMax || rMax <= floor
            let invariant = beta <= floor
            converged <- (okMin && okMax) || invariant || m = n
            finished <- converged || m = mMax
            if not finished then
                let next = Array.zeroCreate<float> n
                TensorPrimitives.Divide(ReadOnlySpan w, beta, Span next)
                q <- next
        let ritz (s: float[]) =
            let y = Array.zeroCreate<float> n
            for i in 0 .. m - 1 do
                TensorPrimitives.MultiplyAdd(ReadOnlySpan basis[i], s[i], ReadOnlySpan y, Span y)
            let norm = TensorPrimitives.Norm(ReadOnlySpan y)
            TensorPrimitives.Divide(ReadOnlySpan y, norm, Span y)
            fixSign y
            y
        { LambdaMin = thetaMin
          LambdaMax = thetaMax
          MinVector = ritz sMin
          MaxVector = ritz sMax
          Iterations = m
          Converged = converged
          MinResidual = rMin
          MaxResidual = rMax }

/// How an X-ray computes the extreme eigenpairs.
type internal SpectralMethod =
    /// Matrix-free Lanczos with full reorthogonalisation (the default; O(dim Ω) memory per Krylov vector).
    | Lanczos = 0
    /// Dense L_Ω and a full cyclic-Jacobi eigendecomposition (the check; O(dim Ω³)).
    | Dense = 1

/// The spectral "X-ray" of L_Ω(σ) for one activation pattern (theory §7).
type internal SpectralXray =
    { /// λ_1 = λ_min(L_Ω) &gt; 0 (L_Ω ≻ 0 for every pattern): the spectral gap, which sets the diffusion rate.
      LambdaMin: float
      /// λ_max(L_Ω): the stiffness; explicit Euler needs α·dt &lt; 2/λ_max.
      LambdaMax: float
      /// κ = λ_max/λ_min.
      Condition: float
      /// Unit eigenvector of λ_min ("Fiedler vector"), in Ω order z1, a1, …, z(k+1).
      FiedlerVector: float[]
      /// Unit eigenvector of λ_max.
      TopVector: float[]
      /// Names of the free blocks z1, a1, …, z(k+1).
      BlockNames: string[]
      /// Fraction of ‖Fiedler vector‖² on each free block (in [0, 1], sums to 1).
      FiedlerBlockEnergy: float[]
      /// Fraction of ‖top vector‖² on each free block.
      TopBlockEnergy: float[]
      /// M = max(1, max_{ℓ≥2} ‖W^(ℓ)‖₂) (theory §3.3).
      WeightNormBound: float
      /// (1 + M)² ≥ λ_max for every pattern.
      LambdaMaxUpperBound: float
      /// (Σ_{j=0}^{2k} M^⌈j/2⌉)^(−2) ≤ λ_min for every pattern.
      LambdaMinLowerBound: float
      Method: SpectralMethod
      /// Lanczos iterations (0 for the dense method).
      Iterations: int
      Converged: bool
      /// The activation pattern analysed (one 0/1 mask per hidden layer).
      Pattern: float[][] }

/// Lower quartile, median and upper quartile (linear interpolation between order statistics, as numpy's default).
type internal Quartiles =
    { Lower: float
      Median: float
      Upper: float }

    /// Inter-quartile range Upper − Lower.
    member this.Iqr = this.Upper - this.Lower

/// Medians/IQRs of the X-rays of a batch, and eigenvector stability across it.
type internal SpectralSummary =
    { Count: int
      LambdaMin: Quartiles
      LambdaMax: Quartiles
      Condition: Quartiles
      BlockNames: string[]
      /// Per free block: quartiles of the Fiedler energy fraction.
      FiedlerBlockEnergy: Quartiles[]
      /// Per free block: quartiles of the top-vector energy fraction.
      TopBlockEnergy: Quartiles[]
      /// Mean |cos| between the Fiedler vectors of all sample pairs (NaN for fewer than 2 samples).
      FiedlerStability: float
      /// Mean |cos| between the top vectors of all sample pairs.
      TopStability: float }

/// Spectral analysis of the restricted Laplacian L_Ω(σ) = δ_Ω(σ)ᵀδ_Ω(σ) of a ReLU network sheaf (theory §2.6–2.7,
/// §3.3, §7).
[<RequireQualifiedAccess>]
module internal NetworkSpectrum =

    /// <summary>Matrix-free <c>destination = L_Ω(σ)·v = δ_Ωᵀ(δ_Ω v)</c> from the block structure.</summary>
    /// <param name="mlp">The network.</param>
    /// <param name="pattern">One 0/1 mask per hidden layer.</param>
    /// <param name="v">Free cochain in Ω order, length dim Ω.</param>
    /// <param name="destination">Output, length ≥ dim Ω; must not overlap v or workspace.</param>
    /// <param name="workspace">Scratch for r = δ_Ω v, length ≥ dim Ω.</param>
    /// <remarks>
    /// δ_Ω = I − N is block lower-bidiagonal (theory §2.6): r_0 = v_0, r_j = v_j − σ_ℓ⊙v_{j−1} on an a-block,
    /// r_j = v_j − W^(ℓ)v_{j−1} on a z-block (ℓ ≥ 2). Then (δ_Ωᵀr)_j = r_j − σ⊙r_{j+1} on a z-block (ℓ ≤ k) and
    /// r_j − W^(ℓ+1)ᵀr_{j+1} on an a-block; the last block z^(k+1) is r_{2k}. Two GEMVs per weight (Gemm with one
    /// column) and element-wise masks: O(Σ n_ℓn_{ℓ−1}) work, no allocation, no pattern validation (the caller's job:
    /// this is the inner kernel of Lanczos).
    /// </remarks>
    let applyRestrictedLaplacian
        (mlp: Mlp, pattern: float[][], v: ReadOnlySpan<float>, destination: Span<float>, workspace: Span<float>)
        : unit =
        let k = mlp.HiddenCount
        let blocks = 2 * k + 1
        let mutable dim = 0
        for j in 0 .. blocks - 1 do
            dim <- dim + mlp.Layers[j / 2 + 1]
        Guard.length (nameof v) dim v.Length
        Guard.atLeast (nameof destination) dim destination.Length
        Guard.atLeast (nameof workspace) dim workspace.Length
        let r = workspace.Slice(0, dim)
        // r = δ_Ω v, block by block.
        let mutable offset = 0
        let mutable previous = 0
        for j in 0 .. blocks - 1 do
            let width = mlp.Layers[j / 2 + 1]
            if j = 0 then
                v.Slice(0, width).CopyTo r
            elif j % 2 = 1 then
                let mask = pattern[j / 2]
                for i in 0 .. width - 1 do
                    r[offset + i] <- v[offset + i] - mask[i] * v[previous + i]
            else
                let l = j / 2
                let nIn = mlp.Layers[l]
                let target = r.Slice(offset, width)
                Gemm.multiply (width, 1, nIn, ReadOnlySpan mlp.Weights[l], nIn, v.Slice(previous, nIn), 1, target, 1, false)
                for i in 0 .. width - 1 do
                    target[i] <- v[offset + i] - target[i]
            previous <- offset
            offset <- offset + width
        // destination = δ_Ωᵀ r, block by block; block j couples only to block j + 1.
        offset <- 0
        for j in 0 .. blocks - 1 do
            let width = mlp.Layers[j / 2 + 1]
            let y = destination.Slice(offset, width)
            if j = blocks - 1 then
                r.Slice(offset, width).CopyTo y
            elif j % 2 = 0 then
                let mask = pattern[j / 2]
                for i in 0 .. width - 1 do
                    y[i] <- r[offset + i] - mask[i] * r[offset + width + i]
            else
                let l = j / 2 + 1
                let nOut = mlp.Layers[l + 1]
                Gemm.multiplyTransposeA (
                    width,
                    1,
                    nOut,
                    ReadOnlySpan mlp.Weights[l],
                    width,
                    Span<float>.op_Implicit(r.Slice(offset + width, nOut)),
                    1,
                    y,
                    1,
                    false
                )
                for i in 0 .. width - 1 do
                    y[i] <- r[offset + i] - y[i]
            offset <- offset + width

    /// <summary>Dense reference <c>destination = L_Ω·v</c> with L_Ω from <c>NetworkSheafBlocks.restrictedLaplacianDense</c>
    /// (allocates; the oracle of the matrix-free apply).</summary>
    let applyRestrictedLaplacianReference
        (mlp: Mlp, pattern: float[][], v: ReadOnlySpan<float>, destination: Span<float>)
        : unit =
        let l = NetworkSheafBlocks.restrictedLaplacianDense mlp pattern
        Guard.length (nameof v) l.Cols v.Length
        Guard.atLeast (nameof destination) l.Rows destination.Length
        for i in 0 .. l.Rows - 1 do
            destination[i] <- TensorPrimitives.Dot(ReadOnlySpan(l.Values, i * l.Cols, l.Cols), v)

    /// L_Ω(σ) as an <c>ILinearOperator</c> over the matrix-free apply (owns its δ_Ω v workspace; not thread-safe).
    [<Sealed>]
    type RestrictedLaplacianOperator(mlp: Mlp, pattern: float[][]) =
        do
            if isNull mlp then nullArg (nameof mlp)
            NetworkSheafBlocks.validatePattern (nameof pattern) mlp pattern
        let dim = NetworkSheafBlocks.freeDim mlp
        let workspace = Array.zeroCreate<float> dim
        member _.Network = mlp
        member _.Pattern = pattern

        interface ILinearOperator with
            member _.Dimension = dim

            member _.Apply(x: ReadOnlySpan<float>, destination: Span<float>) =
                applyRestrictedLaplacian (mlp, pattern, x, destination, Span workspace)

    /// <summary>M = max(1, max_{ℓ=2..k+1} ‖W^(ℓ)‖₂), certified (see NetworkHeat.weightNormBound).</summary>
    let weightNormBound (mlp: Mlp) : float = NetworkHeat.weightNormBound mlp

    /// <summary>λ_max(L_Ω(σ)) ≤ (1 + M)² for every pattern σ: ‖δ_Ω‖ ≤ ‖I‖ + ‖N‖ and ‖N‖₂ is its largest block norm
    /// (one block per block row and column), at most M.</summary>
    let lambdaMaxUpperBound (weightNormBound: float) : float = (1.0 + weightNormBound) * (1.0 + weightNormBound)

    /// <summary>λ_min(L_Ω(σ)) ≥ (Σ_{j=0}^{2k} M^⌈j/2⌉)^(−2) for every pattern σ.</summary>
    /// <remarks>N is nilpotent (N^{2k+1} = 0), so δ_Ω⁻¹ = Σ_{j=0}^{2k} N^j; N^j has one block per block row, a product of
    /// j consecutive sub-diagonal blocks that alternate R (norm ≤ 1) and W, so at most ⌈j/2⌉ of them are weights and
    /// ‖N^j‖ ≤ M^⌈j/2⌉. Then λ_min = 1/‖δ_Ω⁻¹‖².</remarks>
    let lambdaMinLowerBound (hiddenCount: int, weightNormBound: float) : float =
        Guard.nonNegative (nameof hiddenCount) hiddenCount
        let mutable sum = 0.0
        for j in 0 .. 2 * hiddenCount do
            sum <- sum + Math.Pow(weightNormBound, float ((j + 1) / 2))
        1.0 / (sum * sum)

    /// <summary>Fraction of ‖v‖² on each free block z1, a1, …, z(k+1) (entries in [0, 1], sum 1; zeros for v = 0).</summary>
    let blockEnergies (mlp: Mlp, v: ReadOnlySpan<float>) : float[] =
        if isNull mlp then nullArg (nameof mlp)
        let offsets = NetworkSheafBlocks.freeBlockOffsets mlp
        Guard.length (nameof v) offsets[offsets.Length - 1] v.Length
        let energies = Array.zeroCreate (offsets.Length - 1)
        let mutable total = 0.0
        for j in 0 .. energies.Length - 1 do
            let e = TensorPrimitives.SumOfSquares(v.Slice(offsets[j], offsets[j + 1] - offsets[j]))
            energies[j] <- e
            total <- total + e
        if total > 0.0 then
            for j in 0 .. energies.Length - 1 do
                energies[j] <- energies[j] / total
        energies

    /// Default Lanczos tolerance of the X-ray: Ritz residual ≤ 1e-10·|θ| (so each extreme is within 1e-10 relative).
    [<Literal>]
    let DefaultTolerance = 1e-10

    /// <summary>Extreme eigenpairs of L_Ω(σ) by matrix-free Lanczos.</summary>
    /// <param name="mlp">The network.</param>
    /// <param name="pattern">One 0/1 mask per hidden layer.</param>
    /// <param name="seed">Start-vector seed.</param>
    /// <param name="relativeTolerance">See <c>Lanczos.extremes</c>; iterations run until both pairs converge or
    /// dim Ω is reached.</param>
    let extremesLanczos (mlp: Mlp, pattern: float[][], seed: int64, relativeTolerance: float) : ExtremeEigenpairs =
        let op = RestrictedLaplacianOperator(mlp, pattern)
        Lanczos.extremes (op, seed, relativeTolerance, Int32.MaxValue)

    /// <summary>Extreme eigenpairs of L_Ω(σ) from a full dense eigendecomposition (the check of the Lanczos path).</summary>
    let extremesDense (mlp: Mlp, pattern: float[][]) : ExtremeEigenpairs =
        let eigen = DenseFactor.symmetricEigen (NetworkSheafBlocks.restrictedLaplacianDense mlp pattern)
        let n = eigen.Values.Length
        let column (j: int) =
            let v = Array.init n (fun i -> eigen.Vectors[i, j])
            Lanczos.fixSign v
            v
        { LambdaMin = eigen.Values[0]
          LambdaMax = eigen.Values[n - 1]
          MinVector = column 0
          MaxVector = column (n - 1)
          Iterations = 0
          Converged = true
          MinResidual = 0.0
          MaxResidual = 0.0 }

    /// <summary>The X-ray of L_Ω(σ) for one pattern: extremes, κ, Fiedler and top vectors, block energies, and the
    /// pattern-independent bounds of theory §3.3.</summary>
    /// <param name="mlp">The network.</param>
    /// <param name="pattern">One 0/1 mask per hidden layer (validated).</param>
    /// <param name="method">Lanczos (default) or Dense.</param>
    /// <param name="seed">Lanczos start-vector seed (ignored by Dense).</param>
    let xray (mlp: Mlp, pattern: float[][], method: SpectralMethod, seed: int64) : SpectralXray =
        if isNull mlp then nullArg (nameof mlp)
        NetworkSheafBlocks.validatePattern (nameof pattern) mlp pattern
        let e =
            match method with
            | SpectralMethod.Lanczos -> extremesLanczos (mlp, pattern, seed, DefaultTolerance)
            | SpectralMethod.Dense -> extremesDense (mlp, pattern)
            | _ -> invalidArg (nameof method) "Unknown spectral method."
        let m = weightNormBound mlp
        { LambdaMin = e.LambdaMin
          LambdaMax = e.LambdaMax
          Condition = e.LambdaMax / e.LambdaMin
          FiedlerVector = e.MinVector
          TopVector = e.MaxVector
          BlockNames = NetworkSheafBlocks.freeBlockNames mlp
          FiedlerBlockEnergy = blockEnergies (mlp, ReadOnlySpan e.MinVector)
          TopBlockEnergy = blockEnergies (mlp, ReadOnlySpan e.MaxVector)
          WeightNormBound = m
          LambdaMaxUpperBound = lambdaMaxUpperBound m
          LambdaMinLowerBound = lambdaMinLowerBound (mlp.HiddenCount, m)
          Method = method
          Iterations = e.Iterations
          Converged = e.Converged
          Pattern = pattern |> Array.map Array.copy }

    /// <summary>X-ray of every column of a feature-major input batch (n0 × B), each at its own forward-pass pattern
    /// (z ≥ 0 active), as the authors' per-sample analysis does.</summary>
    /// <param name="mlp">The network.</param>
    /// <param name="inputs">n0 × B feature-major: column s is sample s.</param>
    /// <param name="batch">B ≥ 1.</param>
    /// <param name="method">Lanczos or Dense.</param>
    /// <param name="seed">Lanczos start-vector seed (the same for every sample).</param>
    let xrayBatch (mlp: Mlp, inputs: ReadOnlySpan<float>, batch: int, method: SpectralMethod, seed: int64) : SpectralXray[] =
        if isNull mlp then nullArg (nameof mlp)
        Guard.positive (nameof batch) batch
        Guard.length (nameof inputs) (mlp.InputDim * batch) inputs.Length
        Guard.finite (nameof inputs) inputs
        let n0 = mlp.InputDim
        let result = Array.zeroCreate batch
        let x = Array.zeroCreate<float> n0
        for s in 0 .. batch - 1 do
            for i in 0 .. n0 - 1 do
                x[i] <- inputs[i * batch + s]
            result[s] <- xray (mlp, NetworkSheafBlocks.patternOf mlp x, method, seed)
        result

    /// <summary>Quartiles of a sample (linear interpolation at positions p·(n − 1), numpy's default); NaN if empty.</summary>
    let quartiles (values: ReadOnlySpan<float>) : Quartiles =
        if values.Length = 0 then
            { Lower = nan; Median = nan; Upper = nan }
        else
            let sorted = values.ToArray()
            Array.sortInPlace sorted
            let at (p: float) =
                let position = p * float (sorted.Length - 1)
                let i = int (floor position)
                let fraction = position - float i
                if i + 1 < sorted.Length then sorted[i] + fraction * (sorted[i + 1] - sorted[i]) else sorted[i]
            { Lower = at 0.25; Median = at 0.5; Upper = at 0.75 }

    /// <summary>Eigenvector stability: the mean over all pairs i &lt; j of |cos(v_i, v_j)|. Eigenvectors have no sign,
    /// so each pair is compared after aligning signs, which is what |cos| does; NaN for fewer than 2 vectors.</summary>
    let stability (vectors: float[][]) : float =
        if isNull vectors then nullArg (nameof vectors)
        if vectors.Length < 2 then
            nan
        else
            let norms = vectors |> Array.map (fun v -> TensorPrimitives.Norm(ReadOnlySpan v))
            let mutable sum = 0.0
            let mutable pairs = 0
            for i in 0 .. vectors.Length - 1 do
                for j in i + 1 .. vectors.Length - 1 do
                    if vectors[i].Length <> vectors[j].Length then
                        invalidArg (nameof vectors) "All vectors must have the same length."
                    let c = TensorPrimitives.Dot(ReadOnlySpan vectors[i], ReadOnlySpan vectors[j]) / (norms[i] * norms[j])
                    sum <- sum + abs c
                    pairs <- pairs + 1
            sum / float pairs

    /// <summary>Aggregates X-rays of one network: quartiles of λ_min, λ_max, κ and of each block energy, and the
    /// stability of the Fiedler and top vectors across samples.</summary>
    let summarise (xrays: SpectralXray[]) : SpectralSummary =
        if isNull xrays then nullArg (nameof xrays)
        if xrays.Length = 0 then invalidArg (nameof xrays) "Need at least one X-ray."
        let blocks = xrays[0].BlockNames.Length
        for x in xrays do
            if x.BlockNames.Length <> blocks then invalidArg (nameof xrays) "All X-rays must come from one network."
        let q (f: SpectralXray -> float) = quartiles (ReadOnlySpan(Array.map f xrays))
        { Count = xrays.Length
          LambdaMin = q (fun x -> x.LambdaMin)
          LambdaMax = q (fun x -> x.LambdaMax)
          Condition = q (fun x -> x.Condition)
          BlockNames = xrays[0].BlockNames
          FiedlerBlockEnergy = Array.init blocks (fun j -> q (fun x -> x.FiedlerBlockEnergy[j]))
          TopBlockEnergy = Array.init blocks (fun j -> q (fun x -> x.TopBlockEnergy[j]))
          FiedlerStability = stability (xrays |> Array.map (fun x -> x.FiedlerVector))
          TopStability = stability (xrays |> Array.map (fun x -> x.TopVector)) }
