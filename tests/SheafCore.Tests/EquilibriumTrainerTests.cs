namespace SheafCore.Tests;

/// <summary>Exact-equilibrium sheaf training (issue 5, item 8) on 40 samples of the paraboloid fixture: it lowers the loss,
/// is deterministic, its local update is the exact gradient as the output coupling weakens, and it rejects
/// sigmoid/softmax networks.</summary>
public sealed class EquilibriumTrainerTests
{
    private static (NeuralNetwork Network, Dataset Train) Small()
    {
        var network = NeuralNetwork.Load(TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"));
        var all = CsvTable.Load(TestPaths.Fixture("datasets", "paraboloid_train.csv")).ToArray();
        var x = new double[40, 2];
        var y = new double[40, 1];
        for (int i = 0; i < 40; i++) (x[i, 0], x[i, 1], y[i, 0]) = (all[i, 0], all[i, 1], all[i, 2]);
        return (network, Dataset.Create(x, y));
    }

    [Fact]
    public void Fit_LowersTheLoss_AndIsDeterministic()
    {
        var (network, train) = Small();
        var options = new EquilibriumTrainingOptions { Method = GradientDescentMethod.Adam, LearningRate = 0.01, Epochs = 2, StepsPerEpoch = 10 };
        var token = TestContext.Current.CancellationToken;
        var a = new EquilibriumTrainer(options).Fit(network, train, null, null, token);
        var b = new EquilibriumTrainer(options).Fit(network, train, null, null, token);
        Assert.Equal(3, a.Log.Count);
        Assert.True(a.Final.TrainLoss < 0.5 * a.Log[0].TrainLoss, $"{a.Log[0].TrainLoss} → {a.Final.TrainLoss}");
        Assert.Equal(a.Network.GetWeights(1), b.Network.GetWeights(1));
    }

    [Fact]
    public void OneStep_AtWeakOutputCoupling_EqualsOneSgdStep()
    {
        var (network, train) = Small();
        var token = TestContext.Current.CancellationToken;
        var equilibrium = new EquilibriumTrainer(new EquilibriumTrainingOptions { LearningRate = 0.01, Epochs = 1, StepsPerEpoch = 1, OutputCoupling = 1e-5 })
            .Fit(network, train, null, null, token).Network;
        var sgd = new GradientDescentTrainer(new GradientDescentOptions { LearningRate = 0.01, Epochs = 1, StepsPerEpoch = 1 })
            .Fit(network, train, null, null, token).Network;
        for (int l = 1; l <= 2; l++)
        {
            var w0 = network.GetWeights(l);
            var we = equilibrium.GetWeights(l);
            var ws = sgd.GetWeights(l);
            double diff = 0, norm = 0;
            for (int i = 0; i < w0.GetLength(0); i++)
                for (int j = 0; j < w0.GetLength(1); j++)
                {
                    diff += Math.Pow(we[i, j] - ws[i, j], 2);
                    norm += Math.Pow(ws[i, j] - w0[i, j], 2);
                }
            Assert.True(Math.Sqrt(diff) <= 1e-3 * Math.Sqrt(norm), $"layer {l}: |Δ_eq − Δ_sgd| / |Δ_sgd| = {Math.Sqrt(diff / norm):G3}");
        }
    }

    [Fact]
    public void Fit_SigmoidNetwork_ThrowsNamingTheNetwork()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 4, 1], OutputActivation.Sigmoid, seed: 1);
        var data = Dataset.Create(new double[,] { { 0, 1 } }, new double[,] { { 1 } });
        var e = Assert.Throws<ArgumentException>(() => new EquilibriumTrainer().Fit(net, data, null, null, TestContext.Current.CancellationToken));
        Assert.Equal("initial", e.ParamName);
    }
}
