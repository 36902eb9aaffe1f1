using System.Globalization;
using ScottPlot;

namespace SheafCore.Plotting;

/// <summary>
/// PNG figures of SheafCore results (the paper's figure inventory, theory §8.4). Every method renders with the font
/// <see cref="FontName"/> set explicitly (ScottPlot draws text with system fonts; without them a PNG silently has no
/// text) and writes the file atomically (temporary file, then rename).
/// </summary>
public static class Plots
{
    /// <summary>The font every figure uses ("DejaVu Sans", Debian package fonts-dejavu-core).</summary>
    public const string FontName = "DejaVu Sans";

    private static readonly Color[] Palette = [Colors.C0, Colors.C1, Colors.C2, Colors.C3, Colors.C4, Colors.C5, Colors.C6, Colors.C7, Colors.C8, Colors.C9];

    /// <summary>Loss curves on a log axis, e.g. sheaf training against SGD.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="curves">One or more curves.</param>
    /// <param name="options">Size and title (null: 800×500, "Training loss").</param>
    /// <exception cref="ArgumentException">No curves, or a bad path or size.</exception>
    public static void LossCurves(string path, IReadOnlyList<LossCurve> curves, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (curves.Count == 0) throw new ArgumentException("Give at least one curve.", nameof(curves));
        var plot = NewPlot(options, "Training loss");
        for (int c = 0; c < curves.Count; c++)
        {
            var (xs, ys) = LogPoints(curves[c].Steps, curves[c].Losses);
            if (xs.Length == 0) continue;
            var line = plot.Add.Scatter(xs, ys, Palette[c % Palette.Length]);
            line.LegendText = curves[c].Label;
            line.MarkerSize = xs.Length > 60 ? 0 : 4;
        }
        LogAxis(plot);
        plot.XLabel("step");
        plot.YLabel("loss (log scale)");
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>Lines through (x, y) points, each axis linear or log10 (points that a log axis cannot show are left out):
    /// sweeps such as test loss against β·n_train or against integration time.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="curves">One or more curves; <see cref="LossCurve.Steps"/> holds x, <see cref="LossCurve.Losses"/> y.</param>
    /// <param name="xLabel">Label of the x axis.</param>
    /// <param name="yLabel">Label of the y axis.</param>
    /// <param name="logX">Log10 x axis.</param>
    /// <param name="logY">Log10 y axis.</param>
    /// <param name="options">Size and title (null: 800×500, no title).</param>
    /// <exception cref="ArgumentException">No curves, or a bad path or size.</exception>
    public static void Curves(string path, IReadOnlyList<LossCurve> curves, string xLabel, string yLabel, bool logX, bool logY, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(curves);
        ArgumentNullException.ThrowIfNull(xLabel);
        ArgumentNullException.ThrowIfNull(yLabel);
        if (curves.Count == 0) throw new ArgumentException("Give at least one curve.", nameof(curves));
        var plot = NewPlot(options, "");
        for (int c = 0; c < curves.Count; c++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < curves[c].Steps.Count; i++)
            {
                double x = curves[c].Steps[i], y = curves[c].Losses[i];
                if (!double.IsFinite(x) || !double.IsFinite(y) || (logX && x <= 0) || (logY && y <= 0)) continue;
                xs.Add(logX ? Math.Log10(x) : x);
                ys.Add(logY ? Math.Log10(y) : y);
            }
            if (xs.Count == 0) continue;
            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), Palette[c % Palette.Length]);
            line.LegendText = curves[c].Label;
            line.MarkerSize = xs.Count > 60 ? 0 : 5;
        }
        if (logY) LogAxis(plot);
        if (logX)
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = x => "1e" + Math.Round(x).ToString(CultureInfo.InvariantCulture),
            };
        plot.XLabel(xLabel + (logX ? " (log scale)" : ""));
        plot.YLabel(yLabel + (logY ? " (log scale)" : ""));
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>Discord decay of a diffusion on a log axis, with a marker at each step where a ReLU mask flipped.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="result">A diffusion run (its discord trace and ReLU crossings).</param>
    /// <param name="options">Size and title (null: 800×500, "Discord decay").</param>
    /// <exception cref="ArgumentException">A bad path or size.</exception>
    public static void DiscordDecay(string path, DiffusionResult result, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = NewPlot(options, "Discord decay");
        var (xs, ys) = LogPoints(result.TraceSteps.Select(s => (double)s).ToArray(), result.DiscordTrace);
        if (xs.Length > 0)
        {
            var line = plot.Add.Scatter(xs, ys, Palette[0]);
            line.LegendText = "batch-mean discord";
            line.MarkerSize = 0;
            var crossingSteps = result.Crossings.Select(c => (double)c.Step).Distinct().ToArray();
            if (crossingSteps.Length > 0)
            {
                var cy = crossingSteps.Select(s => Interpolate(xs, ys, s)).ToArray();
                var markers = plot.Add.Markers(crossingSteps, cy, MarkerShape.OpenCircle, 7, Palette[3]);
                markers.LegendText = $"ReLU crossing ({result.Crossings.Count})";
            }
        }
        LogAxis(plot);
        plot.XLabel("step");
        plot.YLabel("Σ‖discrepancy‖² (log scale)");
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>Output stalk against the forward value, one point per sample and output, with the diagonal y = x.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="forward">Forward-pass outputs (samples × outputs).</param>
    /// <param name="outputStalk">The output stalk after diffusion (same shape).</param>
    /// <param name="options">Size and title (null: 800×500, "Output stalk vs forward pass").</param>
    /// <exception cref="ArgumentException">The shapes differ, or a bad path or size.</exception>
    public static void OutputVersusForward(string path, double[,] forward, double[,] outputStalk, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(outputStalk);
        if (forward.GetLength(0) != outputStalk.GetLength(0) || forward.GetLength(1) != outputStalk.GetLength(1))
            throw new ArgumentException("The output stalk and the forward pass differ in shape.", nameof(outputStalk));
        var plot = NewPlot(options, "Output stalk vs forward pass");
        var xs = forward.Cast<double>().ToArray();
        var ys = outputStalk.Cast<double>().ToArray();
        var points = plot.Add.ScatterPoints(xs, ys, Palette[0]);
        points.LegendText = "samples";
        double lo = Math.Min(xs.Min(), ys.Min()), hi = Math.Max(xs.Max(), ys.Max());
        if (hi <= lo) hi = lo + 1;
        var diagonal = plot.Add.Line(lo, lo, hi, hi);
        diagonal.Color = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "y = x";
        plot.XLabel("forward pass");
        plot.YLabel("output stalk");
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>Per-edge discord bars in path order, coloured by operation type (affine, activation, output).</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="breakdown">From <see cref="Diagnostics.Breakdown(EdgeDiscordReport)"/>.</param>
    /// <param name="options">Size and title (null: 800×500, "Discord per edge").</param>
    /// <exception cref="ArgumentException">A bad path or size.</exception>
    public static void DiscordBars(string path, DiscordBreakdown breakdown, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(breakdown);
        var plot = NewPlot(options, "Discord per edge");
        var bars = breakdown.Edges.Select((e, i) => new Bar { Position = i, Value = 100 * e.Share, FillColor = KindColor(e.Kind) }).ToArray();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, bars.Length).Select(i => (double)i).ToArray(), breakdown.Edges.Select(e => e.Name).ToArray());
        foreach (var kind in breakdown.Edges.Select(e => e.Kind).Distinct())
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = kind.ToString().ToLowerInvariant(), FillColor = KindColor(kind) });
        plot.Axes.Margins(bottom: 0);
        plot.XLabel("edge (layer order)");
        plot.YLabel("share of total discord (%)");
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>Spectral X-ray: median energy of the Fiedler and top eigenvectors of L<sub>Ω</sub> per free block.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="summary">From <see cref="NetworkSheaf.Summarize(IReadOnlyList{SpectralXRay})"/>.</param>
    /// <param name="options">Size and title (null: 800×500, "Spectral X-ray: eigenvector energy per block").</param>
    /// <exception cref="ArgumentException">A bad path or size.</exception>
    public static void XRayBlockEnergies(string path, SpectralSummary summary, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var plot = NewPlot(options, "Spectral X-ray: eigenvector energy per block");
        int blocks = summary.BlockNames.Count;
        var bars = new List<Bar>();
        for (int b = 0; b < blocks; b++)
        {
            bars.Add(new Bar { Position = 3 * b, Value = summary.FiedlerBlockEnergy[b].Median, FillColor = Palette[0] });
            bars.Add(new Bar { Position = 3 * b + 1, Value = summary.TopBlockEnergy[b].Median, FillColor = Palette[1] });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, blocks).Select(b => 3.0 * b + 0.5).ToArray(), summary.BlockNames.ToArray());
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"Fiedler (λ_min, median {G(summary.LambdaMin.Median)})", FillColor = Palette[0] });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"top (λ_max, median {G(summary.LambdaMax.Median)})", FillColor = Palette[1] });
        plot.Axes.Margins(bottom: 0);
        plot.XLabel("free block");
        plot.YLabel("energy share (median over samples)");
        plot.ShowLegend();
        Save(plot, path, options);
    }

    /// <summary>The learned surface of a network with two inputs over the box of <paramref name="points"/>: the output
    /// (for softmax, the probability of class 1 for two classes, else the arg-max class) as a heat map, with the points
    /// on top, coloured by label when labels are given.</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="network">A network with two inputs.</param>
    /// <param name="points">Data points (samples × 2), e.g. the training set.</param>
    /// <param name="labels">Class labels of the points (null: plain markers).</param>
    /// <param name="options">Size and title (null: 800×600, "Learned surface").</param>
    /// <exception cref="ArgumentException">The network does not take two inputs, shapes differ, or a bad path or size.</exception>
    public static void DecisionSurface(string path, NeuralNetwork network, double[,] points, IReadOnlyList<int>? labels = null, PlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(points);
        if (network.InputDimension != 2) throw new ArgumentException($"The network takes {network.InputDimension} inputs; a surface needs 2.", nameof(network));
        if (points.GetLength(1) != 2 || points.GetLength(0) == 0) throw new ArgumentException("The points must be a non-empty samples × 2 array.", nameof(points));
        if (labels is not null && labels.Count != points.GetLength(0)) throw new ArgumentException($"{labels.Count} labels for {points.GetLength(0)} points.", nameof(labels));
        options ??= new PlotOptions { Height = 600 };
        var plot = NewPlot(options, "Learned surface");
        int n = points.GetLength(0);
        double x0 = double.MaxValue, x1 = double.MinValue, y0 = double.MaxValue, y1 = double.MinValue;
        for (int i = 0; i < n; i++)
        {
            x0 = Math.Min(x0, points[i, 0]); x1 = Math.Max(x1, points[i, 0]);
            y0 = Math.Min(y0, points[i, 1]); y1 = Math.Max(y1, points[i, 1]);
        }
        double padX = Math.Max(0.05 * (x1 - x0), 1e-3), padY = Math.Max(0.05 * (y1 - y0), 1e-3);
        x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
        const int grid = 120;
        var inputs = new double[grid * grid, 2];
        for (int r = 0; r < grid; r++)
            for (int c = 0; c < grid; c++)
            {
                inputs[r * grid + c, 0] = x0 + (x1 - x0) * (c + 0.5) / grid;
                inputs[r * grid + c, 1] = y1 - (y1 - y0) * (r + 0.5) / grid;   // row 0 is the top of the heat map
            }
        var outputs = network.Predict(inputs);
        var surface = new double[grid, grid];
        for (int r = 0; r < grid; r++)
            for (int c = 0; c < grid; c++) surface[r, c] = SurfaceValue(network, outputs, r * grid + c);
        var heatmap = plot.Add.Heatmap(surface);
        heatmap.Extent = new CoordinateRect(x0, x1, y0, y1);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        var groups = labels is null ? [0] : labels.Distinct().Order().ToArray();
        foreach (var g in groups)
        {
            var idx = Enumerable.Range(0, n).Where(i => labels is null || labels[i] == g).ToArray();
            var markers = plot.Add.Markers(idx.Select(i => points[i, 0]).ToArray(), idx.Select(i => points[i, 1]).ToArray(),
                MarkerShape.FilledCircle, 5, labels is null ? Colors.White : Palette[(g + 1) % Palette.Length]);
            markers.MarkerLineColor = Colors.Black;
            markers.MarkerLineWidth = 0.5f;
            if (labels is not null) markers.LegendText = $"class {g}";
        }
        plot.Axes.SetLimits(x0, x1, y0, y1);
        plot.XLabel("x₀");
        plot.YLabel("x₁");
        if (labels is not null) plot.ShowLegend();
        Save(plot, path, options);
    }

    private static double SurfaceValue(NeuralNetwork network, double[,] outputs, int row)
    {
        int k = outputs.GetLength(1);
        if (k == 1) return outputs[row, 0];
        if (network.Output == OutputActivation.Softmax && k == 2) return outputs[row, 1];
        int best = 0;
        for (int j = 1; j < k; j++) if (outputs[row, j] > outputs[row, best]) best = j;
        return best;
    }

    private static Plot NewPlot(PlotOptions? options, string defaultTitle)
    {
        (options ?? new PlotOptions()).Validate();
        var plot = new Plot();
        plot.Font.Set(FontName);
        string title = options?.Title ?? defaultTitle;
        if (title.Length > 0) plot.Title(title);
        return plot;
    }

    private static void Save(Plot plot, string path, PlotOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new PlotOptions();
        var image = plot.GetImage(options.Width, options.Height);
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png));
    }

    private static Color KindColor(NetworkEdgeKind kind) => kind switch
    {
        NetworkEdgeKind.Affine => Palette[0],
        NetworkEdgeKind.Activation => Palette[1],
        _ => Palette[2],
    };

    /// <summary>Points with a positive finite y, as (x, log10 y).</summary>
    private static (double[] X, double[] Y) LogPoints(IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        var px = new List<double>();
        var py = new List<double>();
        for (int i = 0; i < xs.Count; i++)
            if (double.IsFinite(ys[i]) && ys[i] > 0 && double.IsFinite(xs[i])) { px.Add(xs[i]); py.Add(Math.Log10(ys[i])); }
        return (px.ToArray(), py.ToArray());
    }

    /// <summary>Log10 axis: ticks at integer powers of ten, labelled 10^k, with log-spaced minor ticks.</summary>
    private static void LogAxis(Plot plot)
    {
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => "1e" + Math.Round(y).ToString(CultureInfo.InvariantCulture),
        };
        plot.Axes.Left.TickGenerator = ticks;
    }

    private static double Interpolate(double[] xs, double[] ys, double x)
    {
        int i = Array.BinarySearch(xs, x);
        if (i >= 0) return ys[i];
        i = ~i;
        if (i == 0) return ys[0];
        if (i >= xs.Length) return ys[^1];
        double t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
        return ys[i - 1] + t * (ys[i] - ys[i - 1]);
    }

    private static string G(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
}
