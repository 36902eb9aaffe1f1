namespace SheafCore.Tests;

public sealed class NeuralNetworkTests
{
    [Fact]
    public void CreateHeInitialized_SameSeedGivesBitIdenticalWeights()
    {
        var a = NeuralNetwork.CreateHeInitialized([3, 7, 5, 2], OutputActivation.Softmax, seed: 11);
        var b = NeuralNetwork.CreateHeInitialized([3, 7, 5, 2], OutputActivation.Softmax, seed: 11);
        var c = NeuralNetwork.CreateHeInitialized([3, 7, 5, 2], OutputActivation.Softmax, seed: 12);
        Assert.Equal(a.ToJson(), b.ToJson());
        Assert.NotEqual(a.ToJson(), c.ToJson());
        Assert.All(Enumerable.Range(1, 3), l => Assert.All(a.GetBiases(l), v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void CreateHeInitialized_WeightsHaveHeVariance()
    {
        var net = NeuralNetwork.CreateHeInitialized([200, 300, 1], OutputActivation.Identity, seed: 3);
        var w = net.GetWeights(1);
        double sum = 0, sumSq = 0;
        foreach (var v in w) { sum += v; sumSq += v * v; }
        double n = w.Length, mean = sum / n, variance = sumSq / n - mean * mean;
        Assert.InRange(variance, 0.95 * 2.0 / 200, 1.05 * 2.0 / 200); // 60,000 draws: a 5% band is > 8 standard errors
        Assert.InRange(mean, -0.002, 0.002);
    }

    [Fact]
    public void ToJson_RoundTripsBitExactly()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 5, 3], OutputActivation.Sigmoid, seed: 5);
        var back = NeuralNetwork.FromJson(net.ToJson());
        Assert.Equal(net.Layers, back.Layers);
        Assert.Equal(net.Output, back.Output);
        for (int l = 1; l <= 2; l++)
        {
            Assert.Equal(net.GetWeights(l), back.GetWeights(l));
            Assert.Equal(net.GetBiases(l), back.GetBiases(l));
        }
    }

    [Fact]
    public void Save_WritesAtomicallyAndLoadReadsBack()
    {
        using var temp = new TempDirectory();
        var path = temp.File("m.json");
        var net = NeuralNetwork.CreateHeInitialized([2, 4, 1], OutputActivation.Identity, seed: 1);
        net.Save(path);
        Assert.Equal(net.ToJson(), NeuralNetwork.Load(path).ToJson());
        Assert.Single(Directory.GetFiles(temp.Path)); // no temporary left behind
    }

    [Fact]
    public void FromWeights_BuildsTheExpectedForward()
    {
        var net = NeuralNetwork.FromWeights(
            [new double[,] { { 1, -1 }, { 2, 0.5 } }, new double[,] { { 1, 1 } }],
            [[0.0, -1.0], [0.5]],
            OutputActivation.Identity);
        // x = (1, 2): z1 = (-1, 2), a1 = (0, 2), y = 2.5
        Assert.Equal(2.5, net.Forward(new double[,] { { 1, 2 } })[0, 0], 15);
    }

    [Fact]
    public void FromWeights_ThrowsNamingWeightsWhenShapesDoNotChain()
    {
        var e = Assert.Throws<ArgumentException>(() => NeuralNetwork.FromWeights(
            [new double[2, 3], new double[1, 4]], [new double[2], new double[1]], OutputActivation.Identity));
        Assert.Equal("weights", e.ParamName);
    }

    [Fact]
    public void FromWeights_ThrowsForNaN()
    {
        var e = Assert.Throws<ArgumentException>(() => NeuralNetwork.FromWeights(
            [new double[,] { { double.NaN } }], [new double[1]], OutputActivation.Identity));
        Assert.Contains("weights", e.ParamName);
    }

    [Theory]
    [InlineData(new[] { 3 })]
    [InlineData(new[] { 2, 0, 1 })]
    public void CreateHeInitialized_RejectsBadLayers(int[] layers)
    {
        var e = Assert.Throws<ArgumentException>(() => NeuralNetwork.CreateHeInitialized(layers, OutputActivation.Identity, 0));
        Assert.Equal("layers", e.ParamName);
    }

    [Fact]
    public void Forward_RejectsWrongColumnCount()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 3, 1], OutputActivation.Identity, 0);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => net.Forward(new double[4, 3])).ParamName);
    }

    [Fact]
    public void Forward_RejectsEmptyBatch()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 3, 1], OutputActivation.Identity, 0);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new double[0, 2]));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Forward_RejectsNonFiniteInput(double bad)
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 3, 1], OutputActivation.Identity, 0);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(new double[,] { { 0, bad } }));
        Assert.Equal("inputs", e.ParamName);
    }

    [Fact]
    public void Forward_SoftmaxRowsSumToOneAndSigmoidLiesInUnitInterval()
    {
        var inputs = new double[,] { { 0.1, -2 }, { 3, 1 }, { -1, 0.5 } };
        var soft = NeuralNetwork.CreateHeInitialized([2, 8, 4], OutputActivation.Softmax, 2).Forward(inputs);
        for (int i = 0; i < 3; i++)
            Assert.Equal(1.0, Enumerable.Range(0, 4).Sum(j => soft[i, j]), 12);
        var sig = NeuralNetwork.CreateHeInitialized([2, 8, 3], OutputActivation.Sigmoid, 2).Forward(inputs);
        Assert.All(sig.Cast<double>(), v => Assert.InRange(v, 0.0, 1.0));
    }
}
