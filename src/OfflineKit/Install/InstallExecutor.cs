using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

public enum HostOutcome
{
    Done,
    Failed,

    /// <summary>A step waited for a step on another host that failed.</summary>
    Blocked,
}

public enum StepOutcome
{
    Done,

    /// <summary>The journal says an earlier run did it.</summary>
    DoneEarlier,
    Failed,
    Blocked,
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

    /// <summary>The last lines of the host's log, for a failure's summary.</summary>
    public IReadOnlyList<string> LogTail { get; init; } = [];
}

public sealed record InstallReport(string RunDirectory, IReadOnlyList<HostResult> Hosts)
{
    public bool Ok => Hosts.All(h => h.Outcome == HostOutcome.Done);
}

public sealed record ExecutorOptions
{
    /// <summary>How many hosts work at once; a host waiting on another host's step gives its turn away.</summary>
    public int Parallel { get; init; } = 10;

    /// <summary>This run's folder: one log per host.</summary>
    public required string RunDirectory { get; init; }

    public IProgress<InstallProgress>? Progress { get; init; }

    /// <summary>Test seam: runs before each step on a host (after the step before it finished).</summary>
    internal Func<string, string, CancellationToken, Task>? BeforeStep { get; init; }
}

/// <summary>
/// Runs a plan: every host at once up to the parallel limit, each host's steps in order, a step that
/// needs another host's step waiting for it. Every command and its output go to the host's log under
/// the run folder; every finished step to the host's journal. A failure stops its host only.
/// </summary>
public static class InstallExecutor
{
    /// <summary>Runs <paramref name="plan"/>; <paramref name="bundle"/> is where pushed files are read, null for a plan that pushes none (reset).</summary>
    public static async Task<InstallReport> RunAsync(InstallPlan plan, LocalBundle? bundle, IRemoteConnector connector, ExecutorOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.RunDirectory);
        var runId = Path.GetFileName(options.RunDirectory.TrimEnd('/'));
        var finished = new ConcurrentDictionary<string, TaskCompletionSource<bool>>(StringComparer.Ordinal);
        foreach (var host in plan.Hosts)
        {
            foreach (var step in host.Steps)
            {
                finished[$"{host.Host.Name}/{step.Id}"] = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        using var turns = new SemaphoreSlim(options.Parallel, options.Parallel);
        var shared = new SharedState(plan, connector);
        var runs = plan.Hosts.Select(async h =>
        {
            using var run = new HostRun(plan, h, bundle, connector, options, runId, finished, turns, shared);
            return await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }).ToList();
        var results = await Task.WhenAll(runs).ConfigureAwait(false);
        return new InstallReport(options.RunDirectory, results);
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

    private sealed class StepFailedException(string message) : Exception(message);

    /// <summary>What the hosts of one run share: the facts they are compared on, and the join command, fetched once.</summary>
    private sealed class SharedState(InstallPlan plan, IRemoteConnector connector)
    {
        private readonly Lock _lock = new();
        private readonly List<(string Host, string ProductUuid, string MachineId, double Offset)> _facts = [];
        private readonly Dictionary<string, Lazy<Task<string>>> _joinCommands = new(StringComparer.Ordinal);

        /// <summary>
        /// Records a host's facts and compares them with those of the hosts recorded before it. The same
        /// product_uuid twice is one machine named twice, or clones Kubernetes cannot tell apart (its docs
        /// ask for a unique one per node): a failure. The same /etc/machine-id is clones of one template:
        /// a warning, it breaks nothing in the cluster.
        /// </summary>
        public (string? Failure, IReadOnlyList<string> Warnings) Compare(string host, string productUuid, string machineId, double offset)
        {
            lock (_lock)
            {
                var warnings = new List<string>();
                foreach (var other in _facts)
                {
                    if (productUuid != Unknown && other.ProductUuid == productUuid)
                    {
                        return ($"{host} and {other.Host} have the same product_uuid {productUuid}: one machine named twice in the inventory, or VM clones Kubernetes cannot tell apart (give each VM its own UUID)", []);
                    }

                    if (machineId != Unknown && other.MachineId == machineId)
                    {
                        warnings.Add($"{host} and {other.Host} have the same /etc/machine-id (VM clones?): give each its own (rm /etc/machine-id && systemd-machine-id-setup)");
                    }

                    var skew = Math.Abs(offset - other.Offset);
                    if (skew > CompareHosts.MaxSkew.TotalSeconds)
                    {
                        return ($"the clocks of {host} and {other.Host} are {skew:0.0} s apart (more than {CompareHosts.MaxSkew.TotalSeconds:0} s): set them (date -s, or chrony from a site server) and run again", []);
                    }

                    if (skew > CompareHosts.WarnSkew.TotalSeconds)
                    {
                        warnings.Add($"the clocks of {host} and {other.Host} are {skew:0.0} s apart; the time step makes the workers follow the control plane");
                    }
                }

                _facts.Add((host, productUuid, machineId, offset));
                return (null, warnings);
            }
        }

        /// <summary>The control plane's join command: fetched by the first worker that asks, in this run, then shared.</summary>
        public Task<string> JoinCommandAsync(string controlPlane, Action<string> log, CancellationToken cancellationToken)
        {
            Lazy<Task<string>> lazy;
            lock (_lock)
            {
                if (!_joinCommands.TryGetValue(controlPlane, out lazy!))
                {
                    lazy = new Lazy<Task<string>>(() => FetchAsync(plan.For(controlPlane).Host, log, cancellationToken));
                    _joinCommands[controlPlane] = lazy;
                }
            }

            return lazy.Value;
        }

        private async Task<string> FetchAsync(InventoryHost host, Action<string> log, CancellationToken cancellationToken)
        {
            log($"on {host.Name}: $ {FetchJoinCommand.Command.Script}   (its output holds a token: not logged)");
            await using var remote = await connector.ConnectAsync(host, cancellationToken).ConfigureAwait(false);
            var result = await remote.RunAsync(FetchJoinCommand.Command, cancellationToken).ConfigureAwait(false);
            if (!result.Ok)
            {
                throw new StepFailedException($"`{FetchJoinCommand.Command.Script}` on {host.Name} exited {result.ExitStatus}: {Redact(LastLine(result.Stderr))}");
            }

            // The join line, whatever else a kubeadm version prints around it (warnings go to stderr, but not always).
            return result.Stdout.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(KubeadmConfig.IsJoinCommand)
                ?? throw new StepFailedException($"`{FetchJoinCommand.Command.Script}` on {host.Name} did not print a kubeadm join command");
        }
    }

    /// <summary>What preflight.sh --facts prints for a fact it cannot read.</summary>
    private const string Unknown = "unknown";

    /// <summary>A bootstrap token in a message or log line, replaced.</summary>
    internal static string Redact(string text) => KubeadmConfig.RedactTokens(text);

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no message)" : lines[^1];
    }

