/// Generated bad paths for every flag of the `sheafcore` CLI that names a file or folder, run in-process through
/// `CliApp.Run`: missing files, folders where a file is expected, empty files, random bytes, PNGs or the other format,
/// outputs in missing folders or on top of folders, empty / NUL / over-long names. Each must end in exactly one line
/// on stderr naming the flag or the path, a non-zero exit code, and the case's folder exactly as it was before (no
/// output, partial or whole, no temporary file). Odd but legal names (spaces, `*`, `?`, newlines, non-ASCII, `=`) must
/// work: exit 0 with the file written under exactly that name.
module SheafCore.Properties.CliPathProperties

open System
open System.IO
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore
open SheafCore.Cli

/// What a flag names: an input CSV, model JSON, stalk-state JSON or graph folder; or an output file or folder.
type private Role =
    | InCsv
    | InModel
    | InState
    | InFolder
    | OutFile
    | OutFolder

type private FlagSpec =
    { Flag: string
      Role: Role
      /// How the path becomes the flag's value (`LABEL=FILE` for plot loss, `LABEL=FILE:X:Y` for sweep plot).
      Wrap: string -> string }

/// Shared valid inputs: a 2-3-1 model, a 4-row regression CSV, a stalk state and a training log made from them by
/// the tool itself, and a tiny graph folder.
type private Scratch =
    { Root: string
      Model: string
      Data: string
      State: string
      Log: string
      Graph: string
      /// False when the process can write into a read-only folder anyway (root), so that damage cannot be tested.
      ReadOnlyBites: bool }

let private run (args: string list) =
    let output = new StringWriter()
    let error = new StringWriter()
    let code = CliApp.Run(List.toArray args, output, error)
    code, error.ToString()

let private scratch =
    lazy
        (let root = Path.Combine(Path.GetTempPath(), "sheafcore-paths-" + Guid.NewGuid().ToString("N"))
         let inputs = Directory.CreateDirectory(Path.Combine(root, "inputs")).FullName
         // Leave no scratch behind in the temp folder.
         AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
             try
                 Directory.Delete(root, true)
             with _ ->
                 ())
         let model = Path.Combine(inputs, "m.json")
         NeuralNetwork.CreateHeInitialized([| 2; 3; 1 |], OutputActivation.Identity, 1).Save model
         let data = Path.Combine(inputs, "d.csv")
         File.WriteAllText(data, "x1,x2,y\n0.5,-0.3,0.2\n1,0.5,-0.1\n-0.2,0.4,0.3\n0.1,0.1,0\n")
         let state = Path.Combine(inputs, "s.json")
         let log = Path.Combine(inputs, "log.csv")
         let setup =
             [ [ "diffuse"; "--quiet"; "--model"; model; "--input"; data; "--output"; Path.Combine(inputs, "y.csv"); "--init"; "forward"; "--state-out"; state ]
               [ "train"; "--quiet"; "--model"; model; "--train"; data; "--method"; "sgd"; "--steps"; "20"; "--steps-per-epoch"; "10"
                 "--model-out"; Path.Combine(inputs, "t.json"); "--log"; log ] ]
         for args in setup do
             let code, err = run args
             if code <> 0 then failwithf "setup run %A failed: %d %s" args code err
         let graph = Path.Combine(inputs, "graph")
         Generators.writeTinyGraph graph
         // Root ignores folder permissions; probe once instead of guessing from the user name.
         let probe = Directory.CreateDirectory(Path.Combine(root, "probe")).FullName
         File.SetUnixFileMode(probe, UnixFileMode.UserRead ||| UnixFileMode.UserExecute)
         let bites =
             try
                 File.WriteAllText(Path.Combine(probe, "x"), "x")
                 false
             with :? UnauthorizedAccessException -> true
         File.SetUnixFileMode(probe, UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.UserExecute)
         { Root = root; Model = model; Data = data; State = state; Log = log; Graph = graph; ReadOnlyBites = bites })

