namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Per-sample m×m algebra of the structured equilibrium solve (m = output width, 1…10 here): Cholesky for the SPD
/// systems, Gaussian elimination with partial pivoting for the Newton systems of the cross-entropy edge.
[<RequireQualifiedAccess>]
module internal SmallDense =

    /// In-place Cholesky of the SPD m×m row-major matrix a (lower factor in the lower triangle); false if not SPD.
    let cholesky (m: int, a: float[]) : bool =
        let mutable ok = true
        for j in 0 .. m - 1 do
            if ok then
                let mutable d = a[j * m + j]
                for p in 0 .. j - 1 do
                    d <- d - a[j * m + p] * a[j * m + p]
                if not (d > 0.0) then ok <- false
                else
                    let l = sqrt d
                    a[j * m + j] <- l
                    for i in j + 1 .. m - 1 do
                        let mutable s = a[i * m + j]
                        for p in 0 .. j - 1 do
                            s <- s - a[i * m + p] * a[j * m + p]
                        a[i * m + j] <- s / l
        ok

    /// Solves L Lᵀ x = b in place (b becomes x) with the factor of `cholesky`.
    let choleskySolve (m: int, l: float[], b: float[]) =
        for i in 0 .. m - 1 do
            let mutable s = b[i]
            for p in 0 .. i - 1 do
                s <- s - l[i * m + p] * b[p]
            b[i] <- s / l[i * m + i]
        for i in m - 1 .. -1 .. 0 do
            let mutable s = b[i]
            for p in i + 1 .. m - 1 do
                s <- s - l[p * m + i] * b[p]
            b[i] <- s / l[i * m + i]

    /// Solves A x = b in place (A is destroyed, b becomes x) by elimination with partial pivoting.
    let luSolve (m: int, a: float[], b: float[]) =
        for j in 0 .. m - 1 do
            let mutable p = j
            for i in j + 1 .. m - 1 do
                if abs a[i * m + j] > abs a[p * m + j] then p <- i
            if p <> j then
                for c in 0 .. m - 1 do
                    let t = a[j * m + c]
                    a[j * m + c] <- a[p * m + c]
                    a[p * m + c] <- t
                let t = b[j]
                b[j] <- b[p]
                b[p] <- t
            let pivot = a[j * m + j]
            for i in j + 1 .. m - 1 do
                let f = a[i * m + j] / pivot
                if f <> 0.0 then
                    for c in j .. m - 1 do
                        a[i * m + c] <- a[i * m + c] - f * a[j * m + c]
                    b[i] <- b[i] - f * b[j]
        for i in m - 1 .. -1 .. 0 do
            let mutable s = b[i]
            for c in i + 1 .. m - 1 do
                s <- s - a[i * m + c] * b[c]
            b[i] <- s / a[i * m + i]

