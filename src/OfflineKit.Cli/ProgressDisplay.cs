using OfflineKit.IO;
using Spectre.Console;

namespace OfflineKit.Cli;

/// <summary>Progress of long work on stderr: a live bar on a terminal, a line every 10% in a log.</summary>
internal static class ProgressDisplay
{
    private const long QuietBelow = 64L << 20;

    public static async Task<T> RunAsync<T>(CliConsole console, string description, Func<IProgress<ByteProgress>, Task<T>> work)
    {
        if (!console.Interactive)
        {
            var lastTenth = -1L;
            return await work(new Reporter(p =>
            {
                var tenth = p.Total > 0 ? p.Done * 10 / p.Total : 0;
                // Small jobs finish before a log line would help.
                if (p.Total >= QuietBelow && tenth != Interlocked.Exchange(ref lastTenth, tenth))
                {
                    console.ErrorWriter.WriteLine($"{description}: {tenth * 10}% ({Size(p.Done)} of {Size(p.Total)})");
                }
            })).ConfigureAwait(false);
        }

        T result = default!;
        await console.Error.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(description, maxValue: 1);
                result = await work(new Reporter(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                })).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>Progress of a job in stages (a build): one bar, or one log line every 10%, per stage.</summary>
    public static async Task<T> RunStagesAsync<T>(CliConsole console, Func<IProgress<OfflineKit.Build.StageProgress>, Task<T>> work)
    {
        if (!console.Interactive)
        {
            var tenths = new Dictionary<string, long>();
            return await work(new StageReporter(p =>
            {
                var tenth = p.Bytes.Total > 0 ? p.Bytes.Done * 10 / p.Bytes.Total : 0;
                lock (tenths)
                {
                    if (p.Bytes.Total >= QuietBelow && (!tenths.TryGetValue(p.Stage, out var last) || last != tenth))
                    {
                        tenths[p.Stage] = tenth;
                        console.ErrorWriter.WriteLine($"{p.Stage}: {tenth * 10}% ({Size(p.Bytes.Done)} of {Size(p.Bytes.Total)})");
                    }
                }
            })).ConfigureAwait(false);
        }

        T result = default!;
        await console.Error.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = await work(new StageReporter(p =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(p.Stage, out var task))
                        {
                            tasks[p.Stage] = task = ctx.AddTask(p.Stage, maxValue: 1);
                        }

                        task.MaxValue = Math.Max(1, p.Bytes.Total);
                        task.Value = p.Bytes.Done;
                    }
                })).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }

    private sealed class StageReporter(Action<OfflineKit.Build.StageProgress> report) : IProgress<OfflineKit.Build.StageProgress>
    {
        public void Report(OfflineKit.Build.StageProgress value) => report(value);
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>Reports on the caller's thread: Progress&lt;T&gt; would post to the thread pool and reorder.</summary>
    private sealed class Reporter(Action<ByteProgress> report) : IProgress<ByteProgress>
    {
        public void Report(ByteProgress value) => report(value);
    }
}
