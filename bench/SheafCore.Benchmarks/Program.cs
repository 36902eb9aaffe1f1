using BenchmarkDotNet.Running;
using SheafCore.Benchmarks;

// `counts` prints the Laplacian-application table of the heat workloads (deterministic, no timing); anything else
// goes to BenchmarkDotNet (e.g. --filter '*Forward*' --job short).
if (args.Length > 0 && args[0] == "counts")
{
    Console.WriteLine("| workload | Euler applications | adaptive applications | ratio | adaptive rejected | max error vs forward (Euler / adaptive) |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var spec in new[] { "2-6-4-4-1@1", "2-6-4-4-1@300", "2-30-1@1", "2-30-1@300" })
    {
        var p = HeatProblem.Create(spec);
        var euler = p.Run(adaptive: false);
        double eulerError = p.ErrorVsForward();
        var adaptive = p.Run(adaptive: true);
        double adaptiveError = p.ErrorVsForward();
        Console.WriteLine($"| [{spec.Replace("-", ",").Replace("@", "] batch ")} | {euler.LaplacianApplications} | {adaptive.LaplacianApplications} | " +
            $"{(double)euler.LaplacianApplications / adaptive.LaplacianApplications:F1}× | {adaptive.RejectedSteps} | {eulerError:E1} / {adaptiveError:E1} |");
    }
    return;
}

// `bytes` prints the bytes one 10⁶-vertex Laplacian apply must move (to turn BandwidthBenchmarks times into GB/s).
if (args.Length > 0 && args[0] == "bytes")
{
    BandwidthBenchmarks.PrintBytes();
    return;
}

// `parts` times the pieces of the [2,30,1] batch-300 steps with a Stopwatch (best of 7 batches; a profile, not a benchmark).
if (args.Length > 0 && args[0] == "parts")
{
    Parts.Run();
    return;
}

// `compare` reruns the issue-7 reference-style workloads with BDN and prints the comparison table (bench/compare.sh).
if (args.Length > 0 && args[0] == "compare")
{
    Compare.Run();
    return;
}

// `harmonic` checks the sparse harmonic extension against the dense one and profiles it with a Stopwatch.
if (args.Length > 0 && args[0] == "harmonic")
{
    HarmonicProfile.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(HeatBenchmarks).Assembly).Run(args);
