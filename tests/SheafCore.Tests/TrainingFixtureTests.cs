using System.Globalization;
using System.Text.Json;

namespace SheafCore.Tests;

/// <summary>The paraboloid [2,30,1] Table E.1 run of the reference code (fixtures expected/training): started from its exact
/// initial model and initial stalks, <c>train --method sheaf</c> and <c>--method sgd</c> reproduce the stored train and test
/// loss at every logged step to 1e-6 relative. The default test runs the first 20 of the 100 epochs (CI time); set
/// SHEAFCORE_LONG_TESTS=1 for the full 100,000 steps (docs/results/paraboloid_1H.md records that run).</summary>
public sealed class TrainingFixtureTests
{
    private const double RelativeTolerance = 1e-6;

    private static int Epochs => Environment.GetEnvironmentVariable("SHEAFCORE_LONG_TESTS") == "1" ? 100 : 20;

    private static (int[] Steps, double[] Train, double[] Test) Expected(string method)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("expected", "training", "paraboloid_1H.json")));
        var block = doc.RootElement.GetProperty(method);
        return (block.GetProperty("steps").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            block.GetProperty("train_loss").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            block.GetProperty("test_loss").EnumerateArray().Select(e => e.GetDouble()).ToArray());
    }

    private static string[] CommonArgs(TempDirectory temp, string method) =>
    [
        "train", "--model", TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"),
        "--train", TestPaths.Fixture("datasets", "paraboloid_train.csv"), "--test", TestPaths.Fixture("datasets", "paraboloid_test.csv"),
        "--method", method, "--steps", (Epochs * 1000).ToString(CultureInfo.InvariantCulture), "--steps-per-epoch", "1000",
        "--model-out", temp.File("model.json"), "--log", temp.File("log.csv"), "--quiet",
    ];

    private static void AssertLogMatches(string logPath, string method)
    {
        var (steps, train, test) = Expected(method);
        var lines = File.ReadAllLines(logPath);
        Assert.Equal("step,trainLoss,testLoss,trainAccuracy,testAccuracy", lines[0]);
        Assert.Equal(Epochs + 1, lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            Assert.Equal(5, cells.Length);
            Assert.Equal(steps[i - 1], int.Parse(cells[0], CultureInfo.InvariantCulture));
            AssertRelative(train[i - 1], double.Parse(cells[1], CultureInfo.InvariantCulture), $"{method} train loss, step {steps[i - 1]}");
            AssertRelative(test[i - 1], double.Parse(cells[2], CultureInfo.InvariantCulture), $"{method} test loss, step {steps[i - 1]}");
            Assert.Equal("", cells[3]); // regression: no accuracy
            Assert.Equal("", cells[4]);
        }
    }

    private static void AssertRelative(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= RelativeTolerance * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Fact]
    public void Sheaf_FromTheReferenceInitialStalks_MatchesEveryLoggedLoss()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run([.. CommonArgs(temp, "sheaf"), "--dt", "0.005", "--alpha", "1", "--beta", "0.0033333333333333335",
            "--init-state", TestPaths.Fixture("expected", "training", "paraboloid_1H_sheaf_init_stalks.json"), "--warm-start", "true"]);
        Assert.True(r.ExitCode == 0, r.Error);
        AssertLogMatches(temp.File("log.csv"), "sheaf");
        if (Epochs == 100) AssertFinalWeights(temp.File("model.json"), "paraboloid_1H_sheaf_final.json");
    }

    [Fact]
    public void Sgd_FromTheReferenceInitialModel_MatchesEveryLoggedLoss()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run([.. CommonArgs(temp, "sgd"), "--lr", "0.005"]);
        Assert.True(r.ExitCode == 0, r.Error);
        AssertLogMatches(temp.File("log.csv"), "sgd");
        if (Epochs == 100) AssertFinalWeights(temp.File("model.json"), "paraboloid_1H_sgd_final.json");
    }

    [Fact]
    public void Sheaf_FirstStepSnapshot_MatchesTheReferenceWeights()
    {
        // One joint step from the reference state: the weights must agree to round-off (the snapshot at step 1).
        var net = NeuralNetwork.Load(TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"));
        var table = CsvTable.Load(TestPaths.Fixture("datasets", "paraboloid_train.csv"));
        var x = table.SelectRange(0, 2);
        var data = Dataset.Create(x, table.SelectRange(2, 1));
        var stalks = net.ToSheaf().CreateState(x, File.ReadAllText(TestPaths.Fixture("expected", "training", "paraboloid_1H_sheaf_init_stalks.json")));
        var report = new SheafTrainer(new TrainingOptions { Epochs = 1, StepsPerEpoch = 1, InitialStalks = stalks, Beta = 1.0 / 300 })
            .Fit(net, data, null, null, TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("expected", "training", "paraboloid_1H.json")));
        var snapshot = doc.RootElement.GetProperty("sheaf").GetProperty("snapshots").GetProperty("1");
        for (int l = 0; l < 2; l++)
        {
            var w = report.Network.GetWeights(l + 1);
            var rows = snapshot.GetProperty("weights")[l];
            for (int i = 0; i < w.GetLength(0); i++)
                for (int j = 0; j < w.GetLength(1); j++) Assert.Equal(rows[i][j].GetDouble(), w[i, j], 14);
        }
        var z2 = report.FinalStalks!.GetPreActivation(2);
        double sum = 0;
        for (int i = 0; i < z2.GetLength(0); i++) sum += z2[i, 0];
        Assert.Equal(snapshot.GetProperty("stalk_checksums").GetProperty("z_sum")[1].GetDouble(), sum, 10);
    }

    private static void AssertFinalWeights(string modelPath, string fixture)
    {
        var mine = NeuralNetwork.Load(modelPath);
        var reference = NeuralNetwork.Load(TestPaths.Fixture("expected", "training", fixture));
        for (int l = 1; l <= 2; l++)
        {
            var a = mine.GetWeights(l);
            var b = reference.GetWeights(l);
            for (int i = 0; i < a.GetLength(0); i++)
                for (int j = 0; j < a.GetLength(1); j++) Assert.Equal(b[i, j], a[i, j], 9);
        }
    }
}
