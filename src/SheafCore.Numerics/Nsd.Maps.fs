namespace SheafCore.Numerics

open System

/// The restriction-map families of Neural Sheaf Diffusion (Bodnar et al. 2022, §3.4 of docs/nsd.md).
type internal NsdFamily =
    /// F = diag(φ), φ ∈ R^d (Diag-NSD).
    | Diagonal = 0
    /// F = w_e·Q(p), Q a product of d Householder reflections, p ∈ R^{d(d−1)/2} (O(d)-NSD).
    | Orthogonal = 1
    /// F = reshape_{d×d}(φ), φ ∈ R^{d²} read row-major (Gen-NSD).
    | General = 2
    /// F = I fixed (no learner): the control, a normalised graph Laplacian per stalk coordinate.
    | Identity = 3

/// Restriction maps from learner outputs, and their adjoints (d×d, row-major, d ≤ a handful).
[<RequireQualifiedAccess>]
module internal NsdMaps =

    /// Number of learner outputs per directed edge: d, d(d−1)/2, d² or 0.
    let outputCount (family: NsdFamily, d: int) =
        match family with
        | NsdFamily.Diagonal -> d
        | NsdFamily.Orthogonal -> d * (d - 1) / 2
        | NsdFamily.General -> d * d
        | NsdFamily.Identity -> 0
        | _ -> invalidArg (nameof family) "Unknown NSD family."

    /// Householder vector j (0-based) of p: zeros above row j, 1 at row j, p[i(i−1)/2 + j] below
    /// (p fills the strictly lower triangle row by row: (1,0), (2,0), (2,1), (3,0), …).
    let private vector (p: ReadOnlySpan<float>, d: int, j: int, v: Span<float>) =
        for i in 0 .. d - 1 do
            v[i] <- if i < j then 0.0 elif i = j then 1.0 else p[i * (i - 1) / 2 + j]

    /// P ← H·P with H = I − 2vvᵀ/(vᵀv): P − (2/s)·v·(vᵀP).
    let private reflectRows (v: ReadOnlySpan<float>, d: int, target: Span<float>) =
        let mutable s = 0.0
        for i in 0 .. d - 1 do
            s <- s + v[i] * v[i]
        for c in 0 .. d - 1 do
            let mutable dot = 0.0
            for i in 0 .. d - 1 do
                dot <- dot + v[i] * target[i * d + c]
            let scale = 2.0 * dot / s
            for i in 0 .. d - 1 do
                target[i * d + c] <- target[i * d + c] - scale * v[i]

    /// <summary>Q = H_0·H_1⋯H_{d−1}, H_j = I − 2 v_j v_jᵀ/‖v_j‖² (LAPACK orgqr with τ = 2, as torch-householder).</summary>
    /// <remarks>The unit pivot keeps ‖v_j‖ ≥ 1, so no normalisation floor is needed; det Q = (−1)^d
    /// because the last vector is e_{d−1}. Writes Q into <c>q</c> (d², row-major); <c>work</c> needs d.</remarks>
    let householder (p: ReadOnlySpan<float>, d: int, q: Span<float>, work: Span<float>) =
        q.Slice(0, d * d).Clear()
        for i in 0 .. d - 1 do
            q[i * d + i] <- 1.0
        // Build from the right: P_{d} = I, P_j = H_j·P_{j+1}, Q = P_0.
        for j in d - 1 .. -1 .. 0 do
            vector (p, d, j, work)
            reflectRows (ro work, d, q)

    /// Work length householderAdjoint needs for dimension d.
    let adjointWorkLength (d: int) = d * d * d + 3 * d * d + 2 * d

    /// <summary>Adds ∂⟨Q̄, Q(p)⟩/∂p to <c>pBar</c>.</summary>
    /// <remarks>With P_j = H_j·P_{j+1}: H̄_j = P̄_j·P_{j+1}ᵀ and P̄_{j+1} = H_j·P̄_j (H symmetric). For
    /// H = I − 2vvᵀ/s, s = vᵀv: v̄ = −(2/s)(H̄ + H̄ᵀ)v + (4 vᵀH̄v/s²)·v. The suffix products P_{j+1} are rebuilt
    /// once, right to left, by the same reflections as the forward pass (so the same bits as rebuilding each
    /// from I). <c>work</c> needs <see cref="adjointWorkLength"/> d.</remarks>
    let householderAdjoint (p: ReadOnlySpan<float>, d: int, qBar: ReadOnlySpan<float>, pBar: Span<float>, work: Span<float>) =
        let dd = d * d
        // suffix[j·d² ..] = P_{j+1} for j = 0 … d−1 (P_d = I).
        let suffix = work.Slice(0, dd * d)
        let pBarJ = work.Slice(dd * d, dd) // P̄_j
        let hBar = work.Slice(dd * d + dd, dd)
        let tmp = work.Slice(dd * d + 2 * dd, dd)
        let v = work.Slice(dd * d + 3 * dd, d)
        let hv = work.Slice(dd * d + 3 * dd + d, d)
        let last = suffix.Slice((d - 1) * dd, dd)
        last.Clear()
        for i in 0 .. d - 1 do
            last[i * d + i] <- 1.0
        for j in d - 2 .. -1 .. 0 do
            let target = suffix.Slice(j * dd, dd)
            suffix.Slice((j + 1) * dd, dd).CopyTo target
            vector (p, d, j + 1, v)
            reflectRows (ro v, d, target)
        qBar.Slice(0, dd).CopyTo pBarJ
        for j in 0 .. d - 1 do
            let pNext = suffix.Slice(j * dd, dd)
            vector (p, d, j, v)
            // H̄_j = P̄_j·P_{j+1}ᵀ.
            for r in 0 .. d - 1 do
                for c in 0 .. d - 1 do
                    let mutable acc = 0.0
                    for k in 0 .. d - 1 do
                        acc <- acc + pBarJ[r * d + k] * pNext[c * d + k]
                    hBar[r * d + c] <- acc
            let mutable s = 0.0
            for i in 0 .. d - 1 do
                s <- s + v[i] * v[i]
            let mutable quad = 0.0
            for r in 0 .. d - 1 do
                let mutable acc = 0.0
                for c in 0 .. d - 1 do
                    acc <- acc + (hBar[r * d + c] + hBar[c * d + r]) * v[c]
                hv[r] <- acc
                for c in 0 .. d - 1 do
                    quad <- quad + v[r] * hBar[r * d + c] * v[c]
            let linear = 2.0 / s
            let quadratic = 4.0 * quad / (s * s)
            for i in j + 1 .. d - 1 do
                pBar[i * (i - 1) / 2 + j] <- pBar[i * (i - 1) / 2 + j] - linear * hv[i] + quadratic * v[i]
            // P̄_{j+1} = H_j·P̄_j.
            pBarJ.CopyTo tmp
            reflectRows (ro v, d, tmp)
            tmp.CopyTo pBarJ
