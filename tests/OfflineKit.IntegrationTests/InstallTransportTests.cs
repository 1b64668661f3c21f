using System.Collections.Concurrent;
using OfflineKit.Bundle;
using OfflineKit.Cli;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>install's transport against the lab's three real sshd hosts: SFTP, sha256sum, sudo, known_hosts.</summary>
[Collection("lab hosts")]
public sealed class InstallTransportTests(LabHosts lab) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A bundle shaped like a real one, made by the real writer: both image parts, an RPM, a script.</summary>
    private async Task<string> BundleAsync(int commonMiB = 1, int controlPlaneMiB = 2)
    {
        var random = new Random(commonMiB * 31 + controlPlaneMiB);
        byte[] Bytes(int size)
        {
            var b = new byte[size];
            random.NextBytes(b);
            return b;
        }

        var files = new List<BundleFile>
        {
            BundleFile.FromBytes("images/common.tar", Bytes(commonMiB << 20)),
            BundleFile.FromBytes("images/common.images", "docker.io/calico/node:v3.25.2\n"u8.ToArray()),
            BundleFile.FromBytes("images/control-plane.tar", Bytes(controlPlaneMiB << 20)),
            BundleFile.FromBytes("images/control-plane.images", "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0\n"u8.ToArray()),
            Bundles.File("rpms/kubelet-1.23.0-0.x86_64.rpm", new string('r', 300_000), ArtifactKind.Rpm),
            Bundles.File("scripts/import-images.sh", "#!/bin/sh\necho import\n", ArtifactKind.Script) with { Executable = true },
        };
        return (await BundleWriter.WriteFileAsync(Bundles.Header, files, _dir[$"bundle-{commonMiB}"], BundleFormat.Tar)).Path;
    }

    private InstallRequest Request(string knownHosts, bool acceptNew = false) => new()
    {
        KnownHosts = knownHosts,
        AcceptNewHostKeys = acceptNew,
        RunsRoot = _dir["runs"],
        Environment = lab.Environment,
        Ssh = new Install.Ssh.SshOptions { ConnectTimeout = TimeSpan.FromSeconds(10) },
    };

    private string KnownHostsCopy()
    {
        var path = _dir[$"known_hosts-{Guid.NewGuid():N}"];
        File.Copy(lab.KnownHosts, path);
        return path;
    }

    /// <summary>
    /// Push and verify done, then the first bring-up step, which this transport-only bundle has no script
    /// for and says so (the bring-up steps are the install-steps tests' business).
    /// </summary>
    private static void AssertSuppliedAndStoppedAtBringUp(HostResult host)
    {
        Assert.True(host.StepsDone == 2 && host.FailedStep == InstallPlanner.PreflightStep, $"{host.Host}: {host.StepsDone} done, failed at {host.FailedStep}: {host.Message}");
        Assert.StartsWith("the bundle has no scripts/preflight.sh", host.Message);
    }

    private static string BundleDir(LabHost host, string state) => Path.Combine(LabHosts.StateDir(host, state), Bundles.Name);

    [Fact]
    public async Task Push_to_three_hosts_in_parallel_is_verified_on_each_and_a_second_install_sends_nothing()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BundleAsync();
        var inventory = lab.WriteInventory(_dir.Path, "push");
        var starts = new ConcurrentDictionary<string, DateTimeOffset>();
        var request = Request(KnownHostsCopy()) with
        {
            Progress = new Sync(p =>
            {
                if (p is StepStarted { Step: "push" })
                {
                    starts[p.Host] = DateTimeOffset.UtcNow;
                }
            }),
        };

        var first = await Installer.InstallAsync(bundle, inventory, request);

        Assert.All(first.Hosts, AssertSuppliedAndStoppedAtBringUp);
        Assert.Equal(3, starts.Count);
        Assert.All(first.Hosts, h => Assert.Equal(0, h.Push.FilesSkipped));
        var master = first.Hosts.Single(h => h.Host == "k8s-master");
        Assert.Equal(8, master.Push.FilesSent);
        Assert.All(first.Hosts.Where(h => h.Host != "k8s-master"), h => Assert.Equal(6, h.Push.FilesSent));

        foreach (var host in lab.Hosts)
        {
            var role = host.Name == "k8s-master" ? "control-plane" : "worker";
            var check = await lab.SshAsync(host, $"cd {BundleDir(host, "push")} && sha256sum --check --strict ../{Bundles.Name}.{role}.sha256");
            Assert.True(check.ExitCode == 0, $"{host.Name}: {check.Stdout}{check.Stderr}");
            Assert.Equal(role == "control-plane", File.Exists(Path.Combine(BundleDir(host, "push"), "images", "control-plane.tar")));
        }

        Assert.Equal("oklab", (await Tools.RunAsync("stat", ["-c", "%U", BundleDir(lab["k8s-node01"], "push")])).Stdout.Trim());

        // Any SFTP write would change a file's modification time: record them all before the second run.
        static Dictionary<string, DateTime> Stamps(LabHost host) =>
            Directory.GetFiles(BundleDir(host, "push"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var before = lab.Hosts.ToDictionary(h => h.Name, Stamps);
        await Task.Delay(20);

        var second = await Installer.InstallAsync(bundle, inventory, Request(request.KnownHosts!));

        Assert.All(second.Hosts, AssertSuppliedAndStoppedAtBringUp);
        Assert.All(second.Hosts, h => Assert.Equal((0, 0, 0L), (h.Push.FilesSent, h.Push.FilesResumed, h.Push.BytesSent)));
        Assert.Equal([8, 6, 6], second.Hosts.Select(h => h.Push.FilesSkipped));
        Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], Stamps(h)));

        foreach (var log in Directory.GetFiles(_dir["runs"], "*.log", SearchOption.AllDirectories))
        {
            var text = await File.ReadAllTextAsync(log);
            Assert.DoesNotContain(lab.Password, text);
            Assert.DoesNotContain(lab.Passphrase, text);
        }
    }

    [Fact]
    public async Task A_cut_in_the_middle_of_a_file_is_continued_and_only_the_rest_is_sent()
    {
        await lab.RequireLabRoutesAsync();
        var node = lab["k8s-node02"];
        var bundle = await BundleAsync(commonMiB: 48);
        var inventory = lab.WriteInventory(_dir.Path, "resume");
        var knownHosts = KnownHostsCopy();
        var cut = 0;
        var shaped = await lab.ShapeAsync(node, "160mbit");
        InstallReport first;
        try
        {
            first = await Installer.InstallAsync(bundle, inventory, Request(knownHosts) with
            {
                Progress = new Sync(p =>
                {
                    if (p is TransferProgress { Host: "k8s-node02", File: "images/common.tar" } t && t.Done >= 12L << 20 && Interlocked.Exchange(ref cut, 1) == 0)
                    {
                        LabHosts.KillSessions(node);
                    }
                }),
            });
        }
        finally
        {
            if (shaped)
            {
                await lab.UnshapeAsync(node);
            }
        }

        Assert.Equal(1, cut);
        var failed = first.Hosts.Single(h => h.Host == "k8s-node02");
        Assert.Equal((HostOutcome.Failed, "push"), (failed.Outcome, failed.FailedStep));
        Assert.All(first.Hosts.Where(h => h.Host != "k8s-node02"), AssertSuppliedAndStoppedAtBringUp);

        // What the rerun must send: the rest of the cut file and whatever came after it.
        var dir = BundleDir(node, "resume");
        var contents = (await LocalBundle.OpenAsync(bundle)).Contents;
        var partial = new FileInfo(Path.Combine(dir, "images", "common.tar")).Length;
        Assert.InRange(partial, 1, (48L << 20) - 1);
        var expected = PushedBundle.FilesFor(HostRole.Worker, contents)
            .Sum(f => File.Exists(Path.Combine(dir, f.Path)) ? f.Size - new FileInfo(Path.Combine(dir, f.Path)).Length : f.Size);

        var second = await Installer.InstallAsync(bundle, inventory, Request(knownHosts));

        var resumed = second.Hosts.Single(h => h.Host == "k8s-node02");
        AssertSuppliedAndStoppedAtBringUp(resumed);
        Assert.Equal(1, resumed.Push.FilesResumed);
        Assert.Equal(expected, resumed.Push.BytesSent);
        Assert.True(resumed.Push.BytesSent < 48L << 20);
        Assert.Contains($"continuing at byte {partial} of {48L << 20}", await File.ReadAllTextAsync(resumed.LogPath));
    }

    [Fact]
    public async Task A_byte_changed_on_one_host_before_the_check_stops_that_host_naming_the_file_and_the_others_go_on()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BundleAsync();
        var inventory = lab.WriteInventory(_dir.Path, "corrupt");
        var file = Path.Combine(BundleDir(lab["k8s-node01"], "corrupt"), "images", "common.tar");

        var report = await Installer.InstallAsync(bundle, inventory, Request(KnownHostsCopy()) with
        {
            BeforeStep = async (host, step, ct) =>
            {
                if (host == "k8s-node01" && step == PushedBundle.VerifyStep)
                {
                    // The disk of the host changes a byte after the push: only the on-host check can see it.
                    var bytes = await File.ReadAllBytesAsync(file, ct);
                    bytes[12345] ^= 0x01;
                    await File.WriteAllBytesAsync(file, bytes, ct);
                }
            },
        });

        var node = report.Hosts.Single(h => h.Host == "k8s-node01");
        Assert.Equal((HostOutcome.Failed, "verify", 1), (node.Outcome, node.FailedStep, node.StepsDone));
        Assert.StartsWith("images/common.tar does not match SHA256SUMS on the host", node.Message);
        Assert.All(report.Hosts.Where(h => h.Host != "k8s-node01"), AssertSuppliedAndStoppedAtBringUp);
        Assert.Contains("images/common.tar: FAILED", await File.ReadAllTextAsync(node.LogPath));

        // The journal on the host says so, and the next run pushes the file anew.
        var statuses = await Installer.StatusAsync(inventory, Request(KnownHostsCopy()));
        Assert.Equal("verify", statuses.Single(s => s.Host == "k8s-node01").LastFailure?.Step);
        var again = await Installer.InstallAsync(bundle, inventory, Request(KnownHostsCopy()));
        AssertSuppliedAndStoppedAtBringUp(again.Hosts.Single(h => h.Host == "k8s-node01"));
    }

    [Fact]
    public async Task Host_keys_unknown_are_refused_accepted_with_the_flag_and_recorded_and_a_changed_one_is_refused_even_then()
    {
        await lab.RequireLabRoutesAsync();
        var inventory = lab.WriteInventory(_dir.Path, "keys");
        var knownHosts = _dir["keys_known_hosts"];

        var refused = await Installer.StatusAsync(inventory, Request(knownHosts));
        Assert.All(refused, s => Assert.Contains("is not known", s.Error));
        foreach (var host in lab.Hosts)
        {
            var fingerprint = (await Tools.RunAsync("ssh-keygen", ["-lf", Path.Combine(host.Directory, "etc", "ssh_host_ed25519_key.pub")])).Stdout.Split(' ')[1];
            Assert.Contains(fingerprint, refused.Single(s => s.Host == host.Name).Error);
        }

        Assert.False(File.Exists(knownHosts));

        var accepted = await Installer.StatusAsync(inventory, Request(knownHosts, acceptNew: true));
        Assert.All(accepted, s => Assert.Null(s.Error));
        Assert.Equal(3, File.ReadAllLines(knownHosts).Length);
        foreach (var host in lab.Hosts)
        {
            // OpenSSH finds and trusts what we recorded (hashed).
            var name = host.Port == 22 ? host.Address : $"[{host.Address}]:{host.Port}";
            var found = await Tools.RunAsync("ssh-keygen", ["-F", name, "-f", knownHosts]);
            Assert.True(found.ExitCode == 0, found.Stdout + found.Stderr);
            Assert.Contains("|1|", found.Stdout);
            var ssh = await Tools.RunAsync("ssh", ["-i", lab.Key, "-p", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", $"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", $"root@{host.Address}", "true"]);
            Assert.True(ssh.ExitCode == 0, ssh.Stderr);
        }

        Assert.All(await Installer.StatusAsync(inventory, Request(knownHosts)), s => Assert.Null(s.Error));

        // Another key of the same type under the same name: a changed key, refused even when accepting new ones.
        var fake = _dir["fake_host_key"];
        Assert.Equal(0, (await Tools.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-f", fake])).ExitCode);
        var changedHosts = _dir["changed_known_hosts"];
        var master = lab["k8s-master"];
        var masterName = master.Port == 22 ? master.Address : $"[{master.Address}]:{master.Port}";
        await File.WriteAllTextAsync(changedHosts, $"{masterName} {string.Join(' ', (await File.ReadAllTextAsync(fake + ".pub")).Split(' ').Take(2))}\n");
        var before = await File.ReadAllTextAsync(changedHosts);

        var changed = await Installer.StatusAsync(inventory, Request(changedHosts, acceptNew: true));

        var error = changed.Single(s => s.Host == "k8s-master").Error;
        Assert.NotNull(error);
        Assert.Contains($"host key for {masterName} has CHANGED", error);
        var fakePrint = (await Tools.RunAsync("ssh-keygen", ["-lf", fake + ".pub"])).Stdout.Split(' ')[1];
        Assert.Contains(fakePrint, error);
        Assert.Contains((await Tools.RunAsync("ssh-keygen", ["-lf", Path.Combine(master.Directory, "etc", "ssh_host_ed25519_key.pub")])).Stdout.Split(' ')[1], error);
        var after = await File.ReadAllLinesAsync(changedHosts);
        Assert.Equal(before.TrimEnd('\n'), after[0]);
        var entries = await Tools.RunAsync("ssh-keygen", ["-F", masterName, "-f", changedHosts]);
        Assert.Single(entries.Stdout.Split('\n'), l => l.Length > 0 && !l.StartsWith('#'));
    }

    [Fact]
    public async Task Known_hosts_from_ssh_keyscan_plain_and_hashed_by_ssh_keygen_are_read()
    {
        await lab.RequireLabRoutesAsync();
        var inventory = lab.WriteInventory(_dir.Path, "keyscan");
        var plain = _dir["scanned"];
        var lines = new List<string>();
        foreach (var host in lab.Hosts)
        {
            var scan = await Tools.RunAsync("ssh-keyscan", ["-p", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "ed25519,ecdsa", host.Address]);
            Assert.True(scan.ExitCode == 0, scan.Stderr);
            lines.AddRange(scan.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')));
        }

        await File.WriteAllLinesAsync(plain, lines);
        Assert.All(await Installer.StatusAsync(inventory, Request(plain)), s => Assert.Null(s.Error));

        Assert.Equal(0, (await Tools.RunAsync("ssh-keygen", ["-H", "-f", plain])).ExitCode);
        Assert.All(await File.ReadAllLinesAsync(plain), l => Assert.StartsWith("|1|", l));
        Assert.All(await Installer.StatusAsync(inventory, Request(plain)), s => Assert.Null(s.Error));
    }

    [Fact]
    public async Task A_wrong_password_or_key_fails_with_authentication_failed_and_no_secret_in_any_output_or_log()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BundleAsync();
        const string wrongPassword = "Wrong-Pa55-for-the-lab-3d1c";
        var inventory = lab.WriteInventory(_dir.Path, "auth", (h, lines) => h.Name switch
        {
            "k8s-master" => lines.Replace(lab.Key, lab.WrongKey, StringComparison.Ordinal),
            "k8s-node01" => lines.Replace("auth: {passwordEnv: OFFLINEKIT_LAB_PASSWORD}", "auth: {passwordEnv: OFFLINEKIT_TEST_WRONG_PASSWORD}", StringComparison.Ordinal),
            _ => lines,
        });
        var runs = _dir["auth-runs"];
        System.Environment.SetEnvironmentVariable("OFFLINEKIT_LAB_PASSWORD", lab.Password);
        System.Environment.SetEnvironmentVariable("OFFLINEKIT_LAB_PASSPHRASE", lab.Passphrase);
        System.Environment.SetEnvironmentVariable("OFFLINEKIT_TEST_WRONG_PASSWORD", wrongPassword);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code;
        try
        {
            code = await CliApp.RunAsync(
                ["install", bundle, "--inventory", inventory, "--known-hosts", KnownHostsCopy(), "--runs-dir", runs],
                new CliConsole(stdout, stderr, interactive: false));
        }
        finally
        {
            System.Environment.SetEnvironmentVariable("OFFLINEKIT_LAB_PASSWORD", null);
            System.Environment.SetEnvironmentVariable("OFFLINEKIT_LAB_PASSPHRASE", null);
            System.Environment.SetEnvironmentVariable("OFFLINEKIT_TEST_WRONG_PASSWORD", null);
        }

        Assert.Equal(1, code);
        var output = stdout + "\n" + stderr;
        Assert.Contains($"authentication failed for root@{lab["k8s-master"].Address}", output);
        Assert.Contains($"authentication failed for {lab.User}@{lab["k8s-node01"].Address}", output);
        Assert.Contains("preflight", output);
        var logs = Directory.GetFiles(runs, "*.log", SearchOption.AllDirectories);
        Assert.Equal(3, logs.Length);
        foreach (var text in logs.Select(File.ReadAllText).Append(output))
        {
            Assert.DoesNotContain(wrongPassword, text);
            Assert.DoesNotContain(lab.Password, text);
            Assert.DoesNotContain(lab.Passphrase, text);
        }
    }

    [Fact]
    public async Task A_wrong_sudo_password_is_refused_by_sudo_and_not_shown()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BundleAsync();
        const string wrongSudo = "Wrong-Sudo-Pa55-77aa";
        var inventory = lab.WriteInventory(_dir.Path, "sudo", (h, lines) => h.Name == "k8s-node01"
            ? lines.Replace("sudo: {passwordEnv: OFFLINEKIT_LAB_PASSWORD}", $"sudo: {{password: {wrongSudo}}}", StringComparison.Ordinal)
            : lines);

        var report = await Installer.InstallAsync(bundle, inventory, Request(KnownHostsCopy()));

        var node = report.Hosts.Single(h => h.Host == "k8s-node01");
        Assert.Equal((HostOutcome.Failed, "push"), (node.Outcome, node.FailedStep));
        Assert.Contains($"sudo refused the password for {lab.User}@{lab["k8s-node01"].Address}", node.Message);
        foreach (var log in report.Hosts.Select(h => h.LogPath))
        {
            Assert.DoesNotContain(wrongSudo, await File.ReadAllTextAsync(log));
        }
    }

    [Fact]
    public async Task A_host_down_at_the_start_fails_the_others_go_on_and_a_rerun_when_it_is_up_completes_it()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BundleAsync();
        var inventory = lab.WriteInventory(_dir.Path, "down");
        var knownHosts = KnownHostsCopy();
        var node = lab["k8s-node02"];
        await LabHosts.StopSshdAsync(node);
        InstallReport first;
        try
        {
            first = await Installer.InstallAsync(bundle, inventory, Request(knownHosts));
        }
        finally
        {
            await lab.StartSshdAsync(node);
        }

        var down = first.Hosts.Single(h => h.Host == "k8s-node02");
        Assert.Equal((HostOutcome.Failed, "connect", 0), (down.Outcome, down.FailedStep, down.StepsDone));
        Assert.Contains($"cannot connect to {node.Address}:{node.Port}", down.Message);
        Assert.All(first.Hosts.Where(h => h.Host != "k8s-node02"), AssertSuppliedAndStoppedAtBringUp);

        var second = await Installer.InstallAsync(bundle, inventory, Request(knownHosts));

        Assert.All(second.Hosts, AssertSuppliedAndStoppedAtBringUp);
        Assert.Equal(6, second.Hosts.Single(h => h.Host == "k8s-node02").Push.FilesSent);
        Assert.Equal(0, second.Hosts.Single(h => h.Host == "k8s-node01").Push.FilesSent);
    }

    [Fact]
    public async Task Under_key_each_host_checks_the_signature_and_one_whose_signature_was_swapped_stops_at_verify()
    {
        await lab.RequireLabRoutesAsync();
        var keys = OfflineKit.Trust.KeyPair.Generate(_dir["keys"]);
        var other = OfflineKit.Trust.KeyPair.Generate(_dir["other-keys"]);
        using var key = OfflineKit.Trust.BundleSignature.LoadPrivateKey(keys.PrivateKey, null, "x");
        using var otherKey = OfflineKit.Trust.BundleSignature.LoadPrivateKey(other.PrivateKey, null, "x");
        var files = new List<BundleFile>
        {
            BundleFile.FromBytes("images/common.tar", new byte[100_000]),
            BundleFile.FromBytes("images/common.images", "docker.io/calico/node:v3.25.2\n"u8.ToArray()),
            BundleFile.FromBytes("images/control-plane.tar", new byte[200_000]),
            BundleFile.FromBytes("images/control-plane.images", "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0\n"u8.ToArray()),
            BundleFile.FromBytes(BundleLayout.VerifyScript, OfflineKit.Scripts.EmbeddedScripts.Read("verify.sh")) with { Executable = true },
        };
        var header = Bundles.Header with { Signer = json => OfflineKit.Trust.BundleSignature.Sign(key, json) };
        var bundle = (await BundleWriter.WriteFileAsync(header, files, _dir["signed-bundle"], BundleFormat.Tar)).Path;
        var inventory = lab.WriteInventory(_dir.Path, "signed");
        var nodeDir = BundleDir(lab["k8s-node01"], "signed");

        var report = await Installer.InstallAsync(bundle, inventory, Request(KnownHostsCopy()) with
        {
            PublicKey = keys.PublicKey,
            BeforeStep = async (host, step, ct) =>
            {
                if (host == "k8s-node01" && step == PushedBundle.VerifyStep)
                {
                    // Another key's signature over the same bundle.json, put on the host after the push.
                    var manifest = await File.ReadAllBytesAsync(Path.Combine(nodeDir, BundleLayout.ManifestFile), ct);
                    await File.WriteAllBytesAsync(Path.Combine(nodeDir, BundleLayout.SignatureFile), OfflineKit.Trust.BundleSignature.Sign(otherKey, manifest), ct);
                }
            },
        });

        var node = report.Hosts.Single(h => h.Host == "k8s-node01");
        Assert.Equal((HostOutcome.Failed, "verify"), (node.Outcome, node.FailedStep));
        Assert.Contains("bundle.json.sig does not verify", node.Message);
        foreach (var host in report.Hosts.Where(h => h.Host != "k8s-node01"))
        {
            AssertSuppliedAndStoppedAtBringUp(host);
            Assert.Contains("bundle.json.sig verifies with", await File.ReadAllTextAsync(host.LogPath));
        }
    }

    private sealed class Sync(Action<InstallProgress> report) : IProgress<InstallProgress>
    {
        public void Report(InstallProgress value) => report(value);
    }
}
