namespace SheafCore.Numerics

open System

/// Argument checks shared by every layer. Each throws an ArgumentException naming the parameter.
[<RequireQualifiedAccess>]
module internal Guard =

    /// Throws unless `length` equals `expected`.
    let length (name: string) (expected: int) (length: int) =
        if length <> expected then
            invalidArg name (sprintf "Expected length %d but got %d." expected length)

    /// Throws unless `length` is at least `minimum`.
    let atLeast (name: string) (minimum: int) (length: int) =
        if length < minimum then
            invalidArg name (sprintf "Expected length at least %d but got %d." minimum length)

    /// Throws if any value is NaN or infinite; the message gives the first offending index.
    let finite (name: string) (values: ReadOnlySpan<float>) =
        for i in 0 .. values.Length - 1 do
            if not (Double.IsFinite values[i]) then
                invalidArg name (sprintf "Value at index %d is %g; only finite numbers are allowed." i values[i])

    /// Throws unless the value is finite.
    let finiteScalar (name: string) (value: float) =
        if not (Double.IsFinite value) then
            invalidArg name (sprintf "Value %g is not finite." value)

    /// Throws unless the value is finite and ≥ 0 (tolerances).
    let finiteNonNegative (name: string) (value: float) =
        if not (value >= 0.0 && Double.IsFinite value) then invalidArg name "Must be finite and non-negative."

    /// Throws unless `value` lies in [0, count).
    let index (name: string) (count: int) (value: int) =
        if value < 0 || value >= count then
            raise (ArgumentOutOfRangeException(name, value, sprintf "Must lie in [0, %d)." count))

    /// Throws unless `value` is non-negative.
    let nonNegative (name: string) (value: int) =
        if value < 0 then
            raise (ArgumentOutOfRangeException(name, value, "Must be non-negative."))

    /// Throws unless `value` is strictly positive.
    let positive (name: string) (value: int) =
        if value <= 0 then
            raise (ArgumentOutOfRangeException(name, value, "Must be positive."))

/// Span helpers F# needs because it does not apply the Span → ReadOnlySpan conversion implicitly.
[<AutoOpen>]
module internal SpanConversions =
    /// The read-only view of a span.
    let inline ro (s: Span<float>) : ReadOnlySpan<float> = Span<float>.op_Implicit s
