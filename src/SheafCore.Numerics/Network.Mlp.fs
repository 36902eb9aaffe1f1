namespace SheafCore.Numerics

open System
open System.Numerics.Tensors

/// The output activation φ of a network.
type internal OutputActivation =
    | Identity = 0
    | Sigmoid = 1
    | Softmax = 2

/// A feed-forward ReLU network [n0, n1, …, n_{k+1}] with k hidden ReLU layers and output activation φ.
/// Weights[l] is W^(l+1), an n_{l+1} × n_l matrix stored row-major; Biases[l] is b^(l+1).
/// Batches are stored feature-major: an n × B matrix whose column j is sample j, so each row is
/// one neuron across the batch and kernels vectorise along the batch.
[<Sealed; AllowNullLiteral>]
type internal Mlp(layers: int[], output: OutputActivation, weights: float[][], biases: float[][]) =
    do
        if isNull layers then nullArg (nameof layers)
        if layers.Length < 2 then invalidArg (nameof layers) "A network needs at least an input and an output layer."
        for i in 0 .. layers.Length - 1 do
            if layers[i] < 1 then invalidArg (nameof layers) (sprintf "Layer %d has width %d; widths must be positive." i layers[i])
        if not (Enum.IsDefined output) then invalidArg (nameof output) "Unknown output activation."
        if isNull weights || weights.Length <> layers.Length - 1 then
            invalidArg (nameof weights) (sprintf "Expected %d weight matrices." (layers.Length - 1))
        if isNull biases || biases.Length <> layers.Length - 1 then
            invalidArg (nameof biases) (sprintf "Expected %d bias vectors." (layers.Length - 1))
        for l in 0 .. layers.Length - 2 do
            if isNull weights[l] || weights[l].Length <> layers[l + 1] * layers[l] then
                invalidArg (nameof weights) (sprintf "W%d must be %d×%d." (l + 1) layers[l + 1] layers[l])
            if isNull biases[l] || biases[l].Length <> layers[l + 1] then
                invalidArg (nameof biases) (sprintf "b%d must have %d entries." (l + 1) layers[l + 1])
            Guard.finite (sprintf "weights[%d]" l) (ReadOnlySpan weights[l])
            Guard.finite (sprintf "biases[%d]" l) (ReadOnlySpan biases[l])

    member _.Layers = layers
    member _.Output = output
    member _.Weights = weights
    member _.Biases = biases
    /// k, the number of hidden ReLU layers.
    member _.HiddenCount = layers.Length - 2
    /// k + 1, the number of affine layers.
    member _.AffineCount = layers.Length - 1
    member _.InputDim = layers[0]
    member _.OutputDim = layers[layers.Length - 1]

    /// He initialisation W ~ N(0, 2/n_{l−1}), b = 0, drawn layer by layer from one seeded stream.
    static member HeInitialised(layers: int[], output: OutputActivation, seed: int64) =
        if isNull layers then nullArg (nameof layers)
        if layers.Length < 2 then invalidArg (nameof layers) "A network needs at least an input and an output layer."
        for i in 0 .. layers.Length - 1 do
            if layers[i] < 1 then invalidArg (nameof layers) (sprintf "Layer %d has width %d; widths must be positive." i layers[i])
        let rng = Rng seed
        let weights =
            Array.init (layers.Length - 1) (fun l ->
                let w = Array.zeroCreate (layers[l + 1] * layers[l])
                rng.FillNormal(Span w, sqrt (2.0 / float layers[l]))
                w)
        let biases = Array.init (layers.Length - 1) (fun l -> Array.zeroCreate layers[l + 1])
        Mlp(Array.copy layers, output, weights, biases)

    member _.Clone() =
        Mlp(Array.copy layers, output, Array.map Array.copy weights, Array.map Array.copy biases)

