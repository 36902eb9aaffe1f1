namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Kind of a network-sheaf edge.
type internal NetworkEdgeKind =
    /// e_W,ℓ: the affine map z^(ℓ) = W^(ℓ)a^(ℓ−1) + b^(ℓ).
    | Affine = 0
    /// e_R,ℓ: the ReLU a^(ℓ) = R_ℓ z^(ℓ).
    | Activation = 1
    /// e_out: the output activation a_out = φ(z^(k+1)) (sigmoid/softmax only).
    | Output = 2

/// Per-edge discrepancies ("discord") of network stalks (theory §6): for every edge and sample the squared
/// norm of the edge's discrepancy vector — affine: W a + b − z; activation: σ⊙z − a with σ = (z ≥ 0) read from
/// the current z; output: φ(z^(k+1)) − a_out. Edges are ordered e_W,1, e_R,1, …, e_R,k, e_W,k+1, then e_out.
[<RequireQualifiedAccess>]
module internal NetworkDiscord =

    /// Number of edges: 2k + 1, plus one output edge when φ is not the identity.
    let edgeCount (mlp: Mlp) = 2 * mlp.HiddenCount + 1 + (if mlp.Output = OutputActivation.Identity then 0 else 1)

    let edgeKind (mlp: Mlp) (e: int) =
        if e = 2 * mlp.HiddenCount + 1 then NetworkEdgeKind.Output
        elif e % 2 = 0 then NetworkEdgeKind.Affine
        else NetworkEdgeKind.Activation

    /// Layer ℓ (1-based) an edge belongs to; the output edge belongs to layer k+1.
    let edgeLayer (mlp: Mlp) (e: int) = if e = 2 * mlp.HiddenCount + 1 then mlp.AffineCount else e / 2 + 1

    /// Edge names: W1, R1, …, Rk, W(k+1), out.
    let edgeName (mlp: Mlp) (e: int) =
        match edgeKind mlp e with
        | NetworkEdgeKind.Affine -> sprintf "W%d" (edgeLayer mlp e)
        | NetworkEdgeKind.Activation -> sprintf "R%d" (edgeLayer mlp e)
        | _ -> "out"

    /// Fills destination (edgeCount × B, edge-major) with the squared discrepancy norm per edge and sample.
    /// x is the pinned input (n0 × B feature-major).
    let compute (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, destination: Span<float>) =
        let batch = stalks.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        Guard.length (nameof destination) (edgeCount mlp * batch) destination.Length
        destination.Clear()
        let maxWidth = Array.max mlp.Layers
        let residual = Array.zeroCreate (maxWidth * batch)
        let mutable previous = x
        for l in 0 .. mlp.AffineCount - 1 do
            let nOut = mlp.Layers[l + 1]
            let nIn = mlp.Layers[l]
            let r = Span<float>(residual, 0, nOut * batch)
            // r = W a + b − z
            Forward.fillRowBias (nOut, batch, ReadOnlySpan mlp.Biases[l], r)
            Gemm.multiply (nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, r, batch, true)
            TensorPrimitives.Subtract(ro r, ReadOnlySpan stalks.Z[l], r)
            let row = destination.Slice(2 * l * batch, batch)
            for i in 0 .. nOut - 1 do
                TensorPrimitives.MultiplyAdd(ro (r.Slice(i * batch, batch)), ro (r.Slice(i * batch, batch)), ro row, row)
            if l < mlp.HiddenCount then
                let z = stalks.Z[l]
                let a = stalks.A[l]
                let rowR = destination.Slice((2 * l + 1) * batch, batch)
                for i in 0 .. nOut - 1 do
                    for s in 0 .. batch - 1 do
                        let zi = z[i * batch + s]
                        let d = (if zi >= 0.0 then zi else 0.0) - a[i * batch + s]
                        rowR[s] <- rowR[s] + d * d
                previous <- ReadOnlySpan stalks.A[l]
        if mlp.Output <> OutputActivation.Identity then
            let n = mlp.OutputDim
            let phi = Span<float>(residual, 0, n * batch)
            Activations.applyOutput (mlp.Output, n, batch, ReadOnlySpan stalks.Z[mlp.AffineCount - 1], phi)
            TensorPrimitives.Subtract(ro phi, ReadOnlySpan stalks.Output, phi)
            let row = destination.Slice((2 * mlp.HiddenCount + 1) * batch, batch)
            for i in 0 .. n - 1 do
                TensorPrimitives.MultiplyAdd(ro (phi.Slice(i * batch, batch)), ro (phi.Slice(i * batch, batch)), ro row, row)

    /// Dirichlet energy ½ Σ_e ‖discrepancy_e‖² of each sample (destination length B).
    let energyPerSample (mlp: Mlp, x: ReadOnlySpan<float>, stalks: NetworkStalks, destination: Span<float>) =
        let batch = stalks.Batch
        Guard.length (nameof destination) batch destination.Length
        let perEdge = Array.zeroCreate (edgeCount mlp * batch)
        compute (mlp, x, stalks, Span perEdge)
        destination.Clear()
        for e in 0 .. edgeCount mlp - 1 do
            TensorPrimitives.Add(ReadOnlySpan(perEdge, e * batch, batch), ro destination, destination)
        TensorPrimitives.Multiply(ro destination, 0.5, destination)
