/// Laws of training (theory §4, §5): reverse-mode gradients are exact, and the purely local weight update at the
/// equilibrium of output-pinned relaxation turns into the exact gradient as the output pin weakens.
module SheafCore.Properties.TrainingProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics

/// A small random network with every output activation (cycled by seed), a batch and targets of the right kind
/// (real numbers, 0/1 labels, one-hot rows), all from one seed.
type internal TrainingCase =
    { Mlp: Mlp
      Batch: int
      X: float[]
      Y: float[]
      Seed: int }

module internal TrainingGen =
    let create (seed: int) (maxHidden: int) (maxWidth: int) =
        let rng = Rng(int64 seed)
        let hidden = rng.NextInt(1, maxHidden + 1)
        let output = enum<OutputActivation> (abs (seed % 3))
        let layers =
            Array.init (hidden + 2) (fun i ->
                if i = hidden + 1 && output = OutputActivation.Softmax then rng.NextInt(2, 5)
                else rng.NextInt(1, maxWidth + 1))
        let weights =
            Array.init (hidden + 1) (fun l -> Array.init (layers[l + 1] * layers[l]) (fun _ -> rng.Normal() * sqrt (2.0 / float layers[l])))
        let biases = Array.init (hidden + 1) (fun l -> Array.init layers[l + 1] (fun _ -> 0.3 * rng.Normal()))
        let mlp = Mlp(layers, output, weights, biases)
        let batch = rng.NextInt(1, 6)
        let nOut = layers[hidden + 1]
        let x = Array.init (layers[0] * batch) (fun _ -> rng.Uniform(-2.0, 2.0))
        let y = Array.zeroCreate (nOut * batch)
        for s in 0 .. batch - 1 do
            match output with
            | OutputActivation.Identity ->
                for c in 0 .. nOut - 1 do
                    y[c * batch + s] <- rng.Normal()
            | OutputActivation.Sigmoid ->
                for c in 0 .. nOut - 1 do
                    y[c * batch + s] <- float (rng.NextInt(0, 2))
            | _ -> y[rng.NextInt(0, nOut) * batch + s] <- 1.0
        { Mlp = mlp; Batch = batch; X = x; Y = y; Seed = seed }

    /// The smallest |z| over the hidden pre-activations of the forward pass: a kink closer than the finite-difference
    /// step (or than the O(γ) equilibrium shift) makes the piecewise-smooth comparison meaningless.
    let kinkMargin (c: TrainingCase) =
        let ws = ForwardWorkspace(c.Mlp, c.Batch)
        Forward.run (c.Mlp, ReadOnlySpan c.X, ws)
        if c.Mlp.HiddenCount = 0 then infinity
        else ws.Z[0 .. c.Mlp.HiddenCount - 1] |> Array.collect id |> Array.fold (fun m v -> min m (abs v)) infinity

    let loss (c: TrainingCase) =
        let ws = ForwardWorkspace(c.Mlp, c.Batch)
        Forward.run (c.Mlp, ReadOnlySpan c.X, ws)
        Losses.value (c.Mlp.Output, c.Mlp.OutputDim, c.Batch, ReadOnlySpan ws.Output, ReadOnlySpan c.Y)

/// Public wrapper so xUnit can see the parameter type (the core's types are internal).
type TrainingSeed =
    | TrainingSeed of int

    override this.ToString() =
        let (TrainingSeed s) = this
        let c = TrainingGen.create s 3 6
        sprintf "seed=%d layers=%A output=%A batch=%d" s c.Mlp.Layers c.Mlp.Output c.Batch

type TrainingArbitraries =
    static member TrainingSeed() : Arbitrary<TrainingSeed> =
        ArbMap.defaults |> ArbMap.generate<int> |> Gen.map TrainingSeed |> Arb.fromGen

[<Properties(Arbitrary = [| typeof<TrainingArbitraries> |], MaxTest = 100)>]
module ``Reverse-mode gradients`` =

    [<Property>]
    let ``backprop equals central finite differences for every output activation`` (TrainingSeed seed) =
        let c = TrainingGen.create seed 3 6
        TrainingGen.kinkMargin c > 1e-3
        ==> lazy
            (let ws = BackpropWorkspace(c.Mlp, c.Batch)
             Backprop.gradient (c.Mlp, ReadOnlySpan c.X, ReadOnlySpan c.Y, ws) |> ignore
             let h = 1e-6
             let check (theta: float[]) (grad: float[]) =
                 let mutable ok = true
                 for i in 0 .. theta.Length - 1 do
                     let saved = theta[i]
                     theta[i] <- saved + h
                     let up = TrainingGen.loss c
                     theta[i] <- saved - h
                     let down = TrainingGen.loss c
                     theta[i] <- saved
                     let fd = (up - down) / (2.0 * h)
                     // Central differences are O(h²) accurate; the cancellation error is ~ε·L/h ≈ 1e-10·L.
                     ok <- ok && abs (fd - grad[i]) <= 1e-6 * max 1.0 (abs grad[i])
                 ok
             let mutable ok = true
             for l in 0 .. c.Mlp.AffineCount - 1 do
                 ok <- ok && check c.Mlp.Weights[l] ws.GradW[l] && check c.Mlp.Biases[l] ws.GradB[l]
             ok)

