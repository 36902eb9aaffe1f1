using System.Text.Json;

namespace SheafCore.Tests;

/// <summary>The reference Euler heat equation, started from the reference code's exact initial stalks, reproduces its
/// step counts, trajectories, crossings and final states (theory §3.2, fixtures expected/heat and expected/pinning).</summary>
public sealed class HeatFixtureTests
{
    private sealed record Run(NetworkSheaf Sheaf, NetworkStalkState Initial, JsonElement Root, JsonDocument Document) : IDisposable
    {
        public void Dispose() => Document.Dispose();
    }

    private static Run Load(params string[] path)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(["expected", .. path])));
        var root = doc.RootElement;
        var net = NeuralNetwork.Load(TestPaths.Fixture(root.GetProperty("model").GetString()!.Split('/')));
        var xs = root.GetProperty("x");
        double[][] rows = xs[0].ValueKind == JsonValueKind.Array
            ? xs.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray()
            : [xs.EnumerateArray().Select(e => e.GetDouble()).ToArray()];
        var inputs = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[0].Length; j++) inputs[i, j] = rows[i][j];
        var sheaf = net.ToSheaf();
        var initial = sheaf.CreateState(inputs, root.GetProperty("initial_state").GetRawText());
        return new Run(sheaf, initial, root, doc);
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Theory]
    [InlineData("h1_241_seed42_x1_0.5_init7.json")]
    [InlineData("h4_241_sigmoid_seed42_x1_0.5_init7.json")]
    [InlineData("h5_241_seed42_batch5_init99.json")]
    public void Euler_ReproducesStepCountFinalStateAndOutput(string file)
    {
        using var run = Load("heat", file);
        var options = new DiffusionOptions { TimeStep = run.Root.GetProperty("dt").GetDouble(), Tolerance = run.Root.GetProperty("tol").GetDouble(), MaximumSteps = 50_000 };
        var result = run.Sheaf.Diffuse(run.Initial, options, cancellationToken: TestContext.Current.CancellationToken);
        var reference = run.Root.GetProperty("SheafDynamics.run");
        Assert.True(result.Converged);
        Assert.Equal(reference.GetProperty("steps").GetInt32(), result.Steps);
        Assert.Equal(result.Steps, result.LaplacianApplications);
        var expectedOutput = Doubles(reference.GetProperty("output"));
        var outputs = result.State.Outputs;
        for (int i = 0; i < expectedOutput.Length; i++) Assert.Equal(expectedOutput[i], outputs[i, 0], 12);
        var finalState = run.Root.GetProperty("track_trajectory").GetProperty("final_state");
        var z1 = result.State.GetPreActivation(1);
        var expectedZ1 = finalState.GetProperty("z")[0];
        for (int i = 0; i < z1.GetLength(0); i++)
            for (int j = 0; j < z1.GetLength(1); j++) Assert.Equal(expectedZ1[i][j].GetDouble(), z1[i, j], 12);
        double expectedDiscord = run.Root.GetProperty("track_trajectory").GetProperty("final_total_discord").GetDouble();
        Assert.InRange(result.FinalDiscord, 0.5 * expectedDiscord, 2 * expectedDiscord); // ~1e-19: round-off level
    }

    [Fact]
    public void Euler_ReproducesTheFigure1TrajectoryStepByStep()
    {
        using var run = Load("heat", "h2_fig1_241_seed7_x0.5_-0.3_init42.json");
        var result = run.Sheaf.Diffuse(run.Initial, new DiffusionOptions { Tolerance = 0, MaximumSteps = 10_000 }, cancellationToken: TestContext.Current.CancellationToken);
        var discord = Doubles(run.Root.GetProperty("total_discord_per_step"));
        Assert.Equal(10_000, result.Steps);
        Assert.Equal(discord.Length, result.DiscordTrace.Count);
        Assert.Equal(Enumerable.Range(0, 10_001), result.TraceSteps);
        // Compare residual norms √discord: the state carries round-off of ~1e-16, so the residual may differ by that
        // much absolutely (which is a large relative error once the discord itself is ~1e-15), plus 1e-9 relatively.
        double worst = 0;
        for (int t = 0; t < discord.Length; t++)
        {
            double expected = Math.Sqrt(discord[t]), actual = Math.Sqrt(result.DiscordTrace[t]);
            worst = Math.Max(worst, Math.Abs(expected - actual) / (1e-9 * expected + 1e-14));
        }
        Assert.True(worst <= 1, $"trajectory deviation {worst} × the round-off allowance");
        Assert.Equal(Doubles(run.Root.GetProperty("relu_crossing_steps")).Select(s => (int)s), result.Crossings.Select(c => c.Step).Distinct());
        Assert.Equal(run.Root.GetProperty("output_after_10000_steps").GetDouble(), result.State.Outputs[0, 0], 13);

        // Theorem 4.1's rate: the measured log-decay per step over steps 2000–3000 is 2 ln(1 − α dt λ_min).
        double measured = (Math.Log(result.DiscordTrace[3000]) - Math.Log(result.DiscordTrace[2000])) / 1000;
        Assert.Equal(run.Root.GetProperty("measured_log_decay_per_step_2000_3000").GetDouble(), measured, 9);
    }

    [Fact]
    public void HardPin_ReproducesStepsOutputAndWhereTheDiscordSits()
    {
        using var run = Load("pinning", "hard_pin_z1_0_eq_0.5.json");
        var result = run.Sheaf.Diffuse(run.Initial, new DiffusionOptions { Tolerance = 1e-12, MaximumSteps = 50_000 }, [NeuronPin.Parse("z1:0=0.5")], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(run.Root.GetProperty("steps").GetInt32(), result.Steps);
        Assert.Equal(run.Root.GetProperty("output")[0].GetDouble(), result.State.Outputs[0, 0], 12);
        Assert.Equal(0.5, result.State.GetPreActivation(1)[0, 0]);
        var discord = run.Sheaf.EdgeDiscord(result.State);
        Assert.Equal(0.009782187759297721, discord.Edges[0].Mean, 12);
        Assert.True(discord.Edges.Skip(1).All(e => e.Mean < 1e-18));
    }

    [Fact]
    public void SoftPins_ReproduceTheReferenceTableAndTheClosedForm()
    {
        using var run = Load("pinning", "soft_pin_z1_toward_0.json");
        double forward = run.Root.GetProperty("forward_output_unpinned")[0].GetDouble();
        var forwardZ1 = Doubles(run.Root.GetProperty("forward_z1_unpinned"));
        foreach (var row in run.Root.GetProperty("results").EnumerateArray())
        {
            double gamma = row.GetProperty("gamma").GetDouble();
            var result = run.Sheaf.Diffuse(run.Initial, new DiffusionOptions { Tolerance = 1e-14, MaximumSteps = 100_000 }, [NeuronPin.Soft("z1", 0.0, gamma)], cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(row.GetProperty("steps").GetInt32(), result.Steps);
            Assert.Equal(row.GetProperty("output").GetDouble(), result.State.Outputs[0, 0], 11);
            Assert.Equal(forward / (1 + gamma), result.State.Outputs[0, 0], 11);
            var z1 = result.State.GetPreActivation(1);
            for (int j = 0; j < 2; j++) Assert.Equal(forwardZ1[j] / (1 + gamma), z1[0, j], 11);
        }
    }

    [Fact]
    public void ExactEquilibrium_MatchesTheDiffusedHardAndSoftPinResults()
    {
        using var hard = Load("pinning", "hard_pin_z1_0_eq_0.5.json");
        var hardExact = hard.Sheaf.SolveEquilibrium(hard.Initial, [NeuronPin.Parse("z1:0=0.5")]);
        Assert.True(hardExact.Converged[0]);
        // The diffused reference stopped at a step change of 1e-12, i.e. ≈ 1e-12 / (dt·λ_min) ≈ 4e-10 from its equilibrium.
        Assert.Equal(hard.Root.GetProperty("output")[0].GetDouble(), hardExact.State.Outputs[0, 0], 9);

        using var soft = Load("pinning", "soft_pin_z1_toward_0.json");
        foreach (var row in soft.Root.GetProperty("results").EnumerateArray())
        {
            double gamma = row.GetProperty("gamma").GetDouble();
            var exact = soft.Sheaf.SolveEquilibrium(soft.Initial, [NeuronPin.Soft("z1", 0.0, gamma)]);
            Assert.True(exact.Converged[0]);
            Assert.Equal(row.GetProperty("output").GetDouble(), exact.State.Outputs[0, 0], 11);
        }
    }

    [Fact]
    public void Adaptive_ReachesTheReferenceEquilibriumFromTheReferenceInitialStalks()
    {
        using var run = Load("heat", "h1_241_seed42_x1_0.5_init7.json");
        var euler = run.Sheaf.Diffuse(run.Initial, new DiffusionOptions { Tolerance = 1e-12 }, cancellationToken: TestContext.Current.CancellationToken);
        var adaptive = run.Sheaf.Diffuse(run.Initial, new DiffusionOptions { Tolerance = 1e-12, Integrator = DiffusionIntegrator.Adaptive }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(adaptive.Converged);
        Assert.True(adaptive.LaplacianApplications * 10 <= euler.LaplacianApplications, $"{adaptive.LaplacianApplications} vs {euler.LaplacianApplications}");
        Assert.Equal(run.Root.GetProperty("forward_output")[0].GetDouble(), adaptive.State.Outputs[0, 0], 9);
    }
}
