/// The block sparse LDLᵀ of the harmonic extension (issue 7): the GEMM-blocked dense LDLᵀ against its scalar twin on
/// ragged sizes, the block factor against the scalar sparse LDLᵀ and the dense solve on random block matrices (group
/// sizes 1–4), and the block harmonic extension against the scalar sparse path and the dense one on random sheaves
/// (stalks 0–4) with random boundaries, including an empty interior and no boundary at all.
module SheafCore.Properties.BlockLdltProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics

/// A seed for one case; everything is rebuilt from it with the library's Rng, so a failure replays exactly.
type BlockSeed =
    | BlockSeed of int

    override this.ToString() =
        let (BlockSeed s) = this
        sprintf "BlockSeed %d" s

type BlockArbitraries =
    static member BlockSeed() = ArbMap.defaults |> ArbMap.generate<int> |> Gen.map BlockSeed |> Arb.fromGen

module internal BlockGen =
    /// A random symmetric block matrix made positive definite by diagonal dominance: `groups` groups of 1–4
    /// variables, about `degree` random pairs per group (parallel pairs allowed: they add).
    let matrix (rng: Rng) (groups: int) (degree: int) =
        let sizes = Array.init groups (fun _ -> rng.NextInt(1, 5))
        let gp = Array.zeroCreate (groups + 1)
        for g in 0 .. groups - 1 do
            gp[g + 1] <- gp[g] + sizes[g]
        let pairs = if groups < 2 then 0 else rng.NextInt(0, degree * groups + 1)
        let rows = Array.zeroCreate pairs
        let cols = Array.zeroCreate pairs
        let offsets = Array.zeroCreate (pairs + 1)
        for p in 0 .. pairs - 1 do
            let r = rng.NextInt(0, groups)
            let c0 = rng.NextInt(0, groups - 1)
            rows[p] <- r
            cols[p] <- (if c0 >= r then c0 + 1 else c0)
            offsets[p + 1] <- offsets[p] + sizes[rows[p]] * sizes[cols[p]]
        let pairValues = Array.init offsets[pairs] (fun _ -> rng.Normal())
        // Dense copy, then the diagonal blocks: random symmetric plus the row sums of |A| (strictly dominant).
        let n = gp[groups]
        let dense = DenseMatrix(n, n)
        for p in 0 .. pairs - 1 do
            let sr = sizes[rows[p]]
            let sc = sizes[cols[p]]
            for i in 0 .. sr - 1 do
                for j in 0 .. sc - 1 do
                    let v = pairValues[offsets[p] + i * sc + j]
                    dense[gp[rows[p]] + i, gp[cols[p]] + j] <- dense[gp[rows[p]] + i, gp[cols[p]] + j] + v
                    dense[gp[cols[p]] + j, gp[rows[p]] + i] <- dense[gp[cols[p]] + j, gp[rows[p]] + i] + v
        let diagonalOffsets = Array.zeroCreate (groups + 1)
        for g in 0 .. groups - 1 do
            diagonalOffsets[g + 1] <- diagonalOffsets[g] + sizes[g] * sizes[g]
        let diagonal = Array.zeroCreate diagonalOffsets[groups]
        for g in 0 .. groups - 1 do
            let s = sizes[g]
            for i in 0 .. s - 1 do
                for j in i + 1 .. s - 1 do
                    let v = rng.Normal()
                    dense[gp[g] + i, gp[g] + j] <- v
                    dense[gp[g] + j, gp[g] + i] <- v
        for i in 0 .. n - 1 do
            let mutable sum = 1.0
            for j in 0 .. n - 1 do
                if j <> i then sum <- sum + abs dense[i, j]
            dense[i, i] <- sum * (1.0 + rng.NextDouble())
        for g in 0 .. groups - 1 do
            let s = sizes[g]
            for i in 0 .. s - 1 do
                for j in 0 .. s - 1 do
                    diagonal[diagonalOffsets[g] + i * s + j] <- dense[gp[g] + i, gp[g] + j]
        let blocks =
            { GroupCount = groups
              GroupPointers = gp
              DiagonalOffsets = diagonalOffsets
              DiagonalValues = diagonal
              PairCount = pairs
              PairRows = rows
              PairColumns = cols
              PairOffsets = offsets
              PairValues = pairValues }
        blocks, dense

    /// Both triangles of a dense matrix in CSR (zeros dropped), for the scalar sparse LDLᵀ.
    let csr (a: DenseMatrix) =
        let rowPointers = Array.zeroCreate (a.Rows + 1)
        let columns = ResizeArray<int>()
        let values = ResizeArray<float>()
        for i in 0 .. a.Rows - 1 do
            for j in 0 .. a.Cols - 1 do
                if a[i, j] <> 0.0 then
                    columns.Add j
                    values.Add a[i, j]
            rowPointers[i + 1] <- columns.Count
        rowPointers, columns.ToArray(), values.ToArray()

    let maxAbsDiff (a: float[]) (b: float[]) = Array.fold2 (fun m (x: float) y -> max m (abs (x - y))) 0.0 a b

