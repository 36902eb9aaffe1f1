namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// The graph as NSD's layers see it: undirected edge e = {s &lt; t} has incidence 2e (the map F_{s⊴e},
/// learned from (x_s, x_t)) and 2e+1 (F_{t⊴e}, from (x_t, x_s)), the numbering of <c>CellularSheaf</c>.
/// Adjacency lists every incidence at its own vertex; the fixed lp/hp channels' normalised values are
/// precomputed because they depend on the degrees only.
[<Sealed>]
type internal NsdTopology(nodeCount: int, sources: int[], targets: int[]) =
    let m = sources.Length
    let vertex = Array.init (2 * m) (fun i -> if i % 2 = 0 then sources[i / 2] else targets[i / 2])
    let neighbour = Array.init (2 * m) (fun i -> vertex[i ^^^ 1])
    let degree = Array.zeroCreate<int> nodeCount
    do
        for i in 0 .. 2 * m - 1 do
            degree[vertex[i]] <- degree[vertex[i]] + 1
    let pointers = Array.zeroCreate (nodeCount + 1)
    do
        for v in 0 .. nodeCount - 1 do
            pointers[v + 1] <- pointers[v] + degree[v]
    let incidences =
        let next = Array.copy pointers
        let a = Array.zeroCreate (2 * m)
        for i in 0 .. 2 * m - 1 do
            a[next[vertex[i]]] <- i
            next[vertex[i]] <- next[vertex[i]] + 1
        a
    // Normalised D ± A with D̂ = D + I: diagonal deg/(deg+1), off-diagonal magnitude 1/√((deg_u+1)(deg_v+1)).
    let fixedDiagonal = Array.init nodeCount (fun v -> float degree[v] / (float degree[v] + 1.0))
    let fixedOff =
        Array.init (2 * m) (fun i -> 1.0 / sqrt ((float degree[vertex[i]] + 1.0) * (float degree[neighbour[i]] + 1.0)))

    member _.NodeCount = nodeCount
    member _.EdgeCount = m
    member _.Sources = sources
    member _.Targets = targets
    /// Vertex of incidence i (the row of its Laplacian entry).
    member _.IncidenceVertex = vertex
    /// The other end of incidence i (the column).
    member _.IncidenceNeighbour = neighbour
    member _.Degree = degree
    /// Incidences at vertex v are AdjacencyIncidences[AdjacencyPointers[v] .. AdjacencyPointers[v+1]).
    member _.AdjacencyPointers = pointers
    member _.AdjacencyIncidences = incidences
    member _.FixedDiagonal = fixedDiagonal
    member _.FixedOffDiagonal = fixedOff

/// <summary>Diag-NSD's normalised Laplacian: d independent weighted scalar Laplacians, stored as
/// n·d diagonal and 2|E|·d off-diagonal values (no d×d blocks).</summary>
/// <remarks>With D_v[k] = Σ_{e∋v} F_{v⊴e}[k]² and s_v[k] = (D_v[k] + 1)^{-1/2}:
/// Δ_vv[k] = D_v[k]/(D_v[k] + 1) and Δ_vu[k] = −F_{v⊴e}[k]·F_{u⊴e}[k]·s_v[k]·s_u[k].
/// Maps[i·d + k] is the k-th diagonal entry of the map at incidence i.</remarks>
[<Sealed; AllowNullLiteral>]
type internal DiagonalNsdLaplacian(topology: NsdTopology, d: int) =
    let maps = Array.zeroCreate<float> (2 * topology.EdgeCount * d)
    let sums = Array.zeroCreate<float> (topology.NodeCount * d)
    let scale = Array.zeroCreate<float> (topology.NodeCount * d)
    let diagonal = Array.zeroCreate<float> (topology.NodeCount * d)
    let off = Array.zeroCreate<float> (2 * topology.EdgeCount * d)
    member _.Topology = topology
    member _.StalkDim = d
    member _.Maps = maps
    member _.DegreeSums = sums
    member _.Scale = scale
    member _.Diagonal = diagonal
    member _.OffDiagonal = off

    /// Recomputes every value from Maps.
    member _.Refresh() =
        Array.Clear sums
        let vertex = topology.IncidenceVertex
        for i in 0 .. vertex.Length - 1 do
            let v = vertex[i]
            for k in 0 .. d - 1 do
                sums[v * d + k] <- sums[v * d + k] + maps[i * d + k] * maps[i * d + k]
        for j in 0 .. sums.Length - 1 do
            scale[j] <- 1.0 / sqrt (sums[j] + 1.0)
            diagonal[j] <- sums[j] / (sums[j] + 1.0)
        let neighbour = topology.IncidenceNeighbour
        for i in 0 .. vertex.Length - 1 do
            let v = vertex[i]
            let u = neighbour[i]
            let partner = i ^^^ 1
            for k in 0 .. d - 1 do
                off[i * d + k] <- -maps[i * d + k] * maps[partner * d + k] * scale[v * d + k] * scale[u * d + k]

