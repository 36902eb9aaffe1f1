namespace SheafCore.Numerics

open System
open System.Threading

/// The network heat flow ω' = −α∇E(ω) (theory §3) as a vector field over one flat state: all z stalks, then all a
/// stalks, then a_out (sigmoid/softmax), each feature-major. Evaluate scatters the state into scratch stalks and
/// gathers the forces of NetworkHeat.computeForces (masks read from the state's own z, pins applied), so it is
/// exactly the right-hand side whose explicit Euler discretisation is the reference update. It is also the RKC
/// monitor: it records the discord trace and ReLU crossings and stops the run at equilibrium.
[<Sealed>]
type internal NetworkHeatField
    (
        mlp: Mlp,
        x: float[],
        pins: StalkPin[],
        settings: HeatSettings,
        batch: int,
        progress: Action<int, float, float>,
        cancellation: CancellationToken
    ) =
    let scratch = NetworkStalks(mlp, batch)
    let ws = HeatWorkspace(mlp, batch)
    let hasOutput = mlp.Output <> OutputActivation.Identity
    /// The free stalks of `stalks` in state order: all z, all a, then a_out (sigmoid/softmax).
    let blocksOf (stalks: NetworkStalks) =
        [| yield! stalks.Z
           yield! stalks.A
           if hasOutput then yield stalks.Output |]
    let blocks = blocksOf scratch
    let forces =
        [| yield! ws.ForceZ
           yield! ws.ForceA
           if hasOutput then yield ws.ForceOut |]
    let dimension = blocks |> Array.sumBy (fun b -> b.Length)
    let masks = Array.init mlp.HiddenCount (fun l -> Array.zeroCreate<bool> scratch.Z[l].Length)
    let crossings = ResizeArray<CrossingEvent>()
    let traceSteps = ResizeArray<int>()
    let trace = ResizeArray<float>()
    let mutable lastDiscord = nan
    let mutable lastMerit = nan
    let mutable converged = false
    let mutable lastChange = infinity
    let mutable evaluations = 0

    member _.Dimension = dimension
    member _.Crossings = crossings
    member _.TraceSteps = traceSteps
    member _.Trace = trace
    member _.Converged = converged
    member _.LastChange = lastChange
    member _.Evaluations = evaluations
    /// Merit of the last evaluated state: the energy ½(discord + soft-pin penalty) — the flow's Lyapunov function —
    /// or, for the non-gradient identity output force, ½‖F‖².
    member _.LastMerit = lastMerit

    /// Copies a flat state into the given blocks.
    static member private CopyInto(state: ReadOnlySpan<float>, target: float[][]) =
        let mutable o = 0
        for b in target do
            state.Slice(o, b.Length).CopyTo(Span b)
            o <- o + b.Length

    /// Copies a flat state into the scratch stalks (blocks built once: no allocation per evaluation).
    member private _.ScatterScratch(state: ReadOnlySpan<float>) = NetworkHeatField.CopyInto(state, blocks)

    /// Copies stalks into a flat state.
    member _.Gather(stalks: NetworkStalks, state: Span<float>) =
        let mutable o = 0
        for b in blocksOf stalks do
            ReadOnlySpan(b).CopyTo(state.Slice(o, b.Length))
            o <- o + b.Length

    /// Copies a flat state into stalks.
    member _.Scatter(state: ReadOnlySpan<float>, stalks: NetworkStalks) = NetworkHeatField.CopyInto(state, blocksOf stalks)

    interface IMeritField with
        member _.LastMerit = lastMerit
        // A sum of squares: relative rounding only, covered by the descent's relative slack.
        member _.LastMeritRoundOff = 0.0

    interface IVectorField with
        member _.Dimension = dimension

        member this.Evaluate(state: ReadOnlySpan<float>, destination: Span<float>) =
            this.ScatterScratch state
            lastDiscord <- NetworkHeat.computeForces (mlp, ReadOnlySpan x, scratch, pins, settings.OutputForce, ws)
            evaluations <- evaluations + 1
            let mutable o = 0
            let nonGradient = hasOutput && settings.OutputForce = OutputForceMode.Identity
            let mutable squared = 0.0
            for f in forces do
                System.Numerics.Tensors.TensorPrimitives.Multiply(ReadOnlySpan f, settings.Alpha, destination.Slice(o, f.Length))
                if nonGradient then squared <- squared + System.Numerics.Tensors.TensorPrimitives.SumOfSquares(ReadOnlySpan f)
                o <- o + f.Length
            lastMerit <- if nonGradient then 0.5 * squared else 0.5 * (lastDiscord + ws.SoftPinPenalty)

    interface IRkcMonitor with
        member this.Accepted(step: int, _time: float, state: ReadOnlySpan<float>, derivative: ReadOnlySpan<float>) =
            if step % 16 = 0 then cancellation.ThrowIfCancellationRequested()
            // The last evaluation was at this state (first-same-as-last), so lastDiscord is its discord.
            if step % settings.EnergyEvery = 0 then
                traceSteps.Add step
                trace.Add lastDiscord
            this.ScatterScratch state
            for l in 0 .. mlp.HiddenCount - 1 do
                let z = scratch.Z[l]
                let m = masks[l]
                for i in 0 .. z.Length - 1 do
                    let active = z[i] >= 0.0
                    if step > 0 && active <> m[i] && crossings.Count < settings.MaxCrossings then
                        crossings.Add { Step = step; Sample = i % batch; Layer = l + 1; Neuron = i / batch }
                    m[i] <- active
            // Stop when one reference Euler step (dt) would change no free coordinate by tol or more: the same
            // accuracy to the equilibrium as the reference stopping rule.
            let mutable largest = 0.0
            for i in 0 .. derivative.Length - 1 do
                largest <- max largest (abs derivative[i])
            lastChange <- largest * settings.Dt
            if not (isNull progress) && step > 0 && step % 100 = 0 then progress.Invoke(step, lastChange, lastDiscord)
            converged <- step >= settings.MinSteps && lastChange < settings.Tolerance
            converged