[<Properties(Arbitrary = [| typeof<BlockArbitraries> |], MaxTest = 300)>]
module ``Block sparse LDLt`` =

    /// Ragged sizes 0–100 cross the panels and the GEMM row blocks at every offset.
    [<Property>]
    let ``blocked dense LDLt equals its scalar twin on ragged sizes`` (BlockSeed seed) =
        let rng = Rng(int64 seed)
        let t = rng.NextInt(0, 101)
        let a = Array.zeroCreate (t * t)
        for i in 0 .. t - 1 do
            for j in i + 1 .. t - 1 do
                a[i * t + j] <- rng.Normal()
            a[i * t + i] <- float t + 1.0 + rng.NextDouble()
        let reference = Array.copy a
        let blocked = Array.copy a
        let p1 = Array.zeroCreate t
        let p2 = Array.zeroCreate t
        let ok1 = SparseCholesky.factorDenseReference (Span reference, t, Span p1, 0.0)
        let ok2 = SparseCholesky.factorDense (blocked, t, Span p2, 0.0, Array.zeroCreate (SparseCholesky.denseScratchLength t))
        // Only the upper triangle is the factor; the strict lower part is scratch in the blocked version.
        let upper (m: float[]) = [| for i in 0 .. t - 1 do for j in i .. t - 1 do yield m[i * t + j] |]
        ok1 && ok2
        && BlockGen.maxAbsDiff p1 p2 <= 1e-10 * float (t + 1)
        && BlockGen.maxAbsDiff (upper reference) (upper blocked) <= 1e-12 * float (t + 1)

    [<Property>]
    let ``blocked dense LDLt reports the first non-positive pivot like its twin`` (BlockSeed seed) =
        let rng = Rng(int64 seed)
        let t = rng.NextInt(1, 60)
        let a = Array.zeroCreate (t * t)
        for i in 0 .. t - 1 do
            for j in i .. t - 1 do
                a[i * t + j] <- rng.Normal()
        let ok1 = SparseCholesky.factorDenseReference (Span(Array.copy a), t, Span(Array.zeroCreate t), 1e-12)
        let ok2 = SparseCholesky.factorDense (Array.copy a, t, Span(Array.zeroCreate t), 1e-12, Array.zeroCreate (SparseCholesky.denseScratchLength t))
        ok1 = ok2

    /// Up to 80 groups of 1–4 variables with 0–3 pairs per group: sparse phases, dense tails and both at once.
    [<Property>]
    let ``block factor solves like the scalar sparse LDLt and the dense solve`` (BlockSeed seed) =
        let rng = Rng(int64 seed)
        let groups = rng.NextInt(0, 81)
        let blocks, dense = BlockGen.matrix rng groups (rng.NextInt(0, 4))
        let n = dense.Rows
        let b = Array.init n (fun _ -> rng.Normal())
        let x = Array.zeroCreate n
        let scalar = Array.zeroCreate n
        match BlockLdlt.factor (blocks, 1e-12, BlockLdltWorkspace()) with
        | ValueNone -> n > 0 && false
        | ValueSome f ->
            BlockLdlt.solve (f, ReadOnlySpan b, Span x, Span(Array.zeroCreate n))
            let rowPointers, columns, values = BlockGen.csr dense
            let groupPointers = blocks.GroupPointers
            match SparseCholesky.factor (n, rowPointers, columns, values, groupPointers, 1e-12, SparseLdltWorkspace()) with
            | ValueNone -> false
            | ValueSome g ->
                SparseCholesky.solve (g, ReadOnlySpan b, Span scalar, Span(Array.zeroCreate n))
                let exact = (DenseFactor.solveSymmetric (dense, ReadOnlySpan b, 1e-12)).Solution
                // Diagonally dominant: ‖A⁻¹‖ ≤ 1, so solutions agree to round-off times the size.
                let scale = 1e-12 * float (n + 1) * (1.0 + Tolerance.maxAbs b) * (1.0 + Tolerance.maxAbs dense.Values)
                f.N = n
                && BlockGen.maxAbsDiff x scalar <= scale
                && BlockGen.maxAbsDiff x exact <= scale

    /// A reused workspace gives the same factor as a fresh one (the arrays are grown, never trusted to be clean).
    [<Property>]
    let ``a reused workspace gives the same solution as a fresh one`` (BlockSeed seed) =
        let rng = Rng(int64 seed)
        let workspace = BlockLdltWorkspace()
        let big, _ = BlockGen.matrix rng (rng.NextInt(20, 60)) 3
        BlockLdlt.factor (big, 1e-12, workspace) |> ignore
        let small, dense = BlockGen.matrix rng (rng.NextInt(1, 20)) (rng.NextInt(0, 4))
        let n = dense.Rows
        let b = Array.init n (fun _ -> rng.Normal())
        let solveWith (w: BlockLdltWorkspace) =
            match BlockLdlt.factor (small, 1e-12, w) with
            | ValueSome f ->
                let x = Array.zeroCreate n
                BlockLdlt.solve (f, ReadOnlySpan b, Span x, Span(Array.zeroCreate n))
                x
            | ValueNone -> [||]
        let reused = solveWith workspace
        let fresh = solveWith (BlockLdltWorkspace())
        reused.Length = n && SheafCore.Properties.PerfKernelProperties.PerfGen.sameBits reused fresh

