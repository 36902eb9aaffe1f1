/// Laws of Neural Sheaf Diffusion (docs/nsd.md §9): exact gradients for every family, the normalised
/// Laplacian's spectrum, orthogonality of the O(d) maps, and the Diag specialisation against the engine.
module SheafCore.Properties.NsdProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.Tolerance

/// A small random graph (3–7 nodes; self-loops and repeats in the raw list, canonicalised away), sparse
/// non-negative features, random labels, one split with every node in training, and a random model of
/// the given family with its parameters perturbed away from the initialisation (W1 ≠ I, ε ≠ 0), all from
/// one seed.
module internal NsdGen =
    let graph (rng: Rng) (classes: int) (features: int) =
        let n = rng.NextInt(3, 8)
        let rows = rng.NextInt(n, 3 * n)
        let sources = Array.init rows (fun _ -> rng.NextInt(0, n))
        let targets = Array.init rows (fun _ -> rng.NextInt(0, n))
        let pointers = Array.zeroCreate (n + 1)
        let columns = ResizeArray<int>()
        let values = ResizeArray<float>()
        for v in 0 .. n - 1 do
            for j in 0 .. features - 1 do
                if rng.NextDouble() < 0.6 then
                    columns.Add j
                    values.Add(rng.Uniform(0.1, 2.0))
            pointers[v + 1] <- columns.Count
        let labels = Array.init n (fun _ -> rng.NextInt(0, classes))
        let split = Array.create n SplitRole.Train
        GraphData.create (n, features, classes, sources, targets, pointers, columns.ToArray(), values.ToArray(), labels, [| split |])

    let create (family: NsdFamily) (seed: int) =
        let rng = Rng(int64 seed)
        let classes = rng.NextInt(2, 4)
        let inputs = rng.NextInt(2, 5)
        let g = graph rng classes inputs
        let d = if family = NsdFamily.Diagonal || family = NsdFamily.Identity then rng.NextInt(1, 4) else rng.NextInt(2, 4)
        let config =
            { Family = family
              StalkDim = d
              LowPass = rng.NextDouble() < 0.5
              HighPass = rng.NextDouble() < 0.5
              Hidden = rng.NextInt(1, 4)
              Layers = rng.NextInt(1, 3)
              Dropout = 0.0
              InputDropout = 0.0
              SecondLinear = rng.NextDouble() < 0.5
              EdgeWeights = rng.NextDouble() < 0.7
              SparseLearner = family <> NsdFamily.Identity && rng.NextDouble() < 0.4
              InputCount = inputs
              ClassCount = classes }
        let model = NsdModel(config, g)
        let theta = NsdForward.initialise (model.Layout, rng)
        for j in 0 .. theta.Length - 1 do
            theta[j] <- theta[j] + 0.3 * rng.Normal()
        model, theta

    let describe (family: NsdFamily) (seed: int) =
        let model, _ = create family seed
        let c = model.Config
        sprintf "%A n=%d |E|=%d d=%d lp=%b hp=%b f=%d T=%d second=%b weights=%b seed=%d" family model.Graph.NodeCount
            model.Graph.EdgeCount c.StalkDim c.LowPass c.HighPass c.Hidden c.Layers c.SecondLinear c.UsesEdgeWeights seed

/// Public seed wrapper (xUnit needs public parameter types; the model types are internal).
type NsdSeed =
    | NsdSeed of int

    override this.ToString() =
        let (NsdSeed s) = this
        sprintf "seed %d (%s)" s (NsdGen.describe NsdFamily.General s)

type NsdArbitraries =
    static member NsdSeed() : Arbitrary<NsdSeed> =
        ArbMap.defaults |> ArbMap.generate<int> |> Gen.map NsdSeed |> Arb.fromGen

