using System.Globalization;

namespace SheafCore.Tests;

/// <summary><c>sweep beta</c> and <c>sweep spectral</c> (issue 5, item 5) on a short run from the paraboloid [2,30,1] fixture:
/// the CSVs have the documented columns, the chunked sheaf run follows the reference trajectory, and the X-ray at step 0 is
/// the reference's (λ_min 0.2248, λ_max 3.204, κ 14.3 over the first 50 training inputs, theory §7).</summary>
public sealed class SweepCommandTests
{
    private static string[] Common() =>
    [
        "--model", TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"),
        "--train", TestPaths.Fixture("datasets", "paraboloid_train.csv"), "--test", TestPaths.Fixture("datasets", "paraboloid_test.csv"),
        "--init-state", TestPaths.Fixture("expected", "training", "paraboloid_1H_sheaf_init_stalks.json"),
        "--steps", "1000", "--dt", "0.005", "--quiet",
    ];

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Spectral_WritesMediansEveryNSteps_AndFollowsTheReferenceTrajectory()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run(["sweep", "spectral", .. Common(), "--beta", "0.0033333333333333335", "--every", "1000", "--out", temp.File("s.csv")]);
        Assert.True(r.ExitCode == 0, r.Error);
        var lines = File.ReadAllLines(temp.File("s.csv"));
        Assert.StartsWith("method,step,trainLoss,testLoss,lambdaMinMedian,", lines[0]);
        Assert.Equal(1 + 2 * 2, lines.Length);
        var header = lines[0].Split(',');
        var sheaf0 = lines[1].Split(',');
        var sheaf1000 = lines[2].Split(',');
        var sgd1000 = lines[4].Split(',');
        Assert.Equal(0.2248, D(sheaf0[Array.IndexOf(header, "lambdaMinMedian")]), 4);
        Assert.Equal(3.204, D(sheaf0[Array.IndexOf(header, "lambdaMaxMedian")]), 3);
        // Reference losses at step 1000 (fixtures expected/training/paraboloid_1H.json).
        Assert.Equal(1.6312294405166774, D(sheaf1000[2]), 1e-9);
        Assert.Equal(0.14742658920029889, D(sgd1000[2]), 1e-9);
    }

    [Fact]
    public void Beta_WritesOneRowPerBeta()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run(["sweep", "beta", .. Common(), "--betas", "0.001,0.0033333333333333335", "--out", temp.File("b.csv")]);
        Assert.True(r.ExitCode == 0, r.Error);
        var lines = File.ReadAllLines(temp.File("b.csv"));
        Assert.Equal("beta,betaTimesNTrain,steps,finalTrainLoss,finalTestLoss,diverged,wallSeconds", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Equal(1.0, D(lines[2].Split(',')[1]), 12);
        Assert.Equal(1.6312294405166774, D(lines[2].Split(',')[3]), 1e-9);
        Assert.All(lines.Skip(1), l => Assert.Equal("False", l.Split(',')[5]));
    }

    [Fact]
    public void Plot_WritesAPngFromCsvColumns_AndRejectsAMissingColumnWithoutWriting()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("a.csv"), "x,y,g\n0.1,2,a\n1,1,a\n10,0.5,b\n");
        var r = CliRunner.Run(["sweep", "plot", "--series", $"a={temp.File("a.csv")}:x:y:g=a", "--series", $"all={temp.File("a.csv")}:x:y",
            "--log-x", "--log-y", "--output", temp.File("p.png"), "--quiet"]);
        Assert.True(r.ExitCode == 0, r.Error);
        var png = File.ReadAllBytes(temp.File("p.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var bad = CliRunner.Run(["sweep", "plot", "--series", $"a={temp.File("a.csv")}:x:nope", "--output", temp.File("q.png")]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("nope", bad.Error);
        Assert.False(File.Exists(temp.File("q.png")));
    }

    [Fact]
    public void Train_WithPlot_WritesTheLossFigure()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run(["train", "--model", TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"),
            "--train", TestPaths.Fixture("datasets", "paraboloid_train.csv"), "--test", TestPaths.Fixture("datasets", "paraboloid_test.csv"),
            "--method", "sgd", "--steps", "20", "--steps-per-epoch", "10", "--model-out", temp.File("m.json"), "--plot", temp.File("figs"), "--quiet"]);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.True(new FileInfo(Path.Combine(temp.File("figs"), "loss.png")).Length > 1000);
    }
}
