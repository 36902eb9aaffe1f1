namespace SheafCore.Numerics

open System

/// The paper's four synthetic tasks (theory §8.0).
type internal SyntheticTaskKind =
    | Paraboloid = 0
    | Saddle = 1
    | Circular = 2
    | Blobs = 3

/// A generated task: sample-major inputs (N × 2) and targets (N × C), split into train and test, plus the
/// paper's configuration for it.
type internal SyntheticTaskData =
    { Kind: SyntheticTaskKind
      TrainInputs: float[]
      TrainTargets: float[]
      TestInputs: float[]
      TestTargets: float[]
      TrainCount: int
      TestCount: int
      TargetColumns: int
      Output: OutputActivation
      /// [2,30,1] / [2,25,1] / [2,25,4] (one hidden layer) and [2,10,8,·] (two).
      Layers1H: int[]
      Layers2H: int[]
      /// SGD learning rate of the paper (0.005 regression, 0.01 classification).
      LearningRate: float }

/// Seeded generators of the four tasks. The reference draws come from torch's stream, which .NET cannot
/// reproduce, so these are statistically equivalent sets, not the same points (compare statistically, or use
/// the vendored paraboloid fixture).
[<RequireQualifiedAccess>]
module internal SyntheticTasks =

    [<Literal>]
    let NoiseStd = 0.02

    let private regression (rng: Rng) (n: int) (lo: float) (hi: float) (f: float -> float -> float) =
        let x = Array.zeroCreate (2 * n)
        let y = Array.zeroCreate n
        for i in 0 .. n - 1 do
            let x1 = rng.Uniform(lo, hi)
            let x2 = rng.Uniform(lo, hi)
            x[2 * i] <- x1
            x[2 * i + 1] <- x2
            y[i] <- f x1 x2 + NoiseStd * rng.Normal()
        x, y

    /// Fisher–Yates shuffle of N rows of widths (2, c) in step.
    let private shuffle (rng: Rng) (x: float[]) (y: float[]) (c: int) =
        let n = x.Length / 2
        for i in n - 1 .. -1 .. 1 do
            let j = rng.NextInt(0, i + 1)
            for d in 0 .. 1 do
                let t = x[2 * i + d]
                x[2 * i + d] <- x[2 * j + d]
                x[2 * j + d] <- t
            for d in 0 .. c - 1 do
                let t = y[c * i + d]
                y[c * i + d] <- y[c * j + d]
                y[c * j + d] <- t

    let private circular (rng: Rng) (perClass: int) =
        let n = 2 * perClass
        let x = Array.zeroCreate (2 * n)
        let y = Array.zeroCreate n
        for i in 0 .. n - 1 do
            let cls = if i < perClass then 0 else 1
            let angle = rng.Uniform(0.0, 2.0 * Math.PI)
            // Class 0 fills the unit disk uniformly (√U); class 1 the annulus 1.5–2.5 uniformly in area.
            let radius =
                if cls = 0 then sqrt (rng.NextDouble()) + 0.1 * rng.Normal()
                else sqrt (1.5 * 1.5 + rng.NextDouble() * (2.5 * 2.5 - 1.5 * 1.5)) + 0.1 * rng.Normal()
            x[2 * i] <- radius * cos angle
            x[2 * i + 1] <- radius * sin angle
            y[i] <- float cls
        shuffle rng x y 1
        x, y

    let private blobs (rng: Rng) (perClass: int) =
        let means = [| (-1.5, -1.5); (1.8, -1.0); (1.0, 2.0); (-2.0, 1.5) |]
        let covariances = [| (0.8, 0.3, 0.4); (0.3, -0.2, 1.0); (1.2, 0.5, 0.5); (0.5, 0.0, 0.8) |]
        let n = 4 * perClass
        let x = Array.zeroCreate (2 * n)
        let y = Array.zeroCreate (4 * n)
        for i in 0 .. n - 1 do
            let cls = i / perClass
            let (mx, my) = means[cls]
            let (sxx, sxy, syy) = covariances[cls]
            // Cholesky of [[sxx, sxy], [sxy, syy]]: L = [[l11, 0], [l21, l22]].
            let l11 = sqrt sxx
            let l21 = sxy / l11
            let l22 = sqrt (syy - l21 * l21)
            let e1 = rng.Normal()
            let e2 = rng.Normal()
            x[2 * i] <- mx + l11 * e1
            x[2 * i + 1] <- my + l21 * e1 + l22 * e2
            y[4 * i + cls] <- 1.0
        shuffle rng x y 4
        x, y

    /// <summary>Generates a task from a seed: 300 training and 100 test samples (the paper's sizes), drawn from one
    /// stream (the training rows first).</summary>
    let generate (kind: SyntheticTaskKind, seed: int64) : SyntheticTaskData =
        let rng = Rng seed
        let nTrain, nTest = 300, 100
        let x, y, c, output, lr, l1, l2 =
            match kind with
            | SyntheticTaskKind.Paraboloid ->
                let x, y = regression rng (nTrain + nTest) -2.0 2.0 (fun a b -> a * a + b * b - 2.0 / 3.0)
                x, y, 1, OutputActivation.Identity, 0.005, [| 2; 30; 1 |], [| 2; 10; 8; 1 |]
            | SyntheticTaskKind.Saddle ->
                let x, y = regression rng (nTrain + nTest) 0.0 2.0 (fun a b -> a * a - b * b + 0.5 * sin (2.0 * a))
                x, y, 1, OutputActivation.Identity, 0.005, [| 2; 30; 1 |], [| 2; 10; 8; 1 |]
            | SyntheticTaskKind.Circular ->
                let x, y = circular rng ((nTrain + nTest) / 2)
                x, y, 1, OutputActivation.Sigmoid, 0.01, [| 2; 25; 1 |], [| 2; 10; 8; 1 |]
            | SyntheticTaskKind.Blobs ->
                let x, y = blobs rng ((nTrain + nTest) / 4)
                x, y, 4, OutputActivation.Softmax, 0.01, [| 2; 25; 4 |], [| 2; 10; 8; 4 |]
            | _ -> invalidArg (nameof kind) "Unknown task."
        { Kind = kind
          TrainInputs = x[0 .. 2 * nTrain - 1]
          TrainTargets = y[0 .. c * nTrain - 1]
          TestInputs = x[2 * nTrain ..]
          TestTargets = y[c * nTrain ..]
          TrainCount = nTrain
          TestCount = nTest
          TargetColumns = c
          Output = output
          Layers1H = l1
          Layers2H = l2
          LearningRate = lr }