/// The adaptive heat integrator of the design card: second-order Runge–Kutta–Chebyshev (RKC2) steps with strong
/// damping, the stage count chosen from the pattern-independent spectral bound ρ = α((1 + M)² + γ_max + c_out)
/// (theory §3.3), so every step is stable for every activation pattern.
///
/// Step-size control is the energy control of <c>Rkc.descend</c>: the flow's Lyapunov function decides, because an
/// error estimate would force tiny steps at each of the many ReLU switches of a batch. The trajectory between accepted
/// steps is therefore not time-accurate; the end point meets the same stopping rule as Euler (α·dt·max|F| &lt; tol).
[<RequireQualifiedAccess>]
module internal NetworkAdaptiveHeat =

    /// Damping ε of the Chebyshev polynomial: large, so stiff components are damped hard every step.
    [<Literal>]
    let Damping = 10.0

    /// Largest stage count per step.
    [<Literal>]
    let MaximumStages = 40

    /// Bound on the spectral radius of the heat flow's Jacobian for every activation pattern. The sigmoid/softmax
    /// output edge adds at most 1 + |φ′|² + |φ − a||φ″| to the curvature; 2 covers it for |φ − a| ≤ 5.
    let spectralRadiusBound (mlp: Mlp, alpha: float, pins: StalkPin[]) =
        let m = NetworkSpectrum.weightNormBound mlp
        let output = if mlp.Output = OutputActivation.Identity then 0.0 else 2.0
        alpha * (NetworkSpectrum.lambdaMaxUpperBound m + NetworkHeat.maxGamma pins + output)

    /// Runs from the given stalks to the equilibrium. Steps counts accepted steps; LaplacianApplications counts every
    /// force evaluation (stages of accepted and rejected steps, and the merit evaluations).
    let run
        (
            mlp: Mlp,
            x: float[],
            stalks: NetworkStalks,
            pins: StalkPin[],
            settings: HeatSettings,
            progress: Action<int, float, float>,
            cancellation: CancellationToken
        ) : HeatRunResult =
        NetworkHeat.validateSettings settings
        let batch = stalks.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        NetworkHeat.validatePins mlp batch pins
        NetworkHeat.applyHardPins mlp stalks pins
        let field = NetworkHeatField(mlp, x, pins, settings, batch, progress, cancellation)
        let n = field.Dimension
        let y = Array.zeroCreate n
        field.Gather(stalks, Span y)
        let rho = spectralRadiusBound (mlp, settings.Alpha, pins)
        let run = Rkc.descend (field, rho, MaximumStages, Damping, settings.MaxSteps, Span y, field, RkcWorkspace n)
        let accepted = run.AcceptedSteps
        let failed = run.Failed
        field.Scatter(ReadOnlySpan y, stalks)
        if mlp.Output = OutputActivation.Identity then
            Array.blit stalks.Z[mlp.AffineCount - 1] 0 stalks.Output 0 stalks.Output.Length
        let ws = HeatWorkspace(mlp, batch)
        let finalDiscord = if failed then nan else NetworkHeat.discordOf (mlp, ReadOnlySpan x, stalks, ws)
        let steps = field.TraceSteps.ToArray()
        let trace = field.Trace.ToArray()
        let traceSteps, discordTrace =
            if steps.Length > 0 && steps[steps.Length - 1] = accepted then steps, trace
            else Array.append steps [| accepted |], Array.append trace [| finalDiscord |]
        { Converged = field.Converged
          Diverged = failed
          DivergenceReason = (if failed then sprintf "Adaptive diffusion failed after %d steps: %s" accepted run.FailureReason else "")
          Steps = accepted
          LaplacianApplications = field.Evaluations
          RejectedSteps = run.RejectedSteps
          FinalChange = field.LastChange
          TraceSteps = traceSteps
          DiscordTrace = discordTrace
          Crossings = field.Crossings.ToArray() }
