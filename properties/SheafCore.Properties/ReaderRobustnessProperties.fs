/// Malformed inputs for every reader (model JSON, data CSV, stalk-state JSON, pin specs): mutations of valid files
/// (truncation, token replacement/insertion/deletion, huge and non-finite numbers, wrong types and shapes). Each
/// case must end in the reader's typed error or a valid result, never in any other exception.
module SheafCore.Properties.ReaderRobustnessProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore

let private tokens =
    [| "["; "]"; "{"; "}"; ","; ":"; "\""; "-"; "."; "e"; "1e308"; "-1e309"; "1e400"; "NaN"; "Infinity"; "null"; "true"
       "0"; "7"; "-3"; " "; "\n"; "\r\n"; "\"layers\""; "\"weights\""; "\"biases\""; "\"output\""; "\"softmax\""
       "\"sigmoid\""; "\"z\""; "\"a\""; "\"a_output\""; "[]"; "{}"; "[[1,2],[3]]"; "1.5"; "99999999999"; "2147483648"
       "x"; "z1"; "a1"; "z2"; "out"; "="; "@"; "a,b"; "y,y"; "\u00e9"; "\t"; "0x10"; "1,5"; "+"; "--" |]

let private mutateOnce (s: string) : Gen<string> =
    let insert =
        gen {
            let! i = Gen.choose (0, s.Length)
            let! t = Gen.elements tokens
            return s.Insert(i, t)
        }
    if s.Length = 0 then
        insert
    else
        let truncate = Gen.choose (0, s.Length - 1) |> Gen.map (fun cut -> s.Substring(0, cut))
        let replace =
            gen {
                let! i = Gen.choose (0, s.Length - 1)
                let! n = Gen.choose (1, 8)
                let! t = Gen.elements tokens
                let n = min n (s.Length - i)
                return s.Substring(0, i) + t + s.Substring(i + n)
            }
        let delete =
            gen {
                let! i = Gen.choose (0, s.Length - 1)
                let! n = Gen.choose (1, 12)
                return s.Remove(i, min n (s.Length - i))
            }
        let duplicate =
            gen {
                let! i = Gen.choose (0, s.Length - 1)
                let! n = Gen.choose (1, 20)
                let piece = s.Substring(i, min n (s.Length - i))
                return s.Insert(i, piece)
            }
        Gen.frequency [ 2, truncate; 4, replace; 3, insert; 2, delete; 1, duplicate ]

let rec private mutateN (n: int) (s: string) : Gen<string> =
    if n = 0 then Gen.constant s else Gen.bind (mutateN (n - 1)) (mutateOnce s)

/// One of the valid texts, mutated 1–4 times (never the valid text itself).
let private malformed (valid: string[]) : Arbitrary<string> =
    gen {
        let! v = Gen.elements valid
        let! n = Gen.choose (1, 4)
        return! mutateN n v
    }
    |> Arb.fromGen

/// Runs the reader; a typed error or success is fine, anything else fails the property with the exception.
let private endsTyped (allowed: Type list) (read: unit -> unit) : bool =
    try
        read ()
        true
    with e when allowed |> List.exists (fun t -> t.IsInstanceOfType e) ->
        true

let private networks =
    [| NeuralNetwork.CreateHeInitialized([| 2; 3; 1 |], OutputActivation.Identity, 1)
       NeuralNetwork.CreateHeInitialized([| 2; 3; 2; 1 |], OutputActivation.Sigmoid, 2)
       NeuralNetwork.CreateHeInitialized([| 2; 2; 3 |], OutputActivation.Softmax, 3) |]

let private inputs = array2D [ [ 0.5; -0.3 ]; [ 1.0; 0.25 ] ]

