namespace SheafCore.Numerics

#nowarn "9"

open System
open System.Numerics
open System.Numerics.Tensors
open System.Runtime.Intrinsics

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
    let private minimumDegree (groupCount: int, adjacency: uint64[], words: int, degree: Span<int>, order: Span<int>, structure: uint64[]) =
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
            if remaining > 2 && float bestDegree >= DenseSwitchFraction * float (remaining - 1) then
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

    /// target −= Σ_m c_m · source_m over equal-length spans, m < count ≤ 4 (one load/store of target per four
    /// products; vectorised with a scalar tail).
    let private updateRow (target: Span<float>, s0: ReadOnlySpan<float>, s1: ReadOnlySpan<float>, s2: ReadOnlySpan<float>, s3: ReadOnlySpan<float>, c: ReadOnlySpan<float>) =
        let w = Vector512<float>.Count
        let mutable j = 0
        if Vector512.IsHardwareAccelerated then
            let c0 = Vector512.Create c[0]
            let c1 = Vector512.Create c[1]
            let c2 = Vector512.Create c[2]
            let c3 = Vector512.Create c[3]
            while j + w <= target.Length do
                let y = Vector512.Create<float>(target.Slice(j, w))
                let y = y - c0 * Vector512.Create<float>(s0.Slice(j, w)) - c1 * Vector512.Create<float>(s1.Slice(j, w))
                let y = y - c2 * Vector512.Create<float>(s2.Slice(j, w)) - c3 * Vector512.Create<float>(s3.Slice(j, w))
                y.CopyTo(target.Slice(j, w))
                j <- j + w
        while j < target.Length do
            target[j] <- target[j] - c[0] * s0[j] - c[1] * s1[j] - c[2] * s2[j] - c[3] * s3[j]
            j <- j + 1

    /// Dense in-place LDLᵀ of the t×t trailing block held as its upper triangle, row-major, four pivots at a
    /// time: the four pivot rows are finished first, then each trailing row takes all four updates in one
    /// pass. Returns false on a pivot ≤ threshold.
    let private factorTail (tail: float[], t: int, pivots: Span<float>, threshold: float) =
        let coefficients = Span<float>(Array.zeroCreate<float> 4)
        let zeros = Array.zeroCreate<float> t
        let mutable ok = true
        let mutable k0 = 0
        while ok && k0 < t do
            let kb = min 4 (t - k0)
            // Panel: eliminate within the pivot rows k0 .. k0+kb−1.
            let mutable k = k0
            while ok && k < k0 + kb do
                let d = tail[k * t + k]
                if not (d > threshold) then
                    ok <- false
                else
                    pivots[k] <- d
                    for i in k + 1 .. k0 + kb - 1 do
                        let f = tail[k * t + i] / d
                        for j in i .. t - 1 do
                            tail[i * t + j] <- tail[i * t + j] - f * tail[k * t + j]
                    k <- k + 1
            if ok then
                // Trailing rows: T[i, i..] −= Σ_k (T[k, i]/d_k)·T[k, i..].
                for i in k0 + kb .. t - 1 do
                    coefficients.Clear()
                    for m in 0 .. kb - 1 do
                        coefficients[m] <- tail[(k0 + m) * t + i] / pivots[k0 + m]
                    // Rows past the block are replaced by zeros (with zero coefficients) in a short last block.
                    let o m = if m < kb then (k0 + m) * t + i else -1
                    let s0 = ReadOnlySpan<float>(tail, o 0, t - i)
                    let s1 = if kb > 1 then ReadOnlySpan<float>(tail, o 1, t - i) else ReadOnlySpan<float>(zeros, 0, t - i)
                    let s2 = if kb > 2 then ReadOnlySpan<float>(tail, o 2, t - i) else ReadOnlySpan<float>(zeros, 0, t - i)
                    let s3 = if kb > 3 then ReadOnlySpan<float>(tail, o 3, t - i) else ReadOnlySpan<float>(zeros, 0, t - i)
                    updateRow (Span<float>(tail, i * t + i, t - i), s0, s1, s2, s3, Span<float>.op_Implicit coefficients)
                for m in 0 .. kb - 1 do
                    let k = k0 + m
                    let scaled = Span<float>(tail, k * t + k + 1, t - k - 1)
                    TensorPrimitives.Divide(Span<float>.op_Implicit scaled, pivots[k], scaled)
                k0 <- k0 + kb
        ok

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
        let eliminatedCount = minimumDegree (groupCount, adjacency, words, degree, order, structure)
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
        if ok then ok <- factorTail (tail, t, Span<float>(pivots, tailStart, t), threshold)
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
        for k in 0 .. t - 2 do
            let yk = yt[k]
            if yk <> 0.0 then
                let rest = yt.Slice(k + 1)
                TensorPrimitives.MultiplyAdd(ReadOnlySpan<float>(f.Tail, k * t + k + 1, t - k - 1), -yk, Span<float>.op_Implicit rest, rest)
        // D.
        TensorPrimitives.Divide(Span<float>.op_Implicit y, ReadOnlySpan<float>(f.Pivots, 0, n), y)
        // Backward: Lᵀ·x = z.
        for k in t - 2 .. -1 .. 0 do
            yt[k] <- yt[k] - TensorPrimitives.Dot(ReadOnlySpan<float>(f.Tail, k * t + k + 1, t - k - 1), Span<float>.op_Implicit(yt.Slice(k + 1)))
        for j in s - 1 .. -1 .. 0 do
            let mutable sum = 0.0
            for p in f.ColumnPointers[j] .. f.ColumnPointers[j + 1] - 1 do
                sum <- sum + f.Values[p] * y[f.RowPositions[p]]
            y[j] <- y[j] - sum
        for p in 0 .. n - 1 do
            x[f.Permutation[p]] <- y[p]
