namespace SheafCore.Numerics

open System

/// Every stalk of a batch of network sheaves (feature-major n × B blocks; one column per sample).
/// Z[l] is z^(l+1) for l = 0…k, A[l] is a^(l+1) for l = 0…k−1, Output is φ(z^(k+1)) (the a_out stalk;
/// equal to z^(k+1) for an identity output). The pinned stalks x and the ones-blocks are not stored.
[<Sealed>]
type internal NetworkStalks(mlp: Mlp, batch: int) =
    do Guard.nonNegative (nameof batch) batch
    let z = Array.init mlp.AffineCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let a = Array.init mlp.HiddenCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let output = Array.zeroCreate (mlp.OutputDim * batch)
    member _.Batch = batch
    member _.Z = z
    member _.A = a
    member _.Output = output

    /// The free block j of ω (0 = z1, 1 = a1, …, 2k = z(k+1)).
    member _.FreeBlock(j: int) : float[] = if j % 2 = 0 then z[j / 2] else a[j / 2]

    /// Copies sample s's free coordinates into ω (Ω order).
    member this.GatherSample(s: int, omega: Span<float>) =
        Guard.index "sample" batch s
        let mutable o = 0
        for j in 0 .. 2 * mlp.HiddenCount do
            let block = this.FreeBlock j
            let width = block.Length / max batch 1
            for r in 0 .. width - 1 do
                omega[o + r] <- block[r * batch + s]
            o <- o + width

/// The forward pass as the solution of δ_Ω ω = −δ_U u by block forward substitution (theory §2.6, §2.8).
///
/// δ_Ω is unit lower block-bidiagonal: block row j reads ω_j − N_j ω_{j−1} = (−δ_U u)_j with N_j = W^(ℓ) on a
/// weight edge and R_ℓ = diag(σ_ℓ) on a ReLU edge, and −δ_U u = (W^(1)x + b^(1), 0, b^(2), 0, …, b^(k+1)).
/// So ω_j = (−δ_U u)_j + N_j ω_{j−1}: one GEMM per weight block (W^(ℓ) times the whole batch block) and
/// one element-wise mask product per ReLU block. Diagonal blocks are identities, so there is no division.
[<RequireQualifiedAccess>]
module internal UnitriangularSolve =

    /// Weight block row ℓ (0-based l): z^(l+1) = b^(l+1) + W^(l+1)·previous, over the whole batch.
    let private weightRow (mlp: Mlp, l: int, batch: int, previous: ReadOnlySpan<float>, z: Span<float>, threads: int) =
        let nOut = mlp.Layers[l + 1]
        let nIn = mlp.Layers[l]
        Gemm.multiplyAddBiasParallel (
            nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, ReadOnlySpan mlp.Biases[l], z, batch, threads
        )

    let private validate (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks) =
        if isNull (box mlp) then nullArg (nameof mlp)
        Guard.length (nameof x) (mlp.InputDim * stalks.Batch) x.Length
        if stalks.Z.Length <> mlp.AffineCount || stalks.A.Length <> mlp.HiddenCount then
            invalidArg (nameof stalks) "The stalks belong to a different architecture."

    /// <summary>Harmonic extension of the pinned input x (n0 × B feature-major): solves δ_Ω(σ) ω = −δ_U u
    /// where σ is the pattern of the solution itself (self-consistent: the mask of block a^(ℓ) is read from
    /// the z^(ℓ) just solved, z ≥ 0 active). Writes every stalk, and a_out = φ(z^(k+1)). Each GEMM is split over up
    /// to maxDegreeOfParallelism threads (batch column blocks, above <c>Gemm.ParallelFlopThreshold</c>); the result is
    /// bit-identical for every thread count.</summary>
    let solveParallel (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, maxDegreeOfParallelism: int) =
        validate (mlp, x, stalks)
        let batch = stalks.Batch
        let mutable previous = x
        for l in 0 .. mlp.AffineCount - 1 do
            let z = Span<float>(stalks.Z[l])
            weightRow (mlp, l, batch, previous, z, maxDegreeOfParallelism)
            if l < mlp.HiddenCount then
                // ReLU block row: a = R z with R = diag(z ≥ 0), i.e. a = z where z ≥ 0 and 0 elsewhere.
                TriangularSolve.activeProjection (ro z, Span stalks.A[l])
                previous <- ReadOnlySpan stalks.A[l]
        Activations.applyOutput (mlp.Output, mlp.OutputDim, batch, ReadOnlySpan stalks.Z[mlp.AffineCount - 1], Span stalks.Output)

    /// The self-consistent solve (<c>solveParallel</c>) on the calling thread.
    let solve (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks) = solveParallel (mlp, x, stalks, 1)

    /// <summary>Solves δ_Ω(σ) ω = −δ_U u for a given pattern per sample: masks[l] is an n_{l+1} × B 0/1 block.
    /// For a pattern other than the solution's own this is not the forward pass, but it is still the unique
    /// zero-energy cochain of the linear sheaf F_σ.</summary>
    let solveWithPattern (mlp: Mlp, x: ReadOnlySpan<float>, masks: float[][], stalks: NetworkStalks) =
        validate (mlp, x, stalks)
        let batch = stalks.Batch
        if isNull masks || masks.Length <> mlp.HiddenCount then
            invalidArg (nameof masks) (sprintf "Expected %d masks." mlp.HiddenCount)
        for l in 0 .. masks.Length - 1 do
            if isNull masks[l] || masks[l].Length <> mlp.Layers[l + 1] * batch then
                invalidArg (nameof masks) (sprintf "Mask %d must be %d × %d." (l + 1) mlp.Layers[l + 1] batch)
        let mutable previous = x
        for l in 0 .. mlp.AffineCount - 1 do
            weightRow (mlp, l, batch, previous, Span stalks.Z[l], 1)
            if l < mlp.HiddenCount then
                TriangularSolve.applyMask (ReadOnlySpan masks[l], ReadOnlySpan stalks.Z[l], Span stalks.A[l])
                previous <- ReadOnlySpan stalks.A[l]
        Activations.applyOutput (mlp.Output, mlp.OutputDim, batch, ReadOnlySpan stalks.Z[mlp.AffineCount - 1], Span stalks.Output)

    /// The masks (z ≥ 0) of solved stalks, one n_{l+1} × B block per hidden layer.
    let patternOfStalks (mlp: Mlp, stalks: NetworkStalks) : float[][] =
        Array.init mlp.HiddenCount (fun l -> stalks.Z[l] |> Array.map (fun v -> if v >= 0.0 then 1.0 else 0.0))