/// Largest violation of analytic gradient = central difference over every parameter, scaled so that
/// 1 means "at the tolerance".
///
/// Step h = 1e-6 in float64: the truncation error is h²·|L‴|/6 ≈ 1e-13 and the rounding error about
/// ε·|L|/h ≈ 1e-10, so a correct gradient agrees to ≈1e-9. ELU is only C¹: if a perturbation crosses its kink,
/// the central difference is off by at most h/2·|jump of L″| ≈ 5e-7 for O(1) second derivatives. The
/// tolerance 1e-5·max(1, |g|) sits above both, while a wrong adjoint term shows up at the size of the
/// gradient itself (≥ 1e-3 here, where parameters and losses are O(1)).
let private gradientViolation (family: NsdFamily) (seed: int) =
    let model, theta = NsdGen.create family seed
    let backward = NsdBackward(model)
    let nodes = Array.init model.Graph.NodeCount id
    let rng = Rng(0L)
    let grad = Array.zeroCreate theta.Length
    NsdGradients.lossAndGradient (model, backward, theta, nodes, false, rng, grad) |> ignore
    let h = 1e-6
    let mutable worst = 0.0
    for j in 0 .. theta.Length - 1 do
        let saved = theta[j]
        theta[j] <- saved + h
        let up = NsdGradients.loss (model, backward, theta, nodes, false, rng)
        theta[j] <- saved - h
        let down = NsdGradients.loss (model, backward, theta, nodes, false, rng)
        theta[j] <- saved
        let fd = (up - down) / (2.0 * h)
        worst <- max worst (abs (fd - grad[j]) / (1e-5 * max 1.0 (abs grad[j])))
    worst

/// Δ of layer 0 as a dense (nD)×(nD) matrix, column j = Δ·e_j on channel 0.
let private denseLaplacian (model: NsdModel) =
    let c = model.Config
    let n = model.Graph.NodeCount
    let size = n * c.Stalks
    let m = DenseMatrix(size, size)
    let z = Array.zeroCreate (n * c.Width)
    let y = Array.zeroCreate (n * c.Width)
    for j in 0 .. size - 1 do
        Array.Clear z
        z[j * c.Hidden] <- 1.0
        NsdForward.applyLaplacian (model, 0, ReadOnlySpan z, Span y)
        for i in 0 .. size - 1 do
            m[i, j] <- y[i * c.Hidden]
    m

let private families = [| NsdFamily.Diagonal; NsdFamily.Orthogonal; NsdFamily.General; NsdFamily.Identity |]

