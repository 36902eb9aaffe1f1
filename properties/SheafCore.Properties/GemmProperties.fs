module SheafCore.Properties.GemmProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance

/// One GEMM problem: logical sizes, extra leading-dimension padding per operand, the accumulate flag
/// and the seed of the data (taken from FsCheck so a failing case replays).
type GemmCase =
    { M: int
      N: int
      K: int
      PadA: int
      PadB: int
      PadC: int
      Accumulate: bool
      Seed: int }

/// Mostly small sizes (every SIMD and microkernel tail: 0, 1, mr ± 1, nr ± 1) with a share of sizes up
/// to 150, which crosses the 128-row A block and several 24-column B panels.
let private size = Gen.frequency [ 3, Gen.choose (0, 26); 2, Gen.choose (0, 150) ]

type GemmArbitraries =
    static member GemmCase() : Arbitrary<GemmCase> =
        gen {
            let! m = size
            let! n = size
            let! k = size
            let! padA = Gen.frequency [ 2, Gen.constant 0; 1, Gen.choose (1, 9) ]
            let! padB = Gen.frequency [ 2, Gen.constant 0; 1, Gen.choose (1, 9) ]
            let! padC = Gen.frequency [ 2, Gen.constant 0; 1, Gen.choose (1, 9) ]
            let! accumulate = ArbMap.defaults |> ArbMap.generate<bool>
            let! seed = ArbMap.defaults |> ArbMap.generate<int>
            return
                { M = m
                  N = n
                  K = k
                  PadA = padA
                  PadB = padB
                  PadC = padC
                  Accumulate = accumulate
                  Seed = seed }
        }
        |> Arb.fromGen

/// A rows×cols row-major matrix with leading dimension ld, stored tightly ((rows − 1)·ld + cols values).
/// Valid entries are N(0, 1); the padding between cols and ld is `padding` (NaN for inputs, so a kernel
/// that reads padding poisons its result).
let private matrix (rng: Rng) (rows: int) (cols: int) (ld: int) (padding: float) =
    let length = if rows = 0 || cols = 0 then 0 else (rows - 1) * ld + cols
    let values = Array.create length padding
    for i in 0 .. rows - 1 do
        for j in 0 .. cols - 1 do
            values[i * ld + j] <- rng.Normal()
    values

/// Largest |x| over the valid (non-padding) entries.
let private maxValid (values: float[]) =
    let mutable m = 0.0
    for x in values do
        if not (Double.IsNaN x) then m <- max m (abs x)
    m

/// Relative tolerance 1e-12 scaled by the size of the sum: k·max|a|·max|b| (plus |C₀| when accumulating).
let private gemmTolerance (k: int) (a: float[]) (b: float[]) (c0: float[]) =
    1e-12 * max 1.0 (float k * maxValid a * maxValid b + maxValid c0)

type private Variant =
    | Plain
    | TransposeA
    | TransposeB

/// Runs the fast kernel and its reference on the same data; true when they agree everywhere in the
/// tight C storage, which includes C's padding (both must leave it untouched).
let private agrees (variant: Variant) (g: GemmCase) =
    let rng = Rng(int64 g.Seed)
    let aRows, aCols = if variant = TransposeA then g.K, g.M else g.M, g.K
    let bRows, bCols = if variant = TransposeB then g.N, g.K else g.K, g.N
    let lda = aCols + g.PadA
    let ldb = bCols + g.PadB
    let ldc = g.N + g.PadC
    let a = matrix rng aRows aCols lda nan
    let b = matrix rng bRows bCols ldb nan
    let c0 = matrix rng g.M g.N ldc 42.0
    let expected = Array.copy c0
    let actual = Array.copy c0
    let av = ReadOnlySpan a
    let bv = ReadOnlySpan b
    match variant with
    | Plain ->
        Gemm.multiplyReference (g.M, g.N, g.K, av, lda, bv, ldb, Span expected, ldc, g.Accumulate)
        Gemm.multiply (g.M, g.N, g.K, av, lda, bv, ldb, Span actual, ldc, g.Accumulate)
    | TransposeA ->
        Gemm.multiplyTransposeAReference (g.M, g.N, g.K, av, lda, bv, ldb, Span expected, ldc, g.Accumulate)
        Gemm.multiplyTransposeA (g.M, g.N, g.K, av, lda, bv, ldb, Span actual, ldc, g.Accumulate)
    | TransposeB ->
        Gemm.multiplyTransposeBReference (g.M, g.N, g.K, av, lda, bv, ldb, Span expected, ldc, g.Accumulate)
        Gemm.multiplyTransposeB (g.M, g.N, g.K, av, lda, bv, ldb, Span actual, ldc, g.Accumulate)
    let tol = gemmTolerance g.K a b (if g.Accumulate then c0 else [||])
    allClose tol expected actual
    |> Prop.label (sprintf "max |Δ| = %g, tolerance %g" (maxAbsDiff expected actual) tol)

