using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace OfflineKit.Install;

/// <summary>
/// Schedules a plan's steps: every host at once up to the parallel limit, each host's steps in order, a
/// step that needs another host's step waiting for it (giving its turn away meanwhile). It reads and
/// writes each host's journal and log; what an action does is its runner's business (<see cref="ActionRunners"/>).
/// A failure stops its host only, and releases the hosts waiting on it as blocked.
/// </summary>
internal sealed class StepScheduler : IDisposable
{
    private const int TailLines = 12;

    private readonly RunState _run;
    private readonly string _runId;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _finished = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _turns;

    public StepScheduler(RunState run)
    {
        _run = run;
        _runId = Path.GetFileName(run.Options.RunDirectory.TrimEnd('/'));
        _turns = new SemaphoreSlim(run.Options.Parallel, run.Options.Parallel);
        foreach (var host in run.Plan.Hosts)
        {
            foreach (var step in host.Steps)
            {
                _finished[Key(host.Host.Name, step.Id)] = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>
    /// Every host, in waves (<see cref="Waves"/>): wave 0 and wave 1 start at once, each later wave when the one
    /// before it is over and left no more than --max-failed hosts failed or blocked; otherwise the hosts of the
    /// waves left are not started (a rerun starts them, the journal skipping what is done). Results in plan order.
    /// </summary>
    public async Task<IReadOnlyList<HostResult>> RunAsync(CancellationToken cancellationToken)
    {
        var options = _run.Options;
        var waves = Waves.Split(_run.Plan.Hosts, options.WaveSize);
        var results = new Dictionary<string, HostResult>(StringComparer.Ordinal);
        Task<HostResult[]> Start(int wave) => Task.WhenAll(waves[wave].Select(async h => await RunHostAsync(h, cancellationToken).ConfigureAwait(false) with { Wave = wave }));

        var first = Start(0);
        string? stop = null;
        for (var wave = 1; wave < waves.Count; wave++)
        {
            if (stop is not null)
            {
                foreach (var h in waves[wave])
                {
                    results[h.Host.Name] = NotStarted(h, wave, stop);
                }

                continue;
            }

            var done = await Start(wave).ConfigureAwait(false);
            foreach (var r in done)
            {
                results[r.Host] = r;
            }

            var failed = done.Count(r => r.Outcome != HostOutcome.Done);
            if (failed > options.MaxFailed && wave + 1 < waves.Count)
            {
                stop = $"wave {wave} left {failed} of {done.Length} hosts not done, more than --max-failed {options.MaxFailed}; run install again to resume";
            }
        }

        foreach (var r in await first.ConfigureAwait(false))
        {
            results[r.Host] = r;
        }

        return _run.Plan.Hosts.Select(h => results[h.Host.Name]).ToList();
    }

    /// <summary>A host whose wave did not start: whatever waits on its steps is released, as after a failure.</summary>
    private HostResult NotStarted(HostPlan hostPlan, int wave, string why)
    {
        foreach (var step in hostPlan.Steps)
        {
            _finished[Key(hostPlan.Host.Name, step.Id)].TrySetResult(false);
        }

        _run.Options.Progress?.Report(new StepFinished(hostPlan.Host.Name, hostPlan.Steps.Count > 0 ? hostPlan.Steps[0].Id : "connect", StepOutcome.NotStarted, why));
        return new HostResult(hostPlan.Host.Name, hostPlan.Host.Role, 0, hostPlan.Steps.Count, HostOutcome.NotStarted, null, why, string.Empty, PushStats.None) { Wave = wave };
    }

    public void Dispose() => _turns.Dispose();

    private static string Key(string host, string step) => $"{host}/{step}";

    private async Task<HostResult> RunHostAsync(HostPlan hostPlan, CancellationToken cancellationToken)
    {
        var options = _run.Options;
        var plan = _run.Plan;
        var name = hostPlan.Host.Name;
        var logPath = Path.Combine(options.RunDirectory, name + ".log");
        var tail = new Queue<string>();
        await using var logWriter = new StreamWriter(logPath, append: false, new UTF8Encoding(false)) { AutoFlush = true };
        void Log(string line)
        {
            lock (tail)
            {
                // Scripts print no token; this is the second line of defence for whatever prints one anyway.
                var text = $"{DateTimeOffset.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {InstallExecutor.Redact(line)}";
                logWriter.WriteLine(text);
                foreach (var l in text.Split('\n'))
                {
                    tail.Enqueue(l);
                    if (tail.Count > TailLines)
                    {
                        tail.Dequeue();
                    }
                }
            }
        }

        void Finish(HostStep step, bool ok) => _finished[Key(name, step.Id)].TrySetResult(ok);

        var done = 0;
        string? failedStep = null;
        string? message = null;
        var outcome = HostOutcome.Done;
        Ssh.IRemoteHost? remote = null;
        HostSession? session = null;
        var holding = false;
        try
        {
            await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
            holding = true;
            Log($"{plan.Action} {plan.BundleName} on {name} ({hostPlan.Host.Target}, {InstallPlan.RoleName(hostPlan.Host.Role)}), run {_runId}");
            failedStep = "connect";
            remote = await _run.Connector.ConnectAsync(hostPlan.Host, cancellationToken).ConfigureAwait(false);
            Log($"connected to {hostPlan.Host.Target}");
            session = new HostSession(hostPlan, remote, _run, Log);
            failedStep = null;
            var journal = new HostJournal(session, plan.BundleName, _runId);
            var doneEarlier = Journal.DoneSteps(await journal.ReadAsync(cancellationToken).ConfigureAwait(false), plan.BundleName);

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
                    options.Progress?.Report(new StepFinished(name, step.Id, StepOutcome.DoneEarlier, null));
                    Finish(step, true);
                    done++;
                    continue;
                }

                if (step.Needs.Count > 0)
                {
                    // Give the turn away while waiting, or a full set of waiting hosts could starve the one they wait for.
                    _turns.Release();
                    holding = false;
                    Log($"== {step.Id}: waiting for {string.Join(", ", step.Needs)}");
                    var ok = await Task.WhenAll(step.Needs.Select(async n => n.AfterOnly | await _finished[Key(n.Host, n.Step)].Task.ConfigureAwait(false))).WaitAsync(cancellationToken).ConfigureAwait(false);
                    await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
                    holding = true;
                    if (!ok.All(x => x))
                    {
                        outcome = HostOutcome.Blocked;
                        message = $"{step.Id} needs {string.Join(", ", step.Needs.Where(n => !n.AfterOnly))}, which did not finish";
                        Log($"== {step.Id}: BLOCKED: {message}");
                        options.Progress?.Report(new StepFinished(name, step.Id, StepOutcome.Blocked, message));
                        await journal.TryAppendAsync(step.Id, JournalEntry.Blocked, message, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                }

                if (options.BeforeStep is { } hook)
                {
                    await hook(name, step.Id, cancellationToken).ConfigureAwait(false);
                }

                Log($"== {step.Id}: {step.Title}");
                options.Progress?.Report(new StepStarted(name, step.Id, step.Title));
                try
                {
                    foreach (var action in step.Actions)
                    {
                        await ActionRunners.RunAsync(session, step, action, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (StepFailedException e)
                {
                    outcome = HostOutcome.Failed;
                    message = e.Message;
                    Log($"== {step.Id}: FAILED: {message}");

                    // The step's own failure is the news; a journal that cannot record it is a footnote in the log.
                    await journal.TryAppendAsync(step.Id, JournalEntry.Failed, message, cancellationToken).ConfigureAwait(false);
                    options.Progress?.Report(new StepFinished(name, step.Id, StepOutcome.Failed, message));
                    break;
                }

                await journal.AppendAsync(step.Id, JournalEntry.Done, null, cancellationToken, step.Site).ConfigureAwait(false);
                Log($"== {step.Id}: done");
                options.Progress?.Report(new StepFinished(name, step.Id, StepOutcome.Done, null));
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
            options.Progress?.Report(new StepFinished(name, failedStep ?? "connect", StepOutcome.Failed, message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or an SSH failure nobody foresaw: it stops this host, not the others, and the log keeps the trace.
            outcome = HostOutcome.Failed;
            message = $"internal error (a bug; the log has the details): {e.GetType().Name}: {e.Message}";
            Log($"FAILED{(failedStep is null ? string.Empty : $" at {failedStep}")}: {e}");
            options.Progress?.Report(new StepFinished(name, failedStep ?? "connect", StepOutcome.Failed, message));
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
                _turns.Release();
            }

            if (remote is not null)
            {
                await remote.DisposeAsync().ConfigureAwait(false);
            }

            Log($"result: {outcome}, {done} of {hostPlan.Steps.Count} steps done");
        }

        return new HostResult(name, hostPlan.Host.Role, done, hostPlan.Steps.Count, outcome, outcome == HostOutcome.Done ? null : failedStep, message, logPath, session?.Push ?? PushStats.None)
        {
            Warnings = session?.Warnings ?? [],
            Proof = session?.Proof,
            LogTail = [.. tail],
        };
    }
}

/// <summary>A host's journal during a run: read first, a line added after each step.</summary>
internal sealed class HostJournal(HostSession session, string bundleName, string runId)
{
    private readonly string? _path = session.HostPlan.JournalPath;

    public async Task<IReadOnlyList<JournalEntry>> ReadAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return [];
        }

        var result = await session.RunLoggedAsync(Journal.ReadCommand(_path), cancellationToken, quiet: true).ConfigureAwait(false);
        return Journal.Parse(result.Stdout);
    }

    public async Task AppendAsync(string step, string status, string? message, CancellationToken cancellationToken, IReadOnlyList<RenderedAddon>? site = null)
    {
        if (_path is null)
        {
            return;
        }

        var entry = new JournalEntry(DateTimeOffset.UtcNow, bundleName, step, status, runId, message, site is { Count: > 0 } ? site : null);
        var result = await session.RunLoggedAsync(Journal.AppendCommand(_path, entry), cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new OperationFailedException($"{session.Name}: cannot write the journal {_path}: {InstallExecutor.LastLine(result.Stderr)}");
        }
    }

    /// <summary>Records a failure or a block; a journal that cannot record it goes to the log only.</summary>
    public async Task TryAppendAsync(string step, string status, string? message, CancellationToken cancellationToken)
    {
        try
        {
            await AppendAsync(step, status, message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationFailedException e)
        {
            session.Log(e.Message);
        }
    }
}
