using System.Diagnostics;

namespace SheafCore.Tests;

/// <summary>Kills a process in the middle of saving a large model (through <see cref="AtomicFile"/>) and checks that the
/// target always holds a complete model, the previous one or the new one, and that the next save removes the
/// temporary file the killed save left behind.</summary>
public sealed class InterruptedSaveTests
{
    // 300·600 + 600·600 + 600 weights: an 11 MB JSON, so that the write (and its flush to disk) takes a while.
    private static readonly int[] Layers = [300, 600, 600, 1];
    private const int Kills = 10;

    [Fact]
    public void KilledSave_LeavesThePreviousOrTheNewCompleteModel_AndTheNextSaveRemovesItsTemporaryFile()
    {
        using var temp = new TempDirectory();
        var target = temp.File("model.json");
        string Json(int seed) => NeuralNetwork.CreateHeInitialized(Layers, OutputActivation.Identity, seed).ToJson();

        using (var first = StartSave(target, 0)) Assert.True(first.WaitForExit(TimeSpan.FromMinutes(2)) && first.ExitCode == 0);
        string previous = File.ReadAllText(target);
        Assert.Equal(Json(0), previous);

        var random = new Random(6);
        int before = 0, inWrite = 0, after = 0;
        for (int k = 1; k <= Kills; k++)
        {
            string next = Json(k);
            int pid;
            using (var child = StartSave(target, k))
            {
                pid = child.Id;
                // Even kills: as soon as the temporary file is seen (polled), plus a seeded 0–2 ms, to land inside the
                // write or just after the rename. Odd kills: a seeded moment in the child's first 0.05–0.8 s (start-up,
                // He draw, serialisation).
                if (k % 2 == 0)
                {
                    var deadline = DateTime.UtcNow.AddMinutes(2);
                    while (!child.HasExited && DateTime.UtcNow < deadline && Directory.GetFiles(temp.Path, $".model.json.{pid}.*.tmp").Length == 0)
                        Thread.Sleep(1);
                    Thread.Sleep(random.Next(0, 3));
                }
                else
                {
                    Thread.Sleep(random.Next(50, 800));
                }
                if (!child.HasExited) child.Kill(entireProcessTree: true);
                Assert.True(child.WaitForExit(TimeSpan.FromMinutes(2)));
            }
            string text = File.ReadAllText(target);
            bool isPrevious = text == previous, isNext = text == next;
            Assert.True(isPrevious || isNext, $"kill {k}: the target is neither the previous nor the new model ({text.Length} chars).");
            Assert.Equal(Layers, NeuralNetwork.Load(target).Layers);
            bool litter = Directory.GetFiles(temp.Path, $".model.json.{pid}.*.tmp").Length > 0;
            if (litter) inWrite++;
            else if (isNext) after++;
            else before++;
            previous = text;
        }

        // The next save (here in this process) removes what killed saves left; nothing else is in the folder.
        NeuralNetwork.CreateHeInitialized(Layers, OutputActivation.Identity, Kills + 1).Save(target);
        Assert.Equal(["model.json"], Directory.GetFiles(temp.Path).Select(Path.GetFileName).ToArray());
        Assert.Equal(Json(Kills + 1), File.ReadAllText(target));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Kills} kills: {before} before the temporary file existed, {inWrite} during the write (temporary file left), {after} after the rename.");
    }

    /// <summary>The real tool saving a He-initialised model: <c>sheafcore init … --model-out target</c>.</summary>
    private static Process StartSave(string target, int seed)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SheafCore.Cli.dll"));
        foreach (var a in new[] { "init", "--layers", string.Join(",", Layers), "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--model-out", target, "--quiet" })
            info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return Process.Start(info)!;
    }
}
