using System.Collections.Concurrent;
using OfflineKit.Install;
using OfflineKit.Install.Ssh;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

/// <summary>The executor's order, waiting, blocking and journal, against in-memory hosts (the lab tests cover real SSH).</summary>
public sealed class InstallExecutorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static InventoryHost Host(string name, HostRole role) =>
        new(name, name, 22, "root", new HostAuth(null, null, Secret.Inline("x", "inv:1")), SudoSettings.None, [role], "/state", 1);

    private static HostStep Step(string id, string script, params StepRef[] needs) => new(id, id, [new RunCommand(new RemoteCommand(script))], needs);

    private static InstallPlan Plan(params (InventoryHost Host, HostStep[] Steps)[] hosts) =>
        new("b", 0, hosts.Select(h => new HostPlan(h.Host, "/state/b", "/state/journal", h.Steps)).ToList());

    private async Task<InstallReport> Run(InstallPlan plan, FakeHosts hosts, int parallel = 10, int waveSize = Waves.DefaultSize, int maxFailed = Waves.DefaultMaxFailed)
    {
        var bundle = await LocalBundle.OpenAsync(await Bundles.WriteDirectoryAsync(_dir[Guid.NewGuid().ToString()]));
        return await InstallExecutor.RunAsync(plan, bundle, hosts, new ExecutorOptions { Parallel = parallel, WaveSize = waveSize, MaxFailed = maxFailed, RunDirectory = InstallExecutor.NewRunDirectory(_dir["runs"], DateTimeOffset.UtcNow) });
    }

    /// <summary>A control plane whose last step runs after every worker's join, done or not (the addons step), and <paramref name="workers"/> workers.</summary>
    private static InstallPlan WavePlan(int workers) => Plan(
        [
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp"), Step("addons", "addons cp", [.. Enumerable.Range(1, workers).Select(i => new StepRef($"w{i}", "join", AfterOnly: true))])]),
            .. Enumerable.Range(1, workers).Select(i => (Host($"w{i}", HostRole.Worker), new[] { Step("prepare", $"prepare w{i}"), Step("join", $"join w{i}", new StepRef("cp", "init")) })),
        ]);

    [Fact]
    public async Task A_worker_step_waits_for_the_control_plane_step_it_needs_even_with_one_host_at_a_time()
    {
        var hosts = new FakeHosts();
        var plan = Plan(
            (Host("w1", HostRole.Worker), [Step("prepare", "prepare w1"), Step("join", "join w1", new StepRef("cp", "init"))]),
            (Host("cp", HostRole.ControlPlane), [Step("prepare", "prepare cp"), Step("init", "init cp")]));

        var report = await Run(plan, hosts, parallel: 1);

        Assert.True(report.Ok, string.Join("; ", report.Hosts.Select(h => h.Message)));
        var order = hosts.Commands.ToList();
        Assert.True(order.IndexOf("init cp") < order.IndexOf("join w1"), string.Join(", ", order));
    }

    [Fact]
    public async Task No_more_hosts_work_at_once_than_the_parallel_limit()
    {
        var hosts = new FakeHosts { Delay = TimeSpan.FromMilliseconds(30) };
        var plan = Plan(Enumerable.Range(1, 6).Select(i => (Host($"h{i}", i == 1 ? HostRole.ControlPlane : HostRole.Worker), new[] { Step("one", $"one h{i}"), Step("two", $"two h{i}") })).ToArray());

        var report = await Run(plan, hosts, parallel: 2);

        Assert.True(report.Ok);
        Assert.Equal(2, hosts.MaxBusy);
    }

    [Fact]
    public async Task A_failed_step_stops_its_host_and_blocks_the_hosts_waiting_on_it()
    {
        var hosts = new FakeHosts { Fail = "init cp" };
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp"), Step("cni", "cni cp")]),
            (Host("w1", HostRole.Worker), [Step("prepare", "prepare w1"), Step("join", "join w1", new StepRef("cp", "init"))]));

        var report = await Run(plan, hosts);

        var cp = report.Hosts.Single(h => h.Host == "cp");
        var w1 = report.Hosts.Single(h => h.Host == "w1");
        Assert.Equal((HostOutcome.Failed, "init", 0), (cp.Outcome, cp.FailedStep, cp.StepsDone));
        Assert.Contains("`init cp` exited 1", cp.Message);
        Assert.Equal((HostOutcome.Blocked, "join", 1), (w1.Outcome, w1.FailedStep, w1.StepsDone));
        Assert.DoesNotContain("cni cp", hosts.Commands);
        Assert.DoesNotContain("join w1", hosts.Commands);
        Assert.False(report.Ok);
    }

    [Fact]
    public async Task A_rerun_skips_steps_the_journal_records_as_done_but_runs_every_run_steps_again()
    {
        var hosts = new FakeHosts { Fail = "two" };
        var plan = Plan((Host("cp", HostRole.ControlPlane), [new HostStep("check", "check", [new RunCommand(new RemoteCommand("check"))], [], RunsEveryRun: true), Step("one", "one"), Step("two", "two"), Step("three", "three")]));

        var first = await Run(plan, hosts);
        Assert.Equal((HostOutcome.Failed, "two", 2), (first.Hosts[0].Outcome, first.Hosts[0].FailedStep, first.Hosts[0].StepsDone));

        hosts.Fail = null;
        hosts.Commands.Clear();
        var second = await Run(plan, hosts);

        Assert.True(second.Ok);
        Assert.Equal(4, second.Hosts[0].StepsDone);
        Assert.Equal(["check", "two", "three"], hosts.Commands.Where(c => !c.StartsWith("cat ", StringComparison.Ordinal) && !c.StartsWith("printf ", StringComparison.Ordinal)));
        var journal = Journal.Parse(hosts.JournalText("cp"));
        Assert.Equal(["check", "one", "two", "check", "two", "three"], journal.Select(e => e.Step));
        Assert.Equal("failed", journal[2].Status);
    }

    [Fact]
    public async Task A_step_after_another_hosts_step_runs_even_when_that_step_failed_but_a_step_that_needs_it_is_blocked()
    {
        var hosts = new FakeHosts { Fail = "join w1" };
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp"), Step("addons", "addons cp", new StepRef("w1", "join", AfterOnly: true), new StepRef("w2", "join", AfterOnly: true))]),
            (Host("w1", HostRole.Worker), [Step("join", "join w1", new StepRef("cp", "init")), Step("time", "time w1")]),
            (Host("w2", HostRole.Worker), [Step("join", "join w2", new StepRef("cp", "init"))]));

        var report = await Run(plan, hosts);

        Assert.Equal(HostOutcome.Done, report.Hosts.Single(h => h.Host == "cp").Outcome);
        Assert.Equal((HostOutcome.Failed, "join"), (report.Hosts.Single(h => h.Host == "w1").Outcome, report.Hosts.Single(h => h.Host == "w1").FailedStep));
        var order = hosts.Commands.ToList();
        Assert.True(order.IndexOf("join w1") < order.IndexOf("addons cp") && order.IndexOf("join w2") < order.IndexOf("addons cp"), string.Join(", ", order));
        Assert.Contains("it broke", string.Join('\n', report.Hosts.Single(h => h.Host == "w1").LogTail));
    }

    [Fact]
    public async Task The_join_command_is_fetched_once_from_the_control_plane_sent_as_a_private_file_and_never_logged()
    {
        const string Token = "abcdef.0123456789abcdef";
        var join = $"kubeadm join 10.0.0.1:6443 --token {Token} --discovery-token-ca-cert-hash sha256:{new string('e', 64)}";
        var hosts = new FakeHosts { Answers = { [FetchJoinCommand.Command.Script] = "W1126 22:00:00.000000 1 warnings.go:70] a warning on stdout\n" + join + " \n" } };
        HostStep JoinStep(string w) => new("join", "join", [new FetchJoinCommand("cp", $"/state/{w}.join"), new RunCommand(new RemoteCommand($"join {w}"))], [new StepRef("cp", "init")]);
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp")]),
            (Host("w1", HostRole.Worker), [JoinStep("w1")]),
            (Host("w2", HostRole.Worker), [JoinStep("w2")]));

        var report = await Run(plan, hosts);

        Assert.True(report.Ok, string.Join("; ", report.Hosts.Select(h => h.Message)));
        Assert.Single(hosts.Commands, c => c == FetchJoinCommand.Command.Script);
        Assert.Equal(join + "\n", hosts.Uploads["w1:/state/w1.join"]);
        Assert.Equal(join + "\n", hosts.Uploads["w2:/state/w2.join"]);
        Assert.True(hosts.Commands.ToList().IndexOf("umask 077 && : > /state/w1.join && chmod 600 /state/w1.join") >= 0);
        foreach (var log in Directory.GetFiles(report.RunDirectory))
        {
            Assert.DoesNotContain(Token, File.ReadAllText(log));
        }
    }

    [Fact]
    public async Task A_join_command_the_control_plane_does_not_print_fails_the_join_without_showing_what_it_printed()
    {
        var hosts = new FakeHosts { Answers = { [FetchJoinCommand.Command.Script] = "something else abcdef.0123456789abcdef\n" } };
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp")]),
            (Host("w1", HostRole.Worker), [new HostStep("join", "join", [new FetchJoinCommand("cp", "/state/w1.join")], [new StepRef("cp", "init")])]));

        var report = await Run(plan, hosts);

        var w1 = report.Hosts.Single(h => h.Host == "w1");
        Assert.Equal((HostOutcome.Failed, "join"), (w1.Outcome, w1.FailedStep));
        Assert.Contains("did not print a kubeadm join command", w1.Message);
        Assert.DoesNotContain("abcdef.0123456789abcdef", File.ReadAllText(w1.LogPath));
    }

    [Theory]
    [InlineData("product-uuid=u1\nmachine-id=aaa\nclock={0}\n", "product-uuid=u1\nmachine-id=bbb\nclock={0}\n", "have the same product_uuid u1", null)]
    [InlineData("product-uuid=u1\nmachine-id=aaa\nclock={0}\n", "product-uuid=u2\nmachine-id=bbb\nclock={1}\n", "s apart (more than 30 s)", null)]
    [InlineData("product-uuid=u1\nmachine-id=aaa\nclock={0}\n", "product-uuid=u2\nmachine-id=bbb\nclock={2}\n", null, "s apart; the time step")]
    [InlineData("product-uuid=unknown\nmachine-id=aaa\nclock={0}\n", "product-uuid=unknown\nmachine-id=aaa\nclock={0}\n", null, "the same /etc/machine-id (VM clones?)")]
    public async Task Hosts_that_are_one_machine_or_whose_clocks_disagree_are_caught(string first, string second, string? failure, string? warning)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string Facts(string f) => string.Format(System.Globalization.CultureInfo.InvariantCulture, f, now, now + 45, now + 5);
        var hosts = new FakeHosts { Answers = { ["facts cp"] = Facts(first), ["facts w1"] = Facts(second) } };
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [new HostStep("preflight", "preflight", [new CompareHosts(new RemoteCommand("facts cp"))], [])]),
            (Host("w1", HostRole.Worker), [new HostStep("preflight", "preflight", [new CompareHosts(new RemoteCommand("facts w1"))], [new StepRef("cp", "preflight")])]));

        var report = await Run(plan, hosts);

        var w1 = report.Hosts.Single(h => h.Host == "w1");
        if (failure is null)
        {
            Assert.Equal(HostOutcome.Done, w1.Outcome);
            Assert.Contains(warning!, Assert.Single(w1.Warnings));
        }
        else
        {
            Assert.Equal(HostOutcome.Failed, w1.Outcome);
            Assert.Contains(failure, w1.Message);
        }
    }

    [Fact]
    public async Task A_rerun_of_a_finished_install_runs_nothing_not_even_the_every_run_steps()
    {
        var hosts = new FakeHosts();
        var plan = Plan((Host("cp", HostRole.ControlPlane), [new HostStep("check", "check", [new RunCommand(new RemoteCommand("check"))], [], RunsEveryRun: true), Step("one", "one")]));
        Assert.True((await Run(plan, hosts)).Ok);
        hosts.Commands.Clear();

        var second = await Run(plan, hosts);

        Assert.True(second.Ok);
        Assert.Equal(2, second.Hosts[0].StepsDone);
        Assert.Equal(["cat -- /state/journal 2>/dev/null || true"], hosts.Commands);
    }

    [Fact]
    public async Task A_blocked_step_is_recorded_in_the_journal_so_status_shows_it()
    {
        var hosts = new FakeHosts { Fail = "init cp" };
        var plan = Plan(
            (Host("cp", HostRole.ControlPlane), [Step("init", "init cp")]),
            (Host("w1", HostRole.Worker), [Step("join", "join w1", new StepRef("cp", "init"))]));

        await Run(plan, hosts);

        var status = new HostStatus("w1", HostRole.Worker, "root@w1", Journal.Parse(hosts.JournalText("w1")), null);
        Assert.Equal(("join", "blocked"), (status.LastFailure?.Step, status.LastFailure?.Status));
    }

    [Fact]
    public async Task A_push_that_does_not_fit_on_the_host_stops_before_its_first_byte()
    {
        var dir = await Bundles.WriteDirectoryAsync(_dir["small"]);
        var bundle = await LocalBundle.OpenAsync(dir);
        var push = new PushFiles("/state/b", bundle.Contents.Files.Select(f => new PushFile(f.Path, f.Size, f.Sha256)).ToList());
        var hosts = new FakeHosts { Answers = { [push.FreeSpaceCommand.Script] = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000000 990000 10000 99% /\n" } };
        var plan = Plan((Host("cp", HostRole.ControlPlane), [new HostStep("push", "push", [push], [], RunsEveryRun: true)]));

        var report = await InstallExecutor.RunAsync(plan, bundle, hosts, new ExecutorOptions { RunDirectory = InstallExecutor.NewRunDirectory(_dir["runs"], DateTimeOffset.UtcNow) });

        Assert.Equal((HostOutcome.Failed, "push"), (report.Hosts[0].Outcome, report.Hosts[0].FailedStep));
        Assert.Contains("/state/b has 9.8 MiB free; the push needs", report.Hosts[0].Message);
        Assert.Empty(hosts.Uploads);
    }

    [Fact]
    public async Task A_host_that_cannot_be_reached_fails_at_connect_and_the_others_go_on()
    {
        var hosts = new FakeHosts { Down = "w1" };
        var plan = Plan((Host("cp", HostRole.ControlPlane), [Step("one", "one")]), (Host("w1", HostRole.Worker), [Step("one", "one w1")]));

        var report = await Run(plan, hosts);

        Assert.Equal((HostOutcome.Failed, "connect"), (report.Hosts[1].Outcome, report.Hosts[1].FailedStep));
        Assert.Contains("cannot connect", report.Hosts[1].Message);
        Assert.Equal(HostOutcome.Done, report.Hosts[0].Outcome);
        Assert.Contains("cannot connect", File.ReadAllText(report.Hosts[1].LogPath));
    }

    [Fact]
    public async Task A_step_that_applied_site_rendered_addons_journals_them_with_the_site_values()
    {
        var hosts = new FakeHosts();
        var calico = new RenderedAddon("calico", new string('a', 64), new Dictionary<string, string> { ["cluster.podSubnet"] = "172.20.0.0/16" });
        var plan = Plan((Host("cp", HostRole.ControlPlane), [Step("init", "init cp"), Step("network", "network cp") with { Site = [calico] }]));

        Assert.True((await Run(plan, hosts)).Ok);

        var journal = Journal.Parse(hosts.JournalText("cp"));
        Assert.Null(journal.Single(e => e.Step == "init").Site);
        var recorded = Assert.Single(journal.Single(e => e.Step == "network").Site!);
        Assert.Equal((calico.Name, calico.Sha256), (recorded.Name, recorded.Sha256));
        Assert.Equal(calico.Values, recorded.Values);
        Assert.Contains("\"site\":[{\"name\":\"calico\",\"sha256\":\"" + calico.Sha256 + "\",\"values\":{\"cluster.podSubnet\":\"172.20.0.0/16\"}}]", hosts.JournalText("cp"));
    }

    [Fact]
    public void A_torn_last_journal_line_is_ignored_and_the_last_record_of_a_step_wins()
    {
        var text = """
            {"at":"2026-01-01T00:00:00+00:00","bundle":"b","step":"push","status":"done","run":"r1"}
            {"at":"2026-01-01T00:00:01+00:00","bundle":"b","step":"init","status":"failed","run":"r1","message":"x"}
            {"at":"2026-01-01T00:00:02+00:00","bundle":"other","step":"cni","status":"done","run":"r0"}
            {"at":"2026-01-01T00:00:03+00:00","bundle":"b","step":"init","status":"done","run":"r2"}
            {"at":"2026-01-01T00:00:04+00:00","bundle":"b","step":"cni","sta
            """;
        var entries = Journal.Parse(text);

        Assert.Equal(4, entries.Count);
        Assert.Equal(new HashSet<string> { "push", "init" }, Journal.DoneSteps(entries, "b"));
    }

    [Fact]
    public async Task Workers_go_in_waves_each_after_the_one_before_with_a_summary_per_wave()
    {
        var hosts = new FakeHosts { Delay = TimeSpan.FromMilliseconds(5) };

        var report = await Run(WavePlan(5), hosts, waveSize: 2);

        Assert.True(report.Ok, string.Join("; ", report.Hosts.Select(h => h.Message)));
        Assert.Equal([0, 1, 1, 2, 2, 3], report.Hosts.Select(h => h.Wave));
        var order = hosts.Commands.ToList();
        Assert.True(order.IndexOf("join w2") < order.IndexOf("prepare w3"), string.Join(", ", order));
        Assert.True(order.IndexOf("join w4") < order.IndexOf("prepare w5"), string.Join(", ", order));
        Assert.Equal([(0, 1), (1, 2), (2, 2), (3, 1)], report.Waves.Select(w => (w.Wave, w.Done)));
    }

    [Fact]
    public async Task A_wave_failing_more_hosts_than_max_failed_stops_the_next_and_a_rerun_resumes()
    {
        var hosts = new FakeHosts { Fail = "prepare w2" };
        var plan = WavePlan(6);

        var report = await Run(plan, hosts, waveSize: 2, maxFailed: 0);

        Assert.False(report.Ok);
        Assert.Equal([HostOutcome.Done, HostOutcome.Done, HostOutcome.Failed, HostOutcome.NotStarted, HostOutcome.NotStarted, HostOutcome.NotStarted, HostOutcome.NotStarted], report.Hosts.Select(h => h.Outcome));
        Assert.DoesNotContain(hosts.Commands, c => c.EndsWith(" w3", StringComparison.Ordinal) || c.EndsWith(" w6", StringComparison.Ordinal));
        Assert.Contains("addons cp", hosts.Commands); // the waves not started release the control plane's last step
        Assert.Contains("wave 1 left 1 of 2 hosts not done, more than --max-failed 0", report.Hosts[3].Message, StringComparison.Ordinal);
        Assert.Equal([(1, 1, 1, 0, 0), (2, 0, 0, 0, 2), (3, 0, 0, 0, 2)], report.Waves.Skip(1).Select(w => (w.Wave, w.Done, w.Failed, w.Blocked, w.NotStarted)));

        // The rerun: what the journal records done is skipped, the failed host and the waves not started run.
        hosts.Fail = null;
        var before = hosts.Commands.Count;
        var second = await Run(plan, hosts, waveSize: 2, maxFailed: 0);

        Assert.True(second.Ok, string.Join("; ", second.Hosts.Select(h => h.Message)));
        var rerun = hosts.Commands.Skip(before).Where(c => !c.StartsWith("cat ", StringComparison.Ordinal) && !c.StartsWith("printf ", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain("init cp", rerun);
        Assert.DoesNotContain("prepare w1", rerun);
        Assert.Contains("prepare w2", rerun);
        Assert.Contains("join w6", rerun);
    }

    [Fact]
    public async Task A_wave_within_its_failure_budget_lets_the_next_one_start()
    {
        var hosts = new FakeHosts { Fail = "prepare w2" };

        var report = await Run(WavePlan(4), hosts, waveSize: 2, maxFailed: 1);

        Assert.Equal(1, report.Hosts.Count(h => h.Outcome == HostOutcome.Failed));
        Assert.DoesNotContain(report.Hosts, h => h.Outcome == HostOutcome.NotStarted);
        Assert.Contains("join w4", hosts.Commands);
    }

    /// <summary>In-memory hosts: every command is recorded; the journal is kept per host; one command can be made to fail.</summary>
    private sealed class FakeHosts : IRemoteConnector
    {
        private readonly ConcurrentDictionary<string, string> _journals = new();

        public ConcurrentQueue<string> Commands { get; } = new();

        public string? Fail { get; set; }

        /// <summary>stdout for a command, by its script.</summary>
        public Dictionary<string, string> Answers { get; } = [];

        /// <summary>What was uploaded, by "host:path".</summary>
        public ConcurrentDictionary<string, string> Uploads { get; } = new();

        public TimeSpan Delay { get; init; }

        private int _busy;

        public int MaxBusy { get; private set; }

        public string? Down { get; init; }

        public string JournalText(string host) => _journals.GetValueOrDefault(host, string.Empty);

        public Task<IRemoteHost> ConnectAsync(InventoryHost host, CancellationToken cancellationToken = default) =>
            host.Name == Down
                ? throw new OperationFailedException($"{host.Name}: cannot connect to {host.Address}:22: Connection refused")
                : Task.FromResult<IRemoteHost>(new FakeHost(this, host));

        private sealed class FakeHost(FakeHosts all, InventoryHost host) : IRemoteHost
        {
            public InventoryHost Host { get; } = host;

            public async Task<RemoteResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken = default)
            {
                var busy = Interlocked.Increment(ref all._busy);
                lock (all)
                {
                    all.MaxBusy = Math.Max(all.MaxBusy, busy);
                }

                try
                {
                    await Task.Delay(all.Delay, cancellationToken);
                    return Answer(command);
                }
                finally
                {
                    Interlocked.Decrement(ref all._busy);
                }
            }

            private RemoteResult Answer(RemoteCommand command)
            {
                all.Commands.Enqueue(command.Script);
                if (command.Script.StartsWith("cat -- ", StringComparison.Ordinal))
                {
                    return new RemoteResult(0, all.JournalText(Host.Name), string.Empty);
                }

                if (command.Script.StartsWith("printf ", StringComparison.Ordinal))
                {
                    var quoted = command.Script["printf '%s\\n' ".Length..command.Script.LastIndexOf(" >> ", StringComparison.Ordinal)];
                    var line = quoted[1..^1].Replace("'\\''", "'", StringComparison.Ordinal);
                    all._journals.AddOrUpdate(Host.Name, line + "\n", (_, text) => text + line + "\n");
                    return new RemoteResult(0, string.Empty, string.Empty);
                }

                return command.Script == all.Fail ? new RemoteResult(1, string.Empty, "it broke")
                    : new RemoteResult(0, all.Answers.GetValueOrDefault(command.Script, string.Empty), string.Empty);
            }

            public Task<RemoteFile?> StatAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult<RemoteFile?>(null);

            public Task UploadAsync(Stream source, string path, long offset, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
            {
                all.Uploads[$"{Host.Name}:{path}"] = new StreamReader(source).ReadToEnd();
                return Task.CompletedTask;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
