using System.Globalization;
using System.Text.Json;

namespace SheafCore.Tests;

/// <summary>Every model with stored forward outputs in the reference fixtures is reproduced to 1e-12, through the
/// CLI with both methods and through the façade's harmonic extension (every stalk).</summary>
public sealed class FixtureForwardTests
{
    public static TheoryData<string> ForwardFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestPaths.Fixture("expected", "forward"), "*.json").OrderBy(f => f))
            data.Add(Path.GetFileName(f));
        return data;
    }

    private sealed record Expected(NeuralNetwork Network, double[,] Inputs, double[,] Outputs, double[][,] Z);

    private static Expected Load(string fixtureName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("expected", "forward", fixtureName)));
        var root = doc.RootElement;
        var network = NeuralNetwork.Load(TestPaths.Fixture(root.GetProperty("model").GetString()!.Split('/')));
        double[,] inputs;
        double[,] outputs;
        double[][,] z;
        if (root.TryGetProperty("inputs", out var inputsFile))
        {
            var table = CsvTable.Load(TestPaths.Fixture(inputsFile.GetString()!.Split('/')));
            inputs = table.SelectRange(0, network.InputDimension);
            outputs = ToMatrix(root.GetProperty("outputs"));
            z = root.GetProperty("z").EnumerateArray().Select(ToMatrix).ToArray();
        }
        else
        {
            var x = root.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            inputs = new double[1, x.Length];
            for (int j = 0; j < x.Length; j++) inputs[0, j] = x[j];
            var y = root.GetProperty("output").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            outputs = new double[1, y.Length];
            for (int j = 0; j < y.Length; j++) outputs[0, j] = y[j];
            z = root.GetProperty("z").EnumerateArray().Select(layer =>
            {
                var v = layer.EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var m = new double[1, v.Length];
                for (int j = 0; j < v.Length; j++) m[0, j] = v[j];
                return m;
            }).ToArray();
        }
        return new Expected(network, inputs, outputs, z);
    }

    private static double[,] ToMatrix(JsonElement rows)
    {
        var list = rows.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        var m = new double[list.Length, list[0].Length];
        for (int i = 0; i < list.Length; i++)
            for (int j = 0; j < list[0].Length; j++) m[i, j] = list[i][j];
        return m;
    }

    private static void AssertClose(double[,] expected, double[,] actual, double tolerance)
    {
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(expected.GetLength(1), actual.GetLength(1));
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++)
            {
                double e = expected[i, j], a = actual[i, j];
                Assert.True(Math.Abs(e - a) <= tolerance * Math.Max(1, Math.Abs(e)), $"[{i},{j}] expected {e:R} got {a:R}");
            }
    }

    [Theory]
    [MemberData(nameof(ForwardFixtures))]
    public void HarmonicExtension_ReproducesFixtureStalks(string fixture)
    {
        var expected = Load(fixture);
        var state = expected.Network.ToSheaf().HarmonicExtension(expected.Inputs);
        AssertClose(expected.Outputs, state.Outputs, 1e-12);
        for (int l = 0; l < expected.Z.Length; l++) AssertClose(expected.Z[l], state.GetPreActivation(l + 1), 1e-12);
    }

    [Theory]
    [MemberData(nameof(ForwardFixtures))]
    public void CliForward_BothMethodsReproduceFixtureOutputs(string fixture)
    {
        var expected = Load(fixture);
        using var temp = new TempDirectory();
        var modelPath = temp.File("model.json");
        expected.Network.Save(modelPath);
        var inputPath = temp.File("x.csv");
        var header = string.Join(",", Enumerable.Range(1, expected.Inputs.GetLength(1)).Select(i => "x" + i));
        var lines = new List<string> { header };
        for (int i = 0; i < expected.Inputs.GetLength(0); i++)
            lines.Add(string.Join(",", Enumerable.Range(0, expected.Inputs.GetLength(1)).Select(j => expected.Inputs[i, j].ToString("R", CultureInfo.InvariantCulture))));
        File.WriteAllLines(inputPath, lines);

        foreach (var method in new[] { "solve", "plain" })
        {
            var outputPath = temp.File($"y-{method}.csv");
            var reportPath = temp.File($"r-{method}.json");
            var result = CliRunner.Run("forward", "--model", modelPath, "--input", inputPath, "--output", outputPath, "--method", method, "--report", reportPath, "--quiet");
            Assert.True(result.ExitCode == 0, result.Error);
            var produced = CsvTable.Load(outputPath);
            Assert.Equal(Enumerable.Range(0, expected.Outputs.GetLength(1)).Select(j => "y" + j), produced.Columns);
            AssertClose(expected.Outputs, produced.ToArray(), 1e-12);
            using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
            Assert.Equal(expected.Inputs.GetLength(0), report.RootElement.GetProperty("samples").GetInt32());
            Assert.Equal(method, report.RootElement.GetProperty("method").GetString());
        }
    }

    [Fact]
    public void CliForward_ReadsTheFixtureModelFileDirectly()
    {
        using var temp = new TempDirectory();
        var output = temp.File("y.csv");
        var result = CliRunner.Run("forward", "--model", TestPaths.Fixture("models", "mlp_2-30-1_seed42_identity.json"),
            "--input", TestPaths.Fixture("datasets", "paraboloid_test.csv"), "--output", output, "--quiet");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(100, CsvTable.Load(output).RowCount);
    }
}
