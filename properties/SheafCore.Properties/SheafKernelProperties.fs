module SheafCore.Properties.SheafKernelProperties

open System
open Xunit
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance
open SheafCore.Properties.Generators

/// Kernel-vs-reference tolerance: both sum the same products in slightly different orders.
[<Literal>]
let private Tight = 1e-12

/// A tolerance for sums of n products of O(1) values, relative to the largest magnitude involved.
let private sumTolerance (values: float[]) = 1e-12 * max 1.0 (maxAbs values) * float (max 1 values.Length)

let private inputs (sheaf: CellularSheaf) (seed: int) =
    let rng = Rng(int64 seed + 7919L)
    vector rng sheaf.VertexCochainDim, vector rng sheaf.EdgeCochainDim

let private delta (sheaf: CellularSheaf) (x: float[]) =
    let y = Array.zeroCreate sheaf.EdgeCochainDim
    Coboundary.apply (sheaf, ReadOnlySpan x, Span y)
    y

let private laplacianTimes (l: SheafLaplacianMatrix) (x: float[]) =
    let y = Array.zeroCreate x.Length
    SheafLaplacian.apply (l, ReadOnlySpan x, Span y)
    y

[<Properties(Arbitrary = [| typeof<Arbitraries> |], MaxTest = 200)>]
module ``Coboundary and Laplacian kernels`` =

    [<Property(MaxTest = 200)>]
    let ``vectorised coboundary equals its scalar reference`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let x, _ = inputs sheaf case.Seed
        let expected = Array.zeroCreate sheaf.EdgeCochainDim
        Coboundary.applyReference (sheaf, ReadOnlySpan x, Span expected)
        allClose Tight expected (delta sheaf x)

    [<Property(MaxTest = 200)>]
    let ``vectorised coboundary transpose equals its scalar reference`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let _, y = inputs sheaf case.Seed
        let expected = Array.zeroCreate sheaf.VertexCochainDim
        let actual = Array.zeroCreate sheaf.VertexCochainDim
        Coboundary.applyTransposeReference (sheaf, ReadOnlySpan y, Span expected)
        Coboundary.applyTranspose (sheaf, ReadOnlySpan y, Span actual)
        allClose Tight expected actual

    [<Property(MaxTest = 200)>]
    let ``coboundary and its transpose are adjoint: ⟨δx, y⟩ = ⟨x, δᵀy⟩`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let x, y = inputs sheaf case.Seed
        let dty = Array.zeroCreate sheaf.VertexCochainDim
        Coboundary.applyTranspose (sheaf, ReadOnlySpan y, Span dty)
        let left = dot (delta sheaf x) y
        let right = dot x dty
        abs (left - right) <= 1e-11 * max 1.0 (norm (delta sheaf x) * norm y + norm x * norm dty)

    [<Property(MaxTest = 200)>]
    let ``dense coboundary matrix times x equals the coboundary kernel`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let x, _ = inputs sheaf case.Seed
        allClose Tight (Dense.multiplyVector (Coboundary.toDense sheaf) x) (delta sheaf x)

    [<Property(MaxTest = 200)>]
    let ``vectorised block-CSR Laplacian product equals its scalar reference`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let x, _ = inputs sheaf case.Seed
        let expected = Array.zeroCreate x.Length
        SheafLaplacian.applyReference (l, ReadOnlySpan x, Span expected)
        allClose Tight expected (laplacianTimes l x)

    /// Uniform stalk dimensions take the specialised kernels (d = 1, 2 and multiples of 8); other d the general one.
    /// Ragged vertex counts (1–40) and d ∈ {1, 2, 3, 8, 16, 24} plus random d in 1–17, random graphs with multi-edges.
    [<Property(MaxTest = 120)>]
    let ``uniform-dimension Laplacian kernels equal the scalar reference`` (seed: int) (size: FsCheck.PositiveInt) (pick: FsCheck.NonNegativeInt) =
        let rng = Rng(int64 seed)
        let vertices = 1 + size.Get % 40
        let d = match pick.Get % 7 with
                | 0 -> 1
                | 1 -> 2
                | 2 -> 3
                | 3 -> 8
                | 4 -> 16
                | 5 -> 24
                | _ -> rng.NextInt(1, 18)
        let sheaf = randomDenseSheaf rng vertices (rng.NextInt(0, 2 * vertices + 1)) (fun _ -> d) (fun () -> d)
        let l = SheafLaplacian.assemble sheaf
        let x = vector rng sheaf.VertexCochainDim
        let expected = Array.zeroCreate x.Length
        SheafLaplacian.applyReference (l, ReadOnlySpan x, Span expected)
        l.UniformDimension = d && allClose Tight expected (laplacianTimes l x)

    [<Property(MaxTest = 200)>]
    let ``matrix-free Laplacian equals its scalar reference and the assembled Laplacian`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let x, _ = inputs sheaf case.Seed
        let workspace = Array.zeroCreate sheaf.EdgeCochainDim
        let fast = Array.zeroCreate x.Length
        let reference = Array.zeroCreate x.Length
        SheafLaplacian.applyMatrixFree (sheaf, ReadOnlySpan x, Span fast, Span workspace)
        SheafLaplacian.applyMatrixFreeReference (sheaf, ReadOnlySpan x, Span reference, Span workspace)
        let assembled = laplacianTimes l x
        allClose Tight reference fast && maxAbsDiff assembled fast <= sumTolerance assembled

    [<Property(MaxTest = 200)>]
    let ``sparse Laplacian equals the dense δᵀδ`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let sparse = SheafLaplacian.toDense (SheafLaplacian.assemble sheaf)
        let dense = Dense.gram (Coboundary.toDense sheaf)
        Dense.maxAbsDifference dense sparse <= 1e-11 * max 1.0 (maxAbs dense.Values)

    [<Property(MaxTest = 200)>]
    let ``sheaf Laplacian is symmetric and xᵀLx = Σ‖(δx)_e‖² = 2·energy ≥ 0`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let x, _ = inputs sheaf case.Seed
        let dense = SheafLaplacian.toDense l
        let symmetric = Dense.maxAbsDifference dense (Dense.transpose dense) <= 1e-12 * max 1.0 (maxAbs dense.Values)
        let quadratic = dot x (laplacianTimes l x)
        let perEdge = Array.zeroCreate sheaf.EdgeCount
        SheafEnergy.edgeDiscrepancies (sheaf, ReadOnlySpan x, Span perEdge)
        let energy = SheafEnergy.dirichletEnergy (sheaf, ReadOnlySpan x, Span(Array.zeroCreate sheaf.EdgeCochainDim))
        let d = delta sheaf x
        let perEdgeMatches =
            Array.init sheaf.EdgeCount (fun e ->
                let o = sheaf.EdgeOffsets[e]
                let slice = d[o .. o + sheaf.EdgeDims[e] - 1]
                closeTo 1e-10 (dot slice slice) perEdge[e])
            |> Array.forall id
        let total = Array.sum perEdge
        symmetric
        && perEdgeMatches
        && energy >= 0.0
        && closeTo 1e-10 total (2.0 * energy)
        && closeTo 1e-10 quadratic total

    [<Property(MaxTest = 200)>]
    let ``refill after SetMap equals a fresh assembly, without allocating`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let normalised = SheafLaplacian.assembleNormalised l
        let rng = Rng(int64 case.Seed + 31L)
        // Rewrite about half of the maps with new random maps of the same family and shape.
        for i in 0 .. 2 * sheaf.EdgeCount - 1 do
            if rng.NextInt(0, 2) = 0 then
                let e = i / 2
                let values = mapValues rng sheaf.Families[i] sheaf.EdgeDims[e] sheaf.VertexDims[sheaf.IncidenceVertex i]
                sheaf.SetMap(i, ReadOnlySpan values)
        // Warm up (JIT) before measuring the allocation of the second refill.
        SheafLaplacian.refill (sheaf, l)
        SheafLaplacian.refillNormalised (l, normalised)
        // Tiered JIT can allocate while it swaps in optimised code mid-run, so take the least of three measurements:
        // steady-state allocation shows up in every one of them.
        let allocated =
            Seq.init 3 (fun _ ->
                let before = GC.GetAllocatedBytesForCurrentThread()
                SheafLaplacian.refill (sheaf, l)
                SheafLaplacian.refillNormalised (l, normalised)
                GC.GetAllocatedBytesForCurrentThread() - before)
            |> Seq.min
        let fresh = SheafLaplacian.assemble sheaf
        let freshNormalised = SheafLaplacian.assembleNormalised fresh
        allocated = 0L
        && allClose Tight fresh.Values l.Values
        && allClose Tight freshNormalised.Matrix.Values normalised.Matrix.Values

    [<Property(MaxTest = 200)>]
    let ``Laplacian products do not allocate`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let normalised = SheafLaplacian.assembleNormalised l
        let x, _ = inputs sheaf case.Seed
        let y = Array.zeroCreate x.Length
        let workspace = Array.zeroCreate sheaf.EdgeCochainDim
        let run () =
            SheafLaplacian.apply (l, ReadOnlySpan x, Span y)
            SheafLaplacian.applyNormalised (normalised, ReadOnlySpan x, Span y)
            SheafLaplacian.applyMatrixFree (sheaf, ReadOnlySpan x, Span y, Span workspace)
            Coboundary.apply (sheaf, ReadOnlySpan x, Span workspace)
            Coboundary.applyTranspose (sheaf, ReadOnlySpan workspace, Span y)
        run ()
        // Least of three measurements, for the same tiered-JIT reason as above.
        Seq.init 3 (fun _ ->
            let before = GC.GetAllocatedBytesForCurrentThread()
            run ()
            GC.GetAllocatedBytesForCurrentThread() - before)
        |> Seq.min = 0L

    [<Property(MaxTest = 200)>]
    let ``vectorised normalised Laplacian equals the unfused scalar reference M·L·M`` (case: SheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let normalised = SheafLaplacian.assembleNormalised l
        let x, _ = inputs sheaf case.Seed
        let expected = Array.zeroCreate x.Length
        let actual = Array.zeroCreate x.Length
        SheafLaplacian.applyNormalisedReference (l, normalised, ReadOnlySpan x, Span expected)
        SheafLaplacian.applyNormalised (normalised, ReadOnlySpan x, Span actual)
        maxAbsDiff expected actual <= sumTolerance expected

    [<Property(MaxTest = 200)>]
    let ``scaling blocks are (L_vv + I)^(-1/2)`` (case: SmallSheafCase) =
        let sheaf = case.Sheaf
        let l = SheafLaplacian.assemble sheaf
        let normalised = SheafLaplacian.assembleNormalised l
        let dense = SheafLaplacian.toDense l
        // M·(L_vv + I)·M = I for every vertex.
        Array.init sheaf.VertexCount (fun v ->
            let d = sheaf.VertexDims[v]
            let o = sheaf.VertexOffsets[v]
            let block = Dense.select dense (Array.init d ((+) o)) (Array.init d ((+) o))
            for i in 0 .. d - 1 do
                block[i, i] <- block[i, i] + 1.0
            let m = DenseMatrix(d, d, normalised.ScalingValues[normalised.ScalingOffsets[v] .. normalised.ScalingOffsets[v] + d * d - 1])
            let product = Dense.multiply (Dense.multiply m block) m
            Dense.maxAbsDifference product (DenseMatrix.Identity d) <= 1e-10 * max 1.0 (maxAbs block.Values))
        |> Array.forall id

    [<Property(MaxTest = 200)>]
    let ``normalised Laplacian is symmetric with spectrum in [0, 2]`` (case: SmallSheafCase) =
        let delta = SheafLaplacian.normalisedToDense (SheafLaplacian.assembleNormalised (SheafLaplacian.assemble case.Sheaf))
        let eigen = DenseFactor.symmetricEigen delta
        Dense.maxAbsDifference delta (Dense.transpose delta) <= 1e-12
        && eigen.Values |> Array.forall (fun lambda -> lambda >= -1e-10 && lambda <= 2.0 + 1e-10)

    [<Property(MaxTest = 200)>]
    let ``global sections are orthonormal and lie in ker δ and ker L`` (case: SmallSheafCase) =
        let sheaf = case.Sheaf
        let sections = HarmonicExtension.globalSections sheaf
        let l = SheafLaplacian.assemble sheaf
        let lScale = max 1.0 (maxAbs l.Values)
        let basis = sections.Basis
        let columns = Array.init basis.Cols (fun j -> Array.init basis.Rows (fun i -> basis[i, j]))
        Dense.maxAbsDifference (Dense.gram basis) (DenseMatrix.Identity basis.Cols) <= 1e-10
        // For a unit eigenvector b with eigenvalue λ ≤ Tolerance: ‖δb‖² = bᵀLb = λ and ‖Lb‖ = λ.
        && columns
           |> Array.forall (fun b ->
               let db = delta sheaf b
               dot db db <= sections.Tolerance + 1e-12 * lScale
               && norm (laplacianTimes l b) <= sections.Tolerance + 1e-10 * lScale)
        && sections.Dimension = basis.Cols

    [<Property(MaxTest = 200)>]
    let ``global sections dimension equals the kernel dimension of the dense δ found by pivoted LDLᵀ`` (case: SmallSheafCase) =
        let sheaf = case.Sheaf
        let sections = HarmonicExtension.globalSections sheaf
        let gram = Dense.gram (Coboundary.toDense sheaf)
        let eigen = sections.Eigenvalues
        let top = if eigen.Length = 0 then 0.0 else eigen[eigen.Length - 1]
        // Only compare when the spectrum has a clear gap around the threshold (else both answers are defensible).
        let ambiguous = eigen |> Array.exists (fun lambda -> lambda > 1e-13 * top && lambda < 1e-7 * top)
        ambiguous
        || (DenseFactor.pivotedLdlt (gram, DenseFactor.DefaultRelativeTolerance)).Rank = sheaf.VertexCochainDim - sections.Dimension

    [<Property(MaxTest = 200)>]
    let ``constant sheaf on a connected graph has H⁰ of dimension equal to the stalk dimension`` (case: ConstantSheafCase) =
        (HarmonicExtension.globalSections case.Sheaf).Dimension = case.StalkDim

    [<Fact>]
    let ``coboundary rejects a wrong-length input naming x`` () =
        let sheaf = constantSheafOnConnectedGraph 1 5 3
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                Coboundary.apply (sheaf, ReadOnlySpan(Array.zeroCreate (sheaf.VertexCochainDim + 1)), Span(Array.zeroCreate sheaf.EdgeCochainDim)))
        Assert.Equal("x", ex.ParamName)

    [<Fact>]
    let ``Laplacian apply rejects a too-short destination naming it`` () =
        let l = SheafLaplacian.assemble (constantSheafOnConnectedGraph 3 6 2)
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                SheafLaplacian.apply (l, ReadOnlySpan(Array.zeroCreate l.Dimension), Span(Array.zeroCreate (l.Dimension - 1))))
        Assert.Equal("destination", ex.ParamName)

    [<Fact>]
    let ``refill rejects a sheaf with a different graph naming the laplacian`` () =
        let l = SheafLaplacian.assemble (randomSheaf 5 6 4)
        let ex = Assert.Throws<ArgumentException>(fun () -> SheafLaplacian.refill (randomSheaf 6 7 4, l))
        Assert.Equal("laplacian", ex.ParamName)