[<Properties(Arbitrary = [| typeof<NsdArbitraries> |], MaxTest = 25)>]
module ``Neural sheaf diffusion`` =

    [<Property>]
    let ``Diag-NSD gradients equal central differences`` (NsdSeed seed) =
        gradientViolation NsdFamily.Diagonal seed <= 1.0

    [<Property>]
    let ``O(d)-NSD gradients equal central differences`` (NsdSeed seed) =
        gradientViolation NsdFamily.Orthogonal seed <= 1.0

    [<Property>]
    let ``Gen-NSD gradients equal central differences`` (NsdSeed seed) =
        gradientViolation NsdFamily.General seed <= 1.0

    [<Property>]
    let ``identity-sheaf control gradients equal central differences`` (NsdSeed seed) =
        gradientViolation NsdFamily.Identity seed <= 1.0

    [<Property(MaxTest = 50)>]
    let ``the normalised Laplacian is symmetric with spectrum in [0, 2]`` (NsdSeed seed) =
        families
        |> Array.forall (fun family ->
            let model, theta = NsdGen.create family seed
            NsdForward.run (model, theta, false, Rng(0L))
            let delta = denseLaplacian model
            let symmetric = maxAbsDiff delta.Values (Dense.transpose delta).Values <= 1e-12
            let eigen = DenseFactor.symmetricEigen delta
            // Jacobi is accurate to ≈ε·‖Δ‖ ≤ 1e-15·2 per eigenvalue; 1e-10 leaves room for the sums in Δ itself.
            symmetric && eigen.Values |> Array.forall (fun l -> l >= -1e-10 && l <= 2.0 + 1e-10))

    [<Property(MaxTest = 200)>]
    let ``Householder maps are orthogonal with det (−1)^d`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let d = rng.NextInt(2, 7)
        let scale = Math.Pow(10.0, rng.Uniform(-2.0, 2.0))
        let p = Array.init (d * (d - 1) / 2) (fun _ -> scale * rng.Normal())
        let q = Array.zeroCreate (d * d)
        NsdMaps.householder (ReadOnlySpan p, d, Span q, Span(Array.zeroCreate d))
        let qm = DenseMatrix(d, d, q)
        let gram = Dense.multiply (Dense.transpose qm) qm
        maxAbsDiff gram.Values (DenseMatrix.Identity d).Values < 1e-12
        && closeTo 1e-10 (if d % 2 = 0 then 1.0 else -1.0) (DenseFactor.determinant qm)

    [<Property(MaxTest = 20)>]
    let ``O(d) maps stay orthogonal (up to the edge weight) through training`` (NsdSeed seed) =
        let model, theta = NsdGen.create NsdFamily.Orthogonal seed
        let backward = NsdBackward(model)
        let nodes = Array.init model.Graph.NodeCount id
        let grad = Array.zeroCreate theta.Length
        let adam = Adam(theta.Length, 0.05, Array.zeroCreate theta.Length)
        let rng = Rng(1L)
        for _ in 1 .. 5 do
            NsdGradients.lossAndGradient (model, backward, theta, nodes, false, rng, grad) |> ignore
            adam.Step(theta, grad)
        NsdForward.run (model, theta, false, rng)
        let d = model.Config.StalkDim
        model.Layers
        |> Array.forall (fun layer ->
            let maps = layer.Block.Maps
            Array.init (2 * model.Graph.EdgeCount) id
            |> Array.forall (fun i ->
                let w = layer.EdgeWeights[i / 2]
                let f = DenseMatrix(d, d, Array.init (d * d) (fun k -> maps[i * d * d + k] / w))
                let gram = Dense.multiply (Dense.transpose f) f
                maxAbsDiff gram.Values (DenseMatrix.Identity d).Values < 1e-12))

    /// O(d)'s closed-form Δ (scalar D_v = Σ w², no matrix root, as the reference builds it) equals the engine's
    /// Jacobi-based normalisation of the same maps w·Q.
    [<Property(MaxTest = 100)>]
    let ``O(d) closed form equals the general engine on orthogonal maps`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let g = NsdGen.graph rng 2 2
        let topology = NsdTopology(g.NodeCount, g.Sources, g.Targets)
        let d = rng.NextInt(2, 6)
        let dd = d * d
        let block = BlockNsdLaplacian(topology, d)
        let weights = Array.init g.EdgeCount (fun _ -> rng.Uniform(0.05, 1.0))
        let q = Array.zeroCreate (2 * g.EdgeCount * dd)
        for i in 0 .. 2 * g.EdgeCount - 1 do
            let p = Array.init (d * (d - 1) / 2) (fun _ -> rng.Normal())
            NsdMaps.householder (ReadOnlySpan p, d, Span<float>(q, i * dd, dd), Span(Array.zeroCreate d))
            for k in 0 .. dd - 1 do
                block.Maps[i * dd + k] <- weights[i / 2] * q[i * dd + k]
        block.Refresh()
        let expected = Array.copy block.Normalised.Matrix.Values
        Array.Fill(block.Normalised.Matrix.Values, nan)
        block.RefreshOrthogonal(weights, q)
        allClose 1e-12 expected block.Normalised.Matrix.Values

    [<Property(MaxTest = 100)>]
    let ``Diag specialisation equals the general engine on diagonal maps`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let g = NsdGen.graph rng 2 2
        let topology = NsdTopology(g.NodeCount, g.Sources, g.Targets)
        let d = rng.NextInt(1, 6)
        // Up to 20 columns: covers the Vector512 chunks and their ragged scalar tails.
        let f = rng.NextInt(1, 21)
        let diagonal = DiagonalNsdLaplacian(topology, d)
        let block = BlockNsdLaplacian(topology, d)
        for i in 0 .. 2 * g.EdgeCount - 1 do
            for k in 0 .. d - 1 do
                let phi = rng.Uniform(-1.0, 1.0)
                diagonal.Maps[i * d + k] <- phi
                block.Maps[i * d * d + k * d + k] <- phi
        diagonal.Refresh()
        block.Refresh()
        let z = Array.init (g.NodeCount * d * f) (fun _ -> rng.Normal())
        let expected = Array.zeroCreate z.Length
        let actual = Array.zeroCreate z.Length
        NsdLaplacian.applyBlock (block, d, f, ReadOnlySpan z, Span expected)
        NsdLaplacian.applyDiagonal (diagonal, d, f, ReadOnlySpan z, Span actual)
        allClose 1e-12 expected actual

/// The vectorised NSD kernels equal their scalar twins bit for bit, on ragged widths (f = 1…27 covers no full
/// Vector512 chunk, whole chunks, and chunks plus a tail) and d = 1…5 (d = 4 takes smallProduct's vector path).
/// Digest §9.11: the variant learner's output for (v, u) is V·s with s the sum of the D consecutive pieces of
/// length 2f of [x_v ‖ x_u] (for odd D one piece straddles x_v and x_u), computed here literally.
[<Properties(Arbitrary = [| typeof<NsdArbitraries> |], MaxTest = 50)>]
module ``Variant learner layout`` =

    [<Property>]
    let ``the expanded variant learner equals the literal chunk sum`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let g = NsdGen.graph rng 2 3
        let family = if rng.NextDouble() < 0.5 then NsdFamily.Orthogonal else NsdFamily.General
        let config =
            { Family = family; StalkDim = rng.NextInt(2, 4); LowPass = rng.NextDouble() < 0.5; HighPass = rng.NextDouble() < 0.5
              Hidden = rng.NextInt(1, 5); Layers = 1; Dropout = 0.0; InputDropout = 0.0; SecondLinear = false
              EdgeWeights = true; SparseLearner = true; InputCount = 3; ClassCount = 2 }
        let model = NsdModel(config, g)
        let theta = NsdForward.initialise (model.Layout, rng)
        let expanded = (NsdForward.learnerMatrix (model, theta, 0)).ToArray()
        let h = config.Width
        let piece = 2 * config.Hidden
        let z = Array.init (2 * h) (fun _ -> rng.Normal())
        let s = Array.init piece (fun i -> Seq.sum (seq { for k in 0 .. config.Stalks - 1 -> z[k * piece + i] }))
        let start = model.Layout.Learner 0
        let mapsAgree =
            Seq.forall (fun r ->
                let literal = Seq.sum (seq { for i in 0 .. piece - 1 -> theta[start + r * piece + i] * s[i] })
                let viaExpansion = Seq.sum (seq { for j in 0 .. 2 * h - 1 -> expanded[r * 2 * h + j] * z[j] })
                abs (literal - viaExpansion) <= 1e-12 * (1.0 + Array.sumBy abs z)) (seq { 0 .. config.MapOutputs - 1 })
        // The edge-weight row (O(d) only) keeps its full 2H input.
        let weightRow = start + config.MapOutputs * piece
        let weightsAgree =
            not config.UsesEdgeWeights
            || Seq.forall (fun j -> expanded[config.MapOutputs * 2 * h + j] = theta[weightRow + j]) (seq { 0 .. 2 * h - 1 })
        (mapsAgree && weightsAgree && model.Layout.Learner 0 + config.LearnerSize = model.Layout.LeftWeights 0)
        |> Prop.label (sprintf "maps %b weights %b layout %b D=%d f=%d m=%d" mapsAgree weightsAgree (model.Layout.Learner 0 + config.LearnerSize = model.Layout.LeftWeights 0) config.Stalks config.Hidden config.MapOutputs)

