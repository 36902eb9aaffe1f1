namespace SheafCore.Numerics

open System
open System.Globalization
open System.IO

/// Role of a node in one train/validation/test split.
type internal SplitRole =
    | None = 0
    | Train = 1
    | Validation = 2
    | Test = 3

/// A graph with node features, labels and fixed splits, canonicalised the way NSD trains on it.
///
/// Edges are undirected and simple: every stored pair has Sources[e] < Targets[e], pairs are sorted
/// lexicographically and unique, and there are no self-loops. Features are a CSR matrix (NodeCount ×
/// FeatureCount) holding the raw values. Labels[v] ∈ [0, ClassCount) or −1 (no label). Splits[s][v] is the
/// role of node v in split s; a node without a label is never Train/Validation/Test.
[<NoEquality; NoComparison>]
type internal NodeGraph =
    { NodeCount: int
      FeatureCount: int
      ClassCount: int
      Sources: int[]
      Targets: int[]
      FeatureRowPointers: int[]
      FeatureColumns: int[]
      FeatureValues: float[]
      Labels: int[]
      Splits: SplitRole[][]
      /// Rows of the source edge list (before canonicalisation).
      EdgeRows: int
      /// Self-loop rows dropped.
      SelfLoopsRemoved: int
      /// Rows dropped because the same undirected pair was already listed (either direction).
      DuplicatesMerged: int }

    member g.EdgeCount = g.Sources.Length

