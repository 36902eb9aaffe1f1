namespace SheafCore.Numerics

open System
open System.Numerics.Tensors
open System.Threading

/// How the training stalks start (and restart, when there is no warm start).
type internal StalkInitMethod =
    /// i.i.d. N(0, 1) for z^(1..k+1) in order, then a^(1..k), from the stalk seed (one stream for the whole run,
    /// so every reset draws fresh values).
    | Random = 0
    /// The forward pass of the current weights (zero discord).
    | Forward = 1
    /// Exactly the stalks supplied by the caller; later resets use the forward pass.
    | Given = 2

/// Settings of sheaf training (theory §5.2–5.3). The paper's runs: α = 1, β = 1/n_train, dt = 0.005 (1H) or
/// 0.01 (2H), 1000 steps per epoch, output coupling 1, full batch; warm start with random stalks for regression,
/// reset to the forward pass every epoch for classification.
type internal SheafTrainingSettings =
    { Alpha: float
      Beta: float
      Dt: float
      Epochs: int
      StepsPerEpoch: int
      WarmStart: bool
      StalkInit: StalkInitMethod
      StalkSeed: int64
      /// Samples per step; 0 (or ≥ n_train) is full batch. See `SheafTraining.step` for what it does to the dynamics.
      MiniBatchSize: int
      /// γ, the strength of the output edge to the pinned target (1 in the paper).
      OutputCoupling: float }

/// What a sheaf training run did.
type internal SheafTrainingResult =
    { Log: TrainingLogEntry[]
      Steps: int
      /// The forward-pass training loss became NaN or infinite; the run stopped at that epoch.
      Diverged: bool }

/// Buffers of one joint step for at most `maxColumns` samples per step (allocated once per run).
[<Sealed>]
type internal SheafStepWorkspace(mlp: Mlp, maxColumns: int) =
    let perLayer (l: int) = Array.zeroCreate<float> (mlp.Layers[l + 1] * maxColumns)
    let residual = Array.init mlp.AffineCount perLayer
    let back = Array.init mlp.HiddenCount perLayer
    let gradient = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> (mlp.Layers[l + 1] * mlp.Layers[l]))
    let zOut = Array.zeroCreate<float> (mlp.OutputDim * maxColumns)
    let phi = Array.zeroCreate<float> (mlp.OutputDim * maxColumns)
    let columnWeights = Array.zeroCreate<float> mlp.OutputDim
    let columnGradient = Array.zeroCreate<float> mlp.OutputDim
    member _.MaxColumns = maxColumns
    /// W^(2)[:, i] of the fused one-hidden-layer step (gathered per hidden row).
    member _.ColumnWeights = columnWeights
    /// G^(2)[:, i] of the fused one-hidden-layer step (scattered per hidden row).
    member _.ColumnGradient = columnGradient
    /// r_ℓ = W^(ℓ)a^(ℓ−1) + b^(ℓ) − z^(ℓ) of the old state (n_ℓ × m, leading dimension m).
    member _.Residual = residual
    /// W^(ℓ+1)ᵀ r_{ℓ+1} for each hidden layer, from the old weights.
    member _.Back = back
    /// Σ_i r_{i,ℓ} a_{i,ℓ−1}ᵀ (n_ℓ × n_{ℓ−1}).
    member _.Gradient = gradient
    member _.ZOut = zOut
    member _.Phi = phi

