namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// The sheaf coboundary δ : C⁰ → C¹, (δx)_e = F_{target⊴e}·x_target − F_{source⊴e}·x_source,
/// and its adjoint δᵀ : C¹ → C⁰, (δᵀy)_v = Σ_{e: v = target} F_{v⊴e}ᵀ y_e − Σ_{e: v = source} F_{v⊴e}ᵀ y_e.
[<RequireQualifiedAccess>]
module internal Coboundary =

    /// Span → ReadOnlySpan view, spelled out because F# does not apply the implicit conversion to the
    /// generic TensorPrimitives parameters.
    let inline private ro (s: Span<float>) : ReadOnlySpan<float> = Span<float>.op_Implicit s

    let private validateApply (sheaf: CellularSheaf, xLength: int, destinationLength: int) =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.length "x" sheaf.VertexCochainDim xLength
        Guard.atLeast "destination" sheaf.EdgeCochainDim destinationLength

    let private validateTranspose (sheaf: CellularSheaf, yLength: int, destinationLength: int) =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.length "y" sheaf.EdgeCochainDim yLength
        Guard.atLeast "destination" sheaf.VertexCochainDim destinationLength

    /// <summary>Scalar reference for <c>destination = δ·x</c> (plain loops through <c>MapEntry</c>).</summary>
    let applyReference (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateApply (sheaf, x.Length, destination.Length)
        for e in 0 .. sheaf.EdgeCount - 1 do
            let s = sheaf.EdgeSources[e]
            let t = sheaf.EdgeTargets[e]
            let xs = sheaf.VertexOffsets[s]
            let xt = sheaf.VertexOffsets[t]
            for r in 0 .. sheaf.EdgeDims[e] - 1 do
                let mutable acc = 0.0
                for c in 0 .. sheaf.VertexDims[t] - 1 do
                    acc <- acc + sheaf.MapEntry(2 * e + 1, r, c) * x[xt + c]
                for c in 0 .. sheaf.VertexDims[s] - 1 do
                    acc <- acc - sheaf.MapEntry(2 * e, r, c) * x[xs + c]
                destination[sheaf.EdgeOffsets[e] + r] <- acc

    /// <summary>Computes <c>destination = δ·x</c>, the coboundary of a 0-cochain.</summary>
    /// <param name="sheaf">The sheaf.</param>
    /// <param name="x">0-cochain, length C⁰ = VertexCochainDim.</param>
    /// <param name="destination">Output 1-cochain, length ≥ C¹ = EdgeCochainDim; the first C¹ entries are
    /// written. Must not overlap <paramref name="x"/>.</param>
    /// <exception cref="System.ArgumentException">Lengths mismatch or destination too short.</exception>
    /// <remarks>Family-specialised, no allocation: dense/orthogonal rows use <c>TensorPrimitives.Dot</c>;
    /// diagonal maps <c>Multiply</c>/<c>MultiplyAdd</c>; identity maps a copy or <c>Subtract</c>.
    /// The source term is written first and the target term combined into it, so every entry is
    /// written exactly once per side and no scratch is needed.</remarks>
    let apply (sheaf: CellularSheaf, x: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateApply (sheaf, x.Length, destination.Length)
        let values = ReadOnlySpan<float>(sheaf.MapValues)
        for e in 0 .. sheaf.EdgeCount - 1 do
            let de = sheaf.EdgeDims[e]
            let out = destination.Slice(sheaf.EdgeOffsets[e], de)
            let s = sheaf.EdgeSources[e]
            let t = sheaf.EdgeTargets[e]
            let ds = sheaf.VertexDims[s]
            let dt = sheaf.VertexDims[t]
            let xs = x.Slice(sheaf.VertexOffsets[s], ds)
            let xt = x.Slice(sheaf.VertexOffsets[t], dt)
            let ms = sheaf.MapOffsets[2 * e]
            let mt = sheaf.MapOffsets[2 * e + 1]
            // out = F_s·x_s
            match sheaf.Families[2 * e] with
            | RestrictionFamily.Diagonal -> TensorPrimitives.Multiply(values.Slice(ms, de), xs, out)
            | RestrictionFamily.Identity -> xs.CopyTo out
            | _ ->
                for r in 0 .. de - 1 do
                    out[r] <- TensorPrimitives.Dot(values.Slice(ms + r * ds, ds), xs)
            // out = F_t·x_t − out
            match sheaf.Families[2 * e + 1] with
            | RestrictionFamily.Diagonal ->
                TensorPrimitives.Negate(ro out, out)
                TensorPrimitives.MultiplyAdd(values.Slice(mt, de), xt, ro out, out)
            | RestrictionFamily.Identity -> TensorPrimitives.Subtract(xt, ro out, out)
            | _ ->
                for r in 0 .. de - 1 do
                    out[r] <- TensorPrimitives.Dot(values.Slice(mt + r * dt, dt), xt) - out[r]

    /// <summary>Scalar reference for <c>destination = δᵀ·y</c>.</summary>
    let applyTransposeReference (sheaf: CellularSheaf, y: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateTranspose (sheaf, y.Length, destination.Length)
        destination.Slice(0, sheaf.VertexCochainDim).Clear()
        for e in 0 .. sheaf.EdgeCount - 1 do
            let ye = sheaf.EdgeOffsets[e]
            for side in 0 .. 1 do
                let i = 2 * e + side
                let v = sheaf.IncidenceVertex i
                let sign = if side = 0 then -1.0 else 1.0
                let xv = sheaf.VertexOffsets[v]
                for c in 0 .. sheaf.VertexDims[v] - 1 do
                    let mutable acc = 0.0
                    for r in 0 .. sheaf.EdgeDims[e] - 1 do
                        acc <- acc + sheaf.MapEntry(i, r, c) * y[ye + r]
                    destination[xv + c] <- destination[xv + c] + sign * acc

    /// <summary>Computes <c>destination = δᵀ·y</c>, the adjoint of the coboundary.</summary>
    /// <param name="sheaf">The sheaf.</param>
    /// <param name="y">1-cochain, length C¹.</param>
    /// <param name="destination">Output 0-cochain, length ≥ C⁰ (first C⁰ entries written); must not
    /// overlap <paramref name="y"/>.</param>
    /// <exception cref="System.ArgumentException">Lengths mismatch or destination too short.</exception>
    /// <remarks>Scatter over edges: dense/orthogonal maps add Fᵀy_e as a sum of scaled rows
    /// (<c>TensorPrimitives.MultiplyAdd</c>, an axpy per row); diagonal and identity maps use
    /// <c>MultiplyAdd</c>/<c>Add</c>/<c>Subtract</c>. The negated diagonal case (source side) has no
    /// fused primitive, so it is a short scalar loop rather than two passes.</remarks>
    let applyTranspose (sheaf: CellularSheaf, y: ReadOnlySpan<float>, destination: Span<float>) : unit =
        validateTranspose (sheaf, y.Length, destination.Length)
        destination.Slice(0, sheaf.VertexCochainDim).Clear()
        let values = ReadOnlySpan<float>(sheaf.MapValues)
        for e in 0 .. sheaf.EdgeCount - 1 do
            let de = sheaf.EdgeDims[e]
            let ye = y.Slice(sheaf.EdgeOffsets[e], de)
            for side in 0 .. 1 do
                let i = 2 * e + side
                let v = sheaf.IncidenceVertex i
                let dv = sheaf.VertexDims[v]
                let out = destination.Slice(sheaf.VertexOffsets[v], dv)
                let m = sheaf.MapOffsets[i]
                let positive = side = 1 // target side adds, source side subtracts
                match sheaf.Families[i] with
                | RestrictionFamily.Identity ->
                    if positive then TensorPrimitives.Add(ro out, ye, out)
                    else TensorPrimitives.Subtract(ro out, ye, out)
                | RestrictionFamily.Diagonal ->
                    if positive then
                        TensorPrimitives.MultiplyAdd(values.Slice(m, de), ye, ro out, out)
                    else
                        for k in 0 .. de - 1 do
                            out[k] <- out[k] - values[m + k] * ye[k]
                | _ ->
                    let sign = if positive then 1.0 else -1.0
                    for r in 0 .. de - 1 do
                        TensorPrimitives.MultiplyAdd(values.Slice(m + r * dv, dv), sign * ye[r], ro out, out)

    /// <summary>The coboundary as a dense C¹×C⁰ matrix (for references and small dense solves).</summary>
    let toDense (sheaf: CellularSheaf) : DenseMatrix =
        if isNull sheaf then nullArg (nameof sheaf)
        let d = DenseMatrix(sheaf.EdgeCochainDim, sheaf.VertexCochainDim)
        for e in 0 .. sheaf.EdgeCount - 1 do
            for side in 0 .. 1 do
                let i = 2 * e + side
                let v = sheaf.IncidenceVertex i
                let sign = if side = 0 then -1.0 else 1.0
                for r in 0 .. sheaf.EdgeDims[e] - 1 do
                    for c in 0 .. sheaf.VertexDims[v] - 1 do
                        let row = sheaf.EdgeOffsets[e] + r
                        let col = sheaf.VertexOffsets[v] + c
                        d[row, col] <- d[row, col] + sign * sheaf.MapEntry(i, r, c)
        d
