namespace SheafCore.Tests;

public sealed class SheafTests
{
    /// <summary>A path u — v — w with 2-d stalks: identity maps on the first edge, a sign flip on the second.</summary>
    private static Sheaf Path()
    {
        var b = new SheafBuilder();
        int u = b.AddVertex(2), v = b.AddVertex(2), w = b.AddVertex(2);
        b.AddEdge(u, v, RestrictionMap.Identity(2), RestrictionMap.Identity(2));
        b.AddEdge(v, w, RestrictionMap.Diagonal([1.0, -1.0]), RestrictionMap.Identity(2));
        return b.Build();
    }

    [Fact]
    public void Coboundary_FollowsTheTargetMinusSourceConvention()
    {
        var sheaf = Path();
        double[] x = [1, 2, 3, 4, 5, 6];
        var y = new double[4];
        sheaf.ApplyCoboundary(x, y);
        Assert.Equal([3 - 1, 4 - 2, 5 - 3, 6 + 4], y);
        Assert.Equal(0.5 * (4 + 4 + 4 + 100), sheaf.DirichletEnergy(x), 12);
        Assert.Equal([8.0, 104.0], sheaf.EdgeDiscrepancies(x));
    }

    [Fact]
    public void GlobalSections_OfTheTwistedPathHaveDimensionTwo()
    {
        var sections = Path().GlobalSections();
        Assert.Equal(2, sections.Dimension);
        foreach (var s in sections.Basis)
        {
            // x_v = x_u, x_w = diag(1, −1) x_v
            Assert.Equal(s[0], s[2], 12);
            Assert.Equal(s[3], -s[5], 12);
        }
    }

    [Fact]
    public void HarmonicExtension_PinningOneEndGivesTheTransportedSection()
    {
        var sheaf = Path();
        var r = sheaf.HarmonicExtensionOnVertices([0], [1.0, 2.0]);
        Assert.Equal(SolutionUniqueness.Unique, r.Uniqueness);
        Assert.Equal(0, r.Nullity);
        Assert.Equal([1, 2, 1, 2, 1, -2], r.Solution.Select(v => Math.Round(v, 12)));
        var cg = sheaf.HarmonicExtensionOnVertices([0], [1.0, 2.0], new HarmonicExtensionOptions { Method = HarmonicExtensionMethod.ConjugateGradient });
        Assert.True(cg.Converged);
        for (int i = 0; i < 6; i++) Assert.Equal(r.Solution[i], cg.Solution[i], 9);
    }

    [Fact]
    public void HarmonicExtension_AutomaticRunsTheSparseFactorAndAgreesWithTheDenseOne()
    {
        // A 12-cycle of 2-d stalks with random invertible maps, two vertices pinned.
        var rng = new Random(7);
        var b = new SheafBuilder();
        const int n = 12;
        for (int i = 0; i < n; i++) b.AddVertex(2);
        RestrictionMap Map() => RestrictionMap.Dense(2, 2, [1 + 0.3 * rng.NextDouble(), 0.3 * rng.NextDouble(), -0.3 * rng.NextDouble(), 1 + 0.3 * rng.NextDouble()]);
        for (int i = 0; i < n; i++) b.AddEdge(i, (i + 1) % n, Map(), Map());
        var sheaf = b.Build();
        double[] values = [1.0, -2.0, 0.5, 3.0];
        var automatic = sheaf.HarmonicExtensionOnVertices([0, 6], values);
        var dense = sheaf.HarmonicExtensionOnVertices([0, 6], values, new HarmonicExtensionOptions { Method = HarmonicExtensionMethod.Dense });
        Assert.Equal(HarmonicExtensionMethod.SparseLdlt, automatic.Method);
        Assert.Equal(HarmonicExtensionMethod.Dense, dense.Method);
        Assert.Equal(SolutionUniqueness.Unique, automatic.Uniqueness);
        for (int i = 0; i < automatic.Solution.Length; i++) Assert.Equal(dense.Solution[i], automatic.Solution[i], 11);
        Assert.True(automatic.RelativeResidual < 1e-12);
    }

    [Fact]
    public void HarmonicExtension_SparseFallsBackToDenseWhenTheInteriorIsSingular()
    {
        var b = new SheafBuilder();
        int u = b.AddVertex(1), v = b.AddVertex(1);
        b.AddVertex(2);
        b.AddEdge(u, v, RestrictionMap.Identity(1), RestrictionMap.Identity(1));
        var r = b.Build().HarmonicExtensionOnVertices([u], [5.0], new HarmonicExtensionOptions { Method = HarmonicExtensionMethod.SparseLdlt });
        Assert.Equal(HarmonicExtensionMethod.Dense, r.Method);
        Assert.Equal(SolutionUniqueness.NotUnique, r.Uniqueness);
        Assert.Equal(2, r.Nullity);
        Assert.Equal(5.0, r.Solution[1], 12);
    }

