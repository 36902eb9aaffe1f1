namespace SheafCore.Numerics

open System
open System.Threading

/// How the training stalks are brought to equilibrium before each local weight update.
type internal EquilibriumRelaxation =
    /// The structured direct solve (PinnedEquilibrium): exact, but its transposed solves are a backward pass.
    | Direct = 0
    /// Local message passing: the adaptive heat integrator (NetworkAdaptiveHeat) run to a tolerance, warm-started.
    | Diffusion = 1

/// Settings of equilibrium sheaf training (issue 5, item 8).
type internal EquilibriumTrainingSettings =
    { /// Step size on the local updates, scaled to be comparable with SGD's learning rate on the mean loss.
      LearningRate: float
      Epochs: int
      StepsPerEpoch: int
      /// Adam on the local updates (else plain descent).
      UseAdam: bool
      Beta1: float
      Beta2: float
      Epsilon: float
      /// γ, the strength of the output edge to the target (1 in the paper's training energy).
      OutputCoupling: float
      /// Active-set iterations allowed per sample and step (Direct).
      MaxPatternIterations: int
      Relaxation: EquilibriumRelaxation
      /// Diffusion: stop when max |force| < this (the heat flow's stopping rule with dt = 1).
      DiffusionTolerance: float
      /// Diffusion: accepted RKC steps allowed per relaxation.
      DiffusionMaxSteps: int }

/// What the relaxations of a run did, summed over all steps.
type internal EquilibriumRunStats =
    { /// Direct: sample-steps whose active-set iteration ended without a self-consistent pattern. Diffusion: relaxations
      /// that stopped at DiffusionMaxSteps before the tolerance.
      Unconverged: int
      /// Direct: per-sample re-solves after a pattern change. Diffusion: force evaluations (Laplacian applications).
      Work: int64 }

