namespace SheafCore.Tests;

/// <summary>The model JSON's <c>inputScaling</c> (CLI contract, <c>train --standardize</c>): stored, not folded into the
/// weights, round-tripped, validated, and applied by every command that reads inputs.</summary>
public sealed class InputScalingTests
{
    private static readonly double[] Mean = [3.0, -1.5];
    private static readonly double[] Std = [10.0, 0.25];

    private static NeuralNetwork Scaled() =>
        NeuralNetwork.CreateHeInitialized([2, 5, 3], OutputActivation.Softmax, seed: 7).WithInputScaling(new InputScaling(Mean, Std));

    private static readonly double[,] Raw = { { 13.0, -1.0 }, { -7.0, -2.0 }, { 3.0, -1.5 } };

    private static double[,] ManuallyStandardized()
    {
        var x = new double[Raw.GetLength(0), 2];
        for (int i = 0; i < x.GetLength(0); i++)
            for (int j = 0; j < 2; j++) x[i, j] = (Raw[i, j] - Mean[j]) / Std[j];
        return x;
    }

    [Fact]
    public void ToJson_RoundTripsInputScaling_AndKeepsTheWeightsUnfolded()
    {
        var net = Scaled();
        var back = NeuralNetwork.FromJson(net.ToJson());
        Assert.NotNull(back.InputScaling);
        Assert.Equal(Mean, back.InputScaling!.Mean);
        Assert.Equal(Std, back.InputScaling.Std);
        for (int l = 1; l <= 2; l++)
        {
            Assert.Equal(net.GetWeights(l), back.GetWeights(l));
            Assert.Equal(net.GetBiases(l), back.GetBiases(l));
        }
        Assert.Equal(NeuralNetwork.CreateHeInitialized([2, 5, 3], OutputActivation.Softmax, seed: 7).GetWeights(1), back.GetWeights(1));
    }

    [Fact]
    public void Predict_OnRawInputs_EqualsForwardOnManuallyStandardizedInputs()
    {
        var net = Scaled();
        Assert.Equal(net.Forward(ManuallyStandardized()), net.Predict(Raw));
        Assert.Equal(ManuallyStandardized(), net.ScaleInputs(Raw));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("solve")]
    public void Cli_ForwardOnRawInputs_AppliesTheStoredScaling(string method)
    {
        using var temp = new TempDirectory();
        var net = Scaled();
        net.Save(temp.File("model.json"));
        CsvTable.Save(temp.File("x.csv"), Raw);
        var r = CliRunner.Run("forward", "--model", temp.File("model.json"), "--input", temp.File("x.csv"), "--output", temp.File("y.csv"),
            "--method", method, "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        var y = CsvTable.Load(temp.File("y.csv")).SelectRange(0, 3);
        var expected = net.Forward(ManuallyStandardized());
        for (int i = 0; i < y.GetLength(0); i++)
            for (int c = 0; c < 3; c++) Assert.Equal(expected[i, c], y[i, c], 1e-12);
    }

    [Fact]
    public void ModelWithoutInputScaling_IsUnchanged()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 5, 3], OutputActivation.Softmax, seed: 7);
        Assert.Null(net.InputScaling);
        Assert.DoesNotContain("inputScaling", net.ToJson());
        Assert.Null(NeuralNetwork.FromJson(net.ToJson()).InputScaling);
        Assert.Equal(net.Forward(Raw), net.Predict(Raw));
        Assert.Equal(Raw, net.ScaleInputs(Raw));
    }

    private const string Body = """{"layers":[2,1],"output":"identity","weights":[[[1,2]]],"biases":[[0]],"inputScaling":""";

    [Theory]
    [InlineData("[1,2]}", "inputScaling")]
    [InlineData("""{"mean":[0,0,0],"std":[1,1]}}""", "inputScaling.mean")]
    [InlineData("""{"mean":[0,0],"std":[1]}}""", "inputScaling.std")]
    [InlineData("""{"mean":[0,0]}}""", "inputScaling.std")]
    [InlineData("""{"mean":[0,0],"std":[1,0]}}""", "inputScaling.std[1]")]
    [InlineData("""{"mean":[0,0],"std":[-2,1]}}""", "inputScaling.std[0]")]
    [InlineData("""{"mean":[0,"NaN"],"std":[1,1]}}""", "inputScaling.mean[1]")]
    [InlineData("""{"mean":[0,0],"std":[1,1e999]}}""", "inputScaling.std[1]")]
    public void FromJson_BadInputScaling_NamesTheField(string scaling, string expectedLocation)
    {
        var e = Assert.Throws<SheafCoreFormatException>(() => NeuralNetwork.FromJson(Body + scaling));
        Assert.Contains(expectedLocation, e.Message);
    }

    [Theory]
    [InlineData(new[] { 0.0, double.NaN }, new[] { 1.0, 1.0 }, "mean")]
    [InlineData(new[] { 0.0, 0.0 }, new[] { 1.0, 0.0 }, "std")]
    [InlineData(new[] { 0.0, 0.0 }, new[] { 1.0 }, "std")]
    public void Constructor_BadValues_NameTheParameter(double[] mean, double[] std, string parameter)
    {
        var e = Assert.Throws<ArgumentException>(() => new InputScaling(mean, std));
        Assert.Equal(parameter, e.ParamName);
    }

    [Fact]
    public void WithInputScaling_OfTheWrongWidth_Throws() =>
        Assert.Throws<ArgumentException>(() => Scaled().WithInputScaling(new InputScaling([0.0], [1.0])));

    [Fact]
    public void FromData_UsesPopulationStd_AndOneForAConstantColumn()
    {
        var s = InputScaling.FromData(new double[,] { { 1, 5 }, { 3, 5 } });
        Assert.Equal([2.0, 5.0], s.Mean);
        Assert.Equal([1.0, 1.0], s.Std);
    }
}
