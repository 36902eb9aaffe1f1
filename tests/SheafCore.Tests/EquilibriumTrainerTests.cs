namespace SheafCore.Tests;

/// <summary>Equilibrium sheaf training (issue 5, item 8) on small data: it lowers the loss (MSE, binary and categorical
/// cross-entropy; direct and local diffusion relaxation), is deterministic, its local update is the exact gradient as the
/// output coupling weakens, and it rejects diffusion relaxation of a cross-entropy edge at γ ≠ 1.</summary>
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

    [Theory]
    [InlineData(OutputActivation.Sigmoid)]
    [InlineData(OutputActivation.Softmax)]
    public void Fit_CrossEntropyNetworks_LowerTheLoss(OutputActivation output)
    {
        // Two well-separated clusters; the cross-entropy output edge is solved by Newton inside the direct relaxation.
        int n = 40, classes = output == OutputActivation.Softmax ? 3 : 1;
        var x = new double[n, 2];
        var y = new double[n, classes];
        for (int i = 0; i < n; i++)
        {
            int label = i % (output == OutputActivation.Softmax ? 3 : 2);
            x[i, 0] = label - 1 + 0.1 * Math.Sin(7 * i);
            x[i, 1] = 0.5 * label + 0.1 * Math.Cos(5 * i);
            if (output == OutputActivation.Softmax) y[i, label] = 1;
            else y[i, 0] = label;
        }
        var net = NeuralNetwork.CreateHeInitialized([2, 6, classes], output, seed: 3);
        var options = new EquilibriumTrainingOptions { LearningRate = 0.05, Epochs = 2, StepsPerEpoch = 50 };
        var report = new EquilibriumTrainer(options).Fit(net, Dataset.Create(x, y), null, null, TestContext.Current.CancellationToken);
        Assert.True(report.Final.TrainLoss < 0.8 * report.Log[0].TrainLoss, $"{report.Log[0].TrainLoss} → {report.Final.TrainLoss}");
    }

    [Fact]
    public void Fit_DiffusionOnSigmoidWithCouplingOtherThanOne_ThrowsNamingTheCoupling()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 4, 1], OutputActivation.Sigmoid, seed: 1);
        var data = Dataset.Create(new double[,] { { 0, 1 } }, new double[,] { { 1 } });
        var options = new EquilibriumTrainingOptions { Relaxation = EquilibriumRelaxation.Diffusion, OutputCoupling = 0.5 };
        var e = Assert.Throws<ArgumentException>(() => new EquilibriumTrainer(options).Fit(net, data, null, null, TestContext.Current.CancellationToken));
        Assert.Equal("OutputCoupling", e.ParamName);
    }

    [Fact]
    public void Fit_LocalDiffusionRelaxation_LowersTheLoss()
    {
        var (network, train) = Small();
        var options = new EquilibriumTrainingOptions
        {
            Method = GradientDescentMethod.Adam, LearningRate = 0.01, Epochs = 1, StepsPerEpoch = 10,
            Relaxation = EquilibriumRelaxation.Diffusion, DiffusionMaxSteps = 20,
        };
        var trainer = new EquilibriumTrainer(options);
        var report = trainer.Fit(network, train, null, null, TestContext.Current.CancellationToken);
        Assert.True(report.Final.TrainLoss < 0.7 * report.Log[0].TrainLoss, $"{report.Log[0].TrainLoss} → {report.Final.TrainLoss}");
        Assert.True(trainer.LastRelaxationWork > 0);
    }
}
