namespace SheafCore.Numerics

open System
open System.Runtime.Intrinsics

/// Hot loops of NSD's layers on stalk-major states (row v·D + k of width f), each with a scalar twin.
/// The vectorised kernels run over the f columns in Vector512 chunks and keep, per column, exactly the
/// twin's order of operations (multiply, then add, neighbours in adjacency order), so they are bit-identical
/// to the twin and to the earlier TensorPrimitives row updates (property NsdKernelProperties).
[<RequireQualifiedAccess>]
module internal NsdKernels =

    /// <summary>Scalar twin of <see cref="gatherRow"/>.</summary>
    let gatherRowReference
        (pointers: int[], incidences: int[], neighbour: int[], v: int, k: int, stalks: int, f: int, diagonal: float,
         coeffs: float[], stride: int, column: int, scale: float, z: ReadOnlySpan<float>, y: Span<float>, fromColumn: int)
        =
        let row = (v * stalks + k) * f
        for j in fromColumn .. f - 1 do
            let mutable acc = z[row + j] * diagonal
            for a in pointers[v] .. pointers[v + 1] - 1 do
                let i = incidences[a]
                let c = scale * coeffs[i * stride + column]
                acc <- acc + z[(neighbour[i] * stalks + k) * f + j] * c
            y[row + j] <- acc

    /// <summary>Row (v, k) of Y = Δ·Z for one stalk coordinate k of a scalar-weighted graph operator:
    /// Y[v,k,:] = diagonal·Z[v,k,:] + Σ_{incidences i at v} (scale·coeffs[i·stride + column])·Z[u_i,k,:].</summary>
    /// <remarks>The accumulator lives in a register across the neighbour loop (one load per neighbour row,
    /// one store per output row) instead of a read–modify–write of the output row per neighbour.</remarks>
    let gatherRow
        (pointers: int[], incidences: int[], neighbour: int[], v: int, k: int, stalks: int, f: int, diagonal: float,
         coeffs: float[], stride: int, column: int, scale: float, z: ReadOnlySpan<float>, y: Span<float>)
        =
        let mutable j0 = 0
        if Vector512.IsHardwareAccelerated then
            let row = (v * stalks + k) * f
            let diag = Vector512.Create diagonal
            let first = pointers[v]
            let last = pointers[v + 1] - 1
            while j0 + 8 <= f do
                let mutable acc = Vector512.Create<float>(z.Slice(row + j0, 8)) * diag
                for a in first .. last do
                    let i = incidences[a]
                    let c = Vector512.Create(scale * coeffs[i * stride + column])
                    acc <- acc + Vector512.Create<float>(z.Slice((neighbour[i] * stalks + k) * f + j0, 8)) * c
                acc.CopyTo(y.Slice(row + j0, 8))
                j0 <- j0 + 8
        if j0 < f then
            gatherRowReference (pointers, incidences, neighbour, v, k, stalks, f, diagonal, coeffs, stride, column, scale, z, y, j0)

    /// <summary>Scalar twin of <see cref="leftMultiply"/>.</summary>
    let leftMultiplyReference
        (d: int, w: ReadOnlySpan<float>, transpose: bool, f: int, source: ReadOnlySpan<float>, target: Span<float>, fromColumn: int)
        =
        for r in 0 .. d - 1 do
            for j in fromColumn .. f - 1 do
                let mutable sum = 0.0
                for c in 0 .. d - 1 do
                    let weight = if transpose then w[c * d + r] else w[r * d + c]
                    sum <- sum + weight * source[c * f + j]
                target[r * f + j] <- sum

    /// <summary>target (d×f) = op(W)·source (d×f) for one node's block, op(W) = W or Wᵀ (W d×d row-major);
    /// per entry the sum runs over c = 0..d−1 from 0, as Gemm's scalar reference.</summary>
    let leftMultiply (d: int, w: ReadOnlySpan<float>, transpose: bool, f: int, source: ReadOnlySpan<float>, target: Span<float>) =
        let mutable j0 = 0
        if Vector512.IsHardwareAccelerated then
            while j0 + 8 <= f do
                for r in 0 .. d - 1 do
                    let mutable sum = Vector512<float>.Zero
                    for c in 0 .. d - 1 do
                        let weight = if transpose then w[c * d + r] else w[r * d + c]
                        sum <- sum + Vector512.Create weight * Vector512.Create<float>(source.Slice(c * f + j0, 8))
                    sum.CopyTo(target.Slice(r * f + j0, 8))
                j0 <- j0 + 8
        if j0 < f then leftMultiplyReference (d, w, transpose, f, source, target, j0)

    /// <summary>Scalar twin of <see cref="smallProduct"/>. The transposes become index strides, so the inner
    /// loop has no branch.</summary>
    let smallProductReference
        (d: int, a: ReadOnlySpan<float>, ta: bool, b: ReadOnlySpan<float>, tb: bool, alpha: float, c: Span<float>)
        =
        let ai, ak = if ta then 1, d else d, 1
        let bk, bj = if tb then 1, d else d, 1
        let a = a.Slice(0, d * d)
        let b = b.Slice(0, d * d)
        for i in 0 .. d - 1 do
            for j in 0 .. d - 1 do
                let mutable acc = 0.0
                let mutable pa = i * ai
                let mutable pb = j * bj
                for _ in 0 .. d - 1 do
                    acc <- acc + a[pa] * b[pb]
                    pa <- pa + ak
                    pb <- pb + bk
                c[i * d + j] <- c[i * d + j] + alpha * acc

    /// <summary>c (d×d) += α·op(a)·op(b) for small row-major matrices (the block adjoints of O(d)/Gen-NSD).</summary>
    /// <remarks>For d = 4 a row of c is one Vector256: row i = Σ_k op(a)[i,k]·(row k of op(b)), summed from 0 in
    /// k order as the twin does per entry, so the result is bit-identical. d = 3 is the twin unrolled; other d use
    /// the twin.</remarks>
    let smallProduct (d: int, a: ReadOnlySpan<float>, ta: bool, b: ReadOnlySpan<float>, tb: bool, alpha: float, c: Span<float>) =
        if d = 4 && Vector256.IsHardwareAccelerated then
            let a = a.Slice(0, 16)
            let b = b.Slice(0, 16)
            let b0 = if tb then Vector256.Create(b[0], b[4], b[8], b[12]) else Vector256.Create<float>(b.Slice(0, 4))
            let b1 = if tb then Vector256.Create(b[1], b[5], b[9], b[13]) else Vector256.Create<float>(b.Slice(4, 4))
            let b2 = if tb then Vector256.Create(b[2], b[6], b[10], b[14]) else Vector256.Create<float>(b.Slice(8, 4))
            let b3 = if tb then Vector256.Create(b[3], b[7], b[11], b[15]) else Vector256.Create<float>(b.Slice(12, 4))
            let scale = Vector256.Create alpha
            // op(a)[i,k] sits at a[ai·i + ak·k].
            let ai, ak = if ta then 1, 4 else 4, 1
            for i in 0 .. 3 do
                let acc = Vector256<float>.Zero + Vector256.Create a[ai * i] * b0
                let acc = acc + Vector256.Create a[ai * i + ak] * b1
                let acc = acc + Vector256.Create a[ai * i + 2 * ak] * b2
                let acc = acc + Vector256.Create a[ai * i + 3 * ak] * b3
                let target = c.Slice(4 * i, 4)
                (Vector256.Create<float>(ro target) + scale * acc).CopyTo target
        elif d = 3 then
            // O(d)-NSD's usual size: the twin's loops unrolled over k, the same operations in the same order.
            let a = a.Slice(0, 9)
            let b = b.Slice(0, 9)
            let ai, ak = if ta then 1, 3 else 3, 1
            let bk, bj = if tb then 1, 3 else 3, 1
            for i in 0 .. 2 do
                let pa = i * ai
                for j in 0 .. 2 do
                    let pb = j * bj
                    let acc = 0.0 + a[pa] * b[pb]
                    let acc = acc + a[pa + ak] * b[pb + bk]
                    let acc = acc + a[pa + 2 * ak] * b[pb + 2 * bk]
                    c[i * 3 + j] <- c[i * 3 + j] + alpha * acc
        else smallProductReference (d, a, ta, b, tb, alpha, c)

    /// <summary>Scalar twin of <see cref="blockRow"/>.</summary>
    let blockRowReference
        (rowPointers: int[], columns: int[], blockOffsets: int[], values: float[], d: int, v: int, r: int, stalks: int,
         f: int, z: ReadOnlySpan<float>, y: Span<float>, fromColumn: int)
        =
        let row = (v * stalks + r) * f
        for j in fromColumn .. f - 1 do
            let mutable acc = 0.0
            for b in rowPointers[v] .. rowPointers[v + 1] - 1 do
                let source = columns[b] * stalks * f + j
                let block = blockOffsets[b] + r * d
                for c in 0 .. d - 1 do
                    acc <- acc + z[source + c * f] * values[block + c]
            y[row + j] <- acc

    /// <summary>Row (v, r) of Y = Δ·Z for a block-CSR Δ with d×d blocks on the learned coordinates:
    /// Y[v,r,:] = Σ_{blocks b of row v} Σ_c Δ_b[r,c]·Z[u_b,c,:], accumulated in a register in (b, c) order.</summary>
    let blockRow
        (rowPointers: int[], columns: int[], blockOffsets: int[], values: float[], d: int, v: int, r: int, stalks: int,
         f: int, z: ReadOnlySpan<float>, y: Span<float>)
        =
        let mutable j0 = 0
        if Vector512.IsHardwareAccelerated then
            let row = (v * stalks + r) * f
            let first = rowPointers[v]
            let last = rowPointers[v + 1] - 1
            while j0 + 8 <= f do
                let mutable acc = Vector512<float>.Zero
                for b in first .. last do
                    let source = columns[b] * stalks * f + j0
                    let block = blockOffsets[b] + r * d
                    for c in 0 .. d - 1 do
                        acc <- acc + Vector512.Create<float>(z.Slice(source + c * f, 8)) * Vector512.Create values[block + c]
                acc.CopyTo(y.Slice(row + j0, 8))
                j0 <- j0 + 8
        if j0 < f then blockRowReference (rowPointers, columns, blockOffsets, values, d, v, r, stalks, f, z, y, j0)
