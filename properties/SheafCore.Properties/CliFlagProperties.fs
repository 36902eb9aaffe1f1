/// Generated bad values for every numeric flag of the `sheafcore` CLI, run in-process through `CliApp.Run`: each
/// must end in exactly one line on stderr naming the flag, a non-zero exit code and no output file. Values that are
/// legal but extreme (a huge finite rate) may succeed or fail, but a failure must look the same.
module SheafCore.Properties.CliFlagProperties

open System
open System.Globalization
open System.IO
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore
open SheafCore.Cli

type private Kind =
    | PositiveReal
    | NonNegativeReal
    | PositiveInt
    | NonNegativeInt
    | Seed
    | LongSeed
    | Splits
    | Layers
    | RealList
    | Rate

let private inv (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

let private notANumber =
    Gen.elements [ "abc"; ""; " "; "1,5"; "0x10"; "1e"; "--"; "∞"; "1_000"; "true"; "NaN%"; "one"; "1..2"; "+-1" ]

let private nonFinite = Gen.elements [ "NaN"; "Infinity"; "-Infinity"; "1e400"; "-1e309"; "∞" ]

let private negativeReal =
    Gen.oneof
        [ Gen.elements [ "-1"; "-1e-300"; "-4.9e-324"; "-1e300" ]
          ArbMap.defaults |> ArbMap.generate<NormalFloat> |> Gen.map (fun f -> inv (-(abs f.Get) - 1e-12)) ]

let private overflowInt =
    Gen.oneof
        [ Gen.elements [ "2147483648"; "-2147483649"; "99999999999"; "9223372036854775808" ]
          Gen.choose (1, Int32.MaxValue) |> Gen.map (fun k -> string (int64 Int32.MaxValue + int64 k)) ]

let private fractional = Gen.elements [ "1.5"; "0.5"; "1e3"; "2.0"; "-0.5"; "1E2" ]
let private negativeInt = Gen.oneof [ Gen.constant "-1"; Gen.choose (Int32.MinValue, -1) |> Gen.map string ]

/// Values that must be refused, per kind.
let private bad (kind: Kind) : Gen<string> =
    match kind with
    | PositiveReal -> Gen.oneof [ Gen.elements [ "0"; "-0"; "0.0" ]; negativeReal; nonFinite; notANumber ]
    | NonNegativeReal -> Gen.oneof [ negativeReal; nonFinite; notANumber ]
    | PositiveInt -> Gen.oneof [ Gen.constant "0"; negativeInt; overflowInt; fractional; notANumber ]
    | NonNegativeInt -> Gen.oneof [ negativeInt; overflowInt; fractional; notANumber ]
    | Seed -> Gen.oneof [ overflowInt; fractional; notANumber ]
    | LongSeed -> Gen.oneof [ Gen.elements [ "9223372036854775808"; "-9223372036854775809"; "1e30" ]; fractional; notANumber ]
    | Splits ->
        Gen.oneof
            [ Gen.elements [ "2"; "0-2"; "1-0"; "-1"; "0--1"; "a"; ""; ","; "0-"; "-"; "0,,9"; "0-99999999999"; "1.5" ]
              Gen.choose (2, Int32.MaxValue) |> Gen.map string
              Gen.choose (2, 1000) |> Gen.map (sprintf "0-%d") ]
    | Layers ->
        Gen.oneof
            [ Gen.elements [ "0,1"; "2"; "2,0,1"; "-2,3,1"; "2,a,1"; ""; "2,,1"; "2,99999999999,1"; "2;3;1"; "2.5,1" ]
              negativeInt |> Gen.map (sprintf "2,%s,1") ]
    | RealList -> Gen.oneof [ negativeReal; nonFinite; Gen.elements [ "abc"; "1e-3,x"; "1e-3,-1"; "NaN,1e-3" ] ]
    | Rate -> Gen.oneof [ Gen.elements [ "1"; "1.0"; "1.5"; "1e300" ]; negativeReal; nonFinite; notANumber ]

/// Legal values at the edge of sense (huge finite rates): success or a clean failure are both fine.
let private extreme (kind: Kind) : Gen<string> option =
    match kind with
    | PositiveReal
    | NonNegativeReal -> Some(Gen.elements [ "1e300"; "1e15"; "1.7976931348623157E+308"; "4.9e-324" ])
    | _ -> None

/// The scratch inputs every case shares: a 2-3-1 model, a small regression CSV, a tiny graph folder.
type private Scratch =
    { Root: string
      Model: string
      Data: string
      Graph: string }

let private scratch =
    lazy
        (let root = Path.Combine(Path.GetTempPath(), "sheafcore-flags-" + Guid.NewGuid().ToString("N"))
         Directory.CreateDirectory root |> ignore
         let model = Path.Combine(root, "m.json")
         NeuralNetwork.CreateHeInitialized([| 2; 3; 1 |], OutputActivation.Identity, 1).Save model
         let data = Path.Combine(root, "d.csv")
         File.WriteAllText(data, "x1,x2,y\n0.5,-0.3,0.2\n1,0.5,-0.1\n-0.2,0.4,0.3\n0.1,0.1,0\n")
         let graph = Path.Combine(root, "graph")
         Generators.writeTinyGraph graph
         { Root = root; Model = model; Data = data; Graph = graph })

/// A command line with its small, fast defaults; `out` is the file (or folder) it would write.
type private Target =
    { Name: string
      Defaults: (string * string) list
      Flags: (string * Kind) list }

let private targets (s: Scratch) (out: string) =
    [ { Name = "diffuse"
        Defaults = [ "--model", s.Model; "--input", s.Data; "--output", out; "--max-steps", "2000" ]
        Flags = [ "--dt", PositiveReal; "--alpha", PositiveReal; "--tol", NonNegativeReal; "--max-steps", PositiveInt; "--min-steps", NonNegativeInt; "--seed", Seed ] }
      { Name = "diagnose"
        Defaults = [ "--model", s.Model; "--input", s.Data; "--report", out; "--max-steps", "500" ]
        Flags = [ "--tol", NonNegativeReal; "--max-steps", PositiveInt ] }
      { Name = "train"
        Defaults = [ "--layers", "2,3,1"; "--train", s.Data; "--method", "sheaf"; "--steps", "20"; "--steps-per-epoch", "10"; "--model-out", out ]
        Flags =
          [ "--steps", NonNegativeInt; "--dt", PositiveReal; "--alpha", PositiveReal; "--beta", NonNegativeReal; "--lr", PositiveReal
            "--steps-per-epoch", PositiveInt; "--seed", Seed; "--stalk-seed", Seed; "--mini-batch", NonNegativeInt
            "--output-coupling", NonNegativeReal; "--layers", Layers ] }
      { Name = "train"
        Defaults = [ "--layers", "2,3,1"; "--train", s.Data; "--method", "sgd"; "--steps", "20"; "--steps-per-epoch", "10"; "--model-out", out ]
        Flags = [ "--lr", PositiveReal; "--dt", PositiveReal; "--beta", NonNegativeReal; "--steps", NonNegativeInt ] }
      { Name = "init"
        Defaults = [ "--layers", "2,3,1"; "--model-out", out ]
        Flags = [ "--layers", Layers; "--seed", Seed ] }
      { Name = "task"
        Defaults = [ "--name", "paraboloid"; "--out-dir", out ]
        Flags = [ "--seed", Seed ] }
      { Name = "nsd"
        Defaults = [ "--dataset", s.Graph; "--splits", "0"; "--epochs", "2"; "--report", out ]
        Flags =
          [ "--seed", LongSeed; "--epochs", PositiveInt; "--patience", PositiveInt; "--splits", Splits
            "--stalk-dim", PositiveInt; "--layers", NonNegativeInt; "--hidden", PositiveInt; "--dropout", Rate
            "--input-dropout", Rate; "--lr", PositiveReal; "--weight-decay", NonNegativeReal; "--sheaf-decay", NonNegativeReal ] }
      { Name = "sweep beta"
        Defaults = [ "--model", s.Model; "--train", s.Data; "--steps", "10"; "--betas", "1e-3"; "--out", out ]
        Flags = [ "--steps", PositiveInt; "--dt", PositiveReal; "--alpha", PositiveReal; "--stalk-seed", Seed; "--betas", RealList ] }
      { Name = "sweep spectral"
        Defaults = [ "--model", s.Model; "--train", s.Data; "--steps", "1000"; "--every", "1000"; "--samples", "2"; "--out", out ]
        Flags = [ "--every", PositiveInt; "--samples", PositiveInt; "--beta", NonNegativeReal; "--lr", PositiveReal; "--steps", PositiveInt ] } ]

type private FlagCase =
    { Command: string
      Flag: string
      Value: string
      MustFail: bool
      Args: string[]
      Out: string }

    override c.ToString() = sprintf "%s %s '%s'" c.Command c.Flag c.Value

let private flagCases : Arbitrary<FlagCase> =
    gen {
        let s = scratch.Force()
        let out = Path.Combine(s.Root, "out-" + Guid.NewGuid().ToString("N"))
        let all = targets s out |> List.collect (fun t -> t.Flags |> List.map (fun f -> t, f))
        let! t, (flag, kind) = Gen.elements all
        let! mustFail, value =
            match extreme kind with
            | Some e -> Gen.frequency [ 5, bad kind |> Gen.map (fun v -> true, v); 1, e |> Gen.map (fun v -> false, v) ]
            | None -> bad kind |> Gen.map (fun v -> true, v)
        let args =
            [ yield! t.Name.Split ' '
              yield "--quiet"
              for k, v in t.Defaults do
                  if k <> flag then
                      yield k
                      yield v
              // Last, so that a value such as "--" cannot swallow the flags after it.
              yield flag
              yield value ]
        return { Command = t.Name; Flag = flag; Value = value; MustFail = mustFail; Args = List.toArray args; Out = out }
    }
    |> Arb.fromGen

[<Properties(MaxTest = 1000)>]
module ``Bad numeric flags end in one line and a non-zero exit`` =

    [<Property>]
    let ``every numeric flag: one line naming the flag, exit code ≠ 0, no output file`` () =
        Prop.forAll flagCases (fun case ->
            let output = new StringWriter()
            let error = new StringWriter()
            let code = CliApp.Run(case.Args, output, error)
            let lines = error.ToString().TrimEnd().Split('\n')
            let wrote = File.Exists case.Out || Directory.Exists case.Out
            try
                if code = 0 then
                    (not case.MustFail && wrote && error.ToString() = "")
                    |> Prop.label (sprintf "%O: accepted (exit 0, wrote %b, stderr '%O')" case wrote error)
                    |> Prop.classify true "extreme value accepted"
                else
                    let oneLine = lines.Length = 1 && lines[0].StartsWith "sheafcore: " && not (error.ToString().Contains "   at ")
                    let namesFlag = not case.MustFail || lines[0].Contains case.Flag
                    // Exit 3 is a finished run that did not converge or diverged: its (complete) outputs may exist.
                    let noOutput = not wrote || code = 3
                    (oneLine && namesFlag && noOutput)
                    |> Prop.label (sprintf "%O: exit %d, wrote %b, stderr '%O'" case code wrote error)
                    |> Prop.classify case.MustFail "refused"
                    |> Prop.classify (not case.MustFail) "extreme value refused"
            finally
                if File.Exists case.Out then File.Delete case.Out
                if Directory.Exists case.Out then Directory.Delete(case.Out, true))
