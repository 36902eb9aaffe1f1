namespace SheafCore.Tests;

/// <summary>Training behaviour through the façade and the CLI: every task's loss falls, runs are reproducible, progress and
/// cancellation work, bad data is rejected with a clear message and no model is written.</summary>
public sealed class TrainingTests
{
    [Theory]
    [InlineData(SyntheticTask.Paraboloid)]
    [InlineData(SyntheticTask.Saddle)]
    [InlineData(SyntheticTask.Circular)]
    [InlineData(SyntheticTask.Blobs)]
    public void ShortRuns_LowerTheLossOnEveryTask(SyntheticTask task)
    {
        var set = SyntheticTasks.Generate(task, seed: 42);
        var net = NeuralNetwork.CreateHeInitialized(set.Layers1H, set.Output, seed: 42);
        var ct = TestContext.Current.CancellationToken;
        var sheaf = new SheafTrainer(new TrainingOptions { Epochs = 3, StepsPerEpoch = 1000 }).Fit(net, set.Train, set.Test, null, ct);
        var sgd = new GradientDescentTrainer(new GradientDescentOptions { LearningRate = set.LearningRate, Epochs = 3, StepsPerEpoch = 1000 })
            .Fit(net, set.Train, set.Test, null, ct);
        var adam = new GradientDescentTrainer(new GradientDescentOptions { Method = GradientDescentMethod.Adam, LearningRate = 0.01, Epochs = 1, StepsPerEpoch = 500 })
            .Fit(net, set.Train, set.Test, null, ct);
        foreach (var report in new[] { sheaf, sgd, adam })
        {
            Assert.False(report.Diverged);
            Assert.True(report.Final.TrainLoss < 0.9 * report.Log[0].TrainLoss, $"{task}: {report.Log[0].TrainLoss} → {report.Final.TrainLoss}");
            Assert.True(report.Final.TestLoss < report.Log[0].TestLoss);
            Assert.Equal(task is SyntheticTask.Circular or SyntheticTask.Blobs, !double.IsNaN(report.Final.TestAccuracy));
        }
        Assert.Equal(3000, sheaf.Steps);
        Assert.Equal(4, sheaf.Log.Count);
    }

    [Fact]
    public void SameSeed_GivesBitIdenticalWeights()
    {
        var set = SyntheticTasks.Generate(SyntheticTask.Paraboloid, seed: 7);
        var again = SyntheticTasks.Generate(SyntheticTask.Paraboloid, seed: 7);
        Assert.Equal(set.Train.GetInputs(), again.Train.GetInputs());
        var net = NeuralNetwork.CreateHeInitialized(set.Layers1H, set.Output, seed: 3);
        var options = new TrainingOptions { Epochs = 2, StepsPerEpoch = 250, StalkSeed = 11, MiniBatchSize = 64 };
        var a = new SheafTrainer(options).Fit(net, set.Train);
        var b = new SheafTrainer(options).Fit(NeuralNetwork.CreateHeInitialized(set.Layers1H, set.Output, seed: 3), again.Train);
        Assert.Equal(a.Network.ToJson(), b.Network.ToJson());
        var c = new SheafTrainer(new TrainingOptions { Epochs = 2, StepsPerEpoch = 250, StalkSeed = 12, MiniBatchSize = 64 }).Fit(net, set.Train);
        Assert.NotEqual(a.Network.ToJson(), c.Network.ToJson());
        // The initial network is not modified by training.
        Assert.Equal(NeuralNetwork.CreateHeInitialized(set.Layers1H, set.Output, seed: 3).ToJson(), net.ToJson());
    }

