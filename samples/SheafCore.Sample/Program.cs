// A SheafCore user's first program: construct → diffuse → pin → train → diagnose, against the NuGet package.
using SheafCore;

// 1. Construct: a 2-16-1 ReLU network and its sheaf. The forward pass is the harmonic extension of the input.
var task = SyntheticTasks.Generate(SyntheticTask.Paraboloid, seed: 42);
var network = NeuralNetwork.CreateHeInitialized([2, 16, 1], OutputActivation.Identity, seed: 1);
var sheaf = network.ToSheaf();
double[,] x = task.Test.GetInputs();
var forward = network.Forward(x);
var harmonic = sheaf.HarmonicExtension(x);
Console.WriteLine($"construct: {sheaf.FreeDimension} free coordinates; harmonic extension = forward pass: {MaxDiff(harmonic.Outputs, forward) < 1e-12}");

// 2. Diffuse: from random stalks, the heat equation with the input pinned returns to the forward pass.
var start = sheaf.CreateState(x, StalkInitialization.Random, seed: 7);
var diffused = sheaf.Diffuse(start, new DiffusionOptions { Integrator = DiffusionIntegrator.Adaptive });
Console.WriteLine($"diffuse: converged {diffused.Converged} in {diffused.Steps} steps; max |output − forward| = {MaxDiff(diffused.State.Outputs, forward):G3}");

// 3. Pin: hold neuron 0 of z1 at 0.5 and watch the output move.
var pinned = sheaf.Diffuse(sheaf.HarmonicExtension(x), new DiffusionOptions { Integrator = DiffusionIntegrator.Adaptive },
    [NeuronPin.Parse("z1:0=0.5")]);
Console.WriteLine($"pin: z1:0 = 0.5 moves the output by up to {MaxDiff(pinned.State.Outputs, forward):G3}");

// 4. Train with the sheaf dynamics (joint stalk/weight flow).
var trainer = new SheafTrainer(new TrainingOptions { Epochs = 4, StepsPerEpoch = 500 });
var report = trainer.Fit(network, task.Train);
Console.WriteLine($"train: loss {report.Log[0].TrainLoss:G3} → {report.Final.TrainLoss:G3} in {report.Steps} steps");

// 5. Diagnose: pin the output to the true target, diffuse, and read where the error sits.
var diagnosis = Diagnostics.DiagnosePinnedOutput(report.Network, x, task.Test.GetTargets());
Console.WriteLine($"diagnose: settled {diagnosis.DiscordSettled}; residual discord {diagnosis.Discord.Total:G3}; " +
    string.Join(", ", diagnosis.Discord.Edges.Select(e => $"{e.Name} {100 * e.Share:F0}%")));
Console.WriteLine("sample: OK");

static double MaxDiff(double[,] a, double[,] b)
{
    double m = 0;
    for (int i = 0; i < a.GetLength(0); i++)
        for (int j = 0; j < a.GetLength(1); j++) m = Math.Max(m, Math.Abs(a[i, j] - b[i, j]));
    return m;
}