/// Boundary masks: 0 all pinned (empty interior), 1 none pinned (all interior), 2 whole vertices, 3 coordinates.
module internal HarmonicGen =
    let mask (rng: Rng) (sheaf: CellularSheaf) =
        let n = sheaf.VertexCochainDim
        match rng.NextInt(0, 6) with
        | 0 -> Array.create n true
        | 1 -> Array.create n false
        | 2
        | 3 ->
            let pinned = [| for v in 0 .. sheaf.VertexCount - 1 do if rng.NextDouble() < 0.25 then yield v |]
            HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan(HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan pinned)))
        | _ -> Array.init n (fun _ -> rng.NextDouble() < 0.3)

[<Properties(Arbitrary = [| typeof<BlockArbitraries> |], MaxTest = 200)>]
module ``Block harmonic extension`` =

    /// Random sheaves (3–60 vertices, stalks 0–4, mixed families, parallel edges): the block path either falls back
    /// to exactly the dense result or is certified unique, keeps the boundary, has a small residual and agrees with
    /// the dense solution within ‖x − y‖ ≤ (‖r_x‖ + ‖r_y‖)/λ_min(L_II), and with the scalar sparse path likewise.
    [<Property>]
    let ``block path agrees with the scalar sparse and dense paths`` (BlockSeed seed) =
        let rng = Rng(int64 seed)
        let sheaf = Generators.randomSheaf seed (rng.NextInt(3, 61)) 4
        let mask = HarmonicGen.mask rng sheaf
        let values = Array.init mask.Length (fun i -> if mask[i] then rng.Normal() else nan)
        let tolerance = DenseFactor.DefaultRelativeTolerance
        let block = HarmonicExtension.solveSparse (sheaf, ReadOnlySpan mask, ReadOnlySpan values, tolerance)
        let scalar = HarmonicExtension.solveSparseScalar (sheaf, ReadOnlySpan mask, ReadOnlySpan values, tolerance)
        let dense = HarmonicExtension.solveDense (sheaf, ReadOnlySpan mask, ReadOnlySpan values, tolerance)
        let interior = [| for i in 0 .. mask.Length - 1 do if not mask[i] then yield i |]
        if block.Method = HarmonicExtensionMethod.DenseLdlt then
            Array.forall2 (fun (a: float) b -> a = b) block.Solution dense.Solution
        else
            let gram = Dense.gram (Coboundary.toDense sheaf)
            let lambdaMin = if interior.Length = 0 then 1.0 else (DenseFactor.symmetricEigen (Dense.select gram interior interior)).Values[0]
            let distance (a: float[]) (b: float[]) = sqrt (Array.fold2 (fun s (x: float) y -> s + (x - y) * (x - y)) 0.0 a b)
            let scale = 1.0 + Tolerance.maxAbs dense.Solution
            let scalarAgrees =
                scalar.Method = HarmonicExtensionMethod.DenseLdlt
                || distance block.Solution scalar.Solution <= (block.ResidualNorm + scalar.ResidualNorm) / lambdaMin + 1e-12 * scale
            block.Uniqueness = HarmonicExtensionUniqueness.Unique
            && block.Rank = interior.Length
            && block.InteriorCount = interior.Length
            && Array.forall (fun i -> not mask[i] || block.Solution[i] = values[i]) [| 0 .. mask.Length - 1 |]
            && lambdaMin > 0.0
            && distance block.Solution dense.Solution <= (block.ResidualNorm + dense.ResidualNorm) / lambdaMin + 1e-12 * scale
            && block.ResidualNorm <= 1e-9 * scale * (1.0 + Tolerance.maxAbs gram.Values)
            && scalarAgrees

    [<Xunit.Fact>]
    let ``an empty interior returns the boundary and a sheaf without pins falls back to the dense null space`` () =
        let sheaf = Generators.randomSheaf 17 12 3
        let n = sheaf.VertexCochainDim
        let values = Array.init n float
        let pinned = HarmonicExtension.solveSparse (sheaf, ReadOnlySpan(Array.create n true), ReadOnlySpan values, 1e-10)
        Xunit.Assert.Equal(HarmonicExtensionMethod.SparseLdlt, pinned.Method)
        Xunit.Assert.Equal<float[]>(values, pinned.Solution)
        Xunit.Assert.Equal(0, pinned.InteriorCount)
        // No pins: L_II = L, singular whenever H⁰ ≠ 0 (here the zero-stalk-free part has sections), so dense decides.
        let free = HarmonicExtension.solveSparse (sheaf, ReadOnlySpan(Array.create n false), ReadOnlySpan values, 1e-10)
        let dense = HarmonicExtension.solveDense (sheaf, ReadOnlySpan(Array.create n false), ReadOnlySpan values, 1e-10)
        if free.Method = HarmonicExtensionMethod.DenseLdlt then Xunit.Assert.Equal<float[]>(dense.Solution, free.Solution)
        else Xunit.Assert.Equal(0, dense.Nullity)
