namespace SheafCore.Numerics

open System
open System.Diagnostics
open System.Threading

/// Optimiser and stopping settings (docs/nsd.md §4; reference flags in brackets).
[<NoEquality; NoComparison>]
type internal NsdTrainingOptions =
    { LearningRate: float
      /// Adam's L2 term for everything except the map learners [weight_decay].
      WeightDecay: float
      /// Adam's L2 term for the map learners V_t [sheaf_decay].
      SheafDecay: float
      /// Maximum epochs [epochs].
      Epochs: int
      /// Stop after this many epochs without strict improvement [early_stopping].
      Patience: int
      /// Improvement = higher validation accuracy (true) or lower validation loss (false) [stop_strategy].
      StopOnAccuracy: bool
      Seed: int64 }

/// One epoch's evaluation (eval mode: no dropout).
[<NoEquality; NoComparison>]
type internal NsdEpoch =
    { Split: int
      Epoch: int
      TrainLoss: float
      ValidationLoss: float
      TrainAccuracy: float
      ValidationAccuracy: float
      TestAccuracy: float
      BestEpoch: int }

/// The outcome of one split: test accuracy at the best validation epoch.
[<NoEquality; NoComparison>]
type internal NsdSplitResult =
    { Split: int
      TestAccuracy: float
      ValidationAccuracy: float
      ValidationLoss: float
      BestEpoch: int
      EpochsRun: int
      Seconds: float
      /// The parameters at the best validation epoch (the model the test accuracy belongs to).
      Parameters: float[] }

/// Adam with PyTorch's L2 weight decay (not AdamW): g ← ∇ + λθ, m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + 10⁻⁸). λ is per parameter (two groups, as in the reference).
[<Sealed>]
type internal Adam(count: int, learningRate: float, decay: float[]) =
    let m = Array.zeroCreate<float> count
    let v = Array.zeroCreate<float> count
    let mutable step = 0
    member _.Step(theta: float[], grad: float[]) =
        step <- step + 1
        let c1 = 1.0 - Math.Pow(0.9, float step)
        let c2 = 1.0 - Math.Pow(0.999, float step)
        let rate = learningRate / c1
        let root2 = sqrt c2
        for j in 0 .. count - 1 do
            let g = grad[j] + decay[j] * theta[j]
            m[j] <- 0.9 * m[j] + 0.1 * g
            v[j] <- 0.999 * v[j] + 0.001 * g * g
            theta[j] <- theta[j] - rate * m[j] / (sqrt v[j] / root2 + 1e-8)

