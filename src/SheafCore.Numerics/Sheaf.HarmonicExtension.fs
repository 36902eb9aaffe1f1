namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// Which solver produced a harmonic extension.
type internal HarmonicExtensionMethod =
    /// Dense pivoted LDLᵀ of L_II: rank, nullity and null space are known.
    | DenseLdlt = 0
    /// Matrix-free Jacobi-preconditioned conjugate gradients: uniqueness usually unknown.
    | ConjugateGradient = 1
    /// Sparse LDLᵀ of L_II (minimum-degree order, dense trailing block): succeeded, so L_II is non-singular.
    | SparseLdlt = 2

/// What is known about the uniqueness of a harmonic extension.
type internal HarmonicExtensionUniqueness =
    /// L_II is non-singular (dense method, nullity 0), or there are no interior coordinates.
    | Unique = 0
    /// L_II is singular: Solution + any combination of the null-space vectors also solves the problem.
    | NotUnique = 1
    /// Not determined (CG found no structural defect, but it cannot certify non-singularity).
    | Unknown = 2

/// <summary>A pinned (Dirichlet) harmonic extension: x with x_B given and L_II·x_I + L_IB·x_B = 0.</summary>
type internal HarmonicExtensionResult =
    { Method: HarmonicExtensionMethod
      /// Full C⁰ vector: boundary coordinates hold the given values, interior coordinates the solution.
      Solution: float[]
      Uniqueness: HarmonicExtensionUniqueness
      /// Numerical rank of L_II (dense method); −1 when unknown (CG).
      Rank: int
      /// Numerical nullity of L_II (dense method); −1 when unknown (CG).
      Nullity: int
      /// C⁰ × k, columns zero on the boundary. Dense: an orthonormal basis of ker L_II (k = Nullity).
      /// CG: only the structurally detected kernel vectors (unit vectors of interior coordinates with
      /// L_ii = 0), possibly incomplete.
      NullSpaceBasis: DenseMatrix
      /// Number of interior (unknown) coordinates.
      InteriorCount: int
      /// ‖L_II·x_I + L_IB·x_B‖₂ recomputed with the sparse Laplacian.
      ResidualNorm: float
      /// ResidualNorm / ‖L_IB·x_B‖₂ (ResidualNorm itself when the right-hand side is zero).
      RelativeResidual: float
      /// Dense: true. CG: whether the tolerance was met.
      Converged: bool
      /// Dense: 0. CG: the number of iterations.
      Iterations: int }

/// H⁰ = ker δ = ker L, the space of global sections.
type internal GlobalSections =
    { /// dim H⁰: the number of eigenvalues of L at most Tolerance.
      Dimension: int
      /// C⁰ × Dimension, orthonormal columns spanning H⁰ (eigenvectors of L).
      Basis: DenseMatrix
      /// All eigenvalues of L, ascending.
      Eigenvalues: float[]
      /// Absolute eigenvalue threshold used: relativeTolerance · λ_max.
      Tolerance: float }

/// The interior block of L as an operator: v_I ↦ (L·[v_I; 0])_I, applied through the sparse Laplacian.
[<Sealed>]
type internal InteriorLaplacianOperator(laplacian: SheafLaplacianMatrix, interior: int[]) =
    // Boundary entries of `input` stay zero for the operator's lifetime; only interior ones are written.
    let input = Array.zeroCreate<float> laplacian.Dimension
    let output = Array.zeroCreate<float> laplacian.Dimension

    interface ILinearOperator with
        member _.Dimension = interior.Length

        member _.Apply(x: ReadOnlySpan<float>, destination: Span<float>) =
            for i in 0 .. interior.Length - 1 do
                input[interior[i]] <- x[i]
            SheafLaplacian.apply (laplacian, ReadOnlySpan input, Span output)
            for i in 0 .. interior.Length - 1 do
                destination[i] <- output[interior[i]]

/// Reusable arrays of the sparse harmonic extension (grown on demand, never shrunk), so that a call allocates
/// little beyond its result; the factor's own arrays live in BlockLdltWorkspace.
[<Sealed; AllowNullLiteral>]
type internal HarmonicSparseWorkspace() =
    [<ThreadStatic; DefaultValue>]
    static val mutable private current: HarmonicSparseWorkspace
    member val Interior: int[] = [||] with get, set
    member val InteriorIndex: int[] = [||] with get, set
    member val VertexGroup: int[] = [||] with get, set
    member val GroupPointers: int[] = [||] with get, set
    member val DiagonalOffsets: int[] = [||] with get, set
    member val DiagonalValues: float[] = [||] with get, set
    member val PairRows: int[] = [||] with get, set
    member val PairColumns: int[] = [||] with get, set
    member val PairOffsets: int[] = [||] with get, set
    member val PairValues: float[] = [||] with get, set
    member val MapScratch: float[] = [||] with get, set
    member val RightHandSide: float[] = [||] with get, set
    member val InteriorSolution: float[] = [||] with get, set
    member val Work: float[] = [||] with get, set
    /// This thread's workspace.
    static member ForCurrentThread =
        if isNull HarmonicSparseWorkspace.current then HarmonicSparseWorkspace.current <- HarmonicSparseWorkspace()
        HarmonicSparseWorkspace.current

