/// Random sheaves, matrices and vectors. Every case is rebuilt from a seed drawn by FsCheck through the
/// library's own `Rng`, so a failing case prints as a seed and a size and replays exactly.
module SheafCore.Properties.Generators

open System
open FsCheck
open FsCheck.FSharp

open SheafCore.Numerics

/// Largest stalk dimension the generators use.
[<Literal>]
let MaxStalk = 9

/// n i.i.d. standard normal values.
let internal vector (rng: Rng) (n: int) : float[] = Array.init n (fun _ -> rng.Normal())

/// A d×d orthogonal matrix (row-major): the product of d Householder reflections of Gaussian vectors.
let internal orthogonal (rng: Rng) (d: int) : float[] =
    let q = (DenseMatrix.Identity d).Values
    for _ in 1 .. d do
        let v = vector rng d
        let vv = Array.sumBy (fun x -> x * x) v
        if vv > 1e-12 then
            // Q ← Q·(I − 2vvᵀ/vᵀv): row i of Q loses 2(Q_i·v)/vᵀv · vᵀ.
            for i in 0 .. d - 1 do
                let mutable qv = 0.0
                for k in 0 .. d - 1 do
                    qv <- qv + q[i * d + k] * v[k]
                let scale = 2.0 * qv / vv
                for k in 0 .. d - 1 do
                    q[i * d + k] <- q[i * d + k] - scale * v[k]
    q

/// Stored values of a random map of the family, shape d_e × d_v.
let internal mapValues (rng: Rng) (family: RestrictionFamily) (edgeDim: int) (vertexDim: int) : float[] =
    match family with
    | RestrictionFamily.Dense -> vector rng (edgeDim * vertexDim)
    | RestrictionFamily.Diagonal -> vector rng edgeDim
    | RestrictionFamily.Orthogonal -> orthogonal rng edgeDim
    | _ -> Array.empty

/// A random sheaf: `vertices` vertices with stalk dims in 0..maxStalk, 0..2V random edges (no self-loops,
/// parallel edges allowed), edge dims equal to an endpoint's dim or random, and a random family per
/// incidence (diagonal/orthogonal/identity only where d_e = d_v).
/// A sheaf with dense N(0,1) maps on `vertices` vertices (stalk dimension `dimOf v`) and `edges` random edges,
/// multi-edges allowed (no self-loops); edge stalk dimensions from `edgeDimOf`.
let internal randomDenseSheaf (rng: Rng) (vertices: int) (edges: int) (dimOf: int -> int) (edgeDimOf: unit -> int) =
    let dims = Array.init vertices dimOf
    let edges = if vertices < 2 then 0 else edges
    let sources = Array.zeroCreate edges
    let targets = Array.zeroCreate edges
    for e in 0 .. edges - 1 do
        let s = rng.NextInt(0, vertices)
        let t0 = rng.NextInt(0, vertices - 1)
        sources[e] <- s
        targets[e] <- if t0 >= s then t0 + 1 else t0
    let edgeDims = Array.init edges (fun _ -> edgeDimOf ())
    let maps =
        Array.init (2 * edges) (fun i ->
            let v = if i % 2 = 0 then sources[i / 2] else targets[i / 2]
            vector rng (edgeDims[i / 2] * dims[v]))
    CellularSheaf.Create(dims, sources, targets, edgeDims, Array.create (2 * edges) RestrictionFamily.Dense, maps)

