using Spectre.Console;

namespace SheafCore.Cli;

/// <summary>Spectre.Console progress bars and tables for a terminal. Callers decide with <see cref="CliContext.Rich"/>;
/// when it is false (redirected output, --quiet, --json, tests) the plain line output is used instead, so scripts that
/// parse it see no change.</summary>
internal static class RichConsole
{
    /// <summary>Starts a progress bar of <paramref name="total"/> units when <paramref name="rich"/> (else a no-op bar).
    /// The bar renders on Spectre's own thread while the caller works and updates it; disposing completes it. This
    /// shape lets a command keep its own control flow (no callback around the work).</summary>
    public static Bar StartBar(bool rich, string description, double total) => new(rich, description, total);

    /// <summary>A live progress bar (see <see cref="StartBar"/>).</summary>
    public sealed class Bar : IDisposable
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task? _render;
        private ProgressTask? _task;

        internal Bar(bool rich, string description, double total)
        {
            if (!rich) return;
            using var ready = new ManualResetEventSlim();
            _render = AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    _task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                    ready.Set();
                    await _done.Task.ConfigureAwait(false);
                });
            ready.Wait();
        }

        /// <summary>Sets the units done and, optionally, a new description.</summary>
        public void Update(double done, string? text = null)
        {
            if (_task is not { } task) return;
            task.Value = Math.Min(done, task.MaxValue);
            if (text is not null) task.Description = Markup.Escape(text);
        }

        /// <summary>Fills the bar and waits for the last frame, so that later output comes below it.</summary>
        public void Dispose()
        {
            if (_task is { } task) task.Value = task.MaxValue;
            _done.TrySetResult();
            _render?.GetAwaiter().GetResult();
        }
    }

    /// <summary>Writes a table with a title, headers and rows of plain (escaped) text.</summary>
    public static void Table(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        foreach (var h in headers) table.AddColumn(new TableColumn(Markup.Escape(h)).RightAligned());
        table.Columns[0].LeftAligned();
        foreach (var row in rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }
}
