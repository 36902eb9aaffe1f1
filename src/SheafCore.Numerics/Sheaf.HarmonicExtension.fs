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

    /// Validates the inputs and returns (interior indices, x_B embedded in a zero C⁰ vector).
    let private prepare (sheaf: CellularSheaf, boundaryMask: ReadOnlySpan<bool>, boundaryValues: ReadOnlySpan<float>) =
        if isNull sheaf then nullArg (nameof sheaf)
        let n = sheaf.VertexCochainDim
        Guard.length (nameof boundaryMask) n boundaryMask.Length
        Guard.length (nameof boundaryValues) n boundaryValues.Length
        let boundary = Array.zeroCreate<float> n
        let interior = ResizeArray<int>()
        for i in 0 .. n - 1 do
            if boundaryMask[i] then
                if not (Double.IsFinite boundaryValues[i]) then
                    let message = sprintf "Boundary value at coordinate %d is %g; it must be finite." i boundaryValues[i]
                    invalidArg (nameof boundaryValues) message
                boundary[i] <- boundaryValues[i]
            else
                interior.Add i
        interior.ToArray(), boundary

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
        if not (relativeTolerance >= 0.0 && Double.IsFinite relativeTolerance) then
            invalidArg (nameof relativeTolerance) "Must be finite and non-negative."
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

    /// <summary>Harmonic extension by a sparse LDLᵀ of L_II, falling back to the dense pivoted LDLᵀ when
    /// L_II is singular at the tolerance.</summary>
    /// <param name="sheaf">Any cellular sheaf.</param>
    /// <param name="boundaryMask">Length C⁰; true marks a pinned (boundary) coordinate.</param>
    /// <param name="boundaryValues">Length C⁰; only boundary entries are read (must be finite).</param>
    /// <param name="relativeTolerance">A pivot ≤ relativeTolerance · max_i (L_II)_ii means L_II is treated as
    /// singular, and the dense rank-revealing method (same tolerance) takes over.</param>
    /// <remarks>The interior coordinates are ordered by minimum degree on the graph of vertices (a vertex's
    /// coordinates stay together); elimination is sparse while the remaining graph is sparse and dense
    /// (vectorised) for the final, nearly complete block. When every pivot is positive L_II is non-singular,
    /// so the solution is unique (Rank = interior size, Nullity = 0). On failure the result is exactly
    /// <c>solveDense</c>'s, Method = DenseLdlt.</remarks>
    let solveSparse
        (
            sheaf: CellularSheaf,
            boundaryMask: ReadOnlySpan<bool>,
            boundaryValues: ReadOnlySpan<float>,
            relativeTolerance: float
        ) : HarmonicExtensionResult =
        let interior, boundary = prepare (sheaf, boundaryMask, boundaryValues)
        if not (relativeTolerance >= 0.0 && Double.IsFinite relativeTolerance) then
            invalidArg (nameof relativeTolerance) "Must be finite and non-negative."
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
        if not (relativeTolerance >= 0.0 && Double.IsFinite relativeTolerance) then
            invalidArg (nameof relativeTolerance) "Must be finite and non-negative."
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