/// <summary>O(d)- and Gen-NSD's normalised Laplacian on the general sheaf engine: a CellularSheaf with dense
/// d×d maps whose block-CSR Laplacian L and augmented normalisation Δ = (D+I)^{-1/2} L (D+I)^{-1/2} are
/// assembled once and refilled in place every forward pass.</summary>
/// <remarks>Maps[i·d² ..] is F at incidence i, row-major. The engine's pattern has one block per edge side
/// (the graph is simple), so block (s, t) of Δ is exactly −M_s F_sᵀF_t M_t.</remarks>
[<Sealed; AllowNullLiteral>]
type internal BlockNsdLaplacian(topology: NsdTopology, d: int) =
    let n = topology.NodeCount
    let m = topology.EdgeCount
    let identity = Array.init (d * d) (fun j -> if j / d = j % d then 1.0 else 0.0)
    let sheaf =
        CellularSheaf.Create(
            Array.create n d,
            topology.Sources,
            topology.Targets,
            Array.create m d,
            Array.create (2 * m) RestrictionFamily.Dense,
            Array.init (2 * m) (fun _ -> identity)
        )
    let laplacian = SheafLaplacian.assemble sheaf
    let normalised = SheafLaplacian.assembleNormalised laplacian
    // The learner writes straight into the sheaf's map storage (every map Dense d×d at i·d²), so a refresh
    // copies nothing. No finiteness pass either: the maps are tanh outputs or w·Q, and a NaN parameter makes
    // the loss NaN, which the trainer refuses every epoch.
    let maps = sheaf.MapValues
    member _.Topology = topology
    member _.StalkDim = d
    member _.Maps = maps
    member _.Sheaf = sheaf
    member _.Laplacian = laplacian
    member _.Normalised = normalised

    /// Refills L and Δ in place from the current Maps (Gen-NSD: the matrix root by Jacobi).
    member _.Refresh() =
        SheafLaplacian.refill (sheaf, laplacian)
        SheafLaplacian.refillNormalised (laplacian, normalised)

    /// O(d)-NSD's D_v = Σ_{e∋v} w_e² (after RefreshOrthogonal).
    member val OrthogonalSums = Array.zeroCreate<float> n
    /// O(d)-NSD's s_v = (D_v + 1)^{-1/2}.
    member val OrthogonalScale = Array.zeroCreate<float> n

    /// <summary>Δ for O(d)-NSD in the reference's closed form (digest §3.5): F = w_e·Q with QᵀQ = I makes
    /// L_vv = D_v·I with the scalar D_v = Σ_{e∋v} w_e², so Δ_vv = D_v/(D_v + 1)·I and
    /// Δ_st = −w_e² s_s s_t·Q_sᵀQ_t, Δ_ts = Δ_stᵀ; no matrix root.</summary>
    /// <remarks>Fills only <c>Normalised.Matrix</c>; L is left as it was. <c>q</c> holds Q per incidence (d²,
    /// row-major), <c>weights</c> w_e per edge.</remarks>
    member this.RefreshOrthogonal(weights: float[], q: float[]) =
        let dd = d * d
        let sums = this.OrthogonalSums
        let scale = this.OrthogonalScale
        let matrix = normalised.Matrix
        let values = matrix.Values
        let offsets = matrix.BlockOffsets
        let positions = matrix.EdgeBlockPositions
        Array.Clear sums
        for e in 0 .. m - 1 do
            let w2 = weights[e] * weights[e]
            sums[topology.Sources[e]] <- sums[topology.Sources[e]] + w2
            sums[topology.Targets[e]] <- sums[topology.Targets[e]] + w2
        for v in 0 .. n - 1 do
            scale[v] <- 1.0 / sqrt (sums[v] + 1.0)
            let block = Span<float>(values, offsets[matrix.DiagonalPositions[v]], dd)
            block.Clear()
            let diagonal = sums[v] / (sums[v] + 1.0)
            for k in 0 .. d - 1 do
                block[k * d + k] <- diagonal
        for e in 0 .. m - 1 do
            let s = topology.Sources[e]
            let t = topology.Targets[e]
            let c = -(weights[e] * weights[e]) * scale[s] * scale[t]
            let qs = ReadOnlySpan<float>(q, 2 * e * dd, dd)
            let qt = ReadOnlySpan<float>(q, (2 * e + 1) * dd, dd)
            let st = Span<float>(values, offsets[positions[4 * e + 2]], dd)
            st.Clear()
            NsdKernels.smallProduct (d, qs, true, qt, false, c, st)
            let ts = Span<float>(values, offsets[positions[4 * e + 3]], dd)
            for i in 0 .. d - 1 do
                for j in 0 .. d - 1 do
                    ts[i * d + j] <- st[j * d + i]

