namespace SheafCore.Numerics

/// Compressed sparse row storage (Math.NET naming). Invariants: RowPointers.Length = Rows + 1,
/// RowPointers[0] = 0, RowPointers is non-decreasing, ColumnIndices and Values have RowPointers[Rows]
/// entries, and the column indices within each row are strictly increasing and lie in [0, Cols).
[<Sealed; AllowNullLiteral>]
type internal Csr(rows: int, cols: int, rowPointers: int[], columnIndices: int[], values: float[]) =
    do
        if rowPointers.Length <> rows + 1 then invalidArg (nameof rowPointers) "Length must be Rows + 1."
        if rowPointers[0] <> 0 then invalidArg (nameof rowPointers) "RowPointers[0] must be 0."
        let nnz = rowPointers[rows]
        if columnIndices.Length <> nnz || values.Length <> nnz then
            invalidArg (nameof columnIndices) "ColumnIndices and Values must have RowPointers[Rows] entries."
        for i in 0 .. rows - 1 do
            if rowPointers[i + 1] < rowPointers[i] then invalidArg (nameof rowPointers) "Must be non-decreasing."
            for k in rowPointers[i] .. rowPointers[i + 1] - 1 do
                let c = columnIndices[k]
                if c < 0 || c >= cols then invalidArg (nameof columnIndices) (sprintf "Column %d out of range." c)
                if k > rowPointers[i] && columnIndices[k - 1] >= c then
                    invalidArg (nameof columnIndices) "Column indices must be strictly increasing within a row."

    member _.Rows = rows
    member _.Cols = cols
    member _.RowPointers = rowPointers
    member _.ColumnIndices = columnIndices
    member _.Values = values
    member _.NonZeros = rowPointers[rows]

    /// Builds CSR from a dense matrix, keeping entries with |a_ij| > dropTolerance.
    static member FromDense(a: DenseMatrix, dropTolerance: float) =
        let ptr = Array.zeroCreate (a.Rows + 1)
        let cols = ResizeArray()
        let vals = ResizeArray()
        for i in 0 .. a.Rows - 1 do
            for j in 0 .. a.Cols - 1 do
                let v = a[i, j]
                if abs v > dropTolerance then
                    cols.Add j
                    vals.Add v
            ptr[i + 1] <- cols.Count
        Csr(a.Rows, a.Cols, ptr, cols.ToArray(), vals.ToArray())

    member this.ToDense() =
        let d = DenseMatrix(rows, cols)
        for i in 0 .. rows - 1 do
            for k in rowPointers[i] .. rowPointers[i + 1] - 1 do
                d[i, columnIndices[k]] <- values[k]
        d
