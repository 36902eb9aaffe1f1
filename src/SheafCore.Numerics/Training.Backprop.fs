namespace SheafCore.Numerics

open System
open System.Numerics.Tensors
open System.Threading

/// Buffers of reverse mode for one batch size: the forward pass, the deltas ∂L/∂z^(ℓ) and the gradients.
[<Sealed>]
type internal BackpropWorkspace(mlp: Mlp, batch: int) =
    let forward = ForwardWorkspace(mlp, batch)
    let delta = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> (mlp.Layers[l + 1] * batch))
    let gradW = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> (mlp.Layers[l + 1] * mlp.Layers[l]))
    let gradB = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> mlp.Layers[l + 1])
    member _.Batch = batch
    member _.Forward = forward
    /// δ_ℓ = ∂L/∂z^(ℓ) (n_ℓ × B).
    member _.Delta = delta
    /// ∂L/∂W^(ℓ) (n_ℓ × n_{ℓ−1}, row-major).
    member _.GradW = gradW
    /// ∂L/∂b^(ℓ).
    member _.GradB = gradB
    /// W^(2)[:, i] / ∇W^(2)[:, i] of the fused one-hidden-layer path (gathered / scattered per hidden row).
    member val ColumnWeights = Array.zeroCreate<float> mlp.OutputDim
    member val ColumnGradient = Array.zeroCreate<float> mlp.OutputDim

/// The optimiser of the backprop baseline.
type internal GradientMethod =
    /// Full-batch gradient descent θ −= lr·∇θ (the paper's "SGD").
    | Sgd = 0
    /// Adam (Kingma and Ba) with PyTorch's bias-corrected update.
    | Adam = 1

/// Settings of the backprop baseline: one full-batch gradient step per "step".
type internal GradientDescentSettings =
    { Method: GradientMethod
      LearningRate: float
      Epochs: int
      StepsPerEpoch: int
      Beta1: float
      Beta2: float
      Epsilon: float }

