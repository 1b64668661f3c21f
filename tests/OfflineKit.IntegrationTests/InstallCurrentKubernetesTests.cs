using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// `make demo K8S=1.31.2` as a test: a current Kubernetes (1.31.2, EL8, containerd) built from the version
/// lab's sources (the per-minor pkgs.k8s.io-layout repo, docker-ce as it is today, kubeadm's images for
/// 1.31.2, the catalog's Calico and metrics-server) and installed on the three lab hosts, each with its
/// real containerd. The kubeadm stand-in checks the v1beta4 schema and 1.31.2's own image list (read from
/// manifests/kubeadm-images.yaml), the sandbox image against that list's pause, every image in k8s.io.
/// </summary>
[Collection("lab hosts")]
public sealed partial class InstallCurrentKubernetesTests(LabHosts lab, VersionLab versions) : IClassFixture<VersionLab>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Kubernetes_1_31_2_with_containerd_comes_up_on_three_hosts_with_kubeadm_v1beta4_and_its_own_images_a_journal_of_the_site_values_and_a_rerun_changes_nothing()
    {
        await lab.RequireLabRoutesAsync();
        var target = VersionLab.Current;
        var kubeadm = OfflineKit.Images.KubeadmImages.List(target.K8s, target.Spec.ImageRepository);
        var pause = kubeadm.Single(n => n.Contains("/pause:", StringComparison.Ordinal));
        var build = await CliRunner.RunAsync(["build", .. target.Flags, "--mirrors", versions.MirrorsFor(target), "-o", _dir["out"], "--cache", _dir["cache"], "--without", "bin"]);
        Assert.True(build.Code == 0, build.Err);
        var bundle = build.Out.Trim();
        Assert.EndsWith("offlinekit-k8s-1.31.2-el8-amd64.tar", bundle, StringComparison.Ordinal);
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["site"]).FullName, "current");
        await File.AppendAllTextAsync(inventory, "cluster:\n  podSubnet: 172.21.0.0/16\n");
        var cleared = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        foreach (var host in report.Hosts)
        {
            await LabInstall.AssertDoneOfflineAsync(host);
        }

        var master = lab["k8s-master"];
        var init = await File.ReadAllTextAsync(Path.Combine(master.Directory, "root", "var/lib/offlinekit-standins/kubeadm/init-config.yaml"));
        Assert.Contains("apiVersion: kubeadm.k8s.io/v1beta4", init);
        Assert.Contains("criSocket: unix:///run/containerd/containerd.sock", init);
        Assert.Contains("kubernetesVersion: 1.31.2", init);
        Assert.Contains("podSubnet: 172.21.0.0/16", init);
        Assert.Contains($"--pod-infra-container-image={pause}", await File.ReadAllTextAsync(Path.Combine(master.Directory, "root", "var/lib/kubelet/kubeadm-flags.env")));
        var images = await Tools.RunAsync("ctr", ["--address", Path.Combine(master.Directory, "containerd.sock"), "-n", "k8s.io", "images", "ls", "-q"]);
        Assert.Subset(images.Stdout.Split('\n').ToHashSet(StringComparer.Ordinal), kubeadm.ToHashSet(StringComparer.Ordinal));
        var dump = await Tools.RunAsync("containerd", ["--config", Path.Combine(master.Directory, "root", "etc/containerd/config.toml"), "config", "dump"]);
        Assert.Contains($"sandbox_image = \"{pause}\"", dump.Stdout);
        Assert.Matches("k8s-node02 +Ready", (await Installer.StatusAsync(inventory, Request())).Single(h => h.Host == "k8s-master").Nodes);

        // The journal says what site values the pod network was rendered with.
        var journal = Journal.Parse(await File.ReadAllTextAsync(Path.Combine(LabHosts.StateDir(master, "current"), InstallPlanner.JournalFile)));
        var calico = Assert.Single(journal.Single(e => e.Step == InstallPlanner.NetworkStep && e.Status == JournalEntry.Done).Site!);
        Assert.Equal(("calico", "172.21.0.0/16"), (calico.Name, calico.Values["cluster.podSubnet"]));

        // Again: nothing pushed, no byte under any host's /etc changes.
        var before = lab.Hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
        Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc"))));

        Assert.True((await Installer.ResetAsync(inventory, purge: true, Request())).Ok);
    }

    private InstallRequest Request() => LabInstall.Request(lab, _dir);
}
