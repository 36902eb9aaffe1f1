/// The structured equilibrium solve (PinnedEquilibrium, theory §4) against independent references: the dense active-set
/// least-squares solver for identity outputs, and the vanishing of the heat flow's own forces (the stationarity of the
/// training energy) for the cross-entropy output edge of sigmoid/softmax networks.
module SheafCore.Properties.EquilibriumSolveProperties

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit

open SheafCore.Numerics
open SheafCore.Properties.TrainingProperties

module private Solve =
    let run (c: TrainingCase) (gamma: float) =
        let stalks = NetworkStalks(c.Mlp, c.Batch)
        UnitriangularSolve.solve (c.Mlp, ReadOnlySpan c.X, stalks)
        let ws = PinnedEquilibriumWorkspace(c.Mlp, c.Batch)
        PinnedEquilibrium.seedMasks (c.Mlp, stalks, ws)
        let stats =
            PinnedEquilibrium.solve (c.Mlp, c.X, c.Y, gamma, 50, ws, stalks)
        stalks, stats

    let flat (s: NetworkStalks) = Array.concat [ yield! s.Z; yield! s.A ]

[<Properties(Arbitrary = [| typeof<TrainingArbitraries> |], MaxTest = 100)>]
module ``Structured pinned equilibrium`` =

    [<Property>]
    let ``equals the dense active-set least-squares solution (identity output)`` (TrainingSeed seed) =
        let c0 = TrainingGen.create seed 3 6
        let mlp = Mlp(c0.Mlp.Layers, OutputActivation.Identity, c0.Mlp.Weights, c0.Mlp.Biases)
        let c = { c0 with Mlp = mlp; Y = Array.init (mlp.OutputDim * c0.Batch) (fun i -> sin (float (i + seed))) }
        let gamma = [| 0.1; 1.0; 10.0 |][abs (seed % 3)]
        let fast, stats = Solve.run c gamma
        let dense = NetworkStalks(mlp, c.Batch)
        UnitriangularSolve.solve (mlp, ReadOnlySpan c.X, dense)
        let pin = StalkPin(2 * mlp.HiddenCount, Array.init mlp.OutputDim id, Array.copy c.Y, gamma, false)
        let found = NetworkEquilibrium.solve (mlp, c.X, dense, [| pin |], 50)
        // Both iterate σ ← pattern(solution); where either finds no self-consistent pattern (an equilibrium on a ReLU
        // switching surface) the two may stop at different patterns, so those cases are excluded.
        let a, b = Solve.flat fast, Solve.flat dense
        let scale = 1.0 + (Array.fold (fun m v -> max m (abs v)) 0.0 b)
        (stats.Unconverged = 0 && Array.forall (fun (r: EquilibriumSample) -> r.Converged) found)
        ==> lazy
            (let diff = Array.fold2 (fun m u v -> max m (abs (u - v))) 0.0 a b
             Prop.label (sprintf "max diff %g (scale %g)" diff scale) (diff <= 1e-9 * scale))

    [<Property>]
    let ``zeroes every stalk force of the training energy, cross-entropy edge included (γ = 1)`` (TrainingSeed seed) =
        let c = TrainingGen.create seed 3 6
        let stalks, stats = Solve.run c 1.0
        // The heat flow's forces at the solution: with a_out hard-pinned to y and the identity output-force mode the
        // output edge pushes z^(k+1) by −(φ(z) − y), the cross-entropy gradient; for identity outputs a soft pin γ = 1.
        let k = c.Mlp.HiddenCount
        let pins, mode =
            if c.Mlp.Output = OutputActivation.Identity then
                [| StalkPin(2 * k, Array.init c.Mlp.OutputDim id, Array.copy c.Y, 1.0, false) |], OutputForceMode.Jacobian
            else
                [| StalkPin(2 * k + 1, Array.init c.Mlp.OutputDim id, Array.copy c.Y, 1.0, true) |], OutputForceMode.Identity
        NetworkHeat.applyHardPins c.Mlp stalks pins
        let ws = HeatWorkspace(c.Mlp, c.Batch)
        NetworkHeat.computeForces (c.Mlp, ReadOnlySpan c.X, stalks, pins, mode, ws) |> ignore
        let forces = Array.concat [ yield! ws.ForceZ; yield! ws.ForceA ]
        let largest = forces |> Array.fold (fun m v -> max m (abs v)) 0.0
        let scale = 1.0 + (Solve.flat stalks |> Array.fold (fun m v -> max m (abs v)) 0.0)
        (stats.Unconverged = 0) ==> lazy (Prop.label (sprintf "max |force| %g (scale %g) %A %A" largest scale c.Mlp.Output c.Mlp.Layers) (largest <= 1e-9 * scale))
