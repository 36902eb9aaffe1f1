namespace SheafCore.Numerics

open System

/// <summary>Pins of a general-sheaf heat run, one entry per C⁰ coordinate.</summary>
/// <remarks>A hard pin holds x_i = HardValues[i] for the whole run (Dirichlet boundary). A soft pin adds the energy
/// ½γ_i(x_i − SoftTargets[i])² (an edge to a pinned ghost vertex). A coordinate may not be both.</remarks>
type internal SheafHeatPins =
    { /// Length C⁰; true marks a hard-pinned coordinate.
      HardMask: bool[]
      /// Length C⁰; only the hard-pinned entries are read.
      HardValues: float[]
      /// Length C⁰ (γ_i ≥ 0, 0 = no soft pin) or empty for no soft pins.
      SoftGamma: float[]
      /// Length C⁰ (only entries with γ_i &gt; 0 are read) or empty.
      SoftTargets: float[] }

    /// No pins on a sheaf with C⁰ = n.
    static member None(n: int) =
        { HardMask = Array.zeroCreate n
          HardValues = Array.zeroCreate n
          SoftGamma = Array.empty
          SoftTargets = Array.empty }

/// Settings of a general-sheaf heat run x' = −α(Lx + γ⊙(x − target)) on the free coordinates (soft pins act inside
/// the α scaling, as in the network heat update of theory §3.2, so E below is the Lyapunov function for every α).
type internal SheafHeatSettings =
    { /// Diffusion rate α &gt; 0.
      Alpha: float
      /// Euler step dt (Euler only).
      Dt: float
      /// Euler: stop when max |Δx_i| over free coordinates &lt; Tolerance. RKC2: stop when the equilibrium residual
      /// ‖F(x)‖_∞ over free coordinates (= ‖α(Lx)_free‖_∞ without soft pins) &lt; Tolerance.
      Tolerance: float
      /// Never stop before this many steps.
      MinSteps: int
      /// Euler steps, or RKC2 accepted + rejected steps.
      MaxSteps: int
      /// Record the energy every this many (accepted) steps; the initial and final states are always recorded.
      EnergyEvery: int
      /// RKC2 stage cap (it caps the step at the stability limit of that many stages).
      MaximumStages: int
      /// RKC2 damping ε (see <c>RkcSettings.Damping</c>).
      Damping: float }

    /// α = 1, dt = 0.01, tol = 1e-9, min 5, max 100,000 steps (the reference code's defaults, theory §3.2);
    /// RKC2: up to 25 stages, damping ε = 10 (a run to equilibrium needs no transient accuracy; it must kill the stiff
    /// part of the residual, which ε = 10 damps by |P_s| ≤ 0.24 per step). The cap was measured: Laplacian products to
    /// the same residual on 10×10 and 24×24 grid sheaves (d = 2, one side pinned) were lowest at 16–25 stages (270–366
    /// against 413–453 at 40, 1246–1496 at 250, 7866–13046 for Euler at dt 0.01); on small random sheaves where Euler
    /// needs ≥ 2000 products (494 of 600 seeds) the median Euler/RKC2 ratio was 15.9 at 25 stages, 11.2 at 40, 4.1 at 250.
    static member Default =
        { Alpha = 1.0
          Dt = 0.01
          Tolerance = 1e-9
          MinSteps = 5
          MaxSteps = 100_000
          EnergyEvery = 1
          MaximumStages = 25
          Damping = 10.0 }

/// What a general-sheaf heat run did.
type internal SheafHeatResult =
    { Converged: bool
      Diverged: bool
      DivergenceReason: string
      /// Euler: accepted steps. RKC2: accepted steps.
      Steps: int
      /// Every product with L, including the power iteration of a diverged Euler run.
      LaplacianApplications: int
      /// RKC2 steps rejected by the energy control (0 for Euler).
      RejectedSteps: int
      /// Largest |Δx_i| of a free coordinate in the last step.
      FinalChange: float
      /// ‖F(x)‖_∞ over free coordinates at the final state (for Euler: of the state before the last step).
      Residual: float
      FinalTime: float
      /// ρ = α·λ_max(L_FF + diag γ_F): Euler that diverged, a power-iteration estimate; RKC2, the Gershgorin bound it
      /// used; NaN when not computed (Euler that did not diverge).
      SpectralRadiusEstimate: float
      /// A step that makes Euler stable: 1.9/ρ̂, below the limit 2/ρ (NaN when not computed).
      SuggestedStep: float
      /// Steps (accepted) at which the energy was recorded (0 = initial state).
      TraceSteps: int[]
      TraceTimes: float[]
      /// E(x) = ½xᵀLx + ½Σγ_i(x_i − target_i)² at those steps.
      EnergyTrace: float[] }

