using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Build;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// install's bring-up steps on the lab's three real sshd hosts: the bundle's own scripts, run as root
/// (sudo for oklab) with the lab seam hosts-up.sh gives every session (OFFLINEKIT_ROOT, the stand-ins
/// first on PATH). Packages are installed for real by dnf --installroot into each host's root from the
/// pushed bundle; systemctl, setenforce, modprobe, sysctl, swapoff and hostnamectl are the stand-ins,
/// whose record the test reads; but `systemctl start docker` starts a real private dockerd per host
/// (vfs, no iptables, no bridge) that reads the merged daemon.json, and the images step loads into it.
/// </summary>
[Collection("lab hosts")]
public sealed class InstallStepsTests(LabHosts lab, LabRpmRepos rpms) : IClassFixture<LabRpmRepos>, IDisposable
{
    private static readonly string[] CommonImages = ["docker.io/calico/node:v3.25.2", "registry.aliyuncs.com/google_containers/pause:3.6"];

    private static readonly string[] ControlPlaneImages = ["registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0"];

    private static readonly string[] Scripts = ["prepare-host.sh", "install-packages.sh", "configure-runtime.sh", "import-images.sh", "verify.sh"];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Prepare_packages_runtime_and_images_run_on_every_host_a_rerun_changes_nothing_and_a_failing_host_stops_alone()
    {
        await lab.RequireLabRoutesAsync();
        var chosen = await rpms.DnfInstallAsync(rpms.SpecPackages);
        var bundle = await BundleAsync(chosen);
        var inventory = lab.WriteInventory(_dir.Path, "steps");
        await File.AppendAllTextAsync(inventory, "cluster:\n  docker:\n    registryMirrors: [https://docker.m.daocloud.io]\n    insecureRegistries: [10.231.0.1:5000]\n");
        var machineHosts = await File.ReadAllTextAsync("/etc/hosts");

        var report = await Installer.InstallAsync(bundle, inventory, Request());

        foreach (var host in report.Hosts)
        {
            var log = await File.ReadAllTextAsync(host.LogPath);
            Assert.True(host.StepsDone == 6 && host.FailedStep == (host.Role == HostRole.ControlPlane ? InstallPlanner.InitStep : InstallPlanner.JoinStep), $"{host.Host}: {host.StepsDone} done, failed at {host.FailedStep}: {host.Message}\n{log}");
            Assert.Contains("prepare-host: OK: host " + host.Host + " prepared", log);
            Assert.Contains("configure-runtime: OK: docker configured and running, kubelet enabled", log);
            Assert.Contains($"import-images: OK (docker, role {(host.Role == HostRole.ControlPlane ? "control-plane" : "worker")})", log);
        }

        Assert.StartsWith("not implemented yet", report.Hosts.Single(h => h.Host == "k8s-master").Message);

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
            Assert.Equal(chosen, await LabDnf.InstalledAsync(root));
            var asked = File.ReadAllLines(Path.Combine(root, "var/log/offlinekit-standins.log"));
            Assert.Contains($"hostnamectl set-hostname {host.Name}", asked);
            Assert.Contains("systemctl disable firewalld", asked);
            Assert.Contains("systemctl enable --now docker", asked);
            Assert.Contains("systemctl enable kubelet", asked);

            // The host's own dockerd runs on its daemon.json and holds exactly its role's images.
            var docker = $"unix://{host.Directory}/docker.sock";
            var info = await Tools.RunAsync("docker", ["-H", docker, "info", "--format", "{{.CgroupDriver}} {{.RegistryConfig.Mirrors}}"]);
            Assert.Equal("systemd [https://docker.m.daocloud.io/]", info.Stdout.Trim());
            var images = await Tools.RunAsync("docker", ["-H", docker, "images", "--format", "{{.Repository}}:{{.Tag}}"]);
            Assert.Equal(
                // docker shows docker.io's images without the registry name.
                (host.Name == "k8s-master" ? [.. CommonImages, .. ControlPlaneImages] : CommonImages).Select(n => n.Replace("docker.io/", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray(),
                images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray());
        }

        Assert.Equal(machineHosts, await File.ReadAllTextAsync("/etc/hosts"));

        // Again: the journal says prepare, packages and runtime are done; nothing under any root changes.
        var before = lab.Hosts.ToDictionary(h => h.Name, h => Snapshot(Path.Combine(h.Directory, "root", "etc")));
        var again = await Installer.InstallAsync(bundle, inventory, Request());

        Assert.All(again.Hosts, h => Assert.True(h.StepsDone == 6, $"{h.Host}: {h.StepsDone} done, failed at {h.FailedStep}: {h.Message}"));
        Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], Snapshot(Path.Combine(h.Directory, "root", "etc"))));

        await AFailingStandInStopsOneWorkerAndARerunCompletesOnlyWhatIsMissing(bundle);
    }

    /// <summary>
    /// On the hosts the first install prepared, with a fresh journal: every script finds its work done
    /// and says so, except on k8s-node02, whose hostnamectl stand-in is told to fail. The others finish;
    /// node02 stops at prepare naming it; a rerun completes only what is missing.
    /// </summary>
    private async Task AFailingStandInStopsOneWorkerAndARerunCompletesOnlyWhatIsMissing(string bundle)
    {
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["fault"]).FullName, "steps-fault");
        var node02 = lab["k8s-node02"];
        var fail = Path.Combine(node02.Directory, "root", "var/lib/offlinekit-standins/fail/hostnamectl");
        Directory.CreateDirectory(Path.GetDirectoryName(fail)!);
        await File.WriteAllTextAsync(fail, "the lab broke hostnamed on purpose");
        try
        {
            var report = await Installer.InstallAsync(bundle, inventory, Request());

            var failed = report.Hosts.Single(h => h.Host == "k8s-node02");
            Assert.Equal((HostOutcome.Failed, InstallPlanner.PrepareStep, 2), (failed.Outcome, failed.FailedStep, failed.StepsDone));
            Assert.Contains("prepare-host: hostnamectl set-hostname k8s-node02 failed", failed.Message);
            Assert.Contains("told to fail: the lab broke hostnamed on purpose", await File.ReadAllTextAsync(failed.LogPath));
            foreach (var h in report.Hosts.Where(h => h.Host != "k8s-node02"))
            {
                var log = await File.ReadAllTextAsync(h.LogPath);
                Assert.True(h.StepsDone == 6, $"{h.Host}: {h.StepsDone} done, failed at {h.FailedStep}: {h.Message}\n{log}");
                Assert.Contains("prepare-host: already prepared; nothing to do", log);
                Assert.Contains("install-packages: all ", log);
                Assert.Contains("configure-runtime: already configured; nothing to do", log);
                Assert.Contains("import-images: common: all 2 images already present in docker; nothing to do", log);
            }
        }
        finally
        {
            File.Delete(fail);
        }

        var again = await Installer.InstallAsync(bundle, inventory, Request());

        Assert.All(again.Hosts, h => Assert.True(h.StepsDone == 6, $"{h.Host}: {h.StepsDone} done, failed at {h.FailedStep}: {h.Message}"));
        var rerun = await File.ReadAllTextAsync(again.Hosts.Single(h => h.Host == "k8s-node02").LogPath);
        Assert.Contains(rerun.Split('\n'), l => l.TrimEnd().EndsWith("== prepare: done", StringComparison.Ordinal));
        var other = await File.ReadAllTextAsync(again.Hosts.Single(h => h.Host == "k8s-node01").LogPath);
        foreach (var step in new[] { InstallPlanner.PrepareStep, InstallPlanner.PackagesStep, InstallPlanner.RuntimeStep, InstallPlanner.ImagesStep })
        {
            Assert.Contains($"== {step}: done in an earlier run (journal)", other);
        }

        Assert.Equal("k8s-node02\n", await File.ReadAllTextAsync(Path.Combine(node02.Directory, "root", "etc/hostname")));
    }

    private InstallRequest Request()
    {
        var knownHosts = _dir[$"known_hosts-{Guid.NewGuid():N}"];
        File.Copy(lab.KnownHosts, knownHosts);
        return new InstallRequest
        {
            KnownHosts = knownHosts,
            RunsRoot = _dir["runs"],
            Environment = lab.Environment,
            Ssh = new Install.Ssh.SshOptions { ConnectTimeout = TimeSpan.FromSeconds(10) },
        };
    }

    /// <summary>
    /// A tarball by the real writer: rpms/ with exactly what the real dnf chose from the lab repos,
    /// createrepo_c metadata, the lab key and packages.txt; scripts/ as embedded in offlinekit.
    /// </summary>
    private async Task<string> BundleAsync(IReadOnlyList<string> nevras)
    {
        var source = _dir["bundle-src"];
        var rpmsDir = Path.Combine(source, "rpms");
        Directory.CreateDirectory(Path.Combine(rpmsDir, "keys"));
        foreach (var f in rpms.Files.Where(f => nevras.Contains(f.Nevra)))
        {
            File.Copy(f.Path, Path.Combine(rpmsDir, Path.GetFileName(f.Path)));
        }

        var createrepo = await Tools.RunAsync(Tools.Require("createrepo_c", "createrepo-c"), ["--quiet", rpmsDir]);
        Assert.True(createrepo.ExitCode == 0, createrepo.Stderr);
        File.Copy(rpms.KeyFile, Path.Combine(source, BundleLayout.RpmKeysDir, "lab.gpg"));
        await File.WriteAllLinesAsync(Path.Combine(source, BundleLayout.PackagesList), rpms.SpecPackages);

        Directory.CreateDirectory(Path.Combine(source, BundleLayout.ImagesDir));
        foreach (var (part, names) in new[] { ("common", CommonImages), ("control-plane", ControlPlaneImages) })
        {
            await File.WriteAllBytesAsync(Path.Combine(source, BundleLayout.ImagesDir, $"{part}.tar"), DockerArchiveOf(names));
            await File.WriteAllLinesAsync(Path.Combine(source, BundleLayout.ImagesDir, $"{part}.images"), names);
        }

        var files = Directory.GetFiles(source, "*", SearchOption.AllDirectories)
            .Select(p => BundleFile.FromDisk(Path.GetRelativePath(source, p), p))
            .ToList();
        foreach (var script in Scripts)
        {
            await using var embedded = typeof(BundleBuilder).Assembly.GetManifestResourceStream($"OfflineKit.Scripts.{script}");
            Assert.NotNull(embedded);
            using var buffer = new MemoryStream();
            await embedded.CopyToAsync(buffer);
            files.Add(BundleFile.FromBytes($"{BundleLayout.ScriptsDir}/{script}", buffer.ToArray()) with { Executable = true });
        }

        return (await BundleWriter.WriteFileAsync(Bundles.Header, files, _dir["bundle"], BundleFormat.Tar)).Path;
    }

    /// <summary>
    /// A docker-archive `docker load` reads: one tiny layer per image (a file naming it), its config
    /// and manifest.json with the fully qualified tag. Real images' bytes are the build tests' business.
    /// </summary>
    private static byte[] DockerArchiveOf(IReadOnlyList<string> names)
    {
        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            var manifest = new List<string>();
            foreach (var name in names)
            {
                using var layer = new MemoryStream();
                using (var layerTar = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
                {
                    layerTar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "name") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(name + "\n")) });
                }

                var layerBytes = layer.ToArray();
                var diffId = Convert.ToHexStringLower(SHA256.HashData(layerBytes));
                var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{diffId}\"]}}}}");
                var configName = Convert.ToHexStringLower(SHA256.HashData(config)) + ".json";
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{diffId}/layer.tar") { DataStream = new MemoryStream(layerBytes) });
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, configName) { DataStream = new MemoryStream(config) });
                manifest.Add($"{{\"Config\":\"{configName}\",\"RepoTags\":[\"{name}\"],\"Layers\":[\"{diffId}/layer.tar\"]}}");
            }

            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("[" + string.Join(",", manifest) + "]")) });
        }

        return output.ToArray();
    }

    private static SortedDictionary<string, string> Snapshot(string dir) => new(
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(File.ReadAllBytes(f))),
        StringComparer.Ordinal);
}
