namespace SheafCore.Tests;

public sealed class DiffusionTests
{
    private static readonly double[,] Inputs = { { 0.5, -0.3 }, { 1.0, 0.5 }, { -1.2, 0.7 } };

    private static NetworkSheaf Sheaf(OutputActivation output = OutputActivation.Identity) =>
        NeuralNetwork.CreateHeInitialized([2, 6, 4, 2], output, 3).ToSheaf();

    [Theory]
    [InlineData(OutputActivation.Identity)]
    [InlineData(OutputActivation.Sigmoid)]
    [InlineData(OutputActivation.Softmax)]
    public void Diffuse_FromRandomStalksConvergesToTheForwardPass(OutputActivation output)
    {
        var sheaf = Sheaf(output);
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 5);
        var result = sheaf.Diffuse(initial, new DiffusionOptions { TimeStep = 0.05, Tolerance = 1e-12 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(result.Converged);
        var forward = sheaf.Network.Forward(Inputs);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) Assert.Equal(forward[i, j], result.State.Outputs[i, j], 8);
        Assert.True(result.FinalDiscord < 1e-16);
        Assert.True(result.DiscordTrace[0] > 1.0);
    }

    [Theory]
    [InlineData(OutputActivation.Identity)]
    [InlineData(OutputActivation.Sigmoid)]
    [InlineData(OutputActivation.Softmax)]
    public void Adaptive_ReachesTheEulerEquilibriumWithFarFewerLaplacianApplications(OutputActivation output)
    {
        var sheaf = Sheaf(output);
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 11);
        var options = new DiffusionOptions { Tolerance = 1e-10 };
        var euler = sheaf.Diffuse(initial, options, cancellationToken: TestContext.Current.CancellationToken);
        var adaptive = sheaf.Diffuse(initial, new DiffusionOptions { Tolerance = 1e-10, Integrator = DiffusionIntegrator.Adaptive }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(euler.Converged);
        Assert.True(adaptive.Converged);
        Assert.True(adaptive.LaplacianApplications * 5 < euler.LaplacianApplications, $"adaptive {adaptive.LaplacianApplications} vs Euler {euler.LaplacianApplications}");
        var a = adaptive.State.GetFreeCoordinates(1);
        var e = euler.State.GetFreeCoordinates(1);
        for (int i = 0; i < a.Length; i++) Assert.Equal(e[i], a[i], 6);
        // The discord trace of the adaptive run never increases (its steps are accepted only if the energy does not grow).
        for (int t = 1; t < adaptive.DiscordTrace.Count; t++) Assert.True(adaptive.DiscordTrace[t] <= adaptive.DiscordTrace[t - 1] * (1 + 1e-9) + 1e-30);
    }

