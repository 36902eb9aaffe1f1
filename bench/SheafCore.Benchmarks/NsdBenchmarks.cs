using BenchmarkDotNet.Attributes;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>One NSD training epoch on Chameleon per restriction-map family against the identity-sheaf control:
/// forward with dropout, loss and exact gradient on split 0's training nodes, one Adam step, and the evaluation
/// forward pass with the three accuracies (what <c>NsdTraining.trainSplit</c> does per epoch). The released
/// Chameleon configuration (d = 4 + lp, f = 32, 5 layers, second linear) with only the family swapped.</summary>
/// <remarks>The data are not vendored: the graph is looked up in $SHEAFCORE_DATA(/graphs) or a shared/data/graphs
/// folder above the binary. Without it the parameter list is empty, so the class runs nothing (a note is printed).
/// An epoch takes 0.1–1 s, so a short explicit job is enough, e.g.
/// <c>--filter '*NsdEpoch*' --inProcess --launchCount 1 --warmupCount 2 --iterationCount 6</c>.</remarks>
[MemoryDiagnoser]
public class NsdEpochBenchmarks
{
    private NsdModel _model = null!;
    private NsdBackward _backward = null!;
    private Adam _adam = null!;
    private Rng _rng = null!;
    private double[] _theta = null!;
    private double[] _grad = null!;
    private int[] _train = null!, _validation = null!, _test = null!;

    /// <summary>Family name: identity (control, baseline), diag, orth, general.</summary>
    [ParamsSource(nameof(Families))]
    public string Family = "identity";

    /// <summary>The four families when Chameleon is present, none otherwise.</summary>
    public static IEnumerable<string> Families()
    {
        if (ChameleonFolder() is null)
        {
            Console.WriteLine("NsdEpochBenchmarks: no shared/data/graphs/chameleon found (set SHEAFCORE_DATA); skipped.");
            return [];
        }
        return ["identity", "diag", "orth", "general"];
    }

    /// <summary>A block NSD Laplacian (identity maps) on Chameleon's graph, for the refresh benchmarks.</summary>
    internal static BlockNsdLaplacian ChameleonBlockLaplacian(int d)
    {
        var graph = GraphData.load(ChameleonFolder()!);
        return new BlockNsdLaplacian(new NsdTopology(graph.NodeCount, graph.Sources, graph.Targets), d);
    }

    internal static string? ChameleonFolder()
    {
        if (Environment.GetEnvironmentVariable("SHEAFCORE_DATA") is { Length: > 0 } env)
        {
            foreach (var candidate in new[] { Path.Combine(env, "graphs", "chameleon"), Path.Combine(env, "chameleon") })
                if (Directory.Exists(candidate)) return candidate;
            return null;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "graphs", "chameleon");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    [GlobalSetup]
    public void Setup()
    {
        var graph = GraphData.load(ChameleonFolder() ?? throw new DirectoryNotFoundException("Chameleon graph folder."));
        var family = Family switch
        {
            "identity" => SheafFamily.Identity,
            "diag" => SheafFamily.Diagonal,
            "orth" => SheafFamily.Orthogonal,
            _ => SheafFamily.General,
        };
        var o = NeuralSheafDiffusionOptions.ForDataset("chameleon", family);
        var config = new NsdConfig((NsdFamily)(int)o.Family, o.StalkDimension, o.LowPassChannel, o.HighPassChannel,
            o.HiddenChannels, o.Layers, o.Dropout, o.InputDropout, o.SecondLinear, o.EdgeWeights, o.SparseLearner, graph.FeatureCount, graph.ClassCount);
        _model = new NsdModel(config, graph);
        _backward = new NsdBackward(_model);
        _rng = new Rng(NsdTraining.splitSeed(o.Seed, 0));
        _theta = NsdForward.initialise(_model.Layout, _rng);
        _grad = new double[_theta.Length];
        var sheaf = _model.Layout.SheafMask();
        double sheafDecay = o.SheafDecay ?? o.WeightDecay;
        _adam = new Adam(_theta.Length, o.LearningRate, sheaf.Select(s => s ? sheafDecay : o.WeightDecay).ToArray());
        int[] Nodes(SplitRole role) => Enumerable.Range(0, graph.NodeCount).Where(v => graph.Splits[0][v] == role).ToArray();
        _train = Nodes(SplitRole.Train);
        _validation = Nodes(SplitRole.Validation);
        _test = Nodes(SplitRole.Test);
    }

    /// <summary>One epoch; returns the validation accuracy so the work cannot be elided.</summary>
    [Benchmark]
    public double Epoch()
    {
        NsdGradients.lossAndGradient(_model, _backward, _theta, _train, true, _rng, _grad);
        _adam.Step(_theta, _grad);
        NsdForward.run(_model, _theta, false, _rng);
        NsdTraining.evaluate(_model, _train);
        NsdTraining.evaluate(_model, _test);
        return NsdTraining.evaluate(_model, _validation).Item2;
    }
}

/// <summary>The refill of O(d)/Gen-NSD's normalised sheaf Laplacian on Chameleon's graph (d = 4), the step the block
/// families repeat per layer and pass: writing the maps into the engine's sheaf, refilling L = δᵀδ, and refilling
/// Δ = M L M with M_v = (L_vv + I)^{-1/2}. Baseline: one product Δ·Z with f = 32, the work that uses Δ.</summary>
/// <remarks>Maps: orth = w·Q with Q from Householder of random parameters and w ∈ (0, 1) (as O(d)-NSD's),
/// general = random entries. Needs the Chameleon folder like <see cref="NsdEpochBenchmarks"/>.</remarks>
[MemoryDiagnoser]
public class NsdRefreshBenchmarks
{
    private BlockNsdLaplacian _lap = null!;
    private double[] _z = null!, _y = null!;
    private const int D = 4, F = 32;