/// <summary>The pinned heat field F(x) = −α(Lx + γ⊙(x − target)) with F_i = 0 on hard-pinned coordinates, over the
/// block-CSR Laplacian. Also the RKC2 monitor of a sheaf heat run.</summary>
/// <remarks>Keeps the last product L·x in a buffer, so E(x) = ½x·(Lx) + soft-pin energy of the last evaluated state
/// costs no extra product; RKC2 evaluates F(y_{n+1}) last in every accepted step, so the monitor always sees the
/// product of the accepted state.</remarks>
[<Sealed>]
type internal PinnedHeatField(laplacian: SheafLaplacianMatrix, alpha: float, pins: SheafHeatPins, normBound: float) =
    let n = laplacian.Dimension
    let lx = Array.zeroCreate<float> n
    let hasSoft = pins.SoftGamma.Length > 0
    let mutable applications = 0
    // Monitor state (RKC2 runs).
    let mutable tolerance = 0.0
    let mutable minSteps = 0
    let mutable energyEvery = 1
    let mutable lastResidual = nan
    let mutable lastChangeState = Array.zeroCreate<float> n
    let mutable lastChange = nan
    let mutable lastMerit = nan
    let mutable lastRoundOff = nan
    let traceSteps = ResizeArray<int>()
    let traceTimes = ResizeArray<float>()
    let energies = ResizeArray<float>()

    member _.Dimension = n
    member _.Applications
        with get () = applications
        and set v = applications <- v
    /// L·x of the last evaluated state.
    member _.LastProduct = lx
    member _.LastResidual = lastResidual
    member _.LastChange = lastChange
    member _.TraceSteps = traceSteps
    member _.TraceTimes = traceTimes
    member _.Energies = energies

    /// Sets the monitor's stopping rule and clears its trace.
    member _.ResetMonitor(tol: float, min: int, every: int, initial: ReadOnlySpan<float>) =
        tolerance <- tol
        minSteps <- min
        energyEvery <- max 1 every
        lastResidual <- nan
        lastChange <- nan
        if lastChangeState.Length <> n then lastChangeState <- Array.zeroCreate n
        initial.CopyTo(Span lastChangeState)
        traceSteps.Clear()
        traceTimes.Clear()
        energies.Clear()

    /// E(x) = ½x·(Lx) + ½Σγ_i(x_i − target_i)² of the last evaluated state.
    member _.LastEnergy = lastMerit
    /// Absolute round-off bound of LastEnergy: 1e-12·normBound·‖x‖², normBound ≥ ‖L + Γ‖ (the rounding error of
    /// x·(Lx) is about ε‖L‖‖x‖²; 1e-12 leaves a wide margin).
    member _.LastEnergyRoundOff = lastRoundOff

    /// ‖F‖_∞ over free coordinates (F is already zero on hard pins).
    member _.ResidualOf(f: ReadOnlySpan<float>) =
        let mutable r = 0.0
        for i in 0 .. n - 1 do
            if not pins.HardMask[i] then r <- max r (abs f[i])
        r

    /// Records (step, time, energy) of the last evaluated state.
    member _.Record(step: int, time: float) =
        traceSteps.Add step
        traceTimes.Add time
        energies.Add lastMerit

    interface IMeritField with
        member _.LastMerit = lastMerit
        member _.LastMeritRoundOff = lastRoundOff

    interface IVectorField with
        member _.Dimension = n

        member _.Evaluate(x: ReadOnlySpan<float>, destination: Span<float>) =
            // Two cores on large sheaves (bit-identical to the one-thread apply, so steps are reproducible).
            SheafLaplacian.applyTwoThreads (laplacian, x, Span lx)
            applications <- applications + 1
            let mutable energy = 0.0
            let mutable xx = 0.0
            for i in 0 .. n - 1 do
                energy <- energy + x[i] * lx[i]
                xx <- xx + x[i] * x[i]
                if pins.HardMask[i] then destination[i] <- 0.0
                else destination[i] <- -alpha * lx[i]
            energy <- 0.5 * energy
            if hasSoft then
                for i in 0 .. n - 1 do
                    let g = pins.SoftGamma[i]
                    if g > 0.0 && not pins.HardMask[i] then
                        let d = x[i] - pins.SoftTargets[i]
                        destination[i] <- destination[i] - alpha * g * d
                        energy <- energy + 0.5 * g * d * d
            lastMerit <- energy
            lastRoundOff <- 1e-12 * normBound * xx

    interface IRkcMonitor with
        member this.Accepted(step: int, time: float, state: ReadOnlySpan<float>, derivative: ReadOnlySpan<float>) =
            lastResidual <- this.ResidualOf derivative
            let mutable change = 0.0
            for i in 0 .. n - 1 do
                if not pins.HardMask[i] then change <- max change (abs (state[i] - lastChangeState[i]))
                lastChangeState[i] <- state[i]
            lastChange <- change
            let stop = step >= minSteps && lastResidual < tolerance
            if step % energyEvery = 0 || stop then this.Record(step, time)
            stop