/// Every command with small, fast, valid defaults (outputs inside the case folder `dir`) and its path flags.
let private commands (s: Scratch) (dir: string) =
    let o name = Path.Combine(dir, name)
    let f flag role = { Flag = flag; Role = role; Wrap = id }
    let model = f "--model" InModel
    let input = f "--input" InCsv
    [ "forward", [ "--model", s.Model; "--input", s.Data; "--output", o "y.csv" ], [ model; input; f "--output" OutFile; f "--report" OutFile ]
      "diffuse",
      [ "--model", s.Model; "--input", s.Data; "--output", o "y.csv"; "--init", "forward" ],
      [ model; input; f "--output" OutFile; f "--init-state" InState; f "--report" OutFile; f "--state-out" OutFile; f "--plot" OutFolder ]
      "xray", [ "--model", s.Model; "--input", s.Data ], [ model; input; f "--report" OutFile; f "--plot" OutFolder ]
      "diagnose", [ "--model", s.Model; "--input", s.Data ], [ model; input; f "--state" InState; f "--report" OutFile; f "--plot" OutFolder ]
      "plot loss", [ "--log", "sheaf=" + s.Log; "--output", o "loss.png" ], [ { Flag = "--log"; Role = InCsv; Wrap = fun p -> "sheaf=" + p }; f "--output" OutFile ]
      "plot surface", [ "--model", s.Model; "--input", s.Data; "--output", o "surface.png" ], [ model; input; f "--output" OutFile ]
      "train",
      [ "--layers", "2,3,1"; "--train", s.Data; "--method", "sheaf"; "--steps", "20"; "--steps-per-epoch", "10"; "--model-out", o "trained.json" ],
      [ model; f "--train" InCsv; f "--test" InCsv; f "--init-state" InState; f "--model-out" OutFile; f "--log" OutFile; f "--plot" OutFolder ]
      "init", [ "--layers", "2,3,1"; "--model-out", o "init.json" ], [ f "--model-out" OutFile ]
      "task", [ "--name", "paraboloid"; "--out-dir", o "task" ], [ f "--out-dir" OutFolder ]
      "nsd", [ "--dataset", s.Graph; "--splits", "0"; "--epochs", "2" ], [ f "--dataset" InFolder; f "--report" OutFile; f "--predictions" OutFile; f "--save-models" OutFolder ]
      "sweep beta",
      [ "--model", s.Model; "--train", s.Data; "--steps", "10"; "--betas", "1e-3"; "--out", o "beta.csv" ],
      [ model; f "--train" InCsv; f "--test" InCsv; f "--init-state" InState; f "--out" OutFile ]
      "sweep spectral",
      [ "--model", s.Model; "--train", s.Data; "--steps", "1000"; "--every", "1000"; "--samples", "2"; "--out", o "spectral.csv" ],
      [ model; f "--train" InCsv; f "--out" OutFile ]
      "sweep plot",
      [ "--series", "a=" + s.Log + ":step:trainLoss"; "--output", o "curves.png" ],
      [ { Flag = "--series"; Role = InCsv; Wrap = fun p -> "a=" + p + ":step:trainLoss" }; f "--output" OutFile ] ]

/// The damage done to the path of one flag (or, for the last case, a legal but odd name that must work).
type private Damage =
    | Missing
    | ADirectory
    | EmptyFile
    | RandomBytes
    | Png
    | OtherFormat
    | ThroughAFile
    | EmptyFolder
    | FolderOfJunk
    | MissingParent
    | ExistingDirectory
    | ParentIsAFile
    | TrailingSlash
    | ReadOnlyFolder
    | ExistingFile
    | EmptyPath
    | Blank
    | NulChar
    | TooLong
    | OddButLegal of string

let private oddNames =
    [ "out put"; "é中文ß"; "star*"; "q?"; "[x]"; "#%&!"; "new\nline"; " lead"; "trail "; ".hidden"; "a=b"; "quote'\""; "tab\t"; "-dash"; "$HOME"; "..x" ]

let private damages (role: Role) =
    let common = [ EmptyPath; Blank; NulChar; TooLong ]
    match role with
    | InCsv
    | InModel
    | InState -> [ Missing; ADirectory; EmptyFile; RandomBytes; Png; OtherFormat; ThroughAFile ] @ common
    | InFolder -> [ Missing; ExistingFile; EmptyFolder; FolderOfJunk; ThroughAFile ] @ common
    | OutFile -> [ MissingParent; ExistingDirectory; ParentIsAFile; TrailingSlash; ReadOnlyFolder ] @ common
    | OutFolder -> [ ExistingFile; ParentIsAFile; ReadOnlyFolder ] @ common

