/// Laws of the sheaf heat equation on network sheaves (theory §3, §4): energy decay, convergence to the forward pass
/// despite ReLU switching, the exponential rate 2·ln(1 − α·dt·λ_min), the adaptive integrator, and pinned equilibria.
module SheafCore.Properties.NetworkHeatProperties

open System
open System.Threading
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance
open SheafCore.Properties.NetworkSheafProperties

/// Small random networks (1–3 hidden layers, widths 1–8) so that thousands of Euler steps per case stay cheap.
let internal small (seed: int) = NetworkGen.create seed 3 8

let internal settings dt tol maxSteps =
    { Alpha = 1.0
      Dt = dt
      Tolerance = tol
      MinSteps = 5
      MaxSteps = maxSteps
      OutputForce = OutputForceMode.Jacobian
      EnergyEvery = 1
      MaxCrossings = 100_000 }

/// Random N(0,1) stalks for a case.
let internal randomStalks (c: NetworkCase) (seed: int64) =
    let stalks = NetworkStalks(c.Mlp, c.Batch)
    let rng = Rng seed
    for z in stalks.Z do
        rng.FillNormal(Span z, 1.0)
    for a in stalks.A do
        rng.FillNormal(Span a, 1.0)
    rng.FillNormal(Span stalks.Output, 1.0)
    stalks

let internal forwardOf (c: NetworkCase) =
    let s = NetworkStalks(c.Mlp, c.Batch)
    UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, s)
    s

/// The Euler step 0.9·2/ρ with ρ = (1 + M)² + output-edge allowance ≥ λ_max of every pattern.
let internal safeStep (mlp: Mlp) = 1.8 / NetworkAdaptiveHeat.spectralRadiusBound (mlp, 1.0, Array.empty)

let internal flat (s: NetworkStalks) =
    Array.concat [ yield! s.Z; yield! s.A; yield s.Output ]

