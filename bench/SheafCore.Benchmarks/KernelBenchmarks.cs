using BenchmarkDotNet.Attributes;
using System.Numerics.Tensors;
using SheafCore.Numerics;

namespace SheafCore.Benchmarks;

/// <summary>Random general sheaves: V vertices of stalk dimension d, a ring plus V random chords (E = 2V), dense
/// d×d restriction maps N(0,1) on both sides of every edge.</summary>
internal static class SheafFactory
{
    public static CellularSheaf Random(int vertices, int d, long seed)
    {
        var rng = new Rng(seed);
        int edges = vertices < 3 ? vertices - 1 : 2 * vertices;
        var src = new int[edges]; var dst = new int[edges];
        var edgeDims = new int[edges];
        var families = new RestrictionFamily[2 * edges];
        var maps = new double[2 * edges][];
        for (int e = 0; e < edges; e++)
        {
            if (e < vertices) { src[e] = e; dst[e] = (e + 1) % vertices; }
            else { int s = rng.NextInt(0, vertices); int t = rng.NextInt(0, vertices - 1); src[e] = s; dst[e] = t >= s ? t + 1 : t; }
            edgeDims[e] = d;
            for (int side = 0; side < 2; side++)
            {
                families[2 * e + side] = RestrictionFamily.Dense;
                var m = new double[d * d];
                rng.FillNormal(m, 1.0);
                maps[2 * e + side] = m;
            }
        }
        return CellularSheaf.Create(Enumerable.Repeat(d, vertices).ToArray(), src, dst, edgeDims, families, maps);
    }

    /// <summary>A side × side grid (4-neighbour, E ≈ 2V) with dense d×d maps N(0,1): the locality of a mesh, so an apply
    /// streams through memory instead of waiting on random cache misses.</summary>
    public static CellularSheaf Grid(int side, int d, long seed) => Grid(side, d, seed, shuffled: false);

    /// <summary>The same grid sheaf (same edges, same maps) with its vertices numbered in a random order when
    /// <paramref name="shuffled"/>: L is the same matrix symmetrically permuted, so an apply moves the same arrays, but a
    /// vertex's neighbours are scattered over x instead of sitting within ±side of it.</summary>
    public static CellularSheaf Grid(int side, int d, long seed, bool shuffled)
    {
        var rng = new Rng(seed);
        int vertices = side * side;
        var label = Enumerable.Range(0, vertices).ToArray();
        if (shuffled)
        {
            var order = new Rng(seed + 1);
            for (int i = vertices - 1; i > 0; i--) { int j = order.NextInt(0, i + 1); (label[i], label[j]) = (label[j], label[i]); }
        }
        var src = new List<int>(); var dst = new List<int>();
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++)
            {
                int v = i * side + j;
                if (j + 1 < side) { src.Add(label[v]); dst.Add(label[v + 1]); }
                if (i + 1 < side) { src.Add(label[v]); dst.Add(label[v + side]); }
            }
        int edges = src.Count;
        var families = new RestrictionFamily[2 * edges];
        var maps = new double[2 * edges][];
        for (int k = 0; k < 2 * edges; k++)
        {
            families[k] = RestrictionFamily.Dense;
            maps[k] = new double[d * d];
            rng.FillNormal(maps[k], 1.0);
        }
        return CellularSheaf.Create(Enumerable.Repeat(d, side * side).ToArray(), src.ToArray(), dst.ToArray(),
            Enumerable.Repeat(d, edges).ToArray(), families, maps);
    }
}

/// <summary>The coboundary δ (0-cochains → 1-cochains) and its transpose δᵀ of a general sheaf, matrix-free from the
/// restriction maps: the vectorised kernels against their scalar twins (baseline). Cases "V@d" as in
/// <see cref="LaplacianApplyBenchmarks"/> (ragged prime vertex count, dense d×d maps).</summary>
[MemoryDiagnoser]
public class CoboundaryBenchmarks
{
    [Params("1009@1", "1009@3", "1009@8", "1009@16")]
    public string Case = "1009@8";

    private CellularSheaf _sheaf = null!;
    private double[] _x = null!, _y = null!, _edge = null!, _back = null!;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('@');
        _sheaf = SheafFactory.Random(int.Parse(parts[0]), int.Parse(parts[1]), 5);
        _x = new double[_sheaf.VertexCochainDim]; new Rng(3).FillNormal(_x, 1.0);
        _y = new double[_sheaf.EdgeCochainDim]; new Rng(4).FillNormal(_y, 1.0);
        _edge = new double[_sheaf.EdgeCochainDim];
        _back = new double[_sheaf.VertexCochainDim];
    }

    /// <summary>Baseline: scalar δx.</summary>
    [Benchmark(Baseline = true)]
    public double DeltaScalar()
    {
        Coboundary.applyReference(_sheaf, _x, _edge);
        return _edge[0];
    }

    /// <summary>Vectorised δx.</summary>
    [Benchmark]
    public double Delta()
    {
        Coboundary.apply(_sheaf, _x, _edge);
        return _edge[0];
    }

    /// <summary>Scalar δᵀy.</summary>
    [Benchmark]
    public double DeltaTransposeScalar()
    {
        Coboundary.applyTransposeReference(_sheaf, _y, _back);
        return _back[0];
    }

    /// <summary>Vectorised δᵀy.</summary>
    [Benchmark]
    public double DeltaTranspose()
    {
        Coboundary.applyTranspose(_sheaf, _y, _back);
        return _back[0];
    }
}

