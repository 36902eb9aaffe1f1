namespace SheafCore.Numerics

open System

/// Eigen-decomposition A = V·diag(Values)·Vᵀ of a symmetric matrix.
/// Values are ascending; column j of Vectors (n×n, orthonormal columns) belongs to Values[j].
type internal SymmetricEigen = { Values: float[]; Vectors: DenseMatrix }

/// Pivoted LDLᵀ of a symmetric positive semi-definite matrix: P·A·Pᵀ ≈ L·D·Lᵀ.
///
/// Row k of P·A·Pᵀ is row Permutation[k] of A. Lower is n×n; only its first Rank columns are
/// meaningful (unit diagonal, zeros above it). Diagonal holds the Rank accepted pivots d_1 ≥ … > Tolerance.
/// The pivots are chosen greedily as the largest remaining diagonal of the Schur complement
/// (symmetric diagonal pivoting), which makes the factorisation rank-revealing for PSD matrices.
type internal PivotedLdlt =
    { Size: int
      Rank: int
      Permutation: int[]
      Lower: DenseMatrix
      Diagonal: float[]
      /// Absolute pivot threshold actually used: relativeTolerance · max_i |A_ii|.
      Tolerance: float }

/// Outcome of solving A·x = b for a symmetric PSD A by pivoted LDLᵀ.
type internal SymmetricSolution =
    { /// The minimum-Euclidean-norm solution (the pivoted particular solution with its null-space
      /// component removed); exact for consistent b, a least-squares-like answer otherwise (see ResidualNorm).
      Solution: float[]
      Rank: int
      Nullity: int
      /// n×Nullity, orthonormal columns spanning ker A (as detected at the pivot tolerance).
      NullSpaceBasis: DenseMatrix
      /// True exactly when Nullity = 0.
      IsUnique: bool
      /// ‖A·x − b‖₂; large values mean b was not in the range of A (inconsistent system).
      ResidualNorm: float
      /// det A = Π d_k when A is positive definite (Rank = n); 0 otherwise.
      Determinant: float }

/// Result of an attempted plain Cholesky factorisation A = L·Lᵀ.
type internal CholeskyResult =
    { /// True when every pivot was strictly positive (A numerically positive definite).
      Succeeded: bool
      /// The lower-triangular factor when Succeeded; null otherwise.
      Factor: DenseMatrix }