    [Fact]
    public void Adaptive_WithPinsAgreesWithTheExactEquilibrium()
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Forward);
        NeuronPin[] pins = [NeuronPin.Parse("z1:0=0.3"), NeuronPin.Soft("a2", 0.5, 2.0, 1)];
        var adaptive = sheaf.Diffuse(initial, new DiffusionOptions { Tolerance = 1e-11, Integrator = DiffusionIntegrator.Adaptive }, pins, cancellationToken: TestContext.Current.CancellationToken);
        var exact = sheaf.SolveEquilibrium(adaptive.State, pins);
        Assert.True(adaptive.Converged);
        Assert.All(exact.Converged, Assert.True);
        for (int s = 0; s < 3; s++)
        {
            var a = adaptive.State.GetFreeCoordinates(s);
            var x = exact.State.GetFreeCoordinates(s);
            for (int i = 0; i < a.Length; i++) Assert.Equal(x[i], a[i], 7);
        }
    }

    [Fact]
    public void Diffuse_LeavesTheInitialStateUntouchedAndIsDeterministic()
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 9);
        var before = initial.ToJson();
        var a = sheaf.Diffuse(initial, new DiffusionOptions { MaximumSteps = 300 }, cancellationToken: TestContext.Current.CancellationToken);
        var b = sheaf.Diffuse(initial, new DiffusionOptions { MaximumSteps = 300 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(before, initial.ToJson());
        Assert.Equal(a.State.ToJson(), b.State.ToJson());
        Assert.Equal(sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 9).ToJson(), before);
    }

    [Fact]
    public void Diffuse_WithTooLargeAStepThrowsSuggestingAStableOne()
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 1);
        var e = Assert.Throws<DiffusionDivergedException>(() => sheaf.Diffuse(initial, new DiffusionOptions { TimeStep = 3.0 }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("diverged", e.Message);
        Assert.Contains("use dt ≤", e.Message);
        Assert.InRange(e.SuggestedTimeStep, 1e-4, 1.0);
        var stable = sheaf.Diffuse(initial, new DiffusionOptions { TimeStep = e.SuggestedTimeStep, Tolerance = 1e-10 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(stable.Converged);
    }

    [Theory]
    [InlineData(0.0, 0.01)]
    [InlineData(-1.0, 0.01)]
    [InlineData(1.0, double.NaN)]
    [InlineData(1.0, -0.01)]
    public void Diffuse_RejectsNonsenseSettings(double alpha, double dt)
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Zeros);
        Assert.ThrowsAny<ArgumentException>(() => sheaf.Diffuse(initial, new DiffusionOptions { Alpha = alpha, TimeStep = dt }, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Diffuse_ReportsProgressAndCanBeCancelled()
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Random, seed: 2);
        using var cts = new CancellationTokenSource();
        var seen = new List<int>();
        var progress = new SynchronousProgress<DiffusionProgress>(p => { seen.Add(p.Step); if (p.Step >= 3000) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            sheaf.Diffuse(initial, new DiffusionOptions { Tolerance = 0, MaximumSteps = 1_000_000 }, null, progress, cts.Token));
        Assert.Equal([1000, 2000, 3000], seen);
    }

    [Theory]
    [InlineData("q1=0")]
    [InlineData("z9=0")]
    [InlineData("a3=0")]
    [InlineData("z1:17=0")]
    public void Diffuse_RejectsPinsOnUnknownStalksOrCoordinates(string spec)
    {
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Forward);
        var e = Assert.ThrowsAny<ArgumentException>(() => sheaf.Diffuse(initial, null, [NeuronPin.Parse(spec)], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("pins", e.ParamName);
    }

    [Theory]
    [InlineData("z1")]
    [InlineData("z1:=3")]
    [InlineData("z1:0=abc")]
    [InlineData("z1=1@-2")]
    [InlineData("z1:3-1=0")]
    public void NeuronPin_ParseRejectsMalformedSpecs(string spec) => Assert.Throws<FormatException>(() => NeuronPin.Parse(spec));

    [Fact]
    public void NeuronPin_ParseReadsCoordinatesRangesAndCoupling()
    {
        var pin = NeuronPin.Parse("a2:0,3-5=1.5@10");
        Assert.Equal("a2", pin.Stalk);
        Assert.Equal([0, 3, 4, 5], pin.Coordinates);
        Assert.Equal(10.0, pin.Coupling);
        Assert.True(NeuronPin.Parse("out=1").IsHard);
    }

    [Fact]
    public void OutputPin_HoldsTheOutputAndInformationFlowsUpstream()
    {
        // An output pinned away from the forward value can leave the equilibrium on a ReLU switching surface, where
        // explicit Euler chatters (theory §9); the pin and the upstream response are what this test checks.
        var sheaf = Sheaf();
        var initial = sheaf.CreateState(Inputs, StalkInitialization.Forward);
        var result = sheaf.Diffuse(initial, new DiffusionOptions { TimeStep = 0.05, MaximumSteps = 5_000 }, [NeuronPin.Hard("out", 1.0)], cancellationToken: TestContext.Current.CancellationToken);
        Assert.All(result.State.Outputs.Cast<double>(), v => Assert.Equal(1.0, v));
        var z1Before = initial.GetPreActivation(1);
        var z1After = result.State.GetPreActivation(1);
        Assert.Contains(Enumerable.Range(0, 6), j => Math.Abs(z1Before[0, j] - z1After[0, j]) > 1e-3);
        Assert.True(result.DiscordTrace[0] > 1e-6);                  // pinning the output away from the forward value creates discord
        Assert.True(result.FinalDiscord < result.DiscordTrace[0]);   // which diffusion then spreads and reduces
    }

    [Fact]
    public void StateJson_RoundTripsAndNamesBadFields()
    {
        var sheaf = Sheaf(OutputActivation.Softmax);
        var state = sheaf.CreateState(Inputs, StalkInitialization.Random, 4);
        Assert.Equal(state.ToJson(), sheaf.CreateState(Inputs, state.ToJson()).ToJson());
        var e = Assert.Throws<SheafCoreFormatException>(() => sheaf.CreateState(Inputs, """{"z":[[[1]]],"a":[]}"""));
        Assert.Contains("z", e.Location);
    }

    private sealed class SynchronousProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
