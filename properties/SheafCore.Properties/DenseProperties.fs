module SheafCore.Properties.DenseProperties

open System
open Xunit
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance
open SheafCore.Properties.Generators

/// Largest |entry| of a matrix, at least 1 (scale for absolute checks).
let private scale (a: DenseMatrix) = max 1.0 (maxAbs a.Values)

/// A dense matrix as a linear operator (test-side, for the CG solver).
type private DenseOperator(a: DenseMatrix) =
    interface ILinearOperator with
        member _.Dimension = a.Rows

        member _.Apply(x: ReadOnlySpan<float>, destination: Span<float>) =
            for i in 0 .. a.Rows - 1 do
                let mutable acc = 0.0
                for j in 0 .. a.Cols - 1 do
                    acc <- acc + a[i, j] * x[j]
                destination[i] <- acc

[<Properties(Arbitrary = [| typeof<Arbitraries> |], MaxTest = 200)>]
module ``Dense factorisations`` =

    [<Property(MaxTest = 200)>]
    let ``Jacobi eigen-decomposition reconstructs A with orthonormal eigenvectors and ascending eigenvalues``
        (case: SymmetricCase)
        =
        let a = case.Matrix
        let eigen = DenseFactor.symmetricEigen a
        let v = eigen.Vectors
        let lambda = DenseMatrix(a.Rows, a.Rows)
        for i in 0 .. a.Rows - 1 do
            lambda[i, i] <- eigen.Values[i]
        let reconstructed = Dense.multiply (Dense.multiply v lambda) (Dense.transpose v)
        let gram = Dense.gram v
        let ascending = eigen.Values |> Array.pairwise |> Array.forall (fun (x, y) -> x <= y)
        Dense.maxAbsDifference reconstructed a <= 1e-12 * scale a * float (max 1 a.Rows)
        && Dense.maxAbsDifference gram (DenseMatrix.Identity a.Rows) <= 1e-12 * float (max 1 a.Rows)
        && ascending

    [<Property(MaxTest = 200)>]
    let ``pivoted LDLᵀ finds the true rank and nullity of a random low-rank PSD matrix`` (case: PsdCase) =
        let f = DenseFactor.pivotedLdlt (case.Matrix, DenseFactor.DefaultRelativeTolerance)
        let basis = DenseFactor.nullSpace f
        f.Rank = case.Rank && basis.Cols = case.Size - case.Rank

    [<Property(MaxTest = 200)>]
    let ``pivoted LDLᵀ null-space basis is orthonormal and satisfies A·N = 0`` (case: PsdCase) =
        let a = case.Matrix
        let basis = DenseFactor.nullSpace (DenseFactor.pivotedLdlt (a, DenseFactor.DefaultRelativeTolerance))
        let an = Dense.multiply a basis
        maxAbs an.Values <= 1e-9 * scale a
        && Dense.maxAbsDifference (Dense.gram basis) (DenseMatrix.Identity basis.Cols) <= 1e-12 * float (max 1 a.Rows)

    [<Property(MaxTest = 200)>]
    let ``pivoted LDLᵀ reproduces P·A·Pᵀ = L·D·Lᵀ`` (case: PsdCase) =
        let a = case.Matrix
        let f = DenseFactor.pivotedLdlt (a, DenseFactor.DefaultRelativeTolerance)
        let n = f.Size
        let mutable worst = 0.0
        for i in 0 .. n - 1 do
            for j in 0 .. n - 1 do
                let mutable acc = 0.0
                for k in 0 .. f.Rank - 1 do
                    acc <- acc + f.Lower[i, k] * f.Diagonal[k] * f.Lower[j, k]
                worst <- max worst (abs (acc - a[f.Permutation[i], f.Permutation[j]]))
        worst <= 1e-10 * scale a

    [<Property(MaxTest = 200)>]
    let ``symmetric solve of a consistent PSD system satisfies A·x = b and is minimum-norm`` (case: PsdCase) =
        let a = case.Matrix
        let rng = Rng(int64 case.Seed + 1L)
        let b = Dense.multiplyVector a (vector rng case.Size)
        let solution = DenseFactor.solveSymmetric (a, ReadOnlySpan b, DenseFactor.DefaultRelativeTolerance)
        let residual = Array.map2 (-) (Dense.multiplyVector a solution.Solution) b
        // Minimum norm ⇔ orthogonal to the kernel.
        let kernelComponent = Dense.multiplyVector (Dense.transpose solution.NullSpaceBasis) solution.Solution
        let xScale = max 1.0 (maxAbs solution.Solution)
        maxAbs residual <= 1e-8 * scale a * xScale
        && abs (solution.ResidualNorm - norm residual) <= 1e-8 * scale a * xScale
        && maxAbs kernelComponent <= 1e-8 * xScale
        && solution.IsUnique = (solution.Nullity = 0)
        && solution.Nullity = case.Size - case.Rank

    [<Property(MaxTest = 200)>]
    let ``Cholesky of an SPD matrix succeeds and L·Lᵀ = A`` (case: PsdCase) =
        // Make it SPD: A + I has every eigenvalue ≥ 1.
        let a = case.Matrix.Copy()
        for i in 0 .. a.Rows - 1 do
            a[i, i] <- a[i, i] + 1.0
        let result = DenseFactor.tryCholesky a
        result.Succeeded
        && Dense.maxAbsDifference (Dense.multiply result.Factor (Dense.transpose result.Factor)) a <= 1e-12 * scale a * float (max 1 a.Rows)

    [<Property(MaxTest = 200)>]
    let ``Cholesky fails on a singular PSD matrix of deficient rank`` (case: PsdCase) =
        // A zero row/column (rank < n with an exactly zero pivot) must be rejected, never factored.
        let a = case.Matrix.Copy()
        if a.Rows = 0 then true
        else
            for j in 0 .. a.Rows - 1 do
                a[0, j] <- 0.0
                a[j, 0] <- 0.0
            not (DenseFactor.tryCholesky a).Succeeded

    [<Property(MaxTest = 200)>]
    let ``LU determinant equals the product of the Jacobi eigenvalues`` (case: SymmetricCase) =
        // Keep n ≤ 10 so the product stays well scaled.
        let n = min case.Size 10
        let a = Dense.select case.Matrix (Array.init n id) (Array.init n id)
        let expected = DenseFactor.symmetricEigen a |> fun e -> Array.fold (*) 1.0 e.Values
        closeTo 1e-9 expected (DenseFactor.determinant a)

    [<Property(MaxTest = 200)>]
    let ``PD determinant from the symmetric solve equals the LU determinant`` (case: PsdCase) =
        let a = case.Matrix.Copy()
        for i in 0 .. a.Rows - 1 do
            a[i, i] <- a[i, i] + 1.0
        let solution = DenseFactor.solveSymmetric (a, ReadOnlySpan(Array.zeroCreate a.Rows), 1e-12)
        let lu = DenseFactor.determinant a
        abs (solution.Determinant - lu) <= 1e-9 * max 1.0 (abs lu)

    [<Property(MaxTest = 200)>]
    let ``CG from zero on a consistent singular PSD system converges to the minimum-norm solution`` (case: PsdCase) =
        let a = case.Matrix
        let rng = Rng(int64 case.Seed + 5L)
        let b = Dense.multiplyVector a (vector rng case.Size)
        let eigen = (DenseFactor.symmetricEigen a).Values
        let top = if eigen.Length = 0 then 0.0 else eigen[eigen.Length - 1]
        let positive = eigen |> Array.filter (fun lambda -> lambda > 1e-10 * top)
        // Compare only when the non-zero spectrum is well conditioned (CG's error ≤ κ·tolerance).
        let applicable = positive.Length > 0 && positive[0] >= 1e-6 * top
        let check () =
            let x = Array.zeroCreate case.Size
            let result =
                ConjugateGradient.solve (DenseOperator a, ReadOnlySpan b, ReadOnlySpan<float>.Empty, 1e-13, 50 * case.Size + 50, Span x)
            let minimumNorm = (DenseFactor.solveSymmetric (a, ReadOnlySpan b, DenseFactor.DefaultRelativeTolerance)).Solution
            result.Converged && maxAbsDiff minimumNorm x <= 1e-6 * max 1.0 (maxAbs minimumNorm)
        not applicable || check ()

    [<Fact>]
    let ``eigen-decomposition rejects a non-square matrix naming the parameter`` () =
        let ex = Assert.Throws<ArgumentException>(fun () -> DenseFactor.symmetricEigen (DenseMatrix(2, 3)) |> ignore)
        Assert.Equal("a", ex.ParamName)

    [<Fact>]
    let ``symmetric solve rejects a NaN right-hand side naming the parameter`` () =
        let ex =
            Assert.Throws<ArgumentException>(fun () ->
                DenseFactor.solveSymmetric (DenseMatrix.Identity 2, ReadOnlySpan [| 1.0; nan |], 1e-10) |> ignore)
        Assert.Equal("b", ex.ParamName)
