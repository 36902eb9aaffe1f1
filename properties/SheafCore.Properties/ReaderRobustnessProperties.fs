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
