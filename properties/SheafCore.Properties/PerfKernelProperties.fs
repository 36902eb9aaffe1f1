/// The fused vector kernels of the heat, sheaf-training and backprop steps against their scalar twins, on ragged
/// lengths (0–257, so every vector width and tail is hit): element outputs bit for bit, maxima exactly (with NaN
/// propagation), sums of squares up to reassociation; whole steps against their reference twins; no allocation.
module SheafCore.Properties.PerfKernelProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics

/// A seed for a ragged case; the generator below rebuilds everything from it.
type PerfSeed =
    | PerfSeed of int

    override this.ToString() =
        let (PerfSeed s) = this
        sprintf "PerfSeed %d" s

type PerfArbitraries =
    static member PerfSeed() = ArbMap.defaults |> ArbMap.generate<int> |> Gen.map PerfSeed |> Arb.fromGen

module internal PerfGen =
    /// Ragged values: normals with zeros and negative zeros mixed in (the ReLU mask boundary).
    let values (rng: Rng) (n: int) =
        Array.init n (fun _ ->
            match rng.NextInt(0, 8) with
            | 0 -> 0.0
            | 1 -> -0.0
            | _ -> rng.Normal())

    let sameBits (a: float[]) (b: float[]) =
        a.Length = b.Length
        && Array.forall2 (fun (x: float) (y: float) -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y) a b

    /// Two sums of squares agree up to reassociation: |a − b| ≤ 1e-13·(|a| + |b|) + tiny.
    let closeSum (a: float) (b: float) = abs (a - b) <= 1e-13 * (abs a + abs b) + 1e-300

    let sameMax (a: float) (b: float) = (Double.IsNaN a && Double.IsNaN b) || a = b

