namespace SheafCore.Numerics

open System

/// How the nonlinear output edge pushes on z^(k+1) (theory §3.2).
type internal OutputForceMode =
    /// f_out = −J_φ(z)ᵀ(φ(z) − a_out): the exact gradient of ½‖φ(z) − a_out‖² (the default).
    | Jacobian = 0
    /// f_out = −(φ(z) − a_out): the cross-entropy-like edge used when the output is pinned to labels.
    | Identity = 1

/// A pin on some coordinates of one network stalk. Stalk index: 0 … 2k are the free blocks z1, a1, …, z(k+1);
/// 2k+1 is the output stalk a_out (sigmoid/softmax only). Targets are Coordinates.Length × B (feature-major:
/// row c holds the target of coordinate Coordinates[c] for every sample). A hard pin overwrites the coordinates
/// after every step (Dirichlet); a soft pin adds the force −γ(v − target) (an extra edge to a pinned ghost vertex).
[<Sealed>]
type internal StalkPin(stalk: int, coordinates: int[], targets: float[], gamma: float, hard: bool) =
    member _.Stalk = stalk
    member _.Coordinates = coordinates
    member _.Targets = targets
    member _.Gamma = gamma
    member _.IsHard = hard

/// Settings of a heat-equation run.
type internal HeatSettings =
    { Alpha: float
      Dt: float
      Tolerance: float
      MinSteps: int
      MaxSteps: int
      OutputForce: OutputForceMode
      /// Record the discord every this many steps (1 = every step; the final step is always recorded).
      EnergyEvery: int
      /// Stop recording ReLU crossings after this many.
      MaxCrossings: int }

/// A ReLU boundary crossing: the mask of (layer, neuron) of a sample flipped during a step.
[<Struct>]
type internal CrossingEvent =
    { Step: int
      Sample: int
      Layer: int
      Neuron: int }

/// What a heat run did.
type internal HeatRunResult =
    { Converged: bool
      Diverged: bool
      DivergenceReason: string
      Steps: int
      LaplacianApplications: int
      RejectedSteps: int
      /// Largest |Δ| of a free coordinate in the last step.
      FinalChange: float
      /// Step numbers of the recorded discord values (0 = initial state).
      TraceSteps: int[]
      /// Batch mean of Σ_e ‖discrepancy_e‖² at those steps.
      DiscordTrace: float[]
      Crossings: CrossingEvent[] }

/// Buffers of one heat step (residuals and forces), allocated once per run.
[<Sealed>]
type internal HeatWorkspace(mlp: Mlp, batch: int) =
    let residual = Array.init mlp.AffineCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let forceZ = Array.init mlp.AffineCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let forceA = Array.init mlp.HiddenCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let backward = Array.zeroCreate ((if mlp.HiddenCount > 0 then Array.max mlp.Layers[1 .. mlp.HiddenCount] else 0) * batch)
    let phi = Array.zeroCreate (mlp.OutputDim * batch)
    let forceOut = Array.zeroCreate (mlp.OutputDim * batch)
    member _.Batch = batch
    /// r_ℓ = W^(ℓ)a^(ℓ−1) + b^(ℓ) − z^(ℓ) of the old state.
    member _.Residual = residual
    member _.ForceZ = forceZ
    member _.ForceA = forceA
    /// W^(ℓ+1)ᵀ r_{ℓ+1}, one hidden layer at a time.
    member _.Backward = backward
    member _.Phi = phi
    member _.ForceOut = forceOut
    /// Σ γ‖v − target‖² of the soft pins at the state of the last computeForces (batch mean).
    member val SoftPinPenalty = 0.0 with get, set

