using System.Diagnostics;

namespace OfflineKit;

/// <summary>
/// Stage timings for performance work, printed to stderr only when OFFLINEKIT_TIMING=1: the time
/// since the process started, the stage's own duration and the JIT's work so far. Silent (and nearly free) otherwise.
/// </summary>
public static class Timing
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("OFFLINEKIT_TIMING") == "1";

    /// <summary>Prints "[timing] +T ms  what (D ms)" when enabled; <paramref name="since"/> is a <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public static void Mark(string what, long since = 0)
    {
        if (!Enabled)
        {
            return;
        }

        var now = DateTime.Now;
        var sinceStart = (now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;
        var own = since == 0 ? string.Empty : $" ({Stopwatch.GetElapsedTime(since).TotalMilliseconds:F0} ms)";
        // The JIT's share so far: what ReadyToRun code did not cover.
        var jit = $"[jit {System.Runtime.JitInfo.GetCompiledMethodCount()} methods, {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms]";
        Console.Error.WriteLine($"[timing] +{sinceStart:F0} ms  {what}{own}  {jit}");
    }

    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;
}