/// Full-batch training per split with early stopping, as the reference runs do (docs/nsd.md §4).
[<RequireQualifiedAccess>]
module internal NsdTraining =

    let private nodesWith (graph: NodeGraph, split: int, role: SplitRole) =
        [| for v in 0 .. graph.NodeCount - 1 do
               if graph.Splits[split][v] = role then v |]

    /// Mean NLL and accuracy of the current logits over the nodes.
    let evaluate (model: NsdModel, nodes: int[]) =
        let classes = model.Config.ClassCount
        let logits = model.Logits
        let mutable loss = 0.0
        let mutable correct = 0
        for v in nodes do
            let row = ReadOnlySpan<float>(logits, v * classes, classes)
            let mutable best = 0
            let mutable top = row[0]
            for k in 1 .. classes - 1 do
                if row[k] > top then
                    top <- row[k]
                    best <- k
            let mutable sum = 0.0
            for k in 0 .. classes - 1 do
                sum <- sum + Math.Exp(row[k] - top)
            let y = model.Graph.Labels[v]
            loss <- loss + (top + Math.Log sum - row[y])
            if best = y then correct <- correct + 1
        let count = float (max nodes.Length 1)
        loss / count, float correct / count

    /// The seed of split s: each split is reproducible on its own, whichever subset of splits runs.
    let splitSeed (seed: int64, split: int) = seed * 1_000_003L + int64 split

    /// <summary>Trains a fresh model on one split and returns the test accuracy at the best validation epoch.</summary>
    /// <param name="config">Architecture; its InputCount/ClassCount must match the graph.</param>
    /// <param name="graph">The graph.</param>
    /// <param name="split">Split index.</param>
    /// <param name="options">Optimiser and stopping settings.</param>
    /// <param name="progress">Called after every epoch (may be null).</param>
    /// <param name="cancellation">Checked every epoch.</param>
    /// <exception cref="System.OperationCanceledException">Cancelled.</exception>
    let trainSplit
        (config: NsdConfig, graph: NodeGraph, split: int, options: NsdTrainingOptions, progress: Action<NsdEpoch>,
         cancellation: CancellationToken)
        : NsdSplitResult =
        Guard.index (nameof split) graph.Splits.Length split
        Guard.positive "Epochs" options.Epochs
        Guard.positive "Patience" options.Patience
        if not (options.LearningRate > 0.0 && Double.IsFinite options.LearningRate) then
            invalidArg "LearningRate" "Must be positive and finite."
        if not (options.WeightDecay >= 0.0 && options.SheafDecay >= 0.0) then
            invalidArg "WeightDecay" "Weight decays must be non-negative."
        let train = nodesWith (graph, split, SplitRole.Train)
        let validation = nodesWith (graph, split, SplitRole.Validation)
        let test = nodesWith (graph, split, SplitRole.Test)
        if train.Length = 0 then invalidArg (nameof split) (sprintf "Split %d has no training nodes." split)
        if validation.Length = 0 then invalidArg (nameof split) (sprintf "Split %d has no validation nodes." split)
        let clock = Stopwatch.StartNew()
        let rng = Rng(splitSeed (options.Seed, split))
        let model = NsdModel(config, graph)
        let backward = NsdBackward(model)
        let theta = NsdForward.initialise (model.Layout, rng)
        let grad = Array.zeroCreate theta.Length
        let sheaf = model.Layout.SheafMask()
        let decay = Array.init theta.Length (fun j -> if sheaf[j] then options.SheafDecay else options.WeightDecay)
        let adam = Adam(theta.Length, options.LearningRate, decay)
        let mutable bestLoss = Double.PositiveInfinity
        let mutable bestAccuracy = Double.NegativeInfinity
        let mutable bestValidationLoss = nan
        let mutable bestValidationAccuracy = nan
        let mutable bestTest = nan
        let mutable bestEpoch = -1
        let bestTheta = Array.copy theta
        let mutable bad = 0
        let mutable epoch = 0
        while epoch < options.Epochs && bad < options.Patience do
            cancellation.ThrowIfCancellationRequested()
            NsdGradients.lossAndGradient (model, backward, theta, train, true, rng, grad) |> ignore
            adam.Step(theta, grad)
            NsdForward.run (model, theta, false, rng)
            let trainLoss, trainAccuracy = evaluate (model, train)
            let validationLoss, validationAccuracy = evaluate (model, validation)
            let _, testAccuracy = evaluate (model, test)
            // A non-finite loss on either set means the logits overflowed; no later epoch can recover from it,
            // and a result whose best epoch never came would carry NaN accuracies.
            if not (Double.IsFinite trainLoss) then
                invalidOp (sprintf "Training diverged at epoch %d of split %d (training loss %g); lower the learning rate." epoch split trainLoss)
            if not (Double.IsFinite validationLoss) then
                invalidOp (sprintf "Training diverged at epoch %d of split %d (validation loss %g); lower the learning rate." epoch split validationLoss)
            // Strict improvement on the chosen metric, as the reference's early stopping.
            let improved =
                if options.StopOnAccuracy then validationAccuracy > bestAccuracy else validationLoss < bestLoss
            if improved then
                bestLoss <- validationLoss
                bestAccuracy <- validationAccuracy
                bestValidationLoss <- validationLoss
                bestValidationAccuracy <- validationAccuracy
                bestTest <- testAccuracy
                bestEpoch <- epoch
                Array.blit theta 0 bestTheta 0 theta.Length
                bad <- 0
            else bad <- bad + 1
            if not (isNull progress) then
                progress.Invoke
                    { Split = split
                      Epoch = epoch
                      TrainLoss = trainLoss
                      ValidationLoss = validationLoss
                      TrainAccuracy = trainAccuracy
                      ValidationAccuracy = validationAccuracy
                      TestAccuracy = testAccuracy
                      BestEpoch = bestEpoch }
            epoch <- epoch + 1
        { Split = split
          TestAccuracy = bestTest
          ValidationAccuracy = bestValidationAccuracy
          ValidationLoss = bestValidationLoss
          BestEpoch = bestEpoch
          EpochsRun = epoch
          Seconds = clock.Elapsed.TotalSeconds
          Parameters = bestTheta }