    /// <summary>orth or general.</summary>
    [ParamsSource(nameof(Families))]
    public string Family = "orth";

    /// <summary>Both families when Chameleon is present, none otherwise.</summary>
    public static IEnumerable<string> Families() =>
        NsdEpochBenchmarks.Families().Any() ? ["orth", "general"] : [];

    [GlobalSetup]
    public void Setup()
    {
        _lap = NsdEpochBenchmarks.ChameleonBlockLaplacian(D);
        var topology = _lap.Topology;
        var rng = new Random(7);
        var maps = _lap.Maps;
        var p = new double[D * (D - 1) / 2];
        var q = new double[D * D];
        var work = new double[4 * D * D];
        for (int i = 0; i < maps.Length / (D * D); i++)
        {
            if (Family == "orth")
            {
                for (int j = 0; j < p.Length; j++) p[j] = rng.NextDouble() * 2 - 1;
                NsdMaps.householder(p, D, q, work);
                double w = rng.NextDouble();
                for (int j = 0; j < D * D; j++) maps[i * D * D + j] = w * q[j];
            }
            else
            {
                for (int j = 0; j < D * D; j++) maps[i * D * D + j] = rng.NextDouble() * 2 - 1;
            }
        }
        _z = Enumerable.Range(0, topology.NodeCount * D * F).Select(_ => rng.NextDouble()).ToArray();
        _y = new double[_z.Length];
    }

    /// <summary>Maps into the sheaf, L and Δ refilled (what every block-family layer does per pass).</summary>
    [Benchmark]
    public double Refresh()
    {
        _lap.Refresh();
        return _lap.Normalised.Matrix.Values[0];
    }

    /// <summary>The refill of L = δᵀδ alone.</summary>
    [Benchmark]
    public double RefillL()
    {
        SheafLaplacian.refill(_lap.Sheaf, _lap.Laplacian);
        return _lap.Laplacian.Values[0];
    }

    /// <summary>The refill of Δ from L alone (matrix roots and the two block products).</summary>
    [Benchmark]
    public double RefillNormalised()
    {
        SheafLaplacian.refillNormalised(_lap.Laplacian, _lap.Normalised);
        return _lap.Normalised.Matrix.Values[0];
    }

    /// <summary>Baseline: one Δ·Z with f = 32 channels.</summary>
    [Benchmark(Baseline = true)]
    public double ApplyBlock()
    {
        NsdLaplacian.applyBlock(_lap, D, F, _z, _y);
        return _y[0];
    }
}

/// <summary>O(d)-NSD's Δ on Chameleon's graph (d = 4): the reference's closed form
/// (<c>BlockNsdLaplacian.RefreshOrthogonal</c>: D_v = Σ w_e², Δ_st = −w_e² s_s s_t Q_sᵀQ_t, no matrix root), against
/// the engine path O(d) used before it (refill L = δᵀδ, then Δ = M L M with Jacobi roots), on the same maps w·Q.</summary>
/// <remarks>Needs the Chameleon folder like <see cref="NsdEpochBenchmarks"/>; without it the class runs nothing.</remarks>
[MemoryDiagnoser]
public class NsdOrthogonalRefreshBenchmarks
{
    private BlockNsdLaplacian _lap = null!;
    private double[] _q = null!, _weights = null!;
    private const int D = 4;

    /// <summary>One case when Chameleon is present, none otherwise.</summary>
    [ParamsSource(nameof(Graphs))]
    public string Graph = "chameleon";

    public static IEnumerable<string> Graphs() => NsdEpochBenchmarks.Families().Any() ? ["chameleon"] : [];

    [GlobalSetup]
    public void Setup()
    {
        _lap = NsdEpochBenchmarks.ChameleonBlockLaplacian(D);
        var topology = _lap.Topology;
        var rng = new Random(7);
        int incidences = 2 * topology.EdgeCount;
        _q = new double[incidences * D * D];
        _weights = Enumerable.Range(0, topology.EdgeCount).Select(_ => rng.NextDouble()).ToArray();
        var p = new double[D * (D - 1) / 2];
        var work = new double[D];
        for (int i = 0; i < incidences; i++)
        {
            for (int j = 0; j < p.Length; j++) p[j] = rng.NextDouble() * 2 - 1;
            NsdMaps.householder(p, D, _q.AsSpan(i * D * D, D * D), work);
            for (int j = 0; j < D * D; j++) _lap.Maps[i * D * D + j] = _weights[i / 2] * _q[i * D * D + j];
        }
    }

    /// <summary>Baseline: L refilled from the maps, then Δ with a Jacobi root per node.</summary>
    [Benchmark(Baseline = true)]
    public double Jacobi()
    {
        _lap.Refresh();
        return _lap.Normalised.Matrix.Values[0];
    }

    /// <summary>Δ in closed form from Q and w.</summary>
    [Benchmark]
    public double ClosedForm()
    {
        _lap.RefreshOrthogonal(_weights, _q);
        return _lap.Normalised.Matrix.Values[0];
    }
}