type private PathCase =
    { Command: string
      Spec: FlagSpec
      Defaults: string -> (string * string) list
      Damage: Damage
      Seed: int }

    override c.ToString() = sprintf "%s %s %A (seed %d)" c.Command c.Spec.Flag c.Damage c.Seed

let private pathCases : Arbitrary<PathCase> =
    gen {
        let s = scratch.Force()
        let all =
            commands s "DIR"
            |> List.collect (fun (name, _, specs) ->
                specs |> List.map (fun spec -> name, spec, fun dir -> commands s dir |> List.find (fun (n, _, _) -> n = name) |> fun (_, d, _) -> d))
        let! name, spec, defaults = Gen.elements all
        let! damage =
            Gen.frequency
                [ 5, Gen.elements (damages spec.Role)
                  1, Gen.elements oddNames |> Gen.map OddButLegal ]
        let! seed = Gen.choose (0, Int32.MaxValue)
        return { Command = name; Spec = spec; Defaults = defaults; Damage = damage; Seed = seed }
    }
    |> Arb.fromGen

let private pngBytes (rng: Random) =
    let tail = Array.zeroCreate (rng.Next(0, 200))
    rng.NextBytes tail
    Array.append [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |] tail

let private extension role =
    match role with
    | InCsv -> ".csv"
    | InModel
    | InState -> ".json"
    | OutFile -> ".out"
    | InFolder
    | OutFolder -> ""

/// Makes the damaged (or odd but legal) path inside the case folder and returns it.
let private materialise (s: Scratch) (dir: string) (case: PathCase) : string =
    let rng = Random case.Seed
    let ext = extension case.Spec.Role
    let p name = Path.Combine(dir, name)
    let valid =
        match case.Spec.Role with
        | InCsv -> if case.Spec.Flag = "--log" || case.Spec.Flag = "--series" then s.Log else s.Data
        | InModel -> s.Model
        | InState -> s.State
        | _ -> ""
    let afile () =
        File.WriteAllText(p "afile", "x")
        p "afile"
    match case.Damage with
    | Missing -> p ("missing" + ext)
    | ADirectory
    | ExistingDirectory
    | EmptyFolder ->
        let d = Directory.CreateDirectory(p ("adir" + ext)).FullName
        if case.Damage = ExistingDirectory then File.WriteAllText(Path.Combine(d, "keep.txt"), "keep")
        d
    | EmptyFile ->
        File.WriteAllBytes(p ("empty" + ext), [||])
        p ("empty" + ext)
    | RandomBytes ->
        let bytes = Array.zeroCreate (rng.Next(1, 400))
        rng.NextBytes bytes
        File.WriteAllBytes(p ("junk" + ext), bytes)
        p ("junk" + ext)
    | Png ->
        File.WriteAllBytes(p ("image" + ext), pngBytes rng)
        p ("image" + ext)
    | OtherFormat ->
        // A CSV where JSON is expected, the model where a stalk state is expected and the other way round, JSON for a CSV.
        let other =
            match case.Spec.Role with
            | InCsv -> if rng.Next 2 = 0 then s.Model else s.State
            | InModel -> if rng.Next 2 = 0 then s.Data else s.State
            | _ -> if rng.Next 2 = 0 then s.Data else s.Model
        File.Copy(other, p ("other" + ext))
        p ("other" + ext)
    | ThroughAFile
    | ParentIsAFile -> Path.Combine(afile (), "x" + ext)
    | FolderOfJunk ->
        let d = Directory.CreateDirectory(p "junk").FullName
        for name in [ "meta.csv"; "edges.csv"; "features.csv"; "labels.csv"; "splits.csv" ] do
            let bytes = Array.zeroCreate (rng.Next(0, 200))
            rng.NextBytes bytes
            File.WriteAllBytes(Path.Combine(d, name), bytes)
        d
    | MissingParent -> Path.Combine(dir, "no", "such", "out" + ext)
    | TrailingSlash -> p ("out" + ext) + "/"
    | ReadOnlyFolder ->
        let d = Directory.CreateDirectory(p "readonly").FullName
        File.SetUnixFileMode(d, UnixFileMode.UserRead ||| UnixFileMode.UserExecute)
        Path.Combine(d, "out" + ext)
    | ExistingFile -> afile ()
    | EmptyPath -> ""
    | Blank -> "   "
    | NulChar -> p ("a\000b" + ext)
    | TooLong -> p (String('x', 256 + rng.Next 200) + ext)
    | OddButLegal name ->
        match case.Spec.Role with
        | InFolder ->
            let d = Directory.CreateDirectory(p name).FullName
            for f in Directory.GetFiles s.Graph do
                File.Copy(f, Path.Combine(d, Path.GetFileName f))
            d
        | OutFolder -> Path.Combine(dir, name, "deeper")
        | OutFile -> p (name + ext)
        | _ ->
            File.Copy(valid, p (name + ext))
            p (name + ext)

