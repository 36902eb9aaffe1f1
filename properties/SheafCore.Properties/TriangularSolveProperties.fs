module SheafCore.Properties.TriangularSolveProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance

/// A random strictly lower-triangular sparse matrix (size 0–257, density from the seed) and a right-hand side.
type internal LowerCase =
    { Lower: Csr
      Rhs: float[] }

module internal LowerGen =
    let create (seed: int) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let density = rng.Uniform(0.0, 0.3)
        let dense = DenseMatrix(n, n)
        for i in 0 .. n - 1 do
            for j in 0 .. i - 1 do
                if rng.NextDouble() < density then dense[i, j] <- rng.Normal() / sqrt (float (max i 1))
        { Lower = Csr.FromDense(dense, 0.0); Rhs = Array.init n (fun _ -> rng.Normal()) }

/// Public face for xUnit (the core's types are internal); prints the size.
type LowerSeed =
    | LowerSeed of int

    override this.ToString() =
        let (LowerSeed s) = this
        let c = LowerGen.create s
        sprintf "LowerSeed %d (n = %d, nnz = %d)" s c.Lower.Rows c.Lower.NonZeros

type LowerArbitraries =
    static member LowerSeed() = ArbMap.defaults |> ArbMap.generate<int> |> Gen.map LowerSeed |> Arb.fromGen

/// Ragged lengths 0–257 with random signs, zeros and negative zeros.
type ProjectionArbitraries =
    static member Values() =
        gen {
            let! n = Gen.choose (0, 257)
            let! seed = ArbMap.defaults |> ArbMap.generate<int>
            let rng = Rng(int64 seed)
            return
                Array.init n (fun _ ->
                    match rng.NextInt(0, 6) with
                    | 0 -> 0.0
                    | 1 -> -0.0
                    | _ -> rng.Normal())
        }
        |> Arb.fromGen

[<Properties(Arbitrary = [| typeof<LowerArbitraries> |], MaxTest = 200)>]
module ``Unit lower-triangular solve`` =

    [<Property>]
    let ``sparse solve equals the dense scalar reference`` (LowerSeed seed) =
        let c = LowerGen.create seed
        let fast = Array.copy c.Rhs
        let reference = Array.copy c.Rhs
        TriangularSolve.solveUnitLowerInPlace (c.Lower, Span fast)
        TriangularSolve.solveUnitLowerReference (c.Lower.ToDense(), Span reference)
        allClose 1e-12 reference fast

    [<Property>]
    let ``solve inverts multiply: (I + L)⁻¹ (I + L) x = x`` (LowerSeed seed) =
        let c = LowerGen.create seed
        let b = Array.zeroCreate c.Rhs.Length
        TriangularSolve.multiplyUnitLower (c.Lower, ReadOnlySpan c.Rhs, Span b)
        TriangularSolve.solveUnitLowerInPlace (c.Lower, Span b)
        maxAbsDiff c.Rhs b <= 1e-9 * (1.0 + maxAbs c.Rhs)

    [<Property(Arbitrary = [| typeof<ProjectionArbitraries> |])>]
    let ``vectorised active projection equals the scalar reference bit for bit`` (values: float[]) =
        let fast = Array.create values.Length nan
        let reference = Array.create values.Length nan
        TriangularSolve.activeProjection (ReadOnlySpan values, Span fast)
        TriangularSolve.activeProjectionReference (ReadOnlySpan values, Span reference)
        Array.forall2 (fun (a: float) b -> BitConverter.DoubleToInt64Bits a = BitConverter.DoubleToInt64Bits b) reference fast

    [<Fact>]
    let ``solve rejects an entry on or above the diagonal`` () =
        let bad = Csr(2, 2, [| 0; 1; 1 |], [| 0 |], [| 3.0 |])
        let e = Assert.Throws<ArgumentException>(fun () -> TriangularSolve.solveUnitLowerInPlace (bad, Span(Array.zeroCreate 2)))
        Assert.Equal("lower", e.ParamName)

    [<Fact>]
    let ``solve rejects a right-hand side of the wrong length`` () =
        let l = Csr(2, 2, [| 0; 0; 1 |], [| 0 |], [| 3.0 |])
        let e = Assert.Throws<ArgumentException>(fun () -> TriangularSolve.solveUnitLowerInPlace (l, Span(Array.zeroCreate 3)))
        Assert.Equal("rhs", e.ParamName)
