namespace SheafCore.Numerics

open System

/// The losses of the reference code (theory §5.3, fixtures README "Losses"), over feature-major n × B blocks
/// (row c is output c across the batch). The loss follows the output activation: identity → MSE, sigmoid →
/// binary cross-entropy, softmax → categorical cross-entropy.
[<RequireQualifiedAccess>]
module internal Losses =

    /// Probabilities are clamped to [ε, 1 − ε] before the logarithm, as the reference does, so a saturated
    /// output gives a large finite loss instead of ∞.
    [<Literal>]
    let ProbabilityFloor = 1e-12

    let inline private clampP (p: float) = Math.Clamp(p, ProbabilityFloor, 1.0 - ProbabilityFloor)

    /// Mean loss of predictions ŷ = φ(z) (n × B) against targets y (n × B):
    /// MSE = (1/(nB)) Σ (ŷ − y)²; BCE = −(1/(nB)) Σ [y log p + (1 − y) log(1 − p)];
    /// CE = −(1/B) Σ_i Σ_c y_c log p_c (the mean over samples of the per-sample sum over classes).
    let value (activation: OutputActivation, n: int, batch: int, output: ReadOnlySpan<float>, target: ReadOnlySpan<float>) : float =
        Guard.length (nameof output) (n * batch) output.Length
        Guard.length (nameof target) (n * batch) target.Length
        let mutable sum = 0.0
        match activation with
        | OutputActivation.Identity ->
            for i in 0 .. output.Length - 1 do
                let d = output[i] - target[i]
                sum <- sum + d * d
            sum / float (n * batch)
        | OutputActivation.Sigmoid ->
            for i in 0 .. output.Length - 1 do
                let p = clampP output[i]
                sum <- sum - (target[i] * log p + (1.0 - target[i]) * log (1.0 - p))
            sum / float (n * batch)
        | _ ->
            for i in 0 .. output.Length - 1 do
                sum <- sum - target[i] * log (clampP output[i])
            sum / float batch

    /// destination = ∂L/∂z^(k+1) of the mean loss L above, given ŷ = φ(z), exactly as reverse mode through the
    /// clamp would give it: MSE 2(ŷ − y)/(nB); sigmoid (p − y)/(nB) where p is inside the clamp, else 0; softmax
    /// Jᵀg/B with g_c = −y_c/p_c (0 where clamped) and J = diag(p) − ppᵀ, i.e. (p Σ_c y_c − y)/B when nothing
    /// is clamped.
    let outputGradient
        (activation: OutputActivation, n: int, batch: int, output: ReadOnlySpan<float>, target: ReadOnlySpan<float>, destination: Span<float>)
        =
        Guard.length (nameof output) (n * batch) output.Length
        Guard.length (nameof target) (n * batch) target.Length
        Guard.atLeast (nameof destination) (n * batch) destination.Length
        let inside (p: float) = p > ProbabilityFloor && p < 1.0 - ProbabilityFloor
        match activation with
        | OutputActivation.Identity ->
            let scale = 2.0 / float (n * batch)
            for i in 0 .. output.Length - 1 do
                destination[i] <- scale * (output[i] - target[i])
        | OutputActivation.Sigmoid ->
            let scale = 1.0 / float (n * batch)
            for i in 0 .. output.Length - 1 do
                let p = output[i]
                // d/dz of −[y log p + (1−y) log(1−p)] with p = σ(z) is p − y (the p(1−p) of σ' cancels).
                destination[i] <- if inside p then scale * (p - target[i]) else 0.0
        | _ ->
            let scale = 1.0 / float batch
            for s in 0 .. batch - 1 do
                // Σ_d p_d g_d with g_d = −y_d/p_d reduces to −Σ_d y_d over the unclamped classes.
                let mutable pg = 0.0
                for c in 0 .. n - 1 do
                    let i = c * batch + s
                    if inside output[i] then pg <- pg - target[i]
                for c in 0 .. n - 1 do
                    let i = c * batch + s
                    let p = output[i]
                    let g = if inside p then -target[i] / p else 0.0
                    destination[i] <- scale * (p * g - p * pg)

    /// Number of correctly classified samples: sigmoid p > 0.5 against y > 0.5 (every output of the sample must
    /// agree), softmax argmax p against argmax y (first maximum on ties). Regression has no accuracy: −1.
    let correctCount (activation: OutputActivation, n: int, batch: int, output: ReadOnlySpan<float>, target: ReadOnlySpan<float>) : int =
        Guard.length (nameof output) (n * batch) output.Length
        Guard.length (nameof target) (n * batch) target.Length
        match activation with
        | OutputActivation.Identity -> -1
        | OutputActivation.Sigmoid ->
            let mutable correct = 0
            for s in 0 .. batch - 1 do
                let mutable ok = true
                for c in 0 .. n - 1 do
                    let i = c * batch + s
                    if (output[i] > 0.5) <> (target[i] > 0.5) then ok <- false
                if ok then correct <- correct + 1
            correct
        | _ ->
            let mutable correct = 0
            for s in 0 .. batch - 1 do
                let mutable bestP = 0
                let mutable bestY = 0
                for c in 1 .. n - 1 do
                    if output[c * batch + s] > output[bestP * batch + s] then bestP <- c
                    if target[c * batch + s] > target[bestY * batch + s] then bestY <- c
                if bestP = bestY then correct <- correct + 1
            correct

