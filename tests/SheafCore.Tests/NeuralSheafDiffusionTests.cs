using System.Text.Json;

namespace SheafCore.Tests;

/// <summary>Training Neural Sheaf Diffusion: a short real run on Texas, reproducibility, cancellation, the CLI.</summary>
public sealed class NeuralSheafDiffusionTests
{
    private static NodeClassificationGraph Synthetic(TempDirectory dir)
    {
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder);
        return NodeClassificationGraph.Load(folder);
    }

    /// <summary>Test accuracy of predicting the training set's most frequent class.</summary>
    private static double MajorityBaseline(NodeClassificationGraph graph, int split)
    {
        var labels = graph.GetLabels();
        var roles = graph.GetSplit(split);
        int majority = Enumerable.Range(0, graph.NodeCount).Where(v => roles[v] == NodeSplitRole.Train)
            .GroupBy(v => labels[v]).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var test = Enumerable.Range(0, graph.NodeCount).Where(v => roles[v] == NodeSplitRole.Test).ToList();
        return test.Count(v => labels[v] == majority) / (double)test.Count;
    }

    [Fact]
    public void Train_DiagNsdOnTexasSplits0And1_BeatsMajorityClass()
    {
        var root = GraphFolders.SharedGraphs();
        Assert.SkipWhen(root is null || !Directory.Exists(Path.Combine(root, "texas")),
            "Texas not found: set SHEAFCORE_DATA or place shared/data/graphs above the repository (not vendored: its licence notes grant no redistribution).");
        var graph = NodeClassificationGraph.Load(Path.Combine(root!, "texas"));
        Assert.Equal(279, graph.EdgeCount);
        Assert.Equal(16, graph.SelfLoopsRemoved);
        // The published Texas settings with the epoch budget cut to keep CI short (≈10 ms per epoch).
        var options = NeuralSheafDiffusionOptions.ForDataset("texas", SheafFamily.Diagonal) with { Epochs = 250 };
        var result = new NeuralSheafDiffusion(options).Train(graph, [0, 1], null, TestContext.Current.CancellationToken);
        foreach (var split in result.Splits)
        {
            double baseline = MajorityBaseline(graph, split.Split);
            Assert.True(split.TestAccuracy > baseline + 0.1,
                $"split {split.Split}: test accuracy {split.TestAccuracy:P1} does not beat the majority class ({baseline:P1}) by 10 points");
        }
    }

    [Fact]
    public void Train_IsReproducibleForASeed()
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions { Family = SheafFamily.General, StalkDimension = 2, HiddenChannels = 4, Dropout = 0.3, Epochs = 15, Seed = 7 };
        var a = new NeuralSheafDiffusion(options).TrainSplit(graph, 1, null, TestContext.Current.CancellationToken);
        var b = new NeuralSheafDiffusion(options).TrainSplit(graph, 1, null, TestContext.Current.CancellationToken);
        Assert.Equal(a.ValidationLoss, b.ValidationLoss);
        Assert.Equal(a.TestAccuracy, b.TestAccuracy);
        Assert.Equal(a.BestEpoch, b.BestEpoch);
    }

    [Theory]
    [InlineData(SheafFamily.Diagonal)]
    [InlineData(SheafFamily.Orthogonal)]
    [InlineData(SheafFamily.General)]
    [InlineData(SheafFamily.Identity)]
    public void Train_EveryFamilyLearnsTheSyntheticGraph(SheafFamily family)
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions { Family = family, StalkDimension = 2, HiddenChannels = 8, LearningRate = 0.02, Epochs = 60, Patience = 60 };
        var progress = new List<SheafDiffusionEpoch>();
        var result = new NeuralSheafDiffusion(options).TrainSplit(graph, 0, new SynchronousProgress(progress), TestContext.Current.CancellationToken);
        Assert.Equal(result.EpochsRun, progress.Count);
        Assert.True(progress[^1].TrainLoss < progress[0].TrainLoss, "the training loss should fall");
        Assert.InRange(result.TestAccuracy, 0, 1);
    }

    [Theory]
    [InlineData(SheafFamily.Diagonal)]
    [InlineData(SheafFamily.Orthogonal)]
    [InlineData(SheafFamily.General)]
    [InlineData(SheafFamily.Identity)]
    public void Fit_ReturnsTheBestEpochModel_WhosePredictionsGiveTheReportedNumbers(SheafFamily family)
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions { Family = family, StalkDimension = 2, HiddenChannels = 8, LearningRate = 0.02, Dropout = 0.3, Epochs = 60, Patience = 60, StopOnAccuracy = true, Seed = 3 };
        var trainer = new NeuralSheafDiffusion(options);
        var model = trainer.Fit(graph, 0, null, TestContext.Current.CancellationToken);
        var result = trainer.TrainSplit(graph, 0, null, TestContext.Current.CancellationToken);
        Assert.Equal(result with { Seconds = 0 }, model.Result with { Seconds = 0 });
        // Training ran on after its best epoch, so parameters kept from any later epoch would give other numbers.
        Assert.True(result.BestEpoch < result.EpochsRun - 1, $"best epoch {result.BestEpoch} of {result.EpochsRun}: the check below would be vacuous");
        var p = model.PredictProbabilities();
        var predicted = model.PredictLabels();
        var labels = graph.GetLabels();
        var roles = graph.GetSplit(0);
        double Accuracy(NodeSplitRole role)
        {
            var nodes = Enumerable.Range(0, graph.NodeCount).Where(v => roles[v] == role).ToList();
            return nodes.Count(v => predicted[v] == labels[v]) / (double)nodes.Count;
        }
        Assert.Equal(result.TestAccuracy, Accuracy(NodeSplitRole.Test), 12);
        Assert.Equal(result.ValidationAccuracy, Accuracy(NodeSplitRole.Validation), 12);
        var validation = Enumerable.Range(0, graph.NodeCount).Where(v => roles[v] == NodeSplitRole.Validation).ToList();
        Assert.Equal(result.ValidationLoss, validation.Average(v => -Math.Log(p[v, labels[v]])), 10);
        for (int v = 0; v < graph.NodeCount; v++)
            Assert.Equal(1.0, Enumerable.Range(0, graph.ClassCount).Sum(k => p[v, k]), 12);
    }

    [Theory]
    [InlineData(SheafFamily.Diagonal)]
    [InlineData(SheafFamily.Orthogonal)]
    [InlineData(SheafFamily.General)]
    public void InspectSheaf_GivesEveryEdgeACosineAndGroupsThemByLabel(SheafFamily family)
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions { Family = family, StalkDimension = 2, HiddenChannels = 4, Layers = 3, Epochs = 10, Seed = 11 };
        var layers = new NeuralSheafDiffusion(options).Fit(graph, 0, null, TestContext.Current.CancellationToken).InspectSheaf();
        Assert.Equal([0, 1, 2], layers.Select(l => l.Layer));
        var (sources, targets) = graph.GetEdges();
        var labels = graph.GetLabels();
        foreach (var layer in layers)
        {
            Assert.Equal(graph.EdgeCount, layer.EdgeAlignment.Count);
            Assert.All(layer.EdgeAlignment, a => Assert.InRange(a, -1.0, 1.0));
            var same = Enumerable.Range(0, sources.Length).Where(e => labels[sources[e]] == labels[targets[e]]).ToList();
            var different = Enumerable.Range(0, sources.Length).Where(e => labels[sources[e]] != labels[targets[e]]).ToList();
            Assert.Equal(same.Count, layer.SameLabelEdges);
            Assert.Equal(different.Count, layer.DifferentLabelEdges);
            Assert.Equal(different.Average(e => layer.EdgeAlignment[e]), layer.DifferentLabelMean, 12);
            // The synthetic graph joins only nodes of different parity, i.e. different labels.
            Assert.Empty(same);
            Assert.True(double.IsNaN(layer.SameLabelMean));
        }
    }

    [Fact]
    public void InspectSheaf_IdentityControlIsAlignedOnEveryEdge()
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions { Family = SheafFamily.Identity, StalkDimension = 3, HiddenChannels = 4, Epochs = 5 };
        var layers = new NeuralSheafDiffusion(options).Fit(graph, 0, null, TestContext.Current.CancellationToken).InspectSheaf();
        Assert.Equal(2, layers.Count);
        Assert.All(layers, l => Assert.All(l.EdgeAlignment, a => Assert.Equal(1.0, a)));
    }

    [Theory]
    [InlineData(SheafFamily.Diagonal)]
    [InlineData(SheafFamily.Orthogonal)]
    [InlineData(SheafFamily.General)]
    public void SaveAndLoad_GiveTheSameModelBitForBit(SheafFamily family)
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var options = new NeuralSheafDiffusionOptions
        {
            Family = family, StalkDimension = 2, HiddenChannels = 4, Layers = 2, LowPassChannel = true, SecondLinear = true,
            SparseLearner = true, Dropout = 0.2, Epochs = 12, Seed = 1L << 60,
        };
        var model = new NeuralSheafDiffusion(options).Fit(graph, 1, null, TestContext.Current.CancellationToken);
        var path = dir.File("nsd-model.json");
        model.Save(path);
        var loaded = SheafDiffusionModel.Load(path, graph);
        Assert.Equal(model.Options, loaded.Options);
        Assert.Equal(model.Result, loaded.Result);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
        Assert.Equal(model.PredictProbabilities(), loaded.PredictProbabilities());
        Assert.Equal(model.InspectSheaf()[1].EdgeAlignment, loaded.InspectSheaf()[1].EdgeAlignment);
        Assert.Equal(model.ToJson(), loaded.ToJson());
    }

    [Fact]
    public void Load_RejectsBadFilesAndMismatchedGraphs_NamingTheField()
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        var model = new NeuralSheafDiffusion(new NeuralSheafDiffusionOptions { HiddenChannels = 3, Epochs = 3 }).Fit(graph, 0, null, TestContext.Current.CancellationToken);
        string json = model.ToJson();
        SheafCoreFormatException Bad(string text) => Assert.Throws<SheafCoreFormatException>(() => SheafDiffusionModel.FromJson(text, graph));

        Assert.Contains("parameters", Bad(json.Replace("\"parameters\":[", "\"parameters\":[0,")).Message);
        Assert.Contains("options.dropout", Bad(json.Replace("\"dropout\":0,", "\"dropout\":1.5,")).Message);
        Assert.Contains("options.family", Bad(json.Replace("\"family\":\"diag\"", "\"family\":\"cayley\"")).Message);
        Assert.Contains("kind", Bad(json.Replace("neural-sheaf-diffusion", "mlp")).Message);
        Assert.Contains("format", Bad(json.Replace("\"format\":1", "\"format\":2")).Message);
        Assert.Contains("not valid JSON", Bad(json[..^5]).Message);
        var missing = Assert.Throws<SheafCoreFormatException>(() => SheafDiffusionModel.Load(dir.File("absent.json"), graph));
        Assert.Contains("cannot be read", missing.Message);

        // A graph with other features: refused, naming the graph argument.
        var other = NodeClassificationGraph.Create(new double[3, 5], [0, 1, 0], 2, [0, 1], [1, 2], [[NodeSplitRole.Train, NodeSplitRole.Validation, NodeSplitRole.Test]]);
        var e = Assert.Throws<ArgumentException>(() => SheafDiffusionModel.FromJson(json, other));
        Assert.Equal("graph", e.ParamName);
    }

    [Fact]
    public void Train_ThrowsWhenCancelled()
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new NeuralSheafDiffusion(new NeuralSheafDiffusionOptions()).Train(graph, [0], null, cts.Token));
    }

    [Fact]
    public void Train_ARunawayLearningRateStopsWithADivergenceError()
    {
        using var dir = new TempDirectory();
        var graph = Synthetic(dir);
        // Adam moves every parameter by about the learning rate per step, so 1e200 overflows the logits within a few epochs.
        var options = new NeuralSheafDiffusionOptions { StalkDimension = 2, HiddenChannels = 4, LearningRate = 1e200, Epochs = 50, Patience = 50 };
        var e = Assert.Throws<InvalidOperationException>(() => new NeuralSheafDiffusion(options).TrainSplit(graph, 0, null, TestContext.Current.CancellationToken));
        Assert.Contains("diverged", e.Message);
        Assert.Contains("learning rate", e.Message);
    }

    [Fact]
    public void SheafFamilyNames_RoundTripEveryFamilyAndRejectOtherNames()
    {
        var families = Enum.GetValues<SheafFamily>();
        Assert.Equal(families.Length, SheafFamilyNames.All.Count);
        foreach (var family in families)
            Assert.Equal(family, SheafFamilyNames.Parse(family.ToShortName()));
        Assert.Equal(["diag", "orth", "general", "identity"], families.Select(f => f.ToShortName()));
        Assert.False(SheafFamilyNames.TryParse("Diag", out _));
        Assert.False(SheafFamilyNames.TryParse(null, out _));
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => SheafFamilyNames.Parse("householder")).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SheafFamily)17).ToShortName());
    }

    [Fact]
    public void Constructor_RejectsBadOptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralSheafDiffusion(new NeuralSheafDiffusionOptions { Family = SheafFamily.Orthogonal, StalkDimension = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralSheafDiffusion(new NeuralSheafDiffusionOptions { Dropout = 1.0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralSheafDiffusion(new NeuralSheafDiffusionOptions { SheafDecay = -1 }));
    }

    [Fact]
    public void ParameterCount_MatchesTheReleasedScripts()
    {
        // ../shared/docs/nsd.md §6.1 (the digest's construction check): Wisconsin (O(d)) 278,113 and Cornell (Diag) 138,577 with 1703 features,
        // Chameleon (Diag, second linear) 410,395 with 2325 features; 5 classes each.
        Assert.Equal(278_113, new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("wisconsin", SheafFamily.Orthogonal)).ParameterCount(1703, 5));
        Assert.Equal(138_577, new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("cornell", SheafFamily.Diagonal)).ParameterCount(1703, 5));
        Assert.Equal(410_395, new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("chameleon", SheafFamily.Diagonal)).ParameterCount(2325, 5));
        // Texas (O(d), the variant learner: map rows 2f wide, the edge-weight row 2H): 105,153 with 1703 features.
        Assert.Equal(105_153, new NeuralSheafDiffusion(NeuralSheafDiffusionOptions.ForDataset("texas", SheafFamily.Orthogonal)).ParameterCount(1703, 5));
    }

    [Fact]
    public void Cli_Nsd_WritesReportWithPerSplitAccuracies()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder);
        var reportPath = dir.File("r.json");
        var r = CliRunner.Run("nsd", "--dataset", folder, "--model", "diag", "--splits", "0-1", "--epochs", "20", "--report", reportPath);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("split 0: test accuracy", r.Output);
        Assert.Contains("mean ± std:", r.Output);
        Assert.Contains("wall time", r.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        var accuracies = report.RootElement.GetProperty("testAccuracy").EnumerateArray().Select(x => x.GetDouble()).ToList();
        Assert.Equal(2, accuracies.Count);
        Assert.All(accuracies, a => Assert.InRange(a, 0, 1));
        double mean = report.RootElement.GetProperty("mean").GetDouble();
        Assert.Equal(accuracies.Average(), mean, 12);
        Assert.Equal(Math.Sqrt(accuracies.Average(a => (a - mean) * (a - mean))), report.RootElement.GetProperty("std").GetDouble(), 12);
        Assert.True(report.RootElement.GetProperty("seconds").GetDouble() > 0);
    }

    [Fact]
    public void Cli_Nsd_WritesPredictionsModelsAndTheLearnedSheafsAlignment()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder);
        var reportPath = dir.File("r.json");
        var predictionPath = dir.File("p.csv");
        var models = dir.File("models");
        var r = CliRunner.Run("nsd", "--dataset", folder, "--model", "general", "--splits", "0-1", "--epochs", "8", "--layers", "3", "--quiet",
            "--report", reportPath, "--predictions", predictionPath, "--save-models", models);
        Assert.True(r.ExitCode == 0, r.Error);
        var lines = File.ReadAllLines(predictionPath);
        Assert.Equal("split,node,role,label,predicted,p0,p1", lines[0]);
        Assert.Equal(1 + 2 * 40, lines.Length);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.All(rows, row =>
        {
            double p0 = double.Parse(row[5], System.Globalization.CultureInfo.InvariantCulture);
            double p1 = double.Parse(row[6], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(1.0, p0 + p1, 12);
            Assert.Equal(p1 > p0 ? "1" : "0", row[4]);
        });
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        // The CSV's test rows give the report's test accuracy, split by split.
        var accuracies = report.RootElement.GetProperty("testAccuracy").EnumerateArray().Select(x => x.GetDouble()).ToList();
        for (int s = 0; s < 2; s++)
        {
            var test = rows.Where(row => row[0] == s.ToString(System.Globalization.CultureInfo.InvariantCulture) && row[2] == "test").ToList();
            Assert.Equal(accuracies[s], test.Count(row => row[3] == row[4]) / (double)test.Count, 12);
        }
        // The saved model of split 1 predicts exactly the CSV's split-1 probabilities.
        var saved = SheafDiffusionModel.Load(Path.Combine(models, "split1.json"), NodeClassificationGraph.Load(folder));
        Assert.Equal(1, saved.Result.Split);
        var p = saved.PredictProbabilities();
        var split1 = rows.Where(row => row[0] == "1").ToList();
        for (int v = 0; v < split1.Count; v++)
            Assert.Equal(double.Parse(split1[v][6], System.Globalization.CultureInfo.InvariantCulture), p[v, 1]);
        var alignment = report.RootElement.GetProperty("sheafAlignment").EnumerateArray().ToList();
        Assert.Equal(2, alignment.Count);
        Assert.All(alignment, a =>
        {
            var different = a.GetProperty("differentLabel").EnumerateArray().Select(x => x.GetDouble()).ToList();
            Assert.Equal(3, different.Count);
            Assert.All(different, x => Assert.InRange(x, -1.0, 1.0));
        });
    }

    [Fact]
    public void Cli_Nsd_HyperParameterFlagsReachTheModelAndTheReport()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder);
        var reportPath = dir.File("r.json");
        var r = CliRunner.Run("nsd", "--dataset", folder, "--model", "orth", "--splits", "0", "--epochs", "5", "--quiet",
            "--stalk-dim", "2", "--layers", "3", "--hidden", "6", "--dropout", "0.25", "--input-dropout", "0.125", "--lr", "0.005",
            "--weight-decay", "0.002", "--sheaf-decay", "0.0001", "--stop-on", "acc", "--lp", "true", "--hp", "true", "--second-linear", "true",
            "--report", reportPath);
        Assert.True(r.ExitCode == 0, r.Error);
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        Assert.True(report.RootElement.GetProperty("complete").GetBoolean());
        var o = report.RootElement.GetProperty("options");
        Assert.Equal(2, o.GetProperty("stalkDimension").GetInt32());
        Assert.Equal(3, o.GetProperty("layers").GetInt32());
        Assert.Equal(6, o.GetProperty("hiddenChannels").GetInt32());
        Assert.Equal(0.25, o.GetProperty("dropout").GetDouble());
        Assert.Equal(0.125, o.GetProperty("inputDropout").GetDouble());
        Assert.Equal(0.005, o.GetProperty("learningRate").GetDouble());
        Assert.Equal(0.002, o.GetProperty("weightDecay").GetDouble());
        Assert.Equal(0.0001, o.GetProperty("sheafDecay").GetDouble());
        Assert.True(o.GetProperty("stopOnAccuracy").GetBoolean());
        Assert.True(o.GetProperty("lowPass").GetBoolean());
        Assert.True(o.GetProperty("highPass").GetBoolean());
        Assert.True(o.GetProperty("secondLinear").GetBoolean());
        // The orthogonal family needs d ≥ 2: refused as a usage error naming the flag.
        var bad = CliRunner.Run("nsd", "--dataset", folder, "--model", "orth", "--splits", "0", "--stalk-dim", "1", "--quiet");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--stalk-dim", bad.Error);
    }

    [Fact]
    public void Cli_Nsd_KeepsTheFinishedSplitsWhenALaterSplitFails()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder, untrainableSecondSplit: true);
        var reportPath = dir.File("r.json");
        var r = CliRunner.Run("nsd", "--dataset", folder, "--splits", "0-1", "--epochs", "5", "--quiet", "--report", reportPath);
        Assert.NotEqual(0, r.ExitCode);
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        Assert.False(report.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal([0], report.RootElement.GetProperty("splits").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Single(report.RootElement.GetProperty("testAccuracy").EnumerateArray());
    }

    [Fact]
    public void Cli_Nsd_RejectsMissingSplitWithUsageError()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("synthetic");
        GraphFolders.WriteSynthetic(folder);
        var r = CliRunner.Run("nsd", "--dataset", folder, "--splits", "0-5", "--quiet");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--splits", r.Error);
    }

    [Fact]
    public void Cli_Nsd_ReportsBadGraphOnOneLine()
    {
        using var dir = new TempDirectory();
        var r = CliRunner.Run("nsd", "--dataset", dir.File("missing"), "--quiet");
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Error.Trim().Split('\n'));
    }

    private sealed class SynchronousProgress(List<SheafDiffusionEpoch> sink) : IProgress<SheafDiffusionEpoch>
    {
        public void Report(SheafDiffusionEpoch value) => sink.Add(value);
    }
}
