/// Laws of the network sheaf (theory §2): unitriangular δ_Ω, the App. A Laplacian blocks, and the forward pass
/// as the unique harmonic extension of the pinned input.
module SheafCore.Properties.NetworkSheafProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance

/// A random ReLU network (1–5 hidden layers, widths 1–40, random weights and biases), a random batch of inputs
/// and a random activation pattern, all drawn from one seed so a failing case replays.
type internal NetworkCase =
    { Mlp: Mlp
      Batch: int
      /// n0 × Batch, feature-major.
      Inputs: float[]
      Pattern: float[][]
      Seed: int }

    override this.ToString() =
        sprintf "layers=%A output=%A batch=%d seed=%d" this.Mlp.Layers this.Mlp.Output this.Batch this.Seed

module internal NetworkGen =
    let create (seed: int) (maxHidden: int) (maxWidth: int) =
        let rng = Rng(int64 seed)
        let hidden = rng.NextInt(1, maxHidden + 1)
        let layers = Array.init (hidden + 2) (fun _ -> rng.NextInt(1, maxWidth + 1))
        let output = enum<OutputActivation> (rng.NextInt(0, 3))
        let weights =
            Array.init (hidden + 1) (fun l ->
                Array.init (layers[l + 1] * layers[l]) (fun _ -> rng.Normal() * sqrt (2.0 / float layers[l])))
        let biases = Array.init (hidden + 1) (fun l -> Array.init layers[l + 1] (fun _ -> 0.5 * rng.Normal()))
        let mlp = Mlp(layers, output, weights, biases)
        let batch = rng.NextInt(1, 9)
        let inputs = Array.init (layers[0] * batch) (fun _ -> rng.Uniform(-2.0, 2.0))
        let pattern = Array.init hidden (fun l -> Array.init layers[l + 1] (fun _ -> if rng.NextDouble() < 0.5 then 1.0 else 0.0))
        { Mlp = mlp; Batch = batch; Inputs = inputs; Pattern = pattern; Seed = seed }

/// The public face of a NetworkCase: xUnit needs public parameter types, the core's types are internal.
/// Printed with the architecture so a failing case is readable; replay it with the seed.
type NetworkSeed =
    | NetworkSeed of int

    override this.ToString() =
        let (NetworkSeed s) = this
        string (NetworkGen.create s 5 40)

type NetworkArbitraries =
    static member NetworkSeed() : Arbitrary<NetworkSeed> =
        ArbMap.defaults |> ArbMap.generate<int> |> Gen.map NetworkSeed |> Arb.fromGen

let private column (x: float[]) (rows: int) (batch: int) (s: int) = Array.init rows (fun i -> x[i * batch + s])