/// Buffers of the structured equilibrium solve for one batch size (allocated once, reused every step).
[<Sealed>]
type internal PinnedEquilibriumWorkspace(mlp: Mlp, batch: int) =
    let k = mlp.HiddenCount
    let m = mlp.OutputDim
    let hidden () = Array.init k (fun l -> Array.zeroCreate<float> (mlp.Layers[l + 1] * batch))
    member _.Batch = batch
    /// The activation pattern σ being solved (0/1 per hidden neuron and sample).
    member val Masks = hidden ()
    /// a of the zero-energy cochain of the linear sheaf F_σ (the forward pass with the masks held at σ).
    member val LinearA = hidden ()
    /// ŷ_σ, the output pre-activation of that cochain (m × B).
    member val LinearOutput = Array.zeroCreate<float> (m * batch)
    /// Ja[c][l] = ∂ŷ_c/∂a^(l+1) of the linear sheaf, per sample (one transposed unitriangular solve per output c).
    member val Ja = Array.init m (fun _ -> hidden ())
    /// One transposed-solve seed (a unit row of an m × B block).
    member val Seed = Array.zeroCreate<float> (m * batch)
    /// M = G Gᵀ per sample: entry (c, d) of sample s at (c·m + d)·B + s.
    member val Gram = Array.zeroCreate<float> (m * m * batch)
    /// μ, the output multiplier per sample (m × B): every edge residual is Gᵀμ.
    member val Mu = Array.zeroCreate<float> (m * batch)
    /// q_l = Σ_c μ_c Ja[c][l]: minus the activation-edge perturbation.
    member val Q = hidden ()
    member val Scratch = Array.zeroCreate<float> batch
    // Per-sample m-vectors and m×m matrices of the small solves.
    member val SmallMatrix = Array.zeroCreate<float> (m * m)
    member val SmallFactor = Array.zeroCreate<float> (m * m)
    member val SmallA = Array.zeroCreate<float> m
    member val SmallB = Array.zeroCreate<float> m
    member val SmallC = Array.zeroCreate<float> m
    member val SmallD = Array.zeroCreate<float> m
    member val SmallE = Array.zeroCreate<float> m
    member val SmallF = Array.zeroCreate<float> m
    member val SmallG = Array.zeroCreate<float> m
    member val SmallH = Array.zeroCreate<float> m
    member val SmallStep = Array.zeroCreate<float> m
    member val SmallDiff = Array.zeroCreate<float> m
    member val SmallJacobian = Array.zeroCreate<float> (m * m)

/// What the structured solve did over one batch.
[<Struct>]
type internal PinnedEquilibriumStats =
    { /// Samples whose last pattern was still not self-consistent after the allowed iterations (the last solve is kept).
      Unconverged: int
      /// Samples that needed more than the first (batched) pattern solve.
      Resolved: int
      /// Per-sample pattern solves after the batched one.
      ExtraSolves: int }