/// Gradient agreement (Training.GradientAgreement remarks): at the equilibrium of the training stalks with the weights
/// frozen and output coupling γ, the weight-edge residuals are r_ℓ = γ δ_ℓ + O(γ²) with δ_ℓ the backprop delta of the
/// summed per-sample loss, so the local update U_ℓ = −Σ r a_{ℓ−1}ᵀ → −γ∇_ℓ: cosine → 1 and ‖U‖/(γ‖∇‖) → 1 as γ → 0.
/// This holds while the ReLU pattern of the equilibrium is that of the forward pass, which a kink margin much larger
/// than the O(γ) shift guarantees. (It is not a statement about γ = 1 or the hard pin: there the residuals carry the
/// (I/γ + GGᵀ)⁻¹-preconditioned error and the cosine is generally below 1.)
[<Properties(Arbitrary = [| typeof<TrainingArbitraries> |], MaxTest = 40)>]
module ``Gradient agreement`` =

    /// ‖U/γ + ∇‖ / ‖∇‖ from the cosine and the norm ratio ρ: √(ρ² + 1 − 2ρ cos).
    let private relativeDeviation (l: LayerAgreement) =
        sqrt (max 0.0 (l.NormRatio * l.NormRatio + 1.0 - 2.0 * l.NormRatio * l.Cosine))

    [<Property>]
    let ``local updates tend to the exact gradient as the output pin weakens`` (TrainingSeed seed) =
        let c = TrainingGen.create seed 2 5
        TrainingGen.kinkMargin c > 0.05
        ==> lazy
            (let weak = GradientAgreement.measure (c.Mlp, c.X, c.Y, c.Batch, 1e-4, 0.0, 1e-15, 400_000)
             let coarse = GradientAgreement.measure (c.Mlp, c.X, c.Y, c.Batch, 1e-3, 0.0, 1e-15, 400_000)
             // Layers whose gradient vanishes (dead ReLUs) carry no direction to agree on.
             let live = weak.Layers |> Array.mapi (fun i l -> i, l) |> Array.filter (fun (_, l) -> l.GradientNorm > 1e-6)
             let ok =
                 weak.Converged
                 && coarse.Converged
                 && live
                    |> Array.forall (fun (i, l) ->
                        let e4 = relativeDeviation l
                        let e3 = relativeDeviation coarse.Layers[i]
                        // The deviation is O(γ): ten times weaker pin, about ten times closer (0.2 leaves room for the
                        // O(γ²) term), and the cosine is already close to 1 and no worse than at the stronger pin.
                        e4 <= 0.2 * e3 + 1e-7
                        && l.Cosine > 0.99
                        && 1.0 - l.Cosine <= 1.0 - coarse.Layers[i].Cosine + 1e-12)
             Prop.label (sprintf "γ=1e-4: %A; γ=1e-3: %A" weak coarse) ok)

module ``Training allocations`` =

    /// Least of three measurements, so a stray runtime allocation (tiering, a timer) does not fail the test.
    let private allocated (action: unit -> unit) =
        action ()
        Array.init 3 (fun _ ->
            let before = GC.GetAllocatedBytesForCurrentThread()
            action ()
            GC.GetAllocatedBytesForCurrentThread() - before)
        |> Array.min

    [<Xunit.Fact>]
    let ``the sheaf step and the reverse-mode gradient allocate nothing`` () =
        for output in [ OutputActivation.Identity; OutputActivation.Sigmoid; OutputActivation.Softmax ] do
            let mlp = Mlp.HeInitialised([| 2; 12; 7; 3 |], output, 5L)
            let batch = 40
            let rng = Rng 9L
            let x = Array.init (2 * batch) (fun _ -> rng.Normal())
            let y = Array.init (3 * batch) (fun i -> if i / batch = i % 3 then 1.0 else 0.0)
            let stalks = NetworkStalks(mlp, batch)
            UnitriangularSolve.solve (mlp, ReadOnlySpan x, stalks)
            let settings =
                { Alpha = 1.0; Beta = 0.01; Dt = 0.01; Epochs = 1; StepsPerEpoch = 1; WarmStart = true
                  StalkInit = StalkInitMethod.Forward; StalkSeed = 0L; MiniBatchSize = 16; OutputCoupling = 1.0 }
            let ws = SheafStepWorkspace(mlp, 16)
            let bp = BackpropWorkspace(mlp, batch)
            let sheafBytes =
                allocated (fun () ->
                    for b in 0 .. 2 do
                        SheafTraining.step (mlp, x, y, stalks, 16 * b, min 16 (batch - 16 * b), settings, ws) |> ignore)
            let backpropBytes = allocated (fun () -> Backprop.gradient (mlp, ReadOnlySpan x, ReadOnlySpan y, bp) |> ignore)
            Xunit.Assert.Equal(0L, sheafBytes)
            Xunit.Assert.Equal(0L, backpropBytes)