[<Properties(Arbitrary = [| typeof<PerfArbitraries> |], MaxTest = 300)>]
module ``Fused kernels equal their scalar twins`` =

    [<Property>]
    let ``subtractSumSquares`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let r = PerfGen.values rng n
        let z = PerfGen.values rng n
        let r1 = Array.copy r
        let r2 = Array.copy r
        let s1 = FusedKernels.subtractSumSquares (Span r1, ReadOnlySpan z)
        let s2 = FusedKernels.subtractSumSquaresReference (Span r2, ReadOnlySpan z)
        PerfGen.sameBits r1 r2 && PerfGen.closeSum s1 s2

    [<Property>]
    let ``heatHiddenForces`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let z, a, r, b = PerfGen.values rng n, PerfGen.values rng n, PerfGen.values rng n, PerfGen.values rng n
        let fz1, fa1, fz2, fa2 = Array.zeroCreate n, Array.zeroCreate n, Array.zeroCreate n, Array.zeroCreate n
        let d1 = FusedKernels.heatHiddenForces (ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan r, ReadOnlySpan b, Span fz1, Span fa1)
        let d2 = FusedKernels.heatHiddenForcesReference (ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan r, ReadOnlySpan b, Span fz2, Span fa2)
        PerfGen.sameBits fz1 fz2 && PerfGen.sameBits fa1 fa2 && PerfGen.closeSum d1 d2

    [<Property>]
    let ``advance, with a NaN or an infinity injected in some cases`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let v = PerfGen.values rng n
        let f = PerfGen.values rng n
        let s = rng.Uniform(0.0, 0.1)
        if n > 0 then
            match rng.NextInt(0, 4) with
            | 0 -> f[rng.NextInt(0, n)] <- nan
            | 1 -> f[rng.NextInt(0, n)] <- infinity
            | _ -> ()
        let v1 = Array.copy v
        let v2 = Array.copy v
        let c1 = FusedKernels.advance (Span v1, ReadOnlySpan f, s)
        let c2 = FusedKernels.advanceReference (Span v2, ReadOnlySpan f, s)
        (PerfGen.sameBits v1 v2 && PerfGen.sameMax c1 c2) |> Prop.label (sprintf "%g vs %g" c1 c2)

    [<Property>]
    let ``trainHidden and trainOutput, with a NaN injected in some cases`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let z, a, r, b = PerfGen.values rng n, PerfGen.values rng n, PerfGen.values rng n, PerfGen.values rng n
        if n > 0 && rng.NextInt(0, 3) = 0 then r[rng.NextInt(0, n)] <- nan
        let s = rng.Uniform(0.0, 0.1)
        let z1, a1, z2, a2 = Array.copy z, Array.copy a, Array.copy z, Array.copy a
        let c1 = FusedKernels.trainHidden (Span z1, Span a1, ReadOnlySpan r, ReadOnlySpan b, s)
        let c2 = FusedKernels.trainHiddenReference (Span z2, Span a2, ReadOnlySpan r, ReadOnlySpan b, s)
        let phi, y = PerfGen.values rng n, PerfGen.values rng n
        let gamma = rng.Uniform(0.0, 2.0)
        let o1, o2 = Array.copy z, Array.copy z
        let e1 = FusedKernels.trainOutput (Span o1, ReadOnlySpan r, ReadOnlySpan phi, ReadOnlySpan y, s, gamma)
        let e2 = FusedKernels.trainOutputReference (Span o2, ReadOnlySpan r, ReadOnlySpan phi, ReadOnlySpan y, s, gamma)
        PerfGen.sameBits z1 z2 && PerfGen.sameBits a1 a2 && PerfGen.sameMax c1 c2 && PerfGen.sameBits o1 o2 && PerfGen.sameMax e1 e2

    [<Property>]
    let ``reluBackward`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let d = PerfGen.values rng n
        let z = PerfGen.values rng n
        if n > 0 && rng.NextInt(0, 3) = 0 then z[rng.NextInt(0, n)] <- nan
        let d1, d2 = Array.copy d, Array.copy d
        FusedKernels.reluBackward (Span d1, ReadOnlySpan z)
        FusedKernels.reluBackwardReference (Span d2, ReadOnlySpan z)
        PerfGen.sameBits d1 d2

    [<Property>]
    let ``trainHiddenRowFused: stalks bit for bit, same maximum, gradients and bias sum up to reassociation`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let nIn = rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1)
        let nNext = rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1)
        let ldPrev, ldNext = n + rng.NextInt(0, 3), n + rng.NextInt(0, 3)
        let prev = PerfGen.values rng (nIn * ldPrev)
        let rNext = PerfGen.values rng (nNext * ldNext)
        let w = PerfGen.values rng nIn
        let wNext = PerfGen.values rng nNext
        let bias = rng.Normal()
        let z = PerfGen.values rng n
        let a = PerfGen.values rng n
        // A NaN in the input makes that residual NaN (as in the trainHidden property, which injects it into r; a NaN
        // stalk would be negated, and vector negation 0 − x keeps the NaN's sign where the scalar flips it).
        if n > 0 && rng.NextInt(0, 4) = 0 then prev[rng.NextInt(0, nIn) * ldPrev + rng.NextInt(0, n)] <- nan
        let s = rng.Uniform(0.0, 0.05)
        let z1, a1, z2, a2 = Array.copy z, Array.copy a, Array.copy z, Array.copy a
        let g1, g2 = Array.create nIn 7.0, Array.create nIn 7.0
        let h1, h2 = Array.create nNext 7.0, Array.create nNext 7.0
        let struct (c1, b1) =
            FusedKernels.trainHiddenRowFused (n, nIn, nNext, Span z1, Span a1, ReadOnlySpan prev, ldPrev, ReadOnlySpan w, bias, ReadOnlySpan rNext, ldNext, ReadOnlySpan wNext, Span g1, Span h1, s)
        let struct (c2, b2) =
            FusedKernels.trainHiddenRowFusedReference (n, nIn, nNext, Span z2, Span a2, ReadOnlySpan prev, ldPrev, ReadOnlySpan w, bias, ReadOnlySpan rNext, ldNext, ReadOnlySpan wNext, Span g2, Span h2, s)
        // Reassociation bound: 1e-13 times the sum of |terms| (r from the plain formula is close enough for a bound).
        let r j = (Array.fold (fun acc p -> acc + w[p] * prev[p * ldPrev + j]) 0.0 [| 0 .. nIn - 1 |]) + bias - z[j]
        let bound (term: int -> float) = 1e-13 * (Seq.sumBy (fun j -> abs (term j)) (seq { 0 .. n - 1 })) + 1e-300
        let close (u: float) (v: float) (b: float) = (Double.IsNaN u && Double.IsNaN v) || abs (u - v) <= b
        let gOk = Array.forall (fun p -> close g1[p] g2[p] (bound (fun j -> r j * prev[p * ldPrev + j]))) [| 0 .. nIn - 1 |]
        let hOk = Array.forall (fun q -> close h1[q] h2[q] (bound (fun j -> rNext[q * ldNext + j] * a[j]))) [| 0 .. nNext - 1 |]
        PerfGen.sameBits z1 z2 && PerfGen.sameBits a1 a2 && PerfGen.sameMax c1 c2 && close b1 b2 (bound r) && gOk && hOk

    [<Property>]
    let ``backpropHiddenRowFused: delta bit for bit, gradients and sum up to reassociation`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(0, 258)
        let nIn = rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1)
        let nNext = rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1)
        let ldPrev, ldNext = n + rng.NextInt(0, 3), n + rng.NextInt(0, 3)
        let prev = PerfGen.values rng (nIn * ldPrev)
        let deltaNext = PerfGen.values rng (nNext * ldNext)
        let wNext = PerfGen.values rng nNext
        let z = PerfGen.values rng n
        if n > 0 && rng.NextInt(0, 4) = 0 then z[rng.NextInt(0, n)] <- nan
        let a = PerfGen.values rng n
        let d1, d2 = Array.create n 7.0, Array.create n 7.0
        let g1, g2 = Array.create nIn 7.0, Array.create nIn 7.0
        let h1, h2 = Array.create nNext 7.0, Array.create nNext 7.0
        let s1 =
            FusedKernels.backpropHiddenRowFused (n, nIn, nNext, ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan prev, ldPrev, ReadOnlySpan deltaNext, ldNext, ReadOnlySpan wNext, Span d1, Span g1, Span h1)
        let s2 =
            FusedKernels.backpropHiddenRowFusedReference (n, nIn, nNext, ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan prev, ldPrev, ReadOnlySpan deltaNext, ldNext, ReadOnlySpan wNext, Span d2, Span g2, Span h2)
        let bound (term: int -> float) = 1e-13 * (Seq.sumBy (fun j -> abs (term j)) (seq { 0 .. n - 1 })) + 1e-300
        let close (u: float) (v: float) (b: float) = abs (u - v) <= b
        PerfGen.sameBits d1 d2
        && close s1 s2 (bound (fun j -> d2[j]))
        && Array.forall (fun p -> close g1[p] g2[p] (bound (fun j -> d2[j] * prev[p * ldPrev + j]))) [| 0 .. nIn - 1 |]
        && Array.forall (fun q -> close h1[q] h2[q] (bound (fun j -> deltaNext[q * ldNext + j] * a[j]))) [| 0 .. nNext - 1 |]

[<Properties(Arbitrary = [| typeof<PerfArbitraries> |], MaxTest = 200)>]
module ``Small A·Bᵀ by dot products`` =

    [<Property>]
    let ``equals the scalar twin up to reassociation, ragged shapes and leading dimensions`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let m, n, k = rng.NextInt(0, 9), rng.NextInt(0, 9), rng.NextInt(0, 301)
        let lda, ldb, ldc = k + rng.NextInt(0, 3), k + rng.NextInt(0, 3), n + rng.NextInt(0, 3)
        let a = PerfGen.values rng (max 0 (m * lda))
        let b = PerfGen.values rng (max 0 (n * ldb))
        let c1 = Array.create (max 0 (m * ldc)) 7.0
        let c2 = Array.create (max 0 (m * ldc)) 7.0
        FusedKernels.multiplyTransposeBSmall (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span c1, ldc)
        FusedKernels.multiplyTransposeBSmallReference (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, Span c2, ldc)
        let scale = 1e-13 * float (k + 1)
        Array.forall2 (fun (u: float) v -> abs (u - v) <= scale * (1.0 + abs v)) c1 c2

