using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// Site mode with containerd and the site's own registry, on the lab's three hosts (sharing the version lab
/// the 1.31.2 install above builds from): the site's registry is Debian's docker-registry with TLS by a lab
/// CA and htpasswd auth, listening on this machine's lab gateway, where the hosts route. k8s-master is the
/// depot: it alone gets the bundle, serves its RPMs with nginx and seeds the site's registry with the
/// published offlinekit's `images push`, logged in with the operator's docker config entry for it. The
/// workers fetch the scripts and lists, install from the depot's repository and pull every image by digest
/// from the site's registry into their own containerd through the hosts.toml the runtime step wrote (the
/// lab CA, the credential as an Authorization header, the registry's /k8s path as a mirror with
/// override_path), tagged with their origin names; a rerun changes nothing, and no secret is in any log.
/// Then the same bundle with the depot's own registry (plain HTTP), as the docker bundle's site test does.
/// </summary>
public sealed partial class InstallCurrentKubernetesTests
{
    [Fact]
    public async Task Site_mode_with_containerd_seeds_the_sites_own_registry_over_tls_with_a_login_and_the_nodes_pull_from_it_by_digest_then_from_the_depots_own()
    {
        await lab.RequireLabRoutesAsync();
        await lab.RequireGatewayAsync();
        var target = VersionLab.Current;
        var spec = (await CliRunner.RunAsync(["spec", "show", .. target.Flags])).Out.Replace("  - chrony\n", "  - chrony\n  - nginx\n", StringComparison.Ordinal);
        Assert.Contains("  - nginx\n", spec, StringComparison.Ordinal);
        var build = await CliRunner.RunAsync(["build", "--spec", _dir.Write("site-spec.yaml", spec), "--mirrors", versions.MirrorsFor(target), "-o", _dir["site-out"], "--cache", _dir["cache"], "--without", "bin"]);
        Assert.True(build.Code == 0, build.Err);
        var bundle = build.Out.Trim();
        var manifest = (await BundleInspector.InspectAsync(bundle)).Manifest;
        Assert.Equal("containerd", manifest.Runtime);

        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd, lab.Gateway);
        var (dockerConfig, token) = LabInstall.OperatorLogin(_dir, registry);
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["site-registry"]).FullName, "current-site");
        await File.AppendAllTextAsync(inventory, $"cluster:\n  podSubnet: 172.21.0.0/16\n  sources: site\n  site:\n    httpPort: 18081\n    registry: {registry.Host}/k8s\n    caFile: {registry.CaFile}\n");
        var request = Request() with { DockerConfig = dockerConfig };
        var depotState = Path.Combine(LabHosts.StateDir(lab["k8s-master"], "current-site"), "depot");

        // Whatever an earlier test left: a cluster, and images in the workers' containerd (they must pull theirs from the site's registry).
        var cleared = await Installer.ResetAsync(inventory, purge: false, request);
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));
        try
        {
            var (report, masterLog) = await InstallWithBareWorkersAsync(bundle, inventory, request);
            Assert.Contains($"serve-depot: OK: ", masterLog);
            Assert.Contains($"images in {registry.Host}/k8s", masterLog);
            Assert.Contains("apply-manifests: every node Ready: k8s-master, k8s-node01, k8s-node02", masterLog);

            // The site's registry holds every image of the bundle under /k8s with the bundle's digest.
            var images = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
            Assert.NotEmpty(images);
            foreach (var image in images)
            {
                var reference = OfflineKit.Images.ImageReference.Parse(image.Name);
                Assert.Equal(image.Digest, await registry.TagDigestAsync($"k8s/{reference.Repository}", reference.Tag!));
            }

            var size = new FileInfo(bundle).Length;
            Assert.InRange(report.Hosts.Single(h => h.Host == "k8s-master").Push.BytesSent, size / 2, size);
            foreach (var worker in report.Hosts.Where(h => h.Role == HostRole.Worker))
            {
                Assert.Equal(0, worker.Push.FilesSent + worker.Push.BytesSent);
                var log = await File.ReadAllTextAsync(worker.LogPath);
                Assert.Contains($"(baseurl http://{lab["k8s-master"].Address}:18081/rpms)", log);
                Assert.Matches("import-images: pulled [1-9][0-9]* of [1-9][0-9]* images \\(the others were present\\) into containerd, each by its digest", log);

                // containerd's mirror configuration: the origin registry's hosts.toml sends it to the site's registry's /k8s,
                // with the lab CA beside it and the credential as a header, readable by root alone.
                var host = lab[worker.Host];
                var certs = Path.Combine(host.Directory, "root", "etc/containerd/certs.d");
                var toml = Path.Combine(certs, "registry.aliyuncs.com", "hosts.toml");
                var text = await File.ReadAllTextAsync(toml);
                Assert.Contains($"[host.\"https://{registry.Host}/v2/k8s\"]", text);
                Assert.Contains("override_path = true", text);
                Assert.Contains("ca = \"ca.crt\"", text);
                Assert.Contains($"Authorization = [\"Basic {token}\"]", text);
                Assert.DoesNotContain("b3RoZXI6", text); // the other login goes nowhere
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(toml));
                Assert.Equal(await File.ReadAllTextAsync(registry.CaFile!), await File.ReadAllTextAsync(Path.Combine(certs, "registry.aliyuncs.com", "ca.crt")));

                // The images carry their origin names; the control-plane ones stay on the control plane.
                var names = await Tools.RunAsync("ctr", ["--address", Path.Combine(host.Directory, "containerd.sock"), "-n", "k8s.io", "images", "ls", "-q"]);
                Assert.Subset(names.Stdout.Split('\n').ToHashSet(StringComparer.Ordinal), images.Where(a => a.Path == "images/common.tar").Select(a => a.Name).ToHashSet(StringComparer.Ordinal));
                Assert.DoesNotContain("kube-apiserver", names.Stdout);
            }

            // Again: nothing pushed, no byte under any host's /etc changes.
            var before = lab.Hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc")));
            var again = await Installer.InstallAsync(bundle, inventory, request);
            Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
            Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc"))));

            // What the kubelet does through the CRI: an origin name resolved by the mirror configuration alone (TLS, login, /k8s path).
            var pause = images.Single(a => a.Name.Contains("/pause:", StringComparison.Ordinal)).Name;
            var pull = await lab.SshAsync(lab["k8s-node02"], $"ctr -n k8s.io images rm {pause} >/dev/null && ctr -n k8s.io images pull --hosts-dir \"$OFFLINEKIT_ROOT/etc/containerd/certs.d\" {pause} && ctr -n k8s.io images ls -q");
            Assert.True(pull.ExitCode == 0, pull.Stdout + pull.Stderr);
            Assert.Contains(pause, pull.Stdout);

            // No secret in any log, journal or stand-in record.
            await LabInstall.AssertNoSecretAsync(lab, _dir["runs"], "current-site", token);
        }
        finally
        {
            await Installer.ResetAsync(inventory, purge: true, request);
            await LabInstall.StopDepotAsync(depotState);
        }

        await TheDepotsOwnRegistryAsync(bundle);
    }

    /// <summary>
    /// The same bundle with the depot's own registry: plain HTTP, Debian's docker-registry started in k8s-master's
    /// namespace (the stand-in for the container), seeded by images push; the workers' hosts.toml send each origin
    /// registry to it (http, /k8s with override_path) and they pull over plain HTTP by digest; a rerun changes nothing.
    /// </summary>
    private async Task TheDepotsOwnRegistryAsync(string bundle)
    {
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["depot-registry"]).FullName, "current-depot");
        await File.AppendAllTextAsync(inventory, "cluster:\n  podSubnet: 172.21.0.0/16\n  sources: site\n  site:\n    httpPort: 18083\n    registryPort: 15001\n");
        var request = Request();
        var master = lab["k8s-master"];
        try
        {
            var (report, masterLog) = await InstallWithBareWorkersAsync(bundle, inventory, request);
            Assert.Contains("serve-depot: registry stand-in (/usr/bin/docker-registry, in place of the container) started on :15001", masterLog);
            Assert.Contains("apply-manifests: every node Ready: k8s-master, k8s-node01, k8s-node02", masterLog);
            foreach (var worker in report.Hosts.Where(h => h.Role == HostRole.Worker))
            {
                Assert.Matches("import-images: pulled [1-9][0-9]* of [1-9][0-9]* images \\(the others were present\\) into containerd, each by its digest", await File.ReadAllTextAsync(worker.LogPath));
                var toml = await File.ReadAllTextAsync(Path.Combine(lab[worker.Host].Directory, "root", "etc/containerd/certs.d/registry.aliyuncs.com/hosts.toml"));
                Assert.Contains($"[host.\"http://{master.Address}:15001/v2/k8s\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n", toml);
            }

            var before = lab.Hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc")));
            var again = await Installer.InstallAsync(bundle, inventory, request);
            Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
            Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc"))));
        }
        finally
        {
            await Installer.ResetAsync(inventory, purge: true, request);
            await LabInstall.StopDepotAsync(Path.Combine(LabHosts.StateDir(master, "current-depot"), "depot"));
        }
    }

    /// <summary>Every image in a lab host's containerd (k8s.io), when it runs: what an earlier install left.</summary>
    /// <summary>
    /// Installs after removing every image from the workers' containerd (they must pull theirs from the registry,
    /// whatever an earlier test left); checks every host ran offline; gives the report and the first control plane's log.
    /// </summary>
    private async Task<(InstallReport Report, string MasterLog)> InstallWithBareWorkersAsync(string bundle, string inventory, InstallRequest request)
    {
        foreach (var worker in new[] { lab["k8s-node01"], lab["k8s-node02"] })
        {
            await RemoveContainerdImagesAsync(worker);
        }

        var report = await Installer.InstallAsync(bundle, inventory, request);
        foreach (var host in report.Hosts)
        {
            await LabInstall.AssertDoneOfflineAsync(host);
        }

        return (report, await File.ReadAllTextAsync(report.Hosts.Single(h => h.Host == "k8s-master").LogPath));
    }

    private static async Task RemoveContainerdImagesAsync(LabHost host)
    {
        var socket = Path.Combine(host.Directory, "containerd.sock");
        if (!File.Exists(socket))
        {
            return;
        }

        var list = await Tools.RunAsync("ctr", ["--address", socket, "-n", "k8s.io", "images", "ls", "-q"]);
        var names = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.ExitCode == 0 && names.Length > 0)
        {
            var removed = await Tools.RunAsync("ctr", ["--address", socket, "-n", "k8s.io", "images", "rm", .. names]);
            Assert.True(removed.ExitCode == 0, removed.Stderr);
        }
    }
}
