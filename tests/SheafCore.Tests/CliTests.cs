namespace SheafCore.Tests;

public sealed class CliTests
{
    private static string Model => TestPaths.Fixture("models", "mlp_2-4-1_seed42_identity.json");

    [Fact]
    public void Demo_RunsAndShowsTheSolveEqualsTheForwardPass()
    {
        var r = CliRunner.Run("demo");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("unit lower-triangular: True", r.Output);
        Assert.Equal("", r.Error);
    }

    [Fact]
    public void Help_ListsTheContractCommands()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("demo", r.Output);
        Assert.Contains("forward", r.Output);
    }

    [Fact]
    public void MissingRequiredFlag_IsAOneLineUsageError()
    {
        var r = CliRunner.Run("forward", "--model", Model);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--input", r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void UnknownMethod_IsAUsageError()
    {
        using var temp = new TempDirectory();
        var r = CliRunner.Run("forward", "--model", Model, "--input", "x.csv", "--output", temp.File("y.csv"), "--method", "magic");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("magic", r.Error);
    }

    [Fact]
    public void MalformedModel_NamesTheFieldAndWritesNoOutput()
    {
        using var temp = new TempDirectory();
        var model = temp.File("bad.json");
        File.WriteAllText(model, """{"layers":[2,4,1],"weights":[[[1,2]]],"biases":[[0],[0]]}""");
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,2\n");
        var output = temp.File("y.csv");
        var r = CliRunner.Run("forward", "--model", model, "--input", temp.File("x.csv"), "--output", output);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("sheafcore: " + model + ": weights", r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("x1\n1\n", "has 1 columns but the model takes 2 inputs")]
    [InlineData("x1,x2\n1,oops\n", "row 2, column x2")]
    [InlineData("x1,x2\n1,2\n3\n", "row 3")]
    [InlineData("", "empty")]
    public void BadCsv_IsAOneLineErrorNamingTheRow(string csv, string expected)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), csv);
        var output = temp.File("y.csv");
        var r = CliRunner.Run("forward", "--model", Model, "--input", temp.File("x.csv"), "--output", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Error);
        Assert.DoesNotContain("   at ", r.Error); // no stack trace
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Forward_SelectsNamedInputColumns()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "y,b,a\n9,0.5,1\n");
        var r = CliRunner.Run("forward", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"), "--inputs", "a,b", "--quiet");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Output);
        Assert.Equal(1.2782241421072138, CsvTable.Load(temp.File("y.csv")).ToArray()[0, 0], 12);
    }

    [Fact]
    public void Diffuse_WritesTheOutputStalkAndTheContractReport()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n0.5,-0.3\n");
        foreach (var integrator in new[] { "euler", "adaptive" })
        {
            var report = temp.File($"r-{integrator}.json");
            var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"),
                "--integrator", integrator, "--init", "random", "--seed", "3", "--tol", "1e-11", "--report", report, "--quiet");
            Assert.True(r.ExitCode == 0, r.Error);
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
            var root = json.RootElement;
            Assert.True(root.GetProperty("converged").GetBoolean());
            Assert.True(root.GetProperty("steps").GetInt32() > 0);
            Assert.True(root.GetProperty("laplacianApplications").GetInt32() >= root.GetProperty("steps").GetInt32());
            Assert.True(root.GetProperty("finalDiscord").GetDouble() < 1e-14);
            Assert.True(root.GetProperty("maxAbsErrorVsForward").GetDouble() < 1e-7);
            Assert.Equal(1.2782241421072138, CsvTable.Load(temp.File("y.csv")).ToArray()[0, 0], 7);
        }
    }

    [Fact]
    public void Diffuse_WithAPinAndAnInitState()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n");
        var net = NeuralNetwork.Load(Model);
        File.WriteAllText(temp.File("s.json"), net.ToSheaf().CreateState(new double[,] { { 1, 0.5 } }, StalkInitialization.Zeros).ToJson());
        var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"),
            "--init-state", temp.File("s.json"), "--pin", "z1:0=0.5", "--tol", "1e-12", "--max-steps", "50000", "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(1.3105107655, CsvTable.Load(temp.File("y.csv")).ToArray()[0, 0], 8);
    }

    [Theory]
    [InlineData("--dt", "-0.1", "--dt")]
    [InlineData("--max-steps", "0", "--max-steps")]
    [InlineData("--pin", "z9=1", "z9")]
    [InlineData("--pin", "z1:x=1", "--pin")]
    [InlineData("--integrator", "rk4", "rk4")]
    public void Diffuse_NonsenseFlagsAreOneLineErrors(string flag, string value, string expected)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n");
        var output = temp.File("y.csv");
        var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", output, flag, value);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Xray_ReportsTheSpectrumPerSample()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n0.5,-0.3\n1,0.5\n");
        var report = temp.File("r.json");
        var r = CliRunner.Run("xray", "--model", TestPaths.Fixture("models", "mlp_2-4-1_seed7_identity.json"), "--input", temp.File("x.csv"), "--report", report, "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        var lambdaMin = json.RootElement.GetProperty("lambdaMin");
        Assert.Equal(2, lambdaMin.GetArrayLength());
        // Fixture h2: λ_min of L_Ω at the forward pattern of x = (0.5, −0.3) is 0.16477051692542638, λ_max 3.6461.
        Assert.Equal(0.16477051692542638, lambdaMin[0].GetDouble(), 9);
        Assert.Equal(3.646117102954205, json.RootElement.GetProperty("lambdaMax")[0].GetDouble(), 9);
        Assert.Equal(2, json.RootElement.GetProperty("condition").GetArrayLength());
        Assert.Equal(3, json.RootElement.GetProperty("fiedlerBlockEnergy")[0].GetArrayLength());
    }

    [Theory]
    [InlineData("forward", "samples")]
    [InlineData("diffuse", "converged")]
    [InlineData("xray", "lambdaMin")]
    [InlineData("diagnose", "edges")]
    public void Json_PrintsOneObjectAndNothingElseOnStdout(string command, string field)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2,y\n1,0.5,1.2\n0.5,-0.3,0.4\n");
        string[] args = command switch
        {
            "forward" or "diffuse" => [command, "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"), "--json"],
            _ => [command, "--model", Model, "--input", temp.File("x.csv"), "--json"],
        };
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Single(r.Output.TrimEnd().Split('\n'));
        using var json = System.Text.Json.JsonDocument.Parse(r.Output);
        Assert.True(json.RootElement.TryGetProperty(field, out _), r.Output);
    }

    [Fact]
    public void Json_Train_ReportsTheFinalLossesWithNullForTheAbsentTestSet()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("d.csv"), "x1,x2,y\n1,0.5,1.2\n0.5,-0.3,0.4\n-1,0.2,0\n");
        var r = CliRunner.Run("train", "--layers", "2,3,1", "--train", temp.File("d.csv"), "--method", "sgd", "--steps", "100", "--steps-per-epoch", "10",
            "--model-out", temp.File("m.json"), "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        using var json = System.Text.Json.JsonDocument.Parse(r.Output);
        Assert.Equal(100, json.RootElement.GetProperty("steps").GetInt32());
        Assert.True(json.RootElement.GetProperty("finalTrainLoss").GetDouble() >= 0);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("finalTestLoss").ValueKind);
        Assert.True(File.Exists(temp.File("m.json")));
    }

    [Fact]
    public void Diffuse_NotConverged_ExitsThreeWithOneLineEvenWhenQuiet()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n");
        var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"), "--max-steps", "3", "--quiet");
        Assert.Equal(3, r.ExitCode);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.Contains("--max-steps 3", r.Error);
        Assert.True(File.Exists(temp.File("y.csv")));
    }

    [Theory]
    [InlineData("--dt", "1,5")]
    [InlineData("--dt", "0x10")]
    [InlineData("--max-steps", "1e3")]
    public void NumericFlags_AreReadStrictlyInTheInvariantCulture(string flag, string value)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n");
        var r = CliRunner.Run("diffuse", "--model", Model, "--input", temp.File("x.csv"), "--output", temp.File("y.csv"), flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"sheafcore: {flag}: '{value}'", r.Error);
        Assert.False(File.Exists(temp.File("y.csv")));
    }
}