/// Building, validating and reading node-classification graphs (the shared data format of
/// ../shared/data/graphs: edges.csv, features.csv, labels.csv, splits.csv, meta.csv).
[<RequireQualifiedAccess>]
module internal GraphData =

    /// <summary>Makes an edge list undirected and simple, as NSD does (symmetrise, drop self-loops, coalesce).</summary>
    /// <returns>(sources, targets, selfLoopsRemoved, duplicatesMerged) with sources[e] &lt; targets[e], sorted.</returns>
    /// <exception cref="System.ArgumentException">An endpoint lies outside [0, nodeCount); the message names the row.</exception>
    let canonicalise (nodeCount: int, sources: int[], targets: int[]) =
        if isNull sources then nullArg (nameof sources)
        if isNull targets then nullArg (nameof targets)
        Guard.length (nameof targets) sources.Length targets.Length
        let keys = ResizeArray<int64>(sources.Length)
        let mutable loops = 0
        for i in 0 .. sources.Length - 1 do
            let s = sources[i]
            let t = targets[i]
            if s < 0 || s >= nodeCount then
                invalidArg (nameof sources) (sprintf "Edge row %d: source %d is outside [0, %d)." i s nodeCount)
            if t < 0 || t >= nodeCount then
                invalidArg (nameof targets) (sprintf "Edge row %d: target %d is outside [0, %d)." i t nodeCount)
            if s = t then loops <- loops + 1
            else keys.Add(int64 (min s t) * int64 nodeCount + int64 (max s t))
        keys.Sort()
        let s = ResizeArray<int>(keys.Count)
        let t = ResizeArray<int>(keys.Count)
        for i in 0 .. keys.Count - 1 do
            if i = 0 || keys[i] <> keys[i - 1] then
                s.Add(int (keys[i] / int64 nodeCount))
                t.Add(int (keys[i] % int64 nodeCount))
        s.ToArray(), t.ToArray(), loops, keys.Count - s.Count

    /// <summary>Validates the parts of a graph and canonicalises its edges.</summary>
    /// <param name="nodeCount">Number of nodes n.</param>
    /// <param name="featureCount">Number of feature columns.</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="sources">Edge sources (any direction, repeats and self-loops allowed).</param>
    /// <param name="targets">Edge targets.</param>
    /// <param name="featureRowPointers">CSR row pointers, length n + 1.</param>
    /// <param name="featureColumns">CSR column indices in [0, featureCount).</param>
    /// <param name="featureValues">CSR values (finite).</param>
    /// <param name="labels">Length n, each in [0, classCount) or −1.</param>
    /// <param name="splits">Each of length n.</param>
    /// <exception cref="System.ArgumentException">Any count mismatch or out-of-range index, naming the parameter.</exception>
    let create
        (nodeCount: int, featureCount: int, classCount: int, sources: int[], targets: int[],
         featureRowPointers: int[], featureColumns: int[], featureValues: float[], labels: int[],
         splits: SplitRole[][])
        : NodeGraph =
        Guard.positive (nameof nodeCount) nodeCount
        Guard.nonNegative (nameof featureCount) featureCount
        Guard.positive (nameof classCount) classCount
        if isNull featureRowPointers then nullArg (nameof featureRowPointers)
        if isNull featureColumns then nullArg (nameof featureColumns)
        if isNull featureValues then nullArg (nameof featureValues)
        if isNull labels then nullArg (nameof labels)
        if isNull splits then nullArg (nameof splits)
        Guard.length (nameof featureRowPointers) (nodeCount + 1) featureRowPointers.Length
        Guard.length (nameof featureValues) featureColumns.Length featureValues.Length
        if featureRowPointers[0] <> 0 || featureRowPointers[nodeCount] <> featureColumns.Length then
            invalidArg (nameof featureRowPointers) "Row pointers must start at 0 and end at the number of stored entries."
        for v in 0 .. nodeCount - 1 do
            if featureRowPointers[v + 1] < featureRowPointers[v] then
                invalidArg (nameof featureRowPointers) (sprintf "Row pointers decrease at node %d." v)
        for k in 0 .. featureColumns.Length - 1 do
            Guard.index (nameof featureColumns) featureCount featureColumns[k]
        Guard.finite (nameof featureValues) (ReadOnlySpan featureValues)
        if labels.Length <> nodeCount then
            invalidArg (nameof labels) (sprintf "There are %d labels for %d nodes." labels.Length nodeCount)
        for v in 0 .. nodeCount - 1 do
            if labels[v] < -1 || labels[v] >= classCount then
                invalidArg (nameof labels) (sprintf "Node %d has label %d; labels must lie in [0, %d) or be −1." v labels[v] classCount)
        let roles =
            splits
            |> Array.mapi (fun s split ->
                if isNull split || split.Length <> nodeCount then
                    invalidArg (nameof splits) (sprintf "Split %d does not have one entry per node (%d)." s nodeCount)
                // NSD removes unlabelled nodes from every mask (Citeseer's placeholders).
                split |> Array.mapi (fun v r -> if labels[v] < 0 then SplitRole.None else r))
        let s, t, loops, duplicates = canonicalise (nodeCount, sources, targets)
        { NodeCount = nodeCount
          FeatureCount = featureCount
          ClassCount = classCount
          Sources = s
          Targets = t
          FeatureRowPointers = Array.copy featureRowPointers
          FeatureColumns = Array.copy featureColumns
          FeatureValues = Array.copy featureValues
          Labels = Array.copy labels
          Splits = roles
          EdgeRows = sources.Length
          SelfLoopsRemoved = loops
          DuplicatesMerged = duplicates }

    // ------------------------------------------------------------------------------------------
    // CSV reading: every error names the file, the 1-based line and the column.
    // ------------------------------------------------------------------------------------------

    /// Raised for malformed files; the message names file, line and column (the façade maps it to its
    /// own format exception).
    exception GraphFormatError of file: string * location: string * problem: string

    let private fail file location problem = raise (GraphFormatError(file, location, problem))

    /// Data rows of a CSV file as (line number, cells), after checking the header.
    let private rows (folder: string, name: string, header: string[]) =
        let path = Path.Combine(folder, name)
        if not (File.Exists path) then fail path "" "file not found."
        let lines = File.ReadAllLines path
        if lines.Length = 0 then fail path "" "the file is empty (a header row is required)."
        let head = lines[0].Split(',') |> Array.map (fun c -> c.Trim())
        if head.Length < header.Length || Array.exists2 (fun a b -> a <> b) head[.. header.Length - 1] header then
            fail path "line 1" (sprintf "expected the header to start with %s." (String.Join(",", header)))
        let result = ResizeArray<int * string[]>()
        for i in 1 .. lines.Length - 1 do
            let line = lines[i].TrimEnd('\r')
            if line.Trim().Length > 0 then
                let cells = line.Split(',')
                if cells.Length <> head.Length then
                    fail path (sprintf "line %d" (i + 1)) (sprintf "expected %d cells but found %d." head.Length cells.Length)
                result.Add((i + 1, cells))
        path, head, result

    let private int (path: string) (line: int) (column: string) (text: string) =
        match Int32.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, v -> v
        | _ -> fail path (sprintf "line %d, column %s" line column) (sprintf "'%s' is not an integer." text)

    let private number (path: string) (line: int) (column: string) (text: string) =
        match Double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> v
        | _ -> fail path (sprintf "line %d, column %s" line column) (sprintf "'%s' is not a finite number." text)

    let private readMeta (folder: string) =
        let path, _, data = rows (folder, "meta.csv", [| "key"; "value" |])
        let table = Collections.Generic.Dictionary<string, int * string>()
        for line, cells in data do
            table[cells[0].Trim()] <- (line, cells[1].Trim())
        let get key =
            match table.TryGetValue key with
            | true, (line, value) ->
                let v = int path line "value" value
                if v < 0 then fail path (sprintf "line %d" line) (sprintf "%s must be non-negative." key)
                v
            | _ -> fail path "" (sprintf "the key '%s' is missing." key)
        get "num_nodes", get "num_features", get "num_classes"

    let private role (path: string) (line: int) (column: string) (text: string) =
        match text.Trim() with
        | "train" -> SplitRole.Train
        | "val" -> SplitRole.Validation
        | "test" -> SplitRole.Test
        | "none" -> SplitRole.None
        | other -> fail path (sprintf "line %d, column %s" line column) (sprintf "'%s' is not train, val, test or none." other)

    /// <summary>Reads a graph folder (edges.csv, features.csv, labels.csv, splits.csv, meta.csv) and
    /// canonicalises it (undirected, no self-loops, repeats merged).</summary>
    /// <exception cref="GraphFormatError">A missing or malformed file, an out-of-range node, feature or label,
    /// or counts that disagree with meta.csv; the message names the file and line.</exception>
    let load (folder: string) : NodeGraph =
        if isNull folder then nullArg (nameof folder)
        if not (Directory.Exists folder) then fail folder "" "the folder does not exist."
        let n, p, c = readMeta folder
        if n = 0 then fail (Path.Combine(folder, "meta.csv")) "" "num_nodes must be positive."
        if c = 0 then fail (Path.Combine(folder, "meta.csv")) "" "num_classes must be positive."
        // labels.csv has one row per node: check that count before anything is sized by num_nodes, so a huge
        // num_nodes in meta.csv is a format error, not an overflow or an out-of-memory failure.
        let labelPath, _, labelRows = rows (folder, "labels.csv", [| "node"; "label" |])
        if labelRows.Count <> n then
            fail labelPath "" (sprintf "there are %d label rows for %d nodes (meta.csv num_nodes)." labelRows.Count n)
        let edgePath, _, edgeRows = rows (folder, "edges.csv", [| "source"; "target" |])
        let sources = Array.zeroCreate edgeRows.Count
        let targets = Array.zeroCreate edgeRows.Count
        edgeRows
        |> Seq.iteri (fun i (line, cells) ->
            let s = int edgePath line "source" cells[0]
            let t = int edgePath line "target" cells[1]
            if s < 0 || s >= n then
                fail edgePath (sprintf "line %d, column source" line) (sprintf "node %d is outside [0, %d) (meta.csv num_nodes)." s n)
            if t < 0 || t >= n then
                fail edgePath (sprintf "line %d, column target" line) (sprintf "node %d is outside [0, %d) (meta.csv num_nodes)." t n)
            sources[i] <- s
            targets[i] <- t)
        let featurePath, _, featureRows = rows (folder, "features.csv", [| "node"; "feature_index"; "value" |])
        // Sparse COO → CSR (counting sort by node; order within a row is kept, repeats are summed later by use).
        let counts = Array.zeroCreate (n + 1)
        let entries =
            featureRows
            |> Seq.map (fun (line, cells) ->
                let v = int featurePath line "node" cells[0]
                let j = int featurePath line "feature_index" cells[1]
                let x = number featurePath line "value" cells[2]
                if v < 0 || v >= n then
                    fail featurePath (sprintf "line %d, column node" line) (sprintf "node %d is outside [0, %d): features and nodes disagree." v n)
                if j < 0 || j >= p then
                    fail featurePath (sprintf "line %d, column feature_index" line) (sprintf "feature %d is outside [0, %d) (meta.csv num_features)." j p)
                counts[v + 1] <- counts[v + 1] + 1
                (v, j, x))
            |> Seq.toArray
        for v in 0 .. n - 1 do
            counts[v + 1] <- counts[v + 1] + counts[v]
        let columns = Array.zeroCreate entries.Length
        let values = Array.zeroCreate entries.Length
        let next = Array.copy counts
        for v, j, x in entries do
            columns[next[v]] <- j
            values[next[v]] <- x
            next[v] <- next[v] + 1
        let labels = Array.create n Int32.MinValue
        for line, cells in labelRows do
            let v = int labelPath line "node" cells[0]
            let y = int labelPath line "label" cells[1]
            if v < 0 || v >= n then fail labelPath (sprintf "line %d, column node" line) (sprintf "node %d is outside [0, %d)." v n)
            if labels[v] <> Int32.MinValue then fail labelPath (sprintf "line %d" line) (sprintf "node %d is labelled twice." v)
            if y < -1 || y >= c then
                fail labelPath (sprintf "line %d, column label" line) (sprintf "label %d is outside [0, %d) and not −1." y c)
            labels[v] <- y
        let splitPath, splitHeader, splitRows = rows (folder, "splits.csv", [| "node" |])
        let splitCount = splitHeader.Length - 1
        if splitCount = 0 then fail splitPath "line 1" "no split columns."
        if splitRows.Count <> n then
            fail splitPath "" (sprintf "there are %d rows for %d nodes (meta.csv num_nodes)." splitRows.Count n)
        let splits = Array.init splitCount (fun _ -> Array.create n SplitRole.None)
        let seen = Array.zeroCreate<bool> n
        for line, cells in splitRows do
            let v = int splitPath line "node" cells[0]
            if v < 0 || v >= n then fail splitPath (sprintf "line %d, column node" line) (sprintf "node %d is outside [0, %d)." v n)
            if seen[v] then fail splitPath (sprintf "line %d" line) (sprintf "node %d is listed twice." v)
            seen[v] <- true
            for s in 0 .. splitCount - 1 do
                splits[s][v] <- role splitPath line splitHeader[s + 1] cells[s + 1]
        create (n, p, c, sources, targets, counts, columns, values, labels, splits)

    /// <summary>Dense row-normalised features (PyG NormalizeFeatures, as NSD): row v divided by
    /// max(Σ_j x_vj, 1) after subtracting the global minimum (0 for the non-negative features here).</summary>
    /// <returns>CSR values with the same pattern as the graph's features.</returns>
    let rowNormalisedValues (g: NodeGraph) : float[] =
        let full = g.FeatureValues.Length >= g.NodeCount * g.FeatureCount
        let mutable minimum = if full then Double.PositiveInfinity else 0.0
        for x in g.FeatureValues do
            minimum <- min minimum x
        if not full && minimum < 0.0 then
            invalidArg (nameof g) "Negative features with implicit zeros: subtracting the minimum would make the pattern dense."
        // Only a fully stored matrix can have a non-zero minimum here, so the shift keeps the pattern.
        let shift = if full && g.FeatureValues.Length > 0 then minimum else 0.0
        let values = Array.map (fun x -> x - shift) g.FeatureValues
        for v in 0 .. g.NodeCount - 1 do
            let mutable sum = 0.0
            for k in g.FeatureRowPointers[v] .. g.FeatureRowPointers[v + 1] - 1 do
                sum <- sum + values[k]
            let scale = 1.0 / max sum 1.0
            for k in g.FeatureRowPointers[v] .. g.FeatureRowPointers[v + 1] - 1 do
                values[k] <- values[k] * scale
        values