    [Fact]
    public void Progress_ReportsEveryLogRow_AndCancellationStopsTheRun()
    {
        var set = SyntheticTasks.Generate(SyntheticTask.Circular, seed: 1);
        var net = NeuralNetwork.CreateHeInitialized(set.Layers1H, set.Output, seed: 1);
        var rows = new List<TrainingProgress>();
        var report = new SheafTrainer(new TrainingOptions { Epochs = 3, StepsPerEpoch = 10 }).Fit(net, set.Train, null, new ListProgress(rows), TestContext.Current.CancellationToken);
        Assert.Equal(report.Log, rows);
        Assert.Equal([0, 10, 20, 30], rows.Select(r => r.Step));
        Assert.True(double.IsNaN(rows[0].TestLoss));

        using var cts = new CancellationTokenSource();
        var cancelling = new ListProgress([], () => cts.Cancel());
        Assert.Throws<OperationCanceledException>(() =>
            new SheafTrainer(new TrainingOptions { Epochs = 1000, StepsPerEpoch = 1000 }).Fit(net, set.Train, null, cancelling, cts.Token));
    }

    [Fact]
    public void GradientAgreement_IsCloseToOneForAWeakPin()
    {
        var set = SyntheticTasks.Generate(SyntheticTask.Paraboloid, seed: 5);
        var net = NeuralNetwork.CreateHeInitialized([2, 6, 1], OutputActivation.Identity, seed: 5);
        var x = set.Train.GetInputs();
        var y = set.Train.GetTargets();
        var small = Dataset.Create(Slice(x, 8), Slice(y, 8));
        var weak = SheafTrainer.MeasureGradientAgreement(net, small, 1e-4, 1e-15, 2_000_000);
        Assert.True(weak.Converged);
        Assert.All(weak.Layers, l => Assert.True(l.Cosine > 0.9999, $"layer {l.Layer}: cos {l.Cosine}"));
        Assert.All(weak.Layers, l => Assert.InRange(l.NormRatio, 0.99, 1.01));
        var strong = SheafTrainer.MeasureGradientAgreement(net, small, 1.0, 1e-13, 2_000_000);
        Assert.True(strong.Layers.Min(l => l.Cosine) < weak.Layers.Min(l => l.Cosine));
    }

    private static double[,] Slice(double[,] m, int rows)
    {
        var r = new double[rows, m.GetLength(1)];
        for (int i = 0; i < rows; i++) for (int j = 0; j < m.GetLength(1); j++) r[i, j] = m[i, j];
        return r;
    }