[<Properties(Arbitrary = [| typeof<NsdArbitraries> |], MaxTest = 100)>]
module NsdKernelProperties =

    let private sameBits (a: float[]) (b: float[]) =
        Array.forall2 (fun (x: float) (y: float) -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y) a b

    [<Property>]
    let ``gatherRow equals its scalar twin`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let g = NsdGen.graph rng 2 2
        let topology = NsdTopology(g.NodeCount, g.Sources, g.Targets)
        let stalks = rng.NextInt(1, 5)
        let f = rng.NextInt(1, 28)
        let stride = rng.NextInt(1, 4)
        let coeffs = Array.init (2 * g.EdgeCount * stride) (fun _ -> rng.Normal())
        let z = Array.init (g.NodeCount * stalks * f) (fun _ -> rng.Normal())
        let fast = Array.zeroCreate z.Length
        let slow = Array.zeroCreate z.Length
        let scale = if rng.NextDouble() < 0.5 then 1.0 else -1.0
        for v in 0 .. g.NodeCount - 1 do
            for k in 0 .. stalks - 1 do
                let column = rng.NextInt(0, stride)
                let diagonal = rng.Normal()
                let args = topology.AdjacencyPointers, topology.AdjacencyIncidences, topology.IncidenceNeighbour
                let p, a, nb = args
                NsdKernels.gatherRow (p, a, nb, v, k, stalks, f, diagonal, coeffs, stride, column, scale, ReadOnlySpan z, Span fast)
                NsdKernels.gatherRowReference (p, a, nb, v, k, stalks, f, diagonal, coeffs, stride, column, scale, ReadOnlySpan z, Span slow, 0)
        sameBits fast slow

    [<Property>]
    let ``blockRow equals its scalar twin`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let g = NsdGen.graph rng 2 2
        let d = rng.NextInt(1, 6)
        let f = rng.NextInt(1, 28)
        let stalks = d + rng.NextInt(0, 3)
        let block = BlockNsdLaplacian(NsdTopology(g.NodeCount, g.Sources, g.Targets), d)
        for j in 0 .. block.Maps.Length - 1 do
            block.Maps[j] <- rng.Uniform(-1.0, 1.0)
        block.Refresh()
        let m = block.Normalised.Matrix
        let z = Array.init (g.NodeCount * stalks * f) (fun _ -> rng.Normal())
        let fast = Array.zeroCreate z.Length
        let slow = Array.zeroCreate z.Length
        for v in 0 .. g.NodeCount - 1 do
            for r in 0 .. d - 1 do
                NsdKernels.blockRow (m.RowPointers, m.ColumnIndices, m.BlockOffsets, m.Values, d, v, r, stalks, f, ReadOnlySpan z, Span fast)
                NsdKernels.blockRowReference (m.RowPointers, m.ColumnIndices, m.BlockOffsets, m.Values, d, v, r, stalks, f, ReadOnlySpan z, Span slow, 0)
        sameBits fast slow

    [<Property>]
    let ``leftMultiply equals its scalar twin`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let d = rng.NextInt(1, 7)
        let f = rng.NextInt(1, 28)
        let transpose = rng.NextDouble() < 0.5
        let w = Array.init (d * d) (fun _ -> rng.Normal())
        let source = Array.init (d * f) (fun _ -> rng.Normal())
        let fast = Array.zeroCreate (d * f)
        let slow = Array.zeroCreate (d * f)
        NsdKernels.leftMultiply (d, ReadOnlySpan w, transpose, f, ReadOnlySpan source, Span fast)
        NsdKernels.leftMultiplyReference (d, ReadOnlySpan w, transpose, f, ReadOnlySpan source, Span slow, 0)
        sameBits fast slow

    [<Property>]
    let ``smallProduct equals its scalar twin`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        // A third of the cases at d = 4 (the vectorised size), a third at d = 3 (the unrolled one).
        let pick = rng.NextDouble()
        let d = if pick < 1.0 / 3.0 then 4 elif pick < 2.0 / 3.0 then 3 else rng.NextInt(1, 6)
        let a = Array.init (d * d) (fun _ -> rng.Normal())
        let b = Array.init (d * d) (fun _ -> rng.Normal())
        let start = Array.init (d * d) (fun _ -> rng.Normal())
        let ta = rng.NextDouble() < 0.5
        let tb = rng.NextDouble() < 0.5
        let alpha = rng.Uniform(-2.0, 2.0)
        let fast = Array.copy start
        let slow = Array.copy start
        NsdKernels.smallProduct (d, ReadOnlySpan a, ta, ReadOnlySpan b, tb, alpha, Span fast)
        NsdKernels.smallProductReference (d, ReadOnlySpan a, ta, ReadOnlySpan b, tb, alpha, Span slow)
        sameBits fast slow

    /// The engine's uniform dense refill (the O(d)/Gen-NSD path) against the general block-by-block refill:
    /// the same products in the same order, so the same bits. Random graphs with parallel edges, d = 1…6,
    /// some zero map entries (the general path skips zero coefficients; so must the fast one).
    [<Property>]
    let ``uniform dense refill equals the general refill bit for bit`` (NsdSeed seed) =
        let rng = Rng(int64 seed)
        let n = rng.NextInt(1, 12)
        let d = rng.NextInt(1, 7)
        let m = if n < 2 then 0 else rng.NextInt(0, 3 * n)
        let sources = Array.init m (fun _ -> rng.NextInt(0, n))
        let targets = Array.init m (fun e -> (sources[e] + rng.NextInt(1, n)) % n)
        let maps = Array.init (2 * m) (fun _ -> Array.init (d * d) (fun _ -> if rng.NextDouble() < 0.2 then 0.0 else rng.Normal()))
        let sheaf =
            CellularSheaf.Create(Array.create n d, sources, targets, Array.create m d, Array.create (2 * m) RestrictionFamily.Dense, maps)
        let fast = SheafLaplacian.assemble sheaf
        let slow = fast.WithZeroValues()
        Array.Fill(fast.Values, nan)
        SheafLaplacian.refill (sheaf, fast)
        SheafLaplacian.refillReference (sheaf, slow)
        sheaf.UniformDenseDimension = d && sameBits fast.Values slow.Values

