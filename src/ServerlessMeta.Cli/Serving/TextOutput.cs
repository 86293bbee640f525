using System.Globalization;
using System.Text;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Cli.Serving;

/// <summary>Plain-text tables and number formats for readable output (no terminal features needed).</summary>
internal static class TextOutput
{
    public static string Percent(double? value) =>
        value is { } v && double.IsFinite(v) ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-";

    public static string Number(double? value, string format = "F1") =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    public static string Ms(double? value) => value is { } v ? Number(v, v < 100 ? "F1" : "F0") + " ms" : "-";

    public static string Duration(TimeSpan span) =>
        span.TotalSeconds < 60
            ? span.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s"
            : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes} min {span.Seconds:D2} s");

    /// <summary>Writes a table: a header row, a rule, then the rows; columns padded to their widest cell.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="header">Column titles.</param>
    /// <param name="rows">Cells, as many as titles per row.</param>
    /// <param name="rightAligned">Columns aligned right (numbers).</param>
    public static void Table(TextWriter writer, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, ISet<int>? rightAligned = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(header);
        var all = rows.ToList();
        var widths = header.Select((h, i) => all.Select(r => i < r.Count ? r[i].Length : 0).Append(h.Length).Max()).ToArray();
        string Line(IReadOnlyList<string> cells)
        {
            var line = new StringBuilder("  ");
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = i < cells.Count ? cells[i] : string.Empty;
                line.Append(rightAligned?.Contains(i) == true ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
                if (i < widths.Length - 1)
                {
                    line.Append("  ");
                }
            }

            return line.ToString().TrimEnd();
        }

        writer.WriteLine(Line(header));
        writer.WriteLine("  " + string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in all)
        {
            writer.WriteLine(Line(row));
        }
    }
}

/// <summary>
/// A progress bar for pretraining. On a terminal it redraws one line in place; otherwise (a pipe, a
/// file, CI logs) it prints a new line when the phase changes, every tenth of the rounds, and at least
/// every 15 seconds, so logs stay short and readable.
/// </summary>
internal sealed class ProgressBar
{
    private const int Width = 30;
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private string? _lastPhase;
    private int _lastDecile = -1;
    private DateTimeOffset _lastLine = DateTimeOffset.MinValue;
    private int _lastLength;
    private bool _open;

    private readonly int? _plannedRounds;
    private PretrainingStatus? _lastProgress;

    /// <param name="writer">Where to draw.</param>
    /// <param name="interactive">True on a terminal: redraw one line in place.</param>
    /// <param name="plannedRounds">Rounds to show before the run reports its own count.</param>
    public ProgressBar(TextWriter writer, bool interactive, int? plannedRounds = null)
    {
        _writer = writer;
        _interactive = interactive;
        _plannedRounds = plannedRounds;
    }

    public void Update(PretrainingRunStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);

        // Between orchestration generations (ContinueAsNew) the custom status can briefly be empty: keep the last one.
        var progress = status.Progress ?? _lastProgress;
        _lastProgress = progress;
        var round = progress?.Round ?? 0;
        var rounds = Math.Max(1, progress?.Rounds ?? _plannedRounds ?? 1);
        var phase = !PretrainingWatcher.IsActive(status) ? status.RuntimeStatus?.ToLowerInvariant() ?? "done" : progress?.Phase ?? status.RuntimeStatus?.ToLowerInvariant() ?? "pending";
        var fraction = Math.Clamp((double)round / rounds, 0, 1);
        var filled = (int)Math.Round(fraction * Width);
        var text = new StringBuilder();
        text.Append('[').Append('#', filled).Append('.', Width - filled).Append("] ");
        text.Append(string.Create(CultureInfo.InvariantCulture, $"{round}/{rounds} rounds  {phase,-9}"));
        if (progress?.MetaLossAverage is { } loss)
        {
            text.Append("  meta-loss ").Append(TextOutput.Number(loss, "F3"));
        }

        if (progress?.HeldOutAccuracy is { } accuracy)
        {
            text.Append("  held-out ").Append(TextOutput.Percent(accuracy));
        }

        text.Append("  ").Append(TextOutput.Duration(DateTimeOffset.UtcNow - _started));
        if (progress?.Eta is { } eta && PretrainingWatcher.IsActive(status))
        {
            var left = eta - DateTimeOffset.UtcNow;
            text.Append(left > TimeSpan.Zero ? $"  eta {TextOutput.Duration(left)}" : string.Empty);
        }

        var line = text.ToString();
        if (_interactive)
        {
            _writer.Write("\r" + line.PadRight(_lastLength));
            _writer.Flush();
            _lastLength = line.Length;
            _open = true;
            return;
        }

        var decile = (int)(fraction * 10);
        var now = DateTimeOffset.UtcNow;
        if (phase != _lastPhase || decile != _lastDecile || now - _lastLine >= TimeSpan.FromSeconds(15))
        {
            _writer.WriteLine(line);
            _writer.Flush();
            (_lastPhase, _lastDecile, _lastLine) = (phase, decile, now);
        }
    }

    /// <summary>Ends the in-place line (on a terminal).</summary>
    public void Finish()
    {
        if (_open)
        {
            _writer.WriteLine();
            _writer.Flush();
            _open = false;
        }
    }
}