/// Training by local discrepancy minimisation with no backward pass (theory §5, fixtures README "Sheaf training").
[<RequireQualifiedAccess>]
module internal SheafTraining =

    /// Checks settings; names the offending field.
    let validate (settings: SheafTrainingSettings) =
        let positive name v =
            if not (Double.IsFinite v && v > 0.0) then invalidArg name (sprintf "Must be positive and finite (got %g)." v)
        positive "Alpha" settings.Alpha
        positive "Dt" settings.Dt
        if not (Double.IsFinite settings.Beta && settings.Beta >= 0.0) then
            invalidArg "Beta" (sprintf "Must be finite and ≥ 0 (got %g)." settings.Beta)
        if not (Double.IsFinite settings.OutputCoupling && settings.OutputCoupling >= 0.0) then
            invalidArg "OutputCoupling" (sprintf "Must be finite and ≥ 0 (got %g)." settings.OutputCoupling)
        Guard.nonNegative "Epochs" settings.Epochs
        Guard.positive "StepsPerEpoch" settings.StepsPerEpoch
        Guard.nonNegative "MiniBatchSize" settings.MiniBatchSize
        if not (Enum.IsDefined settings.StalkInit) then invalidArg "StalkInit" "Unknown stalk initialisation."

    /// The column block [c0, c0 + m) of an n × B row-major matrix, to be read with leading dimension B.
    let private columns (arr: float[], rows: int, batch: int, c0: int, m: int) =
        ReadOnlySpan<float>(arr, c0, (rows - 1) * batch + m)

    /// <summary>One joint explicit-Euler step of stalks and weights on the samples [c0, c0 + m) of the batch
    /// (stalks, x and y are n × B feature-major; the step reads those columns with leading dimension B).
    /// Every force comes from the old state and the old weights (s = α·dt):
    /// <code>
    /// r_ℓ = W_ℓ a_{ℓ−1} + b_ℓ − z_ℓ
    /// z_ℓ  += s·[r_ℓ − σ_ℓ⊙(z_ℓ − a_ℓ)]                       ℓ ≤ k
    /// z_{k+1} += s·[r_{k+1} − γ(φ(z_{k+1}) − y)]              (no a_out stalk: the target is the pinned end)
    /// a_ℓ  += s·[−(a_ℓ − σ_ℓ⊙z_ℓ) − W_{ℓ+1}ᵀ r_{ℓ+1}]
    /// W_ℓ  += dt·(−β Σ_i r_{i,ℓ} a_{i,ℓ−1}ᵀ),  b_ℓ += dt·(−β Σ_i r_{i,ℓ})
    /// </code>
    /// with σ_ℓ = [z_ℓ ≥ 0] of the old state. Skips the weight update when β = 0 (pure relaxation).
    /// Returns the largest |Δ| of a stalk coordinate.</summary>
    /// <remarks>Mini-batches (m &lt; B): only the stalks of the m selected samples move in this step, and the weight
    /// force is the sum over those m samples only. Each sample's stalks therefore relax for 1/(B/m) of the steps
    /// while the weights keep moving every step, so the stalks lag further behind their equilibrium (the fast/slow
    /// time-scale separation of §5.3 gets worse by the factor B/m), and with β unchanged the weight drift per
    /// sweep over the data equals the full-batch drift per step; keep β·B fixed when comparing.</remarks>
    /// <summary>the general step for a network with one hidden layer whose input and output widths are at most
    /// `FusedKernels.FusedTrainMaxWidth` (e.g. [2,30,1]): the output residual by GEMM, then one fused pass per
    /// hidden row (`FusedKernels.trainHiddenRowFused`) that computes the hidden residual, the back-pull, the
    /// row's gradient entries of both layers and its bias sum from the old state and updates the row in place.
    /// The stalks are bit-identical to the general step's (the residual and back-pull are summed in the GEMM's FMA
    /// order); the weight gradients and bias sums are summed in vector lanes (different rounding order).</summary>
    let private stepFusedOneHidden
        (mlp: Mlp, x: float[], y: float[], stalks: NetworkStalks, c0: int, m: int, settings: SheafTrainingSettings, ws: SheafStepWorkspace)
        : float =
        let batch = stalks.Batch
        let s = settings.Alpha * settings.Dt
        let dt = settings.Dt
        let beta = settings.Beta
        let gamma = settings.OutputCoupling
        let nIn = mlp.Layers[0]
        let hidden = mlp.Layers[1]
        let nOut = mlp.Layers[2]
        let a0 = stalks.A[0]
        let z0 = stalks.Z[0]
        let zLast = stalks.Z[1]
        // Output residual r₂ = W₂a₁ + b₂ − z₂ from the old hidden a (before the fused pass moves it).
        let r2 = ws.Residual[1]
        Gemm.multiplyAddBias (nOut, m, hidden, ReadOnlySpan mlp.Weights[1], hidden, columns (a0, hidden, batch, c0, m), batch, ReadOnlySpan mlp.Biases[1], Span(r2, 0, nOut * m), m)
        for i in 0 .. nOut - 1 do
            let rr = Span(r2, i * m, m)
            TensorPrimitives.Subtract(Span.op_Implicit rr, ReadOnlySpan(zLast, i * batch + c0, m), rr)
            Array.blit zLast (i * batch + c0) ws.ZOut (i * m) m
        Activations.applyOutput (mlp.Output, nOut, m, ReadOnlySpan(ws.ZOut, 0, nOut * m), Span(ws.Phi, 0, nOut * m))
        let w1 = mlp.Weights[0]
        let b1 = mlp.Biases[0]
        let w2 = mlp.Weights[1]
        let g1 = ws.Gradient[0]
        let g2 = ws.Gradient[1]
        let bias1Sums = ws.Back[0] // the fused pass needs no back-pull buffer; its first `hidden` entries hold the bias sums
        let prev = columns (x, nIn, batch, c0, m)
        let rNext = ReadOnlySpan(r2, 0, nOut * m)
        let mutable change = 0.0
        for i in 0 .. hidden - 1 do
            for q in 0 .. nOut - 1 do
                ws.ColumnWeights[q] <- w2[q * hidden + i]
            let struct (c, biasSum) =
                FusedKernels.trainHiddenRowFused (
                    m, nIn, nOut, Span(z0, i * batch + c0, m), Span(a0, i * batch + c0, m), prev, batch,
                    ReadOnlySpan(w1, i * nIn, nIn), b1[i], rNext, m, ReadOnlySpan ws.ColumnWeights,
                    Span(g1, i * nIn, nIn), Span ws.ColumnGradient, s
                )
            for q in 0 .. nOut - 1 do
                g2[q * hidden + i] <- ws.ColumnGradient[q]
            bias1Sums[i] <- biasSum
            change <- if Double.IsNaN c || c > change then c else change
        for i in 0 .. nOut - 1 do
            let zRow = Span(zLast, i * batch + c0, m)
            let c =
                FusedKernels.trainOutput (zRow, ReadOnlySpan(r2, i * m, m), ReadOnlySpan(ws.Phi, i * m, m), ReadOnlySpan(y, i * batch + c0, m), s, gamma)
            change <- if Double.IsNaN c || c > change then c else change
        // Weights and biases from the gradients of the old state, W + dt·(−β·G) as in the general step.
        if beta <> 0.0 then
            for i in 0 .. g1.Length - 1 do
                w1[i] <- w1[i] + dt * (-beta * g1[i])
            for i in 0 .. hidden - 1 do
                b1[i] <- b1[i] + dt * (-beta * bias1Sums[i])
            for i in 0 .. g2.Length - 1 do
                w2[i] <- w2[i] + dt * (-beta * g2[i])
            let b2 = mlp.Biases[1]
            for i in 0 .. nOut - 1 do
                b2[i] <- b2[i] + dt * (-beta * TensorPrimitives.Sum(ReadOnlySpan(r2, i * m, m)))
        change

    let private stepWith
        (
            vectorised: bool,
            mlp: Mlp,
            x: float[],
            y: float[],
            stalks: NetworkStalks,
            c0: int,
            m: int,
            settings: SheafTrainingSettings,
            ws: SheafStepWorkspace
        ) : float =
        let batch = stalks.Batch
        let k = mlp.HiddenCount
        let s = settings.Alpha * settings.Dt
        let dt = settings.Dt
        let beta = settings.Beta
        let gamma = settings.OutputCoupling
        // 1. Residuals of every weight edge from the old weights and stalks (one GEMM per edge).
        for l in 0 .. mlp.AffineCount - 1 do
            let nOut = mlp.Layers[l + 1]
            let nIn = mlp.Layers[l]
            let previous = columns ((if l = 0 then x else stalks.A[l - 1]), nIn, batch, c0, m)
            let r = ws.Residual[l]
            Gemm.multiplyAddBias (nOut, m, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, ReadOnlySpan mlp.Biases[l], Span(r, 0, nOut * m), m)
            let z = stalks.Z[l]
            for i in 0 .. nOut - 1 do
                let zRow = i * batch + c0
                let rRow = i * m
                if vectorised then
                    let rr = Span(r, rRow, m)
                    TensorPrimitives.Subtract(Span.op_Implicit rr, ReadOnlySpan(z, zRow, m), rr)
                else
                    for j in 0 .. m - 1 do
                        r[rRow + j] <- r[rRow + j] - z[zRow + j]
        // 2. Backward pulls W_{ℓ+1}ᵀ r_{ℓ+1}, before the weights move.
        for l in 0 .. k - 1 do
            let nOut = mlp.Layers[l + 1]
            let nNext = mlp.Layers[l + 2]
            Gemm.multiplyTransposeA (
                nOut, m, nNext, ReadOnlySpan mlp.Weights[l + 1], nOut,
                ReadOnlySpan(ws.Residual[l + 1], 0, nNext * m), m, Span(ws.Back[l], 0, nOut * m), m, false
            )
        // 3. φ(z^(k+1)) of the old state, on a compact copy of the block.
        let nOut = mlp.OutputDim
        let zLast = stalks.Z[k]
        for i in 0 .. nOut - 1 do
            Array.blit zLast (i * batch + c0) ws.ZOut (i * m) m
        Activations.applyOutput (mlp.Output, nOut, m, ReadOnlySpan(ws.ZOut, 0, nOut * m), Span(ws.Phi, 0, nOut * m))
        // 4. Weights and biases from the old residuals and the old a^(ℓ−1) (the stalks have not moved yet).
        if beta <> 0.0 then
            for l in 0 .. mlp.AffineCount - 1 do
                let rows = mlp.Layers[l + 1]
                let cols = mlp.Layers[l]
                let previous = columns ((if l = 0 then x else stalks.A[l - 1]), cols, batch, c0, m)
                let g = ws.Gradient[l]
                let r = ws.Residual[l]
                if vectorised && rows * cols <= FusedKernels.SmallOuterEntries then
                    FusedKernels.multiplyTransposeBSmall (rows, cols, m, ReadOnlySpan(r, 0, rows * m), m, previous, batch, Span g, cols)
                else
                    Gemm.multiplyTransposeB (rows, cols, m, ReadOnlySpan(r, 0, rows * m), m, previous, batch, Span g, cols, false)
                let w = mlp.Weights[l]
                // Same association as the reference, W + dt·(−β·G), so round-off matches it as closely as possible.
                for i in 0 .. w.Length - 1 do
                    w[i] <- w[i] + dt * (-beta * g[i])
                let b = mlp.Biases[l]
                for i in 0 .. rows - 1 do
                    let sum =
                        if vectorised then TensorPrimitives.Sum(ReadOnlySpan(r, i * m, m))
                        else
                            let mutable sum = 0.0
                            for j in 0 .. m - 1 do
                                sum <- sum + r[i * m + j]
                            sum
                    b[i] <- b[i] + dt * (-beta * sum)
        // 5. Stalks, element by element from their old values (Jacobi), so the update can be in place.
        let mutable change = 0.0
        for l in 0 .. k - 1 do
            let z = stalks.Z[l]
            let a = stalks.A[l]
            let r = ws.Residual[l]
            let back = ws.Back[l]
            for i in 0 .. mlp.Layers[l + 1] - 1 do
                let zRow = Span(z, i * batch + c0, m)
                let aRow = Span(a, i * batch + c0, m)
                let rRow = ReadOnlySpan(r, i * m, m)
                let bRow = ReadOnlySpan(back, i * m, m)
                let c =
                    if vectorised then FusedKernels.trainHidden (zRow, aRow, rRow, bRow, s)
                    else FusedKernels.trainHiddenReference (zRow, aRow, rRow, bRow, s)
                change <- if Double.IsNaN c || c > change then c else change
        let r = ws.Residual[k]
        for i in 0 .. nOut - 1 do
            let zRow = Span(zLast, i * batch + c0, m)
            let rRow = ReadOnlySpan(r, i * m, m)
            let pRow = ReadOnlySpan(ws.Phi, i * m, m)
            let yRow = ReadOnlySpan(y, i * batch + c0, m)
            let c =
                if vectorised then FusedKernels.trainOutput (zRow, rRow, pRow, yRow, s, gamma)
                else FusedKernels.trainOutputReference (zRow, rRow, pRow, yRow, s, gamma)
            change <- if Double.IsNaN c || c > change then c else change
        change

    /// One joint step (see `stepWith`): fused vector kernels for the element-wise stalk updates, and for one
    /// narrow hidden layer with Vector512 the single fused pass of `stepFusedOneHidden`; the stalks equal those
    /// of `stepReference` bit for bit, the weight gradients and bias sums are vectorised (summation order differs).
    let step (mlp: Mlp, x: float[], y: float[], stalks: NetworkStalks, c0: int, m: int, settings: SheafTrainingSettings, ws: SheafStepWorkspace) : float =
        if Runtime.Intrinsics.Vector512.IsHardwareAccelerated && mlp.HiddenCount = 1
           && mlp.Layers[0] <= FusedKernels.FusedTrainMaxWidth && mlp.Layers[2] <= FusedKernels.FusedTrainMaxWidth then
            stepFusedOneHidden (mlp, x, y, stalks, c0, m, settings, ws)
        else
            stepWith (true, mlp, x, y, stalks, c0, m, settings, ws)

    /// The scalar twin of `step` (the original element loops; the benchmark baseline).
    let stepReference (mlp: Mlp, x: float[], y: float[], stalks: NetworkStalks, c0: int, m: int, settings: SheafTrainingSettings, ws: SheafStepWorkspace) : float =
        stepWith (false, mlp, x, y, stalks, c0, m, settings, ws)

    /// Fills the stalks by the given method (Given is not handled here: the caller copies its state).
    let initialise (mlp: Mlp, x: float[], stalks: NetworkStalks, method: StalkInitMethod, rng: Rng) =
        match method with
        | StalkInitMethod.Random ->
            // Draw order of the reference: z^(1..k+1), then a^(1..k), each n_ℓ × B row-major.
            for z in stalks.Z do
                rng.FillNormal(Span z, 1.0)
            for a in stalks.A do
                rng.FillNormal(Span a, 1.0)
        | _ -> UnitriangularSolve.solve (mlp, ReadOnlySpan x, stalks)

    /// Copies a state into another of the same shape.
    let copyStalks (source: NetworkStalks, destination: NetworkStalks) =
        if source.Batch <> destination.Batch || source.Z.Length <> destination.Z.Length || source.A.Length <> destination.A.Length then
            invalidArg (nameof source) "The stalks belong to a different architecture or batch."
        for l in 0 .. source.Z.Length - 1 do
            Guard.length (nameof source) destination.Z[l].Length source.Z[l].Length
            Array.blit source.Z[l] 0 destination.Z[l] 0 source.Z[l].Length
        for l in 0 .. source.A.Length - 1 do
            Guard.length (nameof source) destination.A[l].Length source.A[l].Length
            Array.blit source.A[l] 0 destination.A[l] 0 source.A[l].Length
        Array.blit source.Output 0 destination.Output 0 source.Output.Length

    /// <summary>The training loop (theory §5.3). Trains `mlp` in place: log the forward-pass losses at step 0,
    /// initialise the stalks, then for each epoch (re-initialise unless warm start, from epoch 2 on) run
    /// StepsPerEpoch joint steps and log the forward-pass losses. Mini-batches cycle through contiguous blocks of
    /// the training set in order. `test` may be null; `initialStalks` is used when StalkInit = Given (copied);
    /// `progress` (may be null) receives every log row. Returns the log and the final stalks.</summary>
    let train
        (
            mlp: Mlp,
            data: TrainingData,
            test: TrainingData,
            settings: SheafTrainingSettings,
            initialStalks: NetworkStalks,
            progress: Action<TrainingLogEntry>,
            cancellation: CancellationToken
        ) : struct (SheafTrainingResult * NetworkStalks) =
        validate settings
        data.Validate(mlp, "train")
        if not (isNull (box test)) then test.Validate(mlp, "test")
        let batch = data.Count
        if settings.StalkInit = StalkInitMethod.Given && isNull (box initialStalks) then
            invalidArg (nameof initialStalks) "StalkInit = Given needs initial stalks."
        let trainEval = Evaluator(mlp, data)
        let testEval = if isNull (box test) then Unchecked.defaultof<Evaluator> else Evaluator(mlp, test)
        let log = ResizeArray<TrainingLogEntry>(settings.Epochs + 1)
        let record (entry: TrainingLogEntry) =
            log.Add entry
            if not (isNull progress) then progress.Invoke entry
        record (Evaluator.Log(0, trainEval, testEval))
        let stalks = NetworkStalks(mlp, batch)
        let rng = Rng settings.StalkSeed
        if settings.StalkInit = StalkInitMethod.Given then copyStalks (initialStalks, stalks)
        else initialise (mlp, data.Inputs, stalks, settings.StalkInit, rng)
        let m = if settings.MiniBatchSize = 0 || settings.MiniBatchSize >= batch then batch else settings.MiniBatchSize
        let blocks = (batch + m - 1) / m
        let ws = SheafStepWorkspace(mlp, m)
        let mutable steps = 0
        let mutable diverged = false
        let mutable epoch = 1
        while epoch <= settings.Epochs && not diverged do
            if epoch > 1 && not settings.WarmStart then
                let method = if settings.StalkInit = StalkInitMethod.Given then StalkInitMethod.Forward else settings.StalkInit
                initialise (mlp, data.Inputs, stalks, method, rng)
            for _ in 1 .. settings.StepsPerEpoch do
                if steps &&& 63 = 0 then cancellation.ThrowIfCancellationRequested()
                let block = steps % blocks
                let c0 = block * m
                step (mlp, data.Inputs, data.Targets, stalks, c0, min m (batch - c0), settings, ws) |> ignore
                steps <- steps + 1
            let entry = Evaluator.Log(steps, trainEval, testEval)
            record entry
            diverged <- not (Double.IsFinite entry.TrainLoss)
            epoch <- epoch + 1
        // Keep a_out consistent with z^(k+1) for callers that read the output stalk.
        Activations.applyOutput (mlp.Output, mlp.OutputDim, batch, ReadOnlySpan stalks.Z[mlp.HiddenCount], Span stalks.Output)
        struct ({ Log = log.ToArray(); Steps = steps; Diverged = diverged }, stalks)

    /// <summary>Relaxes the stalks with the weights frozen (β = 0) under the training forces with output coupling γ,
    /// until the largest change in one step is below `tolerance` or `maxSteps` is reached. The fixed point is the
    /// minimiser of ½‖δω‖² + γ·ℓ(z^(k+1), y) (ℓ = ½‖z − y‖² for identity, the cross-entropy for sigmoid/softmax)
    /// at a self-consistent pattern. Returns (steps, converged).</summary>
    let relax (mlp: Mlp, x: float[], y: float[], stalks: NetworkStalks, gamma: float, dt: float, tolerance: float, maxSteps: int) =
        let settings =
            { Alpha = 1.0
              Beta = 0.0
              Dt = dt
              Epochs = 0
              StepsPerEpoch = 1
              WarmStart = true
              StalkInit = StalkInitMethod.Forward
              StalkSeed = 0L
              MiniBatchSize = 0
              OutputCoupling = gamma }
        validate settings
        let ws = SheafStepWorkspace(mlp, stalks.Batch)
        let mutable steps = 0
        let mutable change = infinity
        while steps < maxSteps && not (change < tolerance) do
            change <- step (mlp, x, y, stalks, 0, stalks.Batch, settings, ws)
            steps <- steps + 1
        struct (steps, change < tolerance)