[<Properties(MaxTest = 1000)>]
module ``Malformed inputs end in the typed error`` =

    [<Property>]
    let ``model JSON: SheafCoreFormatException or ArgumentException`` () =
        let valid = networks |> Array.map (fun n -> n.ToJson())
        Prop.forAll (malformed valid) (fun text ->
            endsTyped [ typeof<SheafCoreFormatException>; typeof<ArgumentException> ] (fun () -> NeuralNetwork.FromJson text |> ignore))

    [<Property>]
    let ``data CSV: SheafCoreFormatException`` () =
        let valid =
            [| "a,b,y\n0.5,-0.3,1\n1,2,3\n"; "x1,x2\r\n1e-3,2.5E2\r\n-0,7\r\n"; "a,b,c,d\n1,2,3,4\n" |]
        Prop.forAll (malformed valid) (fun text ->
            endsTyped [ typeof<SheafCoreFormatException> ] (fun () -> CsvTable.Parse(text, "data.csv") |> ignore))

    [<Property>]
    let ``stalk-state JSON: SheafCoreFormatException or ArgumentException`` () =
        let cases =
            networks
            |> Array.map (fun n ->
                let sheaf = n.ToSheaf()
                sheaf, sheaf.CreateState(inputs, StalkInitialization.Random, 4).ToJson())
        let valid = cases |> Array.mapi (fun i (_, json) -> string i + "|" + json)
        Prop.forAll (malformed valid) (fun tagged ->
            // The tag says which network the text was made for; a damaged tag falls back to the first.
            let bar = tagged.IndexOf '|'
            let index =
                match bar with
                | 1 when Char.IsDigit tagged[0] && int tagged[0] - int '0' < cases.Length -> int tagged[0] - int '0'
                | _ -> 0
            let json = if bar >= 0 then tagged.Substring(bar + 1) else tagged
            let sheaf = fst cases[index]
            endsTyped [ typeof<SheafCoreFormatException>; typeof<ArgumentException> ] (fun () ->
                sheaf.CreateState(inputs, json, "state.json") |> ignore))

    [<Property>]
    let ``pin spec: FormatException when parsed, ArgumentException when applied`` () =
        let valid = [| "z1:0=0.5"; "z1=0@10"; "out=1"; "a1:0-1,2=3"; "z2:1=-0.25@2.5"; "x:0=1" |]
        let sheaf = networks[1].ToSheaf()
        let start = sheaf.HarmonicExtension inputs
        let options = DiffusionOptions(MaximumSteps = 1, MinimumSteps = 0)
        Prop.forAll (malformed valid) (fun spec ->
            endsTyped [ typeof<FormatException>; typeof<ArgumentException>; typeof<DiffusionDivergedException> ] (fun () ->
                let pin = NeuronPin.Parse spec
                sheaf.Diffuse(start, options, [| pin |]) |> ignore))

// ----------------------------------------------------------------------------------------------
// Graph folders of `nsd` (edges.csv, features.csv, labels.csv, splits.csv, meta.csv)
// ----------------------------------------------------------------------------------------------

let private graphFiles = [| "meta.csv"; "edges.csv"; "features.csv"; "labels.csv"; "splits.csv" |]

/// A valid 6-node graph with a self-loop, a repeated pair (both directions), an unlabelled node, two splits.
let private validGraph =
    [| "key,value\nname,tiny\nnum_nodes,6\nnum_features,4\nnum_classes,2\nnum_edge_rows,8\n"
       "source,target\n0,1\n1,2\n2,3\n3,4\n4,5\n5,0\n2,1\n3,3\n"
       "node,feature_index,value\n0,0,1\n0,3,0.5\n1,1,1\n2,2,2\n3,0,1\n4,1,1\n5,3,1\n"
       "node,label\n0,0\n1,1\n2,0\n3,1\n4,-1\n5,0\n"
       "node,split0,split1\n0,train,val\n1,train,test\n2,val,train\n3,test,train\n4,none,none\n5,test,val\n" |]

/// Values that break one cell: out-of-range, overflowing, non-finite, non-integer, empty, wrong type.
let private badCell =
    Gen.oneof
        [ Gen.elements
              [ "-1"; "6"; "7"; "-2"; "2147483647"; "2147483648"; "-2147483649"; "99999999999"; "1.5"; "1e3"; "NaN"
                "Infinity"; "-Infinity"; "1e400"; "-1e309"; ""; " "; "abc"; "0x10"; "null"; "train"; "\"3\"" ]
          Gen.choose (-1000, 1000) |> Gen.map string
          ArbMap.defaults |> ArbMap.generate<int> |> Gen.map string
          ArbMap.defaults |> ArbMap.generate<float> |> Gen.map (fun v -> v.ToString("R", Globalization.CultureInfo.InvariantCulture)) ]