[<Properties(Arbitrary = [| typeof<GemmArbitraries> |], MaxTest = 200)>]
module ``Gemm kernels`` =

    [<Property>]
    let ``blocked multiply equals the scalar reference`` (g: GemmCase) = agrees Plain g

    [<Property>]
    let ``blocked multiplyTransposeA equals the scalar reference`` (g: GemmCase) = agrees TransposeA g

    [<Property>]
    let ``blocked multiplyTransposeB equals the scalar reference`` (g: GemmCase) = agrees TransposeB g

    [<Property>]
    let ``multiplyAddBias equals multiply then addRowBias references`` (g: GemmCase) =
        let rng = Rng(int64 g.Seed)
        let lda, ldb, ldc = g.K + g.PadA, g.N + g.PadB, g.N + g.PadC
        let a = matrix rng g.M g.K lda nan
        let b = matrix rng g.K g.N ldb nan
        let bias = Array.init g.M (fun _ -> rng.Normal())
        let c0 = matrix rng g.M g.N ldc 42.0
        let expected = Array.copy c0
        let actual = Array.copy c0
        Gemm.multiplyReference (g.M, g.N, g.K, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span expected, ldc, false)
        Gemm.addRowBiasReference (g.M, g.N, ReadOnlySpan bias, Span expected, ldc)
        Gemm.multiplyAddBias (g.M, g.N, g.K, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, ReadOnlySpan bias, Span actual, ldc)
        allClose (gemmTolerance g.K a b bias) expected actual

    [<Property>]
    let ``addRowBias equals the scalar reference`` (g: GemmCase) =
        let rng = Rng(int64 g.Seed)
        let ldc = g.N + g.PadC
        let bias = Array.init g.M (fun _ -> rng.Normal())
        let c0 = matrix rng g.M g.N ldc 42.0
        let expected = Array.copy c0
        let actual = Array.copy c0
        Gemm.addRowBiasReference (g.M, g.N, ReadOnlySpan bias, Span expected, ldc)
        Gemm.addRowBias (g.M, g.N, ReadOnlySpan bias, Span actual, ldc)
        // One addition per element in both: the results are identical, so the tolerance is zero.
        allClose 0.0 expected actual

    [<Property>]
    let ``reluInto equals the scalar reference, in place too`` (g: GemmCase) =
        let rng = Rng(int64 g.Seed)
        let src = Array.init (g.M * 3 + g.N) (fun i -> if i % 17 = 5 then -0.0 else rng.Normal())
        let expected = Array.zeroCreate src.Length
        let actual = Array.zeroCreate src.Length
        let inPlace = Array.copy src
        Gemm.reluIntoReference (ReadOnlySpan src, Span expected)
        Gemm.reluInto (ReadOnlySpan src, Span actual)
        Gemm.reluInto (ReadOnlySpan inPlace, Span inPlace)
        // max(x, 0) is exact: zero tolerance.
        allClose 0.0 expected actual && allClose 0.0 expected inPlace

/// Checks that the action throws an ArgumentException (or subclass) naming `parameter`.
let private throwsFor (parameter: string) (action: unit -> unit) =
    let e = Assert.ThrowsAny<ArgumentException>(Action action)
    Assert.Equal(parameter, e.ParamName)