/// The heat equation x' = −αLx on a general cellular sheaf with hard and soft pins: explicit Euler (the reference
/// scheme of theory §3.2) and adaptive RKC2.
[<RequireQualifiedAccess>]
module internal SheafHeat =

    let private validate
        (laplacian: SheafLaplacianMatrix, initial: ReadOnlySpan<float>, pins: SheafHeatPins, settings: SheafHeatSettings)
        =
        if isNull laplacian then nullArg (nameof laplacian)
        let n = laplacian.Dimension
        Guard.length (nameof initial) n initial.Length
        Guard.finite (nameof initial) initial
        if isNull pins.HardMask then nullArg (nameof pins)
        Guard.length (nameof pins) n pins.HardMask.Length
        Guard.length (nameof pins) n pins.HardValues.Length
        for i in 0 .. n - 1 do
            if pins.HardMask[i] then Guard.finiteScalar (nameof pins) pins.HardValues[i]
        if isNull pins.SoftGamma || isNull pins.SoftTargets then nullArg (nameof pins)
        if pins.SoftGamma.Length <> 0 || pins.SoftTargets.Length <> 0 then
            Guard.length (nameof pins) n pins.SoftGamma.Length
            Guard.length (nameof pins) n pins.SoftTargets.Length
            for i in 0 .. n - 1 do
                let g = pins.SoftGamma[i]
                if not (g >= 0.0 && Double.IsFinite g) then
                    invalidArg (nameof pins) (sprintf "Soft pin γ at coordinate %d is %g; it must be finite and ≥ 0." i g)
                if g > 0.0 then
                    if pins.HardMask[i] then
                        invalidArg (nameof pins) (sprintf "Coordinate %d is both hard- and soft-pinned." i)
                    Guard.finiteScalar (nameof pins) pins.SoftTargets[i]
        if not (settings.Alpha > 0.0 && Double.IsFinite settings.Alpha) then
            invalidArg (nameof settings) "Alpha must be finite and positive."
        if not (settings.Tolerance > 0.0) then invalidArg (nameof settings) "Tolerance must be positive."
        if settings.MinSteps < 0 || settings.MaxSteps < 0 then
            invalidArg (nameof settings) "MinSteps and MaxSteps must be non-negative."
        if settings.EnergyEvery < 1 then invalidArg (nameof settings) "EnergyEvery must be at least 1."

    /// <summary>Power-iteration estimate of ρ = λ_max(A), A = α·(L_FF + diag(γ_F)) on the free coordinates F (the
    /// Jacobian of the pinned heat field, up to sign), with the number of Laplacian products used.</summary>
    /// <param name="laplacian">Assembled sheaf Laplacian.</param>
    /// <param name="alpha">Diffusion rate α.</param>
    /// <param name="pins">Hard pins (excluded coordinates) and soft pins (γ on the diagonal).</param>
    /// <param name="relativeChange">Stop when two successive Rayleigh quotients agree to this (after ≥ 5 iterations).</param>
    /// <param name="maximumIterations">Iteration cap.</param>
    /// <remarks>Deterministic start vector (seeded normal, zero on hard pins). Power iteration approaches λ_max from
    /// below, so callers add a safety factor. Allocates two C⁰ vectors.</remarks>
    let estimateSpectralRadius
        (laplacian: SheafLaplacianMatrix, alpha: float, pins: SheafHeatPins, relativeChange: float, maximumIterations: int)
        : float * int =
        if isNull laplacian then nullArg (nameof laplacian)
        let n = laplacian.Dimension
        Guard.length (nameof pins) n pins.HardMask.Length
        let v = Array.zeroCreate<float> n
        let w = Array.zeroCreate<float> n
        let rng = Rng 0x5EEDL
        for i in 0 .. n - 1 do
            if not pins.HardMask[i] then v[i] <- rng.Normal()
        let normalise (a: float[]) =
            let mutable s = 0.0
            for x in a do
                s <- s + x * x
            let norm = sqrt s
            if norm > 0.0 then
                for i in 0 .. a.Length - 1 do
                    a[i] <- a[i] / norm
            norm
        let hasSoft = pins.SoftGamma.Length > 0
        let mutable theta = 0.0
        let mutable previous = -1.0
        let mutable iterations = 0
        let mutable go = normalise v > 0.0
        while go do
            SheafLaplacian.applyTwoThreads (laplacian, ReadOnlySpan v, Span w)
            iterations <- iterations + 1
            let mutable rq = 0.0
            for i in 0 .. n - 1 do
                if pins.HardMask[i] then w[i] <- 0.0
                else
                    w[i] <- alpha * (w[i] + (if hasSoft then pins.SoftGamma[i] * v[i] else 0.0))
                    rq <- rq + v[i] * w[i]
            theta <- rq
            Array.blit w 0 v 0 n
            let norm = normalise v
            go <-
                norm > 0.0
                && iterations < maximumIterations
                && (iterations < 5 || abs (theta - previous) > relativeChange * abs theta)
            previous <- theta
        max theta 0.0, iterations

    /// <summary>Gershgorin bound max_i Σ_j |A_ij| ≥ λ_max(A) for A = L (freeOnly = false) or A = L_FF + diag(γ_F)
    /// on the free coordinates F (freeOnly = true).</summary>
    let rowSumBound (laplacian: SheafLaplacianMatrix, pins: SheafHeatPins, freeOnly: bool) : float =
        let hasSoft = pins.SoftGamma.Length > 0
        let mutable bound = 0.0
        for v in 0 .. laplacian.BlockRows - 1 do
            let rowOffset = laplacian.VertexOffsets[v]
            for r in 0 .. laplacian.VertexDims[v] - 1 do
                let i = rowOffset + r
                if not (freeOnly && pins.HardMask[i]) then
                    let mutable rowSum = if freeOnly && hasSoft then pins.SoftGamma[i] else 0.0
                    for k in laplacian.RowPointers[v] .. laplacian.RowPointers[v + 1] - 1 do
                        let u = laplacian.ColumnIndices[k]
                        let du = laplacian.VertexDims[u]
                        let start = laplacian.BlockOffsets[k] + r * du
                        for c in 0 .. du - 1 do
                            if not (freeOnly && pins.HardMask[laplacian.VertexOffsets[u] + c]) then
                                rowSum <- rowSum + abs laplacian.Values[start + c]
                    bound <- max bound rowSum
        bound

    /// ‖L + Γ‖ ≤ max row sum of |L| + max(1, max γ): the scale of the energy's rounding error.
    let private energyNormBound (laplacian: SheafLaplacianMatrix, pins: SheafHeatPins) =
        let mutable gammaMax = 1.0
        for g in pins.SoftGamma do
            gammaMax <- max gammaMax g
        rowSumBound (laplacian, SheafHeatPins.None laplacian.Dimension, false) + gammaMax

    let private finishTrace (field: PinnedHeatField) =
        field.TraceSteps.ToArray(), field.TraceTimes.ToArray(), field.Energies.ToArray()

    /// <summary>Explicit Euler x ← x + dt·F(x) for the pinned heat field, in place.</summary>
    /// <param name="laplacian">Assembled sheaf Laplacian L (block CSR).</param>
    /// <param name="initial">Initial state, length C⁰ (hard-pinned entries are replaced by their values).</param>
    /// <param name="pins">Hard and soft pins.</param>
    /// <param name="settings">Alpha, Dt, Tolerance, MinSteps, MaxSteps, EnergyEvery are used.</param>
    /// <param name="destination">The final state, length ≥ C⁰ (it is the working state; no other allocation in
    /// the loop).</param>
    /// <remarks>
    /// One Laplacian product per step. Stops when max |Δx_i| over free coordinates &lt; Tolerance (after MinSteps).
    /// Divergence: a non-finite state, or the energy E = ½xᵀLx + ½Σγ(x − t)² growing — for a stable step it never
    /// grows (E is a Lyapunov function of the flow and of Euler with α·dt·λ_max(L_FF + Γ) &lt; 2); growth is
    /// measured against a round-off floor of 1e-12·ρ̂·‖x‖² so that stagnation at the equilibrium does not count.
    /// On divergence the result carries a power-iteration estimate ρ̂ and the stable step 1.9/ρ̂.
    /// </remarks>
    let euler
        (
            laplacian: SheafLaplacianMatrix,
            initial: ReadOnlySpan<float>,
            pins: SheafHeatPins,
            settings: SheafHeatSettings,
            destination: Span<float>
        ) : SheafHeatResult =
        validate (laplacian, initial, pins, settings)
        if not (settings.Dt > 0.0 && Double.IsFinite settings.Dt) then
            invalidArg (nameof settings) "Dt must be finite and positive."
        let n = laplacian.Dimension
        Guard.atLeast (nameof destination) n destination.Length
        let x = destination.Slice(0, n)
        initial.CopyTo x
        for i in 0 .. n - 1 do
            if pins.HardMask[i] then x[i] <- pins.HardValues[i]
        let field = PinnedHeatField(laplacian, settings.Alpha, pins, energyNormBound (laplacian, pins))
        field.ResetMonitor(settings.Tolerance, settings.MinSteps, settings.EnergyEvery, Span<float>.op_Implicit x)
        let f = Array.zeroCreate<float> n
        let dt = settings.Dt
        let mutable steps = 0
        let mutable converged = false
        let mutable diverged = false
        let mutable reason = ""
        let mutable change = nan
        let mutable residual = nan
        let mutable previousEnergy = nan
        let mutable go = settings.MaxSteps > 0
        (field :> IVectorField).Evaluate(Span<float>.op_Implicit x, Span f)
        field.Record(0, 0.0)
        previousEnergy <- field.Energies[0]
        while go do
            residual <- field.ResidualOf(ReadOnlySpan f)
            change <- 0.0
            for i in 0 .. n - 1 do
                let d = dt * f[i]
                x[i] <- x[i] + d
                if not pins.HardMask[i] then change <- max change (abs d)
            steps <- steps + 1
            (field :> IVectorField).Evaluate(Span<float>.op_Implicit x, Span f)
            let energy = field.LastEnergy
            if not (Double.IsFinite change && Double.IsFinite energy) then
                diverged <- true
                reason <- sprintf "Non-finite state at step %d: reduce dt." steps
            elif energy > previousEnergy + 1e-9 * abs previousEnergy + field.LastEnergyRoundOff then
                diverged <- true
                reason <- sprintf "The energy grew at step %d (%g → %g): dt is above the stability limit." steps previousEnergy energy
            previousEnergy <- energy
            converged <- not diverged && steps >= settings.MinSteps && change < settings.Tolerance
            let record = steps % settings.EnergyEvery = 0
            go <- not diverged && not converged && steps < settings.MaxSteps
            if (record || not go) && Double.IsFinite energy then
                field.TraceSteps.Add steps
                field.TraceTimes.Add(float steps * dt)
                field.Energies.Add energy
        let applicationsBeforeEstimate = field.Applications
        let rho, powerIterations =
            // A careful estimate here: the suggestion 1.9/ρ̂ is only below the limit 2/ρ if ρ̂ > 0.95ρ.
            if diverged then estimateSpectralRadius (laplacian, settings.Alpha, pins, 1e-6, 1000) else nan, 0
        let ts, tt, te = finishTrace field
        { Converged = converged
          Diverged = diverged
          DivergenceReason = reason
          Steps = steps
          LaplacianApplications = applicationsBeforeEstimate + powerIterations
          RejectedSteps = 0
          FinalChange = change
          Residual = residual
          FinalTime = float steps * dt
          SpectralRadiusEstimate = rho
          SuggestedStep = (if diverged && rho > 0.0 then 1.9 / rho else nan)
          TraceSteps = ts
          TraceTimes = tt
          EnergyTrace = te }

    /// <summary>Adaptive RKC2 descent of the pinned heat field to its equilibrium, in place.</summary>
    /// <param name="laplacian">Assembled sheaf Laplacian L (block CSR).</param>
    /// <param name="initial">Initial state, length C⁰ (hard-pinned entries are replaced by their values).</param>
    /// <param name="pins">Hard and soft pins.</param>
    /// <param name="settings">Alpha, Tolerance, MinSteps, MaxSteps, EnergyEvery and the RKC2 fields are used
    /// (Dt is not).</param>
    /// <param name="destination">The final state, length ≥ C⁰.</param>
    /// <remarks>
    /// Damped RKC2 under energy step control (<c>Rkc.descend</c>; E = ½xᵀLx + soft-pin energy is the flow's Lyapunov
    /// function), with ρ the Gershgorin bound α·max_i Σ_j |(L_FF + Γ)_ij|, so every step is stable. Stops when the equilibrium residual ‖F(x)‖_∞ over free coordinates &lt; Tolerance
    /// (F(x_{n+1}) is computed by every step anyway). For the same residual target as Euler's stopping rule, pass
    /// Tolerance = (Euler tolerance)/dt, since Euler's |Δx| = dt·|F(x)|. Hard-pinned coordinates have F = 0, so
    /// they keep their values (re-imposed exactly at the end to remove round-off of the stage combinations).
    /// </remarks>
    let rkc
        (
            laplacian: SheafLaplacianMatrix,
            initial: ReadOnlySpan<float>,
            pins: SheafHeatPins,
            settings: SheafHeatSettings,
            destination: Span<float>
        ) : SheafHeatResult =
        validate (laplacian, initial, pins, settings)
        let n = laplacian.Dimension
        Guard.atLeast (nameof destination) n destination.Length
        let x = destination.Slice(0, n)
        initial.CopyTo x
        for i in 0 .. n - 1 do
            if pins.HardMask[i] then x[i] <- pins.HardValues[i]
        // A certified bound (Gershgorin): every step is then inside the stability interval, and the energy control
        // never has to catch an unstable mode. It costs no Laplacian product.
        let rho = settings.Alpha * rowSumBound (laplacian, pins, true)
        let field = PinnedHeatField(laplacian, settings.Alpha, pins, energyNormBound (laplacian, pins))
        field.ResetMonitor(settings.Tolerance, settings.MinSteps, settings.EnergyEvery, Span<float>.op_Implicit x)
        let result =
            Rkc.descend (field, rho, settings.MaximumStages, settings.Damping, settings.MaxSteps, x, field, RkcWorkspace n)
        for i in 0 .. n - 1 do
            if pins.HardMask[i] then x[i] <- pins.HardValues[i]
        let ts, tt, te = finishTrace field
        { Converged = result.StoppedByMonitor
          Diverged = result.Failed
          DivergenceReason = result.FailureReason
          Steps = result.AcceptedSteps
          LaplacianApplications = field.Applications
          RejectedSteps = result.RejectedSteps
          FinalChange = field.LastChange
          Residual = field.LastResidual
          FinalTime = result.FinalTime
          SpectralRadiusEstimate = rho
          SuggestedStep = (if rho > 0.0 then 1.9 / rho else Double.PositiveInfinity)
          TraceSteps = ts
          TraceTimes = tt
          EnergyTrace = te }