/// Harmonic extension of boundary data and global sections of a cellular sheaf.
[<RequireQualifiedAccess>]
module internal HarmonicExtension =

    /// <summary>The C⁰ coordinate indices (ascending) of the stalks of the given vertices.</summary>
    /// <exception cref="System.ArgumentOutOfRangeException">A vertex is out of range.</exception>
    let coordinatesOfVertices (sheaf: CellularSheaf, vertices: ReadOnlySpan<int>) : int[] =
        if isNull sheaf then nullArg (nameof sheaf)
        let mask = Array.zeroCreate<bool> sheaf.VertexCochainDim
        for v in vertices do
            Guard.index (nameof vertices) sheaf.VertexCount v
            for c in sheaf.VertexOffsets[v] .. sheaf.VertexOffsets[v + 1] - 1 do
                mask[c] <- true
        [| for i in 0 .. mask.Length - 1 do
               if mask[i] then yield i |]

    /// <summary>A boundary mask over C⁰ (true = pinned coordinate) from coordinate indices.</summary>
    let maskOfCoordinates (sheaf: CellularSheaf, coordinates: ReadOnlySpan<int>) : bool[] =
        if isNull sheaf then nullArg (nameof sheaf)
        let mask = Array.zeroCreate<bool> sheaf.VertexCochainDim
        for c in coordinates do
            Guard.index (nameof coordinates) sheaf.VertexCochainDim c
            mask[c] <- true
        mask

    /// Validates the inputs: writes x_B into `boundary` (zero elsewhere, length C⁰) and the interior coordinate
    /// indices, ascending, into `interior` (length ≥ C⁰); returns their count.
    let private fillBoundary
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            boundary: float[],
            interior: int[]
        ) =
        if isNull sheaf then nullArg (nameof sheaf)
        let n = sheaf.VertexCochainDim
        Guard.length (nameof boundaryMask) n boundaryMask.Length
        Guard.length (nameof boundaryValues) n boundaryValues.Length
        let mutable count = 0
        for i in 0 .. n - 1 do
            if boundaryMask[i] then
                if not (Double.IsFinite boundaryValues[i]) then
                    let message = sprintf "Boundary value at coordinate %d is %g; it must be finite." i boundaryValues[i]
                    invalidArg (nameof boundaryValues) message
                boundary[i] <- boundaryValues[i]
            else
                boundary[i] <- 0.0
                interior[count] <- i
                count <- count + 1
        count

    /// Validates the inputs and returns (interior indices, x_B embedded in a zero C⁰ vector).
    let private prepare (sheaf: CellularSheaf, boundaryMask: ReadOnlySpan<bool>, boundaryValues: ReadOnlySpan<float>) =
        if isNull sheaf then nullArg (nameof sheaf)
        let n = sheaf.VertexCochainDim
        let boundary = Array.zeroCreate<float> n
        let interior = Array.zeroCreate<int> n
        let count = fillBoundary (sheaf, boundaryMask, boundaryValues, boundary, interior)
        Array.sub interior 0 count, boundary

    /// The right-hand side −L_IB·x_B of the interior system L_II·x_I = −L_IB·x_B (boundary holds x_B, zero elsewhere).
    let private interiorRightHandSide (laplacian: SheafLaplacianMatrix, interior: int[], boundary: float[]) =
        let lb = Array.zeroCreate<float> laplacian.Dimension
        SheafLaplacian.apply (laplacian, ReadOnlySpan boundary, Span lb)
        Array.init interior.Length (fun i -> -lb[interior[i]])

    /// (‖L_II x_I + L_IB x_B‖, ‖L_IB x_B‖) for a full vector x, via the sparse Laplacian.
    let private residuals (laplacian: SheafLaplacianMatrix, interior: int[], solution: float[], boundary: float[]) =
        let n = laplacian.Dimension
        let lx = Array.zeroCreate<float> n
        let lb = Array.zeroCreate<float> n
        SheafLaplacian.apply (laplacian, ReadOnlySpan solution, Span lx)
        SheafLaplacian.apply (laplacian, ReadOnlySpan boundary, Span lb)
        let mutable r = 0.0
        let mutable b = 0.0
        for i in interior do
            r <- r + lx[i] * lx[i]
            b <- b + lb[i] * lb[i]
        sqrt r, sqrt b

    let private relative (residual: float, rhs: float) = if rhs > 0.0 then residual / rhs else residual

    /// <summary>Harmonic extension by a dense pivoted LDLᵀ of L_II (small sheaves).</summary>
    /// <param name="sheaf">Any cellular sheaf.</param>
    /// <param name="boundaryMask">Length C⁰; true marks a pinned (boundary) coordinate.</param>
    /// <param name="boundaryValues">Length C⁰; only the boundary entries are read (and must be finite);
    /// interior entries are ignored, so NaN placeholders are allowed there.</param>
    /// <param name="relativeTolerance">Pivot tolerance for the rank decision, relative to max_i (L_II)_ii
    /// (<c>DenseFactor.DefaultRelativeTolerance</c> is a good default).</param>
    /// <remarks>Solves L_II·x_I = −L_IB·x_B. This system is always consistent: if L_II z = 0 then
    /// ‖δ[z; 0]‖² = zᵀL_II z = 0, so L_BI z = 0 and the right-hand side is orthogonal to ker L_II. When
    /// Nullity &gt; 0 the returned x_I is the minimum-norm solution and every x_I + N·c also solves it.
    /// Cost O(|I|³) time and O(|I|²) memory.</remarks>
    let solveDense
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            relativeTolerance: float
        ) : HarmonicExtensionResult =
        let interior, boundary = prepare (sheaf, boundaryMask, boundaryValues)
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        let n = sheaf.VertexCochainDim
        let laplacian = SheafLaplacian.assemble sheaf
        let rhs = interiorRightHandSide (laplacian, interior, boundary)
        let lii = Dense.select (SheafLaplacian.toDense laplacian) interior interior
        let solved = DenseFactor.solveSymmetric (lii, ReadOnlySpan rhs, relativeTolerance)
        let solution = Array.copy boundary
        for i in 0 .. interior.Length - 1 do
            solution[interior[i]] <- solved.Solution[i]
        let basis = DenseMatrix(n, solved.Nullity)
        for c in 0 .. solved.Nullity - 1 do
            for i in 0 .. interior.Length - 1 do
                basis[interior[i], c] <- solved.NullSpaceBasis[i, c]
        let residual, rhsNorm = residuals (laplacian, interior, solution, boundary)
        { Method = HarmonicExtensionMethod.DenseLdlt
          Solution = solution
          Uniqueness =
            if solved.IsUnique then HarmonicExtensionUniqueness.Unique
            else HarmonicExtensionUniqueness.NotUnique
          Rank = solved.Rank
          Nullity = solved.Nullity
          NullSpaceBasis = basis
          InteriorCount = interior.Length
          ResidualNorm = residual
          RelativeResidual = relative (residual, rhsNorm)
          Converged = true
          Iterations = 0 }

    /// <summary>Harmonic extension by matrix-free Jacobi-preconditioned CG on L_II (large sheaves).</summary>
    /// <param name="sheaf">Any cellular sheaf.</param>
    /// <param name="boundaryMask">Length C⁰; true marks a pinned (boundary) coordinate.</param>
    /// <param name="boundaryValues">Length C⁰; only boundary entries are read (must be finite).</param>
    /// <param name="relativeTolerance">CG stops when ‖L_II x_I + L_IB x_B‖ ≤ relativeTolerance·‖L_IB x_B‖.</param>
    /// <param name="maximumIterations">CG iteration cap.</param>
    /// <remarks>
    /// L_II is applied as (L·[v_I; 0])_I with the sparse Laplacian; the preconditioner is 1/L_ii (0 where
    /// L_ii = 0). From x_I = 0, CG converges to the solution of minimum M-norm, M = diag(L_II).
    /// Uniqueness is reported as NotUnique when an interior coordinate has L_ii = 0 (its unit vector lies in
    /// ker L_II — a PSD matrix with a zero diagonal entry has a zero row); otherwise Unknown, because CG
    /// cannot certify that L_II is non-singular. Check Converged and RelativeResidual before using Solution.
    /// </remarks>
    let solveConjugateGradient
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            relativeTolerance: float,
            maximumIterations: int
        ) : HarmonicExtensionResult =
        let interior, boundary = prepare (sheaf, boundaryMask, boundaryValues)
        let n = sheaf.VertexCochainDim
        let laplacian = SheafLaplacian.assemble sheaf
        let rhs = interiorRightHandSide (laplacian, interior, boundary)
        let diagonal = Array.zeroCreate<float> n
        SheafLaplacian.diagonal (laplacian, Span diagonal)
        let inverseDiagonal = Array.zeroCreate<float> interior.Length
        let zeroDiagonal = ResizeArray<int>()
        for i in 0 .. interior.Length - 1 do
            let d = diagonal[interior[i]]
            if d > 0.0 then inverseDiagonal[i] <- 1.0 / d else zeroDiagonal.Add interior[i]
        let xI = Array.zeroCreate<float> interior.Length
        let cg =
            ConjugateGradient.solve (
                InteriorLaplacianOperator(laplacian, interior),
                ReadOnlySpan rhs,
                ReadOnlySpan inverseDiagonal,
                relativeTolerance,
                maximumIterations,
                Span xI
            )
        let solution = Array.copy boundary
        for i in 0 .. interior.Length - 1 do
            solution[interior[i]] <- xI[i]
        let basis = DenseMatrix(n, zeroDiagonal.Count)
        for c in 0 .. zeroDiagonal.Count - 1 do
            basis[zeroDiagonal[c], c] <- 1.0
        let residual, rhsNorm = residuals (laplacian, interior, solution, boundary)
        let uniqueness =
            if interior.Length = 0 then HarmonicExtensionUniqueness.Unique
            elif zeroDiagonal.Count > 0 then HarmonicExtensionUniqueness.NotUnique
            else HarmonicExtensionUniqueness.Unknown
        { Method = HarmonicExtensionMethod.ConjugateGradient
          Solution = solution
          Uniqueness = uniqueness
          Rank = (if interior.Length = 0 then 0 else -1)
          Nullity = (if interior.Length = 0 then 0 else -1)
          NullSpaceBasis = basis
          InteriorCount = interior.Length
          ResidualNorm = residual
          RelativeResidual = relative (residual, rhsNorm)
          Converged = cg.Converged
          Iterations = cg.Iterations }

    /// L_II in scalar CSR (both triangles, interior indexing) and its grouping by vertex, read from the
    /// block-CSR Laplacian: the interior coordinates of one vertex are consecutive interior indices.
    let internal interiorCsr (laplacian: SheafLaplacianMatrix, interior: int[]) =
        let n = laplacian.Dimension
        let interiorIndex = Array.create n -1
        for i in 0 .. interior.Length - 1 do
            interiorIndex[interior[i]] <- i
        let offsets = laplacian.VertexOffsets
        let dims = laplacian.VertexDims
        let rowPointers = Array.zeroCreate<int> (interior.Length + 1)
        let mutable groups = 0
        // Pass 0 counts (row lengths, groups), pass 1 fills: exact-size arrays, no growth.
        let mutable columns = [||]
        let mutable values = [||]
        let mutable groupPointers = [||]
        for pass in 0 .. 1 do
            let mutable row = 0
            let mutable count = 0
            groups <- 0
            for v in 0 .. laplacian.BlockRows - 1 do
                let dv = dims[v]
                let mutable first = true
                for r in 0 .. dv - 1 do
                    if interiorIndex[offsets[v] + r] >= 0 then
                        if first then
                            if pass = 1 then groupPointers[groups] <- row
                            groups <- groups + 1
                            first <- false
                        for k in laplacian.RowPointers[v] .. laplacian.RowPointers[v + 1] - 1 do
                            let u = laplacian.ColumnIndices[k]
                            let du = dims[u]
                            let block = laplacian.BlockOffsets[k] + r * du
                            for c in 0 .. du - 1 do
                                let j = interiorIndex[offsets[u] + c]
                                if j >= 0 then
                                    if pass = 1 then
                                        columns[count] <- j
                                        values[count] <- laplacian.Values[block + c]
                                    count <- count + 1
                        row <- row + 1
                        rowPointers[row] <- count
            if pass = 0 then
                columns <- Array.zeroCreate<int> count
                values <- Array.zeroCreate<float> count
                groupPointers <- Array.zeroCreate<int> (groups + 1)
            else
                groupPointers[groups] <- row
        rowPointers, columns, values, groupPointers

    /// The map of incidence i as a dense d_e × d_v row-major matrix: the sheaf's own values for dense and
    /// orthogonal maps, else expanded into scratch (diagonal, identity). Returns (array, offset).
    let private mapMatrix (sheaf: CellularSheaf, i: int, scratch: float[], at: int) : struct (float[] * int) =
        match sheaf.Families[i] with
        | RestrictionFamily.Dense
        | RestrictionFamily.Orthogonal -> struct (sheaf.MapValues, sheaf.MapOffsets[i])
        | family ->
            let d = sheaf.EdgeDims[i / 2]
            Array.Clear(scratch, at, d * d)
            for r in 0 .. d - 1 do
                scratch[at + r * d + r] <- if family = RestrictionFamily.Identity then 1.0 else sheaf.MapValues[sheaf.MapOffsets[i] + r]
            struct (scratch, at)

    /// target[(i − firstA)·width + (j − firstB)] += sign · (F_aᵀF_b)[ca, cb] over the interior coordinates ca of
    /// vertex va (map F_a = ma[oa ..], d_e × da) and cb of vertex vb (F_b = mb[ob ..], d_e × db), i and j their
    /// interior indices.
    let inline private addInteriorProduct
        (
            sheaf: CellularSheaf,
            interiorIndex: int[],
            de: int,
            va: int,
            ma: float[],
            oa: int,
            vb: int,
            mb: float[],
            ob: int,
            sign: float,
            target: float[],
            targetOffset: int,
            firstA: int,
            firstB: int,
            width: int
        ) =
        let da = sheaf.VertexDims[va]
        let db = sheaf.VertexDims[vb]
        for ca in 0 .. da - 1 do
            let i = interiorIndex[sheaf.VertexOffsets[va] + ca]
            if i >= 0 then
                for cb in 0 .. db - 1 do
                    let j = interiorIndex[sheaf.VertexOffsets[vb] + cb]
                    if j >= 0 then
                        let mutable acc = 0.0
                        for r in 0 .. de - 1 do
                            acc <- acc + ma[oa + r * da + ca] * mb[ob + r * db + cb]
                        let k = targetOffset + (i - firstA) * width + (j - firstB)
                        target[k] <- target[k] + sign * acc

    /// rhs_i += sign · (F_vᵀy)[c] for the interior coordinates c of vertex v (map F = m[o ..], d_e × d_v).
    let inline private addTransposeProduct
        (sheaf: CellularSheaf, interiorIndex: int[], de: int, v: int, m: float[], o: int, y: Span<float>, sign: float, rhs: float[])
        =
        let dv = sheaf.VertexDims[v]
        for c in 0 .. dv - 1 do
            let i = interiorIndex[sheaf.VertexOffsets[v] + c]
            if i >= 0 then
                let mutable acc = 0.0
                for r in 0 .. de - 1 do
                    acc <- acc + m[o + r * dv + c] * y[r]
                rhs[i] <- rhs[i] + sign * acc

    /// L_II in block form straight from the restriction maps, one group per vertex with interior coordinates:
    /// diagonal blocks Σ_e F_vᵀF_v and, per edge joining two such vertices, −F_sᵀF_t (restricted to the interior
    /// coordinates). In the same pass over the edges, rhs[0 .. interiorCount) = −(L·x_B)_I for `boundary` = x_B
    /// (zero on the interior): an edge touching a pinned coordinate adds F_sᵀy_e to its source side and −F_tᵀy_e
    /// to its target side, y_e = F_t x_t − F_s x_s. No Laplacian is assembled.
    let internal interiorBlocks
        (
            sheaf: CellularSheaf,
            interior: int[],
            interiorCount: int,
            boundary: float[],
            rhs: float[],
            ws: HarmonicSparseWorkspace
        ) =
        let n = sheaf.VertexCochainDim
        let vertices = sheaf.VertexCount
        let edges = sheaf.EdgeCount
        ws.InteriorIndex <- SparseLdltWorkspace.Grow(ws.InteriorIndex, n)
        ws.VertexGroup <- SparseLdltWorkspace.Grow(ws.VertexGroup, vertices)
        ws.GroupPointers <- SparseLdltWorkspace.Grow(ws.GroupPointers, vertices + 1)
        ws.DiagonalOffsets <- SparseLdltWorkspace.Grow(ws.DiagonalOffsets, vertices + 1)
        ws.PairRows <- SparseLdltWorkspace.Grow(ws.PairRows, edges)
        ws.PairColumns <- SparseLdltWorkspace.Grow(ws.PairColumns, edges)
        ws.PairOffsets <- SparseLdltWorkspace.Grow(ws.PairOffsets, edges + 1)
        let interiorIndex = ws.InteriorIndex
        let vertexGroup = ws.VertexGroup
        let gp = ws.GroupPointers
        let diagonalOffsets = ws.DiagonalOffsets
        Array.Fill(interiorIndex, -1, 0, n)
        for i in 0 .. interiorCount - 1 do
            interiorIndex[interior[i]] <- i
        // Groups: a vertex's interior coordinates have consecutive interior indices.
        let mutable groups = 0
        let mutable next = 0
        for v in 0 .. vertices - 1 do
            let mutable size = 0
            for c in sheaf.VertexOffsets[v] .. sheaf.VertexOffsets[v + 1] - 1 do
                if interiorIndex[c] >= 0 then size <- size + 1
            if size > 0 then
                vertexGroup[v] <- groups
                gp[groups] <- next
                groups <- groups + 1
                next <- next + size
            else
                vertexGroup[v] <- -1
        gp[groups] <- next
        diagonalOffsets[0] <- 0
        for g in 0 .. groups - 1 do
            diagonalOffsets[g + 1] <- diagonalOffsets[g] + (gp[g + 1] - gp[g]) * (gp[g + 1] - gp[g])
        let mutable pairs = 0
        for e in 0 .. edges - 1 do
            let gs = vertexGroup[sheaf.EdgeSources[e]]
            let gt = vertexGroup[sheaf.EdgeTargets[e]]
            if sheaf.EdgeDims[e] > 0 && gs >= 0 && gt >= 0 then
                ws.PairRows[pairs] <- gs
                ws.PairColumns[pairs] <- gt
                pairs <- pairs + 1
        ws.PairOffsets[0] <- 0
        for p in 0 .. pairs - 1 do
            let gs = ws.PairRows[p]
            let gt = ws.PairColumns[p]
            ws.PairOffsets[p + 1] <- ws.PairOffsets[p] + (gp[gs + 1] - gp[gs]) * (gp[gt + 1] - gp[gt])
        ws.DiagonalValues <- SparseLdltWorkspace.Grow(ws.DiagonalValues, diagonalOffsets[groups])
        ws.PairValues <- SparseLdltWorkspace.Grow(ws.PairValues, ws.PairOffsets[pairs])
        let maxEdge = if edges = 0 then 0 else Array.max sheaf.EdgeDims
        ws.MapScratch <- SparseLdltWorkspace.Grow(ws.MapScratch, 2 * maxEdge * maxEdge + maxEdge)
        let diagonal = ws.DiagonalValues
        let pairValues = ws.PairValues
        Array.Clear(diagonal, 0, diagonalOffsets[groups])
        Array.Clear(pairValues, 0, ws.PairOffsets[pairs])
        let scratch = ws.MapScratch
        Array.Clear(rhs, 0, interiorCount)
        let y = Span<float>(scratch, 2 * maxEdge * maxEdge, maxEdge)
        let mutable pair = 0
        for e in 0 .. edges - 1 do
            let de = sheaf.EdgeDims[e]
            if de > 0 then
                let vs = sheaf.EdgeSources[e]
                let vt = sheaf.EdgeTargets[e]
                let gs = vertexGroup[vs]
                let gt = vertexGroup[vt]
                if gs >= 0 || gt >= 0 then
                    let struct (ms, os) = mapMatrix (sheaf, 2 * e, scratch, 0)
                    let struct (mt, ot) = mapMatrix (sheaf, 2 * e + 1, scratch, de * de)
                    let ds = sheaf.VertexDims[vs]
                    let dt = sheaf.VertexDims[vt]
                    if de = 2 && ds = 2 && dt = 2 && gs >= 0 && gt >= 0 && gp[gs + 1] - gp[gs] = 2 && gp[gt + 1] - gp[gt] = 2 then
                        // Stalk dimension 2 with both vertices wholly interior (the common case): the three 2×2
                        // products F_sᵀF_s, F_tᵀF_t and −F_sᵀF_t written out.
                        let a0 = ms[os]
                        let a1 = ms[os + 1]
                        let a2 = ms[os + 2]
                        let a3 = ms[os + 3]
                        let b0 = mt[ot]
                        let b1 = mt[ot + 1]
                        let b2 = mt[ot + 2]
                        let b3 = mt[ot + 3]
                        let ks = diagonalOffsets[gs]
                        let ss01 = a0 * a1 + a2 * a3
                        diagonal[ks] <- diagonal[ks] + (a0 * a0 + a2 * a2)
                        diagonal[ks + 1] <- diagonal[ks + 1] + ss01
                        diagonal[ks + 2] <- diagonal[ks + 2] + ss01
                        diagonal[ks + 3] <- diagonal[ks + 3] + (a1 * a1 + a3 * a3)
                        let kt = diagonalOffsets[gt]
                        let tt01 = b0 * b1 + b2 * b3
                        diagonal[kt] <- diagonal[kt] + (b0 * b0 + b2 * b2)
                        diagonal[kt + 1] <- diagonal[kt + 1] + tt01
                        diagonal[kt + 2] <- diagonal[kt + 2] + tt01
                        diagonal[kt + 3] <- diagonal[kt + 3] + (b1 * b1 + b3 * b3)
                        let kp = ws.PairOffsets[pair]
                        pairValues[kp] <- -(a0 * b0 + a2 * b2)
                        pairValues[kp + 1] <- -(a0 * b1 + a2 * b3)
                        pairValues[kp + 2] <- -(a1 * b0 + a3 * b2)
                        pairValues[kp + 3] <- -(a1 * b1 + a3 * b3)
                        pair <- pair + 1
                    else
                        if gs >= 0 then
                            let size = gp[gs + 1] - gp[gs]
                            addInteriorProduct (sheaf, interiorIndex, de, vs, ms, os, vs, ms, os, 1.0, diagonal, diagonalOffsets[gs], gp[gs], gp[gs], size)
                        if gt >= 0 then
                            let size = gp[gt + 1] - gp[gt]
                            addInteriorProduct (sheaf, interiorIndex, de, vt, mt, ot, vt, mt, ot, 1.0, diagonal, diagonalOffsets[gt], gp[gt], gp[gt], size)
                        if gs >= 0 && gt >= 0 then
                            let width = gp[gt + 1] - gp[gt]
                            addInteriorProduct (sheaf, interiorIndex, de, vs, ms, os, vt, mt, ot, -1.0, pairValues, ws.PairOffsets[pair], gp[gs], gp[gt], width)
                            pair <- pair + 1
                    // A vertex pins some coordinate when it has fewer interior coordinates than its stalk.
                    let pinsS = (if gs >= 0 then gp[gs + 1] - gp[gs] else 0) < ds
                    let pinsT = (if gt >= 0 then gp[gt + 1] - gp[gt] else 0) < dt
                    if pinsS || pinsT then
                        let xs = sheaf.VertexOffsets[vs]
                        let xt = sheaf.VertexOffsets[vt]
                        for r in 0 .. de - 1 do
                            let mutable acc = 0.0
                            for c in 0 .. dt - 1 do
                                acc <- acc + mt[ot + r * dt + c] * boundary[xt + c]
                            for c in 0 .. ds - 1 do
                                acc <- acc - ms[os + r * ds + c] * boundary[xs + c]
                            y[r] <- acc
                        if gs >= 0 then addTransposeProduct (sheaf, interiorIndex, de, vs, ms, os, y, 1.0, rhs)
                        if gt >= 0 then addTransposeProduct (sheaf, interiorIndex, de, vt, mt, ot, y, -1.0, rhs)
        { GroupCount = groups
          GroupPointers = gp
          DiagonalOffsets = diagonalOffsets
          DiagonalValues = diagonal
          PairCount = pairs
          PairRows = ws.PairRows
          PairColumns = ws.PairColumns
          PairOffsets = ws.PairOffsets
          PairValues = pairValues }

    /// <summary>Harmonic extension by a block sparse LDLᵀ of L_II, falling back to the dense pivoted LDLᵀ when
    /// L_II is singular at the tolerance.</summary>
    /// <param name="sheaf">Any cellular sheaf.</param>
    /// <param name="boundaryMask">Length C⁰; true marks a pinned (boundary) coordinate.</param>
    /// <param name="boundaryValues">Length C⁰; only boundary entries are read (must be finite).</param>
    /// <param name="relativeTolerance">A pivot ≤ relativeTolerance · max_i (L_II)_ii means L_II is treated as
    /// singular, and the dense rank-revealing method (same tolerance) takes over.</param>
    /// <remarks>L_II is built in blocks straight from the restriction maps (one group per vertex with interior
    /// coordinates), ordered by minimum degree on the graph of those vertices and factored by
    /// <c>BlockLdlt</c>: whole vertices are eliminated sparsely while the remaining graph is sparse, then the
    /// nearly complete trailing block is factored densely (GEMM-blocked). The right-hand side −L_IB·x_B is built
    /// in the same pass over the edges, and the residual ‖L_II·x_I + L_IB·x_B‖ from the same blocks. When every pivot is positive L_II is non-singular, so the solution is
    /// unique (Rank = interior size, Nullity = 0). On failure the result is exactly <c>solveDense</c>'s,
    /// Method = DenseLdlt. Scratch lives in thread-static workspaces; a call allocates its result.</remarks>
    let solveSparse
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            relativeTolerance: float
        ) : HarmonicExtensionResult =
        if isNull sheaf then nullArg (nameof sheaf)
        let n = sheaf.VertexCochainDim
        let ws = HarmonicSparseWorkspace.ForCurrentThread
        ws.Interior <- SparseLdltWorkspace.Grow(ws.Interior, n)
        let solution = Array.zeroCreate<float> n
        let count = fillBoundary (sheaf, boundaryMask, boundaryValues, solution, ws.Interior)
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        let interior = ws.Interior
        ws.RightHandSide <- SparseLdltWorkspace.Grow(ws.RightHandSide, count)
        let rhs = ws.RightHandSide
        let blocks = interiorBlocks (sheaf, interior, count, solution, rhs, ws)
        let factored =
            if count = 0 then ValueSome BlockLdlt.empty
            else BlockLdlt.factor (blocks, relativeTolerance, BlockLdltWorkspace.ForCurrentThread)
        match factored with
        | ValueNone -> solveDense (sheaf, boundaryMask, boundaryValues, relativeTolerance)
        | ValueSome factor ->
            ws.InteriorSolution <- SparseLdltWorkspace.Grow(ws.InteriorSolution, count)
            ws.Work <- SparseLdltWorkspace.Grow(ws.Work, count)
            let xI = ws.InteriorSolution
            let work = ws.Work
            BlockLdlt.solve (factor, ReadOnlySpan(rhs, 0, count), Span(xI, 0, count), Span(work, 0, count))
            for i in 0 .. count - 1 do
                solution[interior[i]] <- xI[i]
            // Residual L_II·x_I − b from the same blocks (b = −L_IB·x_B was built with them).
            BlockLdlt.multiply (blocks, ReadOnlySpan(xI, 0, count), Span(work, 0, count))
            let mutable residual = 0.0
            let mutable rhsNorm = 0.0
            for i in 0 .. count - 1 do
                let r = work[i] - rhs[i]
                residual <- residual + r * r
                rhsNorm <- rhsNorm + rhs[i] * rhs[i]
            let residual = sqrt residual
            { Method = HarmonicExtensionMethod.SparseLdlt
              Solution = solution
              Uniqueness = HarmonicExtensionUniqueness.Unique
              Rank = count
              Nullity = 0
              NullSpaceBasis = DenseMatrix(n, 0)
              InteriorCount = count
              ResidualNorm = residual
              RelativeResidual = relative (residual, sqrt rhsNorm)
              Converged = true
              Iterations = 0 }

    /// <summary>The previous scalar path (kept as the reference of the block one): L assembled, L_II extracted in
    /// scalar CSR, <c>SparseCholesky.factor</c> with vertex groups. Same contract as <c>solveSparse</c>.</summary>
    let solveSparseScalar
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            relativeTolerance: float
        ) : HarmonicExtensionResult =
        let interior, boundary = prepare (sheaf, boundaryMask, boundaryValues)
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        let n = sheaf.VertexCochainDim
        let laplacian = SheafLaplacian.assemble sheaf
        let rowPointers, columns, values, groupPointers = interiorCsr (laplacian, interior)
        match SparseCholesky.factor (interior.Length, rowPointers, columns, values, groupPointers, relativeTolerance, SparseLdltWorkspace.ForCurrentThread) with
        | ValueNone -> solveDense (sheaf, boundaryMask, boundaryValues, relativeTolerance)
        | ValueSome factor ->
            let rhs = interiorRightHandSide (laplacian, interior, boundary)
            let xI = Array.zeroCreate<float> interior.Length
            SparseCholesky.solve (factor, ReadOnlySpan rhs, Span xI, Span(Array.zeroCreate<float> interior.Length))
            let solution = Array.copy boundary
            for i in 0 .. interior.Length - 1 do
                solution[interior[i]] <- xI[i]
            let residual, rhsNorm = residuals (laplacian, interior, solution, boundary)
            { Method = HarmonicExtensionMethod.SparseLdlt
              Solution = solution
              Uniqueness = HarmonicExtensionUniqueness.Unique
              Rank = interior.Length
              Nullity = 0
              NullSpaceBasis = DenseMatrix(n, 0)
              InteriorCount = interior.Length
              ResidualNorm = residual
              RelativeResidual = relative (residual, rhsNorm)
              Converged = true
              Iterations = 0 }

    /// <summary>Global sections H⁰ = ker δ = ker L with an explicit relative eigenvalue tolerance.</summary>
    /// <param name="sheaf">A small sheaf (dense O((C⁰)³) eigen-decomposition).</param>
    /// <param name="relativeTolerance">Eigenvalues λ ≤ relativeTolerance·λ_max count as zero.</param>
    /// <remarks>Jacobi eigenvalues are accurate to about ε·λ_max absolutely, so a tolerance well above ε
    /// (default 1e-10) separates the kernel from genuinely positive eigenvalues unless those are tiny.
    /// A sheaf with L = 0 (no edges, or zero edge stalks) has H⁰ = C⁰.</remarks>
    let globalSectionsWithTolerance (sheaf: CellularSheaf, relativeTolerance: float) : GlobalSections =
        if isNull sheaf then nullArg (nameof sheaf)
        Guard.finiteNonNegative (nameof relativeTolerance) relativeTolerance
        let n = sheaf.VertexCochainDim
        let eigen = DenseFactor.symmetricEigen (SheafLaplacian.toDense (SheafLaplacian.assemble sheaf))
        let lambdaMax = if n = 0 then 0.0 else max eigen.Values[n - 1] 0.0
        let tolerance = relativeTolerance * lambdaMax
        let mutable dimension = 0
        while dimension < n && eigen.Values[dimension] <= tolerance do
            dimension <- dimension + 1
        let basis = DenseMatrix(n, dimension)
        for i in 0 .. n - 1 do
            for j in 0 .. dimension - 1 do
                basis[i, j] <- eigen.Vectors[i, j]
        { Dimension = dimension
          Basis = basis
          Eigenvalues = eigen.Values
          Tolerance = tolerance }

    /// <summary>Global sections H⁰ = ker L with the default relative tolerance 1e-10.</summary>
    let globalSections (sheaf: CellularSheaf) : GlobalSections =
        globalSectionsWithTolerance (sheaf, DenseFactor.DefaultRelativeTolerance)
