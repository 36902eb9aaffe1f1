namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Dirichlet energy and edge discrepancies of a 0-cochain: how far x is from a global section.
[<RequireQualifiedAccess>]
module internal SheafEnergy =

    /// <summary>The discrepancy vectors (δx)_e = F_{t⊴e}x_t − F_{s⊴e}x_s for every edge, i.e. δx.</summary>
    /// <param name="sheaf">The sheaf.</param>
    /// <param name="x">0-cochain, length C⁰.</param>
    /// <param name="destination">Output, length ≥ C¹; edge e occupies [EdgeOffsets[e], EdgeOffsets[e+1]).</param>
    let discrepancies (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        Coboundary.apply (sheaf, x, destination)

    /// <summary>Dirichlet energy E(x) = ½‖δx‖² = ½·xᵀLx.</summary>
    /// <param name="sheaf">The sheaf.</param>
    /// <param name="x">0-cochain, length C⁰, finite.</param>
    /// <param name="workspace">Scratch for δx, length ≥ C¹ (overwritten with δx).</param>
    /// <returns>The energy, ≥ 0; zero exactly on global sections.</returns>
    let dirichletEnergy (sheaf: CellularSheaf, x: ReadOnlySpan<float>, workspace: Span<float>) : float =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.atLeast (nameof workspace) sheaf.EdgeCochainDim workspace.Length
        let w = workspace.Slice(0, sheaf.EdgeCochainDim)
        Coboundary.apply (sheaf, x, w)
        0.5 * TensorPrimitives.SumOfSquares(Span<float>.op_Implicit w : ReadOnlySpan<float>)

    /// <summary>Per-edge squared discrepancy norms destination[e] = ‖F_{t⊴e}x_t − F_{s⊴e}x_s‖².</summary>
    /// <param name="sheaf">The sheaf.</param>
    /// <param name="x">0-cochain, length C⁰.</param>
    /// <param name="destination">Output, length ≥ EdgeCount.</param>
    /// <remarks>Computed row by row without scratch (dense rows by <c>TensorPrimitives.Dot</c>), so
    /// Σ_e destination[e] = 2·E(x). No allocation.</remarks>
    let edgeDiscrepancies (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.length (nameof x) sheaf.VertexCochainDim x.Length
        Guard.atLeast (nameof destination) sheaf.EdgeCount destination.Length
        let values = ReadOnlySpan<float>(sheaf.MapValues)
        for e in 0 .. sheaf.EdgeCount - 1 do
            let s = sheaf.EdgeSources[e]
            let t = sheaf.EdgeTargets[e]
            let ds = sheaf.VertexDims[s]
            let dt = sheaf.VertexDims[t]
            let xs = x.Slice(sheaf.VertexOffsets[s], ds)
            let xt = x.Slice(sheaf.VertexOffsets[t], dt)
            let ms = sheaf.MapOffsets[2 * e]
            let mt = sheaf.MapOffsets[2 * e + 1]
            let familyS = sheaf.Families[2 * e]
            let familyT = sheaf.Families[2 * e + 1]
            let mutable sum = 0.0
            for r in 0 .. sheaf.EdgeDims[e] - 1 do
                let source =
                    match familyS with
                    | RestrictionFamily.Identity -> xs[r]
                    | RestrictionFamily.Diagonal -> values[ms + r] * xs[r]
                    | _ -> TensorPrimitives.Dot(values.Slice(ms + r * ds, ds), xs)
                let target =
                    match familyT with
                    | RestrictionFamily.Identity -> xt[r]
                    | RestrictionFamily.Diagonal -> values[mt + r] * xt[r]
                    | _ -> TensorPrimitives.Dot(values.Slice(mt + r * dt, dt), xt)
                let diff = target - source
                sum <- sum + diff * diff
            destination[e] <- sum