/// The trained-model inspection (NsdInspection): the edge alignment of the learned maps against the general
/// engine's discord, and the predicted class distribution.
[<Properties(Arbitrary = [| typeof<NsdArbitraries> |], MaxTest = 100)>]
module ``Learned sheaf inspection`` =

    /// The alignment from the engine alone, by polarisation: with the coboundary's per-edge discord
    /// ‖F_t x_t − F_s x_s‖², the cochains e_k at one vertex give ‖F_v‖² on its edges, and e_k at every vertex give
    /// ‖F_t − F_s‖², so ⟨F_s, F_t⟩ = (‖F_s‖² + ‖F_t‖² − ‖F_t − F_s‖²)/2. Diag's maps enter the engine as diagonal blocks.
    let private engineAlignment (model: NsdModel, t: int) =
        let c = model.Config
        let cache = model.Layers[t]
        let d = c.StalkDim
        let topology = model.Topology
        let n = topology.NodeCount
        let m = topology.EdgeCount
        let sheaf =
            if not (isNull cache.Block) then cache.Block.Sheaf
            else
                let block = BlockNsdLaplacian(topology, d)
                Array.Clear block.Maps
                for i in 0 .. 2 * m - 1 do
                    for k in 0 .. d - 1 do
                        block.Maps[i * d * d + k * d + k] <- cache.Diagonal.Maps[i * d + k]
                block.Sheaf
        let discord = Array.zeroCreate m
        let own = Array.zeroCreate (2 * m) // ‖F‖² per incidence
        let difference = Array.zeroCreate m
        for k in 0 .. d - 1 do
            for v in 0 .. n - 1 do
                let x = Array.zeroCreate (n * d)
                x[v * d + k] <- 1.0
                SheafEnergy.edgeDiscrepancies (sheaf, ReadOnlySpan x, Span discord)
                for e in 0 .. m - 1 do
                    if topology.Sources[e] = v then own[2 * e] <- own[2 * e] + discord[e]
                    if topology.Targets[e] = v then own[2 * e + 1] <- own[2 * e + 1] + discord[e]
            let x = Array.init (n * d) (fun j -> if j % d = k then 1.0 else 0.0)
            SheafEnergy.edgeDiscrepancies (sheaf, ReadOnlySpan x, Span discord)
            for e in 0 .. m - 1 do
                difference[e] <- difference[e] + discord[e]
        Array.init m (fun e ->
            let ss, tt = own[2 * e], own[2 * e + 1]
            if ss = 0.0 || tt = 0.0 then 0.0 else (ss + tt - difference[e]) / (2.0 * sqrt (ss * tt)))

    [<Property>]
    let ``edge alignment is the engine's polarised constant-cochain discord, in [-1, 1]`` (NsdSeed seed) =
        families
        |> Array.forall (fun family ->
            let model, theta = NsdGen.create family seed
            let layers = NsdInspection.alignment (model, theta)
            layers.Length = model.Config.Layers
            && layers
               |> Array.indexed
               |> Array.forall (fun (t, actual) ->
                   let expected = engineAlignment (model, t)
                   allClose 1e-10 expected actual && actual |> Array.forall (fun a -> a >= -1.0 && a <= 1.0)))

    [<Property>]
    let ``the identity control is aligned on every edge`` (NsdSeed seed) =
        let model, theta = NsdGen.create NsdFamily.Identity seed
        NsdInspection.alignment (model, theta) |> Array.forall (Array.forall (fun a -> a = 1.0))

    [<Property>]
    let ``predicted probabilities are distributions whose argmax is the logits' argmax`` (NsdSeed seed) =
        families
        |> Array.forall (fun family ->
            let model, theta = NsdGen.create family seed
            let p = NsdInspection.probabilities (model, theta)
            let classes = model.Config.ClassCount
            let argmax (a: float[]) v = Array.init classes (fun k -> a[v * classes + k]) |> Array.indexed |> Array.maxBy snd |> fst
            Seq.forall
                (fun v ->
                    let row = p[v * classes .. v * classes + classes - 1]
                    abs (Array.sum row - 1.0) <= 1e-12
                    && row |> Array.forall (fun x -> x >= 0.0)
                    && argmax p v = argmax model.Logits v)
                (seq { 0 .. model.Graph.NodeCount - 1 }))