    private sealed class HostRun(
        InstallPlan plan,
        HostPlan hostPlan,
        LocalBundle? bundle,
        IRemoteConnector connector,
        ExecutorOptions options,
        string runId,
        ConcurrentDictionary<string, TaskCompletionSource<bool>> finished,
        SemaphoreSlim turns,
        SharedState shared) : IDisposable
    {
        private readonly string _name = hostPlan.Host.Name;
        private readonly string _logPath = Path.Combine(options.RunDirectory, hostPlan.Host.Name + ".log");
        private const int TailLines = 12;
        private readonly List<string> _warnings = [];
        private readonly Queue<string> _tail = new();
        private PushStats _push = PushStats.None;
        private StreamWriter? _log;

        public async Task<HostResult> RunAsync(CancellationToken cancellationToken)
        {
            _log = new StreamWriter(_logPath, append: false, new UTF8Encoding(false)) { AutoFlush = true };
            var done = 0;
            string? failedStep = null;
            string? message = null;
            var outcome = HostOutcome.Done;
            IRemoteHost? remote = null;
            var holding = false;
            try
            {
                await turns.WaitAsync(cancellationToken).ConfigureAwait(false);
                holding = true;
                Log($"{plan.Action} {plan.BundleName} on {_name} ({hostPlan.Host.Target}, {InstallPlan.RoleName(hostPlan.Host.Role)}), run {runId}");
                failedStep = "connect";
                remote = await connector.ConnectAsync(hostPlan.Host, cancellationToken).ConfigureAwait(false);
                Log($"connected to {hostPlan.Host.Target}");
                failedStep = null;
                var journal = await ReadJournalAsync(remote, cancellationToken).ConfigureAwait(false);
                var doneEarlier = Journal.DoneSteps(journal, plan.BundleName);

                // Push and verify prove the bundle to the steps that use it: when the journal records every
                // other step done, nothing will, and a rerun of a finished install is a quick look.
                var finishedEarlier = hostPlan.Steps.Any(s => !s.RunsEveryRun) && hostPlan.Steps.Where(s => !s.RunsEveryRun).All(s => doneEarlier.Contains(s.Id));
                if (finishedEarlier)
                {
                    Log("the journal records every step of this bundle done: nothing to push or check");
                }

                foreach (var step in hostPlan.Steps)
                {
                    failedStep = step.Id;
                    if ((!step.RunsEveryRun || finishedEarlier) && doneEarlier.Contains(step.Id))
                    {
                        Log($"== {step.Id}: done in an earlier run (journal)");
                        options.Progress?.Report(new StepFinished(_name, step.Id, StepOutcome.DoneEarlier, null));
                        Finish(step, true);
                        done++;
                        continue;
                    }

                    if (step.Needs.Count > 0)
                    {
                        // Give the turn away while waiting, or a full set of waiting hosts could starve the one they wait for.
                        turns.Release();
                        holding = false;
                        Log($"== {step.Id}: waiting for {string.Join(", ", step.Needs)}");
                        var ok = await Task.WhenAll(step.Needs.Select(async n => n.AfterOnly | await finished[$"{n.Host}/{n.Step}"].Task.ConfigureAwait(false))).WaitAsync(cancellationToken).ConfigureAwait(false);
                        await turns.WaitAsync(cancellationToken).ConfigureAwait(false);
                        holding = true;
                        if (!ok.All(x => x))
                        {
                            outcome = HostOutcome.Blocked;
                            message = $"{step.Id} needs {string.Join(", ", step.Needs.Where(n => !n.AfterOnly))}, which did not finish";
                            Log($"== {step.Id}: BLOCKED: {message}");
                            options.Progress?.Report(new StepFinished(_name, step.Id, StepOutcome.Blocked, message));
                            try
                            {
                                await AppendJournalAsync(remote, step.Id, JournalEntry.Blocked, message, cancellationToken).ConfigureAwait(false);
                            }
                            catch (OperationFailedException e)
                            {
                                Log(e.Message);
                            }

                            break;
                        }
                    }

                    if (options.BeforeStep is { } hook)
                    {
                        await hook(_name, step.Id, cancellationToken).ConfigureAwait(false);
                    }

                    Log($"== {step.Id}: {step.Title}");
                    options.Progress?.Report(new StepStarted(_name, step.Id, step.Title));
                    try
                    {
                        foreach (var action in step.Actions)
                        {
                            await RunActionAsync(remote, step, action, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    catch (StepFailedException e)
                    {
                        outcome = HostOutcome.Failed;
                        message = e.Message;
                        Log($"== {step.Id}: FAILED: {message}");
                        try
                        {
                            await AppendJournalAsync(remote, step.Id, JournalEntry.Failed, message, cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationFailedException e2)
                        {
                            // The step's own failure is the news; a journal that cannot record it is a footnote in the log.
                            Log(e2.Message);
                        }

                        options.Progress?.Report(new StepFinished(_name, step.Id, StepOutcome.Failed, message));
                        break;
                    }

                    await AppendJournalAsync(remote, step.Id, JournalEntry.Done, null, cancellationToken).ConfigureAwait(false);
                    Log($"== {step.Id}: done");
                    options.Progress?.Report(new StepFinished(_name, step.Id, StepOutcome.Done, null));
                    Finish(step, true);
                    done++;
                }

                if (outcome == HostOutcome.Done)
                {
                    failedStep = null;
                }
            }
            catch (OfflineKitException e)
            {
                outcome = HostOutcome.Failed;
                message = e.Message;
                Log($"FAILED{(failedStep is null ? string.Empty : $" at {failedStep}")}: {message}");
                options.Progress?.Report(new StepFinished(_name, failedStep ?? "connect", StepOutcome.Failed, message));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A bug or an SSH failure nobody foresaw: it stops this host, not the others, and the log keeps the trace.
                outcome = HostOutcome.Failed;
                message = $"internal error (a bug; the log has the details): {e.GetType().Name}: {e.Message}";
                Log($"FAILED{(failedStep is null ? string.Empty : $" at {failedStep}")}: {e}");
                options.Progress?.Report(new StepFinished(_name, failedStep ?? "connect", StepOutcome.Failed, message));
            }
            finally
            {
                // Whatever did not finish here never will in this run: release the hosts waiting on it.
                foreach (var step in hostPlan.Steps)
                {
                    Finish(step, false);
                }

                if (holding)
                {
                    turns.Release();
                }

                if (remote is not null)
                {
                    await remote.DisposeAsync().ConfigureAwait(false);
                }

                Log($"result: {outcome}, {done} of {hostPlan.Steps.Count} steps done");
                await _log.DisposeAsync().ConfigureAwait(false);
            }

            return new HostResult(_name, hostPlan.Host.Role, done, hostPlan.Steps.Count, outcome, outcome == HostOutcome.Done ? null : failedStep, message, _logPath, _push)
            {
                Warnings = _warnings,
                LogTail = [.. _tail],
            };
        }

        public void Dispose() => _log?.Dispose();

        private LocalBundle Bundle => bundle ?? throw new InvalidOperationException("a plan that pushes files needs the bundle");

        private void Finish(HostStep step, bool ok) => finished[$"{_name}/{step.Id}"].TrySetResult(ok);

        private async Task<IReadOnlyList<JournalEntry>> ReadJournalAsync(IRemoteHost remote, CancellationToken cancellationToken)
        {
            if (hostPlan.JournalPath is null)
            {
                return [];
            }

            var result = await RunLoggedAsync(remote, Journal.ReadCommand(hostPlan.JournalPath), cancellationToken, quiet: true).ConfigureAwait(false);
            return Journal.Parse(result.Stdout);
        }

        private async Task AppendJournalAsync(IRemoteHost remote, string step, string status, string? message, CancellationToken cancellationToken)
        {
            if (hostPlan.JournalPath is null)
            {
                return;
            }

            var entry = new JournalEntry(DateTimeOffset.UtcNow, plan.BundleName, step, status, runId, message);
            var result = await RunLoggedAsync(remote, Journal.AppendCommand(hostPlan.JournalPath, entry), cancellationToken).ConfigureAwait(false);
            if (!result.Ok)
            {
                throw new OperationFailedException($"{_name}: cannot write the journal {hostPlan.JournalPath}: {LastLine(result.Stderr)}");
            }
        }

        private async Task RunActionAsync(IRemoteHost remote, HostStep step, HostAction action, CancellationToken cancellationToken)
        {
            switch (action)
            {
                case RunCommand run:
                    var result = await RunLoggedAsync(remote, run.Command, cancellationToken).ConfigureAwait(false);
                    if (!result.Ok)
                    {
                        throw new StepFailedException($"`{run.Command.Script}` exited {result.ExitStatus}: {Redact(LastLine(result.Stderr))}");
                    }

                    break;
                case PushFiles push:
                    _push = await PushAsync(remote, push, cancellationToken).ConfigureAwait(false);
                    break;
                case WriteFile write:
                    await WriteAsync(remote, write, cancellationToken).ConfigureAwait(false);
                    break;
                case FetchJoinCommand join:
                    var line = await shared.JoinCommandAsync(join.ControlPlane, Log, cancellationToken).ConfigureAwait(false);
                    await WriteAsync(remote, new WriteFile(join.RemotePath, line + "\n", $"the join command from {join.ControlPlane}", Secret: true), cancellationToken).ConfigureAwait(false);
                    break;
                case CompareHosts compare:
                    await CompareAsync(remote, step, compare, cancellationToken).ConfigureAwait(false);
                    break;
                case CheckSums check:
                    var sums = await RunLoggedAsync(remote, check.Command, cancellationToken).ConfigureAwait(false);
                    if (!sums.Ok)
                    {
                        var bad = sums.Stdout.Split('\n')
                            .Where(l => l.Contains(": FAILED", StringComparison.Ordinal))
                            .Select(l => l[..l.LastIndexOf(": FAILED", StringComparison.Ordinal)])
                            .ToList();
                        throw new StepFailedException(bad.Count > 0
                            ? $"{string.Join(", ", bad)} {(bad.Count == 1 ? "does" : "do")} not match SHA256SUMS on the host; this host stops here (run again to push {(bad.Count == 1 ? "it" : "them")} anew)"
                            : $"sha256sum --check failed on the host: {LastLine(sums.Stderr)}");
                    }

                    break;
                case MissingFromBundle missing:
                    throw new StepFailedException(missing.Message);
                default:
                    throw new InvalidOperationException($"unknown action {action.GetType().Name}");
            }
        }

        private async Task WriteAsync(IRemoteHost remote, WriteFile write, CancellationToken cancellationToken)
        {
            if (write.Secret)
            {
                var made = await RunLoggedAsync(remote, write.PrivateCommand, cancellationToken).ConfigureAwait(false);
                if (!made.Ok)
                {
                    throw new StepFailedException($"cannot make {write.RemotePath} private: {LastLine(made.Stderr)}");
                }
            }

            Log($"sftp write {write.RemotePath} ({write.What}{(write.Secret ? "; content not logged" : string.Empty)})");
            await using var content = new MemoryStream(Encoding.UTF8.GetBytes(write.Content));
            await remote.UploadAsync(content, write.RemotePath, 0, null, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Reads the host's machine-id and clock (the clock against ours, halfway through the round trip) and compares it with the hosts before it.</summary>
        private async Task CompareAsync(IRemoteHost remote, HostStep step, CompareHosts compare, CancellationToken cancellationToken)
        {
            var sent = DateTimeOffset.UtcNow;
            var result = await RunLoggedAsync(remote, compare.Command, cancellationToken).ConfigureAwait(false);
            var back = DateTimeOffset.UtcNow;
            if (!result.Ok)
            {
                throw new StepFailedException($"`{compare.Command.Script}` exited {result.ExitStatus}: {LastLine(result.Stderr)}");
            }

            var facts = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            if (!facts.TryGetValue("clock", out var clockText) || !double.TryParse(clockText, NumberStyles.Float, CultureInfo.InvariantCulture, out var clock))
            {
                throw new StepFailedException($"`{compare.Command.Script}` printed no clock=SECONDS line");
            }

            var midpoint = (sent.ToUnixTimeMilliseconds() + back.ToUnixTimeMilliseconds()) / 2000.0;
            var offset = clock - midpoint;
            Log($"clock {offset:+0.000;-0.000} s from this machine's (round trip {(back - sent).TotalSeconds:0.000} s)");
            var (failure, warnings) = shared.Compare(_name, facts.GetValueOrDefault("product-uuid", Unknown), facts.GetValueOrDefault("machine-id", Unknown), offset);
            if (failure is not null)
            {
                throw new StepFailedException(failure);
            }

            foreach (var warning in warnings)
            {
                Log("warning: " + warning);
                _warnings.Add(warning);
                options.Progress?.Report(new StepWarning(_name, step.Id, warning));
            }
        }

        private async Task<PushStats> PushAsync(IRemoteHost remote, PushFiles push, CancellationToken cancellationToken)
        {
            var total = push.TotalSize;
            long done = 0;
            var sent = 0;
            var resumed = 0;
            var skipped = 0;
            long bytesSent = 0;
            options.Progress?.Report(new TransferProgress(_name, 0, total, null));

            // What is there already: stat each file; hash those at full size in one command.
            var plans = new List<(PushFile File, long Offset)>();
            var fullSize = new List<PushFile>();
            foreach (var file in push.Files)
            {
                var there = await remote.StatAsync($"{push.RemoteDirectory}/{file.Path}", cancellationToken).ConfigureAwait(false);
                if (there is null || there.Size > file.Size)
                {
                    plans.Add((file, 0));
                }
                else if (there.Size == file.Size)
                {
                    fullSize.Add(file);
                }
                else
                {
                    plans.Add((file, there.Size));
                }
            }

            var hashes = await RemoteHashesAsync(remote, push, fullSize.Select(f => f.Path), cancellationToken).ConfigureAwait(false);
            foreach (var file in fullSize)
            {
                if (hashes.TryGetValue(file.Path, out var hash) && hash == file.Sha256)
                {
                    Log($"skip {file.Path}: already there, sha256 matches");
                    skipped++;
                    done += file.Size;
                }
                else
                {
                    plans.Add((file, 0));
                }
            }

            options.Progress?.Report(new TransferProgress(_name, done, total, null));
            await CheckRoomAsync(remote, push, plans.Sum(p => p.File.Size - p.Offset), cancellationToken).ConfigureAwait(false);
            var resumedFiles = new List<PushFile>();
            foreach (var (file, offset) in plans.OrderBy(p => push.Files.ToList().IndexOf(p.File)))
            {
                var path = $"{push.RemoteDirectory}/{file.Path}";
                Log(offset == 0
                    ? $"sftp put {file.Path} -> {path} ({file.Size} bytes)"
                    : $"sftp put {file.Path} -> {path}: continuing at byte {offset} of {file.Size} ({file.Size - offset} to send)");
                var before = done;
                await using (var source = Bundle.OpenRead(file.Path, offset))
                {
                    // SSH.NET reports each acknowledged write from a pool thread, so reports can arrive out of order: keep the highest.
                    long highest = 0;
                    var bytes = new Progress(n =>
                    {
                        long seen;
                        while (n > (seen = Interlocked.Read(ref highest)))
                        {
                            if (Interlocked.CompareExchange(ref highest, n, seen) == seen)
                            {
                                options.Progress?.Report(new TransferProgress(_name, before + offset + n, total, file.Path));
                                break;
                            }
                        }
                    });
                    await remote.UploadAsync(source, path, offset, bytes, cancellationToken).ConfigureAwait(false);
                }

                bytesSent += file.Size - offset;
                done += file.Size;
                if (offset > 0)
                {
                    resumed++;
                    resumedFiles.Add(file);
                }
                else
                {
                    sent++;
                }

                options.Progress?.Report(new TransferProgress(_name, done, total, file.Path));
            }

            // A continued file is only as good as the part that was there: check it now, and send it whole if it is wrong.
            if (resumedFiles.Count > 0)
            {
                var check = await RemoteHashesAsync(remote, push, resumedFiles.Select(f => f.Path), cancellationToken).ConfigureAwait(false);
                foreach (var file in resumedFiles.Where(f => !check.TryGetValue(f.Path, out var h) || h != f.Sha256))
                {
                    Log($"{file.Path}: the continued file does not match; sending it whole");
                    await using var source = Bundle.OpenRead(file.Path);
                    await remote.UploadAsync(source, $"{push.RemoteDirectory}/{file.Path}", 0, null, cancellationToken).ConfigureAwait(false);
                    bytesSent += file.Size;
                }
            }

            var stats = new PushStats(sent, resumed, skipped, bytesSent);
            Log($"push: {sent} sent, {resumed} continued, {skipped} already there; {bytesSent} bytes sent");
            return stats;
        }

        /// <summary>Fails the push before the first byte when the host's folder has no room for what is to be sent.</summary>
        private async Task CheckRoomAsync(IRemoteHost remote, PushFiles push, long toSend, CancellationToken cancellationToken)
        {
            if (toSend == 0)
            {
                return;
            }

            var df = await RunLoggedAsync(remote, push.FreeSpaceCommand, cancellationToken).ConfigureAwait(false);
            var fields = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!df.Ok || fields is not { Length: >= 4 } || !long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var freeKb))
            {
                Log("cannot tell the free space there (df gave no answer); pushing anyway");
                return;
            }

            if (freeKb * 1024 < toSend + PushFiles.Headroom)
            {
                throw new StepFailedException(
                    $"{push.RemoteDirectory} has {PushFiles.SizeText(freeKb * 1024)} free; the push needs {PushFiles.SizeText(toSend)} (and {PushFiles.SizeText(PushFiles.Headroom)} to spare): free some space there, or set a stateDir on a larger disk");
            }
        }

        private async Task<Dictionary<string, string>> RemoteHashesAsync(IRemoteHost remote, PushFiles push, IEnumerable<string> paths, CancellationToken cancellationToken)
        {
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            var list = paths.ToList();
            if (list.Count == 0)
            {
                return hashes;
            }

            var result = await RunLoggedAsync(remote, push.HashCommand(list), cancellationToken).ConfigureAwait(false);
            foreach (var line in result.Stdout.Split('\n'))
            {
                // "<64 hex>  <path>"; a file sha256sum could not read is simply absent, so it is sent again.
                if (line.Length > 66 && line[64] == ' ')
                {
                    hashes[line[66..]] = line[..64];
                }
            }

            return hashes;
        }

        private async Task<RemoteResult> RunLoggedAsync(IRemoteHost remote, RemoteCommand command, CancellationToken cancellationToken, bool quiet = false)
        {
            Log((command.AsRoot && !hostPlan.Host.IsRoot ? "# (sudo) " : "$ ") + command.Script);
            var result = await remote.RunAsync(command, cancellationToken).ConfigureAwait(false);
            if (!quiet && result.Stdout.Length > 0)
            {
                Log("  stdout: " + result.Stdout.TrimEnd().Replace("\n", "\n          ", StringComparison.Ordinal));
            }

            if (result.Stderr.Length > 0)
            {
                Log("  stderr: " + result.Stderr.TrimEnd().Replace("\n", "\n          ", StringComparison.Ordinal));
            }

            if (result.ExitStatus != 0)
            {
                Log($"  exit {result.ExitStatus}");
            }

            return result;
        }

        private void Log(string line)
        {
            lock (_warnings)
            {
                // Scripts print no token; this is the second line of defence for whatever prints one anyway.
                var text = $"{DateTimeOffset.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {Redact(line)}";
                _log?.WriteLine(text);
                foreach (var l in text.Split('\n'))
                {
                    _tail.Enqueue(l);
                    if (_tail.Count > TailLines)
                    {
                        _tail.Dequeue();
                    }
                }
            }
        }
    }

    /// <summary>Reports on the caller's thread, unlike Progress&lt;T&gt;, which posts to the pool and reorders.</summary>
    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