/// Same bits: `=` on floats would call −0.0 and 0.0 equal, so compare the representations.
let private bitIdentical (a: float[]) (b: float[]) =
    a.Length = b.Length && Array.forall2 (fun (p: float) (q: float) -> BitConverter.DoubleToInt64Bits p = BitConverter.DoubleToInt64Bits q) a b

/// y = L·x on one thread, on two threads with the given split threshold, and by the scalar twin.
let private threeProducts (l: SheafLaplacianMatrix) (x: float[]) (threshold: int) =
    let one = Array.zeroCreate x.Length
    let two = Array.create x.Length nan
    let reference = Array.zeroCreate x.Length
    SheafLaplacian.apply (l, ReadOnlySpan x, Span one)
    SheafLaplacian.applyTwoThreadsWith (l, ReadOnlySpan x, Span two, threshold)
    SheafLaplacian.applyReference (l, ReadOnlySpan x, Span reference)
    one, two, reference

module ``Two-thread Laplacian apply`` =

    /// Threshold 0 splits every case with ≥ 2 vertices. Ragged vertex counts 1–60; stalk dims uniform (1, 2, 8, 16 or
    /// random 1–16, to reach every specialised kernel) or mixed 1–16 (the general kernel).
    [<Property(MaxTest = 150)>]
    let ``forced split is bit-identical to one thread on ragged sizes, stalk dims 1–16`` (seed: int) (size: FsCheck.PositiveInt) (pick: FsCheck.NonNegativeInt) =
        let rng = Rng(int64 seed)
        let vertices = 1 + size.Get % 60
        let uniform = match pick.Get % 6 with
                      | 0 -> 1
                      | 1 -> 2
                      | 2 -> 8
                      | 3 -> 16
                      | 4 -> rng.NextInt(1, 17)
                      | _ -> 0
        let dimOf = if uniform > 0 then (fun _ -> uniform) else (fun _ -> rng.NextInt(1, 17))
        let sheaf = randomDenseSheaf rng vertices (rng.NextInt(0, 2 * vertices + 1)) dimOf (fun () -> rng.NextInt(1, 17))
        let l = SheafLaplacian.assemble sheaf
        let x = vector rng sheaf.VertexCochainDim
        let one, two, reference = threeProducts l x 0
        bitIdentical one two && allClose Tight reference two

    /// The default threshold, with sizes picked at half and at twice it (about 5·V·d² stored values for V vertices
    /// and 2V edges), so that cases below it run on one thread and cases above it split.
    [<Property(MaxTest = 12)>]
    let ``default threshold: bit-identical to one thread above and below the split size`` (seed: int) (pick: FsCheck.NonNegativeInt) =
        let rng = Rng(int64 seed)
        let d = [| 1; 2; 3; 8; 16 |][pick.Get % 5]
        let above = (pick.Get / 5) % 2 = 1
        let target = (if above then 2.0 else 0.5) * float SheafLaplacian.TwoThreadValueThreshold
        let vertices = max 2 (int (target / (5.0 * float (d * d))))
        let sheaf = randomDenseSheaf rng vertices (2 * vertices) (fun _ -> d) (fun () -> rng.NextInt(1, 17))
        let l = SheafLaplacian.assemble sheaf
        let x = vector rng sheaf.VertexCochainDim
        let one, two, reference = threeProducts l x SheafLaplacian.TwoThreadValueThreshold
        (l.Values.Length >= SheafLaplacian.TwoThreadValueThreshold) = above
        && bitIdentical one two
        && allClose Tight reference two

    [<Fact>]
    let ``two-thread apply rejects a too-short destination naming it`` () =
        let l = SheafLaplacian.assemble (constantSheafOnConnectedGraph 3 6 2)
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                SheafLaplacian.applyTwoThreads (l, ReadOnlySpan(Array.zeroCreate l.Dimension), Span(Array.zeroCreate (l.Dimension - 1))))
        Assert.Equal("destination", ex.ParamName)

    /// The helper thread runs the same row kernels as `apply` (no allocation); this checks the caller's side of the
    /// hand-off. The first call starts the helper thread, so it is a warm-up.
    [<Property(MaxTest = 50)>]
    let ``forced-split apply does not allocate on the calling thread`` (seed: int) (size: FsCheck.PositiveInt) =
        let rng = Rng(int64 seed)
        let vertices = 2 + size.Get % 60
        let sheaf = randomDenseSheaf rng vertices (2 * vertices) (fun _ -> rng.NextInt(1, 17)) (fun () -> rng.NextInt(1, 17))
        let l = SheafLaplacian.assemble sheaf
        let x = vector rng sheaf.VertexCochainDim
        let y = Array.zeroCreate x.Length
        SheafLaplacian.applyTwoThreadsWith (l, ReadOnlySpan x, Span y, 0)
        // Least of three measurements, for the tiered-JIT reason given for `Laplacian products do not allocate`.
        Seq.init 3 (fun _ ->
            let before = GC.GetAllocatedBytesForCurrentThread()
            SheafLaplacian.applyTwoThreadsWith (l, ReadOnlySpan x, Span y, 0)
            GC.GetAllocatedBytesForCurrentThread() - before)
        |> Seq.min = 0L
