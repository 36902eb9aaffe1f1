namespace SheafCore.Tests;

public sealed class NetworkSheafTests
{
    private static readonly double[,] Inputs = { { 0.5, -0.3 }, { 1.0, 0.5 }, { -1.5, 2.0 }, { 0.0, 0.0 } };

    [Fact]
    public void HarmonicExtension_EqualsForwardPassWithEveryStalk()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 6, 4, 4, 1], OutputActivation.Identity, 123);
        var state = net.ToSheaf().HarmonicExtension(Inputs);
        Assert.Equal(net.Forward(Inputs), state.Outputs);
        for (int l = 1; l <= 3; l++)
        {
            var z = state.GetPreActivation(l);
            var a = state.GetActivation(l);
            for (int i = 0; i < Inputs.GetLength(0); i++)
                for (int j = 0; j < z.GetLength(1); j++) Assert.Equal(Math.Max(z[i, j], 0.0), a[i, j]);
        }
    }

    [Fact]
    public void FreeDimension_MatchesTheTheoryExamples()
    {
        Assert.Equal(9, NeuralNetwork.CreateHeInitialized([2, 4, 1], OutputActivation.Identity, 0).ToSheaf().FreeDimension);
        var deep = NeuralNetwork.CreateHeInitialized([2, 6, 4, 4, 1], OutputActivation.Identity, 0).ToSheaf();
        Assert.Equal(29, deep.FreeDimension);
        Assert.Equal(["z1", "a1", "z2", "a2", "z3", "a3", "z4"], deep.FreeBlockNames);
    }

    [Fact]
    public void RestrictedCoboundary_HasTheTheoryBlocks()
    {
        var net = NeuralNetwork.FromWeights(
            [new double[,] { { 1, 2 }, { 3, 4 } }, new double[,] { { 5, 6 } }], [[0.1, 0.2], [0.3]], OutputActivation.Identity);
        var sheaf = net.ToSheaf();
        var pattern = ActivationPattern.FromMasks([[true, false]]);
        var d = sheaf.RestrictedCoboundary(pattern);
        // rows/cols: z1 (0,1), a1 (2,3), z2 (4)
        Assert.Equal(-1.0, d[2, 0]);   // −R1 for the active neuron
        Assert.Equal(0.0, d[3, 1]);    // inactive neuron: R = 0
        Assert.Equal(-5.0, d[4, 2]);   // −W2
        Assert.Equal(-6.0, d[4, 3]);
        for (int i = 0; i < 5; i++) Assert.Equal(1.0, d[i, i]);
        var du = sheaf.BoundaryCoboundary();
        // U = (x1, x2, 1, 1, 1): e_W1 rows hold −[W1 | diag(b1)], e_W2 row holds −b2 on its ones-block.
        Assert.Equal(-3.0, du[1, 0]);
        Assert.Equal(-0.2, du[1, 3]);
        Assert.Equal(-0.3, du[4, 4]);
        Assert.Equal([0.7, -0.2, 1, 1, 1], sheaf.BoundaryValues([0.7, -0.2]));
    }

    [Fact]
    public void RestrictedLaplacian_IsSymmetricAndSolvesTheHarmonicEquations()
    {
        var net = NeuralNetwork.CreateHeInitialized([3, 5, 4, 2], OutputActivation.Identity, 9);
        var sheaf = net.ToSheaf();
        double[] x = [0.3, -1.2, 0.8];
        var pattern = sheaf.ActivationPatternOf(x);
        var l = sheaf.RestrictedLaplacian(pattern);
        var lu = sheaf.RestrictedBoundaryLaplacian(pattern);
        var omega = sheaf.HarmonicExtension(new double[,] { { x[0], x[1], x[2] } }).GetFreeCoordinates(0);
        var u = sheaf.BoundaryValues(x);
        for (int i = 0; i < omega.Length; i++)
        {
            double r = 0;
            for (int j = 0; j < omega.Length; j++) { r += l[i, j] * omega[j]; Assert.Equal(l[i, j], l[j, i]); }
            for (int j = 0; j < u.Length; j++) r += lu[i, j] * u[j];
            Assert.True(Math.Abs(r) < 1e-12, $"row {i}: residual {r}");
        }
    }

    [Fact]
    public void SolveWithPattern_OwnPatternGivesForwardPassOtherPatternDoesNot()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 6, 1], OutputActivation.Identity, 4);
        var sheaf = net.ToSheaf();
        var one = new double[,] { { 0.9, -0.4 } };
        var own = sheaf.ActivationPatternOf([0.9, -0.4]);
        Assert.Equal(net.Forward(one), sheaf.SolveWithPattern(one, own).Outputs);
        var allOn = ActivationPattern.FromMasks([Enumerable.Repeat(true, 6).ToArray()]);
        if (own.ActiveCount < 6)
            Assert.NotEqual(net.Forward(one)[0, 0], sheaf.SolveWithPattern(one, allOn).Outputs[0, 0]);
    }

    [Fact]
    public void PatternMismatch_ThrowsNamingPattern()
    {
        var sheaf = NeuralNetwork.CreateHeInitialized([2, 6, 1], OutputActivation.Identity, 4).ToSheaf();
        var wrong = ActivationPattern.FromMasks([new bool[5]]);
        Assert.Equal("pattern", Assert.Throws<ArgumentException>(() => sheaf.RestrictedLaplacian(wrong)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => sheaf.ActivationPatternOf([1.0])).ParamName);
    }

    [Fact]
    public void EdgeDiscord_IsZeroAtTheForwardPassAndNamesEdges()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 5, 3], OutputActivation.Softmax, 8);
        var sheaf = net.ToSheaf();
        var state = sheaf.HarmonicExtension(Inputs);
        var report = sheaf.EdgeDiscord(state);
        Assert.Equal(["W1", "R1", "W2", "out"], report.Edges.Select(e => e.Name));
        Assert.Equal([NetworkEdgeKind.Affine, NetworkEdgeKind.Activation, NetworkEdgeKind.Affine, NetworkEdgeKind.Output], report.Edges.Select(e => e.Kind));
        Assert.True(report.Total < 1e-28);
        Assert.All(sheaf.DirichletEnergy(state), e => Assert.True(e < 1e-28));
        Assert.Equal(4, report.Edges[0].PerSample.Count);
    }

    [Fact]
    public void EdgeDiscord_RejectsStateOfAnotherNetwork()
    {
        var a = NeuralNetwork.CreateHeInitialized([2, 5, 1], OutputActivation.Identity, 8).ToSheaf();
        var b = NeuralNetwork.CreateHeInitialized([2, 5, 1], OutputActivation.Identity, 8).ToSheaf();
        Assert.Equal("state", Assert.Throws<ArgumentException>(() => a.EdgeDiscord(b.HarmonicExtension(Inputs))).ParamName);
    }
}
