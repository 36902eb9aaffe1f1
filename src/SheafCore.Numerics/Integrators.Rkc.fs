namespace SheafCore.Numerics

open System
open System.Runtime.Intrinsics

/// An autonomous right-hand side x' = F(x) given by a routine over spans (no closures over spans), the
/// ODE counterpart of <c>ILinearOperator</c>. Linear heat flows, pinned heat flows and the nonlinear network
/// heat flow all implement it so they can share one integrator.
[<AllowNullLiteral>]
type internal IVectorField =
    /// Size n of the state.
    abstract Dimension: int
    /// Writes F(x) into destination (both length n; they do not overlap).
    abstract Evaluate: x: ReadOnlySpan<float> * destination: Span<float> -> unit

/// Observer of an adaptive run, called once for the initial state (step 0) and after every accepted step.
/// <c>derivative</c> is F(state), already computed by the integrator (first-same-as-last), so equilibrium tests
/// and energy traces cost no extra evaluation. Returning true stops the run.
[<AllowNullLiteral>]
type internal IRkcMonitor =
    abstract Accepted: step: int * time: float * state: ReadOnlySpan<float> * derivative: ReadOnlySpan<float> -> bool

/// A vector field that is the negative gradient of a merit (Lyapunov) function M, F = −α∇M, and reports M at the state
/// it last evaluated, so a descent run can accept or reject a step at no extra evaluation.
[<AllowNullLiteral>]
type internal IMeritField =
    inherit IVectorField
    /// M at the state passed to the last Evaluate.
    abstract LastMerit: float
    /// An absolute bound on the round-off in LastMerit (0 when M is a sum of squares computed without cancellation).
    abstract LastMeritRoundOff: float

/// Settings of an adaptive RKC2 run.
type internal RkcSettings =
    { /// Local error tolerance, relative part (per component, RMS-combined).
      RelativeTolerance: float
      /// Local error tolerance, absolute part.
      AbsoluteTolerance: float
      /// First step size; 0 or less means 1/ρ.
      InitialStep: float
      /// Largest step size allowed (positive; +∞ for none).
      MaximumStep: float
      /// Integrate until this time (+∞ for "until the monitor stops the run").
      EndTime: float
      /// Cap on accepted + rejected steps.
      MaximumSteps: int
      /// Cap on the stage count s (≥ 2); the step is shortened to keep h·ρ inside the stability interval of s stages.
      MaximumStages: int
      /// Damping ε &gt; 0 of the Chebyshev polynomial (<c>Rkc.Damping</c> = 2/13 is the RKC code's value). Larger ε damps
      /// stiff components much harder per step (max |P_s| ≈ 0.95 at 2/13, 0.37 at 5) at the price of a shorter stability
      /// interval (≈ 0.65 s² at 2/13, 0.44 s² at 5): worth it when the run seeks an equilibrium.
      Damping: float }

/// What an adaptive RKC2 run did.
type internal RkcResult =
    { /// The monitor asked to stop (e.g. equilibrium reached).
      StoppedByMonitor: bool
      ReachedEndTime: bool
      /// A non-finite state or derivative, or a step size that collapsed below round-off.
      Failed: bool
      FailureReason: string
      AcceptedSteps: int
      RejectedSteps: int
      /// Number of F evaluations (for a linear heat flow: Laplacian applications).
      Evaluations: int
      FinalTime: float
      /// The step size the controller would try next.
      NextStep: float
      /// Largest stage count used by an accepted step.
      MaximumStagesUsed: int }

/// Buffers of the RKC2 stepper for one dimension, allocated once (no allocation inside a run).
[<Sealed; AllowNullLiteral>]
type internal RkcWorkspace(dimension: int) =
    do Guard.nonNegative (nameof dimension) dimension
    let stageA = Array.zeroCreate<float> dimension
    let stageB = Array.zeroCreate<float> dimension
    let stageC = Array.zeroCreate<float> dimension
    let stageF = Array.zeroCreate<float> dimension
    let f0 = Array.zeroCreate<float> dimension
    let fNew = Array.zeroCreate<float> dimension
    let yNew = Array.zeroCreate<float> dimension
    member _.Dimension = dimension
    member internal _.StageA = stageA
    member internal _.StageB = stageB
    member internal _.StageC = stageC
    member internal _.StageF = stageF
    member internal _.F0 = f0
    member internal _.FNew = fNew
    member internal _.YNew = yNew

