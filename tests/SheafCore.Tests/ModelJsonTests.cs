namespace SheafCore.Tests;

public sealed class ModelJsonTests
{
    private const string Valid = """{"layers":[2,2,1],"output":"identity","weights":[[[1,2],[3,4]],[[5,6]]],"biases":[[0,0],[1]]}""";

    [Fact]
    public void FromJson_IgnoresExtraFields()
    {
        var net = NeuralNetwork.FromJson("""{"format":1,"seed":4,"layers":[1,1],"output":"sigmoid","weights":[[[2]]],"biases":[[1]],"meta":{"x":[1]}}""");
        Assert.Equal(OutputActivation.Sigmoid, net.Output);
    }

    [Theory]
    [InlineData("""{"layers":[2,2,1""", "not valid JSON")]
    [InlineData("""[1,2]""", "JSON object")]
    [InlineData("""{"output":"identity","weights":[],"biases":[]}""", "layers")]
    [InlineData("""{"layers":[2,-1,1],"weights":[],"biases":[]}""", "layers[1]")]
    [InlineData("""{"layers":[2,2,1],"output":"tanh","weights":[[[1,2],[3,4]],[[5,6]]],"biases":[[0,0],[1]]}""", "output")]
    [InlineData("""{"layers":[2,2,1],"weights":[[[1,2],[3,4]]],"biases":[[0,0],[1]]}""", "weights")]
    [InlineData("""{"layers":[2,2,1],"weights":[[[1,2],[3]],[[5,6]]],"biases":[[0,0],[1]]}""", "weights[0][1]")]
    [InlineData("""{"layers":[2,2,1],"weights":[[[1,2],[3,"a"]],[[5,6]]],"biases":[[0,0],[1]]}""", "weights[0][1][1]")]
    [InlineData("""{"layers":[2,2,1],"weights":[[[1,2],[3,4]],[[5,6]]],"biases":[[0,0],[1,2]]}""", "biases[1]")]
    [InlineData("""{"layers":[2,2,1],"weights":[[[1,2],[3,4]],[[5,6]]],"biases":[[0,1e999],[1]]}""", "biases[0][1]")]
    public void FromJson_NamesTheFieldAtFault(string json, string expectedLocation)
    {
        var e = Assert.Throws<SheafCoreFormatException>(() => NeuralNetwork.FromJson(json));
        Assert.Contains(expectedLocation, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Load_ReportsThePathOfAMissingFile()
    {
        var e = Assert.Throws<SheafCoreFormatException>(() => NeuralNetwork.Load("/nonexistent/model.json"));
        Assert.Equal("/nonexistent/model.json", e.SourceName);
    }

    [Fact]
    public void FromJson_ValidModelParses() => Assert.Equal([2, 2, 1], NeuralNetwork.FromJson(Valid).Layers);
}
