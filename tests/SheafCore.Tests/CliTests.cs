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
}
