namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// A symmetric linear operator y = A·x given by a routine over spans (no closures over spans).
[<AllowNullLiteral>]
type internal ILinearOperator =
    /// Size n of the square operator.
    abstract Dimension: int
    /// Writes A·x into destination (both length n; they do not overlap).
    abstract Apply: x: ReadOnlySpan<float> * destination: Span<float> -> unit

/// Outcome of a conjugate-gradient solve.
type internal ConjugateGradientResult =
    { /// True when the true relative residual ‖b − A·x‖/‖b‖ reached the tolerance.
      Converged: bool
      /// Number of CG iterations (operator applications, excluding residual checks).
      Iterations: int
      /// The true relative residual ‖b − A·x‖/‖b‖ of the returned x (0 when b = 0).
      RelativeResidual: float }

/// Preconditioned conjugate gradients for symmetric positive (semi-)definite operators.
[<RequireQualifiedAccess>]
module internal ConjugateGradient =

    let inline private ro (s: Span<float>) : ReadOnlySpan<float> = Span<float>.op_Implicit s

    /// z = M⁻¹r for a diagonal M⁻¹ (empty = identity).
    let private precondition (r: ReadOnlySpan<float>, inverseDiagonal: ReadOnlySpan<float>, z: Span<float>) =
        if inverseDiagonal.Length = 0 then r.CopyTo z
        else TensorPrimitives.Multiply(r, inverseDiagonal, z)

    /// <summary>Solves A·x = b by Jacobi-preconditioned CG, starting from x₀ = 0.</summary>
    /// <param name="operator">Symmetric PSD operator A of dimension n.</param>
    /// <param name="b">Right-hand side, length n, finite.</param>
    /// <param name="inverseDiagonal">Jacobi preconditioner M⁻¹ as a diagonal, length n, entries ≥ 0
    /// (use 1/A_ii, and 0 where A_ii = 0 — a PSD row with zero diagonal is zero), or empty for plain CG.</param>
    /// <param name="relativeTolerance">Stop when ‖b − A·x‖ ≤ relativeTolerance·‖b‖.</param>
    /// <param name="maximumIterations">Iteration cap (≥ 0).</param>
    /// <param name="destination">The solution x, length ≥ n (overwritten; the initial content is ignored).</param>
    /// <remarks>
    /// Starting from x₀ = 0 every iterate lies in the Krylov space of M⁻¹A on M⁻¹b, a subspace of
    /// M⁻¹·range(A). On a consistent singular PSD system (b ∈ range A) CG therefore converges to the unique
    /// solution in M⁻¹·range(A) = {x : M·x ⊥ ker A}, i.e. the minimum-M-norm solution (minimum Euclidean norm
    /// for plain CG). On an inconsistent system the residual cannot reach the tolerance; Converged is then false.
    /// When the recursively updated residual meets the tolerance the true residual is recomputed; if rounding
    /// made them differ, CG restarts from the current x with the true residual, within the iteration cap.
    /// Allocates four work vectors of length n per call.
    /// </remarks>
    let solve
        (
            operator: ILinearOperator,
            b: ReadOnlySpan<float>,
            inverseDiagonal: ReadOnlySpan<float>,
            relativeTolerance: float,
            maximumIterations: int,
            destination: Span<float>
        ) : ConjugateGradientResult =
        if isNull operator then nullArg (nameof operator)
        let n = operator.Dimension
        Guard.length (nameof b) n b.Length
        Guard.finite (nameof b) b
        if inverseDiagonal.Length <> 0 then
            Guard.length (nameof inverseDiagonal) n inverseDiagonal.Length
            Guard.finite (nameof inverseDiagonal) inverseDiagonal
            for i in 0 .. n - 1 do
                if inverseDiagonal[i] < 0.0 then
                    let message = sprintf "Entry %d is negative; a Jacobi preconditioner must be PSD." i
                    invalidArg (nameof inverseDiagonal) message
        if not (relativeTolerance > 0.0 && Double.IsFinite relativeTolerance) then
            invalidArg (nameof relativeTolerance) "Must be finite and positive."
        Guard.nonNegative (nameof maximumIterations) maximumIterations
        Guard.atLeast (nameof destination) n destination.Length
        let x = destination.Slice(0, n)
        x.Clear()
        let bNorm = TensorPrimitives.Norm b
        if bNorm = 0.0 then
            { Converged = true; Iterations = 0; RelativeResidual = 0.0 }
        else
            let r = Array.zeroCreate<float> n
            let z = Array.zeroCreate<float> n
            let p = Array.zeroCreate<float> n
            let q = Array.zeroCreate<float> n
            b.CopyTo(Span r) // r₀ = b − A·0
            let target = relativeTolerance * bNorm
            let mutable iterations = 0
            let mutable trueResidual = bNorm
            let mutable finished = false
            while not finished do
                // (Re)start: p = z = M⁻¹r.
                precondition (ReadOnlySpan r, inverseDiagonal, Span z)
                Array.blit z 0 p 0 n
                let mutable rz = TensorPrimitives.Dot(ReadOnlySpan r, ReadOnlySpan z)
                let mutable residual = TensorPrimitives.Norm(ReadOnlySpan r)
                let mutable breakdown = false
                while residual > target && iterations < maximumIterations && not breakdown do
                    operator.Apply(ReadOnlySpan p, Span q)
                    let pq = TensorPrimitives.Dot(ReadOnlySpan p, ReadOnlySpan q)
                    // pᵀAp ≤ 0 means p ∈ ker A (PSD) or A is not PSD: no progress possible along p.
                    if not (pq > 0.0) || rz <= 0.0 then
                        breakdown <- true
                    else
                        let alpha = rz / pq
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan p, alpha, ro x, x)
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan q, -alpha, ReadOnlySpan r, Span r)
                        precondition (ReadOnlySpan r, inverseDiagonal, Span z)
                        let rzNext = TensorPrimitives.Dot(ReadOnlySpan r, ReadOnlySpan z)
                        let beta = rzNext / rz
                        rz <- rzNext
                        // p ← z + β·p
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan p, beta, ReadOnlySpan z, Span p)
                        residual <- TensorPrimitives.Norm(ReadOnlySpan r)
                        iterations <- iterations + 1
                // True residual r = b − A·x, which also seeds a restart.
                operator.Apply(ro x, Span q)
                TensorPrimitives.Subtract(b, ReadOnlySpan q, Span r)
                trueResidual <- TensorPrimitives.Norm(ReadOnlySpan r)
                finished <- trueResidual <= target || iterations >= maximumIterations || breakdown || residual > target
            { Converged = trueResidual <= target
              Iterations = iterations
              RelativeResidual = trueResidual / bNorm }
