namespace SheafCore.Numerics

open System

/// What a trained NSD model predicts, and how its learned restriction maps relate the two ends of each edge.
[<RequireQualifiedAccess>]
module internal NsdInspection =

    /// Class probabilities (n×C, row-major): the evaluation-mode forward pass (no dropout), then a softmax.
    let probabilities (model: NsdModel, theta: float[]) : float[] =
        // Evaluation draws no masks, so the generator is never used.
        NsdForward.run (model, theta, false, Rng(0L))
        let classes = model.Config.ClassCount
        let p = Array.copy model.Logits
        for v in 0 .. model.Graph.NodeCount - 1 do
            let row = Span<float>(p, v * classes, classes)
            let mutable top = row[0]
            for k in 1 .. classes - 1 do
                top <- max top row[k]
            let mutable sum = 0.0
            for k in 0 .. classes - 1 do
                row[k] <- Math.Exp(row[k] - top)
                sum <- sum + row[k]
            for k in 0 .. classes - 1 do
                row[k] <- row[k] / sum
        p

    /// <summary>Per edge e = {s, t}: ⟨F_s, F_t⟩_F / (‖F_s‖_F‖F_t‖_F), the cosine between the two learned restriction
    /// maps of the edge in layer t (0 when one map is zero).</summary>
    /// <remarks>It lies in [−1, 1]. +1 means the maps agree up to a positive scale, so a signal equal at both ends
    /// lands on the same direction of the edge stalk (the transport pulls the two features together, as on a
    /// homophilous edge); −1 means they are opposite and the edge pushes the two ends apart. By polarisation it is
    /// (‖F_s‖² + ‖F_t‖² − ‖F_s − F_t‖²)/(2‖F_s‖‖F_t‖), and ‖F_s − F_t‖² is the discord of the constant 0-cochains
    /// e_k, summed over k. Only the d learned coordinates count; the fixed lp/hp channels are the same on every
    /// edge. Reads the maps of the last forward pass.</remarks>
    let layerAlignment (model: NsdModel, t: int) : float[] =
        let c = model.Config
        let cache = model.Layers[t]
        let d = c.StalkDim
        // Diag and the control store the d diagonal entries per incidence; O(d) (w·Q) and Gen a d×d block.
        let size, maps = if isNull cache.Block then d, cache.Diagonal.Maps else d * d, cache.Block.Maps
        Array.init model.Topology.EdgeCount (fun e ->
            let fs = ReadOnlySpan<float>(maps, 2 * e * size, size)
            let ft = ReadOnlySpan<float>(maps, (2 * e + 1) * size, size)
            let mutable dot = 0.0
            let mutable ss = 0.0
            let mutable tt = 0.0
            for j in 0 .. size - 1 do
                dot <- dot + fs[j] * ft[j]
                ss <- ss + fs[j] * fs[j]
                tt <- tt + ft[j] * ft[j]
            // √(ss·tt) rather than √ss·√tt: equal maps then give exactly 1. The clamp only removes rounding
            // (parallel maps, e.g. every d = 1 edge, can land an ulp outside [−1, 1]).
            if ss = 0.0 || tt = 0.0 then 0.0 else Math.Clamp(dot / sqrt (ss * tt), -1.0, 1.0))

    /// Every layer's edge alignment (layerAlignment) after one evaluation-mode forward pass with theta.
    let alignment (model: NsdModel, theta: float[]) : float[][] =
        NsdForward.run (model, theta, false, Rng(0L))
        Array.init model.Config.Layers (fun t -> layerAlignment (model, t))