/// Exact gradients of the mean loss by reverse mode, and the gradient-descent / Adam baseline (theory §8.0).
[<RequireQualifiedAccess>]
module internal Backprop =

    /// <summary>Runs the forward pass on (x, y) (n0 × B, n_out × B) and fills the workspace with the exact gradient
    /// of the mean loss L (Losses.value) with respect to every W^(ℓ) and b^(ℓ); returns L.
    /// δ_{k+1} = ∂L/∂z^(k+1) (Losses.outputGradient), ∇W_ℓ = δ_ℓ a_{ℓ−1}ᵀ, ∇b_ℓ = Σ_i δ_{i,ℓ},
    /// δ_{ℓ−1} = (W_ℓᵀ δ_ℓ) ⊙ [z_{ℓ−1} &gt; 0] (the ReLU derivative is 0 at z = 0, as in PyTorch).</summary>
    let private gradientWith (vectorised: bool, mlp: Mlp, x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, ws: BackpropWorkspace) : float =
        let batch = ws.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        Guard.length (nameof y) (mlp.OutputDim * batch) y.Length
        let fw = ws.Forward
        Forward.run (mlp, x, fw)
        let k = mlp.HiddenCount
        let loss = Losses.value (mlp.Output, mlp.OutputDim, batch, ReadOnlySpan fw.Output, y)
        Losses.outputGradient (mlp.Output, mlp.OutputDim, batch, ReadOnlySpan fw.Output, y, Span ws.Delta[k])
        if vectorised && Runtime.Intrinsics.Vector512.IsHardwareAccelerated && k = 1
           && mlp.Layers[0] <= FusedKernels.FusedTrainMaxWidth && mlp.Layers[2] <= FusedKernels.FusedTrainMaxWidth then
            // One narrow hidden layer: one fused pass per hidden row (δ₁ row, its ∇W₁ row, its ∇W₂ column and
            // ∇b₁ entry) instead of the Wᵀδ GEMM, the ReLU mask and two gradient sweeps over the hidden block.
            let nIn = mlp.Layers[0]
            let hidden = mlp.Layers[1]
            let nOut = mlp.Layers[2]
            let delta2 = ws.Delta[1]
            let delta1 = ws.Delta[0]
            let w2 = mlp.Weights[1]
            let g1 = ws.GradW[0]
            let g2 = ws.GradW[1]
            for q in 0 .. nOut - 1 do
                ws.GradB[1][q] <- TensorPrimitives.Sum(ReadOnlySpan(delta2, q * batch, batch))
            for i in 0 .. hidden - 1 do
                for q in 0 .. nOut - 1 do
                    ws.ColumnWeights[q] <- w2[q * hidden + i]
                ws.GradB[0][i] <-
                    FusedKernels.backpropHiddenRowFused (
                        batch, nIn, nOut, ReadOnlySpan(fw.Z[0], i * batch, batch), ReadOnlySpan(fw.A[0], i * batch, batch),
                        x, batch, ReadOnlySpan delta2, batch, ReadOnlySpan ws.ColumnWeights, Span(delta1, i * batch, batch),
                        Span(g1, i * nIn, nIn), Span ws.ColumnGradient
                    )
                for q in 0 .. nOut - 1 do
                    g2[q * hidden + i] <- ws.ColumnGradient[q]
        else
            for l in k .. -1 .. 0 do
                let rows = mlp.Layers[l + 1]
                let cols = mlp.Layers[l]
                let delta = ws.Delta[l]
                let previous = if l = 0 then x else ReadOnlySpan fw.A[l - 1]
                if vectorised && rows * cols <= FusedKernels.SmallOuterEntries then
                    FusedKernels.multiplyTransposeBSmall (rows, cols, batch, ReadOnlySpan delta, batch, previous, batch, Span ws.GradW[l], cols)
                else
                    Gemm.multiplyTransposeB (rows, cols, batch, ReadOnlySpan delta, batch, previous, batch, Span ws.GradW[l], cols, false)
                let gb = ws.GradB[l]
                for i in 0 .. rows - 1 do
                    if vectorised then gb[i] <- TensorPrimitives.Sum(ReadOnlySpan(delta, i * batch, batch))
                    else
                        let mutable sum = 0.0
                        for j in 0 .. batch - 1 do
                            sum <- sum + delta[i * batch + j]
                        gb[i] <- sum
                if l > 0 then
                    let below = ws.Delta[l - 1]
                    Gemm.multiplyTransposeA (cols, batch, rows, ReadOnlySpan mlp.Weights[l], cols, ReadOnlySpan delta, batch, Span below, batch, false)
                    if vectorised then FusedKernels.reluBackward (Span below, ReadOnlySpan fw.Z[l - 1])
                    else FusedKernels.reluBackwardReference (Span below, ReadOnlySpan fw.Z[l - 1])
        loss

    /// <summary>Runs the forward pass on (x, y) and fills the workspace with the exact gradient of the mean loss
    /// (see `gradientWith`); returns L. Vectorised bias sums and ReLU masks.</summary>
    let gradient (mlp: Mlp, x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, ws: BackpropWorkspace) : float =
        gradientWith (true, mlp, x, y, ws)

    /// The scalar twin of `gradient` (sequential bias sums, branchy ReLU mask; the benchmark baseline).
    let gradientReference (mlp: Mlp, x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, ws: BackpropWorkspace) : float =
        gradientWith (false, mlp, x, y, ws)


    let validate (settings: GradientDescentSettings) =
        if not (Double.IsFinite settings.LearningRate && settings.LearningRate > 0.0) then
            invalidArg "LearningRate" (sprintf "Must be positive and finite (got %g)." settings.LearningRate)
        Guard.nonNegative "Epochs" settings.Epochs
        Guard.positive "StepsPerEpoch" settings.StepsPerEpoch
        if not (Enum.IsDefined settings.Method) then invalidArg "Method" "Unknown gradient method."
        if settings.Method = GradientMethod.Adam then
            if not (settings.Beta1 >= 0.0 && settings.Beta1 < 1.0) then invalidArg "Beta1" (sprintf "Must lie in [0, 1) (got %g)." settings.Beta1)
            if not (settings.Beta2 >= 0.0 && settings.Beta2 < 1.0) then invalidArg "Beta2" (sprintf "Must lie in [0, 1) (got %g)." settings.Beta2)
            if not (Double.IsFinite settings.Epsilon && settings.Epsilon > 0.0) then
                invalidArg "Epsilon" (sprintf "Must be positive and finite (got %g)." settings.Epsilon)

    /// One Adam update of θ (in place) with moments m, v at step t ≥ 1, as torch.optim.Adam:
    /// m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², θ −= (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε).
    /// Shared by every trainer that offers Adam.
    let adamUpdate
        (theta: float[], g: float[], m: float[], v: float[], learningRate: float, beta1: float, beta2: float, epsilon: float, t: int)
        =
        let c1 = 1.0 - Math.Pow(beta1, float t)
        let c2 = sqrt (1.0 - Math.Pow(beta2, float t))
        let stepSize = learningRate / c1
        for i in 0 .. theta.Length - 1 do
            m[i] <- beta1 * m[i] + (1.0 - beta1) * g[i]
            v[i] <- beta2 * v[i] + (1.0 - beta2) * g[i] * g[i]
            theta[i] <- theta[i] - stepSize * m[i] / (sqrt v[i] / c2 + epsilon)

    /// <summary>Trains `mlp` in place by full-batch gradient descent or Adam: log at step 0, then per epoch
    /// StepsPerEpoch gradient steps and a log row (forward-pass losses). `test` and `progress` may be null.</summary>
    let train
        (
            mlp: Mlp,
            data: TrainingData,
            test: TrainingData,
            settings: GradientDescentSettings,
            progress: Action<TrainingLogEntry>,
            cancellation: CancellationToken
        ) : SheafTrainingResult =
        validate settings
        data.Validate(mlp, "train")
        if not (isNull (box test)) then test.Validate(mlp, "test")
        let trainEval = Evaluator(mlp, data)
        let testEval = if isNull (box test) then Unchecked.defaultof<Evaluator> else Evaluator(mlp, test)
        let log = ResizeArray<TrainingLogEntry>(settings.Epochs + 1)
        let record (entry: TrainingLogEntry) =
            log.Add entry
            if not (isNull progress) then progress.Invoke entry
        record (Evaluator.Log(0, trainEval, testEval))
        let ws = BackpropWorkspace(mlp, data.Count)
        let adam = settings.Method = GradientMethod.Adam
        let moments (arrays: float[][]) = if adam then Array.map (fun (a: float[]) -> Array.zeroCreate<float> a.Length) arrays else [||]
        let mW, vW, mB, vB = moments mlp.Weights, moments mlp.Weights, moments mlp.Biases, moments mlp.Biases
        let lr = settings.LearningRate
        let mutable steps = 0
        let mutable diverged = false
        let mutable epoch = 1
        while epoch <= settings.Epochs && not diverged do
            for _ in 1 .. settings.StepsPerEpoch do
                if steps &&& 63 = 0 then cancellation.ThrowIfCancellationRequested()
                gradient (mlp, ReadOnlySpan data.Inputs, ReadOnlySpan data.Targets, ws) |> ignore
                steps <- steps + 1
                for l in 0 .. mlp.AffineCount - 1 do
                    if adam then
                        adamUpdate (mlp.Weights[l], ws.GradW[l], mW[l], vW[l], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, steps)
                        adamUpdate (mlp.Biases[l], ws.GradB[l], mB[l], vB[l], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, steps)
                    else
                        let w = mlp.Weights[l]
                        let g = ws.GradW[l]
                        for i in 0 .. w.Length - 1 do
                            w[i] <- w[i] - lr * g[i]
                        let b = mlp.Biases[l]
                        let gb = ws.GradB[l]
                        for i in 0 .. b.Length - 1 do
                            b[i] <- b[i] - lr * gb[i]
            let entry = Evaluator.Log(steps, trainEval, testEval)
            record entry
            diverged <- not (Double.IsFinite entry.TrainLoss)
            epoch <- epoch + 1
        { Log = log.ToArray(); Steps = steps; Diverged = diverged }
