namespace SheafCore.Numerics

open System
open System.Threading

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
      /// Active-set iterations allowed per sample and step (each is one dense solve).
      MaxPatternIterations: int }

/// <summary>Sheaf training with the stalks at their exact output-pinned equilibrium before every weight update.</summary>
/// <remarks>Each step (i) relaxes the training stalks of every sample to the minimiser of the training energy
/// ½‖δω‖² + γ/2‖z^(k+1) − y‖² for the current weights (NetworkEquilibrium.solve, warm-started from the previous
/// step's stalks, so the active-set iteration usually needs one solve), then (ii) updates each affine edge from its
/// own residual r_ℓ = W_ℓ a_(ℓ−1) + b_ℓ − z_ℓ and its own endpoint stalk a_(ℓ−1): U_ℓ = Σ_i r_iℓ [a_i,ℓ−1; 1]ᵀ / (γ s),
/// s = nB/2 (the factor between the summed edge loss and the mean squared error), applied by descent or Adam.
/// By the envelope theorem U is the exact gradient (per unit γ s) of the relaxed energy E*(θ) = min_ω E(ω, θ), which
/// tends to the loss gradient as γ → 0 (GradientAgreement). Step (ii) is local; step (i) is NOT: the direct solve
/// couples all layers of a sample (a dense Cholesky of the pinned normal equations), which a network of local
/// processors could only reproduce by running the heat flow to convergence. It is the non-local reference for how
/// much of the gap to SGD comes from the stalks being off equilibrium. No backward pass through the network is used.
/// Identity output only (the equilibrium solver's restriction).</remarks>
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
        if settings.UseAdam then
            if not (settings.Beta1 >= 0.0 && settings.Beta1 < 1.0) then invalidArg "Beta1" "Must lie in [0, 1)."
            if not (settings.Beta2 >= 0.0 && settings.Beta2 < 1.0) then invalidArg "Beta2" "Must lie in [0, 1)."
            if not (settings.Epsilon > 0.0) then invalidArg "Epsilon" "Must be positive."

    /// <summary>Trains `mlp` in place: log at step 0, then per epoch StepsPerEpoch (equilibrium, local update) steps
    /// and a log row of forward-pass losses. `test` and `progress` may be null. Returns the log and the number of
    /// samples × steps whose active-set iteration did not find a self-consistent pattern (the last solve is used).</summary>
    let train
        (
            mlp: Mlp,
            data: TrainingData,
            test: TrainingData,
            settings: EquilibriumTrainingSettings,
            progress: Action<TrainingLogEntry>,
            cancellation: CancellationToken
        ) : struct (SheafTrainingResult * int) =
        validate settings
        if mlp.Output <> OutputActivation.Identity then
            invalidArg (nameof mlp) "Equilibrium training needs an identity-output (regression) network."
        data.Validate(mlp, "train")
        if not (isNull (box test)) then test.Validate(mlp, "test")
        let batch = data.Count
        let k = mlp.HiddenCount
        let trainEval = Evaluator(mlp, data)
        let testEval = if isNull (box test) then Unchecked.defaultof<Evaluator> else Evaluator(mlp, test)
        let log = ResizeArray<TrainingLogEntry>(settings.Epochs + 1)
        let record (entry: TrainingLogEntry) =
            log.Add entry
            if not (isNull progress) then progress.Invoke entry
        record (Evaluator.Log(0, trainEval, testEval))
        let stalks = NetworkStalks(mlp, batch)
        UnitriangularSolve.solve (mlp, ReadOnlySpan data.Inputs, stalks)
        let pins =
            [| StalkPin(2 * k, Array.init mlp.OutputDim id, Array.copy data.Targets, settings.OutputCoupling, false) |]
        let scale = 1.0 / (settings.OutputCoupling * 0.5 * float (mlp.OutputDim * batch))
        let gW = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> mlp.Weights[l].Length)
        let gB = Array.init mlp.AffineCount (fun l -> Array.zeroCreate<float> mlp.Biases[l].Length)
        let moments (arrays: float[][]) =
            if settings.UseAdam then Array.map (fun (a: float[]) -> Array.zeroCreate<float> a.Length) arrays else [||]
        let mW, vW, mB, vB = moments mlp.Weights, moments mlp.Weights, moments mlp.Biases, moments mlp.Biases
        let x = data.Inputs
        let mutable unconverged = 0
        let mutable steps = 0
        let mutable diverged = false
        let mutable epoch = 1
        while epoch <= settings.Epochs && not diverged do
            for _ in 1 .. settings.StepsPerEpoch do
                if steps &&& 15 = 0 then cancellation.ThrowIfCancellationRequested()
                let results = NetworkEquilibrium.solve (mlp, x, stalks, pins, settings.MaxPatternIterations)
                for r in results do
                    if not r.Converged then unconverged <- unconverged + 1
                // Local updates: edge ℓ sees only z_ℓ and a_(ℓ−1) (the input x for ℓ = 1).
                for l in 0 .. mlp.AffineCount - 1 do
                    let nOut, nIn = mlp.Layers[l + 1], mlp.Layers[l]
                    let w, b, z = mlp.Weights[l], mlp.Biases[l], stalks.Z[l]
                    let aPrev = if l = 0 then x else stalks.A[l - 1]
                    let gw, gb = gW[l], gB[l]
                    Array.Clear gw
                    Array.Clear gb
                    let residual = Array.zeroCreate<float> batch
                    for o in 0 .. nOut - 1 do
                        for s in 0 .. batch - 1 do
                            residual[s] <- b[o] - z[o * batch + s]
                        for i in 0 .. nIn - 1 do
                            let wi = w[o * nIn + i]
                            for s in 0 .. batch - 1 do
                                residual[s] <- residual[s] + wi * aPrev[i * batch + s]
                        let mutable sb = 0.0
                        for s in 0 .. batch - 1 do
                            sb <- sb + residual[s]
                        gb[o] <- scale * sb
                        for i in 0 .. nIn - 1 do
                            let mutable acc = 0.0
                            for s in 0 .. batch - 1 do
                                acc <- acc + residual[s] * aPrev[i * batch + s]
                            gw[o * nIn + i] <- scale * acc
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
        struct ({ Log = log.ToArray(); Steps = steps; Diverged = diverged }, unconverged)
