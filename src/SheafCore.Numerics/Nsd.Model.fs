namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Architecture of a discrete NSD model (docs/nsd.md §3; the flags of the reference code in brackets).
[<NoEquality; NoComparison>]
type internal NsdConfig =
    { Family: NsdFamily
      /// Learned stalk dimension d [d].
      StalkDim: int
      /// Fixed normalised D + A coordinate [add_lp].
      LowPass: bool
      /// Fixed normalised D − A coordinate [add_hp].
      HighPass: bool
      /// Channels f per stalk coordinate [hidden_channels].
      Hidden: int
      /// Diffusion steps T [layers].
      Layers: int
      /// p: after the lift, on each layer's state and on the learner input of layers ≥ 1 [dropout].
      Dropout: float
      /// On the raw features [input_dropout].
      InputDropout: float
      /// Extra H×H linear after the lift [second_linear].
      SecondLinear: bool
      /// O(d) only: learned edge weights w_e [edge_weights].
      EdgeWeights: bool
      /// The variant map learner [sparse_learner]: [x_v ‖ x_u] cut into D pieces of length 2f, summed, then V
      /// (m×2f). The edge-weight learner keeps the full 2H input.
      SparseLearner: bool
      InputCount: int
      ClassCount: int }

    /// D = d + lp + hp.
    member c.Stalks = c.StalkDim + (if c.LowPass then 1 else 0) + (if c.HighPass then 1 else 0)
    /// H = D·f.
    member c.Width = c.Stalks * c.Hidden
    /// Map-learner outputs per directed edge.
    member c.MapOutputs = NsdMaps.outputCount (c.Family, c.StalkDim)
    member c.UsesEdgeWeights = c.EdgeWeights && c.Family = NsdFamily.Orthogonal
    /// Rows of the per-layer learner matrix: the map outputs, then the edge-weight row if any.
    member c.LearnerRows = c.MapOutputs + (if c.UsesEdgeWeights then 1 else 0)
    /// Columns of a stored map-learner row: 2f for the variant learner, else 2H.
    member c.MapLearnerColumns = if c.SparseLearner then 2 * c.Hidden else 2 * c.Width
    /// Stored learner parameters per layer: the map rows, then the edge-weight row (always 2H wide).
    member c.LearnerSize = c.MapOutputs * c.MapLearnerColumns + (if c.UsesEdgeWeights then 2 * c.Width else 0)

/// Offsets of every parameter block in one flat vector (so Adam, finite differences and weight decay see a
/// single array). Layout: lift Wᵀ_in (p×H, stored transposed so a sparse feature row gathers contiguous
/// rows), b_in; optional W_12 (H×H, out×in), b_12; per layer V_t ((m[+1])×2H, row r = [V_a | V_b]; with the
/// variant learner the m map rows are 2f wide and the edge-weight row 2H),
/// W1_t (D×D), W2_t (f×f), ε_t (D); read-out W_out (C×H), b_out.
[<Sealed>]
type internal NsdLayout(config: NsdConfig) =
    let h = config.Width
    let dStalks = config.Stalks
    let f = config.Hidden
    let p = config.InputCount
    let c = config.ClassCount
    let liftWeights = 0
    let liftBias = liftWeights + p * h
    let secondWeights = liftBias + h
    let secondBias = secondWeights + (if config.SecondLinear then h * h else 0)
    let layerStart = secondBias + (if config.SecondLinear then h else 0)
    let learnerSize = config.LearnerSize
    let layerSize = learnerSize + dStalks * dStalks + f * f + dStalks
    let readoutWeights = layerStart + config.Layers * layerSize
    let readoutBias = readoutWeights + c * h
    let total = readoutBias + c
    member _.Config = config
    member _.LiftWeights = liftWeights
    member _.LiftBias = liftBias
    member _.SecondWeights = secondWeights
    member _.SecondBias = secondBias
    member _.Learner(t: int) = layerStart + t * layerSize
    member _.LeftWeights(t: int) = layerStart + t * layerSize + learnerSize
    member _.RightWeights(t: int) = layerStart + t * layerSize + learnerSize + dStalks * dStalks
    member _.Epsilon(t: int) = layerStart + t * layerSize + learnerSize + dStalks * dStalks + f * f
    member _.ReadoutWeights = readoutWeights
    member _.ReadoutBias = readoutBias
    member _.Count = total

    /// True for parameters of the map learners V_t (their own weight decay, `sheaf_decay`); the edge-weight
    /// row is not one of them, as in the reference's parameter-name grouping.
    member this.SheafMask() =
        let mask = Array.zeroCreate<bool> total
        for t in 0 .. config.Layers - 1 do
            for j in 0 .. config.MapOutputs * config.MapLearnerColumns - 1 do
                mask[this.Learner t + j] <- true
        mask

