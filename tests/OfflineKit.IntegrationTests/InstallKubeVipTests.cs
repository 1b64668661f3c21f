using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// A highly available 1.31.2 cluster on five lab hosts behind kube-vip: k8s-master, k8s-master02 and k8s-master03 as
/// control planes with kube-vip's static pod and the VIP 10.231.0.200:6443, k8s-node01 and k8s-node02 as workers, from a
/// containerd bundle built `--with kube-vip`. The lab's kubelet stand-in runs kube-vip: it checks the pod (image in the
/// host's containerd, its kubeconfig a file, leader election allowed: on 1.29+ admin.conf is not during init), and the
/// leader holds the VIP with `ip addr add` in its own network namespace. 1.31 exercises super-admin.conf during init.
/// </summary>
[Collection("lab hosts")]
public sealed class InstallKubeVipTests(LabHosts lab, VersionLab versions) : IClassFixture<VersionLab>, IDisposable
{
    private const string Vip = "10.231.0.200";

    private static readonly string[] ControlPlanes = ["k8s-master", "k8s-master02", "k8s-master03"];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Three_control_planes_behind_kube_vip_come_up_with_super_admin_conf_during_init_every_api_server_answers_through_the_vip_and_a_rerun_changes_nothing()
    {
        Assert.True(lab.Mode == "netns", $"kube-vip holds the VIP on a lab host's own interface: the lab runs in {lab.Mode} mode, not netns");
        var hosts = await LabInstall.HaHostsAsync(lab);

        var target = VersionLab.Current;
        var build = await CliRunner.RunAsync(["build", .. target.Flags, "--with", "kube-vip", "--mirrors", versions.MirrorsFor(target), "-o", _dir["out"], "--cache", _dir["cache"], "--without", "bin"]);
        Assert.True(build.Code == 0, build.Err);
        var bundle = build.Out.Trim();
        var image = "ghcr.io/kube-vip/kube-vip:v0.8.9";
        var inventory = WriteInventory(hosts);
        var cleared = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        var logs = new Dictionary<string, string>();
        foreach (var host in report.Hosts)
        {
            logs[host.Host] = await LabInstall.AssertDoneOfflineAsync(host);
        }

        // The first control plane: kube-vip's pod before init with super-admin.conf, which kubeadm 1.31 writes; after init admin.conf.
        var master = Root("k8s-master");
        var standins = await File.ReadAllTextAsync(Path.Combine(master, "var/log/offlinekit-standins.log"));
        Assert.Contains($"kubelet (offlinekit lab stand-in): kube-vip leader (kubeconfig /etc/kubernetes/super-admin.conf): ip addr add {Vip}/32 dev eth0", standins);
        Assert.Contains($"kubelet (offlinekit lab stand-in): kube-vip restarted with /etc/kubernetes/admin.conf, still leader of {Vip}", standins);
        Assert.True(File.Exists(Path.Combine(master, "etc/kubernetes/super-admin.conf")));
        var order = new[] { "== loadbalancer: kube-vip's static pod", "== init: ", "== kube-vip-admin: ", "== network: " }.Select(s => logs["k8s-master"].IndexOf(s, StringComparison.Ordinal)).ToList();
        Assert.True(order.All(i => i >= 0) && order.SequenceEqual(order.Order()), logs["k8s-master"]);
        Assert.True(logs["k8s-master02"].IndexOf("== loadbalancer: kube-vip's static pod", StringComparison.Ordinal) is var lb and >= 0 && lb < logs["k8s-master02"].IndexOf("== join: ", StringComparison.Ordinal), logs["k8s-master02"]);
        foreach (var cp in ControlPlanes)
        {
            var manifest = await File.ReadAllTextAsync(Path.Combine(Root(cp), "etc/kubernetes/manifests/kube-vip.yaml"));
            Assert.Contains($"    image: {image}\n", manifest);
            Assert.Contains("    - name: vip_interface\n      value: \"eth0\"\n", manifest);
            Assert.Contains("      path: /etc/kubernetes/admin.conf\n", manifest);
            Assert.Contains($"server: https://{Vip}:6443", await File.ReadAllTextAsync(Path.Combine(Root(cp), "etc/kubernetes/admin.conf")));
            Assert.Equal(cp == "k8s-master", File.Exists(Path.Combine(Root(cp), "etc/kubernetes/super-admin.conf")));
        }

        Assert.Equal(ControlPlanes, EtcdMembers());
        Assert.Equal(["k8s-master"], await HoldersAsync(hosts));
        await EveryApiServerAnswersThroughTheVipAsync();

        // status: which control plane holds the VIP.
        var status = await Installer.StatusAsync(inventory, Request());
        Assert.Equal(
            $"vip {Vip}: held by this host; kube-apiserver :6443/healthz: not answering; kube-vip: /etc/kubernetes/manifests/kube-vip.yaml, kubeconfig /etc/kubernetes/admin.conf",
            status.Single(h => h.Host == "k8s-master").LoadBalancer);
        Assert.All(status.Where(h => h.Host is "k8s-master02" or "k8s-master03"), h => Assert.StartsWith($"vip {Vip}: not on this host;", h.LoadBalancer, StringComparison.Ordinal));
        Assert.All(status.Where(h => !ControlPlanes.Contains(h.Host)), h => Assert.Null(h.LoadBalancer));

        // A rerun changes nothing.
        var before = hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(Root(h.Name), "etc")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
        Assert.All(hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(Root(h.Name), "etc"))));
        Assert.Equal(["k8s-master"], await HoldersAsync(hosts));

        // The leader's kube-vip goes (its manifest set aside): the VIP leaves it, the next control plane's kube-vip takes it, and every
        // API server still answers through it; then the third's. Each control plane's API server has answered through the VIP as leader.
        foreach (var (leader, next) in new[] { ("k8s-master", "k8s-master02"), ("k8s-master02", "k8s-master03") })
        {
            File.Move(Path.Combine(Root(leader), "etc/kubernetes/manifests/kube-vip.yaml"), Path.Combine(Root(leader), "kube-vip.yaml.aside"));
            Assert.Equal(0, (await lab.SshAsync(lab[leader], "kubectl version --client")).ExitCode);
            Assert.Empty(await HoldersAsync(hosts));
            Assert.Equal(0, (await lab.SshAsync(lab[next], "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes")).ExitCode);
            Assert.Equal([next], await HoldersAsync(hosts));
            await EveryApiServerAnswersThroughTheVipAsync();
        }

        foreach (var cp in ControlPlanes.Take(2))
        {
            File.Move(Path.Combine(Root(cp), "kube-vip.yaml.aside"), Path.Combine(Root(cp), "etc/kubernetes/manifests/kube-vip.yaml"));
        }

        await EveryApiServerAnswersThroughTheVipAsync();
        Assert.Equal(["k8s-master03"], await HoldersAsync(hosts));

        // Reset: kube-vip's manifests go, and with them the VIP.
        var reset = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(reset.Ok, string.Join("; ", reset.Hosts.Select(h => $"{h.Host}: {h.Message}")));
        Assert.Empty(await HoldersAsync(hosts));
        Assert.All(ControlPlanes, cp => Assert.False(File.Exists(Path.Combine(Root(cp), "etc/kubernetes/manifests/kube-vip.yaml")), cp));
        Assert.Contains($"ip addr del {Vip}/32 dev eth0", await File.ReadAllTextAsync(Path.Combine(Root("k8s-master03"), "var/log/offlinekit-standins.log")));

        // What super-admin.conf is for: kube-vip with admin.conf during a 1.29+ init gets no lease, holds no VIP, and
        // kubeadm init times out waiting for the control plane at the endpoint (kube-vip#684).
        var wrong = Request() with
        {
            BeforeStep = async (host, step, ct) =>
            {
                if (host == "k8s-master" && step == InstallPlanner.InitStep)
                {
                    var path = Path.Combine(Root(host), "etc/kubernetes/manifests/kube-vip.yaml");
                    var text = await File.ReadAllTextAsync(path, ct);
                    Assert.Contains("path: /etc/kubernetes/super-admin.conf", text);
                    await File.WriteAllTextAsync(path, text.Replace("path: /etc/kubernetes/super-admin.conf", "path: /etc/kubernetes/admin.conf", StringComparison.Ordinal), ct);
                }
            },
        };
        var broken = await Installer.InstallAsync(bundle, inventory, wrong);
        var failed = broken.Hosts.Single(h => h.Host == "k8s-master");
        Assert.Equal((HostOutcome.Failed, InstallPlanner.InitStep), (failed.Outcome, failed.FailedStep));
        var failedLog = await File.ReadAllTextAsync(failed.LogPath);
        Assert.Contains("couldn't initialize a Kubernetes cluster: timed out waiting for the condition", failedLog);
        Assert.Contains("leases.coordination.k8s.io \"plndr-cp-lock\" is forbidden: User \"kubernetes-admin\"", failedLog);
        Assert.Empty(await HoldersAsync(hosts));
        Assert.True((await Installer.ResetAsync(inventory, purge: true, Request())).Ok);
    }

    /// <summary>kubectl on every control plane reaches the cluster through admin.conf's server, the VIP.</summary>
    private async Task EveryApiServerAnswersThroughTheVipAsync()
    {
        foreach (var cp in ControlPlanes)
        {
            var nodes = await lab.SshAsync(lab[cp], "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes --no-headers");
            Assert.True(nodes.ExitCode == 0, $"{cp}: {nodes.Stderr}");
            Assert.Equal(5, nodes.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
    }

    /// <summary>The lab hosts whose eth0 carries the VIP, read in each one's network namespace.</summary>
    private static async Task<List<string>> HoldersAsync(IEnumerable<LabHost> hosts)
    {
        var holders = new List<string>();
        foreach (var host in hosts)
        {
            var addresses = await Tools.RunAsync("ip", ["-n", $"oklab-{host.Name}", "-o", "-4", "addr", "show", "dev", "eth0"]);
            Assert.True(addresses.ExitCode == 0, addresses.Stderr);
            if (addresses.Stdout.Contains($" {Vip}/32 ", StringComparison.Ordinal))
            {
                holders.Add(host.Name);
            }
        }

        return holders;
    }

    private string Root(string host) => Path.Combine(lab[host].Directory, "root");

    /// <summary>The five hosts, three control planes first, the VIP on the lab's /24 at kube-apiserver's port.</summary>
    private string WriteInventory(IReadOnlyList<LabHost> hosts) => LabInstall.WriteHaInventory(lab, _dir, hosts, ControlPlanes, "kubevip",
        $"  controlPlaneEndpoint: {Vip}:6443\n  loadBalancer: kube-vip\n  vipSubnet: 10.231.0.0/24\n");

    private InstallRequest Request() => LabInstall.Request(lab, _dir);

    private List<string> EtcdMembers() => LabInstall.EtcdMembers(lab);
}
