namespace SheafCore.Numerics

open System

/// How a restriction map F_{v⊴e} : R^{d_v} → R^{d_e} is stored and applied.
type internal RestrictionFamily =
    /// Any d_e × d_v matrix, stored row-major.
    | Dense = 0
    /// A d × d diagonal matrix (d_e = d_v), stored as its d diagonal entries.
    | Diagonal = 1
    /// A d × d orthogonal matrix (QᵀQ = I, d_e = d_v), stored row-major; checked on every write.
    | Orthogonal = 2
    /// The d × d identity (d_e = d_v); stores nothing.
    | Identity = 3

/// A cellular sheaf on a finite graph, stored as flat arrays (structure of arrays).
///
/// Vertex v has a stalk R^{VertexDims[v]} (dimension 0 allowed) occupying entries
/// [VertexOffsets[v], VertexOffsets[v+1]) of a 0-cochain. Edge e = (EdgeSources[e] → EdgeTargets[e]) has
/// a stalk R^{EdgeDims[e]} occupying [EdgeOffsets[e], EdgeOffsets[e+1]) of a 1-cochain. Each edge has two
/// incidences: number 2e is the source (tail) side, 2e+1 the target (head) side; incidence i has the
/// restriction map of family Families[i] whose values are MapValues[MapOffsets[i] .. MapOffsets[i+1]).
/// The coboundary is (δx)_e = F_{target⊴e} x_target − F_{source⊴e} x_source.
///
/// Topology and map sizes are fixed at construction; map values can be rewritten in place (SetMap).
[<Sealed; AllowNullLiteral>]
type internal CellularSheaf
    private
    (
        vertexDims: int[],
        vertexOffsets: int[],
        sources: int[],
        targets: int[],
        edgeDims: int[],
        edgeOffsets: int[],
        families: RestrictionFamily[],
        mapOffsets: int[],
        mapValues: float[]
    ) =

    static let prefix (dims: int[]) =
        let o = Array.zeroCreate (dims.Length + 1)
        for i in 0 .. dims.Length - 1 do
            o[i + 1] <- o[i] + dims[i]
        o

    /// Number of stored values of a map of the given family and shape.
    static member StoredLength(family: RestrictionFamily, edgeDim: int, vertexDim: int) =
        match family with
        | RestrictionFamily.Dense
        | RestrictionFamily.Orthogonal -> edgeDim * vertexDim
        | RestrictionFamily.Diagonal -> edgeDim
        | RestrictionFamily.Identity -> 0
        | _ -> invalidArg (nameof family) "Unknown restriction family."

    /// Checks that `values` is a valid map of the family: right length, finite, orthogonal when required.
    static member ValidateMap(name: string, family: RestrictionFamily, edgeDim: int, vertexDim: int, values: ReadOnlySpan<float>) =
        match family with
        | RestrictionFamily.Diagonal
        | RestrictionFamily.Orthogonal
        | RestrictionFamily.Identity when edgeDim <> vertexDim ->
            invalidArg
                name
                (sprintf "A %A map needs equal edge and vertex stalk dimensions (got %d and %d)." family edgeDim vertexDim)
        | _ -> ()
        Guard.length name (CellularSheaf.StoredLength(family, edgeDim, vertexDim)) values.Length
        Guard.finite name values
        if family = RestrictionFamily.Orthogonal then
            let d = edgeDim
            for i in 0 .. d - 1 do
                for j in i .. d - 1 do
                    // (QᵀQ)_ij = Σ_r Q_ri Q_rj
                    let mutable acc = 0.0
                    for r in 0 .. d - 1 do
                        acc <- acc + values[r * d + i] * values[r * d + j]
                    let expected = if i = j then 1.0 else 0.0
                    if abs (acc - expected) > 1e-10 * float (max d 1) then
                        invalidArg name (sprintf "The map is not orthogonal: (QᵀQ)[%d,%d] = %g." i j acc)

    /// Builds a sheaf. maps[2e] is the source-side map of edge e, maps[2e+1] the target side.
    static member Create
        (vertexDims: int[], sources: int[], targets: int[], edgeDims: int[], families: RestrictionFamily[], maps: float[][])
        =
        if isNull vertexDims then nullArg (nameof vertexDims)
        if isNull sources then nullArg (nameof sources)
        if isNull targets then nullArg (nameof targets)
        if isNull edgeDims then nullArg (nameof edgeDims)
        if isNull families then nullArg (nameof families)
        if isNull maps then nullArg (nameof maps)
        let v = vertexDims.Length
        let e = sources.Length
        Guard.length (nameof targets) e targets.Length
        Guard.length (nameof edgeDims) e edgeDims.Length
        Guard.length (nameof families) (2 * e) families.Length
        Guard.length (nameof maps) (2 * e) maps.Length
        for i in 0 .. v - 1 do
            if vertexDims[i] < 0 then invalidArg (nameof vertexDims) (sprintf "Vertex %d has a negative stalk dimension." i)
        for i in 0 .. e - 1 do
            Guard.index (nameof sources) v sources[i]
            Guard.index (nameof targets) v targets[i]
            if sources[i] = targets[i] then
                invalidArg (nameof sources) (sprintf "Edge %d is a self-loop at vertex %d; self-loops are not allowed." i sources[i])
            if edgeDims[i] < 0 then invalidArg (nameof edgeDims) (sprintf "Edge %d has a negative stalk dimension." i)
        let mapOffsets = Array.zeroCreate (2 * e + 1)
        for i in 0 .. 2 * e - 1 do
            let edge = i / 2
            let vertex = if i % 2 = 0 then sources[edge] else targets[edge]
            let m = if isNull maps[i] then Array.empty else maps[i]
            CellularSheaf.ValidateMap(sprintf "maps[%d]" i, families[i], edgeDims[edge], vertexDims[vertex], ReadOnlySpan m)
            mapOffsets[i + 1] <- mapOffsets[i] + m.Length
        let values = Array.zeroCreate mapOffsets[2 * e]
        for i in 0 .. 2 * e - 1 do
            if not (isNull maps[i]) then Array.blit maps[i] 0 values mapOffsets[i] maps[i].Length
        CellularSheaf(
            Array.copy vertexDims,
            prefix vertexDims,
            Array.copy sources,
            Array.copy targets,
            Array.copy edgeDims,
            prefix edgeDims,
            Array.copy families,
            mapOffsets,
            values
        )

    member _.VertexCount = vertexDims.Length
    member _.EdgeCount = sources.Length
    member _.VertexDims = vertexDims
    member _.VertexOffsets = vertexOffsets
    member _.EdgeSources = sources
    member _.EdgeTargets = targets
    member _.EdgeDims = edgeDims
    member _.EdgeOffsets = edgeOffsets
    member _.Families = families
    member _.MapOffsets = mapOffsets
    member _.MapValues = mapValues
    /// d when every map is Dense d×d between d-dimensional stalks (then map i sits at MapValues[i·d²]), else −1.
    member val UniformDenseDimension =
        if vertexDims.Length = 0 then -1
        else
            let d = vertexDims[0]
            if Array.forall ((=) d) vertexDims && Array.forall ((=) d) edgeDims
               && Array.forall ((=) RestrictionFamily.Dense) families then d
            else -1
    /// Dimension of the 0-cochain space C⁰ = ⊕_v F(v).
    member _.VertexCochainDim = vertexOffsets[vertexDims.Length]
    /// Dimension of the 1-cochain space C¹ = ⊕_e F(e).
    member _.EdgeCochainDim = edgeOffsets[sources.Length]

    /// Vertex at incidence i (2e → source of e, 2e+1 → target of e).
    member _.IncidenceVertex(i: int) = if i % 2 = 0 then sources[i / 2] else targets[i / 2]

    /// Entry (r, c) of the map at incidence i, whatever its family.
    member this.MapEntry(i: int, r: int, c: int) : float =
        let off = mapOffsets[i]
        match families[i] with
        | RestrictionFamily.Dense
        | RestrictionFamily.Orthogonal -> mapValues[off + r * vertexDims[this.IncidenceVertex i] + c]
        | RestrictionFamily.Diagonal -> if r = c then mapValues[off + r] else 0.0
        | _ -> if r = c then 1.0 else 0.0

    /// Overwrites the values of the map at incidence i in place (no allocation); the family and shape stay.
    member this.SetMap(i: int, values: ReadOnlySpan<float>) =
        Guard.index "incidence" (2 * sources.Length) i
        let e = i / 2
        CellularSheaf.ValidateMap(nameof values, families[i], edgeDims[e], vertexDims[this.IncidenceVertex i], values)
        values.CopyTo(Span<float>(mapValues, mapOffsets[i], mapOffsets[i + 1] - mapOffsets[i]))