/// Everything under the case folder: relative path, kind and length.
let private snapshot (dir: string) =
    Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories)
    |> Array.map (fun e ->
        let rel = Path.GetRelativePath(dir, e)
        if Directory.Exists e then rel + "/" else sprintf "%s %d" rel (FileInfo(e).Length))
    |> Array.sort
    |> String.concat "; "

let private mustFail (s: Scratch) (case: PathCase) =
    match case.Damage with
    | OddButLegal _ -> false
    | ReadOnlyFolder -> s.ReadOnlyBites
    | _ -> true

[<Properties(MaxTest = 1000)>]
module ``Bad paths in flags end in one line and a non-zero exit`` =

    [<Property>]
    let ``every path flag: one line naming the flag or path, exit code ≠ 0, the folder unchanged`` () =
        Prop.forAll pathCases (fun case ->
            let s = scratch.Force()
            let dir = Directory.CreateDirectory(Path.Combine(s.Root, "cases", Guid.NewGuid().ToString("N"))).FullName
            try
                let path = materialise s dir case
                let value = case.Spec.Wrap path
                let args =
                    [ yield! case.Command.Split ' '
                      yield "--quiet"
                      for k, v in case.Defaults dir do
                          // train takes --model or --layers
                          if k <> case.Spec.Flag && not (case.Command = "train" && case.Spec.Flag = "--model" && k = "--layers") then
                              yield k
                              yield v
                      yield case.Spec.Flag
                      yield value ]
                let before = snapshot dir
                let code, err =
                    try
                        run args
                    with e ->
                        -1, "unhandled " + e.ToString()
                let after = snapshot dir
                let lines = err.TrimEnd().Split('\n')
                if mustFail s case then
                    let oneLine = code > 0 && lines.Length = 1 && lines[0].StartsWith "sheafcore: " && not (err.Contains "   at ")
                    let shown = path.ReplaceLineEndings(" ").Trim()
                    let names = lines[0].Contains case.Spec.Flag || (shown.Length > 0 && lines[0].Contains shown)
                    (oneLine && names && before = after)
                    |> Prop.label (sprintf "%O: exit %d, stderr '%s', folder before [%s] after [%s]" case code err before after)
                    |> Prop.classify true "refused"
                else
                    let written =
                        match case.Spec.Role with
                        | OutFile -> File.Exists path
                        | OutFolder -> Directory.Exists path && Directory.GetFiles(path).Length > 0
                        | _ -> true
                    let litter = Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories).Length
                    (code = 0 && err = "" && written && litter = 0)
                    |> Prop.label (sprintf "%O: exit %d, written %b, litter %d, stderr '%s'" case code written litter err)
                    |> Prop.classify (case.Damage = ReadOnlyFolder) "read-only folder, written anyway (root)"
                    |> Prop.classify (case.Damage <> ReadOnlyFolder) "odd but legal name, worked"
            finally
                let ro = Path.Combine(dir, "readonly")
                if Directory.Exists ro then
                    File.SetUnixFileMode(ro, UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.UserExecute)
                Directory.Delete(dir, true))