/// Graph-aware damage to one file's lines: a bad cell, a new row (self-loop, repeat, out-of-range node), a dropped or
/// doubled row (count mismatches, nodes listed twice), a header-only or empty file, a missing or extra cell.
let private damageLines (file: int) (text: string) : Gen<string> =
    let lines = text.TrimEnd('\n').Split('\n')
    let join (ls: string[]) = String.Join("\n", ls) + "\n"
    let rowIndex = Gen.choose (1, lines.Length - 1)
    let setCell =
        gen {
            let! r = rowIndex
            let cells = lines[r].Split(',')
            let! c = Gen.choose (0, cells.Length - 1)
            let! v = badCell
            cells[c] <- v
            return join (Array.updateAt r (String.Join(",", cells)) lines)
        }
    let addRow =
        gen {
            let! a = Gen.oneof [ Gen.choose (-2, 8); badCell |> Gen.map (fun _ -> 0) ]
            let! b = Gen.choose (-2, 8)
            let! v = badCell
            let row =
                match file with
                | 1 -> if a % 3 = 0 then sprintf "%d,%d" a a else sprintf "%d,%d" a b // self-loops, repeats, out of range
                | 2 -> sprintf "%d,%d,%s" a b v
                | 3 -> sprintf "%d,%d" a b
                | 4 -> sprintf "%d,train,%s" a v
                | _ -> sprintf "num_nodes,%s" v
            return join (Array.append lines [| row |])
        }
    let dropRow = rowIndex |> Gen.map (fun r -> join (Array.removeAt r lines))
    let doubleRow = rowIndex |> Gen.map (fun r -> join (Array.insertAt r lines[r] lines))
    let cells =
        gen {
            let! r = rowIndex
            let! extra = Gen.elements [ ","; ",1"; ",,"; "" ]
            let cut = lines[r].LastIndexOf ','
            let line = if extra = "" && cut > 0 then lines[r].Substring(0, cut) else lines[r] + extra
            return join (Array.updateAt r line lines)
        }
    let headerOnly = Gen.constant (lines[0] + "\n")
    let empty = Gen.elements [ ""; "\n"; "\r\n" ]
    if lines.Length < 2 then
        Gen.oneof [ headerOnly; empty; mutateN 1 text ]
    else
        Gen.frequency [ 5, setCell; 4, addRow; 2, dropRow; 2, doubleRow; 2, cells; 1, headerOnly; 1, empty ]

/// A damaged graph folder: 1–3 rounds, each damaging one file by text mutation or graph-aware damage, or deleting it.
type private GraphCase = { Files: string option[]; Damage: string }