/// <summary>y = L·x of an assembled general sheaf Laplacian: the vectorised block-CSR apply against its scalar twin
/// (baseline), the two-thread row split and the dense product (small cases only). Cases are "V@d"; V = 1009 is ragged
/// (prime), d = 1, 3, 8, 16; "53@16" is a cache-resident d = 16 case (53 vertices, 0.55 MB of blocks, inside the 1 MB
/// L2) beside the memory-bound 1009@16 (10 MB).</summary>
[MemoryDiagnoser]
public class LaplacianApplyBenchmarks
{
    [Params("1009@1", "1009@3", "1009@8", "1009@16", "53@16")]
    public string Case = "1009@8";

    private SheafLaplacianMatrix _l = null!;
    private double[] _x = null!, _y = null!;
    private double[] _dense = null!;
    private int _n;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('@');
        var sheaf = SheafFactory.Random(int.Parse(parts[0]), int.Parse(parts[1]), 5);
        _l = SheafLaplacian.assemble(sheaf);
        _n = _l.Dimension;
        _x = new double[_n]; new Rng(3).FillNormal(_x, 1.0);
        _y = new double[_n];
        _dense = SheafLaplacian.toDense(_l).Values;
        Console.WriteLine($"// {Case}: {_l.Values.Length} stored values, {LaplacianBytes(_l) / 1e6:F2} MB per apply");
    }

    [Benchmark(Baseline = true)]
    public void ScalarTwin() => SheafLaplacian.applyReference(_l, _x, _y);

    [Benchmark]
    public void Vectorised() => SheafLaplacian.apply(_l, _x, _y);

    /// <summary>Splits in two at ≥ <c>TwoThreadValueThreshold</c> stored values (1009@8 and 1009@16; the others run on
    /// one thread and measure the threshold check).</summary>
    [Benchmark]
    public void TwoThreads() => SheafLaplacian.applyTwoThreads(_l, _x, _y);

    [Benchmark]
    public void Dense() => Gemm.multiply(_n, 1, _n, _dense, _n, _x, 1, _y, 1, false);

    /// <summary>Bytes an apply must move at least once: values, column indices, row pointers, x (read), y (written);
    /// block offsets too unless the stalk dimension is uniform (the uniform kernels do not read them). Write-allocate
    /// traffic of y is not counted, as in STREAM.</summary>
    internal static long LaplacianBytes(SheafLaplacianMatrix l) =>
        8L * l.Values.Length + 4L * l.ColumnIndices.Length + (l.UniformDimension > 0 ? 0 : 4L * l.BlockOffsets.Length)
        + 4L * l.RowPointers.Length + 16L * l.Dimension;
}

/// <summary>Memory bandwidth: a STREAM-style triad a = b + s·c over 3 × 32 MiB arrays (24 bytes per element moved,
/// the STREAM convention) on one thread and on two (halves), against the Laplacian apply of a 10⁶-vertex sheaf on a
/// 1000 × 1000 grid (d = 1 and d = 2) on one and two threads, and the d = 1 grid with its vertices numbered at random
/// (same matrix permuted: random gathers). Bandwidth = bytes / time; the Laplacian's bytes are printed by `bytes`.</summary>
[MemoryDiagnoser]
public class BandwidthBenchmarks
{
    private const int N = 4 << 20;
    private double[] _a = null!, _b = null!, _c = null!;
    private SheafLaplacianMatrix _l1 = null!, _l2 = null!, _l1Shuffled = null!;
    private double[] _x1 = null!, _y1 = null!, _x2 = null!, _y2 = null!;
    private Action<int> _triadHalf = null!;

    [GlobalSetup]
    public void Setup()
    {
        _a = new double[N]; _b = new double[N]; _c = new double[N];
        new Rng(1).FillNormal(_b, 1.0); new Rng(2).FillNormal(_c, 1.0);
        _l1 = SheafLaplacian.assemble(SheafFactory.Grid(1000, 1, 7));
        _l2 = SheafLaplacian.assemble(SheafFactory.Grid(1000, 2, 8));
        _l1Shuffled = SheafLaplacian.assemble(SheafFactory.Grid(1000, 1, 7, shuffled: true));
        _x1 = new double[_l1.Dimension]; new Rng(3).FillNormal(_x1, 1.0); _y1 = new double[_l1.Dimension];
        _x2 = new double[_l2.Dimension]; new Rng(4).FillNormal(_x2, 1.0); _y2 = new double[_l2.Dimension];
        _triadHalf = h => TensorPrimitives.MultiplyAdd(_c.AsSpan(h * (N / 2), N / 2), 3.0, _b.AsSpan(h * (N / 2), N / 2), _a.AsSpan(h * (N / 2), N / 2));
    }

