using System.Globalization;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>
/// Shapes are written "m x n x k" for C(m×n) = A(m×k)·B(k×n). The layer shapes are the plain forward
/// pass of an MLP over a feature-major batch: C = W·X with W the layer's weights and X the batch.
/// </summary>
internal static class GemmShapes
{
    public static (int M, int N, int K) Parse(string shape)
    {
        var parts = shape.Split('x');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture),
                int.Parse(parts[1], CultureInfo.InvariantCulture),
                int.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    public static double[] Random(Random random, int length)
    {
        var values = new double[length];
        for (var i = 0; i < values.Length; i++) values[i] = random.NextDouble() - 0.5;
        return values;
    }

    /// <summary>Naive but vectorised i-k-j baseline: row i of C is built by k calls of
    /// <c>TensorPrimitives.MultiplyAdd</c> (C[i,:] += A[i,p]·B[p,:]). What one writes without a GEMM.</summary>
    public static void RowUpdate(int m, int n, int k, double[] a, double[] b, double[] c)
    {
        for (var i = 0; i < m; i++)
        {
            var row = c.AsSpan(i * n, n);
            row.Clear();
            for (var p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd(b.AsSpan(p * n, n), a[i * k + p], row, row);
        }
    }
}

/// <summary>GFLOP/s = 2·m·n·k / mean time, read from the <c>Shape</c> parameter.</summary>
internal sealed class GigaflopsColumn : IColumn
{
    public string Id => nameof(GigaflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Throughput, 2·m·n·k floating-point operations per mean run time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || benchmarkCase.Parameters["Shape"] is not string shape) return "NA";
        var (m, n, k) = GemmShapes.Parse(shape);
        var flops = 2.0 * m * n * k;
        return (flops / report.ResultStatistics.Mean).ToString("F2", CultureInfo.InvariantCulture); // flop/ns = GFLOP/s
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

internal sealed class GemmConfig : ManualConfig
{
    public GemmConfig() => AddColumn(new GigaflopsColumn());
}

/// <summary>Small products of a [2, 30, 1] network at batch 300 (layer 1: 30×2 · 2×300; layer 2:
/// 1×30 · 30×300): call overhead, packing and tails dominate here. The scalar reference is the baseline.</summary>
[MemoryDiagnoser]
[Config(typeof(GemmConfig))]
public class GemmSmallBenchmarks
{
    [Params("30x300x2", "1x300x30")] public string Shape = "";

    private int _m, _n, _k;
    private double[] _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_m, _n, _k) = GemmShapes.Parse(Shape);
        var random = new Random(42);
        _a = GemmShapes.Random(random, _m * _k);
        _b = GemmShapes.Random(random, _k * _n);
        _c = new double[_m * _n];
    }

    [Benchmark(Baseline = true)] public void Reference() => Gemm.multiplyReference(_m, _n, _k, _a, _k, _b, _n, _c, _n, false);
    [Benchmark] public void RowUpdate() => GemmShapes.RowUpdate(_m, _n, _k, _a, _b, _c);
    [Benchmark] public void Blocked() => Gemm.multiply(_m, _n, _k, _a, _k, _b, _n, _c, _n, false);
}

/// <summary>Layer products of a [784, 512, 512, 10] network at batch 1024 (512×784 · 784×1024,
/// 512×512 · 512×1024, 10×512 · 512×1024). The scalar reference would take seconds per call, so the
/// baseline is the naive vectorised i-k-j row update.</summary>
[MemoryDiagnoser]
[Config(typeof(GemmConfig))]
public class GemmLargeBenchmarks
{
    [Params("512x1024x784", "512x1024x512", "10x1024x512")] public string Shape = "";

    private int _m, _n, _k;
    private double[] _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_m, _n, _k) = GemmShapes.Parse(Shape);
        var random = new Random(42);
        _a = GemmShapes.Random(random, _m * _k);
        _b = GemmShapes.Random(random, _k * _n);
        _c = new double[_m * _n];
    }

    [Benchmark(Baseline = true)] public void RowUpdate() => GemmShapes.RowUpdate(_m, _n, _k, _a, _b, _c);
    [Benchmark] public void Blocked() => Gemm.multiply(_m, _n, _k, _a, _k, _b, _n, _c, _n, false);
}

/// <summary>Two threads against one (baseline) on the layer products of [784,512,512,10] at batch 1024: the column
/// split of `Gemm.multiplyAddBiasParallel` (bit-identical to one thread).</summary>
[MemoryDiagnoser]
public class GemmParallelBenchmarks
{
    [Params("512x1024x784", "512x1024x512")]
    public string Shape = "512x1024x784";

    private int _m, _n, _k;
    private double[] _a = null!, _b = null!, _c = null!, _bias = null!;

    [GlobalSetup]
    public void Setup()
    {
        var p = Shape.Split('x').Select(int.Parse).ToArray();
        (_m, _n, _k) = (p[0], p[1], p[2]);
        _a = new double[_m * _k]; _b = new double[_k * _n]; _c = new double[_m * _n]; _bias = new double[_m];
        new Rng(1).FillNormal(_a, 1.0); new Rng(2).FillNormal(_b, 1.0); new Rng(3).FillNormal(_bias, 1.0);
    }

    [Benchmark(Baseline = true)]
    public void OneThread() => Gemm.multiplyAddBias(_m, _n, _k, _a, _k, _b, _n, _bias, _c, _n);

    [Benchmark]
    public void TwoThreads() => Gemm.multiplyAddBiasParallel(_m, _n, _k, _a, _k, _b, _n, _bias, _c, _n, 2);
}
