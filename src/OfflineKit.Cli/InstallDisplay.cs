using OfflineKit.Install;
using Spectre.Console;

namespace OfflineKit.Cli;

/// <summary>An install on stderr: a bar per host on a terminal, a line per step (and per quarter of a push) in a log; the summary on stdout.</summary>
internal static class InstallDisplay
{
    public static async Task<InstallReport> RunAsync(CliConsole console, Func<IProgress<InstallProgress>, Task<InstallReport>> work)
    {
        if (!console.Interactive)
        {
            var quarters = new Dictionary<string, long>();
            return await work(new Reporter(p =>
            {
                lock (quarters)
                {
                    switch (p)
                    {
                        case StepStarted s:
                            console.ErrorWriter.WriteLine($"{s.Host}: {s.Step}: {Printable.Escape(s.Title)}");
                            break;
                        case StepFinished f:
                            console.ErrorWriter.WriteLine($"{f.Host}: {f.Step}: {Outcome(f.Outcome)}{(f.Message is null ? string.Empty : ": " + f.Message)}");
                            break;
                        case StepWarning w:
                            console.ErrorWriter.WriteLine($"{w.Host}: {w.Step}: warning: {w.Message}");
                            break;
                        case TransferProgress t when t.Total > 0:
                            var quarter = t.Done * 4 / t.Total;
                            if (!quarters.TryGetValue(t.Host, out var last) || last != quarter)
                            {
                                quarters[t.Host] = quarter;
                                console.ErrorWriter.WriteLine($"{t.Host}: push {quarter * 25}% ({ProgressDisplay.Size(t.Done)} of {ProgressDisplay.Size(t.Total)})");
                            }

                            break;
                    }
                }
            })).ConfigureAwait(false);
        }

        InstallReport report = null!;
        await console.Error.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                ProgressTask Bar(string host) => bars.TryGetValue(host, out var bar) ? bar : bars[host] = ctx.AddTask(Markup.Escape(host), maxValue: 1);
                report = await work(new Reporter(p =>
                {
                    lock (bars)
                    {
                        var bar = Bar(p.Host);
                        switch (p)
                        {
                            case StepStarted s:
                                bar.Description = Markup.Escape($"{s.Host}: {s.Step}");
                                break;
                            case StepFinished f when f.Outcome is StepOutcome.Failed or StepOutcome.Blocked or StepOutcome.NotStarted:
                                bar.Description = $"[red]{Markup.Escape($"{f.Host}: {f.Step} {Outcome(f.Outcome)}")}[/]";
                                bar.StopTask();
                                break;
                            case TransferProgress t:
                                bar.MaxValue = Math.Max(1, t.Total);
                                bar.Value = t.Done;
                                break;
                        }
                    }
                })).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return report;
    }

    /// <summary>The table of hosts, then each warning, then the log tail of each host that did not finish.</summary>
    public static void Summary(CliConsole console, InstallReport report, string verb = "install")
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("host").AddColumn("role").AddColumn("steps done").AddColumn("pushed").AddColumn("status").AddColumn("log");
        foreach (var h in report.Hosts)
        {
            var status = h.Outcome switch
            {
                HostOutcome.Done => "done",
                HostOutcome.Blocked => $"blocked at {h.FailedStep}: {h.Message}",
                HostOutcome.NotStarted => $"not started (wave {h.Wave})",
                _ => $"FAILED at {h.FailedStep}: {h.Message}",
            };
            var p = h.Push;
            var pushed = $"{p.FilesSent} sent, {p.FilesResumed} continued, {p.FilesSkipped} already there ({ProgressDisplay.Size(p.BytesSent)})";
            table.AddRow(Markup.Escape(h.Host), InstallPlan.RoleName(h.Role), $"{h.StepsDone}/{h.StepsTotal}", Markup.Escape(pushed), Markup.Escape(status), Markup.Escape(h.LogPath.Length == 0 ? "-" : h.LogPath));
        }

        console.Out.Write(table);
        var waves = report.Waves;
        if (waves.Count > 2)
        {
            // Per wave once there is more than one wave of workers; one wave says nothing the table does not.
            foreach (var w in waves)
            {
                var what = w.Wave == 0 ? "control plane" : $"{w.Hosts[0]} … {w.Hosts[^1]}";
                console.Out.WriteLine(w.NotStarted == w.Hosts.Count
                    ? $"wave {w.Wave} ({w.Hosts.Count} hosts, {what}): not started"
                    : $"wave {w.Wave} ({w.Hosts.Count} hosts, {what}): {w.Done} done, {w.Failed} failed, {w.Blocked} blocked");
            }

            if (report.Hosts.FirstOrDefault(h => h.Outcome == HostOutcome.NotStarted) is { } stopped)
            {
                console.Out.WriteLine($"waves stopped: {stopped.Message}");
            }
        }
        foreach (var h in report.Hosts.Where(h => h.Proof is not null))
        {
            console.Out.WriteLine($"offline: {h.Host}: {h.Proof}");
        }

        foreach (var h in report.Hosts)
        {
            foreach (var warning in h.Warnings)
            {
                console.Out.WriteLine($"warning: {h.Host}: {warning}");
            }
        }

        foreach (var h in report.Hosts.Where(h => h.Outcome == HostOutcome.Failed && h.LogTail.Count > 0))
        {
            console.Out.WriteLine($"--- {h.Host}: the last lines of {h.LogPath}");
            foreach (var line in h.LogTail)
            {
                console.Out.WriteLine("  " + line);
            }
        }

        var failed = report.Hosts.Count(h => h.Outcome != HostOutcome.Done);
        console.Out.WriteLine(failed == 0
            ? $"{verb}: all {report.Hosts.Count} hosts done; logs in {report.RunDirectory}"
            : $"{verb}: {failed} of {report.Hosts.Count} hosts did not finish; logs in {report.RunDirectory}");
    }

    private static string Outcome(StepOutcome outcome) => outcome switch
    {
        StepOutcome.Done => "done",
        StepOutcome.DoneEarlier => "done earlier (journal)",
        StepOutcome.Blocked => "BLOCKED",
        StepOutcome.NotStarted => "NOT STARTED",
        _ => "FAILED",
    };

    private sealed class Reporter(Action<InstallProgress> report) : IProgress<InstallProgress>
    {
        public void Report(InstallProgress value) => report(value);
    }
}