/// <summary>Sheaf training with the stalks at their output-pinned equilibrium before every weight update.</summary>
/// <remarks>Each step (i) relaxes the training stalks of every sample to the minimiser of the training energy
/// ½‖δω‖² + γ·ℓ(z^(k+1), y) for the current weights (ℓ = ½‖z − y‖², or the cross-entropy edge of a sigmoid/softmax
/// output, theory §5.1), warm-started from the previous step's stalks, then (ii) updates each affine edge from its own
/// residual r_ℓ = W_ℓ a_(ℓ−1) + b_ℓ − z_ℓ and its own endpoint stalk a_(ℓ−1): U_ℓ = Σ_i r_iℓ [a_i,ℓ−1; 1]ᵀ / (γ s), with s
/// the factor between the summed output-edge gradient and the mean loss's (nB/2 for MSE, nB for binary, B for
/// categorical cross-entropy), applied by descent or Adam. By the envelope theorem U is the exact gradient (per unit γs)
/// of the relaxed energy E*(θ) = min_ω E(ω, θ), which tends to the loss gradient as γ → 0 (GradientAgreement).
/// Step (ii) is local. Step (i) is local only with Relaxation = Diffusion (the heat flow, each stalk moved by its
/// neighbouring edges). Relaxation = Direct solves it exactly through the unitriangular structure (PinnedEquilibrium),
/// whose m transposed solves per sample are a backward pass: that variant is a non-local reference for how much of the
/// gap to SGD comes from stalks off equilibrium, not a backprop-free trainer.</remarks>
[<RequireQualifiedAccess>]
module internal EquilibriumTraining =

    let validate (settings: EquilibriumTrainingSettings) =
        if not (settings.LearningRate > 0.0 && Double.IsFinite settings.LearningRate) then
            invalidArg "LearningRate" (sprintf "Must be positive and finite (got %g)." settings.LearningRate)
        Guard.nonNegative "Epochs" settings.Epochs
        Guard.positive "StepsPerEpoch" settings.StepsPerEpoch
        if not (settings.OutputCoupling > 0.0 && Double.IsFinite settings.OutputCoupling) then
            invalidArg "OutputCoupling" (sprintf "Must be positive and finite (got %g)." settings.OutputCoupling)
        Guard.positive "MaxPatternIterations" settings.MaxPatternIterations
        if not (Enum.IsDefined settings.Relaxation) then invalidArg "Relaxation" "Unknown relaxation."
        if not (settings.DiffusionTolerance > 0.0 && Double.IsFinite settings.DiffusionTolerance) then
            invalidArg "DiffusionTolerance" (sprintf "Must be positive and finite (got %g)." settings.DiffusionTolerance)
        Guard.positive "DiffusionMaxSteps" settings.DiffusionMaxSteps
        if settings.UseAdam then
            if not (settings.Beta1 >= 0.0 && settings.Beta1 < 1.0) then invalidArg "Beta1" "Must lie in [0, 1)."
            if not (settings.Beta2 >= 0.0 && settings.Beta2 < 1.0) then invalidArg "Beta2" "Must lie in [0, 1)."
            if not (settings.Epsilon > 0.0) then invalidArg "Epsilon" "Must be positive."

    /// Checks what depends on the network: the heat flow's cross-entropy output edge has strength 1, so diffusion
    /// relaxation of a sigmoid/softmax network needs γ = 1.
    let validateFor (mlp: Mlp, settings: EquilibriumTrainingSettings) =
        if settings.Relaxation = EquilibriumRelaxation.Diffusion && mlp.Output <> OutputActivation.Identity && settings.OutputCoupling <> 1.0 then
            invalidArg "OutputCoupling" "Diffusion relaxation of a sigmoid/softmax network needs γ = 1 (the heat flow's cross-entropy edge has strength 1)."

    /// The factor s between Σ_i ∂ℓ/∂z (summed output-edge gradient) and the gradient of the mean loss.
    let lossScale (mlp: Mlp, batch: int) =
        match mlp.Output with
        | OutputActivation.Identity -> 0.5 * float (mlp.OutputDim * batch)
        | OutputActivation.Sigmoid -> float (mlp.OutputDim * batch)
        | _ -> float batch

    /// <summary>The local update of every affine edge from its residual and endpoint stalk (no other information):
    /// gW_ℓ = c Σ_i r_iℓ a_i,ℓ−1ᵀ, gB_ℓ = c Σ_i r_iℓ with r_ℓ = W_ℓ a_ℓ−1 + b_ℓ − z_ℓ (a_0 = x).</summary>
    let localUpdate (mlp: Mlp, x: float[], stalks: NetworkStalks, c: float, residual: float[][], gW: float[][], gB: float[][]) =
        let batch = stalks.Batch
        for l in 0 .. mlp.AffineCount - 1 do
            let nOut, nIn = mlp.Layers[l + 1], mlp.Layers[l]
            let aPrev = if l = 0 then ReadOnlySpan x else ReadOnlySpan stalks.A[l - 1]
            let r = residual[l]
            Gemm.multiplyAddBias (nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, aPrev, batch, ReadOnlySpan mlp.Biases[l], Span r, batch)
            System.Numerics.Tensors.TensorPrimitives.Subtract(ReadOnlySpan r, ReadOnlySpan stalks.Z[l], Span r)
            Gemm.multiplyTransposeB (nOut, nIn, batch, ReadOnlySpan r, batch, aPrev, batch, Span gW[l], nIn, false)
            System.Numerics.Tensors.TensorPrimitives.Multiply(ReadOnlySpan gW[l], c, Span gW[l])
            for o in 0 .. nOut - 1 do
                gB[l][o] <- c * System.Numerics.Tensors.TensorPrimitives.Sum(ReadOnlySpan(r, o * batch, batch))

    /// <summary>Trains `mlp` in place: log at step 0, then per epoch StepsPerEpoch (equilibrium, local update) steps
    /// and a log row of forward-pass losses. `test` and `progress` may be null. Returns the log and the relaxation
    /// statistics.</summary>
    let train
        (
            mlp: Mlp,
            data: TrainingData,
            test: TrainingData,
            settings: EquilibriumTrainingSettings,
            progress: Action<TrainingLogEntry>,
            cancellation: CancellationToken
        ) : struct (SheafTrainingResult * EquilibriumRunStats) =
        validate settings
        validateFor (mlp, settings)
        data.Validate(mlp, "train")
        if not (isNull (box test)) then test.Validate(mlp, "test")
        let batch = data.Count
        let k = mlp.HiddenCount
        let gamma = settings.OutputCoupling
        let trainEval = Evaluator(mlp, data)
        let testEval = if isNull (box test) then Unchecked.defaultof<Evaluator> else Evaluator(mlp, test)
        let log = ResizeArray<TrainingLogEntry>(settings.Epochs + 1)
        let record (entry: TrainingLogEntry) =
            log.Add entry
            if not (isNull progress) then progress.Invoke entry
        record (Evaluator.Log(0, trainEval, testEval))
        let x, y = data.Inputs, data.Targets
        let stalks = NetworkStalks(mlp, batch)
        UnitriangularSolve.solve (mlp, ReadOnlySpan x, stalks)
        let direct = settings.Relaxation = EquilibriumRelaxation.Direct
        let ws = if direct then PinnedEquilibriumWorkspace(mlp, batch) else Unchecked.defaultof<_>
        if direct then PinnedEquilibrium.seedMasks (mlp, stalks, ws)
        let identity = mlp.Output = OutputActivation.Identity
        let pins =
            if identity then [| StalkPin(2 * k, Array.init mlp.OutputDim id, Array.copy y, gamma, false) |]
            else [| StalkPin(2 * k + 1, Array.init mlp.OutputDim id, Array.copy y, 1.0, true) |]
        let heat =
            { Alpha = 1.0; Dt = 1.0; Tolerance = settings.DiffusionTolerance; MinSteps = 0; MaxSteps = settings.DiffusionMaxSteps
              OutputForce = OutputForceMode.Identity; EnergyEvery = Int32.MaxValue; MaxCrossings = 0 }
        let scale = 1.0 / (gamma * lossScale (mlp, batch))
        let residual = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> (mlp.Layers[l + 1] * batch))
        let gW = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> mlp.Weights[l].Length)
        let gB = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> mlp.Biases[l].Length)
        let moments (arrays: float[][]) =
            if settings.UseAdam then Array.map (fun (a: float[]) -> Array.zeroCreate<float> a.Length) arrays else [||]
        let mW, vW, mB, vB = moments mlp.Weights, moments mlp.Weights, moments mlp.Biases, moments mlp.Biases
        let mutable unconverged = 0
        let mutable work = 0L
        let mutable steps = 0
        let mutable diverged = false
        let mutable epoch = 1
        while epoch <= settings.Epochs && not diverged do
            for _ in 1 .. settings.StepsPerEpoch do
                if steps &&& 15 = 0 then cancellation.ThrowIfCancellationRequested()
                if direct then
                    let stats = PinnedEquilibrium.solve (mlp, x, y, gamma, settings.MaxPatternIterations, ws, stalks)
                    unconverged <- unconverged + stats.Unconverged
                    work <- work + int64 stats.ExtraSolves
                else
                    let run = NetworkAdaptiveHeat.run (mlp, x, stalks, pins, heat, null, cancellation)
                    if not run.Converged then unconverged <- unconverged + 1
                    work <- work + int64 run.LaplacianApplications
                localUpdate (mlp, x, stalks, scale, residual, gW, gB)
                steps <- steps + 1
                for l in 0 .. mlp.AffineCount - 1 do
                    if settings.UseAdam then
                        Backprop.adamUpdate (mlp.Weights[l], gW[l], mW[l], vW[l], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, steps)
                        Backprop.adamUpdate (mlp.Biases[l], gB[l], mB[l], vB[l], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, steps)
                    else
                        let w, g = mlp.Weights[l], gW[l]
                        for i in 0 .. w.Length - 1 do
                            w[i] <- w[i] - settings.LearningRate * g[i]
                        let b, g = mlp.Biases[l], gB[l]
                        for i in 0 .. b.Length - 1 do
                            b[i] <- b[i] - settings.LearningRate * g[i]
            let entry = Evaluator.Log(steps, trainEval, testEval)
            record entry
            diverged <- not (Double.IsFinite entry.TrainLoss)
            epoch <- epoch + 1
        struct ({ Log = log.ToArray(); Steps = steps; Diverged = diverged }, { Unconverged = unconverged; Work = work })
