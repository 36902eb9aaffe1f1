namespace SheafCore.Numerics

#nowarn "9"

open System
open System.Numerics.Tensors
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open System.Runtime.ExceptionServices
open System.Threading
open Microsoft.FSharp.NativeInterop

/// <summary>The sheaf Laplacian L = δᵀδ in block-CSR storage with variable block sizes.</summary>
/// <remarks>
/// Block row v has d_v = VertexDims[v] scalar rows starting at VertexOffsets[v]. Blocks
/// k ∈ [RowPointers[v], RowPointers[v+1]) of row v have strictly increasing ColumnIndices (the diagonal
/// block (v, v) is always present; neighbours of multi-edges appear once). Block k = (v, u) is d_v × d_u,
/// row-major, at Values[BlockOffsets[k] .. BlockOffsets[k+1]).
/// DiagonalPositions[v] is the block index of (v, v); EdgeBlockPositions[4e .. 4e+3] are the block indices
/// of (s, s), (t, t), (s, t), (t, s) for edge e = (s → t), so refilling never searches.
/// The pattern is fixed at assembly; only Values change (see <c>SheafLaplacian.refill</c>).
/// </remarks>
[<Sealed; AllowNullLiteral>]
type internal SheafLaplacianMatrix
    (
        vertexDims: int[],
        vertexOffsets: int[],
        edgeSources: int[],
        edgeTargets: int[],
        rowPointers: int[],
        columnIndices: int[],
        blockOffsets: int[],
        values: float[],
        diagonalPositions: int[],
        edgeBlockPositions: int[]
    ) =
    member _.BlockRows = vertexDims.Length
    /// Scalar dimension C⁰ = Σ_v d_v.
    member _.Dimension = vertexOffsets[vertexDims.Length]
    member _.VertexDims = vertexDims
    member _.VertexOffsets = vertexOffsets
    member _.EdgeSources = edgeSources
    member _.EdgeTargets = edgeTargets
    member _.RowPointers = rowPointers
    member _.ColumnIndices = columnIndices
    member _.BlockOffsets = blockOffsets
    member _.Values = values
    member _.DiagonalPositions = diagonalPositions
    member _.EdgeBlockPositions = edgeBlockPositions
    /// Number of stored blocks.
    member _.BlockCount = columnIndices.Length
    /// d when every stalk has dimension d (then block k sits at Values[k·d²]), −1 for mixed dimensions.
    member val UniformDimension =
        if vertexDims.Length = 0 then -1
        elif Array.forall (fun d -> d = vertexDims[0]) vertexDims then vertexDims[0]
        else -1

    /// A matrix with the same (shared, immutable) pattern and fresh zero values.
    member _.WithZeroValues() =
        SheafLaplacianMatrix(
            vertexDims,
            vertexOffsets,
            edgeSources,
            edgeTargets,
            rowPointers,
            columnIndices,
            blockOffsets,
            Array.zeroCreate values.Length,
            diagonalPositions,
            edgeBlockPositions
        )

/// <summary>The augmented normalised Laplacian Δ = (D+I)^{-1/2}·L·(D+I)^{-1/2}, D = blockdiag(L_vv).</summary>
/// <remarks>Matrix holds Δ in the same block-CSR pattern as L (Δ_vu = M_v·L_vu·M_u), and the scaling
/// blocks M_v = (L_vv + I)^{-1/2} (d_v × d_v, symmetric, row-major) sit at
/// ScalingValues[ScalingOffsets[v] ..]. The private workspaces make the refill allocation-free
/// (and, like any in-place refill, not thread-safe).</remarks>
[<Sealed; AllowNullLiteral>]
type internal NormalisedSheafLaplacian
    (matrix: SheafLaplacianMatrix, scalingOffsets: int[], scalingValues: float[], maxDim: int) =
    let eigenWorkspace = Array.zeroCreate<float> (maxDim * maxDim)
    let vectorWorkspace = Array.zeroCreate<float> (maxDim * maxDim)
    let productWorkspace = Array.zeroCreate<float> (maxDim * maxDim)
    member _.Matrix = matrix
    member _.ScalingOffsets = scalingOffsets
    member _.ScalingValues = scalingValues
    member _.Dimension = matrix.Dimension
    member internal _.EigenWorkspace = eigenWorkspace
    member internal _.VectorWorkspace = vectorWorkspace
    member internal _.ProductWorkspace = productWorkspace