/// <summary>The output-pinned equilibrium of the training energy, solved through the unitriangular structure (theory §4).</summary>
/// <remarks>
/// Per sample the training energy is E(ω) = ½‖δ_Ω(σ)ω + δ_U u‖² + γ·ℓ(z^(k+1), y), with ℓ = ½‖z − y‖² (identity output)
/// or the cross-entropy of φ(z) (sigmoid/softmax: its z-gradient is φ(z) − y, the paper's output-edge force, theory §5.1).
/// For a fixed pattern σ write the cochain as the zero-energy one plus the effect of edge perturbations p:
/// ŷ = ŷ_σ + G p, where ŷ_σ is the forward pass of the linear sheaf F_σ (one unitriangular solve) and
/// G = last block row of δ_Ω⁻¹ (row c of G is one TRANSPOSED unitriangular solve seeded with output c — the same
/// recursion as backpropagation's deltas, so this direct solver is itself a backward pass). Minimising ½‖p‖² + γℓ gives
/// p = −Gᵀμ with μ = γ∇ℓ(z_out) and z_out = ŷ_σ − Mμ, M = GGᵀ (m×m, ⪰ I because the last weight edge contributes I).
/// Identity: (I/γ + M)μ = ŷ_σ − y, one m×m Cholesky. Cross-entropy: the m-dimensional convex problem
/// z + γM(φ(z) − y) = ŷ_σ, solved by damped Newton on h(z) = ½(z − ŷ_σ)ᵀM⁻¹(z − ŷ_σ) + γ CE(z). The stalks follow by a
/// second forward solve with the perturbations injected. The true equilibrium's pattern must be its own (z ≥ 0 active),
/// so σ is updated to the solution's pattern and re-solved — only for the samples whose pattern changed, one sample at a
/// time — until self-consistent (the active-set iteration of NetworkEquilibrium, which this replaces for training).
/// Cost per pattern: 2 forward solves + m transposed solves + B small m×m solves, against NetworkEquilibrium's dense
/// Cholesky of a (Σ widths)² matrix per sample.
/// </remarks>
[<RequireQualifiedAccess>]
module internal PinnedEquilibrium =

    /// Cross-entropy CE(z) of one sample whose logits are in z (m entries) against targets y.
    let private crossEntropy (activation: OutputActivation, m: int, z: float[], y: float[]) =
        if activation = OutputActivation.Sigmoid then
            let mutable s = 0.0
            for c in 0 .. m - 1 do
                // softplus(z) − y z = −[y log σ(z) + (1 − y) log(1 − σ(z))], evaluated without overflow.
                let softplus = max z[c] 0.0 + Math.Log(1.0 + exp (-(abs z[c])))
                s <- s + softplus - y[c] * z[c]
            s
        else
            let mutable top = Double.NegativeInfinity
            for c in 0 .. m - 1 do
                top <- max top z[c]
            let mutable e = 0.0
            let mutable ysum = 0.0
            let mutable yz = 0.0
            for c in 0 .. m - 1 do
                e <- e + exp (z[c] - top)
                ysum <- ysum + y[c]
                yz <- yz + y[c] * z[c]
            ysum * (top + log e) - yz

    /// φ(z) of one sample into p.
    let private probabilities (activation: OutputActivation, m: int, z: float[], p: float[]) =
        if activation = OutputActivation.Sigmoid then
            for c in 0 .. m - 1 do
                p[c] <- 1.0 / (1.0 + exp (-z[c]))
        else
            let mutable top = Double.NegativeInfinity
            for c in 0 .. m - 1 do
                top <- max top z[c]
            let mutable s = 0.0
            for c in 0 .. m - 1 do
                p[c] <- exp (z[c] - top)
                s <- s + p[c]
            for c in 0 .. m - 1 do
                p[c] <- p[c] / s

    /// Largest Newton iterations of the cross-entropy edge (it converges quadratically in a handful).
    [<Literal>]
    let private NewtonIterations = 60

    /// Solves sample s's output problem given ŷ_σ (ws.LinearOutput) and M (ws.Gram); writes μ into ws.Mu.
    /// `start` (m × B) is the Newton starting point of the cross-entropy edge (the previous equilibrium's z^(k+1)).
    let private solveOutput (mlp: Mlp, ws: PinnedEquilibriumWorkspace, y: ReadOnlySpan<float>, gamma: float, start: float[], s: int) =
        let m = mlp.OutputDim
        let batch = ws.Batch
        let mm = ws.SmallMatrix
        for i in 0 .. m * m - 1 do
            mm[i] <- ws.Gram[i * batch + s]
        let yhat, target = ws.SmallA, ws.SmallB
        for c in 0 .. m - 1 do
            yhat[c] <- ws.LinearOutput[c * batch + s]
            target[c] <- y[c * batch + s]
        if mlp.Output = OutputActivation.Identity then
            let l = ws.SmallFactor
            Array.blit mm 0 l 0 (m * m)
            for c in 0 .. m - 1 do
                l[c * m + c] <- l[c * m + c] + 1.0 / gamma
            if not (SmallDense.cholesky (m, l)) then invalidOp "I/γ + GGᵀ is not positive definite; the weights are not finite."
            let rhs = ws.SmallC
            for c in 0 .. m - 1 do
                rhs[c] <- yhat[c] - target[c]
            SmallDense.choleskySolve (m, l, rhs)
            for c in 0 .. m - 1 do
                ws.Mu[c * batch + s] <- rhs[c]
        elif m = 1 && mlp.Output = OutputActivation.Sigmoid then
            // One sigmoid output: F(z) = z − ŷ + γM(σ(z) − y) is increasing (F′ ≥ 1) and its root lies in
            // [ŷ + γM(y − 1), ŷ + γM y]; safeguarded Newton (bisection whenever a step leaves the bracket).
            let g = gamma * mm[0]
            let mutable lo = yhat[0] + g * (target[0] - 1.0)
            let mutable hi = yhat[0] + g * target[0]
            let mutable z = start[s]
            if not (z > lo && z < hi) then z <- 0.5 * (lo + hi)
            let tolerance = 1e-13 * (1.0 + abs yhat[0] + g)
            let mutable iteration = 0
            let mutable finished = false
            while not finished && iteration < 100 do
                iteration <- iteration + 1
                let p = 1.0 / (1.0 + exp (-z))
                let f = z - yhat[0] + g * (p - target[0])
                if abs f <= tolerance then finished <- true
                else
                    if f > 0.0 then hi <- z else lo <- z
                    let next = z - f / (1.0 + g * p * (1.0 - p))
                    z <- if next > lo && next < hi then next else 0.5 * (lo + hi)
                    if hi - lo <= tolerance then finished <- true
            ws.Mu[s] <- gamma * (1.0 / (1.0 + exp (-z)) - target[0])
        else
            let l = ws.SmallFactor
            Array.blit mm 0 l 0 (m * m)
            if not (SmallDense.cholesky (m, l)) then invalidOp "GGᵀ is not positive definite; the weights are not finite."
            let z, p, f, work = ws.SmallC, ws.SmallD, ws.SmallE, ws.SmallF
            let jac, g, trial, step, d = ws.SmallJacobian, ws.SmallG, ws.SmallH, ws.SmallStep, ws.SmallDiff
            for c in 0 .. m - 1 do
                z[c] <- if Double.IsFinite start[c * batch + s] then start[c * batch + s] else yhat[c]
            // h(z) = ½ dᵀM⁻¹d + γ CE(z), d = z − ŷ_σ.
            let merit (zz: float[]) =
                for c in 0 .. m - 1 do
                    work[c] <- zz[c] - yhat[c]
                    d[c] <- work[c]
                SmallDense.choleskySolve (m, l, work)
                let mutable q = 0.0
                for c in 0 .. m - 1 do
                    q <- q + d[c] * work[c]
                0.5 * q + gamma * crossEntropy (mlp.Output, m, zz, target)
            // max |F(z)| with F(z) = (z − ŷ) + γM(φ(z) − y), using `work` as scratch for φ.
            let residualMax (zz: float[]) =
                probabilities (mlp.Output, m, zz, work)
                let mutable largest = 0.0
                for c in 0 .. m - 1 do
                    let mutable acc = zz[c] - yhat[c]
                    for e in 0 .. m - 1 do
                        acc <- acc + gamma * mm[c * m + e] * (work[e] - target[e])
                    largest <- max largest (abs acc)
                largest
            let mutable h = merit z
            let mutable iteration = 0
            let mutable finished = false
            let scale = 1.0 + (Array.fold (fun acc v -> max acc (abs v)) 0.0 yhat)
            while not finished && iteration < NewtonIterations do
                iteration <- iteration + 1
                probabilities (mlp.Output, m, z, p)
                // F = (z − ŷ) + γM(p − y) = M∇h.
                let mutable largest = 0.0
                for c in 0 .. m - 1 do
                    let mutable acc = z[c] - yhat[c]
                    for d in 0 .. m - 1 do
                        acc <- acc + gamma * mm[c * m + d] * (p[d] - target[d])
                    f[c] <- acc
                    largest <- max largest (abs acc)
                if largest <= 1e-13 * scale then finished <- true
                else
                    // Newton: (I + γ M D) Δ = −F with D = ∂φ/∂z (diag p(1−p), or diag p − ppᵀ).
                    for c in 0 .. m - 1 do
                        for d in 0 .. m - 1 do
                            let mutable acc = 0.0
                            for e in 0 .. m - 1 do
                                let dd =
                                    if mlp.Output = OutputActivation.Sigmoid then (if e = d then p[d] * (1.0 - p[d]) else 0.0)
                                    else (if e = d then p[d] else 0.0) - p[e] * p[d]
                                acc <- acc + mm[c * m + e] * dd
                            jac[c * m + d] <- (if c = d then 1.0 else 0.0) + gamma * acc
                    for c in 0 .. m - 1 do
                        step[c] <- -f[c]
                    SmallDense.luSolve (m, jac, step)
                    // Slope of h along Δ: ∇hᵀΔ = (M⁻¹F)ᵀΔ < 0 for the Newton direction of a convex h.
                    Array.blit f 0 g 0 m
                    SmallDense.choleskySolve (m, l, g)
                    let mutable slope = 0.0
                    for c in 0 .. m - 1 do
                        slope <- slope + g[c] * step[c]
                    let mutable t = 1.0
                    let mutable accepted = false
                    while not accepted && t > 1e-12 do
                        for c in 0 .. m - 1 do
                            trial[c] <- z[c] + t * step[c]
                        let ht = merit trial
                        // Near the root h changes by O(‖F‖²), below its rounding; there a halved residual also accepts.
                        if ht <= h + 1e-4 * t * slope || residualMax trial <= 0.5 * largest then
                            accepted <- true
                            Array.blit trial 0 z 0 m
                            h <- ht
                        else t <- 0.5 * t
                    if not accepted then finished <- true
            probabilities (mlp.Output, m, z, p)
            for c in 0 .. m - 1 do
                ws.Mu[c * batch + s] <- gamma * (p[c] - target[c])

    /// Solves the whole batch at the patterns in ws.Masks: fills ws.LinearOutput, ws.Ja, ws.Gram, ws.Mu, ws.Q and the
    /// stalks (z, a, and z^(k+1); Output = φ(z^(k+1))).
    let private solvePattern (mlp: Mlp, x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, gamma: float, ws: PinnedEquilibriumWorkspace, stalks: NetworkStalks) =
        let batch = ws.Batch
        let k = mlp.HiddenCount
        let m = mlp.OutputDim
        // (1) The zero-energy cochain of F_σ: a forward unitriangular solve with the masks held.
        let mutable previous = x
        for l in 0 .. k do
            let nOut, nIn = mlp.Layers[l + 1], mlp.Layers[l]
            let z = if l = k then Span ws.LinearOutput else Span stalks.Z[l]
            Gemm.multiplyAddBias (nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, ReadOnlySpan mlp.Biases[l], z, batch)
            if l < k then
                TensorPrimitives.Multiply(ReadOnlySpan ws.Masks[l], ReadOnlySpan stalks.Z[l], Span ws.LinearA[l])
                previous <- ReadOnlySpan ws.LinearA[l]
        // (2) G: m transposed solves, Ja_l = W_(l+1)ᵀ (σ_(l+1) ⊙ Ja_(l+1)), seeded with the unit output row c.
        let gram = ws.Gram
        Array.Clear gram
        for c in 0 .. m - 1 do
            // The last weight edge contributes ∂ŷ/∂z^(k+1) = I to M.
            gram.AsSpan((c * m + c) * batch, batch).Fill 1.0
        for c in 0 .. m - 1 do
            let ja = ws.Ja[c]
            for l in k - 1 .. -1 .. 0 do
                let rows, cols = mlp.Layers[l + 2], mlp.Layers[l + 1]
                if l = k - 1 then
                    // W_(k+1)ᵀ e_c: row c of W_(k+1) broadcast over the batch.
                    let w = mlp.Weights[l + 1]
                    for j in 0 .. cols - 1 do
                        ja[l].AsSpan(j * batch, batch).Fill w[c * cols + j]
                else
                    // Reuse LinearA's neighbour as scratch-free input: σ_(l+2) ⊙ Ja_(l+1) into Q[l+1] temporarily.
                    let seed = ws.Q[l + 1]
                    TensorPrimitives.Multiply(ReadOnlySpan ws.Masks[l + 1], ReadOnlySpan ja[l + 1], Span seed)
                    Gemm.multiplyTransposeA (cols, batch, rows, ReadOnlySpan mlp.Weights[l + 1], cols, ReadOnlySpan seed, batch, Span ja[l], batch, false)
        // (3) M_cd = δ_cd + Σ_l Σ_j (1 + σ_j) Ja^c_j Ja^d_j: the ReLU edge contributes Ja Ja, the weight edge into z_l (σ Ja)(σ Ja).
        let weighted = ws.Scratch
        for l in 0 .. k - 1 do
            let width = mlp.Layers[l + 1]
            for c in 0 .. m - 1 do
                for j in 0 .. width - 1 do
                    let jc = ReadOnlySpan(ws.Ja[c][l], j * batch, batch)
                    TensorPrimitives.MultiplyAdd(ReadOnlySpan(ws.Masks[l], j * batch, batch), jc, jc, Span weighted)
                    for d in c .. m - 1 do
                        let target = gram.AsSpan((c * m + d) * batch, batch)
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan weighted, ReadOnlySpan(ws.Ja[d][l], j * batch, batch), ReadOnlySpan(gram, (c * m + d) * batch, batch), target)
        for c in 0 .. m - 1 do
            for d in 0 .. c - 1 do
                gram.AsSpan((d * m + c) * batch, batch).CopyTo(gram.AsSpan((c * m + d) * batch, batch))
        // (4) The m-dimensional output problem per sample (stalks.Z[k] still holds the previous z^(k+1): Newton's start).
        for s in 0 .. batch - 1 do
            solveOutput (mlp, ws, y, gamma, stalks.Z[k], s)
        // (5) Inject the optimal perturbations p = −Gᵀμ and solve forward again: z_l = W a + b − σ⊙q_l, a_l = σ⊙z_l − q_l,
        //     z^(k+1) = W a_k + b − μ, with q_l = Σ_c μ_c Ja^c_l.
        let mutable previous = x
        for l in 0 .. k do
            let nOut, nIn = mlp.Layers[l + 1], mlp.Layers[l]
            let z = stalks.Z[l]
            Gemm.multiplyAddBias (nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, ReadOnlySpan mlp.Biases[l], Span z, batch)
            if l < k then
                let q = ws.Q[l]
                Array.Clear q
                for c in 0 .. m - 1 do
                    let mu = ReadOnlySpan(ws.Mu, c * batch, batch)
                    for j in 0 .. nOut - 1 do
                        TensorPrimitives.MultiplyAdd(mu, ReadOnlySpan(ws.Ja[c][l], j * batch, batch), ReadOnlySpan(q, j * batch, batch), q.AsSpan(j * batch, batch))
                let a = stalks.A[l]
                for i in 0 .. z.Length - 1 do
                    let sigma = ws.Masks[l][i]
                    z[i] <- z[i] - sigma * q[i]
                    a[i] <- sigma * z[i] - q[i]
                previous <- ReadOnlySpan a
            else
                TensorPrimitives.Subtract(ReadOnlySpan z, ReadOnlySpan ws.Mu, Span z)
        Activations.applyOutput (mlp.Output, m, batch, ReadOnlySpan stalks.Z[k], Span stalks.Output)

    /// True where sample s's solved z stalks have the pattern in `masks` (z ≥ 0 active).
    let private selfConsistent (mlp: Mlp, masks: float[][], stalks: NetworkStalks, s: int) =
        let batch = stalks.Batch
        let mutable ok = true
        for l in 0 .. mlp.HiddenCount - 1 do
            let z, mask = stalks.Z[l], masks[l]
            for j in 0 .. mlp.Layers[l + 1] - 1 do
                let i = j * batch + s
                if (z[i] >= 0.0) <> (mask[i] = 1.0) then ok <- false
        ok

    /// Copies column `from` of every n × B block in `source` into column `into` of the n × B' blocks in `target`.
    let private copyColumn (source: float[][], sourceBatch: int, from: int, target: float[][], targetBatch: int, into: int) =
        for b in 0 .. source.Length - 1 do
            let rows = source[b].Length / sourceBatch
            for r in 0 .. rows - 1 do
                target[b][r * targetBatch + into] <- source[b][r * sourceBatch + from]

    /// <summary>Solves every sample's output-pinned equilibrium (coupling γ &gt; 0) starting the active-set iteration from
    /// the pattern currently in ws.Masks (the caller seeds it, e.g. from the previous step's stalks), and writes the
    /// stalks. ws.Masks ends with the patterns used. x is n0 × B, y is m × B (targets; one-hot for softmax).
    /// Samples whose solution does not reproduce its pattern are gathered into a sub-batch and re-solved at the pattern
    /// of their solution, up to maxIterations solves in all; a sample still inconsistent keeps its last solve.</summary>
    let solve (mlp: Mlp, x: float[], y: float[], gamma: float, maxIterations: int, ws: PinnedEquilibriumWorkspace, stalks: NetworkStalks) : PinnedEquilibriumStats =
        let batch = stalks.Batch
        let k = mlp.HiddenCount
        let m = mlp.OutputDim
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        Guard.length (nameof y) (m * batch) y.Length
        if not (gamma > 0.0 && Double.IsFinite gamma) then invalidArg (nameof gamma) (sprintf "Must be positive and finite (got %g)." gamma)
        Guard.positive (nameof maxIterations) maxIterations
        if ws.Batch <> batch then invalidArg (nameof ws) "The workspace belongs to a different batch size."
        solvePattern (mlp, ReadOnlySpan x, ReadOnlySpan y, gamma, ws, stalks)
        let mutable pending = [| for s in 0 .. batch - 1 do if not (selfConsistent (mlp, ws.Masks, stalks, s)) then s |]
        let resolved = pending.Length
        let mutable extra = 0
        let mutable iteration = 1
        let xs = [| x |]
        let ys = [| y |]
        while pending.Length > 0 && iteration < maxIterations do
            iteration <- iteration + 1
            let n = pending.Length
            let subWs = PinnedEquilibriumWorkspace(mlp, n)
            let sub = NetworkStalks(mlp, n)
            let subX = [| Array.zeroCreate<float> (mlp.InputDim * n) |]
            let subY = [| Array.zeroCreate<float> (m * n) |]
            for i in 0 .. n - 1 do
                let s = pending[i]
                copyColumn (xs, batch, s, subX, n, i)
                copyColumn (ys, batch, s, subY, n, i)
                // Newton's start: this sample's current z^(k+1).
                copyColumn ([| stalks.Z[k] |], batch, s, [| sub.Z[k] |], n, i)
                for l in 0 .. k - 1 do
                    let z = stalks.Z[l]
                    for j in 0 .. mlp.Layers[l + 1] - 1 do
                        subWs.Masks[l][j * n + i] <- if z[j * batch + s] >= 0.0 then 1.0 else 0.0
            solvePattern (mlp, ReadOnlySpan subX[0], ReadOnlySpan subY[0], gamma, subWs, sub)
            extra <- extra + n
            for i in 0 .. n - 1 do
                let s = pending[i]
                copyColumn (sub.Z, n, i, stalks.Z, batch, s)
                copyColumn (sub.A, n, i, stalks.A, batch, s)
                copyColumn (subWs.Masks, n, i, ws.Masks, batch, s)
                copyColumn ([| sub.Output; subWs.Mu |], n, i, [| stalks.Output; ws.Mu |], batch, s)
            pending <- [| for i in 0 .. n - 1 do if not (selfConsistent (mlp, subWs.Masks, sub, i)) then pending[i] |]
        { Unconverged = pending.Length; Resolved = resolved; ExtraSolves = extra }

    /// Seeds ws.Masks with the pattern (z ≥ 0) of the given stalks.
    let seedMasks (mlp: Mlp, stalks: NetworkStalks, ws: PinnedEquilibriumWorkspace) =
        for l in 0 .. mlp.HiddenCount - 1 do
            let z, mask = stalks.Z[l], ws.Masks[l]
            for i in 0 .. z.Length - 1 do
                mask[i] <- if z[i] >= 0.0 then 1.0 else 0.0