    [Fact]
    public void HarmonicExtension_ReportsNonUniquenessWithABasis()
    {
        var b = new SheafBuilder();
        int u = b.AddVertex(1), v = b.AddVertex(1), isolated = b.AddVertex(3);
        b.AddEdge(u, v, RestrictionMap.Identity(1), RestrictionMap.Identity(1));
        var sheaf = b.Build();
        var r = sheaf.HarmonicExtensionOnVertices([u], [5.0]);
        Assert.Equal(SolutionUniqueness.NotUnique, r.Uniqueness);
        Assert.Equal(3, r.Nullity);
        Assert.Equal(3, r.NullSpaceBasis.Count);
        Assert.Equal(5.0, r.Solution[1], 12);
        int offset = sheaf.VertexOffset(isolated);
        Assert.All(r.NullSpaceBasis, n => Assert.Equal(1.0, n[offset] * n[offset] + n[offset + 1] * n[offset + 1] + n[offset + 2] * n[offset + 2], 12));
    }

    [Fact]
    public void SetRestrictionMap_RefillsTheLaplacian()
    {
        var sheaf = Path();
        sheaf.SetRestrictionMap(1, EdgeEnd.Source, [2.0, 3.0]);
        var l = sheaf.ToDenseLaplacian();
        var d = sheaf.ToDenseCoboundary();
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                double dtd = 0;
                for (int e = 0; e < 4; e++) dtd += d[e, i] * d[e, j];
                Assert.Equal(dtd, l[i, j], 12);
            }
        Assert.Equal(1 + 4, l[2, 2], 12); // identity from edge 0 plus 2² from the new diagonal map
    }

    [Fact]
    public void NormalizedLaplacian_IsSymmetric()
    {
        var n = Path().ToDenseNormalizedLaplacian();
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) Assert.Equal(n[i, j], n[j, i], 12);
    }

    [Fact]
    public void Builder_RejectsBadEdges()
    {
        var b = new SheafBuilder();
        int u = b.AddVertex(2), v = b.AddVertex(3);
        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => b.AddEdge(u, 7, RestrictionMap.Identity(2), RestrictionMap.Identity(2))).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => b.AddEdge(u, u, RestrictionMap.Identity(2), RestrictionMap.Identity(2))).ParamName);
        Assert.Equal("targetMap", Assert.Throws<ArgumentException>(() => b.AddEdge(u, v, RestrictionMap.Identity(2), RestrictionMap.Identity(2))).ParamName);
        Assert.Equal("targetMap", Assert.Throws<ArgumentException>(() => b.AddEdge(u, v, RestrictionMap.Identity(2), RestrictionMap.Dense(new double[3, 3]))).ParamName);
        Assert.Equal("stalkDimension", Assert.Throws<ArgumentOutOfRangeException>(() => b.AddVertex(-1)).ParamName);
    }

    [Fact]
    public void RestrictionMaps_RejectNaNAndNonOrthogonalMatrices()
    {
        Assert.Equal("diagonal", Assert.Throws<ArgumentException>(() => RestrictionMap.Diagonal([1.0, double.NaN])).ParamName);
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => RestrictionMap.Orthogonal(new double[,] { { 1, 1 }, { 0, 1 } })).ParamName);
        var rotation = RestrictionMap.Orthogonal(new double[,] { { 0.6, -0.8 }, { 0.8, 0.6 } });
        Assert.Equal(RestrictionMapFamily.Orthogonal, rotation.Family);
    }

    [Fact]
    public void Apply_RejectsWrongLengthsNamingTheParameter()
    {
        var sheaf = Path();
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => sheaf.ApplyLaplacian(new double[5], new double[6])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => sheaf.ApplyCoboundary(new double[6], new double[3])).ParamName);
    }

    [Fact]
    public void HarmonicExtension_RejectsBadBoundary()
    {
        var sheaf = Path();
        Assert.Equal("boundaryValues", Assert.Throws<ArgumentException>(() => sheaf.HarmonicExtension([0, 1], [1.0])).ParamName);
        Assert.Equal("boundaryValues", Assert.Throws<ArgumentException>(() => sheaf.HarmonicExtension([0], [double.PositiveInfinity])).ParamName);
        Assert.Equal("boundaryCoordinates", Assert.Throws<ArgumentOutOfRangeException>(() => sheaf.HarmonicExtension([9], [1.0])).ParamName);
        Assert.Equal("boundaryVertices", Assert.Throws<ArgumentOutOfRangeException>(() => sheaf.HarmonicExtensionOnVertices([4], [1.0, 2.0])).ParamName);
    }

    [Fact]
    public void ZeroDimensionalStalksAreAllowed()
    {
        var b = new SheafBuilder();
        int u = b.AddVertex(0), v = b.AddVertex(2);
        b.AddEdge(u, v, RestrictionMap.Dense(1, 0, []), RestrictionMap.Dense(1, 2, [1.0, 1.0]));
        var sheaf = b.Build();
        Assert.Equal(2, sheaf.VertexCochainDimension);
        Assert.Equal(1, sheaf.GlobalSections().Dimension); // x1 + x2 = 0
    }

    [Fact]
    public void NetworkAsGeneralSheaf_HarmonicExtensionIsTheForwardPass()
    {
        var net = NeuralNetwork.CreateHeInitialized([2, 5, 3, 2], OutputActivation.Identity, 21);
        var ns = net.ToSheaf();
        double[] x = [0.4, -1.1];
        var general = ns.ToCellularSheaf(ns.ActivationPatternOf(x));
        var r = general.Sheaf.HarmonicExtension(general.BoundaryCoordinates, ns.BoundaryValues(x));
        Assert.Equal(SolutionUniqueness.Unique, r.Uniqueness);
        var omega = ns.HarmonicExtension(new double[,] { { x[0], x[1] } }).GetFreeCoordinates(0);
        for (int i = 0; i < omega.Length; i++) Assert.Equal(omega[i], r.Solution[general.FreeCoordinates[i]], 10);
    }

    [Theory]
    [InlineData(DiffusionIntegrator.Euler)]
    [InlineData(DiffusionIntegrator.Adaptive)]
    public void Diffuse_ConvergesToThePinnedHarmonicExtension(DiffusionIntegrator integrator)
    {
        var sheaf = Path();
        var pins = new SheafPins().HardVertex(sheaf, 0, [1.0, 2.0]);
        var result = sheaf.Diffuse(new double[6], new SheafDiffusionOptions { Integrator = integrator, Tolerance = 1e-12 }, pins);
        Assert.True(result.Converged);
        var exact = sheaf.HarmonicExtensionOnVertices([0], [1.0, 2.0]).Solution;
        for (int i = 0; i < 6; i++) Assert.Equal(exact[i], result.State[i], 7);
        for (int t = 1; t < result.EnergyTrace.Count; t++) Assert.True(result.EnergyTrace[t] <= result.EnergyTrace[t - 1] * (1 + 1e-12) + 1e-30);
    }

    [Fact]
    public void Diffuse_AdaptiveUsesFewerLaplacianApplicationsThanEuler()
    {
        // A long path is stiff for Euler at dt = 0.01 (slow mode ~ 1/n²).
        var b = new SheafBuilder();
        for (int i = 0; i < 30; i++) b.AddVertex(1);
        for (int i = 0; i < 29; i++) b.AddEdge(i, i + 1, RestrictionMap.Identity(1), RestrictionMap.Diagonal([0.9]));
        var sheaf = b.Build();
        var pins = new SheafPins().Hard(0, 1.0).Hard(29, -1.0);
        var euler = sheaf.Diffuse(new double[30], new SheafDiffusionOptions { Tolerance = 1e-10, MaximumSteps = 1_000_000 }, pins);
        var adaptive = sheaf.Diffuse(new double[30], new SheafDiffusionOptions { Tolerance = 1e-10, Integrator = DiffusionIntegrator.Adaptive }, pins);
        Assert.True(euler.Converged && adaptive.Converged);
        Assert.True(adaptive.LaplacianApplications * 10 < euler.LaplacianApplications, $"{adaptive.LaplacianApplications} vs {euler.LaplacianApplications}");
        // Both stop when a dt-step would move no coordinate by 1e-10; with λ_min ≈ 1e-2 that leaves each ≈ 1e-10/(dt·λ_min) ≈ 1e-6
        // from the exact extension.
        var exact = sheaf.HarmonicExtension([0, 29], [1.0, -1.0]).Solution;
        for (int i = 0; i < 30; i++)
        {
            Assert.Equal(exact[i], euler.State[i], 5);
            Assert.Equal(exact[i], adaptive.State[i], 5);
        }
    }

    [Fact]
    public void Diffuse_RejectsBadInput()
    {
        var sheaf = Path();
        Assert.Equal("initial", Assert.Throws<ArgumentException>(() => sheaf.Diffuse(new double[5])).ParamName);
        Assert.Equal("pins", Assert.Throws<ArgumentException>(() => sheaf.Diffuse(new double[6], null, new SheafPins().Hard(17, 1.0))).ParamName);
        Assert.ThrowsAny<ArgumentException>(() => sheaf.Diffuse(new double[6], new SheafDiffusionOptions { TimeStep = -1 }));
        Assert.Throws<DiffusionDivergedException>(() => sheaf.Diffuse([1, 0, 0, 0, 0, 1], new SheafDiffusionOptions { TimeStep = 5 }));
    }
}
