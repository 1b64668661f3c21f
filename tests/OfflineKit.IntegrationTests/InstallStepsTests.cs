using System.Text.RegularExpressions;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// install's bring-up steps on the lab's three real sshd hosts: the bundle's own scripts, run as root
/// (sudo for oklab) with the lab seam hosts-up.sh gives every session (OFFLINEKIT_ROOT, the stand-ins
/// first on PATH). Packages are installed for real by dnf --installroot into each host's root from the
/// pushed bundle; systemctl, setenforce, modprobe, sysctl, swapoff, hostnamectl, kubeadm, kubectl and
/// chronyd are the stand-ins (kubeadm validates the generated config and the images in the host's
/// docker; kubectl parses the manifests), whose record the test reads; but `systemctl start docker`
/// starts a real private dockerd per host (vfs, no iptables, no bridge) that reads the merged
/// daemon.json, and the images step loads into it.
/// </summary>
[Collection("lab hosts")]
public sealed class InstallStepsTests(LabHosts lab, LabRpmRepos rpms) : IClassFixture<LabRpmRepos>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The whole job: a bundle built for real from the lab's sources (registry, manifests, signed yum
    /// repos over HTTP), then install onto the three hosts; every step on every host, in order.
    /// Then: a second install changes nothing; reset; an install where k8s-node02's kubeadm stand-in is
    /// told to fail (the others finish, the summary names the step and shows the log tail); a rerun that
    /// completes only what is missing.
    /// </summary>
    [Fact]
    public async Task The_guides_cluster_comes_up_from_the_bundle_alone_a_rerun_changes_nothing_and_reset_then_install_works()
    {
        await lab.RequireLabRoutesAsync();
        var bundle = await BuildAsync();
        var inventory = lab.WriteInventory(_dir.Path, "cluster");
        await File.AppendAllTextAsync(inventory, "cluster:\n  docker:\n    registryMirrors: [https://docker.m.daocloud.io]\n    insecureRegistries: [10.231.0.1:5000]\n");
        var machineHosts = await File.ReadAllTextAsync("/etc/hosts");
        var chosen = await rpms.DnfInstallAsync(rpms.SpecPackages);

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        foreach (var host in report.Hosts)
        {
            var log = await File.ReadAllTextAsync(host.LogPath);
            Assert.True(host.Outcome == HostOutcome.Done && host.StepsDone == host.StepsTotal, $"{host.Host}: {host.StepsDone} of {host.StepsTotal} done, failed at {host.FailedStep}: {host.Message}\n{log}");
            string[] order = host.Role == HostRole.ControlPlane
                ? ["push", "verify", "preflight", "prepare", "packages", "runtime", "images", "init", "network", "addons", "time"]
                : ["push", "verify", "preflight", "prepare", "packages", "runtime", "images", "join", "time"];
            Assert.Equal(order, log.Split('\n').Where(l => l.EndsWith(": done", StringComparison.Ordinal) && l.Contains(" == ", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(" == ", StringComparison.Ordinal) + 4)..^": done".Length]));
            Assert.Contains("preflight: OK: this host can be a", log);
            Assert.Contains("prepare-host: OK: host " + host.Host + " prepared", log);
            Assert.Contains("configure-runtime: OK: docker configured and running, kubelet enabled", log);
            Assert.Contains($"import-images: OK (docker, role {InstallPlan.RoleName(host.Role)})", log);
            Assert.Contains(host.Role == HostRole.ControlPlane ? "init-control-plane: OK: control plane initialised" : $"join-node: OK: {host.Host} joined the cluster", log);
        }

        var master = report.Hosts.Single(h => h.Host == "k8s-master");
        var masterLog = await File.ReadAllTextAsync(master.LogPath);
        Assert.Contains("apply-manifests: Calico's IP pool 10.244.0.0/16 equals the cluster's podSubnet", masterLog);
        Assert.Contains("apply-manifests: every node Ready: k8s-master, k8s-node01, k8s-node02", masterLog);
        Assert.Contains("configure-time: OK: time served to the cluster", masterLog);

        // The token never reaches a local log, whatever printed it.
        var recorded = await File.ReadAllTextAsync(Path.Combine(lab["k8s-master"].Directory, "root", "var/lib/offlinekit-standins/kubeadm/init-config.yaml"));
        var token = Regex.Match(recorded, "token: ([a-z0-9]{6}\\.[a-z0-9]{16})").Groups[1].Value;
        Assert.True(KubeadmConfig.IsBootstrapToken(token), recorded);
        foreach (var log in Directory.GetFiles(Path.GetDirectoryName(master.LogPath)!))
        {
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(log));
        }

        // The kubeadm config kubeadm was given is the inventory's.
        var loaded = InventoryLoader.LoadFile(inventory);
        Assert.Equal(KubeadmConfig.Render(loaded, new Spec.KubernetesVersion(1, 23, 0), "registry.aliyuncs.com/google_containers", token), recorded);

        var block = "# BEGIN offlinekit (cluster hosts; rewritten by prepare-host.sh)\n"
            + string.Concat(lab.Hosts.Select(h => $"{h.Address} {h.Name}\n")) + "# END offlinekit\n";
        foreach (var host in lab.Hosts)
        {
            var root = Path.Combine(host.Directory, "root");
            string Read(string path) => File.ReadAllText(Path.Combine(root, path));
            Assert.EndsWith("localhost.localdomain\n" + block, Read("etc/hosts"));
            Assert.Equal(host.Name + "\n", Read("etc/hostname"));
            Assert.Equal("/dev/mapper/cl-root / xfs defaults 0 0\n#/dev/mapper/cl-swap none swap defaults 0 0\n", Read("etc/fstab"));
            Assert.Contains("SELINUX=permissive\n", Read("etc/selinux/config"));
            Assert.EndsWith("net.ipv4.ip_forward=1\nnet.bridge.bridge-nf-call-iptables=1\nnet.bridge.bridge-nf-call-ip6tables=1\n", Read("etc/sysctl.d/k8s.conf"));
            Assert.Equal(
                "{\n  \"exec-opts\": [\n    \"native.cgroupdriver=systemd\"\n  ],\n  \"registry-mirrors\": [\n    \"https://docker.m.daocloud.io\"\n  ],\n  \"insecure-registries\": [\n    \"10.231.0.1:5000\"\n  ]\n}\n",
                Read("etc/docker/daemon.json"));
            Assert.Contains(host.Name == "k8s-master" ? "local stratum 10\nallow 10.231.0.102\nallow 10.231.0.103\n" : "server 10.231.0.101 iburst\n", Read("etc/chrony.conf"));
            Assert.Equal(chosen, await LabDnf.InstalledAsync(root));
            var asked = File.ReadAllLines(Path.Combine(root, "var/log/offlinekit-standins.log"));
            Assert.Contains($"hostnamectl set-hostname {host.Name}", asked);
            Assert.Contains("systemctl disable firewalld", asked);
            Assert.Contains("systemctl enable --now docker", asked);
            Assert.Contains("systemctl enable kubelet", asked);
            Assert.Contains("systemctl restart chronyd", asked);
            Assert.DoesNotContain(asked, l => l.Contains(token, StringComparison.Ordinal));

            // The host's own dockerd runs on its daemon.json and holds its role's images.
            var docker = $"unix://{host.Directory}/docker.sock";
            var info = await Tools.RunAsync("docker", ["-H", docker, "info", "--format", "{{.CgroupDriver}} {{.RegistryConfig.Mirrors}}"]);
            Assert.Equal("systemd [https://docker.m.daocloud.io/]", info.Stdout.Trim());
            var images = await Tools.RunAsync("docker", ["-H", docker, "images", "--format", "{{.Repository}}:{{.Tag}}"]);
            Assert.Equal(host.Name == "k8s-master", images.Stdout.Contains("kube-apiserver:v1.23.0", StringComparison.Ordinal));
            Assert.Contains("registry.aliyuncs.com/google_containers/pause:3.6", images.Stdout);
            Assert.Contains("calico/node:v3.25.2", images.Stdout);
        }

        Assert.Equal(machineHosts, await File.ReadAllTextAsync("/etc/hosts"));
        var status = await Installer.StatusAsync(inventory, Request());
        Assert.Matches("k8s-node02 +Ready", status.Single(h => h.Host == "k8s-master").Nodes);

        // Again: every step is done in the journal; nothing under any root changes.
        var before = lab.Hosts.ToDictionary(h => h.Name, h => Snapshot(Path.Combine(h.Directory, "root", "etc")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
        Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], Snapshot(Path.Combine(h.Directory, "root", "etc"))));
        Assert.Contains("== init: done in an earlier run (journal)", await File.ReadAllTextAsync(again.Hosts.Single(h => h.Host == "k8s-master").LogPath));

        await ResetThenAFailingWorkerThenARerun(bundle, inventory);
    }

    /// <summary>
    /// reset takes the cluster down and sets the journals aside; then an install where k8s-node02's
    /// kubeadm stand-in is told to fail: the control plane and k8s-node01 finish, node02 stops at join
    /// with its log tail in the report; a rerun completes only what is missing.
    /// </summary>
    private async Task ResetThenAFailingWorkerThenARerun(string bundle, string inventory)
    {
        var reset = await Installer.ResetAsync(inventory, purge: false, Request());
        Assert.True(reset.Ok, string.Join("; ", reset.Hosts.Select(h => $"{h.Host}: {h.Message}")));
        foreach (var host in lab.Hosts)
        {
            var root = Path.Combine(host.Directory, "root");
            Assert.False(File.Exists(Path.Combine(root, "etc/kubernetes/admin.conf")) || File.Exists(Path.Combine(root, "etc/kubernetes/kubelet.conf")), host.Name);
            Assert.False(File.Exists(Path.Combine(LabHosts.StateDir(host, "cluster"), "journal")), host.Name);
            Assert.True(Directory.Exists(Path.Combine(LabHosts.StateDir(host, "cluster"), Path.GetFileNameWithoutExtension(bundle))), "reset without --purge keeps the pushed bundle");
        }

        Assert.All(await Installer.StatusAsync(inventory, Request()), h => Assert.Null(h.Bundle));

        var node02 = lab["k8s-node02"];
        var fail = Path.Combine(node02.Directory, "root", "var/lib/offlinekit-standins/fail/kubeadm");
        Directory.CreateDirectory(Path.GetDirectoryName(fail)!);
        await File.WriteAllTextAsync(fail, "the lab broke kubeadm on purpose");
        try
        {
            var report = await Installer.InstallAsync(bundle, inventory, Request());

            var failed = report.Hosts.Single(h => h.Host == "k8s-node02");
            Assert.Equal((HostOutcome.Failed, InstallPlanner.JoinStep), (failed.Outcome, failed.FailedStep));
            Assert.Contains(failed.LogTail, l => l.Contains("told to fail: the lab broke kubeadm on purpose", StringComparison.Ordinal));
            foreach (var h in report.Hosts.Where(h => h.Host != "k8s-node02"))
            {
                Assert.True(h.Outcome == HostOutcome.Done, $"{h.Host}: failed at {h.FailedStep}: {h.Message}\n{await File.ReadAllTextAsync(h.LogPath)}");
            }

            Assert.Contains("not in the cluster (their own install says why): k8s-node02", await File.ReadAllTextAsync(report.Hosts.Single(h => h.Host == "k8s-master").LogPath));
        }
        finally
        {
            File.Delete(fail);
        }

        var rerun = await Installer.InstallAsync(bundle, inventory, Request());
        Assert.True(rerun.Ok, string.Join("; ", rerun.Hosts.Select(h => $"{h.Host}: {h.Message}")));
        var node02Log = await File.ReadAllTextAsync(rerun.Hosts.Single(h => h.Host == "k8s-node02").LogPath);
        Assert.Contains("== images: done in an earlier run (journal)", node02Log);
        Assert.Contains("join-node: OK: k8s-node02 joined the cluster", node02Log);
        Assert.Contains("== addons: done in an earlier run (journal)", await File.ReadAllTextAsync(rerun.Hosts.Single(h => h.Host == "k8s-master").LogPath));
        Assert.Matches("k8s-node02 +Ready", (await Installer.StatusAsync(inventory, Request())).Single(h => h.Host == "k8s-master").Nodes);
    }

    private InstallRequest Request() => LabInstall.Request(lab, _dir);

    private Task<string> BuildAsync() => LabInstall.BuildAsync(rpms, _dir);

    private static SortedDictionary<string, string> Snapshot(string dir) => LabInstall.Snapshot(dir);
}
