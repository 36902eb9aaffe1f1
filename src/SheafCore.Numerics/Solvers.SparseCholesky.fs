namespace SheafCore.Numerics

#nowarn "9"

open System
open System.Numerics
open System.Numerics.Tensors


/// <summary>A sparse LDLᵀ factor P·A·Pᵀ = L·D·Lᵀ of a symmetric positive definite matrix.</summary>
/// <remarks>
/// Positions 0 .. TailStart−1 are eliminated sparsely: their columns of L are stored CSC (strictly lower
/// part, row positions ascending). Positions TailStart .. N−1 form a dense trailing block of size
/// t = N − TailStart whose unit lower factor is stored transposed, row-major: Tail[k·t + j] = L[TailStart+j,
/// TailStart+k] for j &gt; k. Permutation[p] is the original index at position p.
/// </remarks>
type internal SparseLdltFactor =
    { N: int
      Permutation: int[]
      TailStart: int
      ColumnPointers: int[]
      RowPositions: int[]
      Values: float[]
      /// The pivots D (all positive), by position.
      Pivots: float[]
      Tail: float[] }

/// <summary>Reusable arrays of a sparse LDLᵀ (grown on demand, never shrunk), so that repeated
/// factorisations allocate nothing in the steady state; the dense trailing block alone is hundreds of KB,
/// which would otherwise be a large-object-heap allocation per call. A factor built in a workspace is
/// valid until the workspace is used again.</summary>
[<Sealed; AllowNullLiteral>]
type internal SparseLdltWorkspace() =
    [<ThreadStatic; DefaultValue>]
    static val mutable private current: SparseLdltWorkspace
    member val Adjacency: uint64[] = [||] with get, set
    member val Structure: uint64[] = [||] with get, set
    member val Ints: int[] = [||] with get, set
    member val Rows: int[] = [||] with get, set
    member val Lower: float[] = [||] with get, set
    member val Pivots: float[] = [||] with get, set
    member val Tail: float[] = [||] with get, set
    member val Panel: float[] = [||] with get, set
    /// This thread's workspace.
    static member ForCurrentThread =
        if isNull SparseLdltWorkspace.current then SparseLdltWorkspace.current <- SparseLdltWorkspace()
        SparseLdltWorkspace.current
    /// An array of at least the length (contents unspecified).
    static member Grow<'T>(array: 'T[], length: int) =
        if array.Length >= length then array else Array.zeroCreate<'T> (max length (array.Length * 3 / 2))