/// The sheaf heat equation on a batch of network sheaves (theory §3): the reference explicit Euler update.
[<RequireQualifiedAccess>]
module internal NetworkHeat =

    /// Number of stalks a pin can address: 2k+1 free blocks, plus the output stalk when φ is not the identity.
    let stalkCount (mlp: Mlp) = 2 * mlp.HiddenCount + 1 + (if mlp.Output = OutputActivation.Identity then 0 else 1)

    /// The storage of pin stalk index j.
    let stalkArray (mlp: Mlp) (stalks: NetworkStalks) (j: int) : float[] =
        if j = 2 * mlp.HiddenCount + 1 then stalks.Output else stalks.FreeBlock j

    /// The force buffer of stalk index j.
    let private forceArray (mlp: Mlp) (ws: HeatWorkspace) (j: int) : float[] =
        if j = 2 * mlp.HiddenCount + 1 then ws.ForceOut
        elif j % 2 = 0 then ws.ForceZ[j / 2]
        else ws.ForceA[j / 2]

    /// Checks pins against the network and batch.
    let validatePins (mlp: Mlp) (batch: int) (pins: StalkPin[]) =
        for p in pins do
            Guard.index "pins" (stalkCount mlp) p.Stalk
            let width = if p.Stalk = 2 * mlp.HiddenCount + 1 then mlp.OutputDim else mlp.Layers[p.Stalk / 2 + 1]
            for c in p.Coordinates do
                Guard.index "pins" width c
            Guard.length "pins" (p.Coordinates.Length * batch) p.Targets.Length
            Guard.finite "pins" (ReadOnlySpan p.Targets)
            if not p.IsHard && not (Double.IsFinite p.Gamma && p.Gamma >= 0.0) then
                invalidArg "pins" (sprintf "A soft pin needs a finite coupling γ ≥ 0 (got %g)." p.Gamma)

    /// Overwrites hard-pinned coordinates with their targets.
    let applyHardPins (mlp: Mlp) (stalks: NetworkStalks) (pins: StalkPin[]) =
        let batch = stalks.Batch
        for p in pins do
            if p.IsHard then
                let v = stalkArray mlp stalks p.Stalk
                for ci in 0 .. p.Coordinates.Length - 1 do
                    Array.blit p.Targets (ci * batch) v (p.Coordinates[ci] * batch) batch

    /// Forces and discord (see `computeForces`), with the vector kernels or their scalar twins.
    let private computeForcesWith (vectorised: bool, mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, pins: StalkPin[], mode: OutputForceMode, ws: HeatWorkspace) : float =
        let batch = stalks.Batch
        let k = mlp.HiddenCount
        let mutable discord = 0.0
        // Residuals r_ℓ = W a + b − z (one GEMM per affine edge over the whole batch).
        for l in 0 .. mlp.AffineCount - 1 do
            let nOut = mlp.Layers[l + 1]
            let nIn = mlp.Layers[l]
            let r = Span<float>(ws.Residual[l])
            Forward.fillRowBias (nOut, batch, ReadOnlySpan mlp.Biases[l], r)
            let previous = if l = 0 then x else ReadOnlySpan stalks.A[l - 1]
            Gemm.multiply (nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, r, batch, true)
            let z = ReadOnlySpan stalks.Z[l]
            discord <-
                discord
                + (if vectorised then FusedKernels.subtractSumSquares (r, z) else FusedKernels.subtractSumSquaresReference (r, z))
        // z^(ℓ), ℓ ≤ k: r_ℓ − σ⊙(z − a); a^(ℓ): −(a − σ⊙z) − W^(ℓ+1)ᵀ r_{ℓ+1}.
        for l in 0 .. k - 1 do
            let z = stalks.Z[l]
            let a = stalks.A[l]
            let r = ws.Residual[l]
            let fz = ws.ForceZ[l]
            let fa = ws.ForceA[l]
            let nOut = mlp.Layers[l + 1]
            let nNext = mlp.Layers[l + 2]
            let back = Span<float>(ws.Backward, 0, nOut * batch)
            Gemm.multiplyTransposeA (nOut, batch, nNext, ReadOnlySpan mlp.Weights[l + 1], nOut, ReadOnlySpan ws.Residual[l + 1], batch, back, batch, false)
            let back = Span.op_Implicit back
            discord <-
                discord
                + (if vectorised then FusedKernels.heatHiddenForces (ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan r, back, Span fz, Span fa)
                   else FusedKernels.heatHiddenForcesReference (ReadOnlySpan z, ReadOnlySpan a, ReadOnlySpan r, back, Span fz, Span fa))
        // z^(k+1): r_{k+1} + f_out; a_out: φ(z) − a_out.
        let last = ws.Residual[k]
        let fzLast = ws.ForceZ[k]
        Array.blit last 0 fzLast 0 last.Length
        if mlp.Output <> OutputActivation.Identity then
            let n = mlp.OutputDim
            let phi = ws.Phi
            Activations.applyOutput (mlp.Output, n, batch, ReadOnlySpan stalks.Z[k], Span phi)
            let aOut = stalks.Output
            let fOut = ws.ForceOut
            for i in 0 .. phi.Length - 1 do
                let d = phi[i] - aOut[i]
                fOut[i] <- d
                discord <- discord + d * d
            // f_out = −Jᵀ(φ − a_out) (Jacobian mode) or −(φ − a_out) (identity mode); fOut holds φ − a_out.
            if mode = OutputForceMode.Identity then
                for i in 0 .. phi.Length - 1 do
                    fzLast[i] <- fzLast[i] - fOut[i]
            elif mlp.Output = OutputActivation.Sigmoid then
                for i in 0 .. phi.Length - 1 do
                    fzLast[i] <- fzLast[i] - phi[i] * (1.0 - phi[i]) * fOut[i]
            else
                // Softmax: J = diag(p) − ppᵀ is symmetric, so Jᵀd = p⊙d − p(pᵀd), column by column.
                for s in 0 .. batch - 1 do
                    let mutable pd = 0.0
                    for c in 0 .. n - 1 do
                        pd <- pd + phi[c * batch + s] * fOut[c * batch + s]
                    for c in 0 .. n - 1 do
                        let i = c * batch + s
                        fzLast[i] <- fzLast[i] - (phi[i] * fOut[i] - phi[i] * pd)
        // Pins: soft pins pull toward their targets, hard pins freeze their coordinates.
        let mutable penalty = 0.0
        for p in pins do
            let v = stalkArray mlp stalks p.Stalk
            let f = forceArray mlp ws p.Stalk
            for ci in 0 .. p.Coordinates.Length - 1 do
                let row = p.Coordinates[ci] * batch
                for s in 0 .. batch - 1 do
                    if p.IsHard then
                        f[row + s] <- 0.0
                    else
                        let d = v[row + s] - p.Targets[ci * batch + s]
                        f[row + s] <- f[row + s] - p.Gamma * d
                        penalty <- penalty + p.Gamma * d * d
        ws.SoftPinPenalty <- penalty / float (max batch 1)
        discord / float (max batch 1)

    /// Fills the workspace with the residuals and forces of the current state and returns the batch-mean discord
    /// Σ_e ‖discrepancy_e‖² of that state. Forces follow theory §3.2 exactly; soft pins add −γ(v − target),
    /// hard-pinned coordinates get zero force. Hot loops are the fused vector kernels of `FusedKernels` (forces
    /// bit-identical to `computeForcesReference`; the discord differs only by summation order).
    let computeForces (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, pins: StalkPin[], mode: OutputForceMode, ws: HeatWorkspace) : float =
        computeForcesWith (true, mlp, x, stalks, pins, mode, ws)

    /// The scalar twin of `computeForces` (the original element loops; the benchmark baseline).
    let computeForcesReference (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, pins: StalkPin[], mode: OutputForceMode, ws: HeatWorkspace) : float =
        computeForcesWith (false, mlp, x, stalks, pins, mode, ws)

    let private eulerStepWith (vectorised: bool, mlp: Mlp, stalks: NetworkStalks, s: float, ws: HeatWorkspace) : float =
        let advance (v: float[], f: float[], s: float) =
            if vectorised then FusedKernels.advance (Span v, ReadOnlySpan f, s) else FusedKernels.advanceReference (Span v, ReadOnlySpan f, s)
        let mutable change = 0.0
        let mutable finite = true
        for l in 0 .. mlp.AffineCount - 1 do
            let c = advance (stalks.Z[l], ws.ForceZ[l], s)
            finite <- finite && Double.IsFinite c
            change <- max change c
        for l in 0 .. mlp.HiddenCount - 1 do
            let c = advance (stalks.A[l], ws.ForceA[l], s)
            finite <- finite && Double.IsFinite c
            change <- max change c
        if mlp.Output <> OutputActivation.Identity then
            let c = advance (stalks.Output, ws.ForceOut, s)
            finite <- finite && Double.IsFinite c
            change <- max change c
        if finite then change else nan

    /// One explicit Euler step with step s = α·dt; returns the largest change of a free coordinate.
    /// Also returns non-finite changes as NaN so the caller can stop. Vectorised (`FusedKernels.advance`).
    let eulerStep (mlp: Mlp, stalks: NetworkStalks, s: float, ws: HeatWorkspace) : float =
        eulerStepWith (true, mlp, stalks, s, ws)

    /// The scalar twin of `eulerStep` (bit-identical stalks and result).
    let eulerStepReference (mlp: Mlp, stalks: NetworkStalks, s: float, ws: HeatWorkspace) : float =
        eulerStepWith (false, mlp, stalks, s, ws)

    /// Batch-mean discord of a state (no forces kept).
    let discordOf (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, ws: HeatWorkspace) =
        computeForces (mlp, x, stalks, Array.empty, OutputForceMode.Jacobian, ws)

    /// <summary>M = max(1, max_{ℓ=2..k+1} ‖W^(ℓ)‖₂), the bound on ‖N‖₂ for δ_Ω = I − N (theory §3.3); then
    /// λ_max(L_Ω) ≤ (1 + M)² for every pattern, and Euler is stable for α·dt &lt; 2/(1 + M)².</summary>
    /// <remarks>‖W‖₂² is the largest eigenvalue of the smaller Gram matrix WWᵀ or WᵀW, from the dense Jacobi
    /// eigensolver (accurate to a few ε·‖W‖², unlike a truncated power iteration, which approaches the norm from
    /// below); the 1 + 1e-12 factor turns it into a certified upper bound.</remarks>
    let weightNormBound (mlp: Mlp) : float =
        if isNull mlp then nullArg (nameof mlp)
        let mutable m = 1.0
        for l in 1 .. mlp.AffineCount - 1 do
            let rows = mlp.Layers[l + 1]
            let cols = mlp.Layers[l]
            let w = DenseMatrix(rows, cols, mlp.Weights[l])
            let gram = if rows <= cols then Dense.multiply w (Dense.transpose w) else Dense.gram w
            let values = (DenseFactor.symmetricEigen gram).Values
            let top = values[values.Length - 1]
            m <- max m (sqrt (max top 0.0) * (1.0 + 1e-12))
        m

    /// A step size that keeps explicit Euler stable for every activation pattern: 1.9 / (α (1 + M)² + γ_max).
    let stableStep (mlp: Mlp, alpha: float, maxGamma: float) =
        let m = weightNormBound mlp
        1.9 / (alpha * ((1.0 + m) * (1.0 + m) + maxGamma))

    /// Checks run settings; names the offending setting.
    let validateSettings (settings: HeatSettings) =
        if not (Double.IsFinite settings.Alpha && settings.Alpha > 0.0) then
            invalidArg "Alpha" (sprintf "The diffusion rate α must be positive and finite (got %g)." settings.Alpha)
        if not (Double.IsFinite settings.Dt && settings.Dt > 0.0) then
            invalidArg "Dt" (sprintf "The step dt must be positive and finite (got %g)." settings.Dt)
        if not (settings.Tolerance >= 0.0 && Double.IsFinite settings.Tolerance) then
            invalidArg "Tolerance" (sprintf "The tolerance must be finite and non-negative (got %g)." settings.Tolerance)
        if settings.MaxSteps < 1 then invalidArg "MaxSteps" (sprintf "At least one step is needed (got %d)." settings.MaxSteps)
        if settings.MinSteps < 0 then invalidArg "MinSteps" (sprintf "Must be non-negative (got %d)." settings.MinSteps)
        if settings.EnergyEvery < 1 then invalidArg "EnergyEvery" (sprintf "Must be positive (got %d)." settings.EnergyEvery)

    /// Copies the ReLU masks (z ≥ 0) of the hidden z stalks into `masks`.
    let private readMasks (mlp: Mlp, stalks: NetworkStalks, masks: bool[][]) =
        for l in 0 .. mlp.HiddenCount - 1 do
            let z = stalks.Z[l]
            let m = masks[l]
            for i in 0 .. z.Length - 1 do
                m[i] <- z[i] >= 0.0

    /// Records the mask flips of a step and refreshes `masks`.
    let private recordCrossings (mlp: Mlp, stalks: NetworkStalks, masks: bool[][], step: int, limit: int, events: ResizeArray<CrossingEvent>) =
        let batch = stalks.Batch
        for l in 0 .. mlp.HiddenCount - 1 do
            let z = stalks.Z[l]
            let m = masks[l]
            for i in 0 .. z.Length - 1 do
                let active = z[i] >= 0.0
                if active <> m[i] then
                    m[i] <- active
                    if events.Count < limit then
                        events.Add { Step = step; Sample = i % batch; Layer = l + 1; Neuron = i / batch }

    /// The largest γ among soft pins (for the stability bound).
    let maxGamma (pins: StalkPin[]) =
        pins |> Array.fold (fun g p -> if p.IsHard then g else max g p.Gamma) 0.0

    /// The advice attached to a divergence: a step that is stable for every activation pattern.
    let divergenceAdvice (mlp: Mlp, settings: HeatSettings, pins: StalkPin[]) =
        let m = weightNormBound mlp
        sprintf
            "α·dt = %g is too large for this network: λ_max(L_Ω) ≤ (1 + M)² = %.4g (M = %.4g)%s, so use dt ≤ %.3g"
            (settings.Alpha * settings.Dt)
            ((1.0 + m) * (1.0 + m))
            m
            (if maxGamma pins > 0.0 then sprintf " plus the soft-pin coupling %g" (maxGamma pins) else "")
            (stableStep (mlp, settings.Alpha, maxGamma pins))

    /// Runs explicit Euler (theory §3.2) from the given stalks until the largest change of a free coordinate in one
    /// step falls below the tolerance (after at least MinSteps steps) or MaxSteps is reached. Hard pins are imposed
    /// on the initial state and re-imposed after every step. Stops early as diverged on non-finite values or when
    /// the energy (discord plus soft-pin penalty) grows for 100 consecutive steps. `progress` (may be null) is
    /// called every 1000 steps with (step, change, discord).
    let runEuler
        (
            mlp: Mlp,
            x: float[],
            stalks: NetworkStalks,
            pins: StalkPin[],
            settings: HeatSettings,
            progress: Action<int, float, float>,
            cancellation: Threading.CancellationToken
        ) : HeatRunResult =
        validateSettings settings
        let batch = stalks.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        validatePins mlp batch pins
        applyHardPins mlp stalks pins
        let ws = HeatWorkspace(mlp, batch)
        let s = settings.Alpha * settings.Dt
        let traceSteps = ResizeArray<int>()
        let trace = ResizeArray<float>()
        let crossings = ResizeArray<CrossingEvent>()
        let masks = Array.init mlp.HiddenCount (fun l -> Array.zeroCreate<bool> stalks.Z[l].Length)
        // Crossing bookkeeping is a full scan of the hidden z per step: only done while events can still be recorded.
        if settings.MaxCrossings > 0 then readMasks (mlp, stalks, masks)
        let mutable step = 0
        let mutable converged = false
        let mutable diverged = false
        let mutable reason = ""
        let mutable change = infinity
        let mutable previousEnergy = infinity
        let mutable growth = 0
        while not converged && not diverged && step < settings.MaxSteps do
            if step % 256 = 0 then cancellation.ThrowIfCancellationRequested()
            let discord = computeForces (mlp, ReadOnlySpan x, stalks, pins, settings.OutputForce, ws)
            if step % settings.EnergyEvery = 0 then
                traceSteps.Add step
                trace.Add discord
            let energy = discord + ws.SoftPinPenalty
            growth <- if energy > previousEnergy * (1.0 + 1e-12) + 1e-300 then growth + 1 else 0
            previousEnergy <- energy
            if not (Double.IsFinite energy) || growth >= 100 then
                diverged <- true
                reason <-
                    (if Double.IsFinite energy then "the energy grew for 100 consecutive steps" else "the energy became non-finite")
            else
                change <- eulerStep (mlp, stalks, s, ws)
                applyHardPins mlp stalks pins
                step <- step + 1
                if Double.IsNaN change then
                    diverged <- true
                    reason <- "a stalk became non-finite"
                else
                    if crossings.Count < settings.MaxCrossings then
                        recordCrossings (mlp, stalks, masks, step, settings.MaxCrossings, crossings)
                    converged <- step >= settings.MinSteps && change < settings.Tolerance
                    if not (isNull progress) && step % 1000 = 0 then progress.Invoke(step, change, discord)
        // For an identity output the output stalk is z^(k+1) itself.
        if mlp.Output = OutputActivation.Identity then
            Array.blit stalks.Z[mlp.AffineCount - 1] 0 stalks.Output 0 stalks.Output.Length
        let finalDiscord = if diverged then nan else discordOf (mlp, ReadOnlySpan x, stalks, ws)
        if traceSteps.Count = 0 || traceSteps[traceSteps.Count - 1] <> step then
            traceSteps.Add step
            trace.Add finalDiscord
        { Converged = converged
          Diverged = diverged
          DivergenceReason = (if diverged then sprintf "Diffusion diverged at step %d: %s; %s." step reason (divergenceAdvice (mlp, settings, pins)) else "")
          Steps = step
          LaplacianApplications = step
          RejectedSteps = 0
          FinalChange = change
          TraceSteps = traceSteps.ToArray()
          DiscordTrace = trace.ToArray()
          Crossings = crossings.ToArray() }