let internal randomSheaf (seed: int) (vertices: int) (maxStalk: int) : CellularSheaf =
    let rng = Rng(int64 seed)
    let dims = Array.init vertices (fun _ -> rng.NextInt(0, maxStalk + 1))
    let edges = if vertices < 2 then 0 else rng.NextInt(0, 2 * vertices + 1)
    let sources = Array.zeroCreate edges
    let targets = Array.zeroCreate edges
    let edgeDims = Array.zeroCreate edges
    let families = Array.zeroCreate (2 * edges)
    let maps = Array.zeroCreate (2 * edges)
    for e in 0 .. edges - 1 do
        let s = rng.NextInt(0, vertices)
        let t0 = rng.NextInt(0, vertices - 1)
        let t = if t0 >= s then t0 + 1 else t0
        sources[e] <- s
        targets[e] <- t
        edgeDims[e] <-
            match rng.NextInt(0, 3) with
            | 0 -> dims[s]
            | 1 -> dims[t]
            | _ -> rng.NextInt(0, maxStalk + 1)
        for side in 0 .. 1 do
            let dv = if side = 0 then dims[s] else dims[t]
            let family =
                if dv <> edgeDims[e] then RestrictionFamily.Dense
                else enum<RestrictionFamily> (rng.NextInt(0, 4))
            families[2 * e + side] <- family
            maps[2 * e + side] <- mapValues rng family edgeDims[e] dv
    CellularSheaf.Create(dims, sources, targets, edgeDims, families, maps)

/// The constant sheaf (every stalk R^d, identity maps) on a random connected graph: a random spanning
/// tree with random orientations plus up to V extra random edges.
let internal constantSheafOnConnectedGraph (seed: int) (vertices: int) (d: int) : CellularSheaf =
    let rng = Rng(int64 seed)
    let edges = ResizeArray<int * int>()
    for v in 1 .. vertices - 1 do
        let u = rng.NextInt(0, v)
        edges.Add(if rng.NextInt(0, 2) = 0 then (u, v) else (v, u))
    if vertices >= 2 then
        for _ in 1 .. rng.NextInt(0, vertices + 1) do
            let s = rng.NextInt(0, vertices)
            let t0 = rng.NextInt(0, vertices - 1)
            edges.Add(s, (if t0 >= s then t0 + 1 else t0))
    let m = edges.Count
    CellularSheaf.Create(
        Array.create vertices d,
        edges |> Seq.map fst |> Array.ofSeq,
        edges |> Seq.map snd |> Array.ofSeq,
        Array.create m d,
        Array.create (2 * m) RestrictionFamily.Identity,
        Array.create (2 * m) Array.empty
    )

/// Any-size sheaf case: vertex counts 0..257, mostly small so the suite stays fast.
[<Sealed>]
type SheafCase(seed: int, vertices: int) =
    let sheaf = lazy (randomSheaf seed vertices MaxStalk)
    member _.Seed = seed
    member _.Vertices = vertices
    member internal _.Sheaf = sheaf.Value
    override _.ToString() = sprintf "SheafCase(seed = %d, vertices = %d)" seed vertices

/// Small sheaf case (≤ 8 vertices, C⁰ ≤ 72) for dense eigen-decompositions and dense solves.
[<Sealed>]
type SmallSheafCase(seed: int, vertices: int) =
    let sheaf = lazy (randomSheaf seed vertices MaxStalk)
    member _.Seed = seed
    member _.Vertices = vertices
    member internal _.Sheaf = sheaf.Value
    override _.ToString() = sprintf "SmallSheafCase(seed = %d, vertices = %d)" seed vertices

/// A constant sheaf R^d with identity maps on a connected graph.
[<Sealed>]
type ConstantSheafCase(seed: int, vertices: int, stalkDim: int) =
    let sheaf = lazy (constantSheafOnConnectedGraph seed vertices stalkDim)
    member _.StalkDim = stalkDim
    member internal _.Sheaf = sheaf.Value
    override _.ToString() = sprintf "ConstantSheafCase(seed = %d, vertices = %d, d = %d)" seed vertices stalkDim

/// A random symmetric PSD matrix A = B·Bᵀ with B n×rank Gaussian (rank exactly `rank` almost surely).
[<Sealed>]
type PsdCase(seed: int, size: int, rank: int) =
    let matrix =
        lazy
            (let rng = Rng(int64 seed)
             let b = DenseMatrix(size, rank, vector rng (size * rank))
             Dense.multiply b (Dense.transpose b))
    member _.Seed = seed
    member _.Size = size
    member _.Rank = rank
    member internal _.Matrix = matrix.Value
    override _.ToString() = sprintf "PsdCase(seed = %d, n = %d, rank = %d)" seed size rank