module internal StepGen =
    /// A random network with ragged widths (1–13), a ragged batch (1–37), random stalks.
    let create (seed: int) =
        let rng = Rng(int64 seed)
        let hidden = rng.NextInt(0, 3)
        let layers = Array.init (hidden + 2) (fun _ -> rng.NextInt(1, 14))
        let output =
            match rng.NextInt(0, 3) with
            | 0 -> OutputActivation.Identity
            | 1 -> OutputActivation.Sigmoid
            | _ -> OutputActivation.Softmax
        let mlp = Mlp.HeInitialised(layers, output, int64 seed)
        let batch = rng.NextInt(1, 38)
        let x = PerfGen.values rng (layers[0] * batch)
        let stalks = NetworkStalks(mlp, batch)
        for z in stalks.Z do
            rng.FillNormal(Span z, 1.0)
        for a in stalks.A do
            rng.FillNormal(Span a, 1.0)
        rng.FillNormal(Span stalks.Output, 1.0)
        let y = PerfGen.values rng (mlp.OutputDim * batch)
        mlp, x, y, stalks, rng

    let copy (s: NetworkStalks) (mlp: Mlp) =
        let c = NetworkStalks(mlp, s.Batch)
        SheafTraining.copyStalks (s, c)
        c

    let sameStalks (a: NetworkStalks) (b: NetworkStalks) =
        Array.forall2 PerfGen.sameBits a.Z b.Z && Array.forall2 PerfGen.sameBits a.A b.A && PerfGen.sameBits a.Output b.Output

