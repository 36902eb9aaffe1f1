namespace SheafCore.Numerics

open System

/// The cellular sheaf of a ReLU network on its path graph (theory §2).
///
/// Free coordinates Ω, in this order: z^(1), a^(1), z^(2), a^(2), …, z^(k), a^(k), z^(k+1) ("free blocks"
/// 0 … 2k). Edges in the same order: e_W,1, e_R,1, …, e_R,k, e_W,k+1, so edge j has free block j as its head.
/// Boundary U: x, then the ones-blocks 1_{n1}, 1_{n2}, …, 1_{n(k+1)} that carry the biases.
/// An activation pattern σ is one 0/1 mask per hidden layer (float arrays, 1 = active, z ≥ 0).
[<RequireQualifiedAccess>]
module internal NetworkSheafBlocks =

    /// Widths of the free blocks z1, a1, …, zk, ak, z(k+1).
    let freeBlockDims (mlp: Mlp) =
        let k = mlp.HiddenCount
        Array.init (2 * k + 1) (fun j -> mlp.Layers[j / 2 + 1])

    /// Offsets of the free blocks in ω (length 2k + 2; the last entry is dim Ω).
    let freeBlockOffsets (mlp: Mlp) =
        let dims = freeBlockDims mlp
        let o = Array.zeroCreate (dims.Length + 1)
        for j in 0 .. dims.Length - 1 do
            o[j + 1] <- o[j] + dims[j]
        o

    /// dim Ω = 2(n1 + … + nk) + n(k+1) = dim C¹.
    let freeDim (mlp: Mlp) = (freeBlockOffsets mlp)[2 * mlp.HiddenCount + 1]

    /// dim U = n0 + n1 + … + n(k+1).
    let boundaryDim (mlp: Mlp) = Array.sum mlp.Layers

    /// Names of the free blocks: z1, a1, …, z(k+1).
    let freeBlockNames (mlp: Mlp) =
        Array.init (2 * mlp.HiddenCount + 1) (fun j -> if j % 2 = 0 then sprintf "z%d" (j / 2 + 1) else sprintf "a%d" (j / 2 + 1))

    /// Checks that a pattern has one mask per hidden layer, of the right width, with 0/1 entries.
    let validatePattern (name: string) (mlp: Mlp) (pattern: float[][]) =
        if isNull pattern then nullArg name
        if pattern.Length <> mlp.HiddenCount then
            invalidArg name (sprintf "Expected %d masks (one per hidden layer) but got %d." mlp.HiddenCount pattern.Length)
        for l in 0 .. pattern.Length - 1 do
            if isNull pattern[l] || pattern[l].Length <> mlp.Layers[l + 1] then
                invalidArg name (sprintf "Mask %d must have %d entries." (l + 1) mlp.Layers[l + 1])
            for v in pattern[l] do
                if v <> 0.0 && v <> 1.0 then invalidArg name (sprintf "Mask %d has the entry %g; masks are 0/1." (l + 1) v)

    /// The activation pattern of one input under the forward pass (z ≥ 0 counts as active).
    let patternOf (mlp: Mlp) (x: float[]) : float[][] =
        Guard.length (nameof x) mlp.InputDim x.Length
        let ws = ForwardWorkspace(mlp, 1)
        Forward.run (mlp, ReadOnlySpan x, ws)
        Array.init mlp.HiddenCount (fun l -> ws.Z[l] |> Array.map (fun z -> if z >= 0.0 then 1.0 else 0.0))

    /// Boundary values u = (x, 1_{n1}, …, 1_{n(k+1)}).
    let boundaryValues (mlp: Mlp) (x: float[]) =
        Guard.length (nameof x) mlp.InputDim x.Length
        Guard.finite (nameof x) (ReadOnlySpan x)
        let u = Array.create (boundaryDim mlp) 1.0
        Array.blit x 0 u 0 x.Length
        u

    /// Strictly lower part N of δ_Ω = I + N in CSR (unit diagonal implied): −R_ℓ in the a^(ℓ) rows
    /// (zero mask entries dropped), −W^(ℓ) in the z^(ℓ) rows for ℓ ≥ 2.
    let restrictedCoboundaryStrictLower (mlp: Mlp) (pattern: float[][]) : Csr =
        validatePattern (nameof pattern) mlp pattern
        let offsets = freeBlockOffsets mlp
        let n = offsets[offsets.Length - 1]
        let ptr = Array.zeroCreate (n + 1)
        let cols = ResizeArray()
        let vals = ResizeArray()
        for j in 0 .. 2 * mlp.HiddenCount do
            let width = offsets[j + 1] - offsets[j]
            for r in 0 .. width - 1 do
                if j % 2 = 1 then
                    // e_R,ℓ row: a − R z, so −σ_r at z coordinate r.
                    let mask = pattern[j / 2][r]
                    if mask <> 0.0 then
                        cols.Add(offsets[j - 1] + r)
                        vals.Add(-mask)
                elif j > 0 then
                    // e_W,ℓ row (ℓ ≥ 2): z − W a − b, so −W[r, c] at a^(ℓ−1) coordinate c.
                    let l = j / 2
                    let nIn = mlp.Layers[l]
                    for c in 0 .. nIn - 1 do
                        cols.Add(offsets[j - 1] + c)
                        vals.Add(-mlp.Weights[l][r * nIn + c])
                ptr[offsets[j] + r + 1] <- cols.Count
        Csr(n, n, ptr, cols.ToArray(), vals.ToArray())

    /// δ_Ω as a dense matrix (I + N).
    let restrictedCoboundaryDense (mlp: Mlp) (pattern: float[][]) : DenseMatrix =
        let d = (restrictedCoboundaryStrictLower mlp pattern).ToDense()
        for i in 0 .. d.Rows - 1 do
            d[i, i] <- 1.0
        d

    /// δ_U (dim Ω × dim U): −[W^(1) | diag(b^(1))] in the e_W,1 rows, −diag(b^(ℓ)) on 1_{nℓ} in the e_W,ℓ rows.
    let boundaryCoboundaryDense (mlp: Mlp) : DenseMatrix =
        let offsets = freeBlockOffsets mlp
        let d = DenseMatrix(offsets[offsets.Length - 1], boundaryDim mlp)
        let n0 = mlp.Layers[0]
        let mutable onesOffset = n0
        for l in 0 .. mlp.AffineCount - 1 do
            let row0 = offsets[2 * l]
            let nOut = mlp.Layers[l + 1]
            if l = 0 then
                for r in 0 .. nOut - 1 do
                    for c in 0 .. n0 - 1 do
                        d[row0 + r, c] <- -mlp.Weights[0][r * n0 + c]
            for r in 0 .. nOut - 1 do
                d[row0 + r, onesOffset + r] <- -mlp.Biases[l][r]
            onesOffset <- onesOffset + nOut
        d

    /// L_Ω = δ_Ωᵀδ_Ω assembled from the block formulas of App. A (A.5): diagonal blocks I + R_ℓ (z^(ℓ), ℓ ≤ k),
    /// I + W^(ℓ+1)ᵀW^(ℓ+1) (a^(ℓ)), I (z^(k+1)); off-diagonal −R_ℓ between z^(ℓ) and a^(ℓ), −W^(ℓ) between z^(ℓ)
    /// and a^(ℓ−1).
    let restrictedLaplacianDense (mlp: Mlp) (pattern: float[][]) : DenseMatrix =
        validatePattern (nameof pattern) mlp pattern
        let offsets = freeBlockOffsets mlp
        let l = DenseMatrix(offsets[offsets.Length - 1], offsets[offsets.Length - 1])
        for j in 0 .. 2 * mlp.HiddenCount do
            let o = offsets[j]
            let width = offsets[j + 1] - o
            for r in 0 .. width - 1 do
                l[o + r, o + r] <- 1.0
            if j % 2 = 0 && j < 2 * mlp.HiddenCount then
                // z^(ℓ) block: + R_ℓ on the diagonal; coupling −R_ℓ with a^(ℓ).
                let mask = pattern[j / 2]
                let oa = offsets[j + 1]
                for r in 0 .. width - 1 do
                    l[o + r, o + r] <- l[o + r, o + r] + mask[r]
                    l[o + r, oa + r] <- -mask[r]
                    l[oa + r, o + r] <- -mask[r]
            if j % 2 = 1 then
                // a^(ℓ) block: + W^(ℓ+1)ᵀW^(ℓ+1); coupling −W^(ℓ+1) with z^(ℓ+1).
                let w = mlp.Weights[j / 2 + 1]
                let nOut = mlp.Layers[j / 2 + 2]
                let oz = offsets[j + 1]
                for r in 0 .. width - 1 do
                    for c in 0 .. width - 1 do
                        let mutable acc = 0.0
                        for i in 0 .. nOut - 1 do
                            acc <- acc + w[i * width + r] * w[i * width + c]
                        l[o + r, o + c] <- l[o + r, o + c] + acc
                for i in 0 .. nOut - 1 do
                    for c in 0 .. width - 1 do
                        l[oz + i, o + c] <- -w[i * width + c]
                        l[o + c, oz + i] <- -w[i * width + c]
        l

    /// L[Ω,U] = δ_Ωᵀδ_U by the block formulas: row z^(1): −[W^(1) | diag(b^(1))]; row z^(ℓ), ℓ ≥ 2: −diag(b^(ℓ))
    /// on 1_{nℓ}; row a^(ℓ−1): +W^(ℓ)ᵀdiag(b^(ℓ)) on 1_{nℓ}. (The ReLU rows add −R_ℓ·0 = 0.)
    let restrictedBoundaryLaplacianDense (mlp: Mlp) (pattern: float[][]) : DenseMatrix =
        validatePattern (nameof pattern) mlp pattern
        let offsets = freeBlockOffsets mlp
        let d = DenseMatrix(offsets[offsets.Length - 1], boundaryDim mlp)
        let n0 = mlp.Layers[0]
        let mutable onesOffset = n0
        for l in 0 .. mlp.AffineCount - 1 do
            let oz = offsets[2 * l]
            let nOut = mlp.Layers[l + 1]
            let nIn = mlp.Layers[l]
            let w = mlp.Weights[l]
            let b = mlp.Biases[l]
            if l = 0 then
                for r in 0 .. nOut - 1 do
                    for c in 0 .. n0 - 1 do
                        d[oz + r, c] <- -w[r * n0 + c]
            for r in 0 .. nOut - 1 do
                d[oz + r, onesOffset + r] <- -b[r]
            if l > 0 then
                let oa = offsets[2 * l - 1]
                for c in 0 .. nIn - 1 do
                    for r in 0 .. nOut - 1 do
                        d[oa + c, onesOffset + r] <- w[r * nIn + c] * b[r]
            onesOffset <- onesOffset + nOut
        d

    /// The network sheaf at a fixed pattern as a general cellular sheaf on the path
    /// v_x — v_z1 — v_a1 — … — v_ak — v_z(k+1), with extended stalks (x, 1_{n1}) and (a^(ℓ), 1_{nℓ+1}),
    /// weight-edge maps [W | diag(b)] (tail) and I (head), ReLU-edge maps diag(σ) (tail) and [I | 0] (head).
    /// Returns the sheaf, the C⁰ indices of the free coordinates in Ω order and of the boundary in U order.
    /// The nonlinear output edge of a sigmoid/softmax network is not part of the linear sheaf (theory §2.4).
    let toCellularSheaf (mlp: Mlp) (pattern: float[][]) : CellularSheaf * int[] * int[] =
        validatePattern (nameof pattern) mlp pattern
        let k = mlp.HiddenCount
        let n = mlp.Layers
        // Vertices: 0 = v_x, then v_z1, v_a1, …, v_zk, v_ak, v_z(k+1).
        let vertexDims =
            Array.init (2 * k + 2) (fun v ->
                if v = 0 then n[0] + n[1]
                elif v % 2 = 1 then n[v / 2 + 1]
                else n[v / 2] + n[v / 2 + 1])
        let edges = 2 * k + 1
        let sources = Array.init edges id
        let targets = Array.init edges (fun e -> e + 1)
        let edgeDims = Array.init edges (fun e -> n[e / 2 + 1])
        let families = Array.zeroCreate (2 * edges)
        let maps = Array.zeroCreate (2 * edges)
        for e in 0 .. edges - 1 do
            let width = n[e / 2 + 1]
            if e % 2 = 0 then
                let l = e / 2
                let nIn = n[l]
                let m = Array.zeroCreate (width * (nIn + width))
                for r in 0 .. width - 1 do
                    for c in 0 .. nIn - 1 do
                        m[r * (nIn + width) + c] <- mlp.Weights[l][r * nIn + c]
                    m[r * (nIn + width) + nIn + r] <- mlp.Biases[l][r]
                families[2 * e] <- RestrictionFamily.Dense
                maps[2 * e] <- m
                families[2 * e + 1] <- RestrictionFamily.Identity
                maps[2 * e + 1] <- Array.empty
            else
                let nNext = n[e / 2 + 2]
                let p = Array.zeroCreate (width * (width + nNext))
                for r in 0 .. width - 1 do
                    p[r * (width + nNext) + r] <- 1.0
                families[2 * e] <- RestrictionFamily.Diagonal
                maps[2 * e] <- Array.copy pattern[e / 2]
                families[2 * e + 1] <- RestrictionFamily.Dense
                maps[2 * e + 1] <- p
        let sheaf = CellularSheaf.Create(vertexDims, sources, targets, edgeDims, families, maps)
        let vo = sheaf.VertexOffsets
        let free = ResizeArray()
        for v in 1 .. 2 * k + 1 do
            for r in 0 .. n[v / 2 + (if v % 2 = 1 then 1 else 0)] - 1 do
                free.Add(vo[v] + r)
        let boundary = ResizeArray()
        for c in 0 .. vertexDims[0] - 1 do
            boundary.Add(vo[0] + c)
        for v in 2 .. 2 .. 2 * k do
            let width = n[v / 2]
            for c in 0 .. n[v / 2 + 1] - 1 do
                boundary.Add(vo[v] + width + c)
        sheaf, free.ToArray(), boundary.ToArray()
