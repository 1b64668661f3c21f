using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>What the install tests on the lab hosts share: a bundle built from the lab's sources, a request, a snapshot of a folder.</summary>
internal static class LabInstall
{
    /// <summary>
    /// `offlinekit build --k8s 1.23.0 [ARGS]` with the embedded catalog, only the mirrors pointing at the lab
    /// (registry, manifests, the signed yum repos served over HTTP): the bundle `make demo` builds.
    /// </summary>
    public static async Task<string> BuildAsync(LabRpmRepos rpms, TempDir dir, params string[] args)
    {
        await using var sources = await LabSources.StartAsync();
        await using var server = new LabHttpServer(rpms.Root);
        var mirrors = dir.Write(
            "mirrors.yaml",
            await File.ReadAllTextAsync(sources.MirrorsFile) + $"\n  {LabRpmRepos.Origin}: {new Uri(server.BaseUri, "aliyun/")}\n");
        var (code, stdout, stderr) = await CliRunner.RunAsync(["build", "--k8s", "1.23.0", .. args, "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"], "--without", "bin"]);
        Assert.True(code == 0, stderr);
        return stdout.Trim();
    }

    /// <summary>
    /// The host finished every step and proved the offline guarantee ("N of N images present, sandbox
    /// image pinned"); returns its log.
    /// </summary>
    public static async Task<string> AssertDoneOfflineAsync(HostResult host)
    {
        var log = await File.ReadAllTextAsync(host.LogPath);
        Assert.True(host.Outcome == HostOutcome.Done && host.StepsDone == host.StepsTotal, $"{host.Host}: failed at {host.FailedStep}: {host.Message}\n{log}");
        var counts = System.Text.RegularExpressions.Regex.Match(host.Proof ?? string.Empty, "^([0-9]+) of ([0-9]+) images present, sandbox image pinned$");
        Assert.True(counts.Success && counts.Groups[1].Value == counts.Groups[2].Value, $"{host.Host}: {host.Proof}");
        return log;
    }

    /// <summary>A request against the lab hosts: a fresh copy of their known_hosts, the runs under <paramref name="dir"/>.</summary>
    public static InstallRequest Request(LabHosts lab, TempDir dir)
    {
        var knownHosts = dir[$"known_hosts-{Guid.NewGuid():N}"];
        File.Copy(lab.KnownHosts, knownHosts);
        return new InstallRequest
        {
            KnownHosts = knownHosts,
            RunsRoot = dir["runs"],
            Environment = lab.Environment,
            Ssh = new Install.Ssh.SshOptions { ConnectTimeout = TimeSpan.FromSeconds(10) },
        };
    }

    /// <summary>The five hosts of a highly available cluster (the guide's three, k8s-master02 and 03), each checked to be routed to a lab veth.</summary>
    public static async Task<List<LabHost>> HaHostsAsync(LabHosts lab)
    {
        var hosts = lab.Hosts.Concat(lab.HaHosts).ToList();
        foreach (var host in hosts)
        {
            await lab.RequireLabRouteAsync(host.Address);
        }

        return hosts;
    }

    /// <summary>
    /// An inventory of a highly available cluster on the lab's hosts: root with the lab key, the control planes first, state
    /// under <paramref name="stateName"/>, and <paramref name="cluster"/> (the cluster: section's lines) after them.
    /// </summary>
    public static string WriteHaInventory(LabHosts lab, TempDir dir, IReadOnlyList<LabHost> hosts, IReadOnlyCollection<string> controlPlanes, string stateName, string cluster)
    {
        var ordered = hosts.OrderBy(h => controlPlanes.Contains(h.Name) ? 0 : 1).ThenBy(h => h.Name, StringComparer.Ordinal);
        var lines = string.Concat(ordered.Select(h =>
            $"  - name: {h.Name}\n    address: {h.Address}\n    port: {h.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n    roles: [{(controlPlanes.Contains(h.Name) ? "control-plane" : "worker")}]\n" +
            $"    user: root\n    auth: {{privateKey: {lab.Key}}}\n    stateDir: {LabHosts.StateDir(h, stateName)}\n"));
        return dir.Write("inventory.yaml", $"apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n{lines}cluster:\n{cluster}");
    }

    /// <summary>The lab cluster's started etcd members (the kubeadm stand-in's cluster.json), in the order they joined.</summary>
    public static List<string> EtcdMembers(LabHosts lab)
    {
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(lab.Dir, "cluster", "cluster.json")));
        return [.. json.RootElement.GetProperty("etcdMembers").EnumerateArray().Where(m => m.GetProperty("started").GetBoolean()).Select(m => m.GetProperty("name").GetString()!)];
    }

    /// <summary>
    /// The operator's docker config (as `docker login` writes it) with a login for <paramref name="registry"/> and one for
    /// another registry that must go nowhere; returns its path and the login's basic-auth token.
    /// </summary>
    public static (string DockerConfig, string Token) OperatorLogin(TempDir dir, LabRegistry registry)
    {
        var token = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{LabRegistry.User}:{LabRegistry.Password}"));
        var path = dir.Write("operator-docker/config.json", "{\"auths\":{\"" + registry.Host + "\":{\"auth\":\"" + token + "\"},\"" + OtherRegistry + "\":{\"auth\":\"b3RoZXI6bm90LWZvci10aGUtc2l0ZQ==\"}}}");
        return (path, token);
    }

    /// <summary>The registry of the operator's other login (<see cref="OperatorLogin"/>).</summary>
    public const string OtherRegistry = "other.example:5000";

    /// <summary>Neither the lab registry's password nor <paramref name="token"/> in any run log, host journal or stand-in record.</summary>
    public static async Task AssertNoSecretAsync(LabHosts lab, string runsDir, string stateName, string token)
    {
        var records = Directory.GetFiles(runsDir, "*", SearchOption.AllDirectories)
            .Concat(lab.Hosts.Select(h => Path.Combine(LabHosts.StateDir(h, stateName), InstallPlanner.JournalFile)))
            .Concat(lab.Hosts.Select(h => Path.Combine(h.Directory, "root", "var/log/offlinekit-standins.log")))
            .Where(File.Exists)
            .ToList();
        Assert.NotEmpty(records);
        foreach (var file in records)
        {
            var content = await File.ReadAllTextAsync(file);
            Assert.False(content.Contains(LabRegistry.Password, StringComparison.Ordinal) || content.Contains(token, StringComparison.Ordinal), $"{file} holds a secret");
        }
    }

    /// <summary>A depot's nginx and registry stand-in are the test's processes: stopped by the PIDs they recorded in its state folder.</summary>
    public static async Task StopDepotAsync(string depotState)
    {
        foreach (var pidFile in new[] { "nginx.pid", "registry.pid" }.Select(f => Path.Combine(depotState, f)).Where(File.Exists))
        {
            if (int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
            {
                await Support.Tools.RunAsync("kill", [pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }
        }
    }

    /// <summary>Every file under <paramref name="dir"/> with its bytes: equal snapshots mean nothing changed.</summary>
    public static SortedDictionary<string, string> Snapshot(string dir) => new(
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(File.ReadAllBytes(f))),
        StringComparer.Ordinal);
}
