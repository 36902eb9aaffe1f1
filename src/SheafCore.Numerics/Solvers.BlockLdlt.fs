namespace SheafCore.Numerics

open System
open System.Numerics

/// <summary>A symmetric matrix given by blocks over groups of consecutive variables (e.g. the interior stalk
/// coordinates of one vertex): group g owns variables [GroupPointers[g], GroupPointers[g+1]), s_g ≥ 1 of them.
/// Diagonal block g is s_g × s_g row-major (both triangles) at DiagonalValues[DiagonalOffsets[g] ..]. Pair p is the
/// off-diagonal block A[rows of PairRows[p], columns of PairColumns[p]] (s_r × s_c row-major) at
/// PairValues[PairOffsets[p] ..]; its transpose is implied, PairRows[p] ≠ PairColumns[p], and repeated pairs add.
/// The arrays may be longer than GroupCount / PairCount need (workspace arrays).</summary>
[<NoEquality; NoComparison>]
type internal BlockSymmetricMatrix =
    { GroupCount: int
      GroupPointers: int[]
      DiagonalOffsets: int[]
      DiagonalValues: float[]
      PairCount: int
      PairRows: int[]
      PairColumns: int[]
      PairOffsets: int[]
      PairValues: float[] }

/// <summary>A block LDLᵀ factor P·A·Pᵀ = L·D·Lᵀ. Groups are numbered by elimination rank r; rank r holds
/// positions [RankStart[r], RankStart[r+1]). Ranks below EliminatedCount were eliminated sparsely: rank r's panel
/// at Values[PanelOffsets[r] ..] is its s×s diagonal block (strict lower part = unit lower L_rr) followed by one
/// s-wide row per variable of its neighbour ranks Neighbours[NeighbourPointers[r] .. NeighbourPointers[r+1])
/// (ascending; NeighbourRows[k] is the first panel row of neighbour k). Positions TailStart .. N−1 are the dense
/// trailing block, stored as in <c>SparseCholesky.factorDense</c>.</summary>
[<NoEquality; NoComparison>]
type internal BlockLdltFactor =
    { N: int
      Permutation: int[]
      EliminatedCount: int
      TailStart: int
      RankStart: int[]
      NeighbourPointers: int[]
      Neighbours: int[]
      NeighbourRows: int[]
      PanelOffsets: int[]
      Values: float[]
      Pivots: float[]
      Tail: float[] }

/// Reusable arrays of the block LDLᵀ (grown on demand, never shrunk): a factor is valid until the workspace
/// is used again, and a steady state of calls allocates nothing.
[<Sealed; AllowNullLiteral>]
type internal BlockLdltWorkspace() =
    [<ThreadStatic; DefaultValue>]
    static val mutable private current: BlockLdltWorkspace
    member val Adjacency: uint64[] = [||] with get, set
    member val Structure: uint64[] = [||] with get, set
    member val Degree: int[] = [||] with get, set
    member val Order: int[] = [||] with get, set
    member val Rank: int[] = [||] with get, set
    member val Permutation: int[] = [||] with get, set
    member val RankStart: int[] = [||] with get, set
    member val NeighbourPointers: int[] = [||] with get, set
    member val Neighbours: int[] = [||] with get, set
    member val NeighbourRows: int[] = [||] with get, set
    member val PanelOffsets: int[] = [||] with get, set
    member val Values: float[] = [||] with get, set
    member val Pivots: float[] = [||] with get, set
    member val Tail: float[] = [||] with get, set
    member val Scratch: float[] = [||] with get, set
    /// This thread's workspace.
    static member ForCurrentThread =
        if isNull BlockLdltWorkspace.current then BlockLdltWorkspace.current <- BlockLdltWorkspace()
        BlockLdltWorkspace.current

