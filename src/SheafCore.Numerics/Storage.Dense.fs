namespace SheafCore.Numerics

open System

/// A dense row-major matrix: entry (i, j) is Values[i * Cols + j].
[<Sealed; AllowNullLiteral>]
type internal DenseMatrix(rows: int, cols: int, values: float[]) =
    do
        if rows < 0 then invalidArg (nameof rows) "Row count must be non-negative."
        if cols < 0 then invalidArg (nameof cols) "Column count must be non-negative."
        if isNull values || values.Length <> rows * cols then
            invalidArg (nameof values) (sprintf "Expected %d values for a %d×%d matrix." (rows * cols) rows cols)

    new(rows: int, cols: int) = DenseMatrix(rows, cols, Array.zeroCreate (rows * cols))

    member _.Rows = rows
    member _.Cols = cols
    member _.Values = values

    member _.Item
        with get (i: int, j: int) = values[i * cols + j]
        and set (i: int, j: int) (v: float) = values[i * cols + j] <- v

    /// A view of row i.
    member _.Row(i: int) : Span<float> = Span<float>(values, i * cols, cols)

    member _.Copy() = DenseMatrix(rows, cols, Array.copy values)

    static member Identity(n: int) =
        let m = DenseMatrix(n, n)
        for i in 0 .. n - 1 do
            m[i, i] <- 1.0
        m

/// Plain dense helpers (scalar loops; used for references, checks and small systems).
[<RequireQualifiedAccess>]
module internal Dense =

    let transpose (a: DenseMatrix) =
        let t = DenseMatrix(a.Cols, a.Rows)
        for i in 0 .. a.Rows - 1 do
            for j in 0 .. a.Cols - 1 do
                t[j, i] <- a[i, j]
        t

    /// C = A·B (reference triple loop).
    let multiply (a: DenseMatrix) (b: DenseMatrix) =
        if a.Cols <> b.Rows then invalidArg (nameof b) "Inner dimensions differ."
        let c = DenseMatrix(a.Rows, b.Cols)
        for i in 0 .. a.Rows - 1 do
            for k in 0 .. a.Cols - 1 do
                let aik = a[i, k]
                if aik <> 0.0 then
                    for j in 0 .. b.Cols - 1 do
                        c[i, j] <- c[i, j] + aik * b[k, j]
        c

    /// C = Aᵀ·A.
    let gram (a: DenseMatrix) = multiply (transpose a) a

    /// y = A·x.
    let multiplyVector (a: DenseMatrix) (x: float[]) =
        if x.Length <> a.Cols then invalidArg (nameof x) "Length must equal the column count."
        let y = Array.zeroCreate a.Rows
        for i in 0 .. a.Rows - 1 do
            let mutable acc = 0.0
            for j in 0 .. a.Cols - 1 do
                acc <- acc + a[i, j] * x[j]
            y[i] <- acc
        y

    /// The sub-matrix with the given rows and columns (in the given orders).
    let select (a: DenseMatrix) (rows: int[]) (cols: int[]) =
        let s = DenseMatrix(rows.Length, cols.Length)
        for i in 0 .. rows.Length - 1 do
            for j in 0 .. cols.Length - 1 do
                s[i, j] <- a[rows[i], cols[j]]
        s

    /// Largest absolute entry of A − B.
    let maxAbsDifference (a: DenseMatrix) (b: DenseMatrix) =
        if a.Rows <> b.Rows || a.Cols <> b.Cols then invalidArg (nameof b) "Shapes differ."
        let mutable m = 0.0
        for i in 0 .. a.Values.Length - 1 do
            m <- max m (abs (a.Values[i] - b.Values[i]))
        m