/// Sparse LDLᵀ without pivoting for SPD matrices: minimum-degree ordering on groups of variables (e.g. the
/// stalk coordinates of one vertex), right-looking sparse elimination while the remaining graph is sparse,
/// and a dense vectorised LDLᵀ of the trailing block once it is dense.
[<RequireQualifiedAccess>]
module internal SparseCholesky =

    /// Switch to the dense trailing block once the minimum remaining degree is at least this fraction of
    /// the remaining group count: from there on elimination fills the rest almost completely anyway, and
    /// contiguous rows vectorise where scattered updates do not.
    [<Literal>]
    let DenseSwitchFraction = 0.4

    /// Minimum-degree order of the groups on their quotient graph (bitset rows of `words` words), stopping at
    /// the dense switch. Writes the eliminated groups in order into order[0 .. count), each one's neighbour
    /// bitset at elimination into structure, and the tail groups (ascending) after them; returns count.
    let internal minimumDegree
        (
            groupCount: int,
            adjacency: uint64[],
            words: int,
            degree: Span<int>,
            order: Span<int>,
            structure: uint64[],
            denseSwitchFraction: float
        ) =
        for g in 0 .. groupCount - 1 do
            let mutable c = 0
            for w in 0 .. words - 1 do
                c <- c + BitOperations.PopCount adjacency[g * words + w]
            degree[g] <- c
        let mutable eliminated = 0
        let mutable dense = false
        while eliminated < groupCount && not dense do
            let remaining = groupCount - eliminated
            let live = Span<int>.op_Implicit (degree.Slice(0, groupCount))
            let bestDegree = TensorPrimitives.Min<int> live
            let best = live.IndexOf bestDegree
            if remaining > 2 && float bestDegree >= denseSwitchFraction * float (remaining - 1) then
                dense <- true
            else
                order[eliminated] <- best
                let row = best * words
                Array.Copy(adjacency, row, structure, eliminated * words, words)
                // Every neighbour becomes adjacent to all the others (the eliminated group's clique).
                for w in 0 .. words - 1 do
                    let mutable bits = adjacency[row + w]
                    while bits <> 0UL do
                        let u = w * 64 + BitOperations.TrailingZeroCount bits
                        bits <- bits &&& (bits - 1UL)
                        let target = u * words
                        for x in 0 .. words - 1 do
                            adjacency[target + x] <- adjacency[target + x] ||| adjacency[row + x]
                        adjacency[target + u / 64] <- adjacency[target + u / 64] &&& ~~~(1UL <<< (u % 64))
                        adjacency[target + best / 64] <- adjacency[target + best / 64] &&& ~~~(1UL <<< (best % 64))
                        let mutable c = 0
                        for x in 0 .. words - 1 do
                            c <- c + BitOperations.PopCount adjacency[target + x]
                        degree[u] <- c
                degree[best] <- Int32.MaxValue
                eliminated <- eliminated + 1
        let mutable next = eliminated
        for g in 0 .. groupCount - 1 do
            if degree[g] <> Int32.MaxValue then
                order[next] <- g
                next <- next + 1
        eliminated

    /// Panel width of the blocked dense LDLᵀ: the panel rows are factored with row updates, the trailing
    /// matrix takes the panel's rank-DensePanel update as GEMMs (k = DensePanel deep).
    [<Literal>]
    let DensePanel = 16

    /// Rows of the trailing matrix per GEMM: each call updates a row block from its diagonal to the last
    /// column, so only the triangle below the block diagonal is computed twice (a multiple of the 8-row
    /// micro-kernel).
    [<Literal>]
    let DenseRowBlock = 32

    /// Scratch length factorDense needs for a t×t block (a function, so that callers in other assemblies do not bake
    /// in the panel width as a constant).
    let denseScratchLength (t: int) = DensePanel * t

    /// <summary>Scalar reference of <see cref="factorDense"/>: in-place LDLᵀ (no pivoting) of the t×t symmetric
    /// matrix held as its upper triangle, row-major (entry (i, j), j ≥ i, at a[i·t + j]; the strict lower part is
    /// neither read nor meaningful). On success a[k·t + j] = L[j, k] for j &gt; k and pivots[k] = D[k].
    /// Returns false at the first pivot ≤ threshold.</summary>
    let factorDenseReference (a: Span<float>, t: int, pivots: Span<float>, threshold: float) : bool =
        let mutable ok = true
        let mutable k = 0
        while ok && k < t do
            let d = a[k * t + k]
            if not (d > threshold) then
                ok <- false
            else
                pivots[k] <- d
                for i in k + 1 .. t - 1 do
                    let f = a[k * t + i] / d
                    for j in i .. t - 1 do
                        a[i * t + j] <- a[i * t + j] - f * a[k * t + j]
                for j in k + 1 .. t - 1 do
                    a[k * t + j] <- a[k * t + j] / d
                k <- k + 1
        ok

    /// <summary>Blocked in-place LDLᵀ of a t×t upper-stored symmetric matrix (layout and result as
    /// <see cref="factorDenseReference"/>); scratch needs denseScratchLength t entries.</summary>
    /// <remarks>Right-looking: the DensePanel pivot rows are finished with vectorised row updates, then the
    /// trailing upper triangle takes T += U_pᵀ·W with W = −D_p⁻¹U_p through the register-tiled GEMM, one call
    /// per DenseRowBlock rows (from the block's diagonal to the end of the row: the part left of the diagonal
    /// inside a block lands in the unused lower triangle). GEMM runs the O(t³) part near machine peak where the
    /// row updates were bound by loads and stores.</remarks>
    let factorDense (a: float[], t: int, pivots: Span<float>, threshold: float, scratch: float[]) : bool =
        let mutable ok = true
        let mutable k0 = 0
        while ok && k0 < t do
            let kb = min DensePanel (t - k0)
            let mutable k = k0
            while ok && k < k0 + kb do
                let d = a[k * t + k]
                if not (d > threshold) then
                    ok <- false
                else
                    pivots[k] <- d
                    for i in k + 1 .. k0 + kb - 1 do
                        let target = Span<float>(a, i * t + i, t - i)
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan<float>(a, k * t + i, t - i), -a[k * t + i] / d, Span<float>.op_Implicit target, target)
                    k <- k + 1
            let first = k0 + kb
            let n = t - first
            if ok && n > 0 then
                for m in 0 .. kb - 1 do
                    TensorPrimitives.Multiply(ReadOnlySpan<float>(a, (k0 + m) * t + first, n), -1.0 / pivots[k0 + m], Span<float>(scratch, m * n, n))
                let mutable i0 = first
                while i0 < t do
                    let rows = min DenseRowBlock (t - i0)
                    let cols = t - i0
                    Gemm.multiplyTransposeA (
                        rows,
                        cols,
                        kb,
                        ReadOnlySpan<float>(a, k0 * t + i0, (kb - 1) * t + rows),
                        t,
                        ReadOnlySpan<float>(scratch, i0 - first, (kb - 1) * n + cols),
                        n,
                        Span<float>(a, i0 * t + i0, (rows - 1) * t + cols),
                        t,
                        true
                    )
                    i0 <- i0 + rows
            if ok then
                for m in 0 .. kb - 1 do
                    let k = k0 + m
                    let scaled = Span<float>(a, k * t + k + 1, t - k - 1)
                    TensorPrimitives.Divide(Span<float>.op_Implicit scaled, pivots[k], scaled)
            k0 <- k0 + kb
        ok

    /// Forward substitution with the unit lower factor of a dense block stored as in factorDense.
    let internal denseForward (l: float[], t: int, y: Span<float>) =
        for k in 0 .. t - 2 do
            let yk = y[k]
            if yk <> 0.0 then
                let rest = y.Slice(k + 1, t - k - 1)
                TensorPrimitives.MultiplyAdd(ReadOnlySpan<float>(l, k * t + k + 1, t - k - 1), -yk, Span<float>.op_Implicit rest, rest)

    /// Back substitution with the transposed unit lower factor of a dense block stored as in factorDense.
    let internal denseBackward (l: float[], t: int, y: Span<float>) =
        for k in t - 2 .. -1 .. 0 do
            y[k] <- y[k] - TensorPrimitives.Dot(ReadOnlySpan<float>(l, k * t + k + 1, t - k - 1), Span<float>.op_Implicit(y.Slice(k + 1, t - k - 1)))

    /// <summary>Factors a symmetric matrix given in CSR with both triangles stored.</summary>
    /// <param name="n">Dimension.</param>
    /// <param name="rowPointers">CSR row pointers (n + 1).</param>
    /// <param name="columnIndices">CSR column indices (any order within a row, no duplicates).</param>
    /// <param name="values">CSR values (the matrix must be symmetric; only the lower triangle is read).</param>
    /// <param name="groupPointers">Variables [groupPointers[g], groupPointers[g+1]) form group g; the
    /// ordering keeps each group's variables together (length groupCount + 1, ending at n).</param>
    /// <param name="relativeTolerance">A pivot ≤ relativeTolerance · max_i A_ii counts as a failure.</param>
    /// <param name="workspace">Holds the factor's arrays; the factor is valid until its next use.</param>
    /// <returns>The factor, or ValueNone if a pivot failed (the matrix is singular, nearly singular or
    /// indefinite at that tolerance; use a rank-revealing dense factorisation instead).</returns>
    let factor
        (
            n: int,
            rowPointers: int[],
            columnIndices: int[],
            values: float[],
            groupPointers: int[],
            relativeTolerance: float,
            workspace: SparseLdltWorkspace
        ) : SparseLdltFactor voption =
        let groupCount = groupPointers.Length - 1
        // Integer scratch: groupOf (n), position (n), permutation (n), groupStart (G), degree (G), order (G),
        // column pointers (n + 1), neighbour positions (n).
        workspace.Ints <- SparseLdltWorkspace.Grow(workspace.Ints, 5 * n + 3 * groupCount + 1)
        let ints = workspace.Ints
        let groupOf = Span<int>(ints, 0, n)
        let position = Span<int>(ints, n, n)
        let permutation = Array.zeroCreate<int> n
        let groupStart = Span<int>(ints, 2 * n, groupCount)
        let degree = Span<int>(ints, 2 * n + groupCount, groupCount)
        let order = Span<int>(ints, 2 * n + 2 * groupCount, groupCount)
        let neighbourPositions = Span<int>(ints, 2 * n + 3 * groupCount, n)
        let columnPointers = Array.zeroCreate<int> (n + 1)
        for g in 0 .. groupCount - 1 do
            for i in groupPointers[g] .. groupPointers[g + 1] - 1 do
                groupOf[i] <- g
        // Quotient graph of the groups as bitsets.
        let words = (groupCount + 63) / 64
        workspace.Adjacency <- SparseLdltWorkspace.Grow(workspace.Adjacency, groupCount * words)
        workspace.Structure <- SparseLdltWorkspace.Grow(workspace.Structure, groupCount * words)
        let adjacency = workspace.Adjacency
        Array.Clear(adjacency, 0, groupCount * words)
        let mutable maxDiagonal = 0.0
        for i in 0 .. n - 1 do
            let gi = groupOf[i]
            for k in rowPointers[i] .. rowPointers[i + 1] - 1 do
                let j = columnIndices[k]
                let gj = groupOf[j]
                if i = j then maxDiagonal <- max maxDiagonal values[k]
                if gi <> gj && values[k] <> 0.0 then
                    adjacency[gi * words + gj / 64] <- adjacency[gi * words + gj / 64] ||| (1UL <<< (gj % 64))
                    adjacency[gj * words + gi / 64] <- adjacency[gj * words + gi / 64] ||| (1UL <<< (gi % 64))
        let structure = workspace.Structure
        let eliminatedCount = minimumDegree (groupCount, adjacency, words, degree, order, structure, DenseSwitchFraction)
        // Positions: eliminated groups in order, then the tail groups.
        let mutable next = 0
        let mutable tailStart = 0
        for o in 0 .. groupCount - 1 do
            if o = eliminatedCount then tailStart <- next
            let g = order[o]
            groupStart[g] <- next
            for i in groupPointers[g] .. groupPointers[g + 1] - 1 do
                permutation[next] <- i
                position[i] <- next
                next <- next + 1
        if eliminatedCount = groupCount then tailStart <- next
        let t = n - tailStart
        // Column patterns of the sparse part: later variables of the own group, then every variable of the
        // neighbour groups at elimination, ascending by position.
        let mutable count = 0
        for pass in 0 .. 1 do
            if pass = 1 then workspace.Rows <- SparseLdltWorkspace.Grow(workspace.Rows, count)
            count <- 0
            for e in 0 .. eliminatedCount - 1 do
                let g = order[e]
                let mutable neighbours = 0
                for w in 0 .. words - 1 do
                    let mutable bits = structure[e * words + w]
                    while bits <> 0UL do
                        let u = w * 64 + BitOperations.TrailingZeroCount bits
                        bits <- bits &&& (bits - 1UL)
                        let size = groupPointers[u + 1] - groupPointers[u]
                        if pass = 1 then
                            for p in 0 .. size - 1 do
                                neighbourPositions[neighbours + p] <- groupStart[u] + p
                        neighbours <- neighbours + size
                if pass = 1 then neighbourPositions.Slice(0, neighbours).Sort()
                let size = groupPointers[g + 1] - groupPointers[g]
                for local in 0 .. size - 1 do
                    let p = groupStart[g] + local
                    if pass = 1 then
                        let rows = workspace.Rows
                        for q in p + 1 .. groupStart[g] + size - 1 do
                            rows[count + q - p - 1] <- q
                        neighbourPositions.Slice(0, neighbours).CopyTo(Span<int>(rows, count + size - local - 1, neighbours))
                        columnPointers[p + 1] <- count + size - local - 1 + neighbours
                    count <- count + size - local - 1 + neighbours
        let rowPositions = workspace.Rows
        workspace.Lower <- SparseLdltWorkspace.Grow(workspace.Lower, count)
        workspace.Pivots <- SparseLdltWorkspace.Grow(workspace.Pivots, n)
        workspace.Tail <- SparseLdltWorkspace.Grow(workspace.Tail, t * t)
        let lower = workspace.Lower
        let pivots = workspace.Pivots
        let tail = workspace.Tail
        Array.Clear(lower, 0, count)
        Array.Clear(tail, 0, t * t)
        // Scatter the lower triangle of P·A·Pᵀ column by column (row i of A is column i: A is symmetric);
        // slotOf maps a row position to its slot in the current column's pattern.
        let slotOf = neighbourPositions
        for pj in 0 .. n - 1 do
            let i = permutation[pj]
            if pj < tailStart then
                for q in columnPointers[pj] .. columnPointers[pj + 1] - 1 do
                    slotOf[rowPositions[q]] <- q
            for k in rowPointers[i] .. rowPointers[i + 1] - 1 do
                let pi = position[columnIndices[k]]
                if pi = pj then
                    if pi < tailStart then pivots[pi] <- values[k]
                    else tail[(pi - tailStart) * t + (pi - tailStart)] <- values[k]
                elif pi > pj && values[k] <> 0.0 then
                    if pj < tailStart then lower[slotOf[pi]] <- values[k]
                    else tail[(pj - tailStart) * t + (pi - tailStart)] <- values[k]
        let threshold = relativeTolerance * maxDiagonal
        // Right-looking sparse elimination: column j updates every pair (a ≤ b) of its pattern.
        let mutable ok = maxDiagonal > 0.0 || n = 0
        let mutable j = 0
        while ok && j < tailStart do
            let d = pivots[j]
            if not (d > threshold) then
                ok <- false
            else
                let stop = columnPointers[j + 1]
                for p in columnPointers[j] .. stop - 1 do
                    let a = rowPositions[p]
                    let f = lower[p] / d
                    if a < tailStart then
                        pivots[a] <- pivots[a] - f * lower[p]
                        let mutable cursor = columnPointers[a]
                        for q in p + 1 .. stop - 1 do
                            let b = rowPositions[q]
                            while rowPositions[cursor] <> b do
                                cursor <- cursor + 1
                            lower[cursor] <- lower[cursor] - f * lower[q]
                    else
                        let row = (a - tailStart) * t - tailStart
                        for q in p .. stop - 1 do
                            let b = row + rowPositions[q]
                            tail[b] <- tail[b] - f * lower[q]
                for p in columnPointers[j] .. stop - 1 do
                    lower[p] <- lower[p] / d
                j <- j + 1
        if ok then
            workspace.Panel <- SparseLdltWorkspace.Grow(workspace.Panel, denseScratchLength t)
            ok <- factorDense (tail, t, Span<float>(pivots, tailStart, t), threshold, workspace.Panel)
        if not ok then
            ValueNone
        else
            ValueSome
                { N = n
                  Permutation = permutation
                  TailStart = tailStart
                  ColumnPointers = columnPointers
                  RowPositions = rowPositions
                  Values = lower
                  Pivots = pivots
                  Tail = tail }

    /// <summary>Solves A·x = b with a factor; work is a scratch span of length ≥ N.</summary>
    let solve (f: SparseLdltFactor, b: ReadOnlySpan<float>, x: Span<float>, work: Span<float>) =
        let n = f.N
        Guard.length (nameof b) n b.Length
        Guard.length (nameof x) n x.Length
        let y = work.Slice(0, n)
        for p in 0 .. n - 1 do
            y[p] <- b[f.Permutation[p]]
        let s = f.TailStart
        let t = n - s
        // Forward: L·z = y.
        for j in 0 .. s - 1 do
            let yj = y[j]
            if yj <> 0.0 then
                for p in f.ColumnPointers[j] .. f.ColumnPointers[j + 1] - 1 do
                    y[f.RowPositions[p]] <- y[f.RowPositions[p]] - f.Values[p] * yj
        let yt = y.Slice(s, t)
        denseForward (f.Tail, t, yt)
        // D.
        TensorPrimitives.Divide(Span<float>.op_Implicit y, ReadOnlySpan<float>(f.Pivots, 0, n), y)
        // Backward: Lᵀ·x = z.
        denseBackward (f.Tail, t, yt)
        for j in s - 1 .. -1 .. 0 do
            let mutable sum = 0.0
            for p in f.ColumnPointers[j] .. f.ColumnPointers[j + 1] - 1 do
                sum <- sum + f.Values[p] * y[f.RowPositions[p]]
            y[j] <- y[j] - sum
        for p in 0 .. n - 1 do
            x[f.Permutation[p]] <- y[p]
