using System.Text.Json;

namespace SheafCore.Tests;

public sealed class DiagnosticsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NeuralNetwork Fixture(string name) => NeuralNetwork.Load(TestPaths.Fixture("models", name));

    private static double[,] Inputs(int n, int seed)
    {
        var random = new Random(seed);
        var x = new double[n, 2];
        for (int i = 0; i < n; i++) { x[i, 0] = 2 * random.NextDouble() - 1; x[i, 1] = 2 * random.NextDouble() - 1; }
        return x;
    }

    [Fact]
    public void Breakdown_SharesSumToOne_AndGroupsAddUpToTheTotal()
    {
        var network = Fixture("mlp_2-4-1_seed42_identity.json");
        var sheaf = network.ToSheaf();
        var x = Inputs(16, 1);
        var state = sheaf.CreateState(x, StalkInitialization.Random, 3);
        var b = Diagnostics.Breakdown(sheaf, state);
        Assert.Equal(["W1", "R1", "W2"], b.Edges.Select(e => e.Name));
        Assert.Equal(1.0, b.Edges.Sum(e => e.Share), 12);
        Assert.Equal(b.Total, b.ByLayer.Sum(g => g.Mean), 10);
        Assert.Equal(b.Total, b.ByKind.Sum(g => g.Mean), 10);
        Assert.Equal(b.Total, b.TotalPerSample.Average(), 10);
        Assert.Equal(["affine", "activation"], b.ByKind.Select(g => g.Label));
        Assert.Equal(b.Edges.MaxBy(e => e.Mean)!.Name, b.Dominant.Name);
    }

    [Fact]
    public void Breakdown_OfTheForwardPass_IsZeroWithZeroShares()
    {
        var sheaf = Fixture("mlp_2-30-1_seed42_identity.json").ToSheaf();
        var b = Diagnostics.Breakdown(sheaf, sheaf.HarmonicExtension(Inputs(8, 2)));
        Assert.True(b.Total < 1e-20);
        Assert.All(b.Edges, e => Assert.Equal(0.0, e.Share));
    }

    [Fact]
    public void PinnedOutput_AtTheForwardValue_LeavesNoDiscord()
    {
        var network = Fixture("mlp_2-4-1_seed42_identity.json");
        var x = Inputs(10, 3);
        var d = Diagnostics.DiagnosePinnedOutput(network, x, network.Forward(x), null, Ct);
        Assert.True(d.Converged);
        Assert.True(d.Discord.Total < 1e-12);
        Assert.All(d.ForwardSquaredError, e => Assert.True(e < 1e-20));
    }

    [Fact]
    public void PinnedOutput_SpreadsTheErrorBackFromTheLastEdge_AndNeverRaisesTheDiscord()
    {
        var network = Fixture("mlp_2-30-1_seed42_identity.json");
        var x = Inputs(20, 4);
        var forward = network.Forward(x);
        var targets = new double[20, 1];
        for (int i = 0; i < 20; i++) targets[i, 0] = forward[i, 0] + 0.5;
        var d = Diagnostics.DiagnosePinnedOutput(network, x, targets, null, Ct);
        Assert.Equal(0.25, d.MeanForwardSquaredError, 10);                  // all of it on W2 before diffusion
        Assert.Equal(d.MeanForwardSquaredError, d.Diffusion.DiscordTrace[0], 8);
        Assert.True(d.Discord.Total < d.MeanForwardSquaredError);          // energy decreases along the flow
        Assert.True(d.Discord.Edges[^1].Share < 0.99);                     // and the error has moved into the earlier edges
        Assert.True(d.DiscordSettled);
        Assert.Equal(targets[0, 0], d.Diffusion.State.Outputs[0, 0], 12);  // the pin held
    }

    [Fact]
    public void PinnedOutput_OnASigmoidNetwork_PinsOutWithTheIdentityForce()
    {
        var network = Fixture("mlp_2-4-1_seed42_sigmoid.json");
        var x = Inputs(12, 5);
        var labels = new double[12, 1];
        for (int i = 0; i < 12; i++) labels[i, 0] = x[i, 0] > 0 ? 0.9 : 0.1;
        var d = Diagnostics.DiagnosePinnedOutput(network, x, labels, null, Ct);
        Assert.Contains(d.Discord.Edges, e => e.Kind == NetworkEdgeKind.Output);
        Assert.True(double.IsFinite(d.Discord.Total));
        Assert.True(d.Discord.Total <= d.MeanForwardSquaredError + 1e-12);
    }

    [Fact]
    public void PinnedOutput_WithTargetsOfTheWrongShape_NamesTheParameter()
    {
        var network = Fixture("mlp_2-4-1_seed42_identity.json");
        var e = Assert.Throws<ArgumentException>(() => Diagnostics.DiagnosePinnedOutput(network, Inputs(3, 6), new double[3, 2], null, Ct));
        Assert.Equal("targets", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Diagnostics.DiagnosePinnedOutput(network, Inputs(3, 6), new double[2, 1], null, Ct));
        Assert.Equal("targets", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Diagnostics.DiagnosePinnedOutput(network, Inputs(1, 6), new double[,] { { double.NaN } }, null, Ct));
        Assert.Equal("targets", e.ParamName);
    }

    private static string Model => TestPaths.Fixture("models", "mlp_2-4-1_seed42_identity.json");

    [Fact]
    public void Cli_Diagnose_WithTargets_WritesTheReportAndThePlots()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("d.csv"), "a,b,y\n0.5,-0.3,1.0\n1.0,0.5,-0.5\n-0.2,0.1,0.3\n");
        var r = CliRunner.Run("diagnose", "--model", Model, "--input", temp.File("d.csv"), "--report", temp.File("r.json"), "--plot", temp.File("plots"));
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("pinned output", r.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(temp.File("r.json")));
        var root = json.RootElement;
        Assert.Equal("pinned-output", root.GetProperty("mode").GetString());
        Assert.Equal(3, root.GetProperty("samples").GetInt32());
        Assert.Equal(3, root.GetProperty("edges").GetArrayLength());
        Assert.Equal("W1", root.GetProperty("edges")[0].GetProperty("name").GetString());
        Assert.Equal(3, root.GetProperty("edges")[0].GetProperty("perSample").GetArrayLength());
        Assert.Equal(2, root.GetProperty("byLayer").GetArrayLength());
        Assert.Equal(2, root.GetProperty("byKind").GetArrayLength());
        Assert.True(root.GetProperty("pinnedOutput").TryGetProperty("converged", out _));
        double shares = root.GetProperty("edges").EnumerateArray().Sum(e => e.GetProperty("share").GetDouble());
        Assert.Equal(1.0, shares, 10);
        foreach (var png in new[] { "discord-by-edge.png", "pinned-discord-decay.png", "target-vs-forward.png" })
            Assert.True(PlotTests.IsPng(File.ReadAllBytes(Path.Combine(temp.File("plots"), png)), 800, 500), png);
    }

    [Fact]
    public void Cli_Diagnose_WithoutTargets_ReportsTheForwardPass_AndNamedTargetsMustExist()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "a,b\n0.5,-0.3\n1.0,0.5\n");
        var r = CliRunner.Run("diagnose", "--model", Model, "--input", temp.File("x.csv"), "--report", temp.File("r.json"), "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal("", r.Output);
        using (var json = JsonDocument.Parse(File.ReadAllText(temp.File("r.json"))))
        {
            Assert.Equal("forward", json.RootElement.GetProperty("mode").GetString());
            Assert.True(json.RootElement.GetProperty("total").GetDouble() < 1e-20);
        }
        var bad = CliRunner.Run("diagnose", "--model", Model, "--input", temp.File("x.csv"), "--targets", "nope", "--report", temp.File("bad.json"));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("nope", bad.Error);
        Assert.Single(bad.Error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(temp.File("bad.json")));
    }
}