/// Assembly, refill and products for the sheaf Laplacian L = δᵀδ:
/// L_vv = Σ_{e∋v} F_{v⊴e}ᵀF_{v⊴e}, L_uv = −Σ_{e joining u and v} F_{u⊴e}ᵀF_{v⊴e}.
[<RequireQualifiedAccess>]
module internal SheafLaplacian =

    let inline private ro (s: Span<float>) : ReadOnlySpan<float> = Span<float>.op_Implicit s

    /// Position of block (row, col) in the fixed pattern (binary search in the sorted row).
    let private findBlock (rowPointers: int[], columnIndices: int[], row: int, col: int) =
        let k = Array.BinarySearch(columnIndices, rowPointers[row], rowPointers[row + 1] - rowPointers[row], col)
        if k < 0 then invalidOp "Block missing from the Laplacian pattern." else k

    /// Throws unless the sheaf has the topology and stalk dimensions the pattern was built from.
    let private requireSameStructure (sheaf: CellularSheaf, laplacian: SheafLaplacianMatrix) =
        let same (a: int[]) (b: int[]) =
            if obj.ReferenceEquals(a, b) then true
            elif a.Length <> b.Length then false
            else ReadOnlySpan<int>(a).SequenceEqual(ReadOnlySpan<int>(b))
        if not (same sheaf.VertexDims laplacian.VertexDims
                && same sheaf.EdgeSources laplacian.EdgeSources
                && same sheaf.EdgeTargets laplacian.EdgeTargets) then
            invalidArg
                (nameof laplacian)
                "The Laplacian was assembled from a sheaf with a different graph or stalk dimensions."

    /// target[j] += x[j]·c, the same rounding as TensorPrimitives.MultiplyAdd (a product, then a sum; no fused
    /// multiply-add). Below 8 entries a plain loop: the library call's set-up costs more than the arithmetic
    /// for the 2–5 wide rows of small stalks (NSD's refills), and the bits are the same either way.
    let private multiplyAddRow (x: ReadOnlySpan<float>, c: float, target: Span<float>) =
        if x.Length < 8 then
            for j in 0 .. x.Length - 1 do
                target[j] <- x[j] * c + target[j]
        else
            TensorPrimitives.MultiplyAdd(x, c, ro target, target)

    /// block (d_a × d_b, row-major) += sign · F_aᵀ·F_b for incidences a, b of the same edge.
    let private accumulateProduct (sheaf: CellularSheaf, ia: int, ib: int, sign: float, block: Span<float>) =
        let de = sheaf.EdgeDims[ia / 2]
        let da = sheaf.VertexDims[sheaf.IncidenceVertex ia]
        let db = sheaf.VertexDims[sheaf.IncidenceVertex ib]
        let values = ReadOnlySpan<float>(sheaf.MapValues)
        let ma = sheaf.MapOffsets[ia]
        let mb = sheaf.MapOffsets[ib]
        let familyA = sheaf.Families[ia]
        let familyB = sheaf.Families[ib]
        let denseA = familyA = RestrictionFamily.Dense || familyA = RestrictionFamily.Orthogonal
        let denseB = familyB = RestrictionFamily.Dense || familyB = RestrictionFamily.Orthogonal
        if denseA && denseB then
            // Σ_r (row r of F_a)ᵀ ⊗ (row r of F_b): each entry of row r of F_a scales row r of F_b into one block row.
            for r in 0 .. de - 1 do
                let rowB = values.Slice(mb + r * db, db)
                for i in 0 .. da - 1 do
                    let coefficient = sign * values[ma + r * da + i]
                    if coefficient <> 0.0 then
                        multiplyAddRow (rowB, coefficient, block.Slice(i * db, db))
        elif denseB then
            // F_a diagonal (d_a = d_e): block row i = a_i · row i of F_b.
            for i in 0 .. de - 1 do
                let a = if familyA = RestrictionFamily.Identity then 1.0 else values[ma + i]
                let target = block.Slice(i * db, db)
                TensorPrimitives.MultiplyAdd(values.Slice(mb + i * db, db), sign * a, ro target, target)
        elif denseA then
            // F_b diagonal (d_b = d_e): entry (i, j) = F_a[j, i]·b_j; the column of F_a is strided, so scalar.
            for i in 0 .. da - 1 do
                for j in 0 .. db - 1 do
                    let b = if familyB = RestrictionFamily.Identity then 1.0 else values[mb + j]
                    block[i * db + j] <- block[i * db + j] + sign * values[ma + j * da + i] * b
        else
            for i in 0 .. de - 1 do
                let a = if familyA = RestrictionFamily.Identity then 1.0 else values[ma + i]
                let b = if familyB = RestrictionFamily.Identity then 1.0 else values[mb + i]
                block[i * de + i] <- block[i * de + i] + sign * a * b

    /// refill's fast path when every map is Dense d×d at i·d²: the same products in the same order as
    /// accumulateProduct (so the same bits), without its per-block family dispatch and slicing — NSD refills
    /// ~10⁵ small blocks per layer.
    let private refillUniformDense (sheaf: CellularSheaf, laplacian: SheafLaplacianMatrix, d: int) =
        let maps = sheaf.MapValues
        let out = laplacian.Values
        let offsets = laplacian.BlockOffsets
        let positions = laplacian.EdgeBlockPositions
        let dd = d * d
        for e in 0 .. sheaf.EdgeCount - 1 do
            for side in 0 .. 3 do
                let o = offsets[positions[4 * e + side]]
                let ma = (if side = 1 || side = 3 then 2 * e + 1 else 2 * e) * dd
                let mb = (if side = 1 || side = 2 then 2 * e + 1 else 2 * e) * dd
                let sign = if side < 2 then 1.0 else -1.0
                for r in 0 .. d - 1 do
                    for i in 0 .. d - 1 do
                        let coefficient = sign * maps[ma + r * d + i]
                        if coefficient <> 0.0 then
                            for j in 0 .. d - 1 do
                                out[o + i * d + j] <- maps[mb + r * d + j] * coefficient + out[o + i * d + j]

    /// The general refill (any families and dimensions), block by block through accumulateProduct; also the
    /// reference twin of the uniform dense fast path.
    let internal refillReference (sheaf: CellularSheaf, laplacian: SheafLaplacianMatrix) : unit =
        let values = Span<float>(laplacian.Values)
        values.Clear()
        let offsets = laplacian.BlockOffsets
        let positions = laplacian.EdgeBlockPositions
        for e in 0 .. sheaf.EdgeCount - 1 do
            // The four blocks this edge touches:
            // (s,s) += F_sᵀF_s, (t,t) += F_tᵀF_t, (s,t) −= F_sᵀF_t, (t,s) −= F_tᵀF_s.
            for side in 0 .. 3 do
                let k = positions[4 * e + side]
                let block = values.Slice(offsets[k], offsets[k + 1] - offsets[k])
                let ia = if side = 1 || side = 3 then 2 * e + 1 else 2 * e
                let ib = if side = 1 || side = 2 then 2 * e + 1 else 2 * e
                accumulateProduct (sheaf, ia, ib, (if side < 2 then 1.0 else -1.0), block)

    /// <summary>Recomputes the values of L in place from the sheaf's current maps (no allocation).</summary>
    /// <param name="sheaf">A sheaf with the same graph and stalk dimensions as the one assembled from.</param>
    /// <param name="laplacian">The matrix to overwrite.</param>
    /// <exception cref="System.ArgumentException">The structures differ.</exception>
    let refill (sheaf: CellularSheaf, laplacian: SheafLaplacianMatrix) : unit =
        if isNull sheaf then nullArg (nameof sheaf)
        if isNull laplacian then nullArg (nameof laplacian)
        requireSameStructure (sheaf, laplacian)
        let d = sheaf.UniformDenseDimension
        if d > 0 then
            Array.Clear laplacian.Values
            refillUniformDense (sheaf, laplacian, d)
        else
            refillReference (sheaf, laplacian)

    /// <summary>Builds the block sparsity pattern of L from the sheaf's graph and fills its values.</summary>
    /// <remarks>Each row holds its diagonal block and one block per distinct neighbour, sorted; parallel
    /// edges merge into one block. O((V + E) log(V + E)) once; later value changes go through <c>refill</c>.</remarks>
    let assemble (sheaf: CellularSheaf) : SheafLaplacianMatrix =
        if isNull sheaf then nullArg (nameof sheaf)
        let n = sheaf.VertexCount
        let m = sheaf.EdgeCount
        // Keys row·n + col for every (v, v) and both orientations of every edge; sort + dedupe.
        let keys = Array.zeroCreate<int64> (n + 2 * m)
        for v in 0 .. n - 1 do
            keys[v] <- int64 v * int64 n + int64 v
        for e in 0 .. m - 1 do
            let s = int64 sheaf.EdgeSources[e]
            let t = int64 sheaf.EdgeTargets[e]
            keys[n + 2 * e] <- s * int64 n + t
            keys[n + 2 * e + 1] <- t * int64 n + s
        Array.sortInPlace keys
        let unique = ResizeArray<int64>(keys.Length)
        for i in 0 .. keys.Length - 1 do
            if i = 0 || keys[i] <> keys[i - 1] then unique.Add keys[i]
        let rowPointers = Array.zeroCreate (n + 1)
        let columnIndices = Array.zeroCreate unique.Count
        let blockOffsets = Array.zeroCreate (unique.Count + 1)
        for k in 0 .. unique.Count - 1 do
            let row = int (unique[k] / int64 n)
            let col = int (unique[k] % int64 n)
            columnIndices[k] <- col
            rowPointers[row + 1] <- rowPointers[row + 1] + 1
            blockOffsets[k + 1] <- blockOffsets[k] + sheaf.VertexDims[row] * sheaf.VertexDims[col]
        for v in 0 .. n - 1 do
            rowPointers[v + 1] <- rowPointers[v + 1] + rowPointers[v]
        let diagonalPositions = Array.init n (fun v -> findBlock (rowPointers, columnIndices, v, v))
        let edgeBlockPositions = Array.zeroCreate (4 * m)
        for e in 0 .. m - 1 do
            let s = sheaf.EdgeSources[e]
            let t = sheaf.EdgeTargets[e]
            edgeBlockPositions[4 * e] <- diagonalPositions[s]
            edgeBlockPositions[4 * e + 1] <- diagonalPositions[t]
            edgeBlockPositions[4 * e + 2] <- findBlock (rowPointers, columnIndices, s, t)
            edgeBlockPositions[4 * e + 3] <- findBlock (rowPointers, columnIndices, t, s)
        let l =
            SheafLaplacianMatrix(
                sheaf.VertexDims,
                sheaf.VertexOffsets,
                sheaf.EdgeSources,
                sheaf.EdgeTargets,
                rowPointers,
                columnIndices,
                blockOffsets,
                Array.zeroCreate blockOffsets[unique.Count],
                diagonalPositions,
                edgeBlockPositions
            )
        refill (sheaf, l)
        l

    let private validateApply (laplacian: SheafLaplacianMatrix, xLength: int, destinationLength: int) =
        if isNull laplacian then nullArg (nameof laplacian)
        Guard.length "x" laplacian.Dimension xLength
        Guard.atLeast "destination" laplacian.Dimension destinationLength

    /// <summary>Scalar reference for <c>destination = L·x</c> over block-CSR storage.</summary>
    let applyReference (laplacian: SheafLaplacianMatrix, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateApply (laplacian, x.Length, destination.Length)
        let dims = laplacian.VertexDims
        let offsets = laplacian.VertexOffsets
        for v in 0 .. laplacian.BlockRows - 1 do
            for r in 0 .. dims[v] - 1 do
                let mutable acc = 0.0
                for k in laplacian.RowPointers[v] .. laplacian.RowPointers[v + 1] - 1 do
                    let u = laplacian.ColumnIndices[k]
                    let block = laplacian.BlockOffsets[k] + r * dims[u]
                    for c in 0 .. dims[u] - 1 do
                        acc <- acc + laplacian.Values[block + c] * x[offsets[u] + c]
                destination[offsets[v] + r] <- acc

    /// Uniform d = 1, rows [first, last): plain CSR (block k is the scalar Values[k]); no block-offset or dimension
    /// reads, no bounds checks (the pattern was validated at assembly). Four rows are summed side by side: one row's
    /// sum is a chain of dependent adds (latency-bound at a few entries per row), four chains overlap. Each row keeps
    /// its own left-to-right order, so the result equals the scalar twin bit for bit (and any row range gives the same
    /// bits). An AVX2-gather variant (products of a group of rows gathered four at a time into a stack buffer, then
    /// summed in order) was slower on the 10⁶-vertex grid (6.4 vs 3.9 ms, Stopwatch profile) and was dropped.
    let private rowsUniform1 (laplacian: SheafLaplacianMatrix, pX: nativeptr<float>, pY: nativeptr<float>, first: int, last: int) =
        use pRows = fixed laplacian.RowPointers
        use pValues = fixed laplacian.Values
        use pColumns = fixed laplacian.ColumnIndices
        let inline term k = NativePtr.get pValues k * NativePtr.get pX (NativePtr.get pColumns k)
        let mutable v = first
        while v + 4 <= last do
            let s0 = NativePtr.get pRows v
            let s1 = NativePtr.get pRows (v + 1)
            let s2 = NativePtr.get pRows (v + 2)
            let s3 = NativePtr.get pRows (v + 3)
            let e3 = NativePtr.get pRows (v + 4)
            let common = min (min (s1 - s0) (s2 - s1)) (min (s3 - s2) (e3 - s3))
            let mutable a0 = 0.0
            let mutable a1 = 0.0
            let mutable a2 = 0.0
            let mutable a3 = 0.0
            for j in 0 .. common - 1 do
                a0 <- a0 + term (s0 + j)
                a1 <- a1 + term (s1 + j)
                a2 <- a2 + term (s2 + j)
                a3 <- a3 + term (s3 + j)
            for k in s0 + common .. s1 - 1 do
                a0 <- a0 + term k
            for k in s1 + common .. s2 - 1 do
                a1 <- a1 + term k
            for k in s2 + common .. s3 - 1 do
                a2 <- a2 + term k
            for k in s3 + common .. e3 - 1 do
                a3 <- a3 + term k
            NativePtr.set pY v a0
            NativePtr.set pY (v + 1) a1
            NativePtr.set pY (v + 2) a2
            NativePtr.set pY (v + 3) a3
            v <- v + 4
        while v < last do
            let mutable acc = 0.0
            for k in NativePtr.get pRows v .. NativePtr.get pRows (v + 1) - 1 do
                acc <- acc + term k
            NativePtr.set pY v acc
            v <- v + 1

    /// How far ahead of the current d = 2 blocks the values are prefetched: 64 blocks = 2 KB (measured on the
    /// 10⁶-vertex grid: 12.1–12.7 ms without, 9.3–9.6 ms with; 32 blocks gave 10.8 ms, 96 blocks 8.9 ms).
    [<Literal>]
    let private PrefetchBlocks = 64

    /// Uniform d = 2, rows [first, last): one Vector256 per block, [a00 a01 a10 a11] ⊙ [x0 x1 x0 x1] (the pair
    /// broadcast straight from memory by vbroadcastf128, a load, instead of a load and a shuffle), accumulated over
    /// the block row and reduced pairwise once per vertex; two vertices side by side so that their accumulation chains
    /// overlap. The values stream is prefetched in software (the hardware prefetchers alone left it a quarter slower).
    /// Each vertex's sum has the same order whether it runs in the pair loop or alone, so any row range gives the
    /// same bits.
    let private rowsUniform2 (laplacian: SheafLaplacianMatrix, pX: nativeptr<float>, pY: nativeptr<float>, first: int, last: int) =
        use pRows = fixed laplacian.RowPointers
        use pValues = fixed laplacian.Values
        use pColumns = fixed laplacian.ColumnIndices
        let inline term k =
            let pair =
                if Avx.IsSupported then Avx.BroadcastVector128ToVector256(NativePtr.add pX (2 * NativePtr.get pColumns k))
                else
                    let p = Vector128.Load(NativePtr.add pX (2 * NativePtr.get pColumns k))
                    Vector256.Create(p, p)
            Vector256.Load(NativePtr.add pValues (4 * k)) * pair
        let inline store v (acc: Vector256<float>) =
            NativePtr.set pY (2 * v) (acc.GetElement 0 + acc.GetElement 1)
            NativePtr.set pY (2 * v + 1) (acc.GetElement 2 + acc.GetElement 3)
        let mutable v = first
        while v + 2 <= last do
            let s0 = NativePtr.get pRows v
            let s1 = NativePtr.get pRows (v + 1)
            let e1 = NativePtr.get pRows (v + 2)
            let common = min (s1 - s0) (e1 - s1)
            let mutable a0 = Vector256<float>.Zero
            let mutable a1 = Vector256<float>.Zero
            if Sse.IsSupported then
                // The blocks PrefetchBlocks ahead of this pair, one prefetch per 64-byte line (a prefetch never
                // faults, so running past the end of Values near the last rows is harmless).
                let mutable q = 4 * (s0 + PrefetchBlocks)
                while q < 4 * (e1 + PrefetchBlocks) do
                    Sse.Prefetch0(NativePtr.toVoidPtr (NativePtr.add pValues q))
                    q <- q + 8
            for j in 0 .. common - 1 do
                a0 <- a0 + term (s0 + j)
                a1 <- a1 + term (s1 + j)
            for k in s0 + common .. s1 - 1 do
                a0 <- a0 + term k
            for k in s1 + common .. e1 - 1 do
                a1 <- a1 + term k
            store v a0
            store (v + 1) a1
            v <- v + 2
        while v < last do
            let mutable acc = Vector256<float>.Zero
            for k in NativePtr.get pRows v .. NativePtr.get pRows (v + 1) - 1 do
                acc <- acc + term k
            store v acc
            v <- v + 1

    /// Uniform d = 8m, rows [first, last): eight scalar rows at a time, one Vector512 accumulator each; every 8-wide
    /// chunk of x_u is loaded once and used by the eight rows (register blocking), and each row is reduced once.
    let private rowsUniformWide (laplacian: SheafLaplacianMatrix, d: int, pX: nativeptr<float>, pY: nativeptr<float>, first: int, last: int) =
        let rowPointers = laplacian.RowPointers
        let columns = laplacian.ColumnIndices
        let dd = d * d
        use pValues = fixed laplacian.Values
        for v in first .. last - 1 do
            let mutable r0 = 0
            while r0 < d do
                let mutable a0 = Vector512<float>.Zero
                let mutable a1 = Vector512<float>.Zero
                let mutable a2 = Vector512<float>.Zero
                let mutable a3 = Vector512<float>.Zero
                let mutable a4 = Vector512<float>.Zero
                let mutable a5 = Vector512<float>.Zero
                let mutable a6 = Vector512<float>.Zero
                let mutable a7 = Vector512<float>.Zero
                for k in rowPointers[v] .. rowPointers[v + 1] - 1 do
                    let b = NativePtr.add pX (d * columns[k])
                    let a = NativePtr.add pValues (k * dd + r0 * d)
                    let mutable c = 0
                    while c < d do
                        let xc = Vector512.Load(NativePtr.add b c)
                        a0 <- a0 + Vector512.Load(NativePtr.add a c) * xc
                        a1 <- a1 + Vector512.Load(NativePtr.add a (d + c)) * xc
                        a2 <- a2 + Vector512.Load(NativePtr.add a (2 * d + c)) * xc
                        a3 <- a3 + Vector512.Load(NativePtr.add a (3 * d + c)) * xc
                        a4 <- a4 + Vector512.Load(NativePtr.add a (4 * d + c)) * xc
                        a5 <- a5 + Vector512.Load(NativePtr.add a (5 * d + c)) * xc
                        a6 <- a6 + Vector512.Load(NativePtr.add a (6 * d + c)) * xc
                        a7 <- a7 + Vector512.Load(NativePtr.add a (7 * d + c)) * xc
                        c <- c + 8
                let y = NativePtr.add pY (v * d + r0)
                NativePtr.set y 0 (Vector512.Sum a0)
                NativePtr.set y 1 (Vector512.Sum a1)
                NativePtr.set y 2 (Vector512.Sum a2)
                NativePtr.set y 3 (Vector512.Sum a3)
                NativePtr.set y 4 (Vector512.Sum a4)
                NativePtr.set y 5 (Vector512.Sum a5)
                NativePtr.set y 6 (Vector512.Sum a6)
                NativePtr.set y 7 (Vector512.Sum a7)
                r0 <- r0 + 8

    /// Any stalk dimensions, rows [first, last): lane-wise accumulation per scalar row (see <c>apply</c>).
    let private rowsGeneral (laplacian: SheafLaplacianMatrix, pX: nativeptr<float>, pY: nativeptr<float>, first: int, last: int) =
        let dims = laplacian.VertexDims
        let offsets = laplacian.VertexOffsets
        let rowPointers = laplacian.RowPointers
        let columns = laplacian.ColumnIndices
        let blockOffsets = laplacian.BlockOffsets
        use pValues = fixed laplacian.Values
        for v in first .. last - 1 do
            for r in 0 .. dims[v] - 1 do
                // Lane-wise accumulators over all blocks of the row, one horizontal sum per scalar row (no call and
                // no reduction per block); block rows shorter than a vector and tails are summed in scalars.
                let mutable acc512 = Vector512<float>.Zero
                let mutable acc256 = Vector256<float>.Zero
                let mutable acc = 0.0
                for k in rowPointers[v] .. rowPointers[v + 1] - 1 do
                    let u = columns[k]
                    let du = dims[u]
                    let a = NativePtr.add pValues (blockOffsets[k] + r * du)
                    let b = NativePtr.add pX offsets[u]
                    let mutable c = 0
                    if Vector512.IsHardwareAccelerated then
                        while c + 8 <= du do
                            acc512 <- acc512 + Vector512.Load(NativePtr.add a c) * Vector512.Load(NativePtr.add b c)
                            c <- c + 8
                    if Vector256.IsHardwareAccelerated then
                        while c + 4 <= du do
                            acc256 <- acc256 + Vector256.Load(NativePtr.add a c) * Vector256.Load(NativePtr.add b c)
                            c <- c + 4
                    while c < du do
                        acc <- acc + NativePtr.get a c * NativePtr.get b c
                        c <- c + 1
                NativePtr.set pY (offsets[v] + r) (acc + Vector256.Sum acc256 + Vector512.Sum acc512)

    /// Block rows [first, last) of y = L·x through the kernel for L's stalk dimensions. Every kernel computes each
    /// output row the same way whatever the range, so a row split over threads gives the one-thread bits.
    let private applyRows (laplacian: SheafLaplacianMatrix, pX: nativeptr<float>, pY: nativeptr<float>, first: int, last: int) =
        match laplacian.UniformDimension with
        | 1 -> rowsUniform1 (laplacian, pX, pY, first, last)
        | 2 -> rowsUniform2 (laplacian, pX, pY, first, last)
        | d when d > 0 && d % 8 = 0 && Vector512.IsHardwareAccelerated -> rowsUniformWide (laplacian, d, pX, pY, first, last)
        | _ -> rowsGeneral (laplacian, pX, pY, first, last)

    /// <summary>Computes <c>destination = L·x</c> (block-CSR sheaf Laplacian product), on the calling thread.</summary>
    /// <param name="laplacian">The assembled Laplacian.</param>
    /// <param name="x">Input 0-cochain, length C⁰.</param>
    /// <param name="destination">Output, length ≥ C⁰; must not overlap <paramref name="x"/>.</param>
    /// <exception cref="System.ArgumentException">Lengths mismatch or destination too short.</exception>
    /// <remarks>Each scalar row is a sum of block-row dot products (an SpMV with dense d_v×d_u blocks — the BLAS
    /// analogue is a block gemv per stored block). The products are accumulated lane-wise (Vector512 chunks of 8,
    /// then Vector256 chunks of 4, then scalars) across all blocks of the row and reduced once per scalar row.
    /// Uniform stalk dimensions 1, 2 and multiples of 8 take specialised kernels that read no block offsets or
    /// dimensions and load each x_u once per block (all rows of the block at once).</remarks>
    let apply (laplacian: SheafLaplacianMatrix, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateApply (laplacian, x.Length, destination.Length)
        use pX = fixed &MemoryMarshal.GetReference x
        use pY = fixed &MemoryMarshal.GetReference destination
        applyRows (laplacian, pX, pY, 0, laplacian.BlockRows)

    /// The helper thread of the two-thread apply: one background thread for the process, parked on a semaphore between
    /// calls, computing the second half's rows of one call at a time. A dedicated thread rather than the thread pool so
    /// that a hand-off allocates nothing (the pool may add threads and queue segments under load). Whoever first moves
    /// State from Queued to Taken computes the rows — the helper, or the caller itself when the helper has not started
    /// them by the time the caller's own half is done (a busy machine then costs no more than one thread). A caller
    /// that finds the helper in use by another call runs all rows itself.
    [<Sealed; AllowNullLiteral>]
    type private RowHelper() as this =
        static let instance = lazy (RowHelper())
        let wake = new SemaphoreSlim(0)
        let gate = obj ()
        [<DefaultValue>]
        val mutable State: int
        [<DefaultValue>]
        val mutable Laplacian: SheafLaplacianMatrix
        [<DefaultValue>]
        val mutable X: nativeint
        [<DefaultValue>]
        val mutable Y: nativeint
        [<DefaultValue>]
        val mutable First: int
        [<DefaultValue>]
        val mutable Last: int
        [<DefaultValue>]
        val mutable Failure: exn
        do
            this.State <- RowHelper.Done
            let thread = Thread((fun () -> this.Loop()), IsBackground = true, Name = "SheafCore Laplacian rows")
            thread.Start()
        static member Queued = 0
        static member Taken = 1
        static member Done = 2
        static member Instance = instance.Value
        member _.Gate = gate
        member _.Wake() = wake.Release() |> ignore
        member private this.Loop() =
            while true do
                wake.Wait()
                this.TryRun()
        /// Computes the rows if nobody has taken them yet.
        member this.TryRun() =
            if Interlocked.CompareExchange(&this.State, RowHelper.Taken, RowHelper.Queued) = RowHelper.Queued then
                try
                    try
                        applyRows (this.Laplacian, NativePtr.ofNativeInt this.X, NativePtr.ofNativeInt this.Y, this.First, this.Last)
                    with e ->
                        this.Failure <- e
                finally
                    Volatile.Write(&this.State, RowHelper.Done)

    /// Stored values (multiply-adds per apply) from which <c>applyTwoThreads</c> splits: about 1 MB of values, where
    /// one apply takes tens of microseconds and waking the helper thread (a few microseconds) is small beside it.
    [<Literal>]
    let TwoThreadValueThreshold = 131072

    /// The block row that splits the stored values (the work) most evenly in two.
    let private splitRow (laplacian: SheafLaplacianMatrix) =
        let rowPointers = laplacian.RowPointers
        let blockOffsets = laplacian.BlockOffsets
        let half = blockOffsets[blockOffsets.Length - 1] / 2
        let mutable lo = 0
        let mutable hi = laplacian.BlockRows
        // Smallest v with values before row v ≥ half.
        while lo < hi do
            let mid = (lo + hi) / 2
            if blockOffsets[rowPointers[mid]] < half then lo <- mid + 1 else hi <- mid
        lo

    /// <c>applyTwoThreads</c> with the split threshold as a parameter (properties force splits with 0).
    let internal applyTwoThreadsWith
        (laplacian: SheafLaplacianMatrix, x: ReadOnlySpan<float>, destination: Span<float>, valueThreshold: int)
        : unit =
        validateApply (laplacian, x.Length, destination.Length)
        let rows = laplacian.BlockRows
        use pX = fixed &MemoryMarshal.GetReference x
        use pY = fixed &MemoryMarshal.GetReference destination
        let split = if rows < 2 || laplacian.Values.Length < valueThreshold then rows else splitRow laplacian
        if split <= 0 || split >= rows then
            applyRows (laplacian, pX, pY, 0, rows)
        else
            let helper = RowHelper.Instance
            if not (Monitor.TryEnter helper.Gate) then
                applyRows (laplacian, pX, pY, 0, rows)
            else
                try
                    helper.Laplacian <- laplacian
                    helper.X <- NativePtr.toNativeInt pX
                    helper.Y <- NativePtr.toNativeInt pY
                    helper.First <- split
                    helper.Last <- rows
                    helper.Failure <- null
                    Volatile.Write(&helper.State, RowHelper.Queued)
                    helper.Wake()
                    try
                        applyRows (laplacian, pX, pY, 0, split)
                    finally
                        // Take the second half if the helper has not; then wait until it is done (x and y stay
                        // pinned by this frame's `fixed` until then). SpinOnce(-1) spins and yields but never
                        // sleeps: a Sleep(1) costs a millisecond, longer than the halves it waits for (measured:
                        // 1009@16 took 470 µs on two threads with it, 188 µs on one).
                        helper.TryRun()
                        let mutable spinner = SpinWait()
                        while Volatile.Read(&helper.State) <> RowHelper.Done do
                            spinner.SpinOnce(-1)
                    let failure = helper.Failure
                    helper.Laplacian <- null
                    helper.Failure <- null
                    if not (isNull failure) then ExceptionDispatchInfo.Throw failure
                finally
                    Monitor.Exit helper.Gate

    /// <summary>Computes <c>destination = L·x</c> with the block rows split in two halves of equal work, the second
    /// half on a helper thread; bit-identical to <c>apply</c>.</summary>
    /// <param name="laplacian">The assembled Laplacian.</param>
    /// <param name="x">Input 0-cochain, length C⁰.</param>
    /// <param name="destination">Output, length ≥ C⁰; must not overlap <paramref name="x"/>.</param>
    /// <exception cref="System.ArgumentException">Lengths mismatch or destination too short.</exception>
    /// <remarks>Each output row is computed by the same kernel as in <c>apply</c>, in the same order, so the result is
    /// the same bit for bit. Below <c>TwoThreadValueThreshold</c> stored values it runs on the calling thread. The
    /// hand-off wakes one background helper thread (started on first use) and waits by spinning: no allocation per
    /// call. If the helper has not started the second half when the first is done, or serves another call, the caller
    /// computes it.</remarks>
    let applyTwoThreads (laplacian: SheafLaplacianMatrix, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        applyTwoThreadsWith (laplacian, x, destination, TwoThreadValueThreshold)

    /// <summary>Matrix-free <c>destination = δᵀ(δx)</c> using the vectorised coboundary kernels.</summary>
    /// <param name="sheaf">The sheaf (its current maps are used; no assembly needed).</param>
    /// <param name="x">Input 0-cochain, length C⁰.</param>
    /// <param name="destination">Output, length ≥ C⁰; must not overlap x or workspace.</param>
    /// <param name="workspace">Scratch for δx, length ≥ C¹ (overwritten).</param>
    let applyMatrixFree
        (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>, workspace: Span<float>)
        : unit =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.atLeast (nameof workspace) sheaf.EdgeCochainDim workspace.Length
        let w = workspace.Slice(0, sheaf.EdgeCochainDim)
        Coboundary.apply (sheaf, x, w)
        Coboundary.applyTranspose (sheaf, ro w, destination)

    /// <summary>Scalar reference for <c>applyMatrixFree</c> (scalar coboundary twins).</summary>
    let applyMatrixFreeReference
        (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>, workspace: Span<float>)
        : unit =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.atLeast (nameof workspace) sheaf.EdgeCochainDim workspace.Length
        let w = workspace.Slice(0, sheaf.EdgeCochainDim)
        Coboundary.applyReference (sheaf, x, w)
        Coboundary.applyTransposeReference (sheaf, ro w, destination)

    /// <summary>The Laplacian as a dense C⁰×C⁰ matrix.</summary>
    let toDense (laplacian: SheafLaplacianMatrix) : DenseMatrix =
        if isNull laplacian then nullArg (nameof laplacian)
        let dims = laplacian.VertexDims
        let offsets = laplacian.VertexOffsets
        let d = DenseMatrix(laplacian.Dimension, laplacian.Dimension)
        for v in 0 .. laplacian.BlockRows - 1 do
            for k in laplacian.RowPointers[v] .. laplacian.RowPointers[v + 1] - 1 do
                let u = laplacian.ColumnIndices[k]
                for r in 0 .. dims[v] - 1 do
                    for c in 0 .. dims[u] - 1 do
                        let value = laplacian.Values[laplacian.BlockOffsets[k] + r * dims[u] + c]
                        d[offsets[v] + r, offsets[u] + c] <- value
        d

    /// <summary>Writes the scalar diagonal of L (length C⁰) — the Jacobi preconditioner's input.</summary>
    let diagonal (laplacian: SheafLaplacianMatrix, destination: Span<float>) : unit =
        if isNull laplacian then nullArg (nameof laplacian)
        Guard.atLeast (nameof destination) laplacian.Dimension destination.Length
        for v in 0 .. laplacian.BlockRows - 1 do
            let d = laplacian.VertexDims[v]
            let block = laplacian.BlockOffsets[laplacian.DiagonalPositions[v]]
            for r in 0 .. d - 1 do
                destination[laplacian.VertexOffsets[v] + r] <- laplacian.Values[block + r * d + r]

    /// <summary>Recomputes the normalised Laplacian from L's current values, in place, without allocation.</summary>
    /// <remarks>
    /// Per vertex, L_vv = V·Λ·Vᵀ by cyclic Jacobi and M_v = V·diag((max(λ,0)+1)^{-1/2})·Vᵀ. Clamping λ at 0
    /// only removes rounding (L_vv is PSD) and the +I keeps every factor ≤ 1, so no threshold is needed.
    /// Then Δ_vu = M_v·L_vu·M_u block by block, each product as scaled-row accumulations
    /// (<c>TensorPrimitives.MultiplyAdd</c>). Call after <c>refill</c> whenever the maps change.
    /// </remarks>
    /// <exception cref="System.ArgumentException">The normalised matrix was built from another pattern.</exception>
    let refillNormalised (laplacian: SheafLaplacianMatrix, normalised: NormalisedSheafLaplacian) : unit =
        if isNull laplacian then nullArg (nameof laplacian)
        if isNull normalised then nullArg (nameof normalised)
        if not (obj.ReferenceEquals(laplacian.RowPointers, normalised.Matrix.RowPointers)) then
            invalidArg (nameof normalised) "The normalised Laplacian was built from a different Laplacian pattern."
        let dims = laplacian.VertexDims
        let lValues = ReadOnlySpan<float>(laplacian.Values)
        let scaling = Span<float>(normalised.ScalingValues)
        let a = Span<float>(normalised.EigenWorkspace)
        let vectors = Span<float>(normalised.VectorWorkspace)
        for v in 0 .. laplacian.BlockRows - 1 do
            let d = dims[v]
            let block = laplacian.BlockOffsets[laplacian.DiagonalPositions[v]]
            lValues.Slice(block, d * d).CopyTo a
            DenseFactor.jacobiInPlace (a, d, vectors)
            let m = scaling.Slice(normalised.ScalingOffsets[v], d * d)
            // √(λ_k + 1) once per eigenvalue, kept in the diagonal of `a` (read only there from now on).
            for k in 0 .. d - 1 do
                a[k * d + k] <- sqrt (max a[k * d + k] 0.0 + 1.0)
            for i in 0 .. d - 1 do
                for j in 0 .. d - 1 do
                    let mutable acc = 0.0
                    for k in 0 .. d - 1 do
                        acc <- acc + vectors[i * d + k] * vectors[j * d + k] / a[k * d + k]
                    m[i * d + j] <- acc
        let scalingRo = ReadOnlySpan<float>(normalised.ScalingValues)
        let product = Span<float>(normalised.ProductWorkspace)
        let out = Span<float>(normalised.Matrix.Values)
        for v in 0 .. laplacian.BlockRows - 1 do
            let dv = dims[v]
            let mv = scalingRo.Slice(normalised.ScalingOffsets[v], dv * dv)
            for k in laplacian.RowPointers[v] .. laplacian.RowPointers[v + 1] - 1 do
                let u = laplacian.ColumnIndices[k]
                let du = dims[u]
                let mu = scalingRo.Slice(normalised.ScalingOffsets[u], du * du)
                let lk = lValues.Slice(laplacian.BlockOffsets[k], dv * du)
                // product = M_v·L_vu: row i = Σ_r M_v[i, r]·(row r of L_vu).
                let p = product.Slice(0, dv * du)
                p.Clear()
                for i in 0 .. dv - 1 do
                    let row = p.Slice(i * du, du)
                    for r in 0 .. dv - 1 do
                        multiplyAddRow (lk.Slice(r * du, du), mv[i * dv + r], row)
                // Δ_vu = product·M_u: row i = Σ_r product[i, r]·(row r of M_u).
                let target = out.Slice(laplacian.BlockOffsets[k], dv * du)
                target.Clear()
                for i in 0 .. dv - 1 do
                    let row = target.Slice(i * du, du)
                    for r in 0 .. du - 1 do
                        multiplyAddRow (mu.Slice(r * du, du), p[i * du + r], row)

    /// <summary>Builds the normalised Laplacian (scaling blocks + Δ values) from an assembled L.</summary>
    let assembleNormalised (laplacian: SheafLaplacianMatrix) : NormalisedSheafLaplacian =
        if isNull laplacian then nullArg (nameof laplacian)
        let n = laplacian.BlockRows
        let offsets = Array.zeroCreate (n + 1)
        let mutable maxDim = 0
        for v in 0 .. n - 1 do
            let d = laplacian.VertexDims[v]
            offsets[v + 1] <- offsets[v] + d * d
            maxDim <- max maxDim d
        let normalised =
            NormalisedSheafLaplacian(laplacian.WithZeroValues(), offsets, Array.zeroCreate offsets[n], maxDim)
        refillNormalised (laplacian, normalised)
        normalised

    /// <summary>Computes <c>destination = Δ·x</c> for the normalised Laplacian (vectorised block-CSR).</summary>
    let applyNormalised
        (normalised: NormalisedSheafLaplacian, x: ReadOnlySpan<float>, destination: Span<float>)
        : unit =
        if isNull normalised then nullArg (nameof normalised)
        apply (normalised.Matrix, x, destination)

    /// <summary>Scalar reference for Δ·x computed unfused as M·(L·(M·x)) from L and the scaling blocks
    /// (allocates two C⁰ scratch vectors; it is the oracle, not a kernel).</summary>
    let applyNormalisedReference
        (
            laplacian: SheafLaplacianMatrix,
            normalised: NormalisedSheafLaplacian,
            x: ReadOnlySpan<float>,
            destination: Span<float>
        )
        : unit =
        validateApply (laplacian, x.Length, destination.Length)
        if isNull normalised then nullArg (nameof normalised)
        let n = laplacian.Dimension
        let scaled = Array.zeroCreate n
        let product = Array.zeroCreate n
        let dims = laplacian.VertexDims
        let offsets = laplacian.VertexOffsets
        for v in 0 .. laplacian.BlockRows - 1 do
            let d = dims[v]
            let m = normalised.ScalingOffsets[v]
            for i in 0 .. d - 1 do
                let mutable acc = 0.0
                for j in 0 .. d - 1 do
                    acc <- acc + normalised.ScalingValues[m + i * d + j] * x[offsets[v] + j]
                scaled[offsets[v] + i] <- acc
        applyReference (laplacian, ReadOnlySpan scaled, Span product)
        for v in 0 .. laplacian.BlockRows - 1 do
            let d = dims[v]
            let m = normalised.ScalingOffsets[v]
            for i in 0 .. d - 1 do
                let mutable acc = 0.0
                for j in 0 .. d - 1 do
                    acc <- acc + normalised.ScalingValues[m + i * d + j] * product[offsets[v] + j]
                destination[offsets[v] + i] <- acc

    /// <summary>The normalised Laplacian Δ as a dense C⁰×C⁰ matrix.</summary>
    let normalisedToDense (normalised: NormalisedSheafLaplacian) : DenseMatrix =
        if isNull normalised then nullArg (nameof normalised)
        toDense normalised.Matrix
