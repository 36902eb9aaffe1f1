namespace SheafCore.Numerics

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics

/// Unit lower-triangular systems (I + N) x = b where N is strictly lower triangular and sparse.
[<RequireQualifiedAccess>]
module internal TriangularSolve =

    /// Checks the storage invariant: every column index in row i is < i (square matrix).
    let validateStrictlyLower (name: string) (lower: Csr) =
        if lower.Rows <> lower.Cols then invalidArg name "The matrix must be square."
        for i in 0 .. lower.Rows - 1 do
            for k in lower.RowPointers[i] .. lower.RowPointers[i + 1] - 1 do
                if lower.ColumnIndices[k] >= i then
                    invalidArg name (sprintf "Row %d has an entry in column %d; only strictly lower entries are allowed." i lower.ColumnIndices[k])

    /// <summary>Scalar reference: solves (I + L) x = b in place by forward substitution on the dense form.</summary>
    let solveUnitLowerReference (lower: DenseMatrix, rhs: Span<float>) =
        Guard.length (nameof rhs) lower.Rows rhs.Length
        for i in 0 .. lower.Rows - 1 do
            let mutable acc = rhs[i]
            for j in 0 .. i - 1 do
                acc <- acc - lower[i, j] * rhs[j]
            rhs[i] <- acc

    /// <summary>Solves (I + L) x = b in place, overwriting <paramref name="rhs"/> with x.</summary>
    /// <param name="lower">Strictly lower part L in CSR: unit diagonal implied, not stored; every column
    /// index in row i is &lt; i (checked).</param>
    /// <param name="rhs">Right-hand side b on entry, solution x on exit.</param>
    /// <remarks>Row i needs x_0 … x_{i−1} only, so one pass in row order suffices (BLAS dtrsv with
    /// uplo = L, diag = U). Each row is a sparse dot product with already-solved entries.</remarks>
    let solveUnitLowerInPlace (lower: Csr, rhs: Span<float>) =
        validateStrictlyLower (nameof lower) lower
        Guard.length (nameof rhs) lower.Rows rhs.Length
        let ptr = lower.RowPointers
        let cols = lower.ColumnIndices
        let vals = lower.Values
        for i in 0 .. lower.Rows - 1 do
            let mutable acc = rhs[i]
            for k in ptr[i] .. ptr[i + 1] - 1 do
                acc <- acc - vals[k] * rhs[cols[k]]
            rhs[i] <- acc

    /// destination = (I + L) x, the inverse of the solve (CSR strictly-lower L as above).
    let multiplyUnitLower (lower: Csr, x: ReadOnlySpan<float>, destination: Span<float>) =
        validateStrictlyLower (nameof lower) lower
        Guard.length (nameof x) lower.Rows x.Length
        Guard.length (nameof destination) lower.Rows destination.Length
        for i in 0 .. lower.Rows - 1 do
            let mutable acc = x[i]
            for k in lower.RowPointers[i] .. lower.RowPointers[i + 1] - 1 do
                acc <- acc + lower.Values[k] * x[lower.ColumnIndices[k]]
            destination[i] <- acc

    /// Element-wise mask product destination = mask ⊙ source (the ReLU block R = diag(σ) of δ_Ω),
    /// vectorised by TensorPrimitives.
    let applyMask (mask: ReadOnlySpan<float>, source: ReadOnlySpan<float>, destination: Span<float>) =
        TensorPrimitives.Multiply(mask, source, destination)

    /// <summary>Scalar reference of the self-consistent ReLU block row: destination_i = source_i if source_i ≥ 0, else 0
    /// (R = diag(source ≥ 0); z = 0 counts as active, so −0.0 is kept as −0.0).</summary>
    let activeProjectionReference (source: ReadOnlySpan<float>, destination: Span<float>) =
        Guard.atLeast (nameof destination) source.Length destination.Length
        for i in 0 .. source.Length - 1 do
            destination[i] <- if source[i] >= 0.0 then source[i] else 0.0

    /// <summary>destination = R z with R = diag(z ≥ 0), vectorised: a compare mask selects z or 0 per lane.</summary>
    /// <remarks>Same result as the reference bit for bit (a select, no arithmetic). Widest available vector first,
    /// scalar tail.</remarks>
    let activeProjection (source: ReadOnlySpan<float>, destination: Span<float>) =
        Guard.atLeast (nameof destination) source.Length destination.Length
        let n = source.Length
        let mutable i = 0
        if Vector512.IsHardwareAccelerated then
            while i + 8 <= n do
                let v = Vector512.Create<float>(source.Slice(i, 8))
                Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(v, Vector512<float>.Zero), v, Vector512<float>.Zero).CopyTo(destination.Slice(i, 8))
                i <- i + 8
        elif Vector256.IsHardwareAccelerated then
            while i + 4 <= n do
                let v = Vector256.Create<float>(source.Slice(i, 4))
                Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero), v, Vector256<float>.Zero).CopyTo(destination.Slice(i, 4))
                i <- i + 4
        while i < n do
            destination[i] <- if source[i] >= 0.0 then source[i] else 0.0
            i <- i + 1
