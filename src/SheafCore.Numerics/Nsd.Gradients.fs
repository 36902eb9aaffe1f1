namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Hand-derived reverse-mode gradients of discrete NSD (the adjoint of every step of <c>NsdForward.run</c>,
/// in reverse order), with buffers allocated once per model.
[<Sealed>]
type internal NsdBackward(model: NsdModel) =
    let c = model.Config
    let n = model.Graph.NodeCount
    let h = c.Width
    let size = n * h
    let rows = c.LearnerRows
    let edges2 = 2 * model.Topology.EdgeCount
    let xBar = Array.zeroCreate<float> size
    let xBarPrevious = Array.zeroCreate<float> size
    let yBar = Array.zeroCreate<float> size
    let z2Bar = Array.zeroCreate<float> size
    let z1Bar = Array.zeroCreate<float> size
    let z0Bar = Array.zeroCreate<float> size
    let learnerBar = Array.zeroCreate<float> size
    let outputsBar = Array.zeroCreate<float> (edges2 * max rows 1)
    let nodeBar = Array.zeroCreate<float> (2 * n * max rows 1)
    let edgeWeightBar = Array.zeroCreate<float> model.Topology.EdgeCount
    let d = c.StalkDim
    let mapsBar = Array.zeroCreate<float> (edges2 * d * d)
    let lapWork =
        let first = if c.Layers > 0 then model.Layers[0] else Unchecked.defaultof<_>
        let length =
            if isNull (box first) then 0
            elif isNull first.Block then NsdLaplacian.diagonalWorkLength (model.Topology, d)
            elif c.Family = NsdFamily.Orthogonal then NsdLaplacian.orthogonalWorkLength first.Block
            else NsdLaplacian.blockWorkLength first.Block
        Array.zeroCreate<float> length
    let householderWork = Array.zeroCreate<float> (NsdMaps.adjointWorkLength d)
    let liftBar = Array.zeroCreate<float> size
    let expandedBar = Array.zeroCreate<float> (if c.SparseLearner then rows * 2 * h else 0)
    member val LogitBar = Array.zeroCreate<float> (n * c.ClassCount)

    /// <summary>Mean negative log-likelihood of log_softmax(logits) over <c>nodes</c>, and its gradient
    /// (softmax − onehot)/|nodes| into LogitBar (zero elsewhere).</summary>
    member this.Loss(nodes: int[]) : float =
        let classes = c.ClassCount
        let logits = model.Logits
        let logitBar = this.LogitBar
        Array.Clear logitBar
        let mutable loss = 0.0
        let weight = 1.0 / float (max nodes.Length 1)
        for v in nodes do
            let row = ReadOnlySpan<float>(logits, v * classes, classes)
            let top = TensorPrimitives.Max row
            let mutable sum = 0.0
            for k in 0 .. classes - 1 do
                sum <- sum + Math.Exp(row[k] - top)
            let lse = top + Math.Log sum
            let y = model.Graph.Labels[v]
            loss <- loss + (lse - row[y])
            for k in 0 .. classes - 1 do
                logitBar[v * classes + k] <- weight * (Math.Exp(row[k] - lse) - (if k = y then 1.0 else 0.0))
        loss * weight

    /// Learner outputs' adjoint → pre-activations → V̄_t and the learner input's adjoint (added to target).
    member private _.LearnerBackward(theta: float[], grad: float[], t: int, target: float[]) =
        let cache = model.Layers[t]
        let topology = model.Topology
        let mapRows = c.MapOutputs
        let outputs = cache.Outputs
        for i in 0 .. edges2 - 1 do
            for r in 0 .. rows - 1 do
                let o = outputs[i * rows + r]
                // tanh′ = 1 − tanh², sigmoid′ = σ(1 − σ).
                let slope = if r < mapRows then 1.0 - o * o else o * (1.0 - o)
                outputsBar[i * rows + r] <- outputsBar[i * rows + r] * slope
        Array.Clear nodeBar
        for i in 0 .. edges2 - 1 do
            let a = topology.IncidenceVertex[i] * rows
            let b = n * rows + topology.IncidenceNeighbour[i] * rows
            for r in 0 .. rows - 1 do
                nodeBar[a + r] <- nodeBar[a + r] + outputsBar[i * rows + r]
                nodeBar[b + r] <- nodeBar[b + r] + outputsBar[i * rows + r]
        let start = model.Layout.Learner t
        // The forward pass left layer t's expanded variant learner in the cache; V̄ of the standard form goes to a
        // scratch first and is folded back below.
        let v = if c.SparseLearner then ReadOnlySpan<float>(cache.ExpandedLearner) else ReadOnlySpan<float>(theta, start, rows * 2 * h)
        let vBar =
            if c.SparseLearner then
                Array.Clear expandedBar
                Span<float>(expandedBar)
            else Span<float>(grad, start, rows * 2 * h)
        let aBar = ReadOnlySpan<float>(nodeBar, 0, n * rows)
        let bBar = ReadOnlySpan<float>(nodeBar, n * rows, n * rows)
        let x = ReadOnlySpan<float>(cache.LearnerInput)
        // V̄_a += Āᵀ X, V̄_b += B̄ᵀ X (the two halves of each row of V_t).
        Gemm.multiplyTransposeA (rows, h, n, aBar, rows, x, h, vBar, 2 * h, true)
        Gemm.multiplyTransposeA (rows, h, n, bBar, rows, x, h, vBar.Slice(h), 2 * h, true)
        if c.SparseLearner then
            // V̄[r, i] = Σ_k V̄'[r, 2fk + i] (the adjoint of the tiling); the edge-weight row is stored as is.
            let piece = 2 * c.Hidden
            for r in 0 .. c.MapOutputs - 1 do
                let target = Span<float>(grad, start + r * piece, piece)
                for k in 0 .. c.Stalks - 1 do
                    TensorPrimitives.Add(ReadOnlySpan<float>(expandedBar, r * 2 * h + k * piece, piece), ReadOnlySpan<float>(grad, start + r * piece, piece), target)
            if c.UsesEdgeWeights then
                let w = start + c.MapOutputs * piece
                TensorPrimitives.Add(ReadOnlySpan<float>(expandedBar, c.MapOutputs * 2 * h, 2 * h), ReadOnlySpan<float>(grad, w, 2 * h), Span<float>(grad, w, 2 * h))
        // X̄ = Ā V_a + B̄ V_b.
        Gemm.multiply (n, h, rows, aBar, rows, v, 2 * h, Span learnerBar, h, false)
        Gemm.multiply (n, h, rows, bBar, rows, v.Slice(h), 2 * h, Span learnerBar, h, true)
        if cache.LearnerDropped then
            TensorPrimitives.MultiplyAdd(ReadOnlySpan learnerBar, ReadOnlySpan cache.LearnerMask, ReadOnlySpan target, Span target)
        else TensorPrimitives.Add(ReadOnlySpan learnerBar, ReadOnlySpan target, Span target)

    /// Map adjoints (in mapsBar; Q̄ for O(d)) → learner-output adjoints (in outputsBar) for the layer's family.
    member private _.MapsBackward(t: int) =
        let cache = model.Layers[t]
        let mapRows = c.MapOutputs
        Array.Clear outputsBar
        match c.Family with
        | NsdFamily.Diagonal
        | NsdFamily.General ->
            let width = mapRows
            for i in 0 .. edges2 - 1 do
                for k in 0 .. width - 1 do
                    outputsBar[i * rows + k] <- mapsBar[i * width + k]
        | _ ->
            // O(d): the Laplacian adjoint left Q̄ in mapsBar and w̄ in edgeWeightBar.
            let dd = d * d
            for i in 0 .. edges2 - 1 do
                NsdMaps.householderAdjoint (
                    ReadOnlySpan<float>(cache.Outputs, i * rows, mapRows),
                    d,
                    ReadOnlySpan<float>(mapsBar, i * dd, dd),
                    Span<float>(outputsBar, i * rows, mapRows),
                    Span householderWork
                )
            if c.UsesEdgeWeights then
                for e in 0 .. model.Topology.EdgeCount - 1 do
                    let a = (2 * e) * rows + mapRows
                    let b = (2 * e + 1) * rows + mapRows
                    // w_e = w̃_a·w̃_b.
                    outputsBar[a] <- edgeWeightBar[e] * cache.Outputs[b]
                    outputsBar[b] <- edgeWeightBar[e] * cache.Outputs[a]

    /// <summary>Writes ∂loss/∂θ into <c>grad</c> (overwritten) from LogitBar and the caches of the last
    /// forward pass (which must have used the same θ).</summary>
    member this.Backward(theta: float[], grad: float[]) =
        let layout = model.Layout
        let g = model.Graph
        let classes = c.ClassCount
        let f = c.Hidden
        let stalks = c.Stalks
        Guard.length (nameof grad) layout.Count grad.Length
        Array.Clear grad
        let logitBar = ReadOnlySpan<float>(this.LogitBar)
        // Read-out: logits = X_T W_outᵀ + b_out.
        Gemm.multiplyTransposeA (classes, h, n, logitBar, classes, ReadOnlySpan model.Final, h, Span<float>(grad, layout.ReadoutWeights, classes * h), h, true)
        for v in 0 .. n - 1 do
            for k in 0 .. classes - 1 do
                grad[layout.ReadoutBias + k] <- grad[layout.ReadoutBias + k] + logitBar[v * classes + k]
        Gemm.multiply (n, h, classes, logitBar, classes, ReadOnlySpan<float>(theta, layout.ReadoutWeights, classes * h), h, Span xBar, h, false)
        for t in c.Layers - 1 .. -1 .. 0 do
            let cache = model.Layers[t]
            let x = cache.State
            let eps = layout.Epsilon t
            // X_{t+1} = (1 + tanh ε)⊙X_t − ELU(Y).
            for k in 0 .. stalks - 1 do
                model.EpsilonScale[k] <- Math.Tanh theta[eps + k]
            for v in 0 .. n - 1 do
                for k in 0 .. stalks - 1 do
                    let tanh = model.EpsilonScale[k]
                    let start = (v * stalks + k) * f
                    let mutable epsBar = 0.0
                    for j in start .. start + f - 1 do
                        epsBar <- epsBar + xBar[j] * x[j]
                        xBarPrevious[j] <- (1.0 + tanh) * xBar[j]
                        let y = cache.Y[j]
                        yBar[j] <- -xBar[j] * (if y > 0.0 then 1.0 else Math.Exp y)
                    grad[eps + k] <- grad[eps + k] + epsBar * (1.0 - tanh * tanh)
            // Y = Δ Z2 with Δ symmetric: Z̄2 = Δ Ȳ; the maps' adjoint from (Ȳ, Z2).
            NsdForward.applyLaplacian (model, t, ReadOnlySpan yBar, Span z2Bar)
            if c.Family <> NsdFamily.Identity then
                Array.Clear mapsBar
                if isNull cache.Block then
                    NsdLaplacian.adjointDiagonal (cache.Diagonal, stalks, f, ReadOnlySpan yBar, ReadOnlySpan cache.Z2, Span mapsBar, Span lapWork)
                elif c.Family = NsdFamily.Orthogonal then
                    Array.Clear edgeWeightBar
                    NsdLaplacian.adjointOrthogonal (
                        cache.Block, cache.EdgeWeights, cache.Orthogonal, stalks, f, ReadOnlySpan yBar, ReadOnlySpan cache.Z2,
                        Span mapsBar, Span edgeWeightBar, Span lapWork)
                else
                    NsdLaplacian.adjointBlock (cache.Block, stalks, f, ReadOnlySpan yBar, ReadOnlySpan cache.Z2, Span mapsBar, Span lapWork)
            // Z2 = Z1 W2ᵀ.
            let w2 = layout.RightWeights t
            Gemm.multiplyTransposeA (f, f, n * stalks, ReadOnlySpan z2Bar, f, ReadOnlySpan cache.Z1, f, Span<float>(grad, w2, f * f), f, true)
            Gemm.multiply (n * stalks, f, f, ReadOnlySpan z2Bar, f, ReadOnlySpan<float>(theta, w2, f * f), f, Span z1Bar, f, false)
            // Z1_v = W1 Z0_v per node.
            let w1 = layout.LeftWeights t
            let w1Values = ReadOnlySpan<float>(theta, w1, stalks * stalks)
            for v in 0 .. n - 1 do
                let z1v = ReadOnlySpan<float>(z1Bar, v * h, h)
                Gemm.multiplyTransposeBReference (stalks, stalks, f, z1v, f, ReadOnlySpan<float>(cache.Z0, v * h, h), f, Span<float>(grad, w1, stalks * stalks), stalks, true)
                NsdKernels.leftMultiply (stalks, w1Values, true, f, z1v, Span<float>(z0Bar, v * h, h))
            // Z0 = Drop(X_t).
            TensorPrimitives.MultiplyAdd(ReadOnlySpan z0Bar, ReadOnlySpan cache.DropMask, ReadOnlySpan xBarPrevious, Span xBarPrevious)
            if c.Family <> NsdFamily.Identity then
                this.MapsBackward t
                this.LearnerBackward(theta, grad, t, xBarPrevious)
            Array.blit xBarPrevious 0 xBar 0 size
        // Lift: X0 = [W_12·]Drop(ELU(Drop_in(X) W_inᵀ + b_in)) [+ b_12].
        if c.SecondLinear then
            Gemm.multiplyTransposeA (h, h, n, ReadOnlySpan xBar, h, ReadOnlySpan model.LiftOut, h, Span<float>(grad, layout.SecondWeights, h * h), h, true)
            for v in 0 .. n - 1 do
                for j in 0 .. h - 1 do
                    grad[layout.SecondBias + j] <- grad[layout.SecondBias + j] + xBar[v * h + j]
            Gemm.multiply (n, h, h, ReadOnlySpan xBar, h, ReadOnlySpan<float>(theta, layout.SecondWeights, h * h), h, Span liftBar, h, false)
        else Array.blit xBar 0 liftBar 0 size
        let pre = model.LiftPre
        for j in 0 .. size - 1 do
            let a = pre[j]
            liftBar[j] <- liftBar[j] * model.LiftMask[j] * (if a > 0.0 then 1.0 else Math.Exp a)
        let weightsBar = Span<float>(grad, layout.LiftWeights, c.InputCount * h)
        for v in 0 .. n - 1 do
            let row = ReadOnlySpan<float>(liftBar, v * h, h)
            let bias = Span<float>(grad, layout.LiftBias, h)
            TensorPrimitives.Add(row, ro bias, bias)
            for k in g.FeatureRowPointers[v] .. g.FeatureRowPointers[v + 1] - 1 do
                let x = model.Features[k] * model.InputMask[k]
                if x <> 0.0 then
                    let target = weightsBar.Slice(g.FeatureColumns[k] * h, h)
                    TensorPrimitives.MultiplyAdd(row, x, ro target, target)

/// Loss and gradient in one call (forward, loss, backward).
[<RequireQualifiedAccess>]
module internal NsdGradients =

    /// <summary>Runs the model, returns the mean NLL over <c>nodes</c> and writes ∂loss/∂θ into <c>grad</c>.</summary>
    let lossAndGradient (model: NsdModel, backward: NsdBackward, theta: float[], nodes: int[], training: bool, rng: Rng, grad: float[]) =
        NsdForward.run (model, theta, training, rng)
        let loss = backward.Loss nodes
        backward.Backward(theta, grad)
        loss

    /// <summary>The loss alone (for finite differences and evaluation).</summary>
    let loss (model: NsdModel, backward: NsdBackward, theta: float[], nodes: int[], training: bool, rng: Rng) =
        NsdForward.run (model, theta, training, rng)
        backward.Loss nodes
