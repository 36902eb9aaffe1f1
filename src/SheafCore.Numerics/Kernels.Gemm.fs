namespace SheafCore.Numerics

open System

// Temporary scalar GEMM so the network layer can be written against the final signature;
// replaced by the blocked, vectorised kernel from the gemm branch.
[<RequireQualifiedAccess>]
module internal Gemm =
    let multiplyReference
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int, c: Span<float>, ldc: int, accumulate: bool)
        =
        for i in 0 .. m - 1 do
            if not accumulate then c.Slice(i * ldc, n).Clear()
            for p in 0 .. k - 1 do
                let aip = a[i * lda + p]
                for j in 0 .. n - 1 do
                    c[i * ldc + j] <- c[i * ldc + j] + aip * b[p * ldb + j]

    let multiply (m, n, k, a, lda, b, ldb, c, ldc, accumulate) =
        multiplyReference (m, n, k, a, lda, b, ldb, c, ldc, accumulate)

    let multiplyTransposeAReference
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int, c: Span<float>, ldc: int, accumulate: bool)
        =
        for i in 0 .. m - 1 do
            if not accumulate then c.Slice(i * ldc, n).Clear()
            for p in 0 .. k - 1 do
                let api = a[p * lda + i]
                for j in 0 .. n - 1 do
                    c[i * ldc + j] <- c[i * ldc + j] + api * b[p * ldb + j]

    let multiplyTransposeA (m, n, k, a, lda, b, ldb, c, ldc, accumulate) =
        multiplyTransposeAReference (m, n, k, a, lda, b, ldb, c, ldc, accumulate)
