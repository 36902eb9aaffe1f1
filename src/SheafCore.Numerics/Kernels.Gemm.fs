namespace SheafCore.Numerics

// The blocked GEMM works on pinned memory through raw pointers: the user's spans are pinned with
// `fixed` for the duration of a call and the packing buffers live on the pinned object heap.
#nowarn "9"

open System
open System.Numerics.Tensors
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Microsoft.FSharp.NativeInterop

/// Per-thread packing scratch for the blocked GEMM. One pinned array per thread, grown on demand
/// and then reused, so a steady state of calls allocates nothing.
[<Sealed; AbstractClass>]
type internal GemmScratch =
    [<ThreadStatic; DefaultValue>]
    static val mutable private buffer: float[]

    /// A 64-byte aligned pointer to at least `length` doubles of this thread's scratch.
    /// The array is allocated on the pinned object heap, so the pointer stays valid while the
    /// thread holds the array (it is only replaced by a larger one between GEMM calls).
    static member Get(length: int) : nativeptr<float> =
        let mutable buffer = GemmScratch.buffer
        // +8 doubles of slack so the start can be rounded up to a cache line.
        if isNull buffer || buffer.Length < length + 8 then
            buffer <- GC.AllocateUninitializedArray<float>(length + 8, true)
            GemmScratch.buffer <- buffer
        let address = NativePtr.toNativeInt (NativePtr.ofVoidPtr<float> (Unsafe.AsPointer(&MemoryMarshal.GetArrayDataReference buffer)))
        NativePtr.ofNativeInt<float> ((address + 63n) &&& ~~~63n)