module ``Gemm argument checks`` =

    let private a = Array.zeroCreate<float> 12 // 3×4
    let private b = Array.zeroCreate<float> 20 // 4×5
    let private c = Array.zeroCreate<float> 15 // 3×5

    let private call (m, n, k, aLen, lda, bLen, ldb, cLen, ldc) =
        Gemm.multiply (m, n, k, ReadOnlySpan(a, 0, aLen), lda, ReadOnlySpan(b, 0, bLen), ldb, Span(c, 0, cLen), ldc, false)

    [<Fact>]
    let ``negative sizes throw naming the size`` () =
        throwsFor "m" (fun () -> call (-1, 5, 4, 12, 4, 20, 5, 15, 5))
        throwsFor "n" (fun () -> call (3, -1, 4, 12, 4, 20, 5, 15, 5))
        throwsFor "k" (fun () -> call (3, 5, -2, 12, 4, 20, 5, 15, 5))

    [<Fact>]
    let ``too-short spans throw naming the span`` () =
        throwsFor "a" (fun () -> call (3, 5, 4, 11, 4, 20, 5, 15, 5))
        throwsFor "b" (fun () -> call (3, 5, 4, 12, 4, 19, 5, 15, 5))
        throwsFor "c" (fun () -> call (3, 5, 4, 12, 4, 20, 5, 14, 5))
        throwsFor "b" (fun () ->
            Gemm.multiplyTransposeB (3, 5, 4, ReadOnlySpan a, 4, ReadOnlySpan(b, 0, 19), 4, Span c, 5, false))
        throwsFor "a" (fun () ->
            Gemm.multiplyTransposeA (4, 5, 4, ReadOnlySpan(a, 0, 12), 4, ReadOnlySpan b, 5, Span(Array.zeroCreate 20), 5, false))

    [<Fact>]
    let ``leading dimensions shorter than a row throw naming them`` () =
        throwsFor "lda" (fun () -> call (3, 5, 4, 12, 3, 20, 5, 15, 5))
        throwsFor "ldb" (fun () -> call (3, 5, 4, 12, 4, 20, 4, 15, 5))
        throwsFor "ldc" (fun () -> call (3, 5, 4, 12, 4, 20, 5, 15, 4))

    [<Fact>]
    let ``destination overlapping an input throws naming it`` () =
        let shared = Array.zeroCreate<float> 64
        throwsFor "c" (fun () ->
            Gemm.multiply (2, 2, 2, ReadOnlySpan(shared, 0, 4), 2, ReadOnlySpan(shared, 8, 4), 2, Span(shared, 2, 4), 2, false))

    [<Fact>]
    let ``bias and relu helpers check their lengths`` () =
        throwsFor "bias" (fun () ->
            Gemm.addRowBias (3, 5, ReadOnlySpan(Array.zeroCreate 2), Span c, 5))
        throwsFor "c" (fun () -> Gemm.addRowBias (3, 5, ReadOnlySpan(Array.zeroCreate 3), Span(c, 0, 14), 5))
        throwsFor "m" (fun () -> Gemm.addRowBias (-1, 5, ReadOnlySpan(Array.zeroCreate 3), Span c, 5))
        throwsFor "bias" (fun () ->
            Gemm.multiplyAddBias (3, 5, 4, ReadOnlySpan a, 4, ReadOnlySpan b, 5, ReadOnlySpan(Array.zeroCreate 2), Span c, 5))
        throwsFor "dst" (fun () -> Gemm.reluInto (ReadOnlySpan(Array.zeroCreate 4), Span(Array.zeroCreate 3)))

module ``Gemm block boundaries`` =

    /// m = 300 crosses the 128-row A blocks, n = 2100 the 2040-column B blocks and every 24-column
    /// micro-panel, k = 600 gives three 200-deep slices; the odd paddings misalign every row.
    [<Fact>]
    let ``large multiply crossing every block boundary equals the reference and is deterministic`` () =
        let m, n, k = 300, 2100, 600
        let lda, ldb, ldc = k + 3, n + 5, n + 7
        let rng = Rng(20240611L)
        let a = matrix rng m k lda nan
        let b = matrix rng k n ldb nan
        let c0 = matrix rng m n ldc 42.0
        let expected = Array.copy c0
        let actual = Array.copy c0
        let again = Array.copy c0
        Gemm.multiplyReference (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span expected, ldc, true)
        Gemm.multiply (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span actual, ldc, true)
        Gemm.multiply (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span again, ldc, true)
        let tol = gemmTolerance k a b c0
        Assert.True(allClose tol expected actual, sprintf "max |Δ| = %g > %g" (maxAbsDiff expected actual) tol)
        // Fixed reduction order: a second run is bit-identical.
        Assert.True(Array.forall2 (fun (x: float) y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y) actual again)

    /// The transposed variants over the same boundaries, at a size that keeps the reference quick.
    [<Fact>]
    let ``large transposed multiplies equal their references`` () =
        let m, n, k = 133, 2051, 520
        let rng = Rng(7L)
        let at = matrix rng k m (m + 1) nan
        let b = matrix rng k n (n + 3) nan
        let a = matrix rng m k (k + 5) nan
        let bt = matrix rng n k (k + 1) nan
        let expected = Array.zeroCreate (m * n)
        let actual = Array.zeroCreate (m * n)
        Gemm.multiplyTransposeAReference (m, n, k, ReadOnlySpan at, m + 1, ReadOnlySpan b, n + 3, Span expected, n, false)
        Gemm.multiplyTransposeA (m, n, k, ReadOnlySpan at, m + 1, ReadOnlySpan b, n + 3, Span actual, n, false)
        Assert.True(allClose (gemmTolerance k at b [||]) expected actual, "transpose A")
        Gemm.multiplyTransposeBReference (m, n, k, ReadOnlySpan a, k + 5, ReadOnlySpan bt, k + 1, Span expected, n, false)
        Gemm.multiplyTransposeB (m, n, k, ReadOnlySpan a, k + 5, ReadOnlySpan bt, k + 1, Span actual, n, false)
        Assert.True(allClose (gemmTolerance k a bt [||]) expected actual, "transpose B")
