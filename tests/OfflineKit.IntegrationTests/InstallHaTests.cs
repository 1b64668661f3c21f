using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// A highly available cluster on five lab hosts: k8s-master, k8s-master02 and k8s-master03 as control
/// planes behind keepalived + haproxy with the VIP 10.231.0.200:8443, k8s-node01 and k8s-node02 as
/// workers, from a containerd bundle. The kubeadm stand-in models init --upload-certs, the certificate key,
/// control-plane joins and etcd quorum (a join racing another fails); each control plane's haproxy and
/// keepalived configs pass the real haproxy -c and keepalived --config-test; systemctl is the stand-in.
/// </summary>
[Collection("lab hosts")]
public sealed partial class InstallHaTests(LabHosts lab, LabRpmRepos rpms) : IClassFixture<LabRpmRepos>, IDisposable
{
    private static readonly string[] ControlPlanes = ["k8s-master", "k8s-master02", "k8s-master03"];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Three_control_planes_and_two_workers_come_up_a_rerun_changes_nothing_and_a_failing_second_control_plane_stops_the_third_not_the_workers()
    {
        Tools.Require("haproxy", "haproxy");
        Tools.Require("keepalived", "keepalived");
        Assert.True(lab.Mode == "netns", $"keepalived needs a real interface: the lab runs in {lab.Mode} mode, not netns");
        var hosts = await LabInstall.HaHostsAsync(lab);

        var bundle = await LabInstall.BuildAsync(rpms, _dir, "--runtime", "containerd", "--with", "load-balancer");
        var inventory = WriteInventory(hosts);
        var cleared = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        var logs = new Dictionary<string, string>();
        foreach (var host in report.Hosts)
        {
            logs[host.Host] = await File.ReadAllTextAsync(host.LogPath);
            Assert.True(host.Outcome == HostOutcome.Done && host.StepsDone == host.StepsTotal, $"{host.Host}: failed at {host.FailedStep}: {host.Message}\n{logs[host.Host]}");
            Assert.DoesNotMatch(SecretLike(), logs[host.Host]);
        }

        Assert.Contains("init-control-plane: kubeadm init --config ", logs["k8s-master"]);
        Assert.Contains(" --upload-certs", logs["k8s-master"]);
        Assert.Equal(ControlPlanes, EtcdMembers());
        Assert.Equal(["k8s-master", "k8s-master02", "k8s-master03", "k8s-node01", "k8s-node02"], ClusterNodes().Keys.Order(StringComparer.Ordinal));
        Assert.All(ControlPlanes, c => Assert.Equal("control-plane", ClusterNodes()[c]));

        // One at a time: master03's join starts after master02's is done; the workers' after both.
        Before(logs, "k8s-master02", "== join: done", "k8s-master03", "== join: kubeadm join");
        Before(logs, "k8s-master03", "== join: done", "k8s-node01", "== join: kubeadm join");
        Before(logs, "k8s-master03", "== join: done", "k8s-node02", "== join: kubeadm join");

        foreach (var host in hosts)
        {
            var root = Path.Combine(host.Directory, "root");
            var standins = await File.ReadAllTextAsync(Path.Combine(root, "var/log/offlinekit-standins.log"));
            Assert.DoesNotMatch(SecretLike(), standins);
            if (!ControlPlanes.Contains(host.Name))
            {
                Assert.False(File.Exists(Path.Combine(root, "etc/haproxy/haproxy.cfg")), host.Name);
                continue;
            }

            var haproxy = await File.ReadAllTextAsync(Path.Combine(root, "etc/haproxy/haproxy.cfg"));
            Assert.All(hosts.Where(h => ControlPlanes.Contains(h.Name)), c => Assert.Contains($"    server {c.Name} {c.Address}:6443 check", haproxy));
            Assert.Contains("    bind *:8443\n", haproxy);
            Assert.Contains("    interface eth0\n", await File.ReadAllTextAsync(Path.Combine(root, "etc/keepalived/keepalived.conf")));
            Assert.Contains("systemctl restart keepalived", standins);
            Assert.Contains("systemctl restart haproxy", standins);
            Assert.Contains("configure-load-balancer: keepalived --config-test: the config is valid", logs[host.Name]);
            Assert.Contains("server: https://10.231.0.200:8443", await File.ReadAllTextAsync(Path.Combine(root, "etc/kubernetes/admin.conf")));
            Assert.False(File.Exists(Path.Combine(LabHosts.StateDir(host, "ha"), Path.GetFileNameWithoutExtension(bundle) + ".kubeadm-join.yaml")), "the join configuration (token and certificate key) is removed");
        }

        // status: etcd's members through the first control plane's etcd pod; per control plane the VIP, its API server and haproxy
        // (in the lab nothing listens and keepalived only ran as the systemctl stand-in: no VIP, no answers, and status says so).
        var status = await Installer.StatusAsync(inventory, Request());
        var members = status.Single(h => h.Host == "k8s-master").EtcdMembers!.Split('\n');
        Assert.Equal(ControlPlanes.Select(c => $", started, {c}, https://{hosts.Single(h => h.Name == c).Address}:2380"), members.Select(m => m[m.IndexOf(',', StringComparison.Ordinal)..m.LastIndexOf(", https", StringComparison.Ordinal)]));
        Assert.All(status.Where(h => ControlPlanes.Contains(h.Host)), h => Assert.Equal("vip 10.231.0.200: not on this host; kube-apiserver :6443/healthz: not answering; haproxy :8443: not listening", h.LoadBalancer));
        Assert.All(status.Where(h => !ControlPlanes.Contains(h.Host)), h => Assert.Null(h.LoadBalancer));
        Assert.All(status.Where(h => h.Host != "k8s-master"), h => Assert.Null(h.EtcdMembers));

        // A rerun changes nothing.
        var before = hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
        Assert.All(hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc"))));
        Assert.Equal(ControlPlanes, EtcdMembers());

        // Reset: the workers, then the control planes from the last to the first; each takes its etcd member.
        var reset = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(reset.Ok, string.Join("; ", reset.Hosts.Select(h => $"{h.Host}: {h.Message}")));
        Assert.False(File.Exists(Path.Combine(lab.Dir, "cluster", "cluster.json")));
        foreach (var c in hosts.Where(h => ControlPlanes.Contains(h.Name)))
        {
            var standins = await File.ReadAllTextAsync(Path.Combine(c.Directory, "root", "var/log/offlinekit-standins.log"));
            Assert.Contains("systemctl disable --now keepalived", standins);
            Assert.False(File.Exists(Path.Combine(c.Directory, "root", "etc/keepalived/keepalived.conf")), c.Name);
        }

        // The second control plane's kubeadm fails: the third never joins (blocked), the workers do.
        var master02 = lab["k8s-master02"];
        var fail = Path.Combine(master02.Directory, "root", "var/lib/offlinekit-standins/fail/kubeadm");
        Directory.CreateDirectory(Path.GetDirectoryName(fail)!);
        await File.WriteAllTextAsync(fail, "the lab broke kubeadm on purpose");
        try
        {
            var broken = await Installer.InstallAsync(bundle, inventory, Request());
            var failed = broken.Hosts.Single(h => h.Host == "k8s-master02");
            Assert.Equal((HostOutcome.Failed, InstallPlanner.JoinStep), (failed.Outcome, failed.FailedStep));
            Assert.Contains(failed.LogTail, l => l.Contains("told to fail: the lab broke kubeadm on purpose", StringComparison.Ordinal));
            var blocked = broken.Hosts.Single(h => h.Host == "k8s-master03");
            Assert.Equal((HostOutcome.Blocked, InstallPlanner.JoinStep), (blocked.Outcome, blocked.FailedStep));
            Assert.Contains("k8s-master02/join", blocked.Message);
            Assert.All(broken.Hosts.Where(h => h.Host is "k8s-master" or "k8s-node01" or "k8s-node02"), h => Assert.True(h.Outcome == HostOutcome.Done, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
            Assert.Equal(["k8s-master"], EtcdMembers());
            Assert.Equal(["k8s-master", "k8s-node01", "k8s-node02"], ClusterNodes().Keys.Order(StringComparer.Ordinal));
        }
        finally
        {
            File.Delete(fail);
        }

        // Fixed, the rerun continues from the failed control plane.
        var resumed = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.True(resumed.Ok, string.Join("; ", resumed.Hosts.Select(h => $"{h.Host}: {h.FailedStep}: {h.Message}")));
        var master02Log = await File.ReadAllTextAsync(resumed.Hosts.Single(h => h.Host == "k8s-master02").LogPath);
        Assert.Contains("== loadbalancer: done in an earlier run (journal)", master02Log);
        Assert.Contains("join-node: OK: k8s-master02 joined the cluster", master02Log);
        Assert.Contains("== join: done in an earlier run (journal)", await File.ReadAllTextAsync(resumed.Hosts.Single(h => h.Host == "k8s-node01").LogPath));
        Assert.Equal(ControlPlanes, EtcdMembers());

        Assert.True((await Installer.ResetAsync(inventory, purge: true, Request())).Ok);
    }

    /// <summary>The five hosts, three control planes first, the VIP on the lab's /24.</summary>
    private string WriteInventory(IReadOnlyList<LabHost> hosts) => LabInstall.WriteHaInventory(lab, _dir, hosts, ControlPlanes, "ha",
        "  controlPlaneEndpoint: 10.231.0.200:8443\n  loadBalancer: keepalived-haproxy\n  vipSubnet: 10.231.0.0/24\n" +
        "  registries:\n    - host: docker.io\n      mirrors: [https://docker.m.daocloud.io]\n    - host: 10.231.0.1:5000\n      insecure: true\n");

    private InstallRequest Request() => LabInstall.Request(lab, _dir);

    private JsonElement Cluster()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(lab.Dir, "cluster", "cluster.json")));
        return json.RootElement.Clone();
    }

    private List<string> EtcdMembers() => LabInstall.EtcdMembers(lab);

    private Dictionary<string, string> ClusterNodes() =>
        Cluster().GetProperty("nodes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("role").GetString()!);

    /// <summary>The first line with <paramref name="first"/> in one host's log was written no later than the one with <paramref name="then"/> in another's.</summary>
    private static void Before(Dictionary<string, string> logs, string host, string first, string other, string then)
    {
        var (a, b) = (At(logs[host], first), At(logs[other], then));
        Assert.True(a <= b, $"{host} '{first}' at {a}, {other} '{then}' at {b}\n{Lines(logs[host], "== join")}\n{Lines(logs[other], "== join")}");
    }

    private static string Lines(string log, string text) => string.Join('\n', log.Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)));

    /// <summary>When a log's first line containing <paramref name="text"/> was written (its HH:mm:ss.fff stamp).</summary>
    private static TimeSpan At(string log, string text)
    {
        var line = log.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
        return TimeSpan.ParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("(?<![0-9a-f:])[0-9a-f]{64}(?![0-9a-f])")]
    private static partial Regex SecretLike();
}
