namespace SheafCore.Numerics

open System

/// Agreement of one affine layer's local update with the exact gradient.
[<Struct>]
type internal LayerAgreement =
    { /// cos∠(U_ℓ, −∇_ℓ) over the concatenated (W^(ℓ), b^(ℓ)) entries; NaN when either vector is zero.
      Cosine: float
      /// ‖U_ℓ‖ / (γ‖∇_ℓ‖); tends to 1 as γ → 0.
      NormRatio: float
      /// ‖∇_ℓ‖ of the summed per-sample edge loss.
      GradientNorm: float }

/// The result of a gradient-agreement measurement.
type internal GradientAgreementResult =
    { Layers: LayerAgreement[]
      RelaxationSteps: int
      Converged: bool }

/// <summary>Local-discrepancy weight updates against exact gradients (theory §4 last paragraph, §5).</summary>
/// <remarks>With the weights frozen, the training stalks relax to the minimiser of
/// ½‖δω‖² + γ Σ_i ℓ(z_i^(k+1), y_i) (ℓ = ½‖z − y‖², or the cross-entropy of φ(z) for the cross-entropy edge).
/// For a fixed activation pattern δ_Ω is square and invertible, so every edge-residual vector ε = δω + δ_U u is
/// reachable and the output moves by Gε (G = last block row of δ_Ω⁻¹). Stationarity gives
/// ε = −γ Gᵀ ∇ℓ(z_out), hence for weight edge ℓ the residual r_ℓ = −ε_ℓ = γ G_ℓᵀ∇ℓ(z_out). At γ → 0 the output
/// is the forward output plus O(γ), so r_ℓ = γ δ_ℓ + O(γ²) where δ_ℓ = ∂(Σ_i ℓ_i)/∂z^(ℓ) is exactly the backprop
/// delta, and a^(ℓ−1) is the forward activation plus O(γ). The local update U_ℓ = −Σ_i r_{i,ℓ}[a_{i,ℓ−1}; 1]ᵀ (what
/// one training step would add to (W_ℓ, b_ℓ), per unit β·dt) is therefore −γ∇_ℓ(Σ_i ℓ_i) + O(γ²): cosine → 1 and
/// norm ratio → 1 as γ → 0, while the pattern stays fixed (no pre-activation within O(γ) of zero). At γ = 1 (the
/// paper's training) the residuals carry the (I/γ + GGᵀ)⁻¹-preconditioned error instead, so the agreement is only
/// approximate. The gradient of the summed loss points the same way as that of the mean loss (a positive factor),
/// so the cosine is also the one against the exact mean-loss gradient.</remarks>
[<RequireQualifiedAccess>]
module internal GradientAgreement =

    /// ∂(Σ_i ℓ_i)/∂(mean loss L): the factor between the training edge loss and Losses.value
    /// (MSE: nB/2 because ℓ = ½‖·‖²; BCE: nB; CE: B).
    let private sumScale (mlp: Mlp, batch: int) =
        match mlp.Output with
        | OutputActivation.Identity -> 0.5 * float (mlp.OutputDim * batch)
        | OutputActivation.Sigmoid -> float (mlp.OutputDim * batch)
        | _ -> float batch

    let private cosineAndNorms (u: float[], ub: float[], g: float[], gb: float[]) =
        let mutable dot = 0.0
        let mutable uu = 0.0
        let mutable gg = 0.0
        for i in 0 .. u.Length - 1 do
            dot <- dot - u[i] * g[i]
            uu <- uu + u[i] * u[i]
            gg <- gg + g[i] * g[i]
        for i in 0 .. ub.Length - 1 do
            dot <- dot - ub[i] * gb[i]
            uu <- uu + ub[i] * ub[i]
            gg <- gg + gb[i] * gb[i]
        let cosine = if uu > 0.0 && gg > 0.0 then dot / (sqrt uu * sqrt gg) else nan
        struct (cosine, sqrt uu, sqrt gg)

    /// <summary>Per layer, the cosine and norm ratio between the local update at the equilibrium of output-pinned
    /// relaxation with coupling γ and the exact gradient. x, y are n0 × B and n_out × B feature-major; the
    /// relaxation starts from the forward pass and runs explicit Euler with step `dt` (0 chooses a stable step)
    /// until the largest change is below `tolerance` (at most `maxSteps`).</summary>
    let measure (mlp: Mlp, x: float[], y: float[], batch: int, gamma: float, dt: float, tolerance: float, maxSteps: int) =
        if isNull (box mlp) then nullArg (nameof mlp)
        if not (Double.IsFinite gamma && gamma > 0.0) then invalidArg (nameof gamma) (sprintf "The output coupling must be positive (got %g)." gamma)
        Guard.positive (nameof batch) batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        Guard.length (nameof y) (mlp.OutputDim * batch) y.Length
        Guard.positive (nameof maxSteps) maxSteps
        // Stable for every pattern: α·dt·(λ_max(L_Ω) + γ) < 2 (the output edge adds at most γ·max φ' ≤ γ).
        let step = if dt > 0.0 then dt else NetworkHeat.stableStep (mlp, 1.0, gamma)
        let stalks = NetworkStalks(mlp, batch)
        UnitriangularSolve.solve (mlp, ReadOnlySpan x, stalks)
        let struct (steps, converged) = SheafTraining.relax (mlp, x, y, stalks, gamma, step, tolerance, maxSteps)
        let bp = BackpropWorkspace(mlp, batch)
        Backprop.gradient (mlp, ReadOnlySpan x, ReadOnlySpan y, bp) |> ignore
        let scale = sumScale (mlp, batch)
        let layers =
            Array.init mlp.AffineCount (fun l ->
                let rows = mlp.Layers[l + 1]
                let cols = mlp.Layers[l]
                // r_ℓ at the equilibrium, from the frozen weights.
                let r = Array.zeroCreate<float> (rows * batch)
                let previous = if l = 0 then ReadOnlySpan x else ReadOnlySpan stalks.A[l - 1]
                Gemm.multiplyAddBias (rows, batch, cols, ReadOnlySpan mlp.Weights[l], cols, previous, batch, ReadOnlySpan mlp.Biases[l], Span r, batch)
                let z = stalks.Z[l]
                for i in 0 .. r.Length - 1 do
                    r[i] <- r[i] - z[i]
                // U_ℓ = −Σ_i r_i [a_i; 1]ᵀ.
                let u = Array.zeroCreate<float> (rows * cols)
                Gemm.multiplyTransposeB (rows, cols, batch, ReadOnlySpan r, batch, previous, batch, Span u, cols, false)
                let ub = Array.init rows (fun i -> -(Array.sum r[i * batch .. i * batch + batch - 1]))
                for i in 0 .. u.Length - 1 do
                    u[i] <- -u[i]
                let g = bp.GradW[l] |> Array.map (fun v -> scale * v)
                let gb = bp.GradB[l] |> Array.map (fun v -> scale * v)
                let struct (cosine, uNorm, gNorm) = cosineAndNorms (u, ub, g, gb)
                { Cosine = cosine
                  NormRatio = (if gNorm > 0.0 then uNorm / (gamma * gNorm) else nan)
                  GradientNorm = gNorm })
        { Layers = layers; RelaxationSteps = steps; Converged = converged }
