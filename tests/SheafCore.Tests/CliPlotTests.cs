namespace SheafCore.Tests;

public sealed class CliPlotTests
{
    private static string Model => TestPaths.Fixture("models", "mlp_2-4-1_seed42_identity.json");

    [Fact]
    public void Diffuse_And_Xray_WriteTheirFigures()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "a,b\n0.5,-0.3\n1.0,0.5\n-0.4,0.8\n");
        var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"),
            "--integrator", "adaptive", "--plot", temp.File("figs"), "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        var x = CliRunner.Run("xray", "--model", Model, "--input", temp.File("x.csv"), "--plot", temp.File("figs"), "--quiet");
        Assert.True(x.ExitCode == 0, x.Error);
        foreach (var png in new[] { "discord-decay.png", "output-vs-forward.png", "xray-block-energy.png" })
            Assert.True(PlotTests.IsPng(File.ReadAllBytes(Path.Combine(temp.File("figs"), png)), 800, 500), png);
    }

    [Fact]
    public void PlotLoss_And_PlotSurface_FromFiles()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("a.csv"), "step,trainLoss,testLoss,trainAccuracy,testAccuracy\n0,1.5,1.6,,\n100,0.25,0.3,,\n");
        File.WriteAllText(temp.File("b.csv"), "step,trainLoss,testLoss,trainAccuracy,testAccuracy\n0,1.5,1.6,,\n100,0.5,0.6,,\n");
        var r = CliRunner.Run("plot", "loss", "--log", $"sheaf={temp.File("a.csv")}", "--log", $"sgd={temp.File("b.csv")}", "--output", temp.File("loss.png"), "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.True(PlotTests.IsPng(File.ReadAllBytes(temp.File("loss.png")), 800, 500));
        File.WriteAllText(temp.File("d.csv"), "x1,x2,y\n0.5,-0.3,1\n1.0,0.5,0\n-0.4,0.8,1\n");
        var s = CliRunner.Run("plot", "surface", "--model", Model, "--input", temp.File("d.csv"), "--output", temp.File("surface.png"), "--quiet");
        Assert.True(s.ExitCode == 0, s.Error);
        Assert.True(PlotTests.IsPng(File.ReadAllBytes(temp.File("surface.png")), 800, 600));
    }

    [Fact]
    public void PlotLoss_BadSpecOrFile_IsAOneLineErrorAndWritesNothing()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run("plot", "loss", "--log", "no-equals-sign", "--output", temp.File("loss.png"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("LABEL=LOG.csv", r.Error);
        File.WriteAllText(temp.File("bad.csv"), "step,trainLoss\n0,oops\n");
        var b = CliRunner.Run("plot", "loss", "--log", $"x={temp.File("bad.csv")}", "--output", temp.File("loss.png"));
        Assert.Equal(1, b.ExitCode);
        Assert.Contains("row 2", b.Error);
        Assert.Single(b.Error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(temp.File("loss.png")));
    }
}