[<Properties(Arbitrary = [| typeof<NetworkArbitraries> |], MaxTest = 200)>]
module ``Network sheaf`` =

    [<Property>]
    let ``δ_Ω is unit lower-triangular for every pattern`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let d = NetworkSheafBlocks.restrictedCoboundaryDense c.Mlp c.Pattern
        let mutable ok = d.Rows = d.Cols && d.Rows = NetworkSheafBlocks.freeDim c.Mlp
        for i in 0 .. d.Rows - 1 do
            for j in i .. d.Cols - 1 do
                ok <- ok && (if i = j then d[i, j] = 1.0 else d[i, j] = 0.0)
        ok

    [<Property>]
    let ``dim Ω equals dim C¹ (δ_Ω is square)`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let sheaf, free, boundary = NetworkSheafBlocks.toCellularSheaf c.Mlp c.Pattern
        free.Length = sheaf.EdgeCochainDim
        && free.Length + boundary.Length = sheaf.VertexCochainDim
        && boundary.Length = NetworkSheafBlocks.boundaryDim c.Mlp

    [<Property>]
    let ``the App. A block formulas equal δ_Ωᵀδ_Ω and δ_Ωᵀδ_U`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let dOmega = NetworkSheafBlocks.restrictedCoboundaryDense c.Mlp c.Pattern
        let dU = NetworkSheafBlocks.boundaryCoboundaryDense c.Mlp
        let lOmega = NetworkSheafBlocks.restrictedLaplacianDense c.Mlp c.Pattern
        let lOmegaU = NetworkSheafBlocks.restrictedBoundaryLaplacianDense c.Mlp c.Pattern
        let scale = 1.0 + maxAbs lOmega.Values
        Dense.maxAbsDifference lOmega (Dense.multiply (Dense.transpose dOmega) dOmega) <= 1e-12 * scale
        && Dense.maxAbsDifference lOmegaU (Dense.multiply (Dense.transpose dOmega) dU) <= 1e-12 * scale

    [<Property>]
    let ``the general-sheaf view has the same coboundary on Ω and U`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        // Build δ of the path-graph sheaf entry by entry from its restriction maps, then restrict its columns.
        let sheaf, free, boundary = NetworkSheafBlocks.toCellularSheaf c.Mlp c.Pattern
        let full = DenseMatrix(sheaf.EdgeCochainDim, sheaf.VertexCochainDim)
        for e in 0 .. sheaf.EdgeCount - 1 do
            for side in 0 .. 1 do
                let inc = 2 * e + side
                let v = sheaf.IncidenceVertex inc
                let sign = if side = 1 then 1.0 else -1.0
                for r in 0 .. sheaf.EdgeDims[e] - 1 do
                    for q in 0 .. sheaf.VertexDims[v] - 1 do
                        full[sheaf.EdgeOffsets[e] + r, sheaf.VertexOffsets[v] + q] <-
                            full[sheaf.EdgeOffsets[e] + r, sheaf.VertexOffsets[v] + q] + sign * sheaf.MapEntry(inc, r, q)
        let rows = Array.init full.Rows id
        Dense.maxAbsDifference (Dense.select full rows free) (NetworkSheafBlocks.restrictedCoboundaryDense c.Mlp c.Pattern) = 0.0
        && Dense.maxAbsDifference (Dense.select full rows boundary) (NetworkSheafBlocks.boundaryCoboundaryDense c.Mlp) = 0.0

    [<Property>]
    let ``the batched solve equals the plain forward pass`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let ws = ForwardWorkspace(c.Mlp, c.Batch)
        Forward.run (c.Mlp, ReadOnlySpan c.Inputs, ws)
        allClose 1e-12 ws.Output stalks.Output
        && Array.forall2 (allClose 1e-12) ws.Z stalks.Z
        && Array.forall2 (allClose 1e-12) ws.A stalks.A

    [<Property>]
    let ``sparse forward substitution on δ_Ω ω = −δ_U u reproduces the batched solve, sample by sample`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let dU = NetworkSheafBlocks.boundaryCoboundaryDense c.Mlp
        let pattern = UnitriangularSolve.patternOfStalks (c.Mlp, stalks)
        seq {
            for s in 0 .. c.Batch - 1 do
                let x = column c.Inputs c.Mlp.InputDim c.Batch s
                let own = pattern |> Array.mapi (fun l m -> column m c.Mlp.Layers[l + 1] c.Batch s)
                let lower = NetworkSheafBlocks.restrictedCoboundaryStrictLower c.Mlp own
                let rhs = Dense.multiplyVector dU (NetworkSheafBlocks.boundaryValues c.Mlp x) |> Array.map (fun v -> -v)
                TriangularSolve.solveUnitLowerInPlace (lower, Span rhs)
                let omega = Array.zeroCreate rhs.Length
                stalks.GatherSample(s, Span omega)
                yield allClose 1e-12 omega rhs
        }
        |> Seq.forall id

    [<Property>]
    let ``the forward pass satisfies L_Ω ω + L_ΩU u = 0 at its own pattern`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let pattern = UnitriangularSolve.patternOfStalks (c.Mlp, stalks)
        seq {
            for s in 0 .. c.Batch - 1 do
                let x = column c.Inputs c.Mlp.InputDim c.Batch s
                let own = pattern |> Array.mapi (fun l m -> column m c.Mlp.Layers[l + 1] c.Batch s)
                let omega = Array.zeroCreate (NetworkSheafBlocks.freeDim c.Mlp)
                stalks.GatherSample(s, Span omega)
                let lo = Dense.multiplyVector (NetworkSheafBlocks.restrictedLaplacianDense c.Mlp own) omega
                let lu = Dense.multiplyVector (NetworkSheafBlocks.restrictedBoundaryLaplacianDense c.Mlp own) (NetworkSheafBlocks.boundaryValues c.Mlp x)
                let scale = 1.0 + maxAbs omega + maxAbs lu
                yield Array.forall2 (fun a b -> abs (a + b) <= 1e-11 * scale) lo lu
        }
        |> Seq.forall id

    [<Property>]
    let ``a fixed-pattern solve has zero discord on the affine edges and satisfies δ_Ω(σ) ω = −δ_U u`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let masks =
            c.Pattern |> Array.map (fun m -> Array.init (m.Length * c.Batch) (fun i -> m[i / c.Batch]))
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solveWithPattern (c.Mlp, ReadOnlySpan c.Inputs, masks, stalks)
        let dOmega = NetworkSheafBlocks.restrictedCoboundaryDense c.Mlp c.Pattern
        let dU = NetworkSheafBlocks.boundaryCoboundaryDense c.Mlp
        seq {
            for s in 0 .. c.Batch - 1 do
                let omega = Array.zeroCreate (NetworkSheafBlocks.freeDim c.Mlp)
                stalks.GatherSample(s, Span omega)
                let lhs = Dense.multiplyVector dOmega omega
                let rhs = Dense.multiplyVector dU (NetworkSheafBlocks.boundaryValues c.Mlp (column c.Inputs c.Mlp.InputDim c.Batch s))
                let scale = 1.0 + maxAbs omega
                yield Array.forall2 (fun a b -> abs (a + b) <= 1e-12 * scale) lhs rhs
        }
        |> Seq.forall id

    [<Property>]
    let ``the forward pass is a global section: every edge discord is zero`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let d = Array.zeroCreate (NetworkDiscord.edgeCount c.Mlp * c.Batch)
        NetworkDiscord.compute (c.Mlp, ReadOnlySpan c.Inputs, stalks, Span d)
        let scale = 1.0 + (stalks.Z |> Array.map maxAbs |> Array.max)
        Array.forall (fun v -> v <= 1e-24 * scale * scale) d

    [<Property>]
    let ``discord is the squared residual: a perturbation ε of one z stalk shows on its two edges`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 5 40
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let l = c.Mlp.AffineCount - 1 // the last z stalk: only its weight edge (and the output edge) see it
        stalks.Z[l][0] <- stalks.Z[l][0] + 0.25
        let d = Array.zeroCreate (NetworkDiscord.edgeCount c.Mlp * c.Batch)
        NetworkDiscord.compute (c.Mlp, ReadOnlySpan c.Inputs, stalks, Span d)
        closeTo 1e-10 0.0625 d[2 * l * c.Batch]

    [<Property>]
    let ``the general sheaf engine finds the forward pass as the unique pinned harmonic extension (H⁰(G,U) = 0)`` (NetworkSeed seed) =
        let c = NetworkGen.create seed 4 12
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.Inputs, stalks)
        let pattern = UnitriangularSolve.patternOfStalks (c.Mlp, stalks)
        let own = pattern |> Array.map (fun m -> column m (m.Length / c.Batch) c.Batch 0)
        let sheaf, free, boundary = NetworkSheafBlocks.toCellularSheaf c.Mlp own
        let values = Array.zeroCreate sheaf.VertexCochainDim
        let u = NetworkSheafBlocks.boundaryValues c.Mlp (column c.Inputs c.Mlp.InputDim c.Batch 0)
        boundary |> Array.iteri (fun i b -> values[b] <- u[i])
        let mask = HarmonicExtension.maskOfCoordinates (sheaf, ReadOnlySpan boundary)
        let result = HarmonicExtension.solveDense (sheaf, ReadOnlySpan mask, ReadOnlySpan values, 1e-12)
        let omega = Array.zeroCreate free.Length
        stalks.GatherSample(0, Span omega)
        let solved = free |> Array.map (fun i -> result.Solution[i])
        // The dense LDLᵀ path is backward stable, so its error scales with cond(L_Ω) (up to ~1e4 here).
        result.Nullity = 0
        && result.Uniqueness = HarmonicExtensionUniqueness.Unique
        && maxAbsDiff omega solved <= 1e-9 * (1.0 + maxAbs omega)