/// Small dense factorisations (scalar loops; for stalk-sized blocks and small systems).
[<RequireQualifiedAccess>]
module internal DenseFactor =

    /// Default relative pivot/eigenvalue tolerance used for rank decisions: a pivot or eigenvalue is
    /// treated as zero when it is at most this times the largest diagonal entry (or eigenvalue).
    [<Literal>]
    let DefaultRelativeTolerance = 1e-10

    let private requireSquare (name: string) (a: DenseMatrix) =
        if isNull a then nullArg name
        if a.Rows <> a.Cols then invalidArg name (sprintf "Matrix must be square (got %d×%d)." a.Rows a.Cols)

    let private requireFinite (name: string) (a: DenseMatrix) = Guard.finite name (ReadOnlySpan a.Values)

    /// <summary>Cyclic Jacobi on an n×n symmetric row-major matrix, in place.</summary>
    /// <remarks>On return the diagonal of <c>a</c> holds the (unsorted) eigenvalues and the columns of
    /// <c>v</c> (row-major n×n) the matching orthonormal eigenvectors; no allocation, so refill loops can use it.
    /// Each rotation J zeroes a[p,q] by A ← JᵀAJ (Golub–Van Loan sym.schur2, the smaller rotation angle
    /// for stability). Stops when the off-diagonal Frobenius norm is below 1e-15·‖A‖_F or after 64 sweeps
    /// (quadratic convergence makes 64 far more than ever needed).</remarks>
    let jacobiInPlace (a: Span<float>, n: int, v: Span<float>) : unit =
        if a.Length < n * n then invalidArg (nameof a) "Length must be at least n²."
        if v.Length < n * n then invalidArg (nameof v) "Length must be at least n²."
        v.Slice(0, n * n).Clear()
        for i in 0 .. n - 1 do
            v[i * n + i] <- 1.0
        let mutable total = 0.0
        for i in 0 .. n * n - 1 do
            total <- total + a[i] * a[i]
        let threshold = 1e-30 * total // (1e-15‖A‖_F)²
        let mutable sweep = 0
        let mutable off = Double.MaxValue
        while sweep < 64 && off > threshold do
            off <- 0.0
            for p in 0 .. n - 2 do
                for q in p + 1 .. n - 1 do
                    off <- off + 2.0 * a[p * n + q] * a[p * n + q]
            if off > threshold then
                for p in 0 .. n - 2 do
                    for q in p + 1 .. n - 1 do
                        let apq = a[p * n + q]
                        if apq <> 0.0 then
                            let tau = (a[q * n + q] - a[p * n + p]) / (2.0 * apq)
                            let t =
                                if tau >= 0.0 then 1.0 / (tau + sqrt (1.0 + tau * tau))
                                else -1.0 / (-tau + sqrt (1.0 + tau * tau))
                            let c = 1.0 / sqrt (1.0 + t * t)
                            let s = t * c
                            // A ← A·J (columns p, q), then A ← Jᵀ·A (rows p, q); V ← V·J.
                            for k in 0 .. n - 1 do
                                let akp = a[k * n + p]
                                let akq = a[k * n + q]
                                a[k * n + p] <- c * akp - s * akq
                                a[k * n + q] <- s * akp + c * akq
                            for k in 0 .. n - 1 do
                                let apk = a[p * n + k]
                                let aqk = a[q * n + k]
                                a[p * n + k] <- c * apk - s * aqk
                                a[q * n + k] <- s * apk + c * aqk
                            // The rotation was chosen to annihilate these exactly; drop the rounding residue.
                            a[p * n + q] <- 0.0
                            a[q * n + p] <- 0.0
                            for k in 0 .. n - 1 do
                                let vkp = v[k * n + p]
                                let vkq = v[k * n + q]
                                v[k * n + p] <- c * vkp - s * vkq
                                v[k * n + q] <- s * vkp + c * vkq
            sweep <- sweep + 1

    /// <summary>Symmetric eigen-decomposition by cyclic Jacobi: A = V·Λ·Vᵀ, eigenvalues ascending.</summary>
    /// <remarks>Only the matrix's symmetric part is meaningful; pass a symmetric A. Accurate to about
    /// ε·‖A‖ absolutely per eigenvalue; O(n³) per sweep, so meant for n up to a few hundred.</remarks>
    /// <exception cref="System.ArgumentException">A is null, not square or not finite.</exception>
    let symmetricEigen (a: DenseMatrix) : SymmetricEigen =
        requireSquare (nameof a) a
        requireFinite (nameof a) a
        let n = a.Rows
        let work = Array.copy a.Values
        let v = Array.zeroCreate (n * n)
        jacobiInPlace (Span work, n, Span v)
        let order = Array.init n id
        let diag = Array.init n (fun i -> work[i * n + i])
        Array.sortInPlaceBy (fun i -> diag[i]) order
        let vectors = DenseMatrix(n, n)
        for j in 0 .. n - 1 do
            for i in 0 .. n - 1 do
                vectors[i, j] <- v[i * n + order[j]]
        { Values = Array.init n (fun j -> diag[order[j]]); Vectors = vectors }

    /// <summary>Pivoted LDLᵀ (pivoted Cholesky in LDLᵀ form) of a symmetric PSD matrix.</summary>
    /// <param name="a">Symmetric positive semi-definite n×n matrix (only the lower triangle is read).</param>
    /// <param name="relativeTolerance">A pivot d is accepted while d &gt; relativeTolerance·max_i A_ii;
    /// the number of accepted pivots is the numerical rank.</param>
    /// <remarks>Outer-product elimination on the Schur complement; at step k the largest remaining
    /// diagonal is swapped to position k. For PSD A every remaining pivot is then ≤ the accepted ones,
    /// so stopping at the first small pivot is rank-revealing (Higham, "Analysis of the Cholesky
    /// decomposition of a semi-definite matrix", 1990).</remarks>
    let pivotedLdlt (a: DenseMatrix, relativeTolerance: float) : PivotedLdlt =
        requireSquare (nameof a) a
        requireFinite (nameof a) a
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        let n = a.Rows
        // Work on the full symmetric Schur complement S (lower triangle mirrored) in permuted order.
        let s = DenseMatrix(n, n)
        for i in 0 .. n - 1 do
            for j in 0 .. i do
                s[i, j] <- a[i, j]
                s[j, i] <- a[i, j]
        let perm = Array.init n id
        let mutable maxDiag = 0.0
        for i in 0 .. n - 1 do
            maxDiag <- max maxDiag (abs a[i, i])
        let tol = relativeTolerance * maxDiag
        let lower = DenseMatrix(n, n)
        let diag = ResizeArray<float>()
        let mutable k = 0
        let mutable stop = n = 0
        while not stop do
            let mutable p = k
            for i in k + 1 .. n - 1 do
                if s[i, i] > s[p, p] then p <- i
            let pivot = s[p, p]
            if pivot <= tol || pivot <= 0.0 then
                stop <- true
            else
                if p <> k then
                    // Symmetric swap of rows/columns k and p in S, and of rows in the computed part of L.
                    for j in 0 .. n - 1 do
                        let t = s[k, j]
                        s[k, j] <- s[p, j]
                        s[p, j] <- t
                    for i in 0 .. n - 1 do
                        let t = s[i, k]
                        s[i, k] <- s[i, p]
                        s[i, p] <- t
                    for j in 0 .. k - 1 do
                        let t = lower[k, j]
                        lower[k, j] <- lower[p, j]
                        lower[p, j] <- t
                    let t = perm[k]
                    perm[k] <- perm[p]
                    perm[p] <- t
                diag.Add pivot
                lower[k, k] <- 1.0
                for i in k + 1 .. n - 1 do
                    lower[i, k] <- s[i, k] / pivot
                // Schur complement update S₂₂ ← S₂₂ − l·d·lᵀ.
                for i in k + 1 .. n - 1 do
                    let li = lower[i, k] * pivot
                    for j in k + 1 .. n - 1 do
                        s[i, j] <- s[i, j] - li * lower[j, k]
                k <- k + 1
                if k = n then stop <- true
        { Size = n
          Rank = k
          Permutation = perm
          Lower = lower
          Diagonal = diag.ToArray()
          Tolerance = tol }

    /// Orthonormalises the columns of a (n×m, m small) in place by modified Gram–Schmidt applied twice
    /// ("twice is enough", Giraud et al. 2005), so the basis is orthonormal to working precision.
    let private orthonormaliseColumns (a: DenseMatrix) =
        let n = a.Rows
        for j in 0 .. a.Cols - 1 do
            for _pass in 1 .. 2 do
                for i in 0 .. j - 1 do
                    let mutable dot = 0.0
                    for r in 0 .. n - 1 do
                        dot <- dot + a[r, i] * a[r, j]
                    for r in 0 .. n - 1 do
                        a[r, j] <- a[r, j] - dot * a[r, i]
            let mutable norm = 0.0
            for r in 0 .. n - 1 do
                norm <- norm + a[r, j] * a[r, j]
            let inv = 1.0 / sqrt norm
            for r in 0 .. n - 1 do
                a[r, j] <- a[r, j] * inv

    /// <summary>Orthonormal basis (n×nullity) of ker A from a pivoted LDLᵀ.</summary>
    /// <remarks>With P·A·Pᵀ = [L₁₁; L₂₁]·D·[L₁₁; L₂₁]ᵀ, the columns of [−L₁₁⁻ᵀL₂₁ᵀ; I] span the kernel
    /// of P·A·Pᵀ; they are un-permuted and orthonormalised.</remarks>
    let nullSpace (f: PivotedLdlt) : DenseMatrix =
        let n = f.Size
        let r = f.Rank
        let m = n - r
        let basis = DenseMatrix(n, m)
        let y = Array.zeroCreate r
        for c in 0 .. m - 1 do
            // Solve L₁₁ᵀ y = −(row r+c of L₂₁)ᵀ by back substitution (L₁₁ unit lower).
            for i in r - 1 .. -1 .. 0 do
                let mutable acc = -f.Lower[r + c, i]
                for j in i + 1 .. r - 1 do
                    acc <- acc - f.Lower[j, i] * y[j]
                y[i] <- acc
            for i in 0 .. r - 1 do
                basis[f.Permutation[i], c] <- y[i]
            basis[f.Permutation[r + c], c] <- 1.0
        orthonormaliseColumns basis
        basis

    /// <summary>Particular solution of A·x = b from a pivoted LDLᵀ: the basic solution whose
    /// non-pivot (permuted) coordinates are zero.</summary>
    /// <remarks>Uses only the first Rank equations of P·A·Pᵀ; for consistent b the rest hold automatically.</remarks>
    let solveParticular (f: PivotedLdlt, b: ReadOnlySpan<float>, destination: Span<float>) : unit =
        let n = f.Size
        Guard.length (nameof b) n b.Length
        Guard.atLeast (nameof destination) n destination.Length
        let r = f.Rank
        let y = Array.zeroCreate r
        // L₁₁ z = (P b)₁, then D w = z, then L₁₁ᵀ y = w.
        for i in 0 .. r - 1 do
            let mutable acc = b[f.Permutation[i]]
            for j in 0 .. i - 1 do
                acc <- acc - f.Lower[i, j] * y[j]
            y[i] <- acc
        for i in 0 .. r - 1 do
            y[i] <- y[i] / f.Diagonal[i]
        for i in r - 1 .. -1 .. 0 do
            let mutable acc = y[i]
            for j in i + 1 .. r - 1 do
                acc <- acc - f.Lower[j, i] * y[j]
            y[i] <- acc
        destination.Slice(0, n).Clear()
        for i in 0 .. r - 1 do
            destination[f.Permutation[i]] <- y[i]

    /// <summary>Solves A·x = b for symmetric PSD A, reporting rank, nullity and a null-space basis.</summary>
    /// <param name="a">Symmetric PSD matrix.</param>
    /// <param name="b">Right-hand side, length n, finite.</param>
    /// <param name="relativeTolerance">Pivot tolerance for the rank decision (see <c>pivotedLdlt</c>).</param>
    /// <remarks>When Nullity &gt; 0 the solution set is Solution + span(NullSpaceBasis); the returned
    /// Solution is the minimum-norm one (orthogonal to the computed kernel). IsUnique says which case holds.</remarks>
    let solveSymmetric (a: DenseMatrix, b: ReadOnlySpan<float>, relativeTolerance: float) : SymmetricSolution =
        requireSquare (nameof a) a
        Guard.length (nameof b) a.Rows b.Length
        Guard.finite (nameof b) b
        let f = pivotedLdlt (a, relativeTolerance)
        let n = f.Size
        let x = Array.zeroCreate n
        solveParticular (f, b, Span x)
        let basis = nullSpace f
        // Remove the kernel component: x ← x − N·Nᵀ·x (N orthonormal) gives the minimum-norm solution.
        for c in 0 .. basis.Cols - 1 do
            let mutable dot = 0.0
            for i in 0 .. n - 1 do
                dot <- dot + basis[i, c] * x[i]
            for i in 0 .. n - 1 do
                x[i] <- x[i] - dot * basis[i, c]
        let mutable residual = 0.0
        for i in 0 .. n - 1 do
            let mutable acc = -b[i]
            for j in 0 .. n - 1 do
                acc <- acc + a[i, j] * x[j]
            residual <- residual + acc * acc
        let mutable det = if f.Rank = n then 1.0 else 0.0
        if f.Rank = n then
            for d in f.Diagonal do
                det <- det * d
        { Solution = x
          Rank = f.Rank
          Nullity = n - f.Rank
          NullSpaceBasis = basis
          IsUnique = (f.Rank = n)
          ResidualNorm = sqrt residual
          Determinant = det }

    /// <summary>Plain Cholesky A = L·Lᵀ without pivoting.</summary>
    /// <remarks>Fails (Succeeded = false, Factor = null) at the first pivot that is not strictly positive,
    /// i.e. when A is not numerically positive definite. Only the lower triangle of A is read.</remarks>
    let tryCholesky (a: DenseMatrix) : CholeskyResult =
        requireSquare (nameof a) a
        requireFinite (nameof a) a
        let n = a.Rows
        let l = DenseMatrix(n, n)
        let mutable ok = true
        let mutable j = 0
        while ok && j < n do
            let mutable d = a[j, j]
            for k in 0 .. j - 1 do
                d <- d - l[j, k] * l[j, k]
            if not (d > 0.0) then
                ok <- false
            else
                let ljj = sqrt d
                l[j, j] <- ljj
                for i in j + 1 .. n - 1 do
                    let mutable acc = a[i, j]
                    for k in 0 .. j - 1 do
                        acc <- acc - l[i, k] * l[j, k]
                    l[i, j] <- acc / ljj
                j <- j + 1
        { Succeeded = ok; Factor = (if ok then l else null) }

    /// <summary>Determinant of a general square matrix by LU with partial pivoting.</summary>
    /// <remarks>det A = (−1)^{swaps}·Π u_kk; returns exactly 0 when a whole pivot column is zero.</remarks>
    let determinant (a: DenseMatrix) : float =
        requireSquare (nameof a) a
        requireFinite (nameof a) a
        let n = a.Rows
        let u = a.Copy()
        let mutable det = 1.0
        let mutable k = 0
        while k < n && det <> 0.0 do
            let mutable p = k
            for i in k + 1 .. n - 1 do
                if abs u[i, k] > abs u[p, k] then p <- i
            if u[p, k] = 0.0 then
                det <- 0.0
            else
                if p <> k then
                    for j in 0 .. n - 1 do
                        let t = u[k, j]
                        u[k, j] <- u[p, j]
                        u[p, j] <- t
                    det <- -det
                let pivot = u[k, k]
                det <- det * pivot
                for i in k + 1 .. n - 1 do
                    let m = u[i, k] / pivot
                    if m <> 0.0 then
                        for j in k + 1 .. n - 1 do
                            u[i, j] <- u[i, j] - m * u[k, j]
            k <- k + 1
        det
