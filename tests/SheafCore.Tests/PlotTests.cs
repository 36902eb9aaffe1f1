using SheafCore.Plotting;
using SkiaSharp;

namespace SheafCore.Tests;

public sealed class PlotTests
{
    /// <summary>PNG signature and IHDR width/height.</summary>
    internal static bool IsPng(byte[] bytes, int width, int height)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (bytes.Length < 24 || !bytes.AsSpan(0, 8).SequenceEqual(signature)) return false;
        int w = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
        int h = (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23];
        return w == width && h == height;
    }

    /// <summary>Pixels of the top band (where only the title is drawn) that are dark in <paramref name="path"/>, and
    /// that differ between it and <paramref name="other"/> (the same figure with another title of the same length).</summary>
    private static (int Dark, int Different) TitleBand(string path, string other)
    {
        using var a = SKBitmap.Decode(path);
        using var b = SKBitmap.Decode(other);
        int dark = 0, different = 0;
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < a.Width; x++)
            {
                var c = a.GetPixel(x, y);
                if (c.Red < 128 && c.Green < 128 && c.Blue < 128) dark++;
                if (c != b.GetPixel(x, y)) different++;
            }
        return (dark, different);
    }

    private static DiscordBreakdown SomeBreakdown()
    {
        var network = NeuralNetwork.Load(TestPaths.Fixture("models", "mlp_2-4-1_seed42_identity.json"));
        var sheaf = network.ToSheaf();
        return Diagnostics.Breakdown(sheaf, sheaf.CreateState(new double[,] { { 0.5, -0.3 }, { 1, 0.5 } }, StalkInitialization.Random, 1));
    }

    [Fact]
    public void DiscordBars_IsAPngOfTheRequestedSize_WithTextInTheTitle()
    {
        using var temp = new TempDirectory();
        var b = SomeBreakdown();
        Plots.DiscordBars(temp.File("titled.png"), b, new PlotOptions { Width = 640, Height = 400, Title = "Discord per edge" });
        Plots.DiscordBars(temp.File("other.png"), b, new PlotOptions { Width = 640, Height = 400, Title = "Wxyz mnop qrstuv" });
        Assert.True(IsPng(File.ReadAllBytes(temp.File("titled.png")), 640, 400));
        var (dark, different) = TitleBand(temp.File("titled.png"), temp.File("other.png"));
        Assert.True(dark > 50, $"only {dark} dark pixels in the title band: is the font '{Plots.FontName}' installed?");
        Assert.True(different > 50, $"only {different} pixels change with the title text: no text is drawn");
    }

    [Fact]
    public void EveryFigure_Renders()
    {
        using var temp = new TempDirectory();
        var network = NeuralNetwork.CreateHeInitialized([2, 8, 1], OutputActivation.Identity, seed: 1);
        var sheaf = network.ToSheaf();
        var x = new double[,] { { 0.5, -0.3 }, { 1, 0.5 }, { -0.7, 0.2 }, { 0.1, 0.9 } };
        var result = sheaf.Diffuse(sheaf.CreateState(x, StalkInitialization.Random, 2), new DiffusionOptions { Integrator = DiffusionIntegrator.Adaptive }, null, null, TestContext.Current.CancellationToken);
        Plots.DiscordDecay(temp.File("decay.png"), result);
        Plots.OutputVersusForward(temp.File("ovf.png"), network.Forward(x), result.State.Outputs);
        Plots.XRayBlockEnergies(temp.File("xray.png"), NetworkSheaf.Summarize(sheaf.XRay(x)));
        Plots.DecisionSurface(temp.File("surface.png"), network, x, [0, 1, 0, 1]);
        Plots.LossCurves(temp.File("loss.png"), [new LossCurve("sheaf", [0, 1, 2], [1, 0.5, 0.1]), new LossCurve("sgd", [0, 1, 2], [1, 0.7, 0.4])]);
        foreach (var (f, h) in new[] { ("decay.png", 500), ("ovf.png", 500), ("xray.png", 500), ("surface.png", 600), ("loss.png", 500) })
            Assert.True(IsPng(File.ReadAllBytes(temp.File(f)), 800, h), f);
    }

    [Fact]
    public void LossCurves_FromTrainingReports_SheafAgainstSgd()
    {
        using var temp = new TempDirectory();
        var task = SyntheticTasks.Generate(SyntheticTask.Paraboloid, 1);
        var network = NeuralNetwork.CreateHeInitialized([2, 6, 1], OutputActivation.Identity, seed: 3);
        var sheaf = new SheafTrainer(new TrainingOptions { Epochs = 2, StepsPerEpoch = 50 }).Fit(network, task.Train, null, null, TestContext.Current.CancellationToken);
        var sgd = new GradientDescentTrainer(new GradientDescentOptions { Epochs = 2, StepsPerEpoch = 50 }).Fit(network, task.Train, null, null, TestContext.Current.CancellationToken);
        var curves = new[] { LossCurve.FromReport("sheaf", sheaf), LossCurve.FromReport("sgd", sgd), LossCurve.FromReport("sgd (test)", sgd, testLoss: true) };
        Assert.Equal(3, curves[0].Steps.Count);
        Plots.LossCurves(temp.File("loss.png"), curves, new PlotOptions { Width = 400, Height = 300 });
        Assert.True(IsPng(File.ReadAllBytes(temp.File("loss.png")), 400, 300));
    }

    [Fact]
    public void LossCurve_FromALogCsv_ReadsStepAndLoss_AndNamesABadCell()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("log.csv"), "step,trainLoss,testLoss,trainAccuracy,testAccuracy\n0,1.5,1.6,,\n100,0.25,0.3,,\n");
        var curve = LossCurve.FromLogCsv("sheaf", temp.File("log.csv"));
        Assert.Equal([0.0, 100.0], curve.Steps);
        Assert.Equal([1.5, 0.25], curve.Losses);
        File.WriteAllText(temp.File("bad.csv"), "step,trainLoss\n0,abc\n");
        var e = Assert.Throws<SheafCoreFormatException>(() => LossCurve.FromLogCsv("sheaf", temp.File("bad.csv")));
        Assert.Contains("row 2", e.Message);
    }

    [Fact]
    public void BadSizes_AndTheFaçade_DoesNotDependOnScottPlot()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.DiscordBars("x.png", SomeBreakdown(), new PlotOptions { Width = 5 }));
        var references = typeof(NeuralNetwork).Assembly.GetReferencedAssemblies().Select(a => a.Name);
        Assert.DoesNotContain(references, n => n!.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal));
    }
}