/// Element-wise pieces of the forward pass over feature-major batches.
[<RequireQualifiedAccess>]
module internal Activations =

    /// destination = ReLU(source) = max(source, 0); TensorPrimitives vectorises it.
    let relu (source: ReadOnlySpan<float>, destination: Span<float>) = TensorPrimitives.Max(source, 0.0, destination)

    /// Applies φ column by column to an n × B feature-major block: sigmoid element-wise, softmax over
    /// the n entries of each column (shifted by the column maximum for stability).
    let applyOutput (activation: OutputActivation, n: int, batch: int, z: ReadOnlySpan<float>, destination: Span<float>) =
        match activation with
        | OutputActivation.Identity -> z.Slice(0, n * batch).CopyTo destination
        | OutputActivation.Sigmoid -> TensorPrimitives.Sigmoid(z.Slice(0, n * batch), destination.Slice(0, n * batch))
        | _ ->
            for j in 0 .. batch - 1 do
                let mutable m = Double.NegativeInfinity
                for i in 0 .. n - 1 do
                    m <- max m z[i * batch + j]
                let mutable s = 0.0
                for i in 0 .. n - 1 do
                    let e = exp (z[i * batch + j] - m)
                    destination[i * batch + j] <- e
                    s <- s + e
                for i in 0 .. n - 1 do
                    destination[i * batch + j] <- destination[i * batch + j] / s

/// Reusable buffers of the plain forward pass for one batch size (no allocation per call).
[<Sealed>]
type internal ForwardWorkspace(mlp: Mlp, batch: int) =
    do Guard.nonNegative (nameof batch) batch
    let z = Array.init mlp.AffineCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let a = Array.init mlp.HiddenCount (fun l -> Array.zeroCreate (mlp.Layers[l + 1] * batch))
    let y = Array.zeroCreate (mlp.OutputDim * batch)
    member _.Batch = batch
    /// Z[l] holds z^(l+1) (n_{l+1} × B).
    member _.Z = z
    /// A[l] holds a^(l+1) (n_{l+1} × B).
    member _.A = a
    /// φ(z^(k+1)) (n_{k+1} × B).
    member _.Output = y

/// The ordinary forward pass z = W a + b, a = ReLU(z), ŷ = φ(z^(k+1)).
[<RequireQualifiedAccess>]
module internal Forward =

    /// Fills c (n × B) with b broadcast along each row.
    let fillRowBias (n: int, batch: int, bias: ReadOnlySpan<float>, c: Span<float>) =
        for i in 0 .. n - 1 do
            c.Slice(i * batch, batch).Fill bias[i]

    /// <summary>Runs the forward pass on x (n0 × B feature-major) into the workspace, each layer's GEMM split over up
    /// to maxDegreeOfParallelism threads (column blocks of the batch, only above <c>Gemm.ParallelFlopThreshold</c>).
    /// The result is bit-identical for every thread count (each output element is summed in the same order).</summary>
    let runParallel (mlp: Mlp, x: ReadOnlySpan<float>, workspace: ForwardWorkspace, maxDegreeOfParallelism: int) =
        let batch = workspace.Batch
        Guard.length (nameof x) (mlp.InputDim * batch) x.Length
        let mutable previous = x
        for l in 0 .. mlp.AffineCount - 1 do
            let nOut = mlp.Layers[l + 1]
            let nIn = mlp.Layers[l]
            let z = Span<float>(workspace.Z[l])
            Gemm.multiplyAddBiasParallel (
                nOut, batch, nIn, ReadOnlySpan mlp.Weights[l], nIn, previous, batch, ReadOnlySpan mlp.Biases[l], z, batch,
                maxDegreeOfParallelism
            )
            if l < mlp.HiddenCount then
                Activations.relu (ReadOnlySpan workspace.Z[l], Span workspace.A[l])
                previous <- ReadOnlySpan workspace.A[l]
        Activations.applyOutput (
            mlp.Output,
            mlp.OutputDim,
            batch,
            ReadOnlySpan workspace.Z[mlp.AffineCount - 1],
            Span workspace.Output
        )

    /// Runs the forward pass on x (n0 × B feature-major) into the workspace, on the calling thread.
    let run (mlp: Mlp, x: ReadOnlySpan<float>, workspace: ForwardWorkspace) = runParallel (mlp, x, workspace, 1)

/// Conversions between sample-major rows (CSV, C# callers) and feature-major batches.
[<RequireQualifiedAccess>]
module internal Layout =

    /// destination (cols × rows) = transpose of source (rows × cols), both row-major.
    let transpose (rows: int, cols: int, source: ReadOnlySpan<float>, destination: Span<float>) =
        Guard.length (nameof source) (rows * cols) source.Length
        Guard.atLeast (nameof destination) (rows * cols) destination.Length
        for i in 0 .. rows - 1 do
            for j in 0 .. cols - 1 do
                destination[j * rows + i] <- source[i * cols + j]