/// <summary>Dense general matrix products on row-major storage with explicit leading dimensions
/// (the BLAS <c>dgemm</c> family), plus the small fused helpers of a feature-major forward pass.</summary>
/// <remarks>Storage convention: an r×c matrix X with leading dimension ldx ≥ c has entry (i, j) at
/// <c>x[i·ldx + j]</c> and needs a span of at least <c>(r − 1)·ldx + c</c> elements (0 when r or c is 0).
/// Entries between column c and ldx are never read or written. The destination must not overlap
/// an input. Every kernel has a scalar <c>…Reference</c> twin (plain loops, no SIMD) that the
/// property tests use as the oracle.</remarks>
[<RequireQualifiedAccess>]
module internal Gemm =

    // ------------------------------------------------------------------------------------------
    // Validation
    // ------------------------------------------------------------------------------------------

    /// Minimum span length for an r×c row-major matrix with leading dimension ld (int64: no overflow).
    let private required (rows: int) (cols: int) (ld: int) : int64 =
        if rows = 0 || cols = 0 then 0L else int64 (rows - 1) * int64 ld + int64 cols

    let private checkSize (name: string) (value: int) =
        if value < 0 then invalidArg name (sprintf "Size must be non-negative but was %d." value)

    let private checkMatrix (name: string) (length: int) (ldName: string) (ld: int) (rows: int) (cols: int) =
        if ld < cols || ld < 0 then
            invalidArg ldName (sprintf "Leading dimension %d is smaller than the row length %d." ld cols)
        let need = required rows cols ld
        if int64 length < need then
            invalidArg name (sprintf "A %d×%d matrix with leading dimension %d needs %d elements but the span has %d." rows cols ld need length)

    /// Shared checks of the three GEMM shapes: (aRows × aCols) and (bRows × bCols) are the stored shapes.
    let private validate
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, aRows: int, aCols: int,
         b: ReadOnlySpan<float>, ldb: int, bRows: int, bCols: int, c: Span<float>, ldc: int)
        =
        checkSize "m" m
        checkSize "n" n
        checkSize "k" k
        checkMatrix "a" a.Length "lda" lda aRows aCols
        checkMatrix "b" b.Length "ldb" ldb bRows bCols
        checkMatrix "c" c.Length "ldc" ldc m n
        let cUsed = Span.op_Implicit (c.Slice(0, int (required m n ldc))) : ReadOnlySpan<float>
        if cUsed.Overlaps(a.Slice(0, int (required aRows aCols lda))) then
            invalidArg "c" "The destination must not overlap the left operand."
        if cUsed.Overlaps(b.Slice(0, int (required bRows bCols ldb))) then
            invalidArg "c" "The destination must not overlap the right operand."

    // ------------------------------------------------------------------------------------------
    // Scalar references (the oracles)
    // ------------------------------------------------------------------------------------------

    /// Shared scalar triple loop; element accessors are spelled out per variant below so that no
    /// closure is ever formed over a span.
    let private finish (c: Span<float>, index: int, sum: float, accumulate: bool) =
        c[index] <- if accumulate then c[index] + sum else sum

    /// <summary>Scalar reference for <see cref="multiply"/>: C (+)= A·B by the textbook triple loop.</summary>
    let multiplyReference
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                let mutable sum = 0.0
                for p in 0 .. k - 1 do
                    sum <- sum + a[i * lda + p] * b[p * ldb + j]
                finish (c, i * ldc + j, sum, accumulate)

    /// <summary>Scalar reference for <see cref="multiplyTransposeA"/>: C (+)= Aᵀ·B, A stored k×m.</summary>
    let multiplyTransposeAReference
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, k, m, b, ldb, k, n, c, ldc)
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                let mutable sum = 0.0
                for p in 0 .. k - 1 do
                    sum <- sum + a[p * lda + i] * b[p * ldb + j]
                finish (c, i * ldc + j, sum, accumulate)

    /// <summary>Scalar reference for <see cref="multiplyTransposeB"/>: C (+)= A·Bᵀ, B stored n×k.</summary>
    let multiplyTransposeBReference
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, n, k, c, ldc)
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                let mutable sum = 0.0
                for p in 0 .. k - 1 do
                    sum <- sum + a[i * lda + p] * b[j * ldb + p]
                finish (c, i * ldc + j, sum, accumulate)

    let private validateBias (m: int, n: int, bias: ReadOnlySpan<float>, c: Span<float>, ldc: int) =
        checkSize "m" m
        checkSize "n" n
        if bias.Length < m then
            invalidArg "bias" (sprintf "Expected at least %d bias values but got %d." m bias.Length)
        checkMatrix "c" c.Length "ldc" ldc m n

    /// <summary>Scalar reference for <see cref="addRowBias"/>: c[i, j] += bias[i].</summary>
    let addRowBiasReference (m: int, n: int, bias: ReadOnlySpan<float>, c: Span<float>, ldc: int) : unit =
        validateBias (m, n, bias, c, ldc)
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                c[i * ldc + j] <- c[i * ldc + j] + bias[i]

    /// <summary>Scalar reference for <see cref="reluInto"/>: dst[i] = max(src[i], 0) with
    /// <c>Math.Max</c> semantics (NaN propagates, max(−0, +0) = +0).</summary>
    let reluIntoReference (src: ReadOnlySpan<float>, dst: Span<float>) : unit =
        if dst.Length < src.Length then
            invalidArg "dst" (sprintf "Destination has %d elements but the source has %d." dst.Length src.Length)
        for i in 0 .. src.Length - 1 do
            dst[i] <- Math.Max(src[i], 0.0)

    // ------------------------------------------------------------------------------------------
    // Blocked GEMM: tuning constants
    // ------------------------------------------------------------------------------------------
    //
    // Goto/BLIS structure. For each nc-wide column block of B and each kc-deep slice of k, the
    // kc×nc block of B is packed into nr-wide micro-panels (row p of a micro-panel is nr contiguous
    // doubles); for each mc-tall row block of A the mc×kc block is packed into mr-tall micro-panels
    // (column p of a micro-panel is mr contiguous doubles). The microkernel then streams one A
    // micro-panel against one B micro-panel and holds the whole mr×nr tile of C in registers.
    // The B micro-panel (kc·nr doubles) is reused across all A panels of the block and stays in L1;
    // the packed A block (mc·kc doubles) stays in L2.

    /// Depth of a k slice (upper bound; k is split into equal slices no deeper than this).
    [<Literal>]
    let private KcMax = 256

    /// Rows of A packed at a time (multiple of every mr below).
    [<Literal>]
    let private McMax = 128

    /// Columns of B packed at a time (multiple of every nr below: 24, 12 and 4).
    [<Literal>]
    let private NcMax = 2040

    /// Microkernel shapes of the three instruction-set paths.
    [<Literal>]
    let private Path512 = 0

    [<Literal>]
    let private Path256 = 1

    [<Literal>]
    let private PathScalar = 2

    /// Widest accelerated path; a JIT-time constant in practice.
    let private selectPath () =
        if Vector512.IsHardwareAccelerated && Vector512<float>.IsSupported then Path512
        elif Vector256.IsHardwareAccelerated && Vector256<float>.IsSupported then Path256
        else PathScalar

    // ------------------------------------------------------------------------------------------
    // Microkernels
    // ------------------------------------------------------------------------------------------
    //
    // Common contract: compute the r×nr tile T = Σ_{p<kc} a(:,p) ⊗ b(p,:) where a(i, p) is
    // a[p·aStride + i] and row p of b starts at b + p·bStride (nr contiguous doubles). Then
    //   overwrite = true : C = T (+ bias[i] per row when bias is not null)
    //   overwrite = false: C = C + T
    // Every element of T is summed in the same order (p = 0, 1, …, one FMA per step) by every kernel,
    // so the result does not depend on which kernel or tile position produced it.

    let inline private store512
        (dst: nativeptr<float>, acc: Vector512<float>, overwrite: bool, bias: nativeptr<float>, row: int)
        =
        if overwrite then
            if NativePtr.isNullPtr bias then
                Vector512.Store(acc, dst)
            else
                Vector512.Store(acc + Vector512.Create(NativePtr.get bias row), dst)
        else
            Vector512.Store(Vector512.Load dst + acc, dst)

    /// Stores one accumulator row (three vectors) of a tile whose valid width is `cols` (1..24):
    /// whole vectors are plain stores, the vector straddling `cols` is a masked load/store (AVX-512
    /// masks suppress faults on the masked-off lanes, so nothing past the row is touched) and vectors
    /// wholly past `cols` are skipped. This replaces a tile buffer plus a scalar copy-out for ragged tiles.
    let inline private storeRow512
        (dst: nativeptr<float>, v0: Vector512<float>, v1: Vector512<float>, v2: Vector512<float>,
         cols: int, overwrite: bool, bias: nativeptr<float>, row: int)
        =
        if cols >= 24 then
            store512 (dst, v0, overwrite, bias, row)
            store512 (NativePtr.add dst 8, v1, overwrite, bias, row)
            store512 (NativePtr.add dst 16, v2, overwrite, bias, row)
        else
            let mutable off = 0
            while off < cols do
                let v = if off = 0 then v0 elif off = 8 then v1 else v2
                let d = NativePtr.add dst off
                let lanes = cols - off
                if lanes >= 8 then
                    store512 (d, v, overwrite, bias, row)
                else
                    // Lane j is kept iff j < lanes: compare the lane indices 0..7 with `lanes`.
                    let mask =
                        Vector512.LessThan(
                            Vector512.Create(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0),
                            Vector512.Create(float lanes)
                        )
                    let value =
                        if not overwrite then Avx512F.MaskLoad(d, mask, Vector512<float>.Zero) + v
                        elif NativePtr.isNullPtr bias then v
                        else v + Vector512.Create(NativePtr.get bias row)
                    Avx512F.MaskStore(d, mask, value)
                off <- off + 8

    /// 8×24 kernel: 24 zmm accumulators + 3 B vectors + 1 broadcast = 28 of the 32 zmm registers.
    /// Per step: 3 loads + 8 broadcasts feed 24 FMAs, so the two FMA pipes, not the loads, bound it.
    /// Stores the full 8×24 tile: the hot kernel's epilogue is kept to plain stores, because extra
    /// vector work there (masks) raises register pressure enough that the JIT spills accumulators
    /// inside the k loop (measured: 60 → 20 GFLOP/s). Ragged tiles go through the tile buffer.
    let private kernel512x8
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, ldc: int, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector512<float>.Zero
        let mutable c01 = Vector512<float>.Zero
        let mutable c02 = Vector512<float>.Zero
        let mutable c10 = Vector512<float>.Zero
        let mutable c11 = Vector512<float>.Zero
        let mutable c12 = Vector512<float>.Zero
        let mutable c20 = Vector512<float>.Zero
        let mutable c21 = Vector512<float>.Zero
        let mutable c22 = Vector512<float>.Zero
        let mutable c30 = Vector512<float>.Zero
        let mutable c31 = Vector512<float>.Zero
        let mutable c32 = Vector512<float>.Zero
        let mutable c40 = Vector512<float>.Zero
        let mutable c41 = Vector512<float>.Zero
        let mutable c42 = Vector512<float>.Zero
        let mutable c50 = Vector512<float>.Zero
        let mutable c51 = Vector512<float>.Zero
        let mutable c52 = Vector512<float>.Zero
        let mutable c60 = Vector512<float>.Zero
        let mutable c61 = Vector512<float>.Zero
        let mutable c62 = Vector512<float>.Zero
        let mutable c70 = Vector512<float>.Zero
        let mutable c71 = Vector512<float>.Zero
        let mutable c72 = Vector512<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let b0 = Vector512.Load pb
            let b1 = Vector512.Load(NativePtr.add pb 8)
            let b2 = Vector512.Load(NativePtr.add pb 16)
            // Vector512.Create(scalar load) becomes vbroadcastsd (or an embedded {1to8} operand).
            let mutable s = Vector512.Create(NativePtr.get pa 0)
            c00 <- Vector512.FusedMultiplyAdd(s, b0, c00)
            c01 <- Vector512.FusedMultiplyAdd(s, b1, c01)
            c02 <- Vector512.FusedMultiplyAdd(s, b2, c02)
            s <- Vector512.Create(NativePtr.get pa 1)
            c10 <- Vector512.FusedMultiplyAdd(s, b0, c10)
            c11 <- Vector512.FusedMultiplyAdd(s, b1, c11)
            c12 <- Vector512.FusedMultiplyAdd(s, b2, c12)
            s <- Vector512.Create(NativePtr.get pa 2)
            c20 <- Vector512.FusedMultiplyAdd(s, b0, c20)
            c21 <- Vector512.FusedMultiplyAdd(s, b1, c21)
            c22 <- Vector512.FusedMultiplyAdd(s, b2, c22)
            s <- Vector512.Create(NativePtr.get pa 3)
            c30 <- Vector512.FusedMultiplyAdd(s, b0, c30)
            c31 <- Vector512.FusedMultiplyAdd(s, b1, c31)
            c32 <- Vector512.FusedMultiplyAdd(s, b2, c32)
            s <- Vector512.Create(NativePtr.get pa 4)
            c40 <- Vector512.FusedMultiplyAdd(s, b0, c40)
            c41 <- Vector512.FusedMultiplyAdd(s, b1, c41)
            c42 <- Vector512.FusedMultiplyAdd(s, b2, c42)
            s <- Vector512.Create(NativePtr.get pa 5)
            c50 <- Vector512.FusedMultiplyAdd(s, b0, c50)
            c51 <- Vector512.FusedMultiplyAdd(s, b1, c51)
            c52 <- Vector512.FusedMultiplyAdd(s, b2, c52)
            s <- Vector512.Create(NativePtr.get pa 6)
            c60 <- Vector512.FusedMultiplyAdd(s, b0, c60)
            c61 <- Vector512.FusedMultiplyAdd(s, b1, c61)
            c62 <- Vector512.FusedMultiplyAdd(s, b2, c62)
            s <- Vector512.Create(NativePtr.get pa 7)
            c70 <- Vector512.FusedMultiplyAdd(s, b0, c70)
            c71 <- Vector512.FusedMultiplyAdd(s, b1, c71)
            c72 <- Vector512.FusedMultiplyAdd(s, b2, c72)
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        let mutable row = c
        store512 (row, c00, overwrite, bias, 0)
        store512 (NativePtr.add row 8, c01, overwrite, bias, 0)
        store512 (NativePtr.add row 16, c02, overwrite, bias, 0)
        row <- NativePtr.add row ldc
        store512 (row, c10, overwrite, bias, 1)
        store512 (NativePtr.add row 8, c11, overwrite, bias, 1)
        store512 (NativePtr.add row 16, c12, overwrite, bias, 1)
        row <- NativePtr.add row ldc
        store512 (row, c20, overwrite, bias, 2)
        store512 (NativePtr.add row 8, c21, overwrite, bias, 2)
        store512 (NativePtr.add row 16, c22, overwrite, bias, 2)
        row <- NativePtr.add row ldc
        store512 (row, c30, overwrite, bias, 3)
        store512 (NativePtr.add row 8, c31, overwrite, bias, 3)
        store512 (NativePtr.add row 16, c32, overwrite, bias, 3)
        row <- NativePtr.add row ldc
        store512 (row, c40, overwrite, bias, 4)
        store512 (NativePtr.add row 8, c41, overwrite, bias, 4)
        store512 (NativePtr.add row 16, c42, overwrite, bias, 4)
        row <- NativePtr.add row ldc
        store512 (row, c50, overwrite, bias, 5)
        store512 (NativePtr.add row 8, c51, overwrite, bias, 5)
        store512 (NativePtr.add row 16, c52, overwrite, bias, 5)
        row <- NativePtr.add row ldc
        store512 (row, c60, overwrite, bias, 6)
        store512 (NativePtr.add row 8, c61, overwrite, bias, 6)
        store512 (NativePtr.add row 16, c62, overwrite, bias, 6)
        row <- NativePtr.add row ldc
        store512 (row, c70, overwrite, bias, 7)
        store512 (NativePtr.add row 8, c71, overwrite, bias, 7)
        store512 (NativePtr.add row 16, c72, overwrite, bias, 7)

    /// 4×24 kernel for row tails of two to four rows (12 accumulators: still enough independent FMA
    /// chains to cover the FMA latency, unlike 2 or 3 separate single-row passes); the caller sends
    /// tails of 2 or 3 rows to the tile buffer.
    let private kernel512x4
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, ldc: int, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector512<float>.Zero
        let mutable c01 = Vector512<float>.Zero
        let mutable c02 = Vector512<float>.Zero
        let mutable c10 = Vector512<float>.Zero
        let mutable c11 = Vector512<float>.Zero
        let mutable c12 = Vector512<float>.Zero
        let mutable c20 = Vector512<float>.Zero
        let mutable c21 = Vector512<float>.Zero
        let mutable c22 = Vector512<float>.Zero
        let mutable c30 = Vector512<float>.Zero
        let mutable c31 = Vector512<float>.Zero
        let mutable c32 = Vector512<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let b0 = Vector512.Load pb
            let b1 = Vector512.Load(NativePtr.add pb 8)
            let b2 = Vector512.Load(NativePtr.add pb 16)
            let mutable s = Vector512.Create(NativePtr.get pa 0)
            c00 <- Vector512.FusedMultiplyAdd(s, b0, c00)
            c01 <- Vector512.FusedMultiplyAdd(s, b1, c01)
            c02 <- Vector512.FusedMultiplyAdd(s, b2, c02)
            s <- Vector512.Create(NativePtr.get pa 1)
            c10 <- Vector512.FusedMultiplyAdd(s, b0, c10)
            c11 <- Vector512.FusedMultiplyAdd(s, b1, c11)
            c12 <- Vector512.FusedMultiplyAdd(s, b2, c12)
            s <- Vector512.Create(NativePtr.get pa 2)
            c20 <- Vector512.FusedMultiplyAdd(s, b0, c20)
            c21 <- Vector512.FusedMultiplyAdd(s, b1, c21)
            c22 <- Vector512.FusedMultiplyAdd(s, b2, c22)
            s <- Vector512.Create(NativePtr.get pa 3)
            c30 <- Vector512.FusedMultiplyAdd(s, b0, c30)
            c31 <- Vector512.FusedMultiplyAdd(s, b1, c31)
            c32 <- Vector512.FusedMultiplyAdd(s, b2, c32)
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        let mutable row = c
        store512 (row, c00, overwrite, bias, 0)
        store512 (NativePtr.add row 8, c01, overwrite, bias, 0)
        store512 (NativePtr.add row 16, c02, overwrite, bias, 0)
        row <- NativePtr.add row ldc
        store512 (row, c10, overwrite, bias, 1)
        store512 (NativePtr.add row 8, c11, overwrite, bias, 1)
        store512 (NativePtr.add row 16, c12, overwrite, bias, 1)
        row <- NativePtr.add row ldc
        store512 (row, c20, overwrite, bias, 2)
        store512 (NativePtr.add row 8, c21, overwrite, bias, 2)
        store512 (NativePtr.add row 16, c22, overwrite, bias, 2)
        row <- NativePtr.add row ldc
        store512 (row, c30, overwrite, bias, 3)
        store512 (NativePtr.add row 8, c31, overwrite, bias, 3)
        store512 (NativePtr.add row 16, c32, overwrite, bias, 3)

    /// 1×24 kernel for single leftover rows (three independent FMA chains).
    let private kernel512x1
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector512<float>.Zero
        let mutable c01 = Vector512<float>.Zero
        let mutable c02 = Vector512<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let s = Vector512.Create(NativePtr.read pa)
            c00 <- Vector512.FusedMultiplyAdd(s, Vector512.Load pb, c00)
            c01 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 8), c01)
            c02 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 16), c02)
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        store512 (c, c00, overwrite, bias, 0)
        store512 (NativePtr.add c 8, c01, overwrite, bias, 0)
        store512 (NativePtr.add c 16, c02, overwrite, bias, 0)

    /// 1×48 kernel (two B micro-panels' width, read in place): six independent FMA chains instead of
    /// three, enough to keep both FMA pipes busy through the 4-cycle FMA latency when there is only one
    /// row. Same per-element order as the other kernels (p ascending, one FMA per step).
    let private kernel512x1Wide
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector512<float>.Zero
        let mutable c01 = Vector512<float>.Zero
        let mutable c02 = Vector512<float>.Zero
        let mutable c03 = Vector512<float>.Zero
        let mutable c04 = Vector512<float>.Zero
        let mutable c05 = Vector512<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let s = Vector512.Create(NativePtr.read pa)
            c00 <- Vector512.FusedMultiplyAdd(s, Vector512.Load pb, c00)
            c01 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 8), c01)
            c02 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 16), c02)
            c03 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 24), c03)
            c04 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 32), c04)
            c05 <- Vector512.FusedMultiplyAdd(s, Vector512.Load(NativePtr.add pb 40), c05)
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        store512 (c, c00, overwrite, bias, 0)
        store512 (NativePtr.add c 8, c01, overwrite, bias, 0)
        store512 (NativePtr.add c 16, c02, overwrite, bias, 0)
        store512 (NativePtr.add c 24, c03, overwrite, bias, 0)
        store512 (NativePtr.add c 32, c04, overwrite, bias, 0)
        store512 (NativePtr.add c 40, c05, overwrite, bias, 0)

    /// Copies the `rows`×`cols` corner of an 8×24 tile buffer (row stride 24) to C with the same final
    /// operation a full tile uses (T, T + bias[i] or C + T), vectorised with masked loads and stores.
    let private copyOutTile512
        (tile: nativeptr<float>, rows: int, cols: int, c: nativeptr<float>, ldc: int, overwrite: bool,
         bias: nativeptr<float>)
        =
        for r in 0 .. rows - 1 do
            let src = NativePtr.add tile (r * 24)
            storeRow512 (
                NativePtr.add c (r * ldc),
                Vector512.Load src,
                Vector512.Load(NativePtr.add src 8),
                Vector512.Load(NativePtr.add src 16),
                cols,
                overwrite,
                bias,
                r
            )

    /// a·b + c as one FMA where the hardware has it (otherwise separately rounded: still
    /// deterministic for a given machine).
    let inline private fma256 (a: Vector256<float>) (b: Vector256<float>) (c: Vector256<float>) =
        if Fma.IsSupported then Vector256.FusedMultiplyAdd(a, b, c) else a * b + c

    let inline private store256
        (dst: nativeptr<float>, acc: Vector256<float>, overwrite: bool, bias: nativeptr<float>, row: int)
        =
        if overwrite then
            if NativePtr.isNullPtr bias then
                Vector256.Store(acc, dst)
            else
                Vector256.Store(acc + Vector256.Create(NativePtr.get bias row), dst)
        else
            Vector256.Store(Vector256.Load dst + acc, dst)

    /// 4×12 kernel for 256-bit hardware: 12 ymm accumulators + 3 B vectors + 1 broadcast = all 16 ymm
    /// registers of AVX2.
    let private kernel256x4
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, ldc: int, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector256<float>.Zero
        let mutable c01 = Vector256<float>.Zero
        let mutable c02 = Vector256<float>.Zero
        let mutable c10 = Vector256<float>.Zero
        let mutable c11 = Vector256<float>.Zero
        let mutable c12 = Vector256<float>.Zero
        let mutable c20 = Vector256<float>.Zero
        let mutable c21 = Vector256<float>.Zero
        let mutable c22 = Vector256<float>.Zero
        let mutable c30 = Vector256<float>.Zero
        let mutable c31 = Vector256<float>.Zero
        let mutable c32 = Vector256<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let b0 = Vector256.Load pb
            let b1 = Vector256.Load(NativePtr.add pb 4)
            let b2 = Vector256.Load(NativePtr.add pb 8)
            let mutable s = Vector256.Create(NativePtr.get pa 0)
            c00 <- fma256 s b0 c00
            c01 <- fma256 s b1 c01
            c02 <- fma256 s b2 c02
            s <- Vector256.Create(NativePtr.get pa 1)
            c10 <- fma256 s b0 c10
            c11 <- fma256 s b1 c11
            c12 <- fma256 s b2 c12
            s <- Vector256.Create(NativePtr.get pa 2)
            c20 <- fma256 s b0 c20
            c21 <- fma256 s b1 c21
            c22 <- fma256 s b2 c22
            s <- Vector256.Create(NativePtr.get pa 3)
            c30 <- fma256 s b0 c30
            c31 <- fma256 s b1 c31
            c32 <- fma256 s b2 c32
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        let mutable row = c
        store256 (row, c00, overwrite, bias, 0)
        store256 (NativePtr.add row 4, c01, overwrite, bias, 0)
        store256 (NativePtr.add row 8, c02, overwrite, bias, 0)
        row <- NativePtr.add row ldc
        store256 (row, c10, overwrite, bias, 1)
        store256 (NativePtr.add row 4, c11, overwrite, bias, 1)
        store256 (NativePtr.add row 8, c12, overwrite, bias, 1)
        row <- NativePtr.add row ldc
        store256 (row, c20, overwrite, bias, 2)
        store256 (NativePtr.add row 4, c21, overwrite, bias, 2)
        store256 (NativePtr.add row 8, c22, overwrite, bias, 2)
        row <- NativePtr.add row ldc
        store256 (row, c30, overwrite, bias, 3)
        store256 (NativePtr.add row 4, c31, overwrite, bias, 3)
        store256 (NativePtr.add row 8, c32, overwrite, bias, 3)

    /// 1×12 kernel for single leftover rows on 256-bit hardware.
    let private kernel256x1
        (kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, overwrite: bool, bias: nativeptr<float>)
        =
        let mutable c00 = Vector256<float>.Zero
        let mutable c01 = Vector256<float>.Zero
        let mutable c02 = Vector256<float>.Zero
        let mutable pa = a
        let mutable pb = b
        let mutable p = 0
        while p < kc do
            let s = Vector256.Create(NativePtr.read pa)
            c00 <- fma256 s (Vector256.Load pb) c00
            c01 <- fma256 s (Vector256.Load(NativePtr.add pb 4)) c01
            c02 <- fma256 s (Vector256.Load(NativePtr.add pb 8)) c02
            pa <- NativePtr.add pa aStride
            pb <- NativePtr.add pb bStride
            p <- p + 1
        store256 (c, c00, overwrite, bias, 0)
        store256 (NativePtr.add c 4, c01, overwrite, bias, 0)
        store256 (NativePtr.add c 8, c02, overwrite, bias, 0)

    /// Scalar r×4 kernel (r ≤ 4) for machines without SIMD acceleration. Plain a·b + c, like the reference.
    let private kernelScalar
        (rows: int, kc: int, a: nativeptr<float>, aStride: int, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, ldc: int, overwrite: bool, bias: nativeptr<float>)
        =
        for r in 0 .. rows - 1 do
            let mutable s0 = 0.0
            let mutable s1 = 0.0
            let mutable s2 = 0.0
            let mutable s3 = 0.0
            let mutable pa = NativePtr.add a r
            let mutable pb = b
            for _ in 1 .. kc do
                let x = NativePtr.read pa
                s0 <- s0 + x * NativePtr.get pb 0
                s1 <- s1 + x * NativePtr.get pb 1
                s2 <- s2 + x * NativePtr.get pb 2
                s3 <- s3 + x * NativePtr.get pb 3
                pa <- NativePtr.add pa aStride
                pb <- NativePtr.add pb bStride
            let dst = NativePtr.add c (r * ldc)
            if overwrite then
                let beta = if NativePtr.isNullPtr bias then 0.0 else NativePtr.get bias r
                if NativePtr.isNullPtr bias then
                    NativePtr.set dst 0 s0
                    NativePtr.set dst 1 s1
                    NativePtr.set dst 2 s2
                    NativePtr.set dst 3 s3
                else
                    NativePtr.set dst 0 (s0 + beta)
                    NativePtr.set dst 1 (s1 + beta)
                    NativePtr.set dst 2 (s2 + beta)
                    NativePtr.set dst 3 (s3 + beta)
            else
                NativePtr.set dst 0 (NativePtr.get dst 0 + s0)
                NativePtr.set dst 1 (NativePtr.get dst 1 + s1)
                NativePtr.set dst 2 (NativePtr.get dst 2 + s2)
                NativePtr.set dst 3 (NativePtr.get dst 3 + s3)

    /// Runs the path's kernels over `rows` (≤ mr) rows of one packed A micro-panel (column stride mr),
    /// storing whole nr-wide rows. On the 512-bit path 5–7 rows use the 8-row kernel and 2–3 rows the
    /// 4-row kernel (the packed A panel is zero padded, so the extra rows compute zeros); the caller
    /// then points `c` at the tile buffer and copies out only the valid corner.
    let private runTile
        (path: int, mr: int, rows: int, kc: int, a: nativeptr<float>, b: nativeptr<float>, bStride: int,
         c: nativeptr<float>, ldc: int, overwrite: bool, bias: nativeptr<float>)
        =
        if path = Path512 then
            if rows > 4 then
                kernel512x8 (kc, a, mr, b, bStride, c, ldc, overwrite, bias)
            elif rows > 1 then
                kernel512x4 (kc, a, mr, b, bStride, c, ldc, overwrite, bias)
            else
                kernel512x1 (kc, a, mr, b, bStride, c, overwrite, bias)
        elif path = Path256 then
            if rows = 4 then
                kernel256x4 (kc, a, mr, b, bStride, c, ldc, overwrite, bias)
            else
                for r in 0 .. rows - 1 do
                    let rowBias = if NativePtr.isNullPtr bias then bias else NativePtr.add bias r
                    kernel256x1 (kc, NativePtr.add a r, mr, b, bStride, NativePtr.add c (r * ldc), overwrite, rowBias)
        else
            kernelScalar (rows, kc, a, mr, b, bStride, c, ldc, overwrite, bias)

    // ------------------------------------------------------------------------------------------
    // Packing
    // ------------------------------------------------------------------------------------------

    /// Packs op(A)[i0 .. i0+mb, p0 .. p0+kb] into mr-tall micro-panels: element (i, p) of panel q goes
    /// to dst[(q·kb + p)·mr + i − q·mr]. Rows past mb are zero so edge tiles can run full kernels.
    let private packA
        (a: nativeptr<float>, lda: int, transA: bool, i0: int, mb: int, p0: int, kb: int, mr: int,
         dst: nativeptr<float>)
        =
        let mutable q = 0
        while q < mb do
            let rows = min mr (mb - q)
            let panel = NativePtr.add dst (q * kb)
            if transA then
                // A is stored k×m: the mr values of column p are contiguous in row p of the storage.
                for p in 0 .. kb - 1 do
                    let src = NativePtr.add a ((p0 + p) * lda + i0 + q)
                    let d = NativePtr.add panel (p * mr)
                    for r in 0 .. rows - 1 do
                        NativePtr.set d r (NativePtr.get src r)
                    for r in rows .. mr - 1 do
                        NativePtr.set d r 0.0
            else
                for r in 0 .. rows - 1 do
                    let src = NativePtr.add a ((i0 + q + r) * lda + p0)
                    for p in 0 .. kb - 1 do
                        NativePtr.set panel (p * mr + r) (NativePtr.get src p)
                for r in rows .. mr - 1 do
                    for p in 0 .. kb - 1 do
                        NativePtr.set panel (p * mr + r) 0.0
            q <- q + mr

    /// Packs one nr-wide micro-panel of op(B)[p0 .. p0+kb, j0 .. j0+cols] (cols ≤ nr): row p goes to
    /// dst[p·nr ..], columns past cols are zero.
    let private packBPanel
        (b: nativeptr<float>, ldb: int, transB: bool, p0: int, kb: int, j0: int, cols: int, nr: int,
         dst: nativeptr<float>)
        =
        if transB then
            // B is stored n×k: column j of op(B) is row j of the storage, contiguous in p.
            for j in 0 .. cols - 1 do
                let src = NativePtr.add b ((j0 + j) * ldb + p0)
                for p in 0 .. kb - 1 do
                    NativePtr.set dst (p * nr + j) (NativePtr.get src p)
            if cols < nr then
                for p in 0 .. kb - 1 do
                    for j in cols .. nr - 1 do
                        NativePtr.set dst (p * nr + j) 0.0
        else
            for p in 0 .. kb - 1 do
                let src = NativePtr.add b ((p0 + p) * ldb + j0)
                let d = NativePtr.add dst (p * nr)
                Buffer.MemoryCopy(NativePtr.toVoidPtr src, NativePtr.toVoidPtr d, int64 nr * 8L, int64 cols * 8L)
                for j in cols .. nr - 1 do
                    NativePtr.set d j 0.0

    // ------------------------------------------------------------------------------------------
    // Driver
    // ------------------------------------------------------------------------------------------

    /// C (+)= op(A)·op(B) (+ bias) on pinned pointers; arguments already validated, m, n > 0.
    /// `bias` (null when absent) is added where a tile is first written, i.e. only when not accumulating.
    let private blocked
        (m: int, n: int, k: int, a: nativeptr<float>, lda: int, transA: bool, b: nativeptr<float>,
         ldb: int, transB: bool, c: nativeptr<float>, ldc: int, accumulate: bool, bias: nativeptr<float>)
        =
        let path = selectPath ()
        let mr, nr =
            if path = Path512 then 8, 24
            elif path = Path256 then 4, 12
            else 4, 4
        // Equal k slices no deeper than KcMax (784 → 4 × 196 rather than 3 × 256 + 16).
        let kSlices = (k + KcMax - 1) / KcMax
        let kcBlock = (k + kSlices - 1) / kSlices
        let ncBlock = min NcMax (((n + nr - 1) / nr) * nr)
        let mcBlock = min McMax (((m + mr - 1) / mr) * mr)
        // B is read in place (no packing) when a single A panel would use it, so a packed copy would
        // be read only once; only its ragged last micro-panel is packed, so full-width loads never
        // run past the row. (With two A panels, in-place reads at stride ldb measured slower.)
        let directB = not transB && m <= mr
        // One or two rows on the 512-bit path: the single-row kernel reads A where it is (stride 1
        // along k, or lda when A is stored transposed), so A is not packed at all.
        let directA = directB && path = Path512 && m <= 2
        let aLength = mcBlock * kcBlock
        let bLength = if directB then kcBlock * nr else kcBlock * ncBlock
        let scratch = GemmScratch.Get(aLength + bLength + mr * nr)
        let aPack = scratch
        let bPack = NativePtr.add scratch aLength
        let tile = NativePtr.add bPack bLength
        let mutable jc = 0
        while jc < n do
            let nb = min ncBlock (n - jc)
            let mutable pc = 0
            while pc < k do
                let kb = min kcBlock (k - pc)
                let overwrite = pc = 0 && not accumulate
                if directB then
                    let full = (nb / nr) * nr
                    if full < nb then
                        packBPanel (b, ldb, false, pc, kb, jc + full, nb - full, nr, bPack)
                else
                    let mutable jr = 0
                    while jr < nb do
                        packBPanel (b, ldb, transB, pc, kb, jc + jr, min nr (nb - jr), nr, NativePtr.add bPack (jr * kb))
                        jr <- jr + nr
                let mutable ic = 0
                while ic < m do
                    let mb = min mcBlock (m - ic)
                    if not directA then
                        packA (a, lda, transA, ic, mb, pc, kb, mr, aPack)
                    let mutable jr = 0
                    while jr < nb do
                        let cols = min nr (nb - jr)
                        // Unpacked A and B: two full panels at once through the 1×48 kernel.
                        let wide = directA && jr + 2 * nr <= nb
                        let mutable bPanel = NativePtr.add bPack (jr * kb)
                        let mutable bStride = nr
                        if directB then
                            if cols = nr then
                                bPanel <- NativePtr.add b (pc * ldb + jc + jr)
                                bStride <- ldb
                            else
                                bPanel <- bPack
                        let mutable ir = 0
                        while ir < mb do
                            let rows = min mr (mb - ir)
                            let aPanel = NativePtr.add aPack (ir * kb)
                            let cTile = NativePtr.add c ((ic + ir) * ldc + jc + jr)
                            let rowBias = if NativePtr.isNullPtr bias then bias else NativePtr.add bias (ic + ir)
                            if directA then
                                for r in 0 .. rows - 1 do
                                    let i = ic + ir + r
                                    let aRow = if transA then NativePtr.add a (pc * lda + i) else NativePtr.add a (i * lda + pc)
                                    let aStride = if transA then lda else 1
                                    let biasRow = if NativePtr.isNullPtr bias then bias else NativePtr.add bias i
                                    let cRow = NativePtr.add cTile (r * ldc)
                                    if wide then
                                        kernel512x1Wide (kb, aRow, aStride, bPanel, bStride, cRow, overwrite, biasRow)
                                    elif cols = nr then
                                        kernel512x1 (kb, aRow, aStride, bPanel, bStride, cRow, overwrite, biasRow)
                                    else
                                        kernel512x1 (kb, aRow, aStride, bPanel, bStride, tile, true, NativePtr.nullPtr)
                                        copyOutTile512 (tile, 1, cols, cRow, ldc, overwrite, biasRow)
                            elif cols = nr && (rows = mr || path <> Path512) then
                                runTile (path, mr, rows, kb, aPanel, bPanel, bStride, cTile, ldc, overwrite, rowBias)
                            elif path = Path512 then
                                runTile (path, mr, rows, kb, aPanel, bPanel, bStride, tile, nr, true, NativePtr.nullPtr)
                                copyOutTile512 (tile, rows, cols, cTile, ldc, overwrite, rowBias)
                            else
                                // Narrower paths: ragged columns go through the tile buffer and are copied
                                // out element by element with the same final operation (T, T + bias or C + T).
                                runTile (path, mr, rows, kb, aPanel, bPanel, bStride, tile, nr, true, NativePtr.nullPtr)
                                for r in 0 .. rows - 1 do
                                    let dst = NativePtr.add cTile (r * ldc)
                                    let src = NativePtr.add tile (r * nr)
                                    if not overwrite then
                                        for j in 0 .. cols - 1 do
                                            NativePtr.set dst j (NativePtr.get dst j + NativePtr.get src j)
                                    elif NativePtr.isNullPtr rowBias then
                                        for j in 0 .. cols - 1 do
                                            NativePtr.set dst j (NativePtr.get src j)
                                    else
                                        let beta = NativePtr.get rowBias r
                                        for j in 0 .. cols - 1 do
                                            NativePtr.set dst j (NativePtr.get src j + beta)
                            ir <- ir + mr
                        jr <- jr + (if wide then 2 * nr else nr)
                    ic <- ic + mcBlock
                pc <- pc + kcBlock
            jc <- jc + ncBlock

    /// Shared entry of the fast kernels: pins the spans and handles the degenerate shapes.
    let private run
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, transA: bool, b: ReadOnlySpan<float>,
         ldb: int, transB: bool, c: Span<float>, ldc: int, accumulate: bool, bias: ReadOnlySpan<float>,
         hasBias: bool)
        =
        if m > 0 && n > 0 then
            if k = 0 then
                // Empty sum: C = 0 (+ bias), or C unchanged when accumulating.
                if not accumulate then
                    for i in 0 .. m - 1 do
                        c.Slice(i * ldc, n).Fill(if hasBias then bias[i] else 0.0)
            else
                use pa = fixed &MemoryMarshal.GetReference a
                use pb = fixed &MemoryMarshal.GetReference b
                use pc = fixed &MemoryMarshal.GetReference c
                use pbias = fixed &MemoryMarshal.GetReference bias
                let biasPtr = if hasBias then pbias else NativePtr.nullPtr
                blocked (m, n, k, pa, lda, transA, pb, ldb, transB, pc, ldc, accumulate, biasPtr)

    // ------------------------------------------------------------------------------------------
    // Public (internal) fast kernels
    // ------------------------------------------------------------------------------------------

    /// <summary>Computes <c>C = A·B</c>, or <c>C += A·B</c> when <paramref name="accumulate"/> is true:
    /// <c>c[i·ldc + j] (+)= Σ_{p&lt;k} a[i·lda + p]·b[p·ldb + j]</c> for i &lt; m, j &lt; n.</summary>
    /// <param name="m">Rows of A and C (≥ 0).</param>
    /// <param name="n">Columns of B and C (≥ 0).</param>
    /// <param name="k">Columns of A and rows of B (≥ 0); k = 0 gives C = 0 (or C unchanged).</param>
    /// <param name="a">A, m×k row-major with leading dimension <paramref name="lda"/> ≥ k.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">B, k×n row-major with leading dimension <paramref name="ldb"/> ≥ n.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="c">C, m×n row-major with leading dimension <paramref name="ldc"/> ≥ n; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it (BLAS β = 1 rather than β = 0).</param>
    /// <exception cref="System.ArgumentException">A negative size, a leading dimension shorter than its
    /// row, a span too short for its matrix, or C overlapping an input; the parameter is named.</exception>
    /// <remarks>BLAS analogue: <c>cblas_dgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1.0, a, lda, b, ldb, β, c, ldc)</c>
    /// with β ∈ {0, 1}. Goto/BLIS blocking (k slices ≤ 256 deep, 128-row A blocks, 2040-column B blocks)
    /// around an 8×24 Vector512 FMA microkernel (4×12 Vector256, 4×4 scalar fallbacks). Single-threaded and
    /// bit-deterministic: each C element is summed in a fixed order (k slices in order, p ascending
    /// inside a slice with one FMA per step, each slice added to C), independent of its tile position.
    /// Allocation-free after the first call on a thread (pinned thread-static packing buffers).</remarks>
    let multiply
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
        run (m, n, k, a, lda, false, b, ldb, false, c, ldc, accumulate, ReadOnlySpan.Empty, false)

    /// <summary>Computes <c>C (+)= Aᵀ·B</c> where A is stored k×m:
    /// <c>c[i·ldc + j] (+)= Σ_{p&lt;k} a[p·lda + i]·b[p·ldb + j]</c>.</summary>
    /// <param name="m">Columns of the stored A, rows of C.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Rows of the stored A and of B.</param>
    /// <param name="a">A, k×m row-major, <paramref name="lda"/> ≥ m.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">B, k×n row-major, <paramref name="ldb"/> ≥ n.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="c">C, m×n row-major, <paramref name="ldc"/> ≥ n; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <exception cref="System.ArgumentException">As for <see cref="multiply"/>.</exception>
    /// <remarks>BLAS analogue: <c>cblas_dgemm(RowMajor, Trans, NoTrans, …)</c>. Same kernel as
    /// <see cref="multiply"/>; only the packing of A differs (it reads rows of the stored A, which is
    /// the cheap direction). Typical use: weight gradients Xᵀ·δ.</remarks>
    let multiplyTransposeA
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, k, m, b, ldb, k, n, c, ldc)
        run (m, n, k, a, lda, true, b, ldb, false, c, ldc, accumulate, ReadOnlySpan.Empty, false)

    /// <summary>Computes <c>C (+)= A·Bᵀ</c> where B is stored n×k:
    /// <c>c[i·ldc + j] (+)= Σ_{p&lt;k} a[i·lda + p]·b[j·ldb + p]</c>.</summary>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Rows of the stored B, columns of C.</param>
    /// <param name="k">Columns of A and of the stored B.</param>
    /// <param name="a">A, m×k row-major, <paramref name="lda"/> ≥ k.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">B, n×k row-major, <paramref name="ldb"/> ≥ k.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="c">C, m×n row-major, <paramref name="ldc"/> ≥ n; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <exception cref="System.ArgumentException">As for <see cref="multiply"/>.</exception>
    /// <remarks>BLAS analogue: <c>cblas_dgemm(RowMajor, NoTrans, Trans, …)</c>. Same kernel as
    /// <see cref="multiply"/>; B is always packed (the transpose happens in the packing).
    /// Typical use: back-propagating δ through a layer, Wᵀ·δ's row-major twin.</remarks>
    let multiplyTransposeB
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         c: Span<float>, ldc: int, accumulate: bool)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, n, k, c, ldc)
        run (m, n, k, a, lda, false, b, ldb, true, c, ldc, accumulate, ReadOnlySpan.Empty, false)

    /// <summary>Computes <c>C = A·B + bias·1ᵀ</c>: <c>c[i·ldc + j] = bias[i] + Σ_p a[i·lda + p]·b[p·ldb + j]</c>.
    /// The forward pass of a dense layer over a feature-major batch (row i of C is neuron i across the
    /// n batch columns).</summary>
    /// <param name="m">Rows of A and C; <paramref name="bias"/> needs at least m values.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Columns of A and rows of B.</param>
    /// <param name="a">A, m×k, <paramref name="lda"/> ≥ k.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">B, k×n, <paramref name="ldb"/> ≥ n.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="bias">Per-row bias, length ≥ m.</param>
    /// <param name="c">C, m×n, <paramref name="ldc"/> ≥ n; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <exception cref="System.ArgumentException">As for <see cref="multiply"/>, or bias too short.</exception>
    /// <remarks>BLAS analogue: fill C with the bias, then <c>dgemm</c> with β = 1. Here the bias is fused
    /// into the store of the first k slice (T + bias[i]), so C is written once per slice and never read
    /// for the bias. Each element equals <c>(Σ first slice + bias) + later slices</c>.</remarks>
    let multiplyAddBias
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         bias: ReadOnlySpan<float>, c: Span<float>, ldc: int)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
        if bias.Length < m then
            invalidArg (nameof bias) (sprintf "Expected at least %d bias values but got %d." m bias.Length)
        run (m, n, k, a, lda, false, b, ldb, false, c, ldc, false, bias, true)

    /// Default for the parallel entry points: every logical core.
    let DefaultParallelism = Environment.ProcessorCount

    /// Below this many flops (2·m·n·k) a split costs more than it saves (a thread hand-off is a few µs).
    [<Literal>]
    let ParallelFlopThreshold = 4_000_000.0

    /// The column split of the parallel entry points, with the threshold as a parameter (tests force splits).
    let internal multiplyAddBiasParallelWith
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         bias: ReadOnlySpan<float>, c: Span<float>, ldc: int, maxDegreeOfParallelism: int, flopThreshold: float)
        : unit =
        validate (m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
        if bias.Length < m then
            invalidArg (nameof bias) (sprintf "Expected at least %d bias values but got %d." m bias.Length)
        if maxDegreeOfParallelism < 1 then
            invalidArg (nameof maxDegreeOfParallelism) "Must be at least 1."
        // Column blocks in whole 24-wide micro-panels: each thread computes C[:, j0..j1) = A·B[:, j0..j1) + bias
        // with the single-threaded kernel, whose per-element summation order does not depend on the column range,
        // so the result is bit-identical to one thread.
        let panels = (n + 23) / 24
        let parts = min maxDegreeOfParallelism panels
        if parts <= 1 || k = 0 || m = 0 || 2.0 * float m * float n * float k < flopThreshold then
            run (m, n, k, a, lda, false, b, ldb, false, c, ldc, false, bias, true)
        else
            use pa = fixed &MemoryMarshal.GetReference a
            use pb = fixed &MemoryMarshal.GetReference b
            use pc = fixed &MemoryMarshal.GetReference c
            use pbias = fixed &MemoryMarshal.GetReference bias
            let addressA = NativePtr.toNativeInt pa
            let addressB = NativePtr.toNativeInt pb
            let addressC = NativePtr.toNativeInt pc
            let addressBias = NativePtr.toNativeInt pbias
            let work (part: int) =
                let j0 = 24 * (panels * part / parts)
                let j1 = min n (24 * (panels * (part + 1) / parts))
                if j1 > j0 then
                    blocked (
                        m, j1 - j0, k, NativePtr.ofNativeInt<float> addressA, lda, false,
                        NativePtr.add (NativePtr.ofNativeInt<float> addressB) j0, ldb, false,
                        NativePtr.add (NativePtr.ofNativeInt<float> addressC) j0, ldc, false,
                        NativePtr.ofNativeInt<float> addressBias
                    )
            System.Threading.Tasks.Parallel.For(0, parts, System.Threading.Tasks.ParallelOptions(MaxDegreeOfParallelism = parts), work)
            |> ignore

    /// <summary><c>C = A·B + bias·1ᵀ</c> (see <see cref="multiplyAddBias"/>) split over column blocks of C on up to
    /// <paramref name="maxDegreeOfParallelism"/> threads; bit-identical to the single-threaded call.</summary>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Columns of A and rows of B.</param>
    /// <param name="a">A, m×k, <paramref name="lda"/> ≥ k.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">B, k×n, <paramref name="ldb"/> ≥ n.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="bias">Per-row bias, length ≥ m.</param>
    /// <param name="c">C, m×n, <paramref name="ldc"/> ≥ n; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="maxDegreeOfParallelism">Thread cap (≥ 1; <c>DefaultParallelism</c> = all logical cores).</param>
    /// <remarks>Products below <c>ParallelFlopThreshold</c> flops run on the calling thread. Each worker uses its own
    /// thread-static packing buffers; the split itself allocates a few hundred bytes per call (Parallel.For).</remarks>
    let multiplyAddBiasParallel
        (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int,
         bias: ReadOnlySpan<float>, c: Span<float>, ldc: int, maxDegreeOfParallelism: int)
        : unit =
        multiplyAddBiasParallelWith (m, n, k, a, lda, b, ldb, bias, c, ldc, maxDegreeOfParallelism, ParallelFlopThreshold)

    /// <summary>Adds a per-row bias in place: <c>c[i·ldc + j] += bias[i]</c> for i &lt; m, j &lt; n.</summary>
    /// <param name="m">Rows of C; <paramref name="bias"/> needs at least m values.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="bias">Per-row bias.</param>
    /// <param name="c">C, m×n, <paramref name="ldc"/> ≥ n.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <exception cref="System.ArgumentException">Negative size, short bias or short C (parameter named).</exception>
    /// <remarks>BLAS analogue: a rank-1 update <c>dger</c> with a ones vector. Each row is one
    /// <c>TensorPrimitives.Add(row, bias[i], row)</c> (exact in-place overlap is allowed there).</remarks>
    let addRowBias (m: int, n: int, bias: ReadOnlySpan<float>, c: Span<float>, ldc: int) : unit =
        validateBias (m, n, bias, c, ldc)
        // n = 0: a tight C may be empty, so row slices past its end must not be formed.
        for i in 0 .. (if n = 0 then -1 else m - 1) do
            let row = c.Slice(i * ldc, n)
            TensorPrimitives.Add(Span.op_Implicit row, bias[i], row)

    /// <summary>Rectified linear unit: <c>dst[i] = max(src[i], 0)</c> for i &lt; src.Length, with
    /// <c>Math.Max</c> semantics (NaN propagates, so a diverging network stays visible).</summary>
    /// <param name="src">Input values.</param>
    /// <param name="dst">Output, at least as long as <paramref name="src"/>; may be the same span.</param>
    /// <exception cref="System.ArgumentException"><paramref name="dst"/> is shorter than <paramref name="src"/>.</exception>
    /// <remarks>No BLAS analogue; delegates to <c>TensorPrimitives.Max(src, 0.0, dst)</c> (SIMD, tail-safe).</remarks>
    let reluInto (src: ReadOnlySpan<float>, dst: Span<float>) : unit =
        if dst.Length < src.Length then
            invalidArg (nameof dst) (sprintf "Destination has %d elements but the source has %d." dst.Length src.Length)
        TensorPrimitives.Max(src, 0.0, dst.Slice(0, src.Length))