[<Properties(Arbitrary = [| typeof<NetworkArbitraries> |], MaxTest = 200)>]
module ``Network heat equation`` =

    [<Property>]
    let ``Euler never increases the energy for α·dt below 2/λ_max on steps without a ReLU switch`` (NetworkSeed seed) =
        // Within an activation region the flow is the gradient flow of a convex quadratic, so an Euler step with
        // α·dt < 2/λ_max cannot raise the energy. A step in which a ReLU switches crosses a discontinuity of the
        // gradient (Filippov sliding, theory §3.1) and may raise it slightly; such steps are excluded here — random
        // cases show increases only on them.
        let c = small seed
        let stalks = randomStalks c (int64 seed)
        let run =
            NetworkHeat.runEuler (c.Mlp, c.Inputs, stalks, Array.empty, settings (safeStep c.Mlp) 0.0 400, null, CancellationToken.None)
        let switching = run.Crossings |> Array.map (fun e -> e.Step) |> Set.ofArray
        let t = run.DiscordTrace
        not run.Diverged
        && Seq.forall (fun i -> switching.Contains i || t[i] <= t[i - 1] * (1.0 + 1e-10) + 1e-24) (seq { 1 .. t.Length - 1 })

    [<Property>]
    let ``from random stalks the flow converges to the forward pass, ReLU switching included`` (NetworkSeed seed) =
        let c = small seed
        let stalks = randomStalks c (int64 seed + 1L)
        let run =
            NetworkHeat.runEuler (c.Mlp, c.Inputs, stalks, Array.empty, settings (safeStep c.Mlp) 1e-13 400_000, null, CancellationToken.None)
        let expected = forwardOf c
        run.Converged
        && maxAbsDiff (flat expected) (flat stalks) <= 1e-7 * (1.0 + maxAbs (flat expected))

    [<Property>]
    let ``the adaptive integrator converges to the same state`` (NetworkSeed seed) =
        let c = small seed
        let euler = randomStalks c (int64 seed + 2L)
        let adaptive = randomStalks c (int64 seed + 2L)
        let s = settings (safeStep c.Mlp) 1e-13 400_000
        let e = NetworkHeat.runEuler (c.Mlp, c.Inputs, euler, Array.empty, s, null, CancellationToken.None)
        let a = NetworkAdaptiveHeat.run (c.Mlp, c.Inputs, adaptive, Array.empty, s, null, CancellationToken.None)
        e.Converged && a.Converged
        && maxAbsDiff (flat euler) (flat adaptive) <= 1e-7 * (1.0 + maxAbs (flat euler))

    [<Property>]
    let ``the discord decays per step at 2·ln(1 − α·dt·λ_min(L_Ω(σ*))) within 2%`` (NetworkSeed seed) =
        // One sample, identity output, so the flow near the end is the linear map I − s·L_Ω(σ*) on the error.
        let c0 = small seed
        let mlp = Mlp(c0.Mlp.Layers, OutputActivation.Identity, c0.Mlp.Weights, c0.Mlp.Biases)
        let c = { c0 with Mlp = mlp; Batch = 1; Inputs = c0.Inputs[0 .. mlp.InputDim - 1] }
        let forward = forwardOf c
        let pattern = UnitriangularSolve.patternOfStalks (mlp, forward)
        let eigen = DenseFactor.symmetricEigen (NetworkSheafBlocks.restrictedLaplacianDense mlp pattern)
        let lambdaMin = eigen.Values[0]
        let lambda2 = if eigen.Values.Length > 1 then eigen.Values[1] else infinity
        let s = 0.5 * safeStep mlp
        let predicted = 2.0 * log (1.0 - s * lambdaMin)
        let stalks = randomStalks c (int64 seed + 3L)
        let run = NetworkHeat.runEuler (mlp, c.Inputs, stalks, Array.empty, settings s 0.0 20_000, null, CancellationToken.None)
        let lastCrossing = if run.Crossings.Length = 0 then 0 else run.Crossings[run.Crossings.Length - 1].Step
        // The window: after the last ReLU switch, while the discord is far above round-off (1e-22); take its last
        // 40% where the slowest mode dominates.
        let d = run.DiscordTrace
        let mutable last = min (lastCrossing + 1) (d.Length - 1)
        while last + 1 < d.Length && d[last + 1] > 1e-22 do
            last <- last + 1
        let first = min last (lastCrossing + 1 + int (0.6 * float (last - lastCrossing - 1)))
        let measured = (log d[last] - log d[first]) / float (last - first)
        // The rate is asymptotic: by the start of the window the next mode must have decayed 1000× relative to the
        // slowest one, (ratio of the two contraction factors)^(2·steps) < 1e-3. Cases without a clean window or with
        // nearly degenerate λ_min are discarded (about 14% of seeds 1–200; FsCheck counts them).
        let ratio = (1.0 - s * lambda2) / (1.0 - s * lambdaMin)
        let separated = 2.0 * float (first - lastCrossing) * log ratio < log 1e-3
        (last - first >= 200 && separated)
        ==> lazy (abs (measured - predicted) <= 0.02 * abs predicted)

    [<Property>]
    let ``soft pin closed form: zero biases, z1 toward 0 with γ gives z1 = W1·x/(1+γ) and output/(1+γ)`` (NetworkSeed seed) =
        let c0 = small seed
        let zeroBias = c0.Mlp.Biases |> Array.map (Array.map (fun _ -> 0.0))
        let mlp = Mlp(c0.Mlp.Layers, OutputActivation.Identity, c0.Mlp.Weights, zeroBias)
        let c = { c0 with Mlp = mlp }
        let gamma = 0.1 + float (abs (seed % 100))
        let n1 = mlp.Layers[1]
        let pin = StalkPin(0, Array.init n1 id, Array.zeroCreate (n1 * c.Batch), gamma, false)
        let forward = forwardOf c
        let stalks = randomStalks c (int64 seed)
        let s = settings (safeStep mlp) 1e-13 3_000
        let run = NetworkAdaptiveHeat.run (mlp, c.Inputs, stalks, [| pin |], s, null, CancellationToken.None)
        let expectedZ1 = forward.Z[0] |> Array.map (fun v -> v / (1.0 + gamma))
        let expectedOut = forward.Output |> Array.map (fun v -> v / (1.0 + gamma))
        run.Converged
        && allClose 1e-7 expectedZ1 stalks.Z[0]
        && allClose 1e-7 expectedOut stalks.Output

    [<Property>]
    let ``a hard pin's diffused equilibrium equals the least-squares solution`` (NetworkSeed seed) =
        let c0 = small seed
        let mlp = Mlp(c0.Mlp.Layers, OutputActivation.Identity, c0.Mlp.Weights, c0.Mlp.Biases)
        let c = { c0 with Mlp = mlp }
        let rng = Rng(int64 seed)
        let layer = rng.NextInt(0, 2 * mlp.HiddenCount + 1)
        let width = mlp.Layers[layer / 2 + 1]
        let coordinate = rng.NextInt(0, width)
        let pin = StalkPin(layer, [| coordinate |], Array.init c.Batch (fun _ -> rng.Uniform(-1.0, 1.0)), 0.0, true)
        let diffused = forwardOf c
        // The adaptive integrator needs tens of steps where it converges; cap it so sliding cases end quickly.
        let run =
            NetworkAdaptiveHeat.run (mlp, c.Inputs, diffused, [| pin |], settings (safeStep mlp) 1e-13 3_000, null, CancellationToken.None)
        let exact = forwardOf c
        let found = NetworkEquilibrium.solve (mlp, c.Inputs, exact, [| pin |], 50)
        // A pinned equilibrium can sit on a ReLU switching surface (sliding); then neither the flow's stopping rule
        // nor a self-consistent pattern exists. Those cases are excluded (FsCheck reports how many).
        (run.Converged && Array.forall (fun (r: EquilibriumSample) -> r.Converged) found)
        ==> lazy (maxAbsDiff (flat exact) (flat diffused) <= 1e-6 * (1.0 + maxAbs (flat exact)))
