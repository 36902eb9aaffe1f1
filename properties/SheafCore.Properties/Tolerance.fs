/// Shared float comparisons: relative-plus-absolute, never `=` on floats.
module SheafCore.Properties.Tolerance

/// |expected − actual| ≤ tol · max(1, |expected|, |actual|).
let closeTo (tol: float) (expected: float) (actual: float) =
    abs (expected - actual) <= tol * max 1.0 (max (abs expected) (abs actual))

/// Element-wise closeTo over two arrays of equal length.
let allClose (tol: float) (expected: float[]) (actual: float[]) =
    expected.Length = actual.Length && Array.forall2 (closeTo tol) expected actual

/// Largest |a_i − b_i|.
let maxAbsDiff (a: float[]) (b: float[]) =
    if a.Length <> b.Length then infinity
    else Array.fold2 (fun m x y -> max m (abs (x - y))) 0.0 a b

/// Largest |a_i|.
let maxAbs (a: float[]) = Array.fold (fun m x -> max m (abs x)) 0.0 a
