using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// install with containerd on the lab's three hosts: a bundle built with <c>--runtime containerd</c>
/// (Kubernetes 1.23.0, the version whose images the lab's registry holds), each host's runtime a real
/// containerd (private socket and root, started by the systemctl stand-in from the merged config.toml)
/// that the images step imports into; the kubeadm stand-in checks criSocket, the config schema, the
/// sandbox image against kubeadm's pause image, SystemdCgroup against the cgroup driver and every image
/// in the k8s.io namespace, read with the real containerd and ctr.
/// </summary>
[Collection("lab hosts")]
public sealed class InstallContainerdTests(LabHosts lab, LabRpmRepos rpms) : IClassFixture<LabRpmRepos>, IDisposable
{
    private const string Pause = "registry.aliyuncs.com/google_containers/pause:3.6";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Containerd_on_three_hosts_a_rerun_changes_nothing_two_sites_from_one_bundle_and_an_image_gone_before_kubeadm_fails_that_node()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BuildAsync();
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["site-a"]).FullName, "containerd");
        await File.AppendAllTextAsync(inventory, "cluster:\n  podSubnet: 10.244.0.0/16\n  registries:\n    - host: docker.io\n      mirrors: [https://docker.m.daocloud.io]\n    - host: 10.231.0.1:5000\n      insecure: true\n");

        // Whatever an earlier test left of a cluster on the shared lab hosts goes first.
        var cleared = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        foreach (var host in report.Hosts)
        {
            var log = await LabInstall.AssertDoneOfflineAsync(host);
            Assert.Contains("configure-runtime: OK: containerd configured and running, kubelet enabled", log);
            Assert.Contains($"import-images: OK (containerd, role {InstallPlan.RoleName(host.Role)})", log);
        }

        foreach (var host in lab.Hosts)
        {
            var root = Path.Combine(host.Directory, "root");
            string Read(string path) => File.ReadAllText(Path.Combine(root, path));

            // The merged config.toml as the real containerd reads it.
            var dump = await Tools.RunAsync("containerd", ["--config", Path.Combine(root, "etc/containerd/config.toml"), "config", "dump"]);
            Assert.True(dump.ExitCode == 0, dump.Stderr);
            Assert.Contains($"sandbox_image = \"{Pause}\"", dump.Stdout);
            Assert.Contains("SystemdCgroup = true", dump.Stdout);
            Assert.Contains("config_path = \"/etc/containerd/certs.d\"", dump.Stdout);
            Assert.Equal(HostsToml.Render(new RegistrySettings("docker.io", ["https://docker.m.daocloud.io"])), Read("etc/containerd/certs.d/docker.io/hosts.toml"));
            Assert.Contains("server = \"http://10.231.0.1:5000\"", Read("etc/containerd/certs.d/10.231.0.1:5000/hosts.toml"));
            Assert.Equal("runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\n", Read("etc/crictl.yaml"));

            // The host's own containerd holds its role's images in k8s.io.
            var images = await Ctr(host, "-n", "k8s.io", "images", "ls", "-q");
            Assert.Contains(Pause, images);
            Assert.Contains("docker.io/calico/node:v3.25.2", images);
            Assert.Equal(host.Name == "k8s-master", images.Contains("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0"));
        }

        var kubeadmState = Path.Combine(lab["k8s-master"].Directory, "root", "var/lib/offlinekit-standins/kubeadm");
        Assert.Contains("criSocket: unix:///run/containerd/containerd.sock", await File.ReadAllTextAsync(Path.Combine(kubeadmState, "init-config.yaml")));
        var joined = await File.ReadAllTextAsync(Path.Combine(lab["k8s-node01"].Directory, "root", "var/lib/offlinekit-standins/kubeadm/join-config.yaml"));
        Assert.Contains("kind: JoinConfiguration", joined);
        Assert.Contains("criSocket: unix:///run/containerd/containerd.sock", joined);
        Assert.Matches("k8s-node02 +Ready", (await Installer.StatusAsync(inventory, Request())).Single(h => h.Host == "k8s-master").Nodes);

        // Again: nothing pushed, nothing under any root's /etc changes, containerd not restarted.
        var before = lab.Hosts.ToDictionary(h => h.Name, h => Snapshot(Path.Combine(h.Directory, "root", "etc")));
        var pids = lab.Hosts.ToDictionary(h => h.Name, h => File.ReadAllText(Path.Combine(h.Directory, "root", "run/containerd.pid")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
        Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], Snapshot(Path.Combine(h.Directory, "root", "etc"))));
        Assert.All(lab.Hosts, h => Assert.Equal(pids[h.Name], File.ReadAllText(Path.Combine(h.Directory, "root", "run/containerd.pid"))));

        var masterLog = await File.ReadAllTextAsync(report.Hosts.Single(h => h.Host == "k8s-master").LogPath);
        Assert.Contains("the same bytes as the bundle's", masterLog);
        Assert.Contains("apply-manifests: Calico's IP pool 10.244.0.0/16 equals the cluster's podSubnet", masterLog);

        await AnotherSiteFromTheSameBundle(bundle, inventory);
        await AnImageGoneBeforeKubeadmFailsThatNode(bundle, inventory);
    }

    /// <summary>The same bundle, another inventory with another podSubnet: its own, correct cluster (Calico's pool follows the site).</summary>
    private async Task AnotherSiteFromTheSameBundle(string bundle, string siteA)
    {
        Assert.True((await Installer.ResetAsync(siteA, purge: false, Request())).Ok);
        var siteB = lab.WriteInventory(Directory.CreateDirectory(_dir["site-b"]).FullName, "containerd");
        await File.AppendAllTextAsync(siteB, "cluster:\n  podSubnet: 172.20.0.0/16\n");

        var report = await Installer.InstallAsync(bundle, siteB, Request());

        Assert.True(report.Ok, string.Join("; ", report.Hosts.Select(h => $"{h.Host}: failed at {h.FailedStep}: {h.Message}")));
        var masterLog = await File.ReadAllTextAsync(report.Hosts.Single(h => h.Host == "k8s-master").LogPath);
        Assert.Contains("differs from the bundle's (other site values)", masterLog);
        Assert.Contains("apply-manifests: Calico's IP pool 172.20.0.0/16 equals the cluster's podSubnet", masterLog);
        Assert.Contains("podSubnet: 172.20.0.0/16", await File.ReadAllTextAsync(Path.Combine(lab["k8s-master"].Directory, "root", "var/lib/offlinekit-standins/kubeadm/init-config.yaml")));
        Assert.Matches("k8s-node02 +Ready", (await Installer.StatusAsync(siteB, Request())).Single(h => h.Host == "k8s-master").Nodes);
    }

    /// <summary>
    /// After reset, k8s-node01's kube-proxy image is deleted from its containerd after the images step and
    /// before kubeadm: the offline guarantee fails its join naming the image; the other hosts finish.
    /// (Deleted before the images step, the image would simply be imported again from the bundle.)
    /// </summary>
    private async Task AnImageGoneBeforeKubeadmFailsThatNode(string bundle, string inventory)
    {
        var reset = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(reset.Ok, string.Join("; ", reset.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        const string gone = "registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0";
        var node01 = lab["k8s-node01"];
        var request = Request() with
        {
            BeforeStep = async (host, step, ct) =>
            {
                if (host == node01.Name && step == InstallPlanner.JoinStep)
                {
                    await Ctr(node01, "-n", "k8s.io", "images", "rm", gone);
                }
            },
        };

        var report = await Installer.InstallAsync(bundle, inventory, request);

        var failed = report.Hosts.Single(h => h.Host == node01.Name);
        Assert.Equal((HostOutcome.Failed, InstallPlanner.JoinStep), (failed.Outcome, failed.FailedStep));
        Assert.Contains(gone, failed.Message);
        Assert.DoesNotContain("join-node:", await File.ReadAllTextAsync(failed.LogPath));
        Assert.All(report.Hosts.Where(h => h.Host != node01.Name), h => Assert.Equal(HostOutcome.Done, h.Outcome));

        // Leave the shared lab hosts without a cluster.
        Assert.True((await Installer.ResetAsync(inventory, purge: true, Request())).Ok);
    }

    private static async Task<string> Ctr(LabHost host, params string[] args)
    {
        var result = await Tools.RunAsync("ctr", ["--address", Path.Combine(host.Directory, "containerd.sock"), .. args]);
        Assert.True(result.ExitCode == 0, $"ctr {string.Join(' ', args)}: {result.Stderr}");
        return result.Stdout;
    }

    private InstallRequest Request() => LabInstall.Request(lab, _dir);

    private Task<string> BuildAsync() => LabInstall.BuildAsync(rpms, _dir, "--runtime", "containerd");

    private static SortedDictionary<string, string> Snapshot(string dir) => LabInstall.Snapshot(dir);
}