/// A random symmetric Gaussian matrix of size 0..24.
[<Sealed>]
type SymmetricCase(seed: int, size: int) =
    let matrix =
        lazy
            (let rng = Rng(int64 seed)
             let a = DenseMatrix(size, size)
             for i in 0 .. size - 1 do
                 for j in 0 .. i do
                     let v = rng.Normal()
                     a[i, j] <- v
                     a[j, i] <- v
             a)
    member _.Size = size
    member internal _.Matrix = matrix.Value
    override _.ToString() = sprintf "SymmetricCase(seed = %d, n = %d)" seed size

let private seedGen = Gen.choose (0, Int32.MaxValue)

/// Vertex counts: mostly ≤ 12, sometimes up to 60, rarely up to 257.
let private vertexCountGen =
    Gen.frequency [ 8, Gen.choose (0, 12); 3, Gen.choose (13, 60); 1, Gen.choose (61, 257) ]

/// FsCheck arbitraries for the case types above (registered with `Properties(Arbitrary = …)`).
type Arbitraries =
    static member SheafCase() : Arbitrary<SheafCase> =
        Gen.map2 (fun s v -> SheafCase(s, v)) seedGen vertexCountGen |> Arb.fromGen

    static member SmallSheafCase() : Arbitrary<SmallSheafCase> =
        Gen.map2 (fun s v -> SmallSheafCase(s, v)) seedGen (Gen.choose (0, 8)) |> Arb.fromGen

    static member ConstantSheafCase() : Arbitrary<ConstantSheafCase> =
        Gen.map3 (fun s v d -> ConstantSheafCase(s, v, d)) seedGen (Gen.choose (1, 12)) (Gen.choose (0, MaxStalk))
        |> Arb.fromGen

    static member PsdCase() : Arbitrary<PsdCase> =
        gen {
            let! seed = seedGen
            let! n = Gen.frequency [ 4, Gen.choose (0, 12); 1, Gen.choose (13, 30) ]
            let! rank = Gen.choose (0, n)
            return PsdCase(seed, n, rank)
        }
        |> Arb.fromGen

    static member SymmetricCase() : Arbitrary<SymmetricCase> =
        Gen.map2 (fun s n -> SymmetricCase(s, n)) seedGen (Gen.choose (0, 24)) |> Arb.fromGen

/// Euclidean inner product and norm of arrays (test-side helpers, independent of the kernels).
let dot (a: float[]) (b: float[]) = Array.fold2 (fun acc x y -> acc + x * y) 0.0 a b

let norm (a: float[]) = sqrt (dot a a)

/// Writes a valid 6-node, 3-feature, 2-class graph folder (the nsd reader's five files) for CLI tests.
let internal writeTinyGraph (folder: string) =
    System.IO.Directory.CreateDirectory folder |> ignore
    let write (name: string) (text: string) = System.IO.File.WriteAllText(System.IO.Path.Combine(folder, name), text)
    write "meta.csv" "key,value\nname,tiny\nnum_nodes,6\nnum_features,3\nnum_classes,2\n"
    write "edges.csv" "source,target\n0,1\n1,2\n2,3\n3,4\n4,5\n5,0\n"
    write "features.csv" "node,feature_index,value\n0,0,1\n1,1,1\n2,2,1\n3,0,1\n4,1,1\n5,2,1\n"
    write "labels.csv" "node,label\n0,0\n1,1\n2,0\n3,1\n4,0\n5,1\n"
    write "splits.csv" "node,s0,s1\n0,train,val\n1,train,test\n2,val,train\n3,test,train\n4,train,val\n5,test,train\n"
