namespace SheafCore.Numerics

open System

/// Deterministic pseudo-random numbers: xoshiro256** seeded through SplitMix64.
/// Written out here (rather than System.Random) so that a seed gives the same numbers on every
/// runtime and platform, which the reproducibility promise depends on.
[<Sealed>]
type internal Rng(seed: int64) =
    let mutable s0 = 0UL
    let mutable s1 = 0UL
    let mutable s2 = 0UL
    let mutable s3 = 0UL
    let mutable spareNormal = nan

    do
        let mutable x = uint64 seed
        let next () =
            x <- x + 0x9E3779B97F4A7C15UL
            let mutable z = x
            z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
            z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
            z ^^^ (z >>> 31)
        s0 <- next ()
        s1 <- next ()
        s2 <- next ()
        s3 <- next ()

    static member inline private Rotl(x: uint64, k: int) = (x <<< k) ||| (x >>> (64 - k))

    /// Next raw 64-bit value.
    member _.NextUInt64() : uint64 =
        let result = Rng.Rotl(s1 * 5UL, 7) * 9UL
        let t = s1 <<< 17
        s2 <- s2 ^^^ s0
        s3 <- s3 ^^^ s1
        s1 <- s1 ^^^ s2
        s0 <- s0 ^^^ s3
        s2 <- s2 ^^^ t
        s3 <- Rng.Rotl(s3, 45)
        result

    /// Uniform double in [0, 1) with 53 random bits.
    member this.NextDouble() : float = float (this.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)

    /// Uniform double in [lo, hi).
    member this.Uniform(lo: float, hi: float) : float = lo + (hi - lo) * this.NextDouble()

    /// Uniform integer in [lo, hi).
    member this.NextInt(lo: int, hi: int) : int =
        if hi <= lo then lo else lo + int (this.NextUInt64() % uint64 (hi - lo))

    /// Standard normal by the Marsaglia polar method (pairs are cached).
    member this.Normal() : float =
        if not (Double.IsNaN spareNormal) then
            let v = spareNormal
            spareNormal <- nan
            v
        else
            let mutable u = 0.0
            let mutable v = 0.0
            let mutable s = 0.0
            let mutable searching = true
            while searching do
                u <- 2.0 * this.NextDouble() - 1.0
                v <- 2.0 * this.NextDouble() - 1.0
                s <- u * u + v * v
                searching <- s >= 1.0 || s = 0.0
            let m = sqrt (-2.0 * log s / s)
            spareNormal <- v * m
            u * m

    /// Fills the span with i.i.d. N(0, scale²) values.
    member this.FillNormal(destination: Span<float>, scale: float) =
        for i in 0 .. destination.Length - 1 do
            destination[i] <- scale * this.Normal()