/// Products with the NSD Laplacians on stalk-major states and their adjoints.
///
/// A state Z ∈ R^{(n·D)×f} is stored row-major with row v·D + k (node v, stalk coordinate k), so node v's
/// D×f block is contiguous. Coordinates 0..d−1 are learned; coordinate d (if present) is the fixed lp
/// channel (normalised D + A) and the next one the fixed hp channel (normalised D − A).
[<RequireQualifiedAccess>]
module internal NsdLaplacian =

    /// Y[v, k, :] for the fixed channel at coordinate k: deg/(deg+1)·Z[v,k,:] + sign·Σ_u Z[u,k,:]/√(…).
    let applyFixed (topology: NsdTopology, k: int, sign: float, stalks: int, f: int, z: ReadOnlySpan<float>, y: Span<float>) =
        let pointers = topology.AdjacencyPointers
        let incidences = topology.AdjacencyIncidences
        let neighbour = topology.IncidenceNeighbour
        let off = topology.FixedOffDiagonal
        for v in 0 .. topology.NodeCount - 1 do
            NsdKernels.gatherRow (pointers, incidences, neighbour, v, k, stalks, f, topology.FixedDiagonal[v], off, 1, 0, sign, z, y)

    /// Y = Δ·Z on the learned coordinates 0..d−1 of every node (Diag-NSD).
    let applyDiagonal (lap: DiagonalNsdLaplacian, stalks: int, f: int, z: ReadOnlySpan<float>, y: Span<float>) =
        let topology = lap.Topology
        let d = lap.StalkDim
        let pointers = topology.AdjacencyPointers
        let incidences = topology.AdjacencyIncidences
        let neighbour = topology.IncidenceNeighbour
        for v in 0 .. topology.NodeCount - 1 do
            for k in 0 .. d - 1 do
                NsdKernels.gatherRow (pointers, incidences, neighbour, v, k, stalks, f, lap.Diagonal[v * d + k], lap.OffDiagonal, d, k, 1.0, z, y)

    /// <summary>Adds the adjoint of Y = Δ(F)·Z with respect to the diagonal maps to <c>mapsBar</c>.</summary>
    /// <remarks>With Δ̄_vv[k] = ⟨Ȳ_vk, Z_vk⟩ and Δ̄_vu[k] = ⟨Ȳ_vk, Z_uk⟩ (both orientations are separate
    /// entries), and c = −F_vF_u s_v s_u for an entry involving v:
    /// F̄_{v⊴e} gains −(Δ̄_vu + Δ̄_uv)F_u s_v s_u; D̄_v = Δ̄_vv/(D_v+1)² − ½ s_v² Σ_u (Δ̄_vu + Δ̄_uv)·c
    /// (from ∂s/∂D = −½s³); finally F̄_{v⊴e} gains 2F_{v⊴e}·D̄_v.</remarks>
    let adjointDiagonal
        (lap: DiagonalNsdLaplacian, stalks: int, f: int, yBar: ReadOnlySpan<float>, z: ReadOnlySpan<float>,
         mapsBar: Span<float>, work: Span<float>)
        =
        let topology = lap.Topology
        let d = lap.StalkDim
        let n = topology.NodeCount
        let edges2 = 2 * topology.EdgeCount
        // work: Δ̄ off-diagonal (2|E|·d) then D̄ (n·d).
        let offBar = work.Slice(0, edges2 * d)
        let sumBar = work.Slice(edges2 * d, n * d)
        for v in 0 .. n - 1 do
            for k in 0 .. d - 1 do
                let a = (v * stalks + k) * f
                let diagBar = TensorPrimitives.Dot(yBar.Slice(a, f), z.Slice(a, f))
                let denominator = lap.DegreeSums[v * d + k] + 1.0
                sumBar[v * d + k] <- diagBar / (denominator * denominator)
        for i in 0 .. edges2 - 1 do
            let v = topology.IncidenceVertex[i]
            let u = topology.IncidenceNeighbour[i]
            for k in 0 .. d - 1 do
                offBar[i * d + k] <- TensorPrimitives.Dot(yBar.Slice((v * stalks + k) * f, f), z.Slice((u * stalks + k) * f, f))
        let maps = lap.Maps
        for i in 0 .. edges2 - 1 do
            let v = topology.IncidenceVertex[i]
            let u = topology.IncidenceNeighbour[i]
            let partner = i ^^^ 1
            for k in 0 .. d - 1 do
                let both = offBar[i * d + k] + offBar[partner * d + k]
                let sv = lap.Scale[v * d + k]
                let su = lap.Scale[u * d + k]
                mapsBar[i * d + k] <- mapsBar[i * d + k] - both * maps[partner * d + k] * sv * su
                // This vertex's share of the dependence through s_v.
                let c = -maps[i * d + k] * maps[partner * d + k] * sv * su
                sumBar[v * d + k] <- sumBar[v * d + k] - 0.5 * sv * sv * both * c
        for i in 0 .. edges2 - 1 do
            let v = topology.IncidenceVertex[i]
            for k in 0 .. d - 1 do
                mapsBar[i * d + k] <- mapsBar[i * d + k] + 2.0 * maps[i * d + k] * sumBar[v * d + k]

    /// Y = Δ·Z on the learned coordinates (d×d blocks of the engine's normalised Laplacian).
    let applyBlock (lap: BlockNsdLaplacian, stalks: int, f: int, z: ReadOnlySpan<float>, y: Span<float>) =
        let matrix = lap.Normalised.Matrix
        let d = lap.StalkDim
        for v in 0 .. matrix.BlockRows - 1 do
            for r in 0 .. d - 1 do
                NsdKernels.blockRow (matrix.RowPointers, matrix.ColumnIndices, matrix.BlockOffsets, matrix.Values, d, v, r, stalks, f, z, y)

    let private small (d: int, a: ReadOnlySpan<float>, ta: bool, b: ReadOnlySpan<float>, tb: bool, alpha: float, c: Span<float>) =
        NsdKernels.smallProduct (d, a, ta, b, tb, alpha, c)

    /// <summary>Adds the adjoint of Y = Δ(F)·Z with respect to the dense maps F to <c>mapsBar</c>.</summary>
    /// <remarks>
    /// Δ_vu = M_v L_vu M_u with M_v = (L_vv + I)^{-1/2}. Per stored block, Δ̄_vu = Ȳ_v Z_uᵀ and
    /// L̄_vu = M_v Δ̄_vu M_u, M̄_v += Δ̄_vu M_u L_vuᵀ, M̄_u += L_vuᵀ M_v Δ̄_vu (this covers u = v too).
    /// M = g(A) for A = L_vv + I = VΛVᵀ and g(λ) = λ^{-1/2}, so Ā = V (G ∘ VᵀM̄V) Vᵀ with the divided
    /// differences G_ij = (g(λ_i) − g(λ_j))/(λ_i − λ_j) = −1/(√λ_i√λ_j(√λ_i + √λ_j)), a form without
    /// cancellation that equals g′ on repeated eigenvalues (so no jitter is needed, unlike the reference's SVD).
    /// Last, L_st = −F_sᵀF_t and L_vv = Σ FᵀF give F̄_s = −F_t(L̄_stᵀ + L̄_ts) + F_s(L̄_ss + L̄_ssᵀ) and
    /// symmetrically for F_t.
    /// </remarks>
    let adjointBlock
        (lap: BlockNsdLaplacian, stalks: int, f: int, yBar: ReadOnlySpan<float>, z: ReadOnlySpan<float>,
         mapsBar: Span<float>, work: Span<float>)
        =
        let d = lap.StalkDim
        let dd = d * d
        let matrix = lap.Normalised.Matrix
        let lValues = ReadOnlySpan<float>(lap.Laplacian.Values)
        let scaling = ReadOnlySpan<float>(lap.Normalised.ScalingValues)
        let n = matrix.BlockRows
        let total = matrix.Values.Length
        // work: L̄ (same pattern as L), M̄ (n·d²), then four d×d scratch matrices.
        let lBar = work.Slice(0, total)
        let mBar = work.Slice(total, n * dd)
        let t1 = work.Slice(total + n * dd, dd)
        let t2 = work.Slice(total + n * dd + dd, dd)
        let eigen = work.Slice(total + n * dd + 2 * dd, dd)
        let vectors = work.Slice(total + n * dd + 3 * dd, dd)
        lBar.Clear()
        mBar.Clear()
        for v in 0 .. n - 1 do
            let mv = scaling.Slice(lap.Normalised.ScalingOffsets[v], dd)
            for b in matrix.RowPointers[v] .. matrix.RowPointers[v + 1] - 1 do
                let u = matrix.ColumnIndices[b]
                let mu = scaling.Slice(lap.Normalised.ScalingOffsets[u], dd)
                let lvu = lValues.Slice(matrix.BlockOffsets[b], dd)
                // t1 = Δ̄_vu = Ȳ_v Z_uᵀ.
                for r in 0 .. d - 1 do
                    for c in 0 .. d - 1 do
                        t1[r * d + c] <- TensorPrimitives.Dot(yBar.Slice((v * stalks + r) * f, f), z.Slice((u * stalks + c) * f, f))
                // L̄_vu = M_v Δ̄ M_u.
                t2.Clear()
                small (d, mv, false, ro t1, false, 1.0, t2)
                small (d, ro t2, false, mu, false, 1.0, lBar.Slice(matrix.BlockOffsets[b], dd))
                // M̄_v += Δ̄ (M_u L_vuᵀ).
                t2.Clear()
                small (d, mu, false, lvu, true, 1.0, t2)
                small (d, ro t1, false, ro t2, false, 1.0, mBar.Slice(v * dd, dd))
                // M̄_u += (L_vuᵀ M_v) Δ̄.
                t2.Clear()
                small (d, lvu, true, mv, false, 1.0, t2)
                small (d, ro t2, false, ro t1, false, 1.0, mBar.Slice(u * dd, dd))
        for v in 0 .. n - 1 do
            lValues.Slice(matrix.BlockOffsets[matrix.DiagonalPositions[v]], dd).CopyTo eigen
            DenseFactor.jacobiInPlace (eigen, d, vectors)
            // t1 = Vᵀ M̄ V ∘ G.
            t2.Clear()
            small (d, ro vectors, true, ro (mBar.Slice(v * dd, dd)), false, 1.0, t2)
            t1.Clear()
            small (d, ro t2, false, ro vectors, false, 1.0, t1)
            for i in 0 .. d - 1 do
                let ri = sqrt (max eigen[i * d + i] 0.0 + 1.0)
                for j in 0 .. d - 1 do
                    let rj = sqrt (max eigen[j * d + j] 0.0 + 1.0)
                    t1[i * d + j] <- t1[i * d + j] * (-1.0 / (ri * rj * (ri + rj)))
            // L̄_vv += V t1 Vᵀ.
            t2.Clear()
            small (d, ro vectors, false, ro t1, false, 1.0, t2)
            small (d, ro t2, false, ro vectors, true, 1.0, lBar.Slice(matrix.BlockOffsets[matrix.DiagonalPositions[v]], dd))
        let maps = ReadOnlySpan<float>(lap.Maps)
        let positions = lap.Laplacian.EdgeBlockPositions
        let offsets = matrix.BlockOffsets
        for e in 0 .. lap.Topology.EdgeCount - 1 do
            let fs = maps.Slice(2 * e * dd, dd)
            let ft = maps.Slice((2 * e + 1) * dd, dd)
            let ss = lBar.Slice(offsets[positions[4 * e]], dd)
            let tt = lBar.Slice(offsets[positions[4 * e + 1]], dd)
            let st = lBar.Slice(offsets[positions[4 * e + 2]], dd)
            let ts = lBar.Slice(offsets[positions[4 * e + 3]], dd)
            let fsBar = mapsBar.Slice(2 * e * dd, dd)
            let ftBar = mapsBar.Slice((2 * e + 1) * dd, dd)
            small (d, ft, false, ro st, true, -1.0, fsBar)
            small (d, ft, false, ro ts, false, -1.0, fsBar)
            small (d, fs, false, ro ss, false, 1.0, fsBar)
            small (d, fs, false, ro ss, true, 1.0, fsBar)
            small (d, fs, false, ro st, false, -1.0, ftBar)
            small (d, fs, false, ro ts, true, -1.0, ftBar)
            small (d, ft, false, ro tt, false, 1.0, ftBar)
            small (d, ft, false, ro tt, true, 1.0, ftBar)

    /// <summary>The adjoint of Y = Δ·Z for O(d)-NSD's closed form (<c>RefreshOrthogonal</c>): Q̄ per incidence
    /// into <c>qBar</c> and w̄ per edge into <c>weightBar</c> (both added to).</summary>
    /// <remarks>Per edge, with P = Q_sᵀQ_t, c = w²s_s s_t and G = Ȳ_s Z_tᵀ + (Ȳ_t Z_sᵀ)ᵀ (the two blocks
    /// −cP and −cPᵀ): c̄ = −⟨G, P⟩, Q̄_s −= c·Q_t Gᵀ, Q̄_t −= c·Q_s G, and c = w² s_s s_t passes c̄ on to w and
    /// to s̄. The diagonal D/(D+1) gives D̄_v = ⟨Ȳ_v, Z_v⟩/(D_v+1)², s = (D+1)^{-1/2} gives D̄ −= ½ s̄ s³, and
    /// D_v = Σ w² gives w̄_e += 2w_e(D̄_s + D̄_t). <c>work</c> needs <see cref="orthogonalWorkLength"/>.</remarks>
    let adjointOrthogonal
        (lap: BlockNsdLaplacian, weights: float[], q: float[], stalks: int, f: int, yBar: ReadOnlySpan<float>,
         z: ReadOnlySpan<float>, qBar: Span<float>, weightBar: Span<float>, work: Span<float>)
        =
        let topology = lap.Topology
        let d = lap.StalkDim
        let dd = d * d
        let n = topology.NodeCount
        let sums = lap.OrthogonalSums
        let scale = lap.OrthogonalScale
        let sumBar = work.Slice(0, n)
        let scaleBar = work.Slice(n, n)
        let g = work.Slice(2 * n, dd)
        let p = work.Slice(2 * n + dd, dd)
        sumBar.Clear()
        scaleBar.Clear()
        for v in 0 .. n - 1 do
            let block = (v * stalks) * f
            let diagonalBar = TensorPrimitives.Dot(yBar.Slice(block, d * f), z.Slice(block, d * f))
            let denominator = sums[v] + 1.0
            sumBar[v] <- diagonalBar / (denominator * denominator)
        for e in 0 .. topology.EdgeCount - 1 do
            let s = topology.Sources[e]
            let t = topology.Targets[e]
            // G[r, c] = ⟨Ȳ_s,r, Z_t,c⟩ + ⟨Ȳ_t,c, Z_s,r⟩.
            for r in 0 .. d - 1 do
                for c in 0 .. d - 1 do
                    g[r * d + c] <-
                        TensorPrimitives.Dot(yBar.Slice((s * stalks + r) * f, f), z.Slice((t * stalks + c) * f, f))
                        + TensorPrimitives.Dot(yBar.Slice((t * stalks + c) * f, f), z.Slice((s * stalks + r) * f, f))
            let qs = ReadOnlySpan<float>(q, 2 * e * dd, dd)
            let qt = ReadOnlySpan<float>(q, (2 * e + 1) * dd, dd)
            p.Clear()
            NsdKernels.smallProduct (d, qs, true, qt, false, 1.0, p)
            let cBar = -TensorPrimitives.Dot(ro g, ro p)
            let w = weights[e]
            let c = w * w * scale[s] * scale[t]
            NsdKernels.smallProduct (d, qt, false, ro g, true, -c, qBar.Slice(2 * e * dd, dd))
            NsdKernels.smallProduct (d, qs, false, ro g, false, -c, qBar.Slice((2 * e + 1) * dd, dd))
            weightBar[e] <- weightBar[e] + cBar * 2.0 * w * scale[s] * scale[t]
            scaleBar[s] <- scaleBar[s] + cBar * w * w * scale[t]
            scaleBar[t] <- scaleBar[t] + cBar * w * w * scale[s]
        for v in 0 .. n - 1 do
            sumBar[v] <- sumBar[v] - 0.5 * scaleBar[v] * scale[v] * scale[v] * scale[v]
        for e in 0 .. topology.EdgeCount - 1 do
            weightBar[e] <- weightBar[e] + 2.0 * weights[e] * (sumBar[topology.Sources[e]] + sumBar[topology.Targets[e]])

    /// Work length needed by adjointOrthogonal.
    let orthogonalWorkLength (lap: BlockNsdLaplacian) = 2 * lap.Topology.NodeCount + 2 * lap.StalkDim * lap.StalkDim

    /// Work length needed by adjointDiagonal / adjointBlock.
    let diagonalWorkLength (topology: NsdTopology, d: int) = (2 * topology.EdgeCount + topology.NodeCount) * d

    let blockWorkLength (lap: BlockNsdLaplacian) =
        let dd = lap.StalkDim * lap.StalkDim
        lap.Normalised.Matrix.Values.Length + lap.Topology.NodeCount * dd + 4 * dd