/// Everything one layer's forward pass keeps for the backward pass.
[<Sealed>]
type internal NsdLayerCache(config: NsdConfig, topology: NsdTopology) =
    let n = topology.NodeCount
    let size = n * config.Width
    let rows = config.LearnerRows
    let edges2 = 2 * topology.EdgeCount
    /// Input state X_t.
    member val State = Array.zeroCreate<float> size
    /// Learner input (X_t after dropout for t ≥ 1).
    member val LearnerInput = Array.zeroCreate<float> size
    /// Dropout mask of the learner input (entries 0 or 1/(1−p)); unused when not dropping.
    member val LearnerMask = Array.zeroCreate<float> size
    /// The variant learner's V expanded to the standard learner's rows×2H form (empty otherwise).
    member val ExpandedLearner = Array.zeroCreate<float> (if config.SparseLearner then rows * 2 * config.Width else 0)
    /// Per node: X V_aᵀ then X V_bᵀ (n×rows each).
    member val NodeTerms = Array.zeroCreate<float> (2 * n * rows)
    /// Learner outputs after the activation, per incidence (2|E|×rows): tanh for maps, sigmoid for w̃.
    member val Outputs = Array.zeroCreate<float> (edges2 * rows)
    /// Symmetric edge weights w_e (O(d) with edge weights), per edge.
    member val EdgeWeights = Array.zeroCreate<float> topology.EdgeCount
    /// Orthogonal factors Q per incidence (O(d) only).
    member val Orthogonal =
        Array.zeroCreate<float> (if config.Family = NsdFamily.Orthogonal then edges2 * config.StalkDim * config.StalkDim else 0)
    member val DropMask = Array.zeroCreate<float> size
    /// Z0 = Drop(X_t), Z1 = (I⊗W1)Z0, Z2 = Z1 W2ᵀ, Y = ΔZ2 (before the ELU).
    member val Z0 = Array.zeroCreate<float> size
    member val Z1 = Array.zeroCreate<float> size
    member val Z2 = Array.zeroCreate<float> size
    member val Y = Array.zeroCreate<float> size
    /// Whether LearnerMask was applied in the last forward pass.
    member val LearnerDropped = false with get, set
    /// Δ_t for Diag-NSD and the identity control (null otherwise).
    member val Diagonal =
        (if config.Family = NsdFamily.Diagonal || config.Family = NsdFamily.Identity then
             DiagonalNsdLaplacian(topology, config.StalkDim)
         else null)
    /// Δ_t for O(d)- and Gen-NSD on the sheaf engine (null otherwise).
    member val Block =
        (if config.Family = NsdFamily.Orthogonal || config.Family = NsdFamily.General then
             BlockNsdLaplacian(topology, config.StalkDim)
         else null)

