namespace SheafCore.Numerics

// Fused element-wise kernels of the heat step, the sheaf-training step and the backprop step. Each kernel has a
// scalar reference twin (`…Reference`) that defines it; the vector kernel writes bit-identical arrays (the same
// IEEE operations per element, masks by compare + select, no FMA contraction) and only reductions differ:
// sums of squares are accumulated in vector lanes (different rounding order), maxima are exact.
// Pointers on spans pinned with `fixed` for the duration of a call.
#nowarn "9"

open System
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

[<RequireQualifiedAccess>]
module internal FusedKernels =

    let inline private ld512 (p: nativeptr<float>) (i: int) = Vector512.Load(NativePtr.add p i)
    let inline private st512 (p: nativeptr<float>) (i: int) (v: Vector512<float>) = Vector512.Store(v, NativePtr.add p i)
    let inline private ld256 (p: nativeptr<float>) (i: int) = Vector256.Load(NativePtr.add p i)
    let inline private st256 (p: nativeptr<float>) (i: int) (v: Vector256<float>) = Vector256.Store(v, NativePtr.add p i)

    /// Scalar maximum that propagates NaN (the reductions below return NaN as soon as one |Δ| is NaN).
    let inline private maxNan (acc: float) (v: float) = if Double.IsNaN v || v > acc then v else acc

    // ---------------------------------------------------------------------------------------------------------
    // r ← r − z, returns Σ (r − z)²

    /// <summary>Scalar twin: r_i ← r_i − z_i for i &lt; r.Length; returns Σ_i (r_i − z_i)² (sequential sum).</summary>
    let subtractSumSquaresReference (r: Span<float>, z: ReadOnlySpan<float>) : float =
        Guard.atLeast (nameof z) r.Length z.Length
        let mutable acc = 0.0
        for i in 0 .. r.Length - 1 do
            let v = r[i] - z[i]
            r[i] <- v
            acc <- acc + v * v
        acc

    /// <summary>r_i ← r_i − z_i (bit-identical to the twin); returns Σ (r_i − z_i)² accumulated in vector lanes.</summary>
    let subtractSumSquares (r: Span<float>, z: ReadOnlySpan<float>) : float =
        Guard.atLeast (nameof z) r.Length z.Length
        let n = r.Length
        use pr = fixed &MemoryMarshal.GetReference r
        use pz = fixed &MemoryMarshal.GetReference z
        let mutable i = 0
        let mutable acc = 0.0
        if Vector512.IsHardwareAccelerated then
            let mutable s0 = Vector512<float>.Zero
            let mutable s1 = Vector512<float>.Zero
            while i + 16 <= n do
                let v0 = ld512 pr i - ld512 pz i
                let v1 = ld512 pr (i + 8) - ld512 pz (i + 8)
                st512 pr i v0
                st512 pr (i + 8) v1
                s0 <- s0 + v0 * v0
                s1 <- s1 + v1 * v1
                i <- i + 16
            if i + 8 <= n then
                let v0 = ld512 pr i - ld512 pz i
                st512 pr i v0
                s0 <- s0 + v0 * v0
                i <- i + 8
            acc <- Vector512.Sum(s0 + s1)
        elif Vector256.IsHardwareAccelerated then
            let mutable s0 = Vector256<float>.Zero
            while i + 4 <= n do
                let v0 = ld256 pr i - ld256 pz i
                st256 pr i v0
                s0 <- s0 + v0 * v0
                i <- i + 4
            acc <- Vector256.Sum s0
        while i < n do
            let v = NativePtr.get pr i - NativePtr.get pz i
            NativePtr.set pr i v
            acc <- acc + v * v
            i <- i + 1
        acc

    // ---------------------------------------------------------------------------------------------------------
    // Heat step, hidden layer: forces of z^(ℓ) and a^(ℓ) and the activation-edge discord.

    /// <summary>Scalar twin of the hidden-layer heat forces (theory §3.2), σ = [z ≥ 0] of the current state:
    /// fz = r − σ(z − a), fa = −(a − σz) − back; returns Σ ‖σz − a‖² (sequential).</summary>
    let heatHiddenForcesReference
        (z: ReadOnlySpan<float>, a: ReadOnlySpan<float>, r: ReadOnlySpan<float>, back: ReadOnlySpan<float>, fz: Span<float>, fa: Span<float>)
        : float =
        let n = z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof back) n back.Length
        Guard.atLeast (nameof fz) n fz.Length
        Guard.atLeast (nameof fa) n fa.Length
        let mutable discord = 0.0
        for i in 0 .. n - 1 do
            let zi = z[i]
            let ai = a[i]
            if zi >= 0.0 then
                fz[i] <- r[i] - (zi - ai)
                fa[i] <- -(ai - zi) - back[i]
                discord <- discord + (zi - ai) * (zi - ai)
            else
                fz[i] <- r[i]
                fa[i] <- -ai - back[i]
                discord <- discord + ai * ai
        discord

    /// <summary>The hidden-layer heat forces, vectorised: forces bit-identical to the twin (mask by compare and
    /// select); the discord is summed in vector lanes.</summary>
    let heatHiddenForces
        (z: ReadOnlySpan<float>, a: ReadOnlySpan<float>, r: ReadOnlySpan<float>, back: ReadOnlySpan<float>, fz: Span<float>, fa: Span<float>)
        : float =
        let n = z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof back) n back.Length
        Guard.atLeast (nameof fz) n fz.Length
        Guard.atLeast (nameof fa) n fa.Length
        use pz = fixed &MemoryMarshal.GetReference z
        use pa = fixed &MemoryMarshal.GetReference a
        use pr = fixed &MemoryMarshal.GetReference r
        use pb = fixed &MemoryMarshal.GetReference back
        use pfz = fixed &MemoryMarshal.GetReference fz
        use pfa = fixed &MemoryMarshal.GetReference fa
        let mutable i = 0
        let mutable discord = 0.0
        if Vector512.IsHardwareAccelerated then
            let mutable s0 = Vector512<float>.Zero
            while i + 8 <= n do
                let zv = ld512 pz i
                let av = ld512 pa i
                let active = Vector512.GreaterThanOrEqual(zv, Vector512<float>.Zero)
                let zma = zv - av
                let rv = ld512 pr i
                st512 pfz i (Vector512.ConditionalSelect(active, rv - zma, rv))
                st512 pfa i (Vector512.ConditionalSelect(active, -(av - zv), -av) - ld512 pb i)
                let d = Vector512.ConditionalSelect(active, zma, av)
                s0 <- s0 + d * d
                i <- i + 8
            discord <- Vector512.Sum s0
        elif Vector256.IsHardwareAccelerated then
            let mutable s0 = Vector256<float>.Zero
            while i + 4 <= n do
                let zv = ld256 pz i
                let av = ld256 pa i
                let active = Vector256.GreaterThanOrEqual(zv, Vector256<float>.Zero)
                let zma = zv - av
                let rv = ld256 pr i
                st256 pfz i (Vector256.ConditionalSelect(active, rv - zma, rv))
                st256 pfa i (Vector256.ConditionalSelect(active, -(av - zv), -av) - ld256 pb i)
                let d = Vector256.ConditionalSelect(active, zma, av)
                s0 <- s0 + d * d
                i <- i + 4
            discord <- Vector256.Sum s0
        while i < n do
            let zi = NativePtr.get pz i
            let ai = NativePtr.get pa i
            if zi >= 0.0 then
                NativePtr.set pfz i (NativePtr.get pr i - (zi - ai))
                NativePtr.set pfa i (-(ai - zi) - NativePtr.get pb i)
                discord <- discord + (zi - ai) * (zi - ai)
            else
                NativePtr.set pfz i (NativePtr.get pr i)
                NativePtr.set pfa i (-ai - NativePtr.get pb i)
                discord <- discord + ai * ai
            i <- i + 1
        discord

    // ---------------------------------------------------------------------------------------------------------
    // Explicit Euler update v ← v + s·f, returns max |Δ| (NaN if any Δ is not finite).

    /// <summary>Scalar twin: v_i ← v_i + s·f_i; returns max_i |new − old|, or NaN when some change is not finite.</summary>
    let advanceReference (v: Span<float>, f: ReadOnlySpan<float>, s: float) : float =
        Guard.atLeast (nameof f) v.Length f.Length
        let mutable change = 0.0
        let mutable finite = true
        for i in 0 .. v.Length - 1 do
            let old = v[i]
            let updated = old + s * f[i]
            v[i] <- updated
            let d = abs (updated - old)
            finite <- finite && Double.IsFinite d
            change <- maxNan change d
        if finite then change else nan

    /// <summary>v_i ← v_i + s·f_i vectorised (bit-identical to the twin); returns max |Δ| or NaN as the twin.</summary>
    let advance (v: Span<float>, f: ReadOnlySpan<float>, s: float) : float =
        Guard.atLeast (nameof f) v.Length f.Length
        let n = v.Length
        use pv = fixed &MemoryMarshal.GetReference v
        use pf = fixed &MemoryMarshal.GetReference f
        let mutable i = 0
        let mutable change = 0.0
        let mutable probe = 0.0
        if Vector512.IsHardwareAccelerated then
            let sv = Vector512.Create s
            let mutable m0 = Vector512<float>.Zero
            let mutable m1 = Vector512<float>.Zero
            // d·0 is 0 for finite d and NaN otherwise: one add per vector keeps the finiteness check branch-free.
            let mutable p0 = Vector512<float>.Zero
            while i + 16 <= n do
                let o0 = ld512 pv i
                let o1 = ld512 pv (i + 8)
                let u0 = o0 + sv * ld512 pf i
                let u1 = o1 + sv * ld512 pf (i + 8)
                st512 pv i u0
                st512 pv (i + 8) u1
                let d0 = Vector512.Abs(u0 - o0)
                let d1 = Vector512.Abs(u1 - o1)
                m0 <- Vector512.MaxNative(m0, d0)
                m1 <- Vector512.MaxNative(m1, d1)
                p0 <- p0 + (d0 + d1) * Vector512<float>.Zero
                i <- i + 16
            if i + 8 <= n then
                let o0 = ld512 pv i
                let u0 = o0 + sv * ld512 pf i
                st512 pv i u0
                let d0 = Vector512.Abs(u0 - o0)
                m0 <- Vector512.MaxNative(m0, d0)
                p0 <- p0 + d0 * Vector512<float>.Zero
                i <- i + 8
            let m = Vector512.MaxNative(m0, m1)
            for lane in 0 .. 7 do
                change <- max change (m.GetElement lane)
            probe <- Vector512.Sum p0
        elif Vector256.IsHardwareAccelerated then
            let sv = Vector256.Create s
            let mutable m0 = Vector256<float>.Zero
            let mutable p0 = Vector256<float>.Zero
            while i + 4 <= n do
                let o0 = ld256 pv i
                let u0 = o0 + sv * ld256 pf i
                st256 pv i u0
                let d0 = Vector256.Abs(u0 - o0)
                m0 <- Vector256.MaxNative(m0, d0)
                p0 <- p0 + d0 * Vector256<float>.Zero
                i <- i + 4
            for lane in 0 .. 3 do
                change <- max change (m0.GetElement lane)
            probe <- Vector256.Sum p0
        while i < n do
            let old = NativePtr.get pv i
            let updated = old + s * NativePtr.get pf i
            NativePtr.set pv i updated
            let d = abs (updated - old)
            probe <- probe + d * 0.0
            change <- maxNan change d
            i <- i + 1
        if Double.IsFinite probe && Double.IsFinite change then change else nan

    // ---------------------------------------------------------------------------------------------------------
    // Sheaf-training step: in-place Jacobi update of a hidden (z, a) pair and of the last z.

    /// <summary>Scalar twin of the hidden-layer stalk update of a training step (s = α·dt, σ = [z ≥ 0] of the old z):
    /// z ← z + s·(r − σ(z − a)), a ← a + s·(−(a − σz) − back); returns max |Δ| over z and a (NaN-propagating).</summary>
    let trainHiddenReference (z: Span<float>, a: Span<float>, r: ReadOnlySpan<float>, back: ReadOnlySpan<float>, s: float) : float =
        let n = z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof back) n back.Length
        let mutable change = 0.0
        for j in 0 .. n - 1 do
            let zi = z[j]
            let ai = a[j]
            let struct (zNew, aNew) =
                if zi >= 0.0 then
                    struct (zi + s * (r[j] + -(zi - ai)), ai + s * (-(ai - zi) + -back[j]))
                else
                    struct (zi + s * r[j], ai + s * (-ai + -back[j]))
            change <- maxNan (maxNan change (abs (zNew - zi))) (abs (aNew - ai))
            z[j] <- zNew
            a[j] <- aNew
        change

    /// <summary>The hidden-layer stalk update, vectorised; z and a bit-identical to the twin, the same maximum.</summary>
    let trainHidden (z: Span<float>, a: Span<float>, r: ReadOnlySpan<float>, back: ReadOnlySpan<float>, s: float) : float =
        let n = z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof back) n back.Length
        use pz = fixed &MemoryMarshal.GetReference z
        use pa = fixed &MemoryMarshal.GetReference a
        use pr = fixed &MemoryMarshal.GetReference r
        use pb = fixed &MemoryMarshal.GetReference back
        let mutable i = 0
        let mutable change = 0.0
        let mutable nanSeen = false
        if Vector512.IsHardwareAccelerated then
            let sv = Vector512.Create s
            let mutable m0 = Vector512<float>.Zero
            let mutable bad = Vector512<float>.Zero
            while i + 8 <= n do
                let zv = ld512 pz i
                let av = ld512 pa i
                let rv = ld512 pr i
                let active = Vector512.GreaterThanOrEqual(zv, Vector512<float>.Zero)
                let zNew = zv + sv * Vector512.ConditionalSelect(active, rv + -(zv - av), rv)
                let aNew = av + sv * (Vector512.ConditionalSelect(active, -(av - zv), -av) + -(ld512 pb i))
                st512 pz i zNew
                st512 pa i aNew
                let dz = Vector512.Abs(zNew - zv)
                let da = Vector512.Abs(aNew - av)
                m0 <- Vector512.MaxNative(m0, Vector512.MaxNative(dz, da))
                bad <- bad ||| Vector512.OnesComplement(Vector512.Equals(dz, dz) &&& Vector512.Equals(da, da))
                i <- i + 8
            for lane in 0 .. 7 do
                change <- max change (m0.GetElement lane)
            nanSeen <- Vector512.ExtractMostSignificantBits bad <> 0UL
        elif Vector256.IsHardwareAccelerated then
            let sv = Vector256.Create s
            let mutable m0 = Vector256<float>.Zero
            let mutable bad = Vector256<float>.Zero
            while i + 4 <= n do
                let zv = ld256 pz i
                let av = ld256 pa i
                let rv = ld256 pr i
                let active = Vector256.GreaterThanOrEqual(zv, Vector256<float>.Zero)
                let zNew = zv + sv * Vector256.ConditionalSelect(active, rv + -(zv - av), rv)
                let aNew = av + sv * (Vector256.ConditionalSelect(active, -(av - zv), -av) + -(ld256 pb i))
                st256 pz i zNew
                st256 pa i aNew
                let dz = Vector256.Abs(zNew - zv)
                let da = Vector256.Abs(aNew - av)
                m0 <- Vector256.MaxNative(m0, Vector256.MaxNative(dz, da))
                bad <- bad ||| Vector256.OnesComplement(Vector256.Equals(dz, dz) &&& Vector256.Equals(da, da))
                i <- i + 4
            for lane in 0 .. 3 do
                change <- max change (m0.GetElement lane)
            nanSeen <- Vector256.ExtractMostSignificantBits bad <> 0u
        while i < n do
            let zi = NativePtr.get pz i
            let ai = NativePtr.get pa i
            let rj = NativePtr.get pr i
            let bj = NativePtr.get pb i
            let struct (zNew, aNew) =
                if zi >= 0.0 then struct (zi + s * (rj + -(zi - ai)), ai + s * (-(ai - zi) + -bj))
                else struct (zi + s * rj, ai + s * (-ai + -bj))
            change <- maxNan (maxNan change (abs (zNew - zi))) (abs (aNew - ai))
            NativePtr.set pz i zNew
            NativePtr.set pa i aNew
            i <- i + 1
        if nanSeen then nan else change

    /// <summary>Scalar twin of the last-layer update of a training step: z ← z + s·(r − γ(φ − y));
    /// returns max |Δ| (NaN-propagating).</summary>
    let trainOutputReference (z: Span<float>, r: ReadOnlySpan<float>, phi: ReadOnlySpan<float>, y: ReadOnlySpan<float>, s: float, gamma: float) : float =
        let n = z.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof phi) n phi.Length
        Guard.atLeast (nameof y) n y.Length
        let mutable change = 0.0
        for j in 0 .. n - 1 do
            let zi = z[j]
            let zNew = zi + s * (r[j] - gamma * (phi[j] - y[j]))
            change <- maxNan change (abs (zNew - zi))
            z[j] <- zNew
        change

    /// <summary>The last-layer update, vectorised; bit-identical to the twin.</summary>
    let trainOutput (z: Span<float>, r: ReadOnlySpan<float>, phi: ReadOnlySpan<float>, y: ReadOnlySpan<float>, s: float, gamma: float) : float =
        let n = z.Length
        Guard.atLeast (nameof r) n r.Length
        Guard.atLeast (nameof phi) n phi.Length
        Guard.atLeast (nameof y) n y.Length
        use pz = fixed &MemoryMarshal.GetReference z
        use pr = fixed &MemoryMarshal.GetReference r
        use pp = fixed &MemoryMarshal.GetReference phi
        use py = fixed &MemoryMarshal.GetReference y
        let mutable i = 0
        let mutable change = 0.0
        let mutable nanSeen = false
        if Vector512.IsHardwareAccelerated then
            let sv = Vector512.Create s
            let gv = Vector512.Create gamma
            let mutable m0 = Vector512<float>.Zero
            let mutable bad = Vector512<float>.Zero
            while i + 8 <= n do
                let zv = ld512 pz i
                let zNew = zv + sv * (ld512 pr i - gv * (ld512 pp i - ld512 py i))
                st512 pz i zNew
                let d = Vector512.Abs(zNew - zv)
                m0 <- Vector512.MaxNative(m0, d)
                bad <- bad ||| Vector512.OnesComplement(Vector512.Equals(d, d))
                i <- i + 8
            for lane in 0 .. 7 do
                change <- max change (m0.GetElement lane)
            nanSeen <- Vector512.ExtractMostSignificantBits bad <> 0UL
        elif Vector256.IsHardwareAccelerated then
            let sv = Vector256.Create s
            let gv = Vector256.Create gamma
            let mutable m0 = Vector256<float>.Zero
            let mutable bad = Vector256<float>.Zero
            while i + 4 <= n do
                let zv = ld256 pz i
                let zNew = zv + sv * (ld256 pr i - gv * (ld256 pp i - ld256 py i))
                st256 pz i zNew
                let d = Vector256.Abs(zNew - zv)
                m0 <- Vector256.MaxNative(m0, d)
                bad <- bad ||| Vector256.OnesComplement(Vector256.Equals(d, d))
                i <- i + 4
            for lane in 0 .. 3 do
                change <- max change (m0.GetElement lane)
            nanSeen <- Vector256.ExtractMostSignificantBits bad <> 0u
        while i < n do
            let zi = NativePtr.get pz i
            let zNew = zi + s * (NativePtr.get pr i - gamma * (NativePtr.get pp i - NativePtr.get py i))
            change <- maxNan change (abs (zNew - zi))
            NativePtr.set pz i zNew
            i <- i + 1
        if nanSeen then nan else change

    // ---------------------------------------------------------------------------------------------------------
    // Backprop: δ ← δ ⊙ [z > 0].

    /// <summary>Scalar twin: delta_i ← 0 unless z_i &gt; 0 (the ReLU derivative is 0 at z = 0 and for NaN).</summary>
    let reluBackwardReference (delta: Span<float>, z: ReadOnlySpan<float>) =
        Guard.atLeast (nameof z) delta.Length z.Length
        for i in 0 .. delta.Length - 1 do
            if not (z[i] > 0.0) then delta[i] <- 0.0

    /// <summary>delta_i ← z_i &gt; 0 ? delta_i : 0, vectorised by compare and select; bit-identical to the twin.</summary>
    let reluBackward (delta: Span<float>, z: ReadOnlySpan<float>) =
        Guard.atLeast (nameof z) delta.Length z.Length
        let n = delta.Length
        use pd = fixed &MemoryMarshal.GetReference delta
        use pz = fixed &MemoryMarshal.GetReference z
        let mutable i = 0
        if Vector512.IsHardwareAccelerated then
            while i + 8 <= n do
                st512 pd i (Vector512.ConditionalSelect(Vector512.GreaterThan(ld512 pz i, Vector512<float>.Zero), ld512 pd i, Vector512<float>.Zero))
                i <- i + 8
        elif Vector256.IsHardwareAccelerated then
            while i + 4 <= n do
                st256 pd i (Vector256.ConditionalSelect(Vector256.GreaterThan(ld256 pz i, Vector256<float>.Zero), ld256 pd i, Vector256<float>.Zero))
                i <- i + 4
        while i < n do
            if not (NativePtr.get pz i > 0.0) then NativePtr.set pd i 0.0
            i <- i + 1

    // ---------------------------------------------------------------------------------------------------------
    // Weight gradients G = R·Aᵀ of a small layer over a long batch: one dot product per entry.

    /// Below this many entries of C, `multiplyTransposeBSmall` (dot products) beats the packed GEMM for long k.
    [<Literal>]
    let SmallOuterEntries = 4096

    let private validateOuter (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int, c: Span<float>, ldc: int) =
        if m < 0 || n < 0 || k < 0 then invalidArg "m" "Negative size."
        if lda < k || ldb < k || ldc < n then invalidArg "ld" "A leading dimension is smaller than its row."
        if m > 0 && k > 0 then Guard.atLeast (nameof a) ((m - 1) * lda + k) a.Length
        if n > 0 && k > 0 then Guard.atLeast (nameof b) ((n - 1) * ldb + k) b.Length
        if m > 0 && n > 0 then Guard.atLeast (nameof c) ((m - 1) * ldc + n) c.Length

    /// <summary>Scalar twin: c[i·ldc + j] = Σ_p a[i·lda + p]·b[j·ldb + p] (C = A·Bᵀ, B stored n×k; sequential sums).</summary>
    let multiplyTransposeBSmallReference (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int, c: Span<float>, ldc: int) =
        validateOuter (m, n, k, a, lda, b, ldb, c, ldc)
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                let mutable acc = 0.0
                for p in 0 .. k - 1 do
                    acc <- acc + a[i * lda + p] * b[j * ldb + p]
                c[i * ldc + j] <- acc

    /// <summary>C = A·Bᵀ (B stored n×k) by one vectorised dot product (TensorPrimitives.Dot) per entry of C: for
    /// small C and long k (weight gradients of a narrow layer over a batch) this avoids the packing of the blocked
    /// GEMM. Deterministic (fixed order per entry); equals the twin up to reassociation of each sum.</summary>
    let multiplyTransposeBSmall (m: int, n: int, k: int, a: ReadOnlySpan<float>, lda: int, b: ReadOnlySpan<float>, ldb: int, c: Span<float>, ldc: int) =
        validateOuter (m, n, k, a, lda, b, ldb, c, ldc)
        for i in 0 .. m - 1 do
            let row = a.Slice(i * lda, k)
            for j in 0 .. n - 1 do
                c[i * ldc + j] <- System.Numerics.Tensors.TensorPrimitives.Dot(row, b.Slice(j * ldb, k))

    // ---------------------------------------------------------------------------------------------------------
    // Sheaf-training step of a network with one hidden layer and narrow input/output: one pass per hidden row
    // computes the row's residual, its back-pull, both weight-gradient contributions and the bias sum from the
    // old state, then updates the row in place. The 30×m hidden blocks are read once per step instead of five
    // times (residual GEMM, subtract, gradient dots, bias sums, stalk update).

    /// Widest input and output layer the fused pass handles: its accumulators (one vector per gradient entry)
    /// and broadcast weights must stay in the 32 zmm registers.
    [<Literal>]
    let FusedTrainMaxWidth = 4

    let private validateTrainRow
        (n: int, nIn: int, nNext: int, z: Span<float>, a: Span<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         w: ReadOnlySpan<float>, rNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>, gRow: Span<float>, gCol: Span<float>) =
        if nIn < 1 || nIn > FusedTrainMaxWidth then invalidArg (nameof nIn) (sprintf "Must be in 1..%d (got %d)." FusedTrainMaxWidth nIn)
        if nNext < 1 || nNext > FusedTrainMaxWidth then invalidArg (nameof nNext) (sprintf "Must be in 1..%d (got %d)." FusedTrainMaxWidth nNext)
        if ldPrev < n then invalidArg (nameof ldPrev) "Smaller than the row length."
        if ldNext < n then invalidArg (nameof ldNext) "Smaller than the row length."
        Guard.atLeast (nameof z) n z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof w) nIn w.Length
        Guard.atLeast (nameof wNext) nNext wNext.Length
        Guard.atLeast (nameof gRow) nIn gRow.Length
        Guard.atLeast (nameof gCol) nNext gCol.Length
        if n > 0 then
            Guard.atLeast (nameof prev) ((nIn - 1) * ldPrev + n) prev.Length
            Guard.atLeast (nameof rNext) ((nNext - 1) * ldNext + n) rNext.Length

    /// <summary>Scalar twin of the fused hidden-row pass (defines it). For j &lt; n, from the old z_j, a_j:
    /// <code>
    /// r_j    = (fma-chain_p w_p·prev[p, j] from 0) + bias − z_j        (the residual GEMM's order)
    /// back_j = fma-chain_q wNext_q·rNext[q, j] from 0                 (the back-pull GEMM's order)
    /// gRow_p = Σ_j r_j·prev[p, j],  gCol_q = Σ_j rNext[q, j]·a_j (old a),  returned bias sum Σ_j r_j
    /// </code>
    /// then z, a ← the `trainHiddenReference` update with r and back. Rows of prev / rNext are ldPrev / ldNext
    /// apart. Returns struct (max |Δ| over z and a (NaN-propagating), Σ_j r_j).</summary>
    let trainHiddenRowFusedReference
        (n: int, nIn: int, nNext: int, z: Span<float>, a: Span<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         w: ReadOnlySpan<float>, bias: float, rNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>,
         gRow: Span<float>, gCol: Span<float>, s: float)
        : struct (float * float) =
        validateTrainRow (n, nIn, nNext, z, a, prev, ldPrev, w, rNext, ldNext, wNext, gRow, gCol)
        for p in 0 .. nIn - 1 do
            gRow[p] <- 0.0
        for q in 0 .. nNext - 1 do
            gCol[q] <- 0.0
        let mutable change = 0.0
        let mutable biasSum = 0.0
        for j in 0 .. n - 1 do
            let zi = z[j]
            let ai = a[j]
            let mutable acc = 0.0
            for p in 0 .. nIn - 1 do
                acc <- Math.FusedMultiplyAdd(w[p], prev[p * ldPrev + j], acc)
            let r = (acc + bias) - zi
            let mutable back = 0.0
            for q in 0 .. nNext - 1 do
                back <- Math.FusedMultiplyAdd(wNext[q], rNext[q * ldNext + j], back)
            for p in 0 .. nIn - 1 do
                gRow[p] <- gRow[p] + r * prev[p * ldPrev + j]
            for q in 0 .. nNext - 1 do
                gCol[q] <- gCol[q] + rNext[q * ldNext + j] * ai
            biasSum <- biasSum + r
            let struct (zNew, aNew) =
                if zi >= 0.0 then struct (zi + s * (r + -(zi - ai)), ai + s * (-(ai - zi) + -back))
                else struct (zi + s * r, ai + s * (-ai + -back))
            change <- maxNan (maxNan change (abs (zNew - zi))) (abs (aNew - ai))
            z[j] <- zNew
            a[j] <- aNew
        struct (change, biasSum)

    /// <summary>The fused hidden-row pass (Vector512, scalar tail; without Vector512 the tail does all of it):
    /// z and a bit-identical to the twin, the same maximum; gRow, gCol and the bias sum accumulated in vector
    /// lanes (summation order differs from the twin).</summary>
    let trainHiddenRowFused
        (n: int, nIn: int, nNext: int, z: Span<float>, a: Span<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         w: ReadOnlySpan<float>, bias: float, rNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>,
         gRow: Span<float>, gCol: Span<float>, s: float)
        : struct (float * float) =
        validateTrainRow (n, nIn, nNext, z, a, prev, ldPrev, w, rNext, ldNext, wNext, gRow, gCol)
        use pz = fixed &MemoryMarshal.GetReference z
        use pa = fixed &MemoryMarshal.GetReference a
        use px = fixed &MemoryMarshal.GetReference prev
        use pn = fixed &MemoryMarshal.GetReference rNext
        // Unused rows alias row 0 and are never read (every use is guarded by nIn / nNext).
        let x0 = px
        let x1 = if nIn > 1 then NativePtr.add px ldPrev else px
        let x2 = if nIn > 2 then NativePtr.add px (2 * ldPrev) else px
        let x3 = if nIn > 3 then NativePtr.add px (3 * ldPrev) else px
        let n0 = pn
        let n1 = if nNext > 1 then NativePtr.add pn ldNext else pn
        let n2 = if nNext > 2 then NativePtr.add pn (2 * ldNext) else pn
        let n3 = if nNext > 3 then NativePtr.add pn (3 * ldNext) else pn
        // Weights of unused rows are 0 and never enter a sum (guarded as above).
        let wa0 = w[0]
        let wa1 = if nIn > 1 then w[1] else 0.0
        let wa2 = if nIn > 2 then w[2] else 0.0
        let wa3 = if nIn > 3 then w[3] else 0.0
        let va0 = wNext[0]
        let va1 = if nNext > 1 then wNext[1] else 0.0
        let va2 = if nNext > 2 then wNext[2] else 0.0
        let va3 = if nNext > 3 then wNext[3] else 0.0
        let mutable g0 = 0.0
        let mutable g1 = 0.0
        let mutable g2 = 0.0
        let mutable g3 = 0.0
        let mutable h0 = 0.0
        let mutable h1 = 0.0
        let mutable h2 = 0.0
        let mutable h3 = 0.0
        let mutable biasSum = 0.0
        let mutable change = 0.0
        let mutable nanSeen = false
        let mutable i = 0
        if Vector512.IsHardwareAccelerated && n >= 8 then
            let sv = Vector512.Create s
            let bv = Vector512.Create bias
            let w0 = Vector512.Create(wa0)
            let w1 = Vector512.Create(wa1)
            let w2 = Vector512.Create(wa2)
            let w3 = Vector512.Create(wa3)
            let v0 = Vector512.Create(va0)
            let v1 = Vector512.Create(va1)
            let v2 = Vector512.Create(va2)
            let v3 = Vector512.Create(va3)
            let mutable gv0 = Vector512<float>.Zero
            let mutable gv1 = Vector512<float>.Zero
            let mutable gv2 = Vector512<float>.Zero
            let mutable gv3 = Vector512<float>.Zero
            let mutable hv0 = Vector512<float>.Zero
            let mutable hv1 = Vector512<float>.Zero
            let mutable hv2 = Vector512<float>.Zero
            let mutable hv3 = Vector512<float>.Zero
            let mutable sumv = Vector512<float>.Zero
            let mutable m0 = Vector512<float>.Zero
            let mutable bad = Vector512<float>.Zero
            while i + 8 <= n do
                let zv = ld512 pz i
                let av = ld512 pa i
                let p0 = ld512 x0 i
                let mutable acc = Vector512.FusedMultiplyAdd(w0, p0, Vector512<float>.Zero)
                if nIn > 1 then acc <- Vector512.FusedMultiplyAdd(w1, ld512 x1 i, acc)
                if nIn > 2 then acc <- Vector512.FusedMultiplyAdd(w2, ld512 x2 i, acc)
                if nIn > 3 then acc <- Vector512.FusedMultiplyAdd(w3, ld512 x3 i, acc)
                let rv = (acc + bv) - zv
                let q0 = ld512 n0 i
                let mutable back = Vector512.FusedMultiplyAdd(v0, q0, Vector512<float>.Zero)
                hv0 <- hv0 + q0 * av
                if nNext > 1 then
                    let q1 = ld512 n1 i
                    back <- Vector512.FusedMultiplyAdd(v1, q1, back)
                    hv1 <- hv1 + q1 * av
                if nNext > 2 then
                    let q2 = ld512 n2 i
                    back <- Vector512.FusedMultiplyAdd(v2, q2, back)
                    hv2 <- hv2 + q2 * av
                if nNext > 3 then
                    let q3 = ld512 n3 i
                    back <- Vector512.FusedMultiplyAdd(v3, q3, back)
                    hv3 <- hv3 + q3 * av
                gv0 <- gv0 + rv * p0
                if nIn > 1 then gv1 <- gv1 + rv * ld512 x1 i
                if nIn > 2 then gv2 <- gv2 + rv * ld512 x2 i
                if nIn > 3 then gv3 <- gv3 + rv * ld512 x3 i
                sumv <- sumv + rv
                let active = Vector512.GreaterThanOrEqual(zv, Vector512<float>.Zero)
                let zNew = zv + sv * Vector512.ConditionalSelect(active, rv + -(zv - av), rv)
                let aNew = av + sv * (Vector512.ConditionalSelect(active, -(av - zv), -av) + -back)
                st512 pz i zNew
                st512 pa i aNew
                let dz = Vector512.Abs(zNew - zv)
                let da = Vector512.Abs(aNew - av)
                m0 <- Vector512.MaxNative(m0, Vector512.MaxNative(dz, da))
                bad <- bad ||| Vector512.OnesComplement(Vector512.Equals(dz, dz) &&& Vector512.Equals(da, da))
                i <- i + 8
            for lane in 0 .. 7 do
                change <- max change (m0.GetElement lane)
            nanSeen <- Vector512.ExtractMostSignificantBits bad <> 0UL
            g0 <- Vector512.Sum gv0
            g1 <- Vector512.Sum gv1
            g2 <- Vector512.Sum gv2
            g3 <- Vector512.Sum gv3
            h0 <- Vector512.Sum hv0
            h1 <- Vector512.Sum hv1
            h2 <- Vector512.Sum hv2
            h3 <- Vector512.Sum hv3
            biasSum <- Vector512.Sum sumv
        while i < n do
            let zi = NativePtr.get pz i
            let ai = NativePtr.get pa i
            let mutable acc = Math.FusedMultiplyAdd(wa0, NativePtr.get x0 i, 0.0)
            if nIn > 1 then acc <- Math.FusedMultiplyAdd(wa1, NativePtr.get x1 i, acc)
            if nIn > 2 then acc <- Math.FusedMultiplyAdd(wa2, NativePtr.get x2 i, acc)
            if nIn > 3 then acc <- Math.FusedMultiplyAdd(wa3, NativePtr.get x3 i, acc)
            let r = (acc + bias) - zi
            let mutable back = Math.FusedMultiplyAdd(va0, NativePtr.get n0 i, 0.0)
            h0 <- h0 + NativePtr.get n0 i * ai
            if nNext > 1 then
                back <- Math.FusedMultiplyAdd(va1, NativePtr.get n1 i, back)
                h1 <- h1 + NativePtr.get n1 i * ai
            if nNext > 2 then
                back <- Math.FusedMultiplyAdd(va2, NativePtr.get n2 i, back)
                h2 <- h2 + NativePtr.get n2 i * ai
            if nNext > 3 then
                back <- Math.FusedMultiplyAdd(va3, NativePtr.get n3 i, back)
                h3 <- h3 + NativePtr.get n3 i * ai
            g0 <- g0 + r * NativePtr.get x0 i
            if nIn > 1 then g1 <- g1 + r * NativePtr.get x1 i
            if nIn > 2 then g2 <- g2 + r * NativePtr.get x2 i
            if nIn > 3 then g3 <- g3 + r * NativePtr.get x3 i
            biasSum <- biasSum + r
            let struct (zNew, aNew) =
                if zi >= 0.0 then struct (zi + s * (r + -(zi - ai)), ai + s * (-(ai - zi) + -back))
                else struct (zi + s * r, ai + s * (-ai + -back))
            change <- maxNan (maxNan change (abs (zNew - zi))) (abs (aNew - ai))
            NativePtr.set pz i zNew
            NativePtr.set pa i aNew
            i <- i + 1
        gRow[0] <- g0
        if nIn > 1 then gRow[1] <- g1
        if nIn > 2 then gRow[2] <- g2
        if nIn > 3 then gRow[3] <- g3
        gCol[0] <- h0
        if nNext > 1 then gCol[1] <- h1
        if nNext > 2 then gCol[2] <- h2
        if nNext > 3 then gCol[3] <- h3
        struct ((if nanSeen then nan else change), biasSum)

    // ---------------------------------------------------------------------------------------------------------
    // Backprop of a network with one narrow hidden layer: one pass per hidden row computes the row's delta
    // (back-pull of the output delta, ReLU mask), both layers' gradient entries of that row and its bias sum.

    let private validateBackpropRow
        (n: int, nIn: int, nNext: int, z: ReadOnlySpan<float>, a: ReadOnlySpan<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         deltaNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>, delta: Span<float>, gRow: Span<float>, gCol: Span<float>) =
        if nIn < 1 || nIn > FusedTrainMaxWidth then invalidArg (nameof nIn) (sprintf "Must be in 1..%d (got %d)." FusedTrainMaxWidth nIn)
        if nNext < 1 || nNext > FusedTrainMaxWidth then invalidArg (nameof nNext) (sprintf "Must be in 1..%d (got %d)." FusedTrainMaxWidth nNext)
        if ldPrev < n then invalidArg (nameof ldPrev) "Smaller than the row length."
        if ldNext < n then invalidArg (nameof ldNext) "Smaller than the row length."
        Guard.atLeast (nameof z) n z.Length
        Guard.atLeast (nameof a) n a.Length
        Guard.atLeast (nameof delta) n delta.Length
        Guard.atLeast (nameof wNext) nNext wNext.Length
        Guard.atLeast (nameof gRow) nIn gRow.Length
        Guard.atLeast (nameof gCol) nNext gCol.Length
        if n > 0 then
            Guard.atLeast (nameof prev) ((nIn - 1) * ldPrev + n) prev.Length
            Guard.atLeast (nameof deltaNext) ((nNext - 1) * ldNext + n) deltaNext.Length

    /// <summary>Scalar twin of the fused backprop hidden-row pass (defines it). For j &lt; n:
    /// <code>
    /// delta_j = z_j &gt; 0 ? (fma-chain_q wNext_q·deltaNext[q, j] from 0) : 0     (GEMM order, then reluBackward)
    /// gRow_p = Σ_j delta_j·prev[p, j],  gCol_q = Σ_j deltaNext[q, j]·a_j,  returned Σ_j delta_j
    /// </code>
    /// Rows of prev / deltaNext are ldPrev / ldNext apart.</summary>
    let backpropHiddenRowFusedReference
        (n: int, nIn: int, nNext: int, z: ReadOnlySpan<float>, a: ReadOnlySpan<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         deltaNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>, delta: Span<float>, gRow: Span<float>, gCol: Span<float>)
        : float =
        validateBackpropRow (n, nIn, nNext, z, a, prev, ldPrev, deltaNext, ldNext, wNext, delta, gRow, gCol)
        for p in 0 .. nIn - 1 do
            gRow[p] <- 0.0
        for q in 0 .. nNext - 1 do
            gCol[q] <- 0.0
        let mutable sum = 0.0
        for j in 0 .. n - 1 do
            let mutable back = 0.0
            for q in 0 .. nNext - 1 do
                back <- Math.FusedMultiplyAdd(wNext[q], deltaNext[q * ldNext + j], back)
            let d = if z[j] > 0.0 then back else 0.0
            delta[j] <- d
            for p in 0 .. nIn - 1 do
                gRow[p] <- gRow[p] + d * prev[p * ldPrev + j]
            for q in 0 .. nNext - 1 do
                gCol[q] <- gCol[q] + deltaNext[q * ldNext + j] * a[j]
            sum <- sum + d
        sum

    /// <summary>The fused backprop hidden-row pass (Vector512, scalar tail): delta bit-identical to the twin;
    /// gRow, gCol and the sum accumulated in vector lanes (summation order differs).</summary>
    let backpropHiddenRowFused
        (n: int, nIn: int, nNext: int, z: ReadOnlySpan<float>, a: ReadOnlySpan<float>, prev: ReadOnlySpan<float>, ldPrev: int,
         deltaNext: ReadOnlySpan<float>, ldNext: int, wNext: ReadOnlySpan<float>, delta: Span<float>, gRow: Span<float>, gCol: Span<float>)
        : float =
        validateBackpropRow (n, nIn, nNext, z, a, prev, ldPrev, deltaNext, ldNext, wNext, delta, gRow, gCol)
        use pz = fixed &MemoryMarshal.GetReference z
        use pa = fixed &MemoryMarshal.GetReference a
        use px = fixed &MemoryMarshal.GetReference prev
        use pn = fixed &MemoryMarshal.GetReference deltaNext
        use pd = fixed &MemoryMarshal.GetReference delta
        // Unused rows alias row 0 and are never read (every use is guarded by nIn / nNext).
        let x0 = px
        let x1 = if nIn > 1 then NativePtr.add px ldPrev else px
        let x2 = if nIn > 2 then NativePtr.add px (2 * ldPrev) else px
        let x3 = if nIn > 3 then NativePtr.add px (3 * ldPrev) else px
        let n0 = pn
        let n1 = if nNext > 1 then NativePtr.add pn ldNext else pn
        let n2 = if nNext > 2 then NativePtr.add pn (2 * ldNext) else pn
        let n3 = if nNext > 3 then NativePtr.add pn (3 * ldNext) else pn
        let va0 = wNext[0]
        let va1 = if nNext > 1 then wNext[1] else 0.0
        let va2 = if nNext > 2 then wNext[2] else 0.0
        let va3 = if nNext > 3 then wNext[3] else 0.0
        let mutable g0 = 0.0
        let mutable g1 = 0.0
        let mutable g2 = 0.0
        let mutable g3 = 0.0
        let mutable h0 = 0.0
        let mutable h1 = 0.0
        let mutable h2 = 0.0
        let mutable h3 = 0.0
        let mutable sum = 0.0
        let mutable i = 0
        if Vector512.IsHardwareAccelerated && n >= 8 then
            let v0 = Vector512.Create va0
            let v1 = Vector512.Create va1
            let v2 = Vector512.Create va2
            let v3 = Vector512.Create va3
            let mutable gv0 = Vector512<float>.Zero
            let mutable gv1 = Vector512<float>.Zero
            let mutable gv2 = Vector512<float>.Zero
            let mutable gv3 = Vector512<float>.Zero
            let mutable hv0 = Vector512<float>.Zero
            let mutable hv1 = Vector512<float>.Zero
            let mutable hv2 = Vector512<float>.Zero
            let mutable hv3 = Vector512<float>.Zero
            let mutable sumv = Vector512<float>.Zero
            while i + 8 <= n do
                let av = ld512 pa i
                let q0 = ld512 n0 i
                let mutable back = Vector512.FusedMultiplyAdd(v0, q0, Vector512<float>.Zero)
                hv0 <- hv0 + q0 * av
                if nNext > 1 then
                    let q1 = ld512 n1 i
                    back <- Vector512.FusedMultiplyAdd(v1, q1, back)
                    hv1 <- hv1 + q1 * av
                if nNext > 2 then
                    let q2 = ld512 n2 i
                    back <- Vector512.FusedMultiplyAdd(v2, q2, back)
                    hv2 <- hv2 + q2 * av
                if nNext > 3 then
                    let q3 = ld512 n3 i
                    back <- Vector512.FusedMultiplyAdd(v3, q3, back)
                    hv3 <- hv3 + q3 * av
                let d = Vector512.ConditionalSelect(Vector512.GreaterThan(ld512 pz i, Vector512<float>.Zero), back, Vector512<float>.Zero)
                st512 pd i d
                gv0 <- gv0 + d * ld512 x0 i
                if nIn > 1 then gv1 <- gv1 + d * ld512 x1 i
                if nIn > 2 then gv2 <- gv2 + d * ld512 x2 i
                if nIn > 3 then gv3 <- gv3 + d * ld512 x3 i
                sumv <- sumv + d
                i <- i + 8
            g0 <- Vector512.Sum gv0
            g1 <- Vector512.Sum gv1
            g2 <- Vector512.Sum gv2
            g3 <- Vector512.Sum gv3
            h0 <- Vector512.Sum hv0
            h1 <- Vector512.Sum hv1
            h2 <- Vector512.Sum hv2
            h3 <- Vector512.Sum hv3
            sum <- Vector512.Sum sumv
        while i < n do
            let ai = NativePtr.get pa i
            let mutable back = Math.FusedMultiplyAdd(va0, NativePtr.get n0 i, 0.0)
            h0 <- h0 + NativePtr.get n0 i * ai
            if nNext > 1 then
                back <- Math.FusedMultiplyAdd(va1, NativePtr.get n1 i, back)
                h1 <- h1 + NativePtr.get n1 i * ai
            if nNext > 2 then
                back <- Math.FusedMultiplyAdd(va2, NativePtr.get n2 i, back)
                h2 <- h2 + NativePtr.get n2 i * ai
            if nNext > 3 then
                back <- Math.FusedMultiplyAdd(va3, NativePtr.get n3 i, back)
                h3 <- h3 + NativePtr.get n3 i * ai
            let d = if NativePtr.get pz i > 0.0 then back else 0.0
            NativePtr.set pd i d
            g0 <- g0 + d * NativePtr.get x0 i
            if nIn > 1 then g1 <- g1 + d * NativePtr.get x1 i
            if nIn > 2 then g2 <- g2 + d * NativePtr.get x2 i
            if nIn > 3 then g3 <- g3 + d * NativePtr.get x3 i
            sum <- sum + d
            i <- i + 1
        gRow[0] <- g0
        if nIn > 1 then gRow[1] <- g1
        if nIn > 2 then gRow[2] <- g2
        if nIn > 3 then gRow[3] <- g3
        gCol[0] <- h0
        if nNext > 1 then gCol[1] <- h1
        if nNext > 2 then gCol[2] <- h2
        if nNext > 3 then gCol[3] <- h3
        sum
