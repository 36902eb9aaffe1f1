using System.CommandLine;
using SheafCore.Plotting;

namespace SheafCore.Cli;

/// <summary>Figures of <c>--plot DIR</c> on diagnose and diffuse.</summary>
internal static class CliPlots
{
    public static string Folder(string dir)
    {
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CliUsageException($"--plot: cannot create folder '{dir}': {e.Message}");
        }
        return dir;
    }

    public static void Diagnose(string dir, DiscordBreakdown breakdown, PinnedOutputDiagnosis? diagnosis, CliContext context, ParseResult parsed)
    {
        Folder(dir);
        var written = new List<string>();
        string P(string name) { var p = Path.Combine(dir, name); written.Add(p); return p; }
        Plots.DiscordBars(P("discord-by-edge.png"), breakdown, new PlotOptions { Title = diagnosis is null ? "Discord per edge" : "Pinned-output diagnosis: where the error sits" });
        if (diagnosis is not null)
        {
            Plots.DiscordDecay(P("pinned-discord-decay.png"), diagnosis.Diffusion, new PlotOptions { Title = "Pinned-output diffusion: discord decay" });
            Plots.OutputVersusForward(P("target-vs-forward.png"), diagnosis.ForwardOutputs, diagnosis.Targets, new PlotOptions { Title = "Target (pinned output) vs forward pass" });
        }
        context.Info(parsed, "  plots: " + string.Join(", ", written));
    }

    public static void Diffuse(string dir, DiffusionResult result, double[,] forward, CliContext context, ParseResult parsed)
    {
        Folder(dir);
        var decay = Path.Combine(dir, "discord-decay.png");
        var output = Path.Combine(dir, "output-vs-forward.png");
        Plots.DiscordDecay(decay, result);
        Plots.OutputVersusForward(output, forward, result.State.Outputs);
        context.Info(parsed, $"  plots: {decay}, {output}");
    }
}
