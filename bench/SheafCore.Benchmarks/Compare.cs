using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace SheafCore.Benchmarks;

/// <summary>Reruns the reference-style workloads of issue 7 (same sizes and step counts as the reference points)
/// with BenchmarkDotNet (ShortRun, in-process) and prints the comparison table. The reference times are the issue's
/// measurements on this kind of machine (2 cores, AVX-512, float64), not measured here.</summary>
internal static class Compare
{
    private sealed record Row(string Workload, string Reference, double ReferenceMicroseconds, Type Benchmark, string Method,
        string? Case, string Target, Func<double, double, bool> Met);

    public static void Run()
    {
        // Same step count as the reference Euler loop needs on the heat workload ([2,30,1] batch 300, tol 1e-9, dt 0.01).
        var heat = HeatProblem.Create("2-30-1@300");
        int eulerSteps = heat.Run(adaptive: false).LaplacianApplications;
        var rows = new[]
        {
            new Row("Sheaf-training Euler step [2,30,1], 300 samples", "Python reference", 179, typeof(SheafTrainingStepBenchmarks), "Vectorised", null,
                "≥ 15× (≤ 12 µs)", (r, o) => r / o >= 15),
            new Row("Full-batch SGD step [2,30,1], 300 samples", "Python reference", 156, typeof(SgdStepBenchmarks), "Vectorised", null,
                "≥ 15×", (r, o) => r / o >= 15),
            new Row("Heat-equation Euler step [2,30,1], batch 300", "Python reference", 137, typeof(HeatStepBenchmarks), "Vectorised", null,
                "(none)", (_, _) => true),
            new Row($"Heat equation to tol 1e-9 [2,30,1], batch 300 ({eulerSteps} Euler steps)", "Python Euler loop", 137.0 * eulerSteps,
                typeof(HeatBenchmarks), "Adaptive", "2-30-1@300", "≥ 20×", (r, o) => r / o >= 20),
            new Row("Plain forward [784,512,512,10], batch 1024, 1 thread", "OpenBLAS 1 thread", 34_000, typeof(ForwardBenchmarks), "PlainForward",
                "784-512-512-10", "≥ 0.7× OpenBLAS", (r, o) => r / o >= 0.7),
            new Row("Harmonic extension, 500 vertices, d = 2", "CellularSheaves.jl", 1100, typeof(SheafSolverBenchmarks), "HarmonicSparse", null,
                "≤ 300 µs", (_, o) => o <= 300),
        };
        string loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var measured = new Dictionary<Row, double>();
        foreach (var row in rows)
        {
            var info = BenchmarkConverter.TypeToBenchmarks(row.Benchmark, config);
            var cases = info.BenchmarksCases.Where(c => c.Descriptor.WorkloadMethod.Name == row.Method
                && (row.Case is null || c.Parameters.Items.Any(p => Equals(p.Value, row.Case)))).ToArray();
            var summary = BenchmarkRunner.Run(new BenchmarkRunInfo(cases, info.Type, info.Config));
            var report = summary.Reports.FirstOrDefault(r => r.ResultStatistics is not null);
            measured[row] = report is null ? double.NaN : report.ResultStatistics!.Mean / 1000.0;
        }
        string loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine();
        Console.WriteLine($"Load average before: {loadBefore}; after: {loadAfter}; {Environment.ProcessorCount} logical cores.");
        Console.WriteLine("| workload | reference | reference time | SheafCore (BDN ShortRun mean) | speed-up | target | met |");
        Console.WriteLine("|---|---|---:|---:|---:|---|---|");
        foreach (var row in rows)
        {
            double ours = measured[row];
            Console.WriteLine($"| {row.Workload} | {row.Reference} | {Format(row.ReferenceMicroseconds)} | {Format(ours)} | " +
                $"{row.ReferenceMicroseconds / ours:F1}× | {row.Target} | {(double.IsNaN(ours) ? "not measured" : row.Target == "(none)" ? "—" : row.Met(row.ReferenceMicroseconds, ours) ? "yes" : "no")} |");
        }
    }

    private static string Format(double microseconds) =>
        double.IsNaN(microseconds) ? "n/a" : microseconds >= 10_000 ? $"{microseconds / 1000:F1} ms" : $"{microseconds:F1} µs";
}