/// A model bound to one graph: the layout, the topology, dense-free features and the forward caches.
[<Sealed>]
type internal NsdModel(config: NsdConfig, graph: NodeGraph) =
    do
        Guard.positive "StalkDim" config.StalkDim
        Guard.positive "Hidden" config.Hidden
        Guard.nonNegative "Layers" config.Layers
        if config.Family = NsdFamily.Orthogonal && config.StalkDim < 2 then
            invalidArg "StalkDim" "O(d)-NSD needs d ≥ 2 (a 1×1 orthogonal map is ±1 and has no parameters)."
        if not (config.Dropout >= 0.0 && config.Dropout < 1.0) then invalidArg "Dropout" "Must lie in [0, 1)."
        if not (config.InputDropout >= 0.0 && config.InputDropout < 1.0) then invalidArg "InputDropout" "Must lie in [0, 1)."
        if config.InputCount <> graph.FeatureCount then
            invalidArg "InputCount" (sprintf "The graph has %d features, the model expects %d." graph.FeatureCount config.InputCount)
        if config.ClassCount <> graph.ClassCount then
            invalidArg "ClassCount" (sprintf "The graph has %d classes, the model expects %d." graph.ClassCount config.ClassCount)
    let topology = NsdTopology(graph.NodeCount, graph.Sources, graph.Targets)
    let layout = NsdLayout(config)
    let n = graph.NodeCount
    let h = config.Width
    let features = GraphData.rowNormalisedValues graph
    let layers = Array.init config.Layers (fun _ -> NsdLayerCache(config, topology))
    member _.Config = config
    member _.Graph = graph
    member _.Topology = topology
    member _.Layout = layout
    member _.Features = features
    member _.Layers = layers
    /// Input-dropout mask per stored feature entry.
    member val InputMask = Array.zeroCreate<float> features.Length
    /// Lift pre-activation a = X W_inᵀ + b_in (n×H).
    member val LiftPre = Array.zeroCreate<float> (n * h)
    /// Dropout mask after the lift's ELU.
    member val LiftMask = Array.zeroCreate<float> (n * h)
    /// Input to the second linear (ELU then dropout).
    member val LiftOut = Array.zeroCreate<float> (n * h)
    /// Final state X_T.
    member val Final = Array.zeroCreate<float> (n * h)
    /// 1 + tanh ε_t of the layer being computed (D values, reused).
    member val EpsilonScale = Array.zeroCreate<float> config.Stalks
    /// Logits (n×C) before the log-softmax.
    member val Logits = Array.zeroCreate<float> (n * config.ClassCount)

