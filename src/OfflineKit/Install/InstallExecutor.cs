using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

public enum HostOutcome
{
    Done,
    Failed,

    /// <summary>A step waited for a step on another host that failed.</summary>
    Blocked,

    /// <summary>The host's wave did not start: the wave before it failed more hosts than --max-failed allows.</summary>
    NotStarted,
}

public enum StepOutcome
{
    Done,

    /// <summary>The journal says an earlier run did it.</summary>
    DoneEarlier,
    Failed,
    Blocked,

    /// <summary>The host's wave did not start (--max-failed).</summary>
    NotStarted,
}

/// <summary>What happens during a run, for progress bars and logs.</summary>
public abstract record InstallProgress(string Host);

public sealed record StepStarted(string Host, string Step, string Title) : InstallProgress(Host);

public sealed record StepFinished(string Host, string Step, StepOutcome Outcome, string? Message) : InstallProgress(Host);

/// <summary>Something a step found worth saying that does not fail it (clocks a few seconds apart).</summary>
public sealed record StepWarning(string Host, string Step, string Message) : InstallProgress(Host);

/// <summary>Bytes of a host's push so far: done counts skipped files too, so the bar ends full.</summary>
public sealed record TransferProgress(string Host, long Done, long Total, string? File) : InstallProgress(Host);

public sealed record PushStats(int FilesSent, int FilesResumed, int FilesSkipped, long BytesSent)
{
    public static readonly PushStats None = new(0, 0, 0, 0);
}

public sealed record HostResult(
    string Host,
    HostRole Role,
    int StepsDone,
    int StepsTotal,
    HostOutcome Outcome,
    string? FailedStep,
    string? Message,
    string LogPath,
    PushStats Push)
{
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The offline guarantee on this host in this run ("12 of 12 images present, sandbox image pinned"), when it ran.</summary>
    public string? Proof { get; init; }

    /// <summary>The last lines of the host's log, for a failure's summary.</summary>
    public IReadOnlyList<string> LogTail { get; init; } = [];

    /// <summary>The host's wave: 0 for the hosts that start at once (control planes, the depot), 1… for the others (<see cref="Waves"/>).</summary>
    public int Wave { get; init; }
}

public sealed record InstallReport(string RunDirectory, IReadOnlyList<HostResult> Hosts)
{
    public bool Ok => Hosts.All(h => h.Outcome == HostOutcome.Done);

    /// <summary>--max-failed of the run, for the summary.</summary>
    public int MaxFailed { get; init; }

    /// <summary>Each wave's hosts by outcome, in wave order.</summary>
    public IReadOnlyList<WaveSummary> Waves => Hosts.GroupBy(h => h.Wave).OrderBy(g => g.Key)
        .Select(g => new WaveSummary(g.Key, g.Select(h => h.Host).ToList(), g.Count(h => h.Outcome == HostOutcome.Done), g.Count(h => h.Outcome == HostOutcome.Failed), g.Count(h => h.Outcome == HostOutcome.Blocked), g.Count(h => h.Outcome == HostOutcome.NotStarted)))
        .ToList();
}

/// <summary>One wave of a run: its hosts, and how many were done, failed, blocked, or never started.</summary>
public sealed record WaveSummary(int Wave, IReadOnlyList<string> Hosts, int Done, int Failed, int Blocked, int NotStarted)
{
    /// <summary>Hosts of the wave that did not finish: what --max-failed counts.</summary>
    public int NotDone => Failed + Blocked;
}

public sealed record ExecutorOptions
{
    /// <summary>How many hosts work at once; a host waiting on another host's step gives its turn away.</summary>
    public int Parallel { get; init; } = 10;

    /// <summary>This run's folder: one log per host.</summary>
    public required string RunDirectory { get; init; }

    public IProgress<InstallProgress>? Progress { get; init; }

    /// <summary>How many hosts after the control plane (and the depot) make a wave; the next wave starts when one is over.</summary>
    public int WaveSize { get; init; } = Waves.DefaultSize;

    /// <summary>When a wave leaves more hosts than this failed or blocked, the next wave does not start.</summary>
    public int MaxFailed { get; init; } = Waves.DefaultMaxFailed;

    /// <summary>The operator's docker config: where a site registry's credential comes from.</summary>
    public string DockerConfig { get; init; } = Images.RegistryCredentials.DefaultPath();

    /// <summary>Test seam: runs before each step on a host (after the step before it finished).</summary>
    internal Func<string, string, CancellationToken, Task>? BeforeStep { get; init; }
}

/// <summary>
/// Runs a plan: the <see cref="StepScheduler"/> orders the steps across hosts, one runner per kind of
/// action does them (<see cref="ActionRunners"/>), the hosts' facts are compared by a pure function
/// (<see cref="HostComparison"/>). Every command and its output go to the host's log under the run
/// folder; every finished step to the host's journal. A failure stops its host only.
/// </summary>
public static class InstallExecutor
{
    /// <summary>Runs <paramref name="plan"/>; <paramref name="bundle"/> is where pushed files are read, null for a plan that pushes none (reset).</summary>
    public static async Task<InstallReport> RunAsync(InstallPlan plan, LocalBundle? bundle, IRemoteConnector connector, ExecutorOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.RunDirectory);
        using var scheduler = new StepScheduler(new RunState(plan, bundle, connector, options));
        var results = await scheduler.RunAsync(cancellationToken).ConfigureAwait(false);
        return new InstallReport(options.RunDirectory, results) { MaxFailed = options.MaxFailed };
    }

    /// <summary>A new run folder under <paramref name="runsRoot"/>, named by the time (UTC) it starts.</summary>
    public static string NewRunDirectory(string runsRoot, DateTimeOffset now)
    {
        var name = Journal.RunId(now);
        var path = Path.Combine(runsRoot, name);
        for (var i = 2; Directory.Exists(path); i++)
        {
            path = Path.Combine(runsRoot, $"{name}-{i}");
        }

        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A bootstrap token in a message or log line, replaced.</summary>
    internal static string Redact(string text) => KubeadmConfig.RedactSecrets(text);

    internal static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no message)" : lines[^1];
    }
}