    [Benchmark(Baseline = true)]
    public void Triad() => TensorPrimitives.MultiplyAdd(_c, 3.0, _b, _a);

    /// <summary>The triad's two halves on two threads (Parallel.For): the machine's two-core bandwidth.</summary>
    [Benchmark]
    public void TriadTwoThreads() => Parallel.For(0, 2, _triadHalf);

    [Benchmark]
    public void LaplacianGridMillionD1() => SheafLaplacian.apply(_l1, _x1, _y1);

    [Benchmark]
    public void LaplacianGridMillionD1TwoThreads() => SheafLaplacian.applyTwoThreads(_l1, _x1, _y1);

    [Benchmark]
    public void LaplacianGridMillionD1Shuffled() => SheafLaplacian.apply(_l1Shuffled, _x1, _y1);

    [Benchmark]
    public void LaplacianGridMillionD2() => SheafLaplacian.apply(_l2, _x2, _y2);

    [Benchmark]
    public void LaplacianGridMillionD2TwoThreads() => SheafLaplacian.applyTwoThreads(_l2, _x2, _y2);

    internal static long LaplacianBytes(SheafLaplacianMatrix l) => LaplacianApplyBenchmarks.LaplacianBytes(l);

    public static void PrintBytes()
    {
        foreach (var d in new[] { 1, 2 })
        {
            var l = SheafLaplacian.assemble(SheafFactory.Grid(1000, d, d == 1 ? 7 : 8));
            Console.WriteLine($"Laplacian 10^6 vertices d={d}: {LaplacianBytes(l) / 1e6:F1} MB per apply "
                + $"(values {8.0 * l.Values.Length / 1e6:F1}, column indices {4.0 * l.ColumnIndices.Length / 1e6:F1}, "
                + $"row pointers {4.0 * l.RowPointers.Length / 1e6:F1}, x {8.0 * l.Dimension / 1e6:F1}, y {8.0 * l.Dimension / 1e6:F1}); "
                + $"triad: {24.0 * N / 1e6:F1} MB");
        }
    }
}

/// <summary>Lanczos extreme eigenpairs of a general sheaf Laplacian (500 vertices, d = 2), and the Dirichlet harmonic
/// extension of the same sheaf with every tenth vertex pinned (target ≤ 0.3 ms; CellularSheaves.jl 1.1 ms): the block
/// sparse LDLᵀ (whole one-off call), the previous scalar sparse LDLᵀ, Jacobi-preconditioned CG, against the dense
/// pivoted-LDLᵀ solve (baseline).</summary>
[MemoryDiagnoser]
public class SheafSolverBenchmarks
{
    private CellularSheaf _sheaf = null!;
    private bool[] _mask = null!;
    private double[] _values = null!;
    private LaplacianOperator _op = null!;

    private sealed class LaplacianOperator(SheafLaplacianMatrix l) : ILinearOperator
    {
        public int Dimension => l.Dimension;
        public void Apply(ReadOnlySpan<double> x, Span<double> destination) => SheafLaplacian.apply(l, x, destination);
    }

    [GlobalSetup]
    public void Setup()
    {
        _sheaf = SheafFactory.Random(500, 2, 11);
        int n = _sheaf.VertexCochainDim;
        _mask = new bool[n];
        _values = new double[n];
        var rng = new Rng(12);
        for (int v = 0; v < 500; v += 10)
            for (int c = 0; c < 2; c++) { _mask[2 * v + c] = true; _values[2 * v + c] = rng.Normal(); }
        _op = new LaplacianOperator(SheafLaplacian.assemble(_sheaf));
    }

    [Benchmark(Baseline = true)]
    public double HarmonicDense() => HarmonicExtension.solveDense(_sheaf, _mask, _values, 1e-12).ResidualNorm;

    [Benchmark]
    public double HarmonicCg() => HarmonicExtension.solveConjugateGradient(_sheaf, _mask, _values, 1e-10, 10_000).RelativeResidual;

    [Benchmark]
    public double HarmonicSparse() => HarmonicExtension.solveSparse(_sheaf, _mask, _values, 1e-12).RelativeResidual;

    [Benchmark]
    public double HarmonicSparseScalar() => HarmonicExtension.solveSparseScalar(_sheaf, _mask, _values, 1e-12).RelativeResidual;

    [Benchmark]
    public double Lanczos() => Numerics.Lanczos.extremes(_op, 1, 1e-8, 1000).LambdaMax;
}