    [Fact]
    public void Dataset_RejectsBadInput_NamingTheParameterAndRow()
    {
        var ex = Assert.Throws<ArgumentException>(() => Dataset.Create(new double[,] { { 1, double.NaN } }, new double[,] { { 0 } }));
        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("Sample 0, feature 1", ex.Message);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => Dataset.Create(new double[0, 2], new double[0, 1])).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => Dataset.Create(new double[2, 2], new double[3, 1])).ParamName);
        var labels = Assert.Throws<ArgumentException>(() => Dataset.FromLabels(new double[2, 2], [0, 4], 4));
        Assert.Contains("Row 1", labels.Message);
        var net = NeuralNetwork.CreateHeInitialized([2, 3, 1], OutputActivation.Sigmoid, 1);
        var bad = Dataset.Create(new double[,] { { 0, 0 }, { 1, 1 } }, new double[,] { { 0 }, { 2 } });
        var fit = Assert.Throws<ArgumentException>(() => new SheafTrainer().Fit(net, bad));
        Assert.Equal("train", fit.ParamName);
        Assert.Contains("Row 1", fit.Message);
        var wrongColumns = Dataset.Create(new double[,] { { 0, 0, 0 } }, new double[,] { { 0 } });
        Assert.Contains("3 input columns", Assert.Throws<ArgumentException>(() => new GradientDescentTrainer().Fit(net, wrongColumns)).Message);
    }

    public static TheoryData<string, string, string> BadCsvCases => new()
    {
        { "x1,x2\n1,2\n", "identity", "has 2 columns" },                 // wrong column count (no target)
        { "x1,x2,y\n1,2,NaN\n", "identity", "row 2, column y" },        // NaN
        { "", "identity", "empty" },                                      // empty file
        { "x1,x2,y\n", "identity", "no data rows" },                     // header only
        { "x1,x2,y\n1,2,0\n1,2,4\n", "softmax", "row 3, column y" },    // label out of range 0..3
        { "x1,x2,y\n1,2,0.5\n", "softmax", "label 0.5 is out of range" }, // non-integer label
        { "x1,x2,y\n1,2,2\n", "sigmoid", "out of range" },              // binary label 2
    };

    [Theory]
    [MemberData(nameof(BadCsvCases))]
    public void Cli_BadData_IsAOneLineErrorAndWritesNoModel(string csv, string activation, string expected)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("train.csv"), csv);
        var output = activation == "softmax" ? "2,3,4" : "2,3,1";
        foreach (var method in new[] { "sheaf", "sgd" })
        {
            var r = CliRunner.Run("train", "--layers", output, "--output-activation", activation, "--train", temp.File("train.csv"),
                "--method", method, "--steps", "10", "--model-out", temp.File("model.json"), "--log", temp.File("log.csv"));
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(expected, r.Error);
            Assert.Single(r.Error.TrimEnd().Split('\n'));
            Assert.DoesNotContain("   at ", r.Error);
            Assert.False(File.Exists(temp.File("model.json")));
            Assert.False(File.Exists(temp.File("log.csv")));
        }
    }

    [Fact]
    public void Cli_TrainsClassificationFromLabels_LogsAccuracy_AndStandardizes()
    {
        using var temp = new TempDirectory();
        var set = SyntheticTasks.Generate(SyntheticTask.Blobs, seed: 2);
        var x = set.Train.GetInputs();
        var y = set.Train.GetTargets();
        using (var w = new StreamWriter(temp.File("train.csv")))
        {
            w.Write("a,b,label\n");
            for (int i = 0; i < x.GetLength(0); i++)
            {
                int label = Enumerable.Range(0, 4).First(c => y[i, c] == 1);
                w.Write(FormattableString.Invariant($"{10 * x[i, 0] + 3},{x[i, 1]},{label}\n"));
            }
        }
        var r = CliRunner.Run("train", "--layers", "2,8,4", "--output-activation", "softmax", "--train", temp.File("train.csv"),
            "--test", temp.File("train.csv"), "--method", "sheaf", "--steps", "2000", "--steps-per-epoch", "500", "--dt", "0.01",
            "--standardize", "--model-out", temp.File("model.json"), "--log", temp.File("log.csv"), "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        var lines = File.ReadAllLines(temp.File("log.csv"));
        Assert.Equal(6, lines.Length);
        var last = lines[^1].Split(',');
        Assert.Equal("2000", last[0]);
        Assert.True(double.Parse(last[3], System.Globalization.CultureInfo.InvariantCulture) > 0.5);
        Assert.Equal(last[1], last[2]); // the test set is the training set
        // The saved model stores its inputScaling: its prediction on raw inputs gives the logged (standardised) training loss.
        var model = NeuralNetwork.Load(temp.File("model.json"));
        Assert.NotNull(model.InputScaling);
        var raw = CsvTable.Load(temp.File("train.csv")).SelectRange(0, 2);
        var p = model.Predict(raw);
        double ce = 0;
        for (int i = 0; i < p.GetLength(0); i++) ce -= Math.Log(Math.Clamp(p[i, Enumerable.Range(0, 4).First(c => y[i, c] == 1)], 1e-12, 1 - 1e-12));
        Assert.Equal(double.Parse(last[1], System.Globalization.CultureInfo.InvariantCulture), ce / p.GetLength(0), 10);
        Assert.Contains("\"inputScaling\"", File.ReadAllText(temp.File("model.json")));
    }

    private sealed class ListProgress(List<TrainingProgress> rows, Action? onReport = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            rows.Add(value);
            onReport?.Invoke();
        }
    }
}