/// <summary>Second-order Runge–Kutta–Chebyshev (RKC2; Sommeijer, Shampine &amp; Verwer, "RKC: an explicit solver
/// for parabolic PDEs", J. Comput. Appl. Math. 88, 1997) for stiff problems whose Jacobian has a real, negative
/// spectrum of radius ρ — the heat equation above all.</summary>
/// <remarks>
/// An s-stage step is stable while h·ρ ≤ β(s) ≈ 0.653(s² − 1): the stability interval grows with s², so one step of
/// s evaluations covers a time h ∝ s²/ρ, against h &lt; 2/ρ per evaluation for explicit Euler. With damping
/// ε = 2/13, w₀ = 1 + ε/s², w₁ = T′_s(w₀)/T″_s(w₀), b_j = T″_j(w₀)/T′_j(w₀)² (b₀ = b₁ = b₂), a_j = 1 − b_jT_j(w₀):
/// Y₀ = y, Y₁ = Y₀ + μ̃₁hF(Y₀), μ̃₁ = b₁w₁, and for j = 2 … s
/// Y_j = (1 − μ_j − ν_j)Y₀ + μ_jY_{j−1} + ν_jY_{j−2} + μ̃_jhF(Y_{j−1}) + γ̃_jhF(Y₀),
/// μ_j = 2b_jw₀/b_{j−1}, ν_j = −b_j/b_{j−2}, μ̃_j = 2b_jw₁/b_{j−1}, γ̃_j = −a_{j−1}μ̃_j; y_{n+1} = Y_s.
/// The embedded error estimate is Est = (12(y_n − y_{n+1}) + 6h(F(y_n) + F(y_{n+1})))/15, measured in the RMS norm
/// weighted by atol + rtol·max(|y_n|, |y_{n+1}|). F(y_{n+1}) is reused as F(Y₀) of the next step, so a step costs
/// s evaluations.
/// </remarks>
[<RequireQualifiedAccess>]
module internal Rkc =

    /// The damping parameter ε of RKC (the value of the RKC code): it moves the stability polynomial off ±1 so
    /// that stiff components are damped, at the cost of about 2ε/15 of the interval length.
    [<Literal>]
    let Damping = 0.15384615384615385 // 2/13

    /// T_s′(w₀) and T_s″(w₀) of the Chebyshev polynomial T_s, by the three-term recurrences.
    let private chebyshevDerivatives (stages: int, w0: float) : struct (float * float) =
        let mutable t0 = 1.0
        let mutable t1 = w0
        let mutable d0 = 0.0
        let mutable d1 = 1.0
        let mutable dd0 = 0.0
        let mutable dd1 = 0.0
        for _ in 2 .. stages do
            let t2 = 2.0 * w0 * t1 - t0
            let d2 = 2.0 * t1 + 2.0 * w0 * d1 - d0
            let dd2 = 4.0 * d1 + 2.0 * w0 * dd1 - dd0
            t0 <- t1
            t1 <- t2
            d0 <- d1
            d1 <- d2
            dd0 <- dd1
            dd1 <- dd2
        struct (d1, dd1)

    /// <summary>The real stability boundary β(s) = (1 + w₀)/w₁ of the s-stage RKC2 polynomial
    /// P_s(z) = a_s + b_sT_s(w₀ + w₁z): |P_s(z)| ≤ 1 on [−β(s), 0].</summary>
    let stabilityBoundary (stages: int, damping: float) : float =
        if stages < 2 then raise (ArgumentOutOfRangeException(nameof stages, stages, "RKC2 needs at least 2 stages."))
        let s = float stages
        let w0 = 1.0 + damping / (s * s)
        let struct (d1, dd1) = chebyshevDerivatives (stages, w0)
        (1.0 + w0) * dd1 / d1

    /// <summary>c(ε) = min_{2 ≤ s ≤ S} β(s)/(s² − 1), so that h·ρ ≤ c·(s² − 1) guarantees stability for every stage count
    /// up to S (0.629 for ε = 2/13, about 0.43 for ε = 5). O(S²) once per run.</summary>
    let stabilityConstant (damping: float, maximumStages: int) : float =
        let mutable c = Double.MaxValue
        for s in 2 .. max 2 maximumStages do
            c <- min c (stabilityBoundary (s, damping) / (float s * float s - 1.0))
        c

    /// <summary>Stage count for step h at spectral radius ρ: s = 1 + ⌊√(1 + h·ρ/c)⌋ (≥ 2) — the RKC code's rule with
    /// c = 0.65 generalised — which gives s² &gt; 1 + hρ/c, i.e. h·ρ &lt; c(s² − 1) ≤ β(s).</summary>
    let stageCount (h: float, spectralRadius: float, stabilityConstant: float) : int =
        let x = 1.0 + h * max spectralRadius 0.0 / stabilityConstant
        if Double.IsFinite x && x < 1e8 then max 2 (1 + int (sqrt x)) else Int32.MaxValue

    /// <summary>The largest step an s-stage step may take at spectral radius ρ under the rule of <c>stageCount</c>.</summary>
    let maximumStableStep (stages: int, spectralRadius: float, stabilityConstant: float) : float =
        if spectralRadius <= 0.0 then Double.PositiveInfinity
        else 0.999 * stabilityConstant * (float stages * float stages - 1.0) / spectralRadius

    /// Scalar reference of the stage combination d = c0·y + mu·a + nu·b + hm·f + hg·g.
    let combineReference
        (c0: float, y: ReadOnlySpan<float>, mu: float, a: ReadOnlySpan<float>, nu: float, b: ReadOnlySpan<float>,
         hm: float, f: ReadOnlySpan<float>, hg: float, g: ReadOnlySpan<float>, destination: Span<float>) =
        for i in 0 .. y.Length - 1 do
            destination[i] <- c0 * y[i] + mu * a[i] + nu * b[i] + hm * f[i] + hg * g[i]

    /// The stage combination d = c0·y + mu·a + nu·b + hm·f + hg·g, vectorised. Products and sums are taken in the
    /// reference's order without FMA, so the result equals combineReference bit for bit.
    let combine
        (c0: float, y: ReadOnlySpan<float>, mu: float, a: ReadOnlySpan<float>, nu: float, b: ReadOnlySpan<float>,
         hm: float, f: ReadOnlySpan<float>, hg: float, g: ReadOnlySpan<float>, destination: Span<float>) =
        let n = y.Length
        if a.Length < n || b.Length < n || f.Length < n || g.Length < n then invalidArg (nameof y) "All inputs need the same length."
        Guard.atLeast (nameof destination) n destination.Length
        let mutable i = 0
        if Vector512.IsHardwareAccelerated then
            let vc0 = Vector512.Create c0
            let vmu = Vector512.Create mu
            let vnu = Vector512.Create nu
            let vhm = Vector512.Create hm
            let vhg = Vector512.Create hg
            while i + 8 <= n do
                let r =
                    vc0 * Vector512.Create<float>(y.Slice(i, 8)) + vmu * Vector512.Create<float>(a.Slice(i, 8))
                    + vnu * Vector512.Create<float>(b.Slice(i, 8)) + vhm * Vector512.Create<float>(f.Slice(i, 8))
                    + vhg * Vector512.Create<float>(g.Slice(i, 8))
                r.CopyTo(destination.Slice(i, 8))
                i <- i + 8
        elif Vector256.IsHardwareAccelerated then
            let vc0 = Vector256.Create c0
            let vmu = Vector256.Create mu
            let vnu = Vector256.Create nu
            let vhm = Vector256.Create hm
            let vhg = Vector256.Create hg
            while i + 4 <= n do
                let r =
                    vc0 * Vector256.Create<float>(y.Slice(i, 4)) + vmu * Vector256.Create<float>(a.Slice(i, 4))
                    + vnu * Vector256.Create<float>(b.Slice(i, 4)) + vhm * Vector256.Create<float>(f.Slice(i, 4))
                    + vhg * Vector256.Create<float>(g.Slice(i, 4))
                r.CopyTo(destination.Slice(i, 4))
                i <- i + 4
        while i < n do
            destination[i] <- c0 * y[i] + mu * a[i] + nu * b[i] + hm * f[i] + hg * g[i]
            i <- i + 1

    /// <summary>One RKC2 step of size h with the given number of stages (s − 1 evaluations of F).</summary>
    /// <param name="field">The right-hand side F.</param>
    /// <param name="h">Step size (&gt; 0).</param>
    /// <param name="stages">s ≥ 2.</param>
    /// <param name="damping">ε &gt; 0 (<c>Damping</c> = 2/13 by default).</param>
    /// <param name="y">State y_n, length n.</param>
    /// <param name="f0">F(y_n), length n (first-same-as-last from the previous step).</param>
    /// <param name="destination">y_{n+1}, length ≥ n; must not overlap y, f0 or the workspace.</param>
    /// <param name="workspace">Stage buffers of dimension n.</param>
    let step
        (
            field: IVectorField,
            h: float,
            stages: int,
            damping: float,
            y: ReadOnlySpan<float>,
            f0: ReadOnlySpan<float>,
            destination: Span<float>,
            workspace: RkcWorkspace
        ) : unit =
        if isNull field then nullArg (nameof field)
        if isNull workspace then nullArg (nameof workspace)
        let n = field.Dimension
        Guard.length (nameof workspace) n workspace.Dimension
        Guard.length (nameof y) n y.Length
        Guard.length (nameof f0) n f0.Length
        Guard.atLeast (nameof destination) n destination.Length
        if stages < 2 then raise (ArgumentOutOfRangeException(nameof stages, stages, "RKC2 needs at least 2 stages."))
        if not (h > 0.0 && Double.IsFinite h) then invalidArg (nameof h) "The step size must be finite and positive."
        let s = float stages
        if not (damping > 0.0 && Double.IsFinite damping) then invalidArg (nameof damping) "Must be finite and positive."
        let w0 = 1.0 + damping / (s * s)
        let struct (d1, dd1) = chebyshevDerivatives (stages, w0)
        let w1 = d1 / dd1
        // Restart the recurrences for the stages; b₂ = T₂″/T₂′² = 4/(4w₀)² and b₀ = b₁ = b₂.
        let b2 = 4.0 / (16.0 * w0 * w0)
        let mutable bm2 = b2 // b_{j−2}
        let mutable bm1 = b2 // b_{j−1}
        let mutable tm2 = 1.0 // T_{j−2}(w₀)
        let mutable tm1 = w0 // T_{j−1}(w₀)
        let mutable dm2 = 0.0
        let mutable dm1 = 1.0
        let mutable ddm2 = 0.0
        let mutable ddm1 = 0.0
        // Rotating stage buffers: Y_{j−2}, Y_{j−1}, Y_j. Arrays (not spans) so the references can rotate.
        let mutable ym2 = workspace.StageA
        let mutable ym1 = workspace.StageB
        let mutable yj = workspace.StageC
        let fStage = workspace.StageF
        y.CopyTo(Span ym2)
        let mu1 = bm1 * w1
        for i in 0 .. n - 1 do
            ym1[i] <- y[i] + mu1 * h * f0[i]
        for j in 2 .. stages do
            let tj = 2.0 * w0 * tm1 - tm2
            let dj = 2.0 * tm1 + 2.0 * w0 * dm1 - dm2
            let ddj = 4.0 * dm1 + 2.0 * w0 * ddm1 - ddm2
            let bj = ddj / (dj * dj)
            let am1 = 1.0 - bm1 * tm1
            let mu = 2.0 * bj * w0 / bm1
            let nu = -bj / bm2
            let muTilde = 2.0 * bj * w1 / bm1
            let gammaTilde = -am1 * muTilde
            field.Evaluate(ReadOnlySpan ym1, Span fStage)
            let c0 = 1.0 - mu - nu
            let hm = h * muTilde
            let hg = h * gammaTilde
            if j = stages then
                combine (c0, y, mu, ReadOnlySpan ym1, nu, ReadOnlySpan ym2, hm, ReadOnlySpan fStage, hg, f0, destination)
            else
                combine (c0, y, mu, ReadOnlySpan ym1, nu, ReadOnlySpan ym2, hm, ReadOnlySpan fStage, hg, f0, Span yj)
                let recycled = ym2
                ym2 <- ym1
                ym1 <- yj
                yj <- recycled
            tm2 <- tm1
            tm1 <- tj
            dm2 <- dm1
            dm1 <- dj
            ddm2 <- ddm1
            ddm1 <- ddj
            bm2 <- bm1
            bm1 <- bj

    /// <summary>Weighted RMS norm of the RKC2 error estimate (12(y − yNew) + 6h(f0 + fNew))/15; a step is accepted
    /// when it is ≤ 1.</summary>
    let errorNorm
        (
            h: float,
            y: ReadOnlySpan<float>,
            yNew: ReadOnlySpan<float>,
            f0: ReadOnlySpan<float>,
            fNew: ReadOnlySpan<float>,
            relativeTolerance: float,
            absoluteTolerance: float
        ) : float =
        let n = y.Length
        Guard.length (nameof yNew) n yNew.Length
        Guard.length (nameof f0) n f0.Length
        Guard.length (nameof fNew) n fNew.Length
        if n = 0 then
            0.0
        else
            let mutable sum = 0.0
            for i in 0 .. n - 1 do
                let est = (12.0 * (y[i] - yNew[i]) + 6.0 * h * (f0[i] + fNew[i])) / 15.0
                let w = absoluteTolerance + relativeTolerance * max (abs y[i]) (abs yNew[i])
                let e = est / w
                sum <- sum + e * e
            sqrt (sum / float n)

    let private validateSettings (settings: RkcSettings) =
        if not (settings.RelativeTolerance >= 0.0 && Double.IsFinite settings.RelativeTolerance) then
            invalidArg (nameof settings) "RelativeTolerance must be finite and non-negative."
        if not (settings.AbsoluteTolerance >= 0.0 && Double.IsFinite settings.AbsoluteTolerance) then
            invalidArg (nameof settings) "AbsoluteTolerance must be finite and non-negative."
        if not (settings.RelativeTolerance + settings.AbsoluteTolerance > 0.0) then
            invalidArg (nameof settings) "At least one of RelativeTolerance and AbsoluteTolerance must be positive."
        if not (settings.MaximumStep > 0.0) then invalidArg (nameof settings) "MaximumStep must be positive."
        if not (settings.EndTime > 0.0) then invalidArg (nameof settings) "EndTime must be positive."
        if Double.IsNaN settings.InitialStep then invalidArg (nameof settings) "InitialStep must not be NaN."
        if settings.MaximumSteps < 0 then invalidArg (nameof settings) "MaximumSteps must be non-negative."
        if settings.MaximumStages < 2 then invalidArg (nameof settings) "MaximumStages must be at least 2."
        if not (settings.Damping > 0.0 && Double.IsFinite settings.Damping) then
            invalidArg (nameof settings) "Damping must be finite and positive."

    let private allFinite (values: ReadOnlySpan<float>) =
        let mutable ok = true
        for i in 0 .. values.Length - 1 do
            ok <- ok && Double.IsFinite values[i]
        ok

    /// <summary>Adaptive RKC2 from time 0: step-size and stage-count control with accept/reject on the embedded
    /// error estimate.</summary>
    /// <param name="field">The right-hand side F.</param>
    /// <param name="spectralRadius">An upper estimate of the spectral radius ρ of ∂F/∂x along the run (for the
    /// heat equation α·λ_max(L), with a safety factor); it fixes the stage count of each step.</param>
    /// <param name="settings">Tolerances and caps.</param>
    /// <param name="state">Initial state on entry, final state on return (length n).</param>
    /// <param name="monitor">Called at step 0 and after each accepted step; may be null.</param>
    /// <param name="workspace">Buffers of dimension n.</param>
    /// <remarks>
    /// Step control: h ← h·min(10, max(0.1, 0.8·err^(−1/3))) after an accepted step (no growth right after a
    /// rejection), h ← h·max(0.1, 0.8·err^(−1/3)) after a rejection. Then s = <c>stageCount</c>(h, ρ, c(ε)), capped at
    /// MaximumStages by shortening h. If ρ underestimates the spectrum the step is unstable, its error estimate
    /// blows up and it is rejected, so the run stays safe but wasteful; pass a generous ρ.
    /// Allocates nothing per step; each accepted or rejected step costs s evaluations.
    /// </remarks>
    let integrate
        (
            field: IVectorField,
            spectralRadius: float,
            settings: RkcSettings,
            state: Span<float>,
            monitor: IRkcMonitor,
            workspace: RkcWorkspace
        ) : RkcResult =
        if isNull field then nullArg (nameof field)
        if isNull workspace then nullArg (nameof workspace)
        let n = field.Dimension
        Guard.length (nameof state) n state.Length
        Guard.length (nameof workspace) n workspace.Dimension
        Guard.finiteNonNegative (nameof spectralRadius) spectralRadius
        validateSettings settings
        let rho = spectralRadius
        let c = stabilityConstant (settings.Damping, settings.MaximumStages)
        let mutable f0 = workspace.F0
        let mutable fNew = workspace.FNew
        let yNew = workspace.YNew
        field.Evaluate(Span<float>.op_Implicit state, Span f0)
        let mutable evaluations = 1
        let mutable accepted = 0
        let mutable rejected = 0
        let mutable time = 0.0
        let mutable maxStagesUsed = 0
        let mutable failed = false
        let mutable reason = ""
        let mutable stopped = false
        if not (allFinite (Span<float>.op_Implicit state)) || not (allFinite (ReadOnlySpan f0)) then
            failed <- true
            reason <- "The initial state or its derivative is not finite."
        elif not (isNull monitor) then
            stopped <- monitor.Accepted(0, 0.0, Span<float>.op_Implicit state, ReadOnlySpan f0)
        let mutable h =
            let h0 = if settings.InitialStep > 0.0 then settings.InitialStep elif rho > 0.0 then 1.0 / rho else 1.0
            min h0 settings.MaximumStep
        let mutable lastRejected = false
        while not failed && not stopped && time < settings.EndTime && accepted + rejected < settings.MaximumSteps do
            h <- min h (settings.EndTime - time)
            let mutable stages = stageCount (h, rho, c)
            if stages > settings.MaximumStages then
                stages <- settings.MaximumStages
                h <- min h (maximumStableStep (stages, rho, c))
            if h <= 10.0 * Double.Epsilon || time + h = time then
                failed <- true
                reason <- sprintf "The step size collapsed to %g at t = %g." h time
            else
                step (field, h, stages, settings.Damping, Span<float>.op_Implicit state, ReadOnlySpan f0, Span yNew, workspace)
                field.Evaluate(ReadOnlySpan yNew, Span fNew)
                evaluations <- evaluations + stages
                let err =
                    errorNorm (
                        h,
                        Span<float>.op_Implicit state,
                        ReadOnlySpan yNew,
                        ReadOnlySpan f0,
                        ReadOnlySpan fNew,
                        settings.RelativeTolerance,
                        settings.AbsoluteTolerance
                    )
                if Double.IsNaN err then
                    // A non-finite trial step: treat as a large error so the step shrinks; fail only if h collapses.
                    rejected <- rejected + 1
                    lastRejected <- true
                    h <- 0.1 * h
                elif err <= 1.0 then
                    accepted <- accepted + 1
                    time <- time + h
                    maxStagesUsed <- max maxStagesUsed stages
                    yNew.AsSpan().CopyTo state
                    let t = f0
                    f0 <- fNew
                    fNew <- t
                    let fac = if err = 0.0 then 10.0 else min 10.0 (max 0.1 (0.8 * Math.Pow(err, -1.0 / 3.0)))
                    h <- min settings.MaximumStep (h * (if lastRejected then min 1.0 fac else fac))
                    lastRejected <- false
                    if not (isNull monitor) then
                        stopped <- monitor.Accepted(accepted, time, Span<float>.op_Implicit state, ReadOnlySpan f0)
                else
                    rejected <- rejected + 1
                    lastRejected <- true
                    h <- h * max 0.1 (0.8 * Math.Pow(err, -1.0 / 3.0))
        { StoppedByMonitor = stopped
          ReachedEndTime = not failed && time >= settings.EndTime
          Failed = failed
          FailureReason = reason
          AcceptedSteps = accepted
          RejectedSteps = rejected
          Evaluations = evaluations
          FinalTime = time
          NextStep = h
          MaximumStagesUsed = maxStagesUsed }

    /// <summary>Damped RKC2 descent to an equilibrium under energy step control: a step is accepted when it does not
    /// increase the field's merit (and the next step doubles), rejected otherwise (and the step is quartered).</summary>
    /// <param name="field">The right-hand side F = −α∇M with its merit M.</param>
    /// <param name="spectralRadius">An upper bound on the spectral radius of ∂F/∂x along the run; with a bound every
    /// step is inside the stability interval and rejections come only from nonlinearity.</param>
    /// <param name="maximumStages">Stage cap s_max ≥ 2; it caps the step at the stability limit of s_max stages.</param>
    /// <param name="damping">Damping ε of the Chebyshev polynomial (large, e.g. 10, to damp stiff modes hard).</param>
    /// <param name="maximumSteps">Cap on accepted steps.</param>
    /// <param name="state">Initial state on entry, final state on return (length n).</param>
    /// <param name="monitor">Called at step 0 and after each accepted step (it decides when to stop); may be null.</param>
    /// <param name="workspace">Buffers of dimension n.</param>
    /// <remarks>
    /// Local-error control is the wrong controller for a run that seeks an equilibrium: it spends evaluations on
    /// transient accuracy nobody reads, and a right-hand side with jumps (ReLU switching) makes it crawl. Within a
    /// region where F is linear, a long damped Chebyshev step is a Chebyshev semi-iteration that reduces the slow
    /// modes in O(√κ) evaluations instead of Euler's O(κ). A step may raise M by 1e-12 relative (round-off near
    /// the equilibrium) plus the field's absolute round-off bound of M (a merit such as ½xᵀLx with pinned x can be
    /// far smaller than its rounding error ε‖L‖‖x‖²). FinalTime is the sum of accepted step sizes (not an accurate trajectory time).
    /// Allocates nothing per step.
    /// </remarks>
    let descend
        (
            field: IMeritField,
            spectralRadius: float,
            maximumStages: int,
            damping: float,
            maximumSteps: int,
            state: Span<float>,
            monitor: IRkcMonitor,
            workspace: RkcWorkspace
        ) : RkcResult =
        if isNull field then nullArg (nameof field)
        if isNull workspace then nullArg (nameof workspace)
        let n = field.Dimension
        Guard.length (nameof state) n state.Length
        Guard.length (nameof workspace) n workspace.Dimension
        Guard.finiteNonNegative (nameof spectralRadius) spectralRadius
        if maximumStages < 2 then invalidArg (nameof maximumStages) "Must be at least 2."
        if not (damping > 0.0 && Double.IsFinite damping) then invalidArg (nameof damping) "Must be finite and positive."
        if maximumSteps < 0 then invalidArg (nameof maximumSteps) "Must be non-negative."
        let rho = spectralRadius
        let c = stabilityConstant (damping, maximumStages)
        let hMax = maximumStableStep (maximumStages, rho, c)
        let mutable f = workspace.F0
        let mutable fNew = workspace.FNew
        let yNew = workspace.YNew
        field.Evaluate(Span<float>.op_Implicit state, Span f)
        let mutable evaluations = 1
        let mutable merit = field.LastMerit
        let mutable accepted = 0
        let mutable rejected = 0
        let mutable time = 0.0
        let mutable maxStagesUsed = 0
        let mutable failed = not (Double.IsFinite merit)
        let mutable reason = if failed then "the initial energy is not finite" else ""
        let mutable stopped =
            not failed && not (isNull monitor) && monitor.Accepted(0, 0.0, Span<float>.op_Implicit state, ReadOnlySpan f)
        let mutable h = if rho > 0.0 then 1.0 / rho else 1.0
        while not stopped && not failed && accepted < maximumSteps do
            let hStep = min h hMax
            let stages = min maximumStages (stageCount (hStep, rho, c))
            step (field, hStep, stages, damping, Span<float>.op_Implicit state, ReadOnlySpan f, Span yNew, workspace)
            field.Evaluate(ReadOnlySpan yNew, Span fNew)
            evaluations <- evaluations + stages
            let newMerit = field.LastMerit
            if Double.IsFinite newMerit && newMerit <= merit * (1.0 + 1e-12) + field.LastMeritRoundOff + 1e-300 then
                accepted <- accepted + 1
                time <- time + hStep
                maxStagesUsed <- max maxStagesUsed stages
                yNew.AsSpan().CopyTo state
                let t = f
                f <- fNew
                fNew <- t
                merit <- newMerit
                h <- min hMax (2.0 * hStep)
                if not (isNull monitor) then
                    stopped <- monitor.Accepted(accepted, time, Span<float>.op_Implicit state, ReadOnlySpan f)
            else
                rejected <- rejected + 1
                h <- 0.25 * hStep
                if h * (if rho > 0.0 then rho else 1.0) < 1e-12 then
                    failed <- true
                    reason <- sprintf "the step size collapsed to %g without decreasing the energy" h
        { StoppedByMonitor = stopped
          ReachedEndTime = false
          Failed = failed
          FailureReason = reason
          AcceptedSteps = accepted
          RejectedSteps = rejected
          Evaluations = evaluations
          FinalTime = time
          NextStep = h
          MaximumStagesUsed = maxStagesUsed }
