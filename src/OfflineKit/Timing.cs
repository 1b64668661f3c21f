using System.Diagnostics;

namespace OfflineKit;

/// <summary>
/// Stage timings for performance work, printed to stderr only when OFFLINEKIT_TIMING=1: the time
/// since the process started, the stage's own duration and the JIT's work so far. Silent (and nearly free) otherwise.
/// </summary>
public static class Timing
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("OFFLINEKIT_TIMING") == "1";

    // The process's start: OFFLINEKIT_TIMING_T0 (nanoseconds since the epoch, as `date +%s%N` prints
    // them just before the exec) when given, else the kernel's start time (10 ms granularity). Read
    // only when timing is on: an ordinary run does not look at its own process.
    private static readonly Lazy<DateTime> Started = new(() =>
        long.TryParse(Environment.GetEnvironmentVariable("OFFLINEKIT_TIMING_T0"), out var t0)
            ? DateTime.UnixEpoch.AddTicks(t0 / 100)
            : Process.GetCurrentProcess().StartTime.ToUniversalTime());

    /// <summary>Prints "[timing] +T ms  what (D ms)" when enabled; <paramref name="since"/> is a <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public static void Mark(string what, long since = 0)
    {
        if (!Enabled)
        {
            return;
        }

        var sinceStart = (DateTime.UtcNow - Started.Value).TotalMilliseconds;
        var own = since == 0 ? string.Empty : $" ({Stopwatch.GetElapsedTime(since).TotalMilliseconds:F0} ms)";
        // The JIT's share so far: what ReadyToRun code did not cover.
        var jit = $"[jit {System.Runtime.JitInfo.GetCompiledMethodCount()} methods, {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms]";
        var gc = GC.GetGCMemoryInfo();
        var memory = $"[heap {gc.HeapSizeBytes / 1e6:F0} MB, committed {gc.TotalCommittedBytes / 1e6:F0} MB, allocated {GC.GetTotalAllocatedBytes() / 1e6:F0} MB, {Environment.WorkingSet / 1e6:F0} MB resident]";
        Console.Error.WriteLine($"[timing] +{sinceStart:F0} ms  {what}{own}  {jit} {memory}");
    }

    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;
}