let private malformedGraph : Arbitrary<GraphCase> =
    let round (files: string option[]) =
        gen {
            let! f = Gen.choose (0, graphFiles.Length - 1)
            match files[f] with
            | None -> return files, sprintf "%s already missing" graphFiles[f]
            | Some text ->
                let! kind = Gen.frequency [ 4, Gen.constant "text"; 5, Gen.constant "graph"; 1, Gen.constant "delete" ]
                match kind with
                | "delete" -> return Array.updateAt f None files, sprintf "deleted %s" graphFiles[f]
                | "text" ->
                    let! n = Gen.choose (1, 3)
                    let! t = mutateN n text
                    return Array.updateAt f (Some t) files, sprintf "mutated %s" graphFiles[f]
                | _ ->
                    let! t = damageLines f text
                    return Array.updateAt f (Some t) files, sprintf "damaged rows of %s" graphFiles[f]
        }
    let rec rounds (n: int) (files: string option[]) (notes: string list) =
        if n = 0 then
            Gen.constant { Files = files; Damage = String.Join("; ", List.rev notes) }
        else
            round files |> Gen.bind (fun (files', note) -> rounds (n - 1) files' (note :: notes))
    Gen.choose (1, 3) |> Gen.bind (fun n -> rounds n (Array.map Some validGraph) [])
    |> Arb.fromGen

/// Writes the case into a fresh folder under the temp directory (deleted afterwards).
let private withGraphFolder (case: GraphCase) (read: string -> 'T) : 'T =
    let folder = IO.Path.Combine(IO.Path.GetTempPath(), "sheafcore-graph-" + Guid.NewGuid().ToString("N"))
    IO.Directory.CreateDirectory folder |> ignore
    try
        for i in 0 .. graphFiles.Length - 1 do
            match case.Files[i] with
            | Some text -> IO.File.WriteAllText(IO.Path.Combine(folder, graphFiles[i]), text)
            | None -> ()
        read folder
    finally
        IO.Directory.Delete(folder, true)

/// What a loaded graph must satisfy whatever the input: simple undirected sorted edges inside [0, n), labels in
/// range or −1, one role per node per split and no role for an unlabelled node.
let private graphInvariantsHold (g: NodeClassificationGraph) =
    let struct (s, t) = g.GetEdges()
    let labels = g.GetLabels()
    let edgesOk =
        s.Length = t.Length
        && Array.forall2 (fun a b -> 0 <= a && a < b && b < g.NodeCount) s t
        && Seq.pairwise (Array.zip s t) |> Seq.forall (fun (p, q) -> p < q)
    let labelsOk = labels.Length = g.NodeCount && labels |> Array.forall (fun y -> y >= -1 && y < g.ClassCount)
    let splitsOk =
        [ 0 .. g.SplitCount - 1 ]
        |> List.forall (fun k ->
            let roles = g.GetSplit k
            roles.Length = g.NodeCount
            && Array.forall2 (fun (r: NodeSplitRole) y -> y >= 0 || r = NodeSplitRole.None) roles labels)
    edgesOk && labelsOk && splitsOk && g.EdgeCount + g.SelfLoopsRemoved + g.DuplicatesMerged = g.EdgeRowCount

/// Runs the loader on a worker thread so that a hang fails the case instead of the whole run.
let private loadWithin (seconds: float) (folder: string) : Result<NodeClassificationGraph, exn> option =
    let task = Threading.Tasks.Task.Run(fun () -> try Ok(NodeClassificationGraph.Load folder) with e -> Error e)
    if task.Wait(TimeSpan.FromSeconds seconds) then Some task.Result else None

[<Properties(MaxTest = 1000)>]
module ``Malformed graph folders end in the typed error`` =

    [<Property>]
    let ``graph folder (nsd): SheafCoreFormatException, or a graph that keeps the invariants`` () =
        Prop.forAll malformedGraph (fun case ->
            withGraphFolder case (fun folder ->
                match loadWithin 30.0 folder with
                | None -> false |> Prop.label (sprintf "no answer within 30 s (%s)" case.Damage)
                | Some(Ok g) ->
                    graphInvariantsHold g
                    |> Prop.label (sprintf "accepted but broken (%s)" case.Damage)
                    |> Prop.classify true "accepted"
                | Some(Error(:? SheafCoreFormatException as e)) ->
                    // One line naming a file of the folder (or the folder itself).
                    (not (e.Message.Contains '\n') && e.Message.Contains folder)
                    |> Prop.label (sprintf "message '%s' (%s)" e.Message case.Damage)
                    |> Prop.classify true "typed error"
                | Some(Error e) -> false |> Prop.label (sprintf "%s: %s (%s)" (e.GetType().Name) e.Message case.Damage)))

    [<Xunit.Fact>]
    let ``the undamaged tiny graph loads with its self-loop and repeat counted`` () =
        let g = withGraphFolder { Files = Array.map Some validGraph; Damage = "" } NodeClassificationGraph.Load
        Xunit.Assert.Equal(6, g.EdgeCount)
        Xunit.Assert.Equal(1, g.SelfLoopsRemoved)
        Xunit.Assert.Equal(1, g.DuplicatesMerged)
        Xunit.Assert.True(graphInvariantsHold g)
