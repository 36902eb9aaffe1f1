namespace SheafCore.Tests;

public sealed class CsvTableTests
{
    [Fact]
    public void Parse_ReadsHeaderAndRows()
    {
        var t = CsvTable.Parse("a,b\n1,2.5\r\n-3e-2,4\n\n", "t.csv");
        Assert.Equal(["a", "b"], t.Columns);
        Assert.Equal(new double[,] { { 1, 2.5 }, { -0.03, 4 } }, t.ToArray());
        Assert.Equal(new double[,] { { 2.5 }, { 4 } }, t.Select(["b"]));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a,b\n", "no data rows")]
    [InlineData("a,b\n1,2\n3\n", "row 3")]
    [InlineData("a,b\n1,x\n", "row 2, column b")]
    [InlineData("a,b\n1,NaN\n", "not a finite number")]
    [InlineData("a,b\n1,1e400\n", "not a finite number")]
    [InlineData("a,a\n1,2\n", "duplicate column")]
    [InlineData("1,2\n3,4\n", "header row")]
    public void Parse_ReportsTheRowAndColumnAtFault(string text, string expected)
    {
        var e = Assert.Throws<SheafCoreFormatException>(() => CsvTable.Parse(text, "t.csv"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("t.csv", e.Message);
    }

    [Fact]
    public void Save_WritesRoundTripNumbers()
    {
        using var temp = new TempDirectory();
        var values = new double[,] { { 0.1 + 0.2, 1.0 / 3 }, { -1e-300, 5 } };
        CsvTable.Save(temp.File("y.csv"), values);
        var back = CsvTable.Load(temp.File("y.csv"));
        Assert.Equal(["y0", "y1"], back.Columns);
        Assert.Equal(values, back.ToArray());
    }
}
