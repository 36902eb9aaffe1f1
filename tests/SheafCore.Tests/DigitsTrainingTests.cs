namespace SheafCore.Tests;

/// <summary>Real data (issue 5, item 7): a [64,32,10] softmax network on the digits' fixed split, a few hundred steps of
/// sheaf training, SGD and Adam each lift test accuracy well above chance. The full comparison is docs/results/digits.md.</summary>
public sealed class DigitsTrainingTests
{
    /// <summary>$SHEAFCORE_DATA/digits, else the first shared/data/digits walking up from the test binary, else the vendored copy.</summary>
    private static string? DigitsFolder()
    {
        if (Environment.GetEnvironmentVariable("SHEAFCORE_DATA") is { Length: > 0 } env)
            return Directory.Exists(Path.Combine(env, "digits")) ? Path.Combine(env, "digits") : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "digits");
            if (File.Exists(Path.Combine(candidate, "digits.csv"))) return candidate;
        }
        // The vendored copy (CC BY 4.0, attribution in tests/fixtures/digits/README.md) keeps CI self-contained.
        var vendored = TestPaths.Fixture("digits");
        return File.Exists(Path.Combine(vendored, "digits.csv")) ? vendored : null;
    }

    /// <summary>The fixed split, inputs standardised by the training set's moments (as <c>train --standardize</c>).</summary>
    private static (NeuralNetwork Network, Dataset Train, Dataset Test) Load(string folder)
    {
        var table = CsvTable.Load(Path.Combine(folder, "digits.csv"));
        Assert.Equal(1797, table.RowCount);
        var pixels = table.SelectRange(0, 64);
        var labels = table.Select(["label"]);
        // split.csv: index,set with set = train|test, row i for sample i.
        var roles = File.ReadLines(Path.Combine(folder, "split.csv")).Skip(1).Select(l => l.Split(',')[1]).ToArray();
        Assert.Equal(table.RowCount, roles.Length);
        (double[,] X, int[] Y) Part(string role)
        {
            var rows = Enumerable.Range(0, roles.Length).Where(i => roles[i] == role).ToArray();
            var x = new double[rows.Length, 64];
            for (int r = 0; r < rows.Length; r++)
                for (int j = 0; j < 64; j++) x[r, j] = pixels[rows[r], j];
            return (x, rows.Select(i => (int)labels[i, 0]).ToArray());
        }
        var (trainX, trainY) = Part("train");
        var (testX, testY) = Part("test");
        Assert.Equal(1437, trainY.Length);
        var network = NeuralNetwork.CreateHeInitialized([64, 32, 10], OutputActivation.Softmax, seed: 42)
            .WithInputScaling(InputScaling.FromData(trainX));
        return (network, Dataset.FromLabels(network.ScaleInputs(trainX), trainY, 10), Dataset.FromLabels(network.ScaleInputs(testX), testY, 10));
    }

    [Fact]
    public void FewHundredSteps_OfSheafSgdAndAdam_LiftTestAccuracyWellAboveChance()
    {
        var folder = DigitsFolder();
        Assert.SkipWhen(folder is null, "digits not found: set SHEAFCORE_DATA or place shared/data/digits above the repository.");
        var (network, train, test) = Load(folder!);
        var token = TestContext.Current.CancellationToken;
        // ≈ 2.5 ms per full-batch step on 1437 samples: 300 steps of each method take ≈ 2–3 s in all.
        var sheaf = new SheafTrainer(new TrainingOptions
        {
            TimeStep = 0.02, Beta = 10.0 / train.Count, Epochs = 3, StepsPerEpoch = 100,
            WarmStart = false, StalkInitialization = TrainingStalkInitialization.Forward,
        }).Fit(network, train, test, null, token);
        var sgd = new GradientDescentTrainer(new GradientDescentOptions { LearningRate = 0.1, Epochs = 3, StepsPerEpoch = 100 })
            .Fit(network, train, test, null, token);
        var adam = new GradientDescentTrainer(new GradientDescentOptions { Method = GradientDescentMethod.Adam, LearningRate = 0.001, Epochs = 3, StepsPerEpoch = 100 })
            .Fit(network, train, test, null, token);
        foreach (var (name, report) in new[] { ("sheaf", sheaf), ("sgd", sgd), ("adam", adam) })
        {
            Assert.True(report.Log[0].TestAccuracy < 0.3, $"{name}: the initial network should be near chance (10 %).");
            Assert.True(report.Final.TestAccuracy > 0.6, $"{name}: test accuracy {report.Final.TestAccuracy:P1} after 300 steps.");
            Assert.True(report.Final.TrainLoss < report.Log[0].TrainLoss, name);
            Assert.NotNull(report.Network.InputScaling);
        }
    }
}