[<Properties(Arbitrary = [| typeof<PerfArbitraries> |], MaxTest = 100)>]
module ``Vectorised steps equal their reference twins`` =

    [<Property>]
    let ``heat: computeForces and eulerStep`` (PerfSeed seed) =
        let mlp, x, _, stalks, rng = StepGen.create seed
        let other = StepGen.copy stalks mlp
        let ws1 = HeatWorkspace(mlp, stalks.Batch)
        let ws2 = HeatWorkspace(mlp, stalks.Batch)
        let mode = if rng.NextInt(0, 2) = 0 then OutputForceMode.Jacobian else OutputForceMode.Identity
        let s = rng.Uniform(0.0, 0.05)
        let mutable ok = true
        for _ in 1 .. 3 do
            let d1 = NetworkHeat.computeForces (mlp, ReadOnlySpan x, stalks, [||], mode, ws1)
            let d2 = NetworkHeat.computeForcesReference (mlp, ReadOnlySpan x, other, [||], mode, ws2)
            let c1 = NetworkHeat.eulerStep (mlp, stalks, s, ws1)
            let c2 = NetworkHeat.eulerStepReference (mlp, other, s, ws2)
            ok <-
                ok
                && PerfGen.closeSum d1 d2
                && Array.forall2 PerfGen.sameBits ws1.ForceZ ws2.ForceZ
                && Array.forall2 PerfGen.sameBits ws1.ForceA ws2.ForceA
                && PerfGen.sameMax c1 c2
                && StepGen.sameStalks stalks other
        ok

    [<Property>]
    let ``sheaf training: stalks bit-identical, weights and biases up to summation order`` (PerfSeed seed) =
        let mlp, x, y, stalks, rng = StepGen.create seed
        let mlp2 = Mlp(Array.copy mlp.Layers, mlp.Output, Array.map Array.copy mlp.Weights, Array.map Array.copy mlp.Biases)
        let other = StepGen.copy stalks mlp
        let batch = stalks.Batch
        let m = rng.NextInt(1, batch + 1)
        let c0 = rng.NextInt(0, batch - m + 1)
        let settings =
            { Alpha = 1.0; Beta = (if rng.NextInt(0, 2) = 0 then 0.0 else 0.1); Dt = 0.01; Epochs = 1; StepsPerEpoch = 1
              WarmStart = true; StalkInit = StalkInitMethod.Forward; StalkSeed = 0L; MiniBatchSize = m; OutputCoupling = 1.0 }
        let ws1 = SheafStepWorkspace(mlp, m)
        let ws2 = SheafStepWorkspace(mlp2, m)
        let c1 = SheafTraining.step (mlp, x, y, stalks, c0, m, settings, ws1)
        let c2 = SheafTraining.stepReference (mlp2, x, y, other, c0, m, settings, ws2)
        let biasesClose =
            Array.forall2 (fun (b1: float[]) (b2: float[]) -> Array.forall2 (fun (u: float) v -> abs (u - v) <= 1e-14 * (1.0 + abs u)) b1 b2) mlp.Biases mlp2.Biases
        let weightsClose =
            Array.forall2 (fun (w1: float[]) (w2: float[]) -> Array.forall2 (fun (u: float) v -> abs (u - v) <= 1e-13 * (1.0 + abs u)) w1 w2) mlp.Weights mlp2.Weights
        StepGen.sameStalks stalks other && PerfGen.sameMax c1 c2 && weightsClose && biasesClose

    [<Property>]
    let ``sheaf training, fused one-hidden-layer path: stalks bit-identical, weights and biases up to summation order`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let layers = [| rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1); rng.NextInt(1, 14); rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1) |]
        let output =
            match rng.NextInt(0, 3) with
            | 0 -> OutputActivation.Identity
            | 1 -> OutputActivation.Sigmoid
            | _ -> OutputActivation.Softmax
        let mlp = Mlp.HeInitialised(layers, output, int64 seed)
        for b in mlp.Biases do
            rng.FillNormal(Span b, 0.5)
        let mlp2 = Mlp(Array.copy mlp.Layers, mlp.Output, Array.map Array.copy mlp.Weights, Array.map Array.copy mlp.Biases)
        let batch = rng.NextInt(1, 90)
        let x = PerfGen.values rng (layers[0] * batch)
        let y = PerfGen.values rng (layers[2] * batch)
        let stalks = NetworkStalks(mlp, batch)
        for z in stalks.Z do
            Array.blit (PerfGen.values rng z.Length) 0 z 0 z.Length
        for a in stalks.A do
            rng.FillNormal(Span a, 1.0)
        let other = StepGen.copy stalks mlp
        let m = rng.NextInt(1, batch + 1)
        let c0 = rng.NextInt(0, batch - m + 1)
        let settings =
            { Alpha = 1.0; Beta = (if rng.NextInt(0, 3) = 0 then 0.0 else 0.1); Dt = 0.01; Epochs = 1; StepsPerEpoch = 1
              WarmStart = true; StalkInit = StalkInitMethod.Forward; StalkSeed = 0L; MiniBatchSize = m; OutputCoupling = 1.0 }
        let ws1 = SheafStepWorkspace(mlp, m)
        let ws2 = SheafStepWorkspace(mlp2, m)
        let mutable ok = true
        // Several steps, so the second and third start from weights moved by the fused path.
        for _ in 1 .. 3 do
            let c1 = SheafTraining.step (mlp, x, y, stalks, c0, m, settings, ws1)
            let c2 = SheafTraining.stepReference (mlp2, x, y, other, c0, m, settings, ws2)
            // Copy the reference weights over so each step compares stalks from identical weights.
            let close (a: float[][]) (b: float[][]) =
                Array.forall2 (fun (u1: float[]) (u2: float[]) -> Array.forall2 (fun (u: float) v -> abs (u - v) <= 1e-13 * (1.0 + abs u)) u1 u2) a b
            ok <- ok && StepGen.sameStalks stalks other && PerfGen.sameMax c1 c2 && close mlp.Weights mlp2.Weights && close mlp.Biases mlp2.Biases
            for l in 0 .. mlp.AffineCount - 1 do
                Array.blit mlp2.Weights[l] 0 mlp.Weights[l] 0 mlp.Weights[l].Length
                Array.blit mlp2.Biases[l] 0 mlp.Biases[l] 0 mlp.Biases[l].Length
        ok

    [<Property>]
    let ``backprop gradient, fused one-hidden-layer path: deltas bit-identical, gradients up to summation order`` (PerfSeed seed) =
        let rng = Rng(int64 seed)
        let layers = [| rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1); rng.NextInt(1, 14); rng.NextInt(1, FusedKernels.FusedTrainMaxWidth + 1) |]
        let output =
            match rng.NextInt(0, 3) with
            | 0 -> OutputActivation.Identity
            | 1 -> OutputActivation.Sigmoid
            | _ -> OutputActivation.Softmax
        let mlp = Mlp.HeInitialised(layers, output, int64 seed)
        for b in mlp.Biases do
            rng.FillNormal(Span b, 0.5)
        let batch = rng.NextInt(1, 90)
        let x = PerfGen.values rng (layers[0] * batch)
        let y =
            if output = OutputActivation.Identity then PerfGen.values rng (layers[2] * batch)
            elif output = OutputActivation.Sigmoid then Array.init (layers[2] * batch) (fun _ -> float (rng.NextInt(0, 2)))
            else
                // One-hot columns for softmax.
                let y = Array.zeroCreate<float> (layers[2] * batch)
                for j in 0 .. batch - 1 do
                    y[rng.NextInt(0, layers[2]) * batch + j] <- 1.0
                y
        let ws1 = BackpropWorkspace(mlp, batch)
        let ws2 = BackpropWorkspace(mlp, batch)
        let l1 = Backprop.gradient (mlp, ReadOnlySpan x, ReadOnlySpan y, ws1)
        let l2 = Backprop.gradientReference (mlp, ReadOnlySpan x, ReadOnlySpan y, ws2)
        let close (a: float[]) (b: float[]) = Array.forall2 (fun (u: float) v -> abs (u - v) <= 1e-12 * (1.0 + abs u)) a b
        (l1 = l2 || (Double.IsNaN l1 && Double.IsNaN l2))
        && Array.forall2 close ws1.GradW ws2.GradW
        && Array.forall2 close ws1.GradB ws2.GradB
        && Array.forall2 PerfGen.sameBits ws1.Delta ws2.Delta

    [<Property>]
    let ``backprop gradient: deltas bit-identical, gradients up to summation order`` (PerfSeed seed) =
        let mlp, x, y, stalks, _ = StepGen.create seed
        let ws1 = BackpropWorkspace(mlp, stalks.Batch)
        let ws2 = BackpropWorkspace(mlp, stalks.Batch)
        let y = if mlp.Output = OutputActivation.Identity then y else y |> Array.map (fun v -> if v > 0.0 then 1.0 else 0.0)
        let l1 = Backprop.gradient (mlp, ReadOnlySpan x, ReadOnlySpan y, ws1)
        let l2 = Backprop.gradientReference (mlp, ReadOnlySpan x, ReadOnlySpan y, ws2)
        let close (a: float[]) (b: float[]) = Array.forall2 (fun (u: float) v -> abs (u - v) <= 1e-12 * (1.0 + abs u)) a b
        (l1 = l2 || (Double.IsNaN l1 && Double.IsNaN l2))
        && Array.forall2 close ws1.GradW ws2.GradW
        && Array.forall2 close ws1.GradB ws2.GradB
        && Array.forall2 PerfGen.sameBits ws1.Delta ws2.Delta

module ``Heat step allocations`` =

    [<Xunit.Fact>]
    let ``one heat Euler step (forces and update) allocates nothing`` () =
        let mlp = Mlp.HeInitialised([| 2; 30; 1 |], OutputActivation.Identity, 42L)
        let batch = 300
        let rng = Rng 7L
        let x = Array.init (2 * batch) (fun _ -> rng.Uniform(-2.0, 2.0))
        let stalks = NetworkStalks(mlp, batch)
        for z in stalks.Z do
            rng.FillNormal(Span z, 1.0)
        for a in stalks.A do
            rng.FillNormal(Span a, 1.0)
        let ws = HeatWorkspace(mlp, batch)
        let action () =
            NetworkHeat.computeForces (mlp, ReadOnlySpan x, stalks, [||], OutputForceMode.Jacobian, ws) |> ignore
            NetworkHeat.eulerStep (mlp, stalks, 0.01, ws) |> ignore
        action ()
        let least =
            Array.init 3 (fun _ ->
                let before = GC.GetAllocatedBytesForCurrentThread()
                action ()
                GC.GetAllocatedBytesForCurrentThread() - before)
            |> Array.min
        Xunit.Assert.Equal(0L, least)

/// The RKC2 stage combination: vectorised equals the scalar reference bit for bit on ragged lengths.
module ``RKC2 stage combination`` =

    [<FsCheck.Xunit.Property(MaxTest = 200)>]
    let ``vectorised combination equals the scalar reference bit for bit`` (length: FsCheck.PositiveInt) (seed: int) =
        let n = length.Get % 258
        let rng = SheafCore.Numerics.Rng(int64 seed)
        let v () = Array.init n (fun _ -> rng.Normal())
        let y, a, b, f, g = v (), v (), v (), v (), v ()
        let c = Array.init 5 (fun _ -> rng.Normal())
        let fast = Array.zeroCreate n
        let reference = Array.zeroCreate n
        SheafCore.Numerics.Rkc.combine (c[0], System.ReadOnlySpan y, c[1], System.ReadOnlySpan a, c[2], System.ReadOnlySpan b, c[3], System.ReadOnlySpan f, c[4], System.ReadOnlySpan g, System.Span fast)
        SheafCore.Numerics.Rkc.combineReference (c[0], System.ReadOnlySpan y, c[1], System.ReadOnlySpan a, c[2], System.ReadOnlySpan b, c[3], System.ReadOnlySpan f, c[4], System.ReadOnlySpan g, System.Span reference)
        Array.forall2 (fun (p: float) q -> System.BitConverter.DoubleToInt64Bits p = System.BitConverter.DoubleToInt64Bits q) reference fast

/// The sparse LDLᵀ harmonic extension against the dense pivoted LDLᵀ path (issue 7, item 1).
module ``Sparse LDLt harmonic extension`` =
    open SheafCore.Properties.HarmonicExtensionProperties

    /// On success the sparse solution is certified unique and agrees with the dense one within the bound
    /// ‖x − y‖₂ ≤ (‖r_x‖₂ + ‖r_y‖₂)/λ_min(L_II) (both residuals from the sparse Laplacian); on failure it is
    /// the dense result itself.
    let private agrees (sheaf: CellularSheaf) (mask: bool[]) (values: float[]) =
        let tolerance = DenseFactor.DefaultRelativeTolerance
        let sparse = HarmonicExtension.solveSparse (sheaf, ReadOnlySpan mask, ReadOnlySpan values, tolerance)
        let dense = HarmonicExtension.solveDense (sheaf, ReadOnlySpan mask, ReadOnlySpan values, tolerance)
        if sparse.Method = HarmonicExtensionMethod.DenseLdlt then
            Array.forall2 (fun (a: float) b -> a = b || (Double.IsNaN a && Double.IsNaN b)) sparse.Solution dense.Solution
        else
            let interior = [| for i in 0 .. mask.Length - 1 do if not mask[i] then yield i |]
            let lii = Dense.select (Dense.gram (Coboundary.toDense sheaf)) interior interior
            let lambdaMin = if interior.Length = 0 then 1.0 else (DenseFactor.symmetricEigen lii).Values[0]
            let difference = sqrt (Array.fold2 (fun s (a: float) b -> s + (a - b) * (a - b)) 0.0 sparse.Solution dense.Solution)
            let scale = 1.0 + Tolerance.maxAbs dense.Solution
            let boundaryKept = Array.forall (fun i -> not mask[i] || sparse.Solution[i] = values[i]) [| 0 .. mask.Length - 1 |]
            sparse.Uniqueness = HarmonicExtensionUniqueness.Unique
            && sparse.Nullity = 0
            && sparse.Rank = interior.Length
            && boundaryKept
            && lambdaMin > 0.0
            && difference <= (sparse.ResidualNorm + dense.ResidualNorm) / lambdaMin + 1e-12 * scale
            && sparse.ResidualNorm <= 1e-9 * scale * (1.0 + Tolerance.maxAbs (Dense.gram (Coboundary.toDense sheaf)).Values)

    [<FsCheck.Xunit.Property(Arbitrary = [| typeof<HarmonicArbitraries> |], MaxTest = 200)>]
    let ``small sheaves: sparse equals dense within the conditioning bound, or falls back to it`` (case: HarmonicCase) =
        agrees case.Sheaf case.Mask case.Values

    /// Larger sparse graphs (30–70 vertices, stalks 0–3) so that the sparse elimination phase, not only the
    /// dense trailing block, does work; a fifth of the vertices pinned.
    [<FsCheck.Xunit.Property(MaxTest = 25)>]
    let ``larger sparse graphs: sparse equals dense within the conditioning bound`` (seed: int) (size: FsCheck.PositiveInt) =
        let vertices = 30 + size.Get % 41
        let sheaf = Generators.randomSheaf seed vertices 3
        let rng = Rng(int64 seed + 7L)
        let pinned = [| for v in 0 .. vertices - 1 do if rng.NextDouble() < 0.2 then yield v |]
        let mask = HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan(HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan pinned)))
        let values = Array.init mask.Length (fun i -> if mask[i] then rng.Normal() else nan)
        agrees sheaf mask values

    [<Xunit.Fact>]
    let ``a sparse graph with a well-posed interior is solved sparsely with a sparse phase`` () =
        // A path of 40 vertices (stalk 2, identity maps) pinned at both ends: L_II is non-singular and the
        // minimum-degree order eliminates most of it sparsely.
        let v = 40
        let sheaf =
            CellularSheaf.Create(
                Array.create v 2,
                Array.init (v - 1) id,
                Array.init (v - 1) (fun e -> e + 1),
                Array.create (v - 1) 2,
                Array.create (2 * (v - 1)) RestrictionFamily.Identity,
                Array.create (2 * (v - 1)) [||]
            )
        let mask = HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan(HarmonicExtension.coordinatesOfVertices (sheaf, ReadOnlySpan [| 0; v - 1 |])))
        let values = Array.init (2 * v) (fun i -> if i < 2 then 1.0 elif i >= 2 * v - 2 then 3.0 else nan)
        let result = HarmonicExtension.solveSparse (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-10)
        Xunit.Assert.Equal(HarmonicExtensionMethod.SparseLdlt, result.Method)
        // The harmonic extension on a path with identity maps is linear interpolation.
        for k in 0 .. v - 1 do
            let expected = 1.0 + 2.0 * float k / float (v - 1)
            Xunit.Assert.Equal(expected, result.Solution[2 * k], 12)
            Xunit.Assert.Equal(expected, result.Solution[2 * k + 1], 12)
        Xunit.Assert.True(agrees sheaf mask values)

/// The column-split parallel GEMM (issue 7, item 3): bit-identical to the single-threaded product.
module ``Parallel GEMM`` =

    let private bits (a: float[]) = a |> Array.map BitConverter.DoubleToInt64Bits

    let private case (rng: Rng) m n k threads threshold =
        let lda = k + rng.NextInt(0, 3)
        let ldb = n + rng.NextInt(0, 3)
        let ldc = n + rng.NextInt(0, 3)
        let a = Array.init (m * lda) (fun _ -> rng.Normal())
        let b = Array.init (k * ldb) (fun _ -> rng.Normal())
        let bias = Array.init m (fun _ -> rng.Normal())
        let one = Array.init (m * ldc) (fun _ -> rng.Normal())
        let many = Array.copy one
        Gemm.multiplyAddBias (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, ReadOnlySpan bias, Span one, ldc)
        Gemm.multiplyAddBiasParallelWith (m, n, k, ReadOnlySpan a, lda, ReadOnlySpan b, ldb, ReadOnlySpan bias, Span many, ldc, threads, threshold)
        bits one = bits many

    /// Ragged sizes with the flop threshold at 0, so every case is split (2 or 3 column blocks).
    [<FsCheck.Xunit.Property(MaxTest = 60)>]
    let ``column split on ragged sizes is bit-identical to one thread`` (seed: int) =
        let rng = Rng(int64 seed)
        case rng (rng.NextInt(1, 41)) (rng.NextInt(1, 260)) (rng.NextInt(1, 600)) (rng.NextInt(2, 4)) 0.0

    [<Xunit.Fact>]
    let ``a layer-sized product above the default threshold is bit-identical on two threads`` () =
        Xunit.Assert.True(case (Rng 5L) 130 1000 300 2 Gemm.ParallelFlopThreshold)

    /// The forward pass and the unitriangular solve on two threads (layers above the default threshold) give the same
    /// bits as on one thread, for every output activation.
    [<FsCheck.Xunit.Property(MaxTest = 6)>]
    let ``forward pass and unitriangular solve on two threads are bit-identical to one thread`` (seed: int) =
        let rng = Rng(int64 seed)
        let output = [| OutputActivation.Identity; OutputActivation.Sigmoid; OutputActivation.Softmax |][rng.NextInt(0, 3)]
        let layers = [| rng.NextInt(100, 130); rng.NextInt(120, 160); rng.NextInt(2, 12) |]
        let mlp = Mlp.HeInitialised(layers, output, int64 seed)
        let batch = rng.NextInt(200, 260)
        let x = Array.init (layers[0] * batch) (fun _ -> rng.Normal())
        let one = ForwardWorkspace(mlp, batch)
        let two = ForwardWorkspace(mlp, batch)
        Forward.run (mlp, ReadOnlySpan x, one)
        Forward.runParallel (mlp, ReadOnlySpan x, two, 2)
        let s1 = NetworkStalks(mlp, batch)
        let s2 = NetworkStalks(mlp, batch)
        UnitriangularSolve.solve (mlp, ReadOnlySpan x, s1)
        UnitriangularSolve.solveParallel (mlp, ReadOnlySpan x, s2, 2)
        // The first layer is above Gemm.ParallelFlopThreshold, so the split really runs.
        2.0 * float layers[1] * float batch * float layers[0] >= Gemm.ParallelFlopThreshold
        && bits one.Output = bits two.Output
        && Array.forall2 (fun (a: float[]) b -> bits a = bits b) one.Z two.Z
        && bits s1.Output = bits s2.Output
        && Array.forall2 (fun (a: float[]) b -> bits a = bits b) s1.Z s2.Z
        && Array.forall2 (fun (a: float[]) b -> bits a = bits b) s1.A s2.A