/// Initialisation and the forward pass of discrete NSD:
/// X_{t+1} = (I_n ⊗ diag(1 + tanh ε_t)) X_t − ELU(Δ_t (I_n ⊗ W1_t) Drop(X_t) W2_tᵀ).
[<RequireQualifiedAccess>]
module internal NsdForward =

    let inline elu (x: float) = if x > 0.0 then x else Math.Exp x - 1.0
    let inline sigmoid (x: float) = 1.0 / (1.0 + Math.Exp(-x))

    /// <summary>PyTorch's defaults: every linear layer U(±1/√fan_in) for weights and biases; W2_t orthogonal
    /// (Gram–Schmidt of a Gaussian matrix, the QR of torch.nn.init.orthogonal_ with positive R diagonal);
    /// W1_t = I; ε_t = 0; learners without bias, fan-in 2H.</summary>
    let initialise (layout: NsdLayout, rng: Rng) : float[] =
        let c = layout.Config
        let h = c.Width
        let f = c.Hidden
        let dStalks = c.Stalks
        let theta = Array.zeroCreate layout.Count
        let uniform (start: int) (count: int) (fanIn: int) =
            let bound = 1.0 / sqrt (float (max fanIn 1))
            for j in start .. start + count - 1 do
                theta[j] <- rng.Uniform(-bound, bound)
        uniform layout.LiftWeights (c.InputCount * h) c.InputCount
        uniform layout.LiftBias h c.InputCount
        if c.SecondLinear then
            uniform layout.SecondWeights (h * h) h
            uniform layout.SecondBias h h
        for t in 0 .. c.Layers - 1 do
            let mapColumns = c.MapLearnerColumns
            uniform (layout.Learner t) (c.MapOutputs * mapColumns) mapColumns
            if c.UsesEdgeWeights then uniform (layout.Learner t + c.MapOutputs * mapColumns) (2 * h) (2 * h)
            for k in 0 .. dStalks - 1 do
                theta[layout.LeftWeights t + k * dStalks + k] <- 1.0
            let w = layout.RightWeights t
            for j in 0 .. f * f - 1 do
                theta[w + j] <- rng.Normal()
            // Modified Gram–Schmidt on the columns.
            for col in 0 .. f - 1 do
                for prev in 0 .. col - 1 do
                    let mutable dot = 0.0
                    for r in 0 .. f - 1 do
                        dot <- dot + theta[w + r * f + col] * theta[w + r * f + prev]
                    for r in 0 .. f - 1 do
                        theta[w + r * f + col] <- theta[w + r * f + col] - dot * theta[w + r * f + prev]
                let mutable norm = 0.0
                for r in 0 .. f - 1 do
                    norm <- norm + theta[w + r * f + col] * theta[w + r * f + col]
                let norm = sqrt norm
                for r in 0 .. f - 1 do
                    theta[w + r * f + col] <- theta[w + r * f + col] / norm
        uniform layout.ReadoutWeights (c.ClassCount * h) h
        uniform layout.ReadoutBias c.ClassCount h
        theta

    /// Fills mask with 0 (probability p) or 1/(1−p); all ones when p = 0 or not training.
    let private drawMask (mask: float[], p: float, training: bool, rng: Rng) =
        if not training || p = 0.0 then Array.Fill(mask, 1.0)
        else
            let keep = 1.0 / (1.0 - p)
            for j in 0 .. mask.Length - 1 do
                mask[j] <- if rng.NextDouble() < p then 0.0 else keep

    /// <summary>Layer t's learner as the standard rows×2H matrix [V_a | V_b]: the stored parameters, or for the
    /// variant learner its expansion V'[r, j] = V[r, j mod 2f].</summary>
    /// <remarks>The variant sums the D pieces of length 2f of z = [x_v ‖ x_u] into s, so V s = Σ_k V z[2fk ..]
    /// = V' z with V' the row-wise tiling of V; the standard code path then computes it exactly. The expansion
    /// lives in the layer cache, where the backward pass reuses it.</remarks>
    let learnerMatrix (model: NsdModel, theta: float[], t: int) : ReadOnlySpan<float> =
        let c = model.Config
        let h = c.Width
        let rows = c.LearnerRows
        let start = model.Layout.Learner t
        if not c.SparseLearner then ReadOnlySpan<float>(theta, start, rows * 2 * h)
        else
            let expanded = model.Layers[t].ExpandedLearner
            let piece = 2 * c.Hidden
            for r in 0 .. c.MapOutputs - 1 do
                let source = ReadOnlySpan<float>(theta, start + r * piece, piece)
                for k in 0 .. c.Stalks - 1 do
                    source.CopyTo(Span<float>(expanded, r * 2 * h + k * piece, piece))
            if c.UsesEdgeWeights then
                Array.blit theta (start + c.MapOutputs * piece) expanded (c.MapOutputs * 2 * h) (2 * h)
            ReadOnlySpan<float>(expanded)

    /// Learner outputs for every incidence from the layer's learner input, then the maps and Δ_t.
    let private buildLaplacian (model: NsdModel, theta: float[], t: int) =
        let c = model.Config
        let cache = model.Layers[t]
        let topology = model.Topology
        let n = topology.NodeCount
        let h = c.Width
        let d = c.StalkDim
        let rows = c.LearnerRows
        let edges2 = 2 * topology.EdgeCount
        if c.Family = NsdFamily.Identity then
            Array.Fill(cache.Diagonal.Maps, 1.0)
            cache.Diagonal.Refresh()
        else
            let v = learnerMatrix (model, theta, t)
            let x = ReadOnlySpan<float>(cache.LearnerInput)
            let terms = Span<float>(cache.NodeTerms)
            // V z = V_a x_v + V_b x_u: two n×rows products instead of one per directed edge.
            Gemm.multiplyTransposeB (n, rows, h, x, h, v, 2 * h, terms.Slice(0, n * rows), rows, false)
            Gemm.multiplyTransposeB (n, rows, h, x, h, v.Slice(h), 2 * h, terms.Slice(n * rows, n * rows), rows, false)
            let outputs = cache.Outputs
            let mapRows = c.MapOutputs
            for i in 0 .. edges2 - 1 do
                let a = topology.IncidenceVertex[i] * rows
                let b = n * rows + topology.IncidenceNeighbour[i] * rows
                for r in 0 .. rows - 1 do
                    let pre = terms[a + r] + terms[b + r]
                    outputs[i * rows + r] <- if r < mapRows then Math.Tanh pre else sigmoid pre
            match c.Family with
            | NsdFamily.Diagonal ->
                let maps = cache.Diagonal.Maps
                for i in 0 .. edges2 - 1 do
                    for k in 0 .. d - 1 do
                        maps[i * d + k] <- outputs[i * rows + k]
                cache.Diagonal.Refresh()
            | NsdFamily.General ->
                let maps = cache.Block.Maps
                for i in 0 .. edges2 - 1 do
                    for k in 0 .. d * d - 1 do
                        maps[i * d * d + k] <- outputs[i * rows + k]
                cache.Block.Refresh()
            | _ ->
                let dd = d * d
                let maps = cache.Block.Maps
                let work = Array.zeroCreate<float> d
                for e in 0 .. topology.EdgeCount - 1 do
                    // w_e = w̃(s,t)·w̃(t,s): symmetric, so both sides of the edge share it.
                    cache.EdgeWeights[e] <-
                        if c.UsesEdgeWeights then outputs[2 * e * rows + mapRows] * outputs[(2 * e + 1) * rows + mapRows]
                        else 1.0
                for i in 0 .. edges2 - 1 do
                    let q = Span<float>(cache.Orthogonal, i * dd, dd)
                    NsdMaps.householder (ReadOnlySpan<float>(outputs, i * rows, mapRows), d, q, Span work)
                    // The maps w·Q stay readable in the engine sheaf; Δ itself comes from the closed form.
                    TensorPrimitives.Multiply(ro q, cache.EdgeWeights[i / 2], Span<float>(maps, i * dd, dd))
                cache.Block.RefreshOrthogonal(cache.EdgeWeights, cache.Orthogonal)

    /// Y = Δ_t·Z for all D coordinates (learned blocks, then the fixed channels).
    let applyLaplacian (model: NsdModel, t: int, z: ReadOnlySpan<float>, y: Span<float>) =
        let c = model.Config
        let cache = model.Layers[t]
        let stalks = c.Stalks
        let f = c.Hidden
        if isNull cache.Block then NsdLaplacian.applyDiagonal (cache.Diagonal, stalks, f, z, y)
        else NsdLaplacian.applyBlock (cache.Block, stalks, f, z, y)
        let mutable k = c.StalkDim
        if c.LowPass then
            NsdLaplacian.applyFixed (model.Topology, k, 1.0, stalks, f, z, y)
            k <- k + 1
        if c.HighPass then NsdLaplacian.applyFixed (model.Topology, k, -1.0, stalks, f, z, y)

    /// <summary>Runs the model; leaves logits (n×C) in <c>model.Logits</c> and every intermediate in the caches.</summary>
    /// <param name="model">Model and caches.</param>
    /// <param name="theta">Parameters (layout of <c>model.Layout</c>).</param>
    /// <param name="training">Dropout on (masks drawn from rng) or off (evaluation).</param>
    /// <param name="rng">Source of the dropout masks.</param>
    let run (model: NsdModel, theta: float[], training: bool, rng: Rng) =
        let c = model.Config
        let layout = model.Layout
        let g = model.Graph
        let n = g.NodeCount
        let h = c.Width
        let f = c.Hidden
        let stalks = c.Stalks
        Guard.length (nameof theta) layout.Count theta.Length
        // Lift: a = Drop_in(X) W_inᵀ + b_in over the sparse rows, then ELU and dropout.
        drawMask (model.InputMask, c.InputDropout, training, rng)
        let pre = model.LiftPre
        let weights = ReadOnlySpan<float>(theta, layout.LiftWeights, c.InputCount * h)
        let bias = ReadOnlySpan<float>(theta, layout.LiftBias, h)
        for v in 0 .. n - 1 do
            let row = Span<float>(pre, v * h, h)
            bias.CopyTo row
            for k in g.FeatureRowPointers[v] .. g.FeatureRowPointers[v + 1] - 1 do
                let x = model.Features[k] * model.InputMask[k]
                if x <> 0.0 then TensorPrimitives.MultiplyAdd(weights.Slice(g.FeatureColumns[k] * h, h), x, ro row, row)
        drawMask (model.LiftMask, c.Dropout, training, rng)
        let lifted = model.LiftOut
        for j in 0 .. pre.Length - 1 do
            lifted[j] <- elu pre[j] * model.LiftMask[j]
        let x0 = model.Layers |> Array.tryHead |> Option.map (fun l -> l.State) |> Option.defaultValue model.Final
        if c.SecondLinear then
            Gemm.multiplyTransposeB (n, h, h, ReadOnlySpan lifted, h, ReadOnlySpan<float>(theta, layout.SecondWeights, h * h), h, Span x0, h, false)
            let b12 = ReadOnlySpan<float>(theta, layout.SecondBias, h)
            for v in 0 .. n - 1 do
                let row = Span<float>(x0, v * h, h)
                TensorPrimitives.Add(ro row, b12, row)
        else Array.blit lifted 0 x0 0 lifted.Length
        for t in 0 .. c.Layers - 1 do
            let cache = model.Layers[t]
            let x = cache.State
            cache.LearnerDropped <- not (t = 0 || not training || c.Dropout = 0.0)
            if not cache.LearnerDropped then Array.blit x 0 cache.LearnerInput 0 x.Length
            else
                drawMask (cache.LearnerMask, c.Dropout, true, rng)
                TensorPrimitives.Multiply(ReadOnlySpan x, ReadOnlySpan cache.LearnerMask, Span cache.LearnerInput)
            buildLaplacian (model, theta, t)
            drawMask (cache.DropMask, c.Dropout, training, rng)
            TensorPrimitives.Multiply(ReadOnlySpan x, ReadOnlySpan cache.DropMask, Span cache.Z0)
            // Z1 = (I_n ⊗ W1) Z0: each node's D×f block is multiplied on the left by W1.
            let w1 = ReadOnlySpan<float>(theta, layout.LeftWeights t, stalks * stalks)
            for v in 0 .. n - 1 do
                NsdKernels.leftMultiply (stalks, w1, false, f, ReadOnlySpan<float>(cache.Z0, v * h, h), Span<float>(cache.Z1, v * h, h))
            Gemm.multiplyTransposeB (n * stalks, f, f, ReadOnlySpan cache.Z1, f, ReadOnlySpan<float>(theta, layout.RightWeights t, f * f), f, Span cache.Z2, f, false)
            applyLaplacian (model, t, ReadOnlySpan cache.Z2, Span cache.Y)
            let next = if t + 1 < c.Layers then model.Layers[t + 1].State else model.Final
            let eps = layout.Epsilon t
            for k in 0 .. stalks - 1 do
                model.EpsilonScale[k] <- 1.0 + Math.Tanh theta[eps + k]
            for v in 0 .. n - 1 do
                for k in 0 .. stalks - 1 do
                    let scale = model.EpsilonScale[k]
                    let start = (v * stalks + k) * f
                    for j in start .. start + f - 1 do
                        next[j] <- scale * x[j] - elu cache.Y[j]
        Gemm.multiplyTransposeB (n, c.ClassCount, h, ReadOnlySpan model.Final, h, ReadOnlySpan<float>(theta, layout.ReadoutWeights, c.ClassCount * h), h, Span model.Logits, c.ClassCount, false)
        let bOut = ReadOnlySpan<float>(theta, layout.ReadoutBias, c.ClassCount)
        for v in 0 .. n - 1 do
            let row = Span<float>(model.Logits, v * c.ClassCount, c.ClassCount)
            TensorPrimitives.Add(ro row, bOut, row)
