namespace SheafCore.Numerics

open System

/// What the exact equilibrium solver found for one sample.
[<Struct>]
type internal EquilibriumSample =
    { /// A pattern σ was found whose least-squares cochain has exactly that pattern.
      Converged: bool
      /// Active-set iterations (linear solves) used.
      Iterations: int }

/// The equilibrium of the pinned heat equation computed directly (theory §4): for a fixed activation pattern σ the
/// flow converges to the least-squares cochain minimising ½‖δ_Ω(σ)ω + δ_U u‖² + ½Σγ‖v − t‖² with the hard-pinned
/// coordinates held. Removing the hard-pinned columns from the square invertible δ_Ω leaves full column rank, so
/// the normal equations (A_Fᵀ A_F + Γ) ω_F = −A_Fᵀ(A_H t_H + δ_U u) + Γ t are symmetric positive definite and
/// one Cholesky solve per pattern suffices. The pattern must be the solution's own (z ≥ 0 active): we iterate
/// σ ← pattern(ω(σ)) from the initial guess until it is self-consistent (an active-set method on the continuous,
/// piecewise-quadratic energy). Identity-output networks only: the sigmoid/softmax output edge is nonlinear.
[<RequireQualifiedAccess>]
module internal NetworkEquilibrium =

    /// Solves sample s. omega holds the initial guess on entry and the solution on exit (Ω order).
    let private solveSample (mlp: Mlp, x: float[], omega: float[], pins: StalkPin[], batch: int, s: int, maxIterations: int) =
        let n = omega.Length
        let offsets = NetworkSheafBlocks.freeBlockOffsets mlp
        // Hard-pinned coordinates and their targets; soft couplings γ_c and targets t_c (several soft pins add).
        let hard = Array.create n false
        let gamma = Array.zeroCreate n
        let softTarget = Array.zeroCreate n
        for p in pins do
            for ci in 0 .. p.Coordinates.Length - 1 do
                let c = offsets[p.Stalk] + p.Coordinates[ci]
                let t = p.Targets[ci * batch + s]
                if p.IsHard then
                    hard[c] <- true
                    omega[c] <- t
                else
                    // Σ γ_i (v − t_i)² = (Σγ_i) (v − t̄)² + const with t̄ the γ-weighted mean target.
                    softTarget[c] <- (gamma[c] * softTarget[c] + p.Gamma * t) / (if gamma[c] + p.Gamma > 0.0 then gamma[c] + p.Gamma else 1.0)
                    gamma[c] <- gamma[c] + p.Gamma
        let free = [| for c in 0 .. n - 1 do if not hard[c] then c |]
        let input = Array.init mlp.InputDim (fun i -> x[i * batch + s])
        let boundary = Dense.multiplyVector (NetworkSheafBlocks.boundaryCoboundaryDense mlp) (NetworkSheafBlocks.boundaryValues mlp input)
        let patternOf (w: float[]) =
            Array.init mlp.HiddenCount (fun l ->
                let o = offsets[2 * l]
                Array.init mlp.Layers[l + 1] (fun r -> if w[o + r] >= 0.0 then 1.0 else 0.0))
        let mutable pattern = patternOf omega
        let mutable iterations = 0
        let mutable converged = false
        while not converged && iterations < maxIterations do
            iterations <- iterations + 1
            let a = NetworkSheafBlocks.restrictedCoboundaryDense mlp pattern
            // c = A_H t_H + δ_U u: the residual with the free coordinates at zero.
            let c = Array.copy boundary
            for h in 0 .. n - 1 do
                if hard[h] then
                    for e in 0 .. n - 1 do
                        c[e] <- c[e] + a[e, h] * omega[h]
            let af = Dense.select a (Array.init n id) free
            let normal = Dense.gram af
            let rhs = Array.zeroCreate free.Length
            for i in 0 .. free.Length - 1 do
                let col = free[i]
                normal[i, i] <- normal[i, i] + gamma[col]
                let mutable acc = gamma[col] * softTarget[col]
                for e in 0 .. n - 1 do
                    acc <- acc - af[e, i] * c[e]
                rhs[i] <- acc
            let chol = DenseFactor.tryCholesky normal
            if not chol.Succeeded then invalidOp "The pinned normal equations are not positive definite; this contradicts Lemma 3.2."
            let l = chol.Factor
            // Forward then backward substitution with L Lᵀ.
            let y = Array.copy rhs
            for i in 0 .. y.Length - 1 do
                let mutable acc = y[i]
                for j in 0 .. i - 1 do
                    acc <- acc - l[i, j] * y[j]
                y[i] <- acc / l[i, i]
            for i in y.Length - 1 .. -1 .. 0 do
                let mutable acc = y[i]
                for j in i + 1 .. y.Length - 1 do
                    acc <- acc - l[j, i] * y[j]
                y[i] <- acc / l[i, i]
            for i in 0 .. free.Length - 1 do
                omega[free[i]] <- y[i]
            let next = patternOf omega
            converged <- Array.forall2 (Array.forall2 (=)) next pattern
            pattern <- next
        { Converged = converged; Iterations = iterations }

    /// Computes the pinned equilibrium of every sample, starting the active-set iteration from the pattern of the
    /// given stalks (which are overwritten with the solution; a_out mirrors z^(k+1)).
    let solve (mlp: Mlp, x: float[], stalks: NetworkStalks, pins: StalkPin[], maxIterations: int) : EquilibriumSample[] =
        if mlp.Output <> OutputActivation.Identity then
            invalidArg (nameof mlp) "The exact equilibrium is available for identity-output networks; the sigmoid/softmax output edge is nonlinear."
        let batch = stalks.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        Guard.positive (nameof maxIterations) maxIterations
        NetworkHeat.validatePins mlp batch pins
        let n = NetworkSheafBlocks.freeDim mlp
        let offsets = NetworkSheafBlocks.freeBlockOffsets mlp
        let omega = Array.zeroCreate n
        let results = Array.zeroCreate batch
        for s in 0 .. batch - 1 do
            stalks.GatherSample(s, Span omega)
            results[s] <- solveSample (mlp, x, omega, pins, batch, s, maxIterations)
            for j in 0 .. 2 * mlp.HiddenCount do
                let block = stalks.FreeBlock j
                for r in 0 .. offsets[j + 1] - offsets[j] - 1 do
                    block[r * batch + s] <- omega[offsets[j] + r]
        Array.blit stalks.Z[mlp.AffineCount - 1] 0 stalks.Output 0 stalks.Output.Length
        results
