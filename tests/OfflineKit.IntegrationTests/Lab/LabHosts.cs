using System.Diagnostics;
using OfflineKit.IntegrationTests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>One lab host: a network namespace (or a loopback address) with its own sshd and state root.</summary>
public sealed record LabHost(string Name, string Address, int Port, string Directory)
{
    public string SshdConfig => Path.Combine(Directory, "etc", "sshd_config");

    public string SshdLog => Path.Combine(Directory, "sshd.log");

    public string PidFile => Path.Combine(Directory, "sshd.pid");

    public string Namespace => $"oklab-{Name}";

    public string Link => "oklab-" + Name.Replace("k8s-", string.Empty, StringComparison.Ordinal);
}

/// <summary>
/// The three lab hosts of tests/lab/hosts-up.sh, up for a whole test collection and down after it,
/// with all state in a temp folder. Every test that talks to a lab address checks its route first.
/// </summary>
public sealed class LabHosts : IAsyncLifetime
{
    private Dictionary<string, string> _env = [];

    public string Dir { get; private set; } = null!;

    public string Mode => _env["LAB_MODE"];

    public IReadOnlyList<LabHost> Hosts { get; private set; } = [];

    /// <summary>k8s-master02 and k8s-master03: with <see cref="Hosts"/> the five hosts of a highly available cluster.</summary>
    public IReadOnlyList<LabHost> HaHosts { get; private set; } = [];

    /// <summary>This machine as the lab hosts reach it (their gateway; loopback in the fallback): where a site's own registry listens.</summary>
    public string Gateway => Mode == "netns" ? "10.231.0.1" : "127.0.0.1";

    public string User => _env["LAB_USER"];

    public string Password => _env["LAB_PASSWORD"];

    public string Passphrase => _env["LAB_PASSPHRASE"];

    public string Key => _env["LAB_KEY"];

    public string KeyWithPassphrase => _env["LAB_KEY_PASS"];

    public string WrongKey => _env["LAB_KEY_WRONG"];

    /// <summary>known_hosts with every lab host's real keys, as hosts-up.sh wrote it.</summary>
    public string KnownHosts => Path.Combine(Dir, "known_hosts");

    public LabHost this[string name] => Hosts.Concat(HaHosts).Single(h => h.Name == name);

    /// <summary>The secrets the lab inventory names, as an environment lookup.</summary>
    public Func<string, string?> Environment => name => name switch
    {
        "OFFLINEKIT_LAB_PASSWORD" => Password,
        "OFFLINEKIT_LAB_PASSPHRASE" => Passphrase,
        _ => null,
    };

