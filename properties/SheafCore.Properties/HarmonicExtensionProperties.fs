module SheafCore.Properties.HarmonicExtensionProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance
open SheafCore.Properties.Generators

/// A small random sheaf with a random boundary: whole vertices (most cases) or single coordinates,
/// Gaussian boundary values and NaN in every interior entry (which the solvers must ignore).
[<Sealed>]
type HarmonicCase(seed: int, vertices: int, byCoordinate: bool) =
    let data =
        lazy
            (let sheaf = randomSheaf seed vertices MaxStalk
             let rng = Rng(int64 seed + 101L)
             let n = sheaf.VertexCochainDim
             let mask =
                 if byCoordinate then
                     Array.init n (fun _ -> rng.NextDouble() < 0.3)
                 else
                     let pinned = [| for v in 0 .. vertices - 1 do if rng.NextDouble() < 0.35 then yield v |]
                     HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan(HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan pinned)))
             let values = Array.init n (fun i -> if mask[i] then rng.Normal() else nan)
             sheaf, mask, values)
    member _.Seed = seed
    member internal _.Sheaf = let s, _, _ = data.Value in s
    member _.Mask = let _, m, _ = data.Value in m
    member _.Values = let _, _, v = data.Value in v
    override _.ToString() = sprintf "HarmonicCase(seed = %d, vertices = %d, byCoordinate = %b)" seed vertices byCoordinate

type HarmonicArbitraries =
    static member HarmonicCase() : Arbitrary<HarmonicCase> =
        Gen.map3
            (fun s v c -> HarmonicCase(s, v, c))
            (Gen.choose (0, Int32.MaxValue))
            (Gen.choose (0, 10))
            (Gen.frequency [ 3, Gen.constant false; 1, Gen.constant true ])
        |> Arb.fromGen

let private interiorOf (mask: bool[]) = [| for i in 0 .. mask.Length - 1 do if not mask[i] then yield i |]

/// The dense Laplacian built independently of the sparse assembly, as δᵀδ.
let private denseLaplacian (sheaf: CellularSheaf) = Dense.gram (Coboundary.toDense sheaf)

/// ‖(L·x)_I‖∞: the violation of L_II x_I + L_IB x_B = 0.
let private interiorResidual (l: DenseMatrix) (interior: int[]) (x: float[]) =
    let lx = Dense.multiplyVector l x
    interior |> Array.fold (fun m i -> max m (abs lx[i])) 0.0

/// Scale for residual checks: ‖L‖_max · max(1, ‖x‖∞) · n.
let private residualScale (l: DenseMatrix) (x: float[]) =
    max 1.0 (maxAbs l.Values) * max 1.0 (maxAbs x) * float (max 1 x.Length)

let private solveDense (case: HarmonicCase) =
    HarmonicExtension.solveDense (case.Sheaf, ReadOnlySpan case.Mask, ReadOnlySpan case.Values, DenseFactor.DefaultRelativeTolerance)

let private solveCg (case: HarmonicCase) =
    let interior = (interiorOf case.Mask).Length
    HarmonicExtension.solveConjugateGradient (case.Sheaf, ReadOnlySpan case.Mask, ReadOnlySpan case.Values, 1e-11, 1000 + 20 * interior)

/// Eigenvalues of L_II (ascending) from the independent dense Laplacian.
let private interiorEigenvalues (case: HarmonicCase) =
    let interior = interiorOf case.Mask
    let lii = Dense.select (denseLaplacian case.Sheaf) interior interior
    (DenseFactor.symmetricEigen lii).Values