/// One row of a training log: the standard forward-pass losses after `Step` steps (NaN where absent: no test
/// set, or accuracy of a regression).
[<Struct>]
type internal TrainingLogEntry =
    { Step: int
      TrainLoss: float
      TestLoss: float
      TrainAccuracy: float
      TestAccuracy: float }

/// A labelled data set in the trainers' layout: inputs n0 × B and targets n_out × B, feature-major.
[<Sealed>]
type internal TrainingData(inputs: float[], targets: float[], batch: int) =
    member _.Inputs = inputs
    member _.Targets = targets
    member _.Count = batch

    /// Checks shapes and finiteness against a network; names the offending argument.
    member _.Validate(mlp: Mlp, name: string) =
        if batch < 1 then invalidArg name "The data set is empty; at least one sample is needed."
        if isNull inputs || inputs.Length <> mlp.InputDim * batch then
            invalidArg name (sprintf "Inputs must be %d × %d." mlp.InputDim batch)
        if isNull targets || targets.Length <> mlp.OutputDim * batch then
            invalidArg name (sprintf "Targets must be %d × %d." mlp.OutputDim batch)
        Guard.finite name (ReadOnlySpan inputs)
        Guard.finite name (ReadOnlySpan targets)

/// Forward-pass evaluation of a network on a fixed data set, with its buffers allocated once.
[<Sealed>]
type internal Evaluator(mlp: Mlp, data: TrainingData) =
    let workspace = ForwardWorkspace(mlp, data.Count)

    /// The mean loss and the accuracy (NaN for regression) of the standard forward pass with the current weights.
    member _.Evaluate() : struct (float * float) =
        Forward.run (mlp, ReadOnlySpan data.Inputs, workspace)
        let n = mlp.OutputDim
        let output = ReadOnlySpan workspace.Output
        let target = ReadOnlySpan data.Targets
        let loss = Losses.value (mlp.Output, n, data.Count, output, target)
        let correct = Losses.correctCount (mlp.Output, n, data.Count, output, target)
        struct (loss, (if correct < 0 then nan else float correct / float data.Count))

    /// A log row at `step` from the train evaluator and the optional (null) test evaluator.
    static member Log(step: int, train: Evaluator, test: Evaluator) : TrainingLogEntry =
        let struct (trainLoss, trainAccuracy) = train.Evaluate()
        let struct (testLoss, testAccuracy) = if isNull (box test) then struct (nan, nan) else test.Evaluate()
        { Step = step
          TrainLoss = trainLoss
          TestLoss = testLoss
          TrainAccuracy = trainAccuracy
          TestAccuracy = testAccuracy }