/// Sparse LDLᵀ without pivoting at the block level: minimum degree on the graph of groups, right-looking
/// elimination of whole groups (s×s diagonal blocks, s-wide panels, block Schur updates addressed by merging
/// the sorted neighbour lists), and the blocked dense LDLᵀ for the trailing block once it is nearly complete.
[<RequireQualifiedAccess>]
module internal BlockLdlt =

    /// Dense switch of the minimum-degree order (see SparseCholesky.minimumDegree). With the GEMM-based dense
    /// tail, going dense earlier than the scalar solver (0.4) pays: the last sparse columns are the widest and
    /// their scattered block updates the slowest. Whole call on the 500-vertex benchmark sheaf (Stopwatch, load
    /// 2–6): 0.15: 366 µs, 0.25: 337 µs, 0.4: 384 µs.
    [<Literal>]
    let DenseSwitchFraction = 0.25

    let inline private grow (array: 'T[], length: int) = SparseLdltWorkspace.Grow(array, length)

    /// Binary search of rank b in Neighbours[lo, hi) (ascending); its index.
    let private find (neighbours: int[], lo: int, hi: int, b: int) =
        let mutable lo = lo
        let mutable hi = hi - 1
        let mutable found = -1
        while found < 0 && lo <= hi do
            let mid = (lo + hi) >>> 1
            let v = neighbours[mid]
            if v = b then found <- mid
            elif v < b then lo <- mid + 1
            else hi <- mid - 1
        // Adjacent groups stay neighbours until one is eliminated, so the later one is always in the list.
        if found < 0 then invalidOp "Block pair missing from the elimination structure."
        found

    /// The factor of the 0×0 matrix.
    let empty =
        { N = 0
          Permutation = [||]
          EliminatedCount = 0
          TailStart = 0
          RankStart = [| 0 |]
          NeighbourPointers = [| 0 |]
          Neighbours = [||]
          NeighbourRows = [||]
          PanelOffsets = [| 0 |]
          Values = [||]
          Pivots = [||]
          Tail = [||] }

    /// <summary>Factors a block symmetric matrix.</summary>
    /// <param name="a">The matrix; every group must have at least one variable.</param>
    /// <param name="relativeTolerance">A pivot ≤ relativeTolerance · max diagonal entry counts as a failure.</param>
    /// <param name="workspace">Holds the factor's arrays; the factor is valid until its next use.</param>
    /// <returns>The factor, or ValueNone if a pivot failed (singular, nearly singular or indefinite).</returns>
    let factor (a: BlockSymmetricMatrix, relativeTolerance: float, workspace: BlockLdltWorkspace) : BlockLdltFactor voption =
        let groupCount = a.GroupCount
        let gp = a.GroupPointers
        let n = gp[groupCount]
        let words = (groupCount + 63) / 64
        workspace.Adjacency <- grow (workspace.Adjacency, groupCount * words)
        workspace.Structure <- grow (workspace.Structure, groupCount * words)
        workspace.Degree <- grow (workspace.Degree, groupCount)
        workspace.Order <- grow (workspace.Order, groupCount)
        workspace.Rank <- grow (workspace.Rank, groupCount)
        workspace.RankStart <- grow (workspace.RankStart, groupCount + 1)
        workspace.NeighbourPointers <- grow (workspace.NeighbourPointers, groupCount + 1)
        workspace.PanelOffsets <- grow (workspace.PanelOffsets, groupCount + 1)
        workspace.Permutation <- grow (workspace.Permutation, n)
        workspace.Pivots <- grow (workspace.Pivots, n)
        let adjacency = workspace.Adjacency
        let structure = workspace.Structure
        let order = workspace.Order
        let rank = workspace.Rank
        let rankStart = workspace.RankStart
        let permutation = workspace.Permutation
        let pivots = workspace.Pivots
        Array.Clear(adjacency, 0, groupCount * words)
        for p in 0 .. a.PairCount - 1 do
            let r = a.PairRows[p]
            let c = a.PairColumns[p]
            adjacency[r * words + c / 64] <- adjacency[r * words + c / 64] ||| (1UL <<< (c % 64))
            adjacency[c * words + r / 64] <- adjacency[c * words + r / 64] ||| (1UL <<< (r % 64))
        let eliminated =
            SparseCholesky.minimumDegree (
                groupCount,
                adjacency,
                words,
                Span<int>(workspace.Degree, 0, groupCount),
                Span<int>(order, 0, groupCount),
                structure,
                DenseSwitchFraction
            )
        // Ranks and positions: rank r is group order[r]; its variables keep their order inside the group.
        let mutable next = 0
        for r in 0 .. groupCount - 1 do
            let g = order[r]
            rank[g] <- r
            rankStart[r] <- next
            for i in gp[g] .. gp[g + 1] - 1 do
                permutation[next] <- i
                next <- next + 1
        rankStart[groupCount] <- n
        let tailStart = rankStart[eliminated]
        let t = n - tailStart
        // Symbolic: each eliminated rank's neighbours at elimination (a clique in the elimination graph, hence
        // its column pattern), as ranks ascending; panel sizes follow.
        let neighbourPointers = workspace.NeighbourPointers
        let panelOffsets = workspace.PanelOffsets
        let mutable total = 0
        for r in 0 .. eliminated - 1 do
            for w in 0 .. words - 1 do
                total <- total + BitOperations.PopCount structure[r * words + w]
        workspace.Neighbours <- grow (workspace.Neighbours, total)
        workspace.NeighbourRows <- grow (workspace.NeighbourRows, total)
        let neighbours = workspace.Neighbours
        let neighbourRows = workspace.NeighbourRows
        let mutable count = 0
        let mutable panel = 0
        let mutable scratchRows = 0
        for r in 0 .. eliminated - 1 do
            neighbourPointers[r] <- count
            let first = count
            for w in 0 .. words - 1 do
                let mutable bits = structure[r * words + w]
                while bits <> 0UL do
                    let g = w * 64 + BitOperations.TrailingZeroCount bits
                    bits <- bits &&& (bits - 1UL)
                    neighbours[count] <- rank[g]
                    count <- count + 1
            Span<int>(neighbours, first, count - first).Sort()
            let s = rankStart[r + 1] - rankStart[r]
            let mutable rows = s
            for k in first .. count - 1 do
                neighbourRows[k] <- rows
                rows <- rows + rankStart[neighbours[k] + 1] - rankStart[neighbours[k]]
            panelOffsets[r] <- panel
            panel <- panel + rows * s
            scratchRows <- max scratchRows (rows * s)
        neighbourPointers[eliminated] <- count
        panelOffsets[eliminated] <- panel
        workspace.Values <- grow (workspace.Values, panel)
        workspace.Tail <- grow (workspace.Tail, t * t)
        workspace.Scratch <- grow (workspace.Scratch, max scratchRows (SparseCholesky.denseScratchLength t))
        let values = workspace.Values
        let tail = workspace.Tail
        let w = workspace.Scratch
        Array.Clear(values, 0, panel)
        Array.Clear(tail, 0, t * t)
        // Scatter: diagonal blocks, then each pair into the panel of its earlier rank (or the tail's upper part).
        let mutable maxDiagonal = 0.0
        for g in 0 .. groupCount - 1 do
            let s = gp[g + 1] - gp[g]
            let source = a.DiagonalOffsets[g]
            for i in 0 .. s - 1 do
                maxDiagonal <- max maxDiagonal a.DiagonalValues[source + i * s + i]
            let r = rank[g]
            if r < eliminated then
                Array.Copy(a.DiagonalValues, source, values, panelOffsets[r], s * s)
            else
                let p = rankStart[r] - tailStart
                for i in 0 .. s - 1 do
                    for j in 0 .. s - 1 do
                        tail[(p + i) * t + p + j] <- a.DiagonalValues[source + i * s + j]
        for q in 0 .. a.PairCount - 1 do
            let ra = rank[a.PairRows[q]]
            let rc = rank[a.PairColumns[q]]
            let sr = rankStart[ra + 1] - rankStart[ra]
            let sc = rankStart[rc + 1] - rankStart[rc]
            let source = a.PairOffsets[q]
            let lo = min ra rc
            let hi = max ra rc
            if lo < eliminated then
                // Panel rows of hi, columns of lo: the block itself when lo is the column group, else its transpose.
                let s = rankStart[lo + 1] - rankStart[lo]
                let k = find (neighbours, neighbourPointers[lo], neighbourPointers[lo + 1], hi)
                let target = panelOffsets[lo] + neighbourRows[k] * s
                if lo = rc then
                    for i in 0 .. sr - 1 do
                        for j in 0 .. sc - 1 do
                            values[target + i * s + j] <- values[target + i * s + j] + a.PairValues[source + i * sc + j]
                else
                    for i in 0 .. sr - 1 do
                        for j in 0 .. sc - 1 do
                            values[target + j * s + i] <- values[target + j * s + i] + a.PairValues[source + i * sc + j]
            else
                // Upper triangle of the tail: row of lo, column of hi.
                let pr = rankStart[ra] - tailStart
                let pc = rankStart[rc] - tailStart
                for i in 0 .. sr - 1 do
                    for j in 0 .. sc - 1 do
                        let v = a.PairValues[source + i * sc + j]
                        if ra < rc then tail[(pr + i) * t + pc + j] <- tail[(pr + i) * t + pc + j] + v
                        else tail[(pc + j) * t + pr + i] <- tail[(pc + j) * t + pr + i] + v
        let threshold = relativeTolerance * maxDiagonal
        let mutable ok = maxDiagonal > 0.0 || n = 0
        let mutable r = 0
        while ok && r < eliminated do
            let s = rankStart[r + 1] - rankStart[r]
            let pos = rankStart[r]
            let off = panelOffsets[r]
            // 1. LDLᵀ of the diagonal block, kept symmetric (full updates) so row c still holds A[c, ·].
            let mutable c = 0
            while ok && c < s do
                let d = values[off + c * s + c]
                if not (d > threshold) then
                    ok <- false
                else
                    pivots[pos + c] <- d
                    for i in c + 1 .. s - 1 do
                        let f = values[off + i * s + c] / d
                        for j in c + 1 .. s - 1 do
                            values[off + i * s + j] <- values[off + i * s + j] - f * values[off + c * s + j]
                    for i in c + 1 .. s - 1 do
                        values[off + i * s + c] <- values[off + i * s + c] / d
                    c <- c + 1
            if ok then
                let k0 = neighbourPointers[r]
                let k1 = neighbourPointers[r + 1]
                let rows = (if k1 > k0 then neighbourRows[k1 - 1] + rankStart[neighbours[k1 - 1] + 1] - rankStart[neighbours[k1 - 1]] else s) - s
                let body = off + s * s
                // 2. Panel rows: W = A_N·L_rr⁻ᵀ (kept in scratch), L_N = W·D⁻¹ (stored).
                for i in 0 .. rows - 1 do
                    let row = body + i * s
                    for c in 0 .. s - 1 do
                        let mutable v = values[row + c]
                        for k in 0 .. c - 1 do
                            v <- v - w[i * s + k] * values[off + c * s + k]
                        w[i * s + c] <- v
                        values[row + c] <- v / pivots[pos + c]
                // 3. Schur update of every neighbour pair (a ≤ b): block (b, a) −= L_b·W_aᵀ.
                for ka in k0 .. k1 - 1 do
                    let ra = neighbours[ka]
                    let sa = rankStart[ra + 1] - rankStart[ra]
                    let wa = (neighbourRows[ka] - s) * s
                    if ra < eliminated then
                        let aoff = panelOffsets[ra]
                        // b = a: the diagonal block of a (both triangles).
                        for i in 0 .. sa - 1 do
                            for j in 0 .. sa - 1 do
                                let mutable v = values[aoff + i * sa + j]
                                for c in 0 .. s - 1 do
                                    v <- v - values[body + wa + i * s + c] * w[wa + j * s + c]
                                values[aoff + i * sa + j] <- v
                        let mutable cursor = neighbourPointers[ra]
                        for kb in ka + 1 .. k1 - 1 do
                            let rb = neighbours[kb]
                            while neighbours[cursor] <> rb do
                                cursor <- cursor + 1
                            let sb = rankStart[rb + 1] - rankStart[rb]
                            let lb = body + (neighbourRows[kb] - s) * s
                            let target = aoff + neighbourRows[cursor] * sa
                            if s = 2 && sa = 2 && sb = 2 then
                                // Stalk dimension 2 throughout (the common case): the 2×2×2 product unrolled.
                                let l00 = values[lb]
                                let l01 = values[lb + 1]
                                let l10 = values[lb + 2]
                                let l11 = values[lb + 3]
                                let w00 = w[wa]
                                let w01 = w[wa + 1]
                                let w10 = w[wa + 2]
                                let w11 = w[wa + 3]
                                values[target] <- values[target] - (l00 * w00 + l01 * w01)
                                values[target + 1] <- values[target + 1] - (l00 * w10 + l01 * w11)
                                values[target + 2] <- values[target + 2] - (l10 * w00 + l11 * w01)
                                values[target + 3] <- values[target + 3] - (l10 * w10 + l11 * w11)
                            else
                                for i in 0 .. sb - 1 do
                                    for j in 0 .. sa - 1 do
                                        let mutable v = values[target + i * sa + j]
                                        for c in 0 .. s - 1 do
                                            v <- v - values[lb + i * s + c] * w[wa + j * s + c]
                                        values[target + i * sa + j] <- v
                    else
                        // Tail: upper triangle, row of a, column of b (b = a writes the lower part too, unused).
                        let pa = rankStart[ra] - tailStart
                        for kb in ka .. k1 - 1 do
                            let rb = neighbours[kb]
                            let sb = rankStart[rb + 1] - rankStart[rb]
                            let pb = rankStart[rb] - tailStart
                            let lb = body + (neighbourRows[kb] - s) * s
                            if s = 2 && sa = 2 && sb = 2 then
                                let row0 = pa * t + pb
                                let row1 = row0 + t
                                let w00 = w[wa]
                                let w01 = w[wa + 1]
                                let w10 = w[wa + 2]
                                let w11 = w[wa + 3]
                                let l00 = values[lb]
                                let l01 = values[lb + 1]
                                let l10 = values[lb + 2]
                                let l11 = values[lb + 3]
                                tail[row0] <- tail[row0] - (w00 * l00 + w01 * l01)
                                tail[row0 + 1] <- tail[row0 + 1] - (w00 * l10 + w01 * l11)
                                tail[row1] <- tail[row1] - (w10 * l00 + w11 * l01)
                                tail[row1 + 1] <- tail[row1 + 1] - (w10 * l10 + w11 * l11)
                            else
                                for i in 0 .. sa - 1 do
                                    let row = (pa + i) * t + pb
                                    for j in 0 .. sb - 1 do
                                        let mutable v = tail[row + j]
                                        for c in 0 .. s - 1 do
                                            v <- v - w[wa + i * s + c] * values[lb + j * s + c]
                                        tail[row + j] <- v
                r <- r + 1
        if ok && t > 0 then
            ok <- SparseCholesky.factorDense (tail, t, Span<float>(pivots, tailStart, t), threshold, w)
        if not ok then
            ValueNone
        else
            ValueSome
                { N = n
                  Permutation = permutation
                  EliminatedCount = eliminated
                  TailStart = tailStart
                  RankStart = rankStart
                  NeighbourPointers = neighbourPointers
                  Neighbours = neighbours
                  NeighbourRows = neighbourRows
                  PanelOffsets = panelOffsets
                  Values = values
                  Pivots = pivots
                  Tail = tail }

    /// <summary>y = A·x for a block symmetric matrix (each pair applied with its transpose).</summary>
    let multiply (a: BlockSymmetricMatrix, x: ReadOnlySpan<float>, y: Span<float>) =
        let gp = a.GroupPointers
        let n = gp[a.GroupCount]
        Guard.length (nameof x) n x.Length
        Guard.length (nameof y) n y.Length
        for g in 0 .. a.GroupCount - 1 do
            let first = gp[g]
            let s = gp[g + 1] - first
            let o = a.DiagonalOffsets[g]
            for i in 0 .. s - 1 do
                let mutable acc = 0.0
                for j in 0 .. s - 1 do
                    acc <- acc + a.DiagonalValues[o + i * s + j] * x[first + j]
                y[first + i] <- acc
        for p in 0 .. a.PairCount - 1 do
            let r = gp[a.PairRows[p]]
            let c = gp[a.PairColumns[p]]
            let sr = gp[a.PairRows[p] + 1] - r
            let sc = gp[a.PairColumns[p] + 1] - c
            let o = a.PairOffsets[p]
            for i in 0 .. sr - 1 do
                let mutable acc = 0.0
                let xi = x[r + i]
                for j in 0 .. sc - 1 do
                    let v = a.PairValues[o + i * sc + j]
                    acc <- acc + v * x[c + j]
                    y[c + j] <- y[c + j] + v * xi
                y[r + i] <- y[r + i] + acc

    /// <summary>Solves A·x = b with a block factor; work is a scratch span of length ≥ N.</summary>
    let solve (f: BlockLdltFactor, b: ReadOnlySpan<float>, x: Span<float>, work: Span<float>) =
        let n = f.N
        Guard.length (nameof b) n b.Length
        Guard.length (nameof x) n x.Length
        let y = work.Slice(0, n)
        for p in 0 .. n - 1 do
            y[p] <- b[f.Permutation[p]]
        let values = f.Values
        let rankStart = f.RankStart
        // Forward: L·z = y, one rank at a time (unit diagonal block, then its panel rows).
        for r in 0 .. f.EliminatedCount - 1 do
            let pos = rankStart[r]
            let s = rankStart[r + 1] - pos
            let off = f.PanelOffsets[r]
            for c in 1 .. s - 1 do
                let mutable v = y[pos + c]
                for k in 0 .. c - 1 do
                    v <- v - values[off + c * s + k] * y[pos + k]
                y[pos + c] <- v
            for k in f.NeighbourPointers[r] .. f.NeighbourPointers[r + 1] - 1 do
                let rb = f.Neighbours[k]
                let target = rankStart[rb]
                let row = off + f.NeighbourRows[k] * s
                for i in 0 .. rankStart[rb + 1] - target - 1 do
                    let mutable v = y[target + i]
                    for c in 0 .. s - 1 do
                        v <- v - values[row + i * s + c] * y[pos + c]
                    y[target + i] <- v
        let t = n - f.TailStart
        let yt = y.Slice(f.TailStart, t)
        SparseCholesky.denseForward (f.Tail, t, yt)
        for p in 0 .. n - 1 do
            y[p] <- y[p] / f.Pivots[p]
        SparseCholesky.denseBackward (f.Tail, t, yt)
        // Backward: Lᵀ·x = z in reverse rank order.
        for r in f.EliminatedCount - 1 .. -1 .. 0 do
            let pos = rankStart[r]
            let s = rankStart[r + 1] - pos
            let off = f.PanelOffsets[r]
            for k in f.NeighbourPointers[r] .. f.NeighbourPointers[r + 1] - 1 do
                let rb = f.Neighbours[k]
                let source = rankStart[rb]
                let row = off + f.NeighbourRows[k] * s
                for i in 0 .. rankStart[rb + 1] - source - 1 do
                    let yi = y[source + i]
                    for c in 0 .. s - 1 do
                        y[pos + c] <- y[pos + c] - values[row + i * s + c] * yi
            for c in s - 2 .. -1 .. 0 do
                let mutable v = y[pos + c]
                for k in c + 1 .. s - 1 do
                    v <- v - values[off + k * s + c] * y[pos + k]
                y[pos + c] <- v
        for p in 0 .. n - 1 do
            x[f.Permutation[p]] <- y[p]