[<Properties(Arbitrary = [| typeof<HarmonicArbitraries> |], MaxTest = 200)>]
module ``Harmonic extension`` =

    [<Property(MaxTest = 200)>]
    let ``pinned dense solve satisfies L_II x_I + L_IB x_B = 0 and keeps the boundary values`` (case: HarmonicCase) =
        let result = solveDense case
        let l = denseLaplacian case.Sheaf
        let boundaryKept =
            Array.forall2 (fun pinned (given, actual) -> not pinned || closeTo 1e-15 given actual) case.Mask (Array.zip case.Values result.Solution)
        result.Method = HarmonicExtensionMethod.DenseLdlt
        && boundaryKept
        && result.Solution |> Array.forall Double.IsFinite
        && interiorResidual l (interiorOf case.Mask) result.Solution <= 1e-9 * residualScale l result.Solution

    [<Property(MaxTest = 200)>]
    let ``dense solve is unique exactly when its nullity is zero, matching an independent Jacobi rank`` (case: HarmonicCase) =
        let result = solveDense case
        let eigen = interiorEigenvalues case
        let top = if eigen.Length = 0 then 0.0 else max eigen[eigen.Length - 1] 0.0
        let jacobiNullity = eigen |> Array.filter (fun lambda -> lambda <= 1e-10 * top) |> Array.length
        // Skip (vacuously true) only when an eigenvalue sits in the gap where either rank is defensible.
        let ambiguous = eigen |> Array.exists (fun lambda -> lambda > 1e-13 * top && lambda < 1e-7 * top)
        ((result.Uniqueness = HarmonicExtensionUniqueness.Unique) = (result.Nullity = 0)
         && result.Rank + result.Nullity = result.InteriorCount
         && result.NullSpaceBasis.Cols = result.Nullity
         && (ambiguous || result.Nullity = jacobiNullity))
        |> Prop.classify (result.Nullity > 0) "not unique"
        |> Prop.classify ambiguous "ambiguous rank (skipped)"

    [<Property(MaxTest = 200)>]
    let ``adding any null-space combination to a non-unique solution still solves the pinned problem`` (case: HarmonicCase) =
        let result = solveDense case
        let l = denseLaplacian case.Sheaf
        let rng = Rng(int64 case.Seed + 3L)
        let c = vector rng result.Nullity
        let shifted = Array.copy result.Solution
        for j in 0 .. result.Nullity - 1 do
            for i in 0 .. shifted.Length - 1 do
                shifted[i] <- shifted[i] + 10.0 * c[j] * result.NullSpaceBasis[i, j]
        let boundaryKept = Array.forall2 (fun pinned (a, b) -> not pinned || closeTo 1e-15 a b) case.Mask (Array.zip result.Solution shifted)
        (boundaryKept && interiorResidual l (interiorOf case.Mask) shifted <= 1e-9 * residualScale l shifted)
        |> Prop.classify (result.Nullity > 0) "not unique"

    [<Property(MaxTest = 200)>]
    let ``CG agrees with the dense solve when the extension is unique and well conditioned`` (case: HarmonicCase) =
        let dense = solveDense case
        let eigen = interiorEigenvalues case
        let wellConditioned =
            eigen.Length > 0 && eigen[0] >= 1e-4 * eigen[eigen.Length - 1]
        let applicable = dense.Uniqueness = HarmonicExtensionUniqueness.Unique && wellConditioned
        let check () =
            let cg = solveCg case
            cg.Converged
            && cg.Uniqueness <> HarmonicExtensionUniqueness.NotUnique
            && maxAbsDiff dense.Solution cg.Solution <= 1e-6 * max 1.0 (maxAbs dense.Solution)
        (not applicable || check ()) |> Prop.classify applicable "compared"

    [<Property(MaxTest = 200)>]
    let ``CG reports non-uniqueness only when the dense solve confirms it, and converged CG solves the problem``
        (case: HarmonicCase)
        =
        let dense = solveDense case
        let cg = solveCg case
        let l = denseLaplacian case.Sheaf
        let soundFlag =
            cg.Uniqueness <> HarmonicExtensionUniqueness.NotUnique || dense.Uniqueness = HarmonicExtensionUniqueness.NotUnique
        let detectedAreKernel =
            Array.init cg.NullSpaceBasis.Cols (fun j -> Array.init cg.NullSpaceBasis.Rows (fun i -> cg.NullSpaceBasis[i, j]))
            |> Array.forall (fun v -> interiorResidual l (interiorOf case.Mask) v <= 1e-12 * max 1.0 (maxAbs l.Values))
        let solves =
            not cg.Converged || interiorResidual l (interiorOf case.Mask) cg.Solution <= 1e-8 * residualScale l cg.Solution
        (cg.Method = HarmonicExtensionMethod.ConjugateGradient && soundFlag && detectedAreKernel && solves)
        |> Prop.classify cg.Converged "CG converged"
        |> Prop.classify (cg.Uniqueness = HarmonicExtensionUniqueness.NotUnique) "structurally not unique"

    [<Fact>]
    let ``solveDense rejects a wrong-length mask naming boundaryMask`` () =
        let sheaf = constantSheafOnConnectedGraph 2 4 2
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                HarmonicExtension.solveDense (sheaf, ReadOnlySpan(Array.zeroCreate 7), ReadOnlySpan(Array.zeroCreate 8), 1e-10) |> ignore)
        Assert.Equal("boundaryMask", ex.ParamName)

    [<Fact>]
    let ``solveConjugateGradient rejects wrong-length values naming boundaryValues`` () =
        let sheaf = constantSheafOnConnectedGraph 2 4 2
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                HarmonicExtension.solveConjugateGradient (sheaf, ReadOnlySpan(Array.zeroCreate 8), ReadOnlySpan(Array.zeroCreate 9), 1e-10, 100)
                |> ignore)
        Assert.Equal("boundaryValues", ex.ParamName)

    [<Fact>]
    let ``a NaN boundary value is rejected naming boundaryValues`` () =
        let sheaf = constantSheafOnConnectedGraph 2 4 2
        let mask = Array.init 8 (fun i -> i < 2)
        let values = Array.init 8 (fun i -> if i = 1 then nan else 0.0)
        let ex =
            Assert.Throws<ArgumentException>(fun () -> HarmonicExtension.solveDense (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-10) |> ignore)
        Assert.Equal("boundaryValues", ex.ParamName)
        let exCg =
            Assert.Throws<ArgumentException>(fun () ->
                HarmonicExtension.solveConjugateGradient (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-10, 100) |> ignore)
        Assert.Equal("boundaryValues", exCg.ParamName)

    [<Fact>]
    let ``NaN in interior entries is ignored and the constant sheaf extends a constant boundary to a constant`` () =
        // Constant sheaf R² on a connected graph, one vertex pinned to (1, −2): the unique extension is constant.
        let sheaf = constantSheafOnConnectedGraph 9 6 2
        let mask = HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan(HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan [| 3 |])))
        let values = Array.init 12 (fun i -> if mask[i] then (if i % 2 = 0 then 1.0 else -2.0) else nan)
        let dense = HarmonicExtension.solveDense (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-10)
        let cg = HarmonicExtension.solveConjugateGradient (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-12, 500)
        let expected = Array.init 12 (fun i -> if i % 2 = 0 then 1.0 else -2.0)
        Assert.Equal(HarmonicExtensionUniqueness.Unique, dense.Uniqueness)
        Assert.True(cg.Converged)
        Assert.True(allClose 1e-9 expected dense.Solution)
        Assert.True(allClose 1e-8 expected cg.Solution)

    [<Fact>]
    let ``coordinatesOfVertices rejects an out-of-range vertex naming vertices`` () =
        let sheaf = constantSheafOnConnectedGraph 2 4 2
        let ex = Assert.ThrowsAny<ArgumentException>(fun () -> HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan [| 4 |]) |> ignore)
        Assert.Equal("vertices", ex.ParamName)