    public async Task InitializeAsync()
    {
        Tools.Require("sshd", "openssh-server");
        Tools.Require("ssh-keygen", "openssh-client");
        Tools.Require("ip", "iproute2");
        Tools.Require("sudo", "sudo");
        Dir = Path.Combine(Path.GetTempPath(), $"offlinekit-lab-{System.Environment.ProcessId}");
        var up = await Script("hosts-up.sh");
        Assert.True(up.ExitCode == 0, $"hosts-up.sh failed: {up.Stdout}{up.Stderr}");
        _env = File.ReadAllLines(Path.Combine(Dir, "lab.env"))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1].Trim('"'));
        var port = int.Parse(_env["LAB_PORT"], System.Globalization.CultureInfo.InvariantCulture);
        List<LabHost> Read(string names, string addresses) => _env[names].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Zip(_env[addresses].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => new LabHost(p.First, p.Second, port, Path.Combine(Dir, p.First)))
            .ToList();
        Hosts = Read("LAB_HOSTS", "LAB_ADDRESSES");
        HaHosts = Read("LAB_HA_HOSTS", "LAB_HA_ADDRESSES");
    }

    public async Task DisposeAsync()
    {
        var down = await Script("hosts-down.sh");
        Assert.True(down.ExitCode == 0, $"hosts-down.sh failed: {down.Stdout}{down.Stderr}");
    }

    private Task<ProcessResult> Script(string name) => Tools.RunAsync(
        "/bin/bash",
        [Path.Combine(Tools.RepoRoot(), "tests", "lab", name)],
        environment: new Dictionary<string, string> { ["OFFLINEKIT_LAB_DIR"] = Dir, ["OFFLINEKIT_LAB_TAKEOVER"] = "1" });

    /// <summary>Fails unless `ip route get` sends <paramref name="address"/> to a lab link (or, in the fallback, loopback).</summary>
    public async Task RequireLabRouteAsync(string address)
    {
        var route = await Tools.RunAsync("ip", ["route", "get", address]);
        var lab = Mode == "netns"
            ? route.Stdout.Contains(" dev oklab-", StringComparison.Ordinal)
            : address.StartsWith("127.", StringComparison.Ordinal) && route.Stdout.Contains(" dev lo", StringComparison.Ordinal);
        Assert.True(lab, $"{address} is not routed to a lab link: {route.Stdout}{route.Stderr}");
    }

    /// <summary>Fails unless <see cref="Gateway"/> is this machine's address on the lab links (or loopback in the fallback).</summary>
    public async Task RequireGatewayAsync()
    {
        var addresses = await Tools.RunAsync("ip", ["-o", "-4", "addr", "show", "to", $"{Gateway}/32"]);
        var lab = Mode == "netns" ? addresses.Stdout.Contains(" oklab-", StringComparison.Ordinal) : addresses.Stdout.Contains(" lo ", StringComparison.Ordinal);
        Assert.True(lab, $"{Gateway} is not this machine's address on a lab link: {addresses.Stdout}{addresses.Stderr}");
    }

    public async Task RequireLabRoutesAsync()
    {
        foreach (var host in Hosts)
        {
            await RequireLabRouteAsync(host.Address);
        }
    }

    /// <summary>
    /// An inventory of the three hosts: root with the key, oklab with password and sudo password, root
    /// with the encrypted key; each with its own state folder for this test. <paramref name="edit"/> changes a host's lines.
    /// </summary>
    public string WriteInventory(string directory, string stateName, Func<LabHost, string, string>? edit = null)
    {
        string Access(LabHost h) => h.Name switch
        {
            "k8s-master" => $"    user: root\n    auth: {{privateKey: {Key}}}\n",
            "k8s-node01" => $"    user: {User}\n    auth: {{passwordEnv: OFFLINEKIT_LAB_PASSWORD}}\n    sudo: {{passwordEnv: OFFLINEKIT_LAB_PASSWORD}}\n",
            _ => $"    user: root\n    auth: {{privateKey: {KeyWithPassphrase}, passphraseEnv: OFFLINEKIT_LAB_PASSPHRASE}}\n",
        };
        var hosts = string.Concat(Hosts.Select(h =>
        {
            var lines = $"  - name: {h.Name}\n    address: {h.Address}\n    port: {h.Port}\n    roles: [{(h.Name == "k8s-master" ? "control-plane" : "worker")}]\n" +
                        Access(h) + $"    stateDir: {StateDir(h, stateName)}\n";
            return edit is null ? lines : edit(h, lines);
        }));
        var path = Path.Combine(directory, "inventory.yaml");
        File.WriteAllText(path, $"apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n{hosts}");
        return path;
    }

    public static string StateDir(LabHost host, string stateName) => Path.Combine(host.Directory, "root", "var", "lib", stateName);

    public static int SshdPid(LabHost host) => int.Parse(File.ReadAllText(host.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Stops a host's sshd (the PID hosts-up.sh recorded): the host is down.</summary>
    public static async Task StopSshdAsync(LabHost host)
    {
        var pid = SshdPid(host);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        await process.WaitForExitAsync();
        File.Delete(host.PidFile);
    }

    /// <summary>Starts a host's sshd again, as hosts-up.sh does, and waits until it answers.</summary>
    public async Task StartSshdAsync(LabHost host)
    {
        var sshd = Tools.Require("sshd", "openssh-server");
        var run = Mode == "netns"
            ? await Tools.RunAsync("ip", ["netns", "exec", host.Namespace, sshd, "-f", host.SshdConfig, "-E", host.SshdLog])
            : await Tools.RunAsync(sshd, ["-f", host.SshdConfig, "-E", host.SshdLog]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        for (var i = 0; i < 100 && !File.Exists(host.PidFile); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(File.Exists(host.PidFile), $"sshd of {host.Name} did not start; see {host.SshdLog}");
    }

    /// <summary>
    /// Cuts every open connection to a host: kills the session processes under its sshd (all started by
    /// the lab's sshd), as a dropped link or a crashed session would end them. Synchronous: called from progress.
    /// </summary>
    public static void KillSessions(LabHost host)
    {
        var listener = SshdPid(host);
        var victims = new List<int>();
        var queue = new Queue<int>([listener]);
        while (queue.Count > 0)
        {
            foreach (var child in Children(queue.Dequeue()))
            {
                victims.Add(child);
                queue.Enqueue(child);
            }
        }

        foreach (var pid in victims)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
                // Gone already.
            }
        }
    }

    private static IEnumerable<int> Children(int pid)
    {
        var path = $"/proc/{pid}/task/{pid}/children";
        return File.Exists(path)
            ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))
            : [];
    }

    /// <summary>Slows the link to a host (netns mode) so a test can act in the middle of a transfer.</summary>
    public async Task<bool> ShapeAsync(LabHost host, string rate)
    {
        if (Mode != "netns")
        {
            return false;
        }

        var tc = await Tools.RunAsync("tc", ["qdisc", "replace", "dev", host.Link, "root", "tbf", "rate", rate, "burst", "64kb", "latency", "400ms"]);
        Assert.True(tc.ExitCode == 0, tc.Stderr);
        return true;
    }

    public async Task UnshapeAsync(LabHost host)
    {
        if (Mode == "netns")
        {
            await Tools.RunAsync("tc", ["qdisc", "del", "dev", host.Link, "root"]);
        }
    }

    /// <summary>A command on a host through OpenSSH's own client, as root with the lab key.</summary>
    public Task<ProcessResult> SshAsync(LabHost host, string command) => Tools.RunAsync("ssh",
    [
        "-i", Key, "-p", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-o", $"UserKnownHostsFile={KnownHosts}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
        $"root@{host.Address}", command,
    ]);
}

[CollectionDefinition("lab hosts")]
public sealed class LabHostsFixture : ICollectionFixture<LabHosts>;
