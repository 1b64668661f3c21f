using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// cluster.sources: site on the lab's three hosts, k8s-master the depot: the bundle (built for real from the
/// lab's sources, with the lab's nginx RPM) is pushed to it alone; it checks it and serves it with this
/// machine's nginx (the bundle's nginx RPM installed into its root by dnf) and Debian's docker-registry
/// started in its namespace, the stand-in for the registry container a namespace host cannot run, seeded
/// by the published offlinekit's `images push`. The workers fetch only the scripts and lists from it,
/// install their packages with dnf from its HTTP repository and pull their images into their own dockerd
/// by digest from its registry, tagged with the origin names; then the cluster comes up as in pushed mode.
/// Then, with the same bundle, the site's own registry (cluster.site.registry): Debian's docker-registry with
/// TLS by a lab CA and htpasswd auth on this machine's lab gateway, seeded by the depot logged in with the
/// operator's docker config entry; the workers' dockerd trusts the CA from /etc/docker/certs.d and pulls as
/// root with that login merged into root's docker config; no secret in any log.
/// </summary>
[Collection("lab hosts")]
public sealed class InstallSiteTests(LabHosts lab, LabRpmRepos rpms) : IClassFixture<LabRpmRepos>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_site_install_pushes_the_bundle_to_the_depot_alone_and_the_workers_pull_from_its_registry_then_from_the_sites_own_over_tls_with_a_login()
    {
        await lab.RequireLabRoutesAsync();
        var spec = (await CliRunner.RunAsync("spec", "show", "--k8s", "1.23.0")).Out.Replace("  - chrony\n", "  - chrony\n  - nginx\n", StringComparison.Ordinal);
        Assert.Contains("  - nginx\n", spec, StringComparison.Ordinal);
        var bundle = await LabInstall.BuildAsync(rpms, _dir, "--spec", _dir.Write("site-spec.yaml", spec));
        var inventory = lab.WriteInventory(_dir.Path, "site");
        await File.AppendAllTextAsync(inventory, "cluster:\n  sources: site\n  site:\n    httpPort: 18080\n    registryPort: 15000\n");
        var depot = lab["k8s-master"];
        var depotState = Path.Combine(LabHosts.StateDir(depot, "site"), "depot");
        var request = LabInstall.Request(lab, _dir);

        // Whatever an earlier test left of a cluster on the shared lab hosts goes first.
        var cleared = await Installer.ResetAsync(inventory, purge: false, request);
        Assert.True(cleared.Ok, string.Join("; ", cleared.Hosts.Select(h => $"{h.Host}: {h.Message}")));

        // And the images an earlier install left in the workers' dockerd: the workers must pull theirs from the depot.
        await RemoveWorkerImagesAsync();

        try
        {
            var report = await Installer.InstallAsync(bundle, inventory, request);

            var masterLog = await AssertAllDoneAsync(report);
            foreach (var host in report.Hosts)
            {
                var log = await File.ReadAllTextAsync(host.LogPath);
                string[] order = host.Role == HostRole.ControlPlane
                    ? ["push", "verify", "serve", "preflight", "prepare", "packages", "runtime", "images", "init", "network", "addons", "time"]
                    : ["fetch", "verify", "preflight", "prepare", "packages", "runtime", "images", "join", "time"];
                Assert.Equal(order, log.Split('\n').Where(l => l.EndsWith(": done", StringComparison.Ordinal) && l.Contains(" == ", StringComparison.Ordinal))
                    .Select(l => l[(l.IndexOf(" == ", StringComparison.Ordinal) + 4)..^": done".Length]));
            }

            Assert.Contains("serve-depot: registry stand-in (/usr/bin/docker-registry, in place of the container) started on :15000", masterLog);
            Assert.Contains("serve-depot: OK:", masterLog);
            Assert.Contains("apply-manifests: every node Ready: k8s-master, k8s-node01, k8s-node02", masterLog);

            // The bundle left this machine once: to the depot. The workers were sent no bundle file.
            var size = new FileInfo(bundle).Length;
            Assert.InRange(report.Hosts.Single(h => h.Host == "k8s-master").Push.BytesSent, size / 2, size);
            foreach (var worker in report.Hosts.Where(h => h.Role == HostRole.Worker))
            {
                Assert.Equal(0, worker.Push.FilesSent + worker.Push.BytesSent);
                var log = await File.ReadAllTextAsync(worker.LogPath);
                Assert.Contains("(baseurl http://10.231.0.101:18080/rpms)", log);
                Assert.Matches("import-images: pulled [1-9][0-9]* of [1-9][0-9]* images \\(the others were present\\) into docker, each by its digest", log);
                Assert.Contains($"join-node: OK: {worker.Host} joined the cluster", log);

                var host = lab[worker.Host];
                var folder = Path.Combine(LabHosts.StateDir(host, "site"), Path.GetFileNameWithoutExtension(bundle));
                Assert.True(File.Exists(Path.Combine(folder, "scripts/install-packages.sh")));
                Assert.False(File.Exists(Path.Combine(folder, "images/common.tar")));
                Assert.Empty(Directory.Exists(Path.Combine(folder, "rpms")) ? Directory.GetFiles(Path.Combine(folder, "rpms"), "*.rpm") : []);

                // Installed from the depot's repository (what the depot has but nginx, which only the depot runs); the images
                // under their origin names in the worker's own dockerd.
                var depotPackages = await LabDnf.InstalledAsync(Path.Combine(lab["k8s-master"].Directory, "root"));
                Assert.Contains(depotPackages, p => p.StartsWith("nginx-", StringComparison.Ordinal));
                Assert.Equal(depotPackages.Where(p => !p.StartsWith("nginx-", StringComparison.Ordinal)), await LabDnf.InstalledAsync(Path.Combine(host.Directory, "root")));
                var images = await Tools.RunAsync("docker", ["-H", $"unix://{host.Directory}/docker.sock", "images", "--format", "{{.Repository}}:{{.Tag}}"]);
                Assert.Contains("registry.aliyuncs.com/google_containers/pause:3.6", images.Stdout);
                Assert.Contains("calico/node:v3.25.2", images.Stdout);
                Assert.DoesNotContain("kube-apiserver", images.Stdout);
            }
        }
        finally
        {
            await Installer.ResetAsync(inventory, purge: true, request);
            await LabInstall.StopDepotAsync(depotState);
        }

        await TheSitesOwnRegistryAsync(bundle);
    }

    /// <summary>The same bundle, the site's own registry (TLS by a lab CA, htpasswd) in place of the depot's.</summary>
    private async Task TheSitesOwnRegistryAsync(string bundle)
    {
        await lab.RequireGatewayAsync();
        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd, lab.Gateway);
        var (dockerConfig, token) = LabInstall.OperatorLogin(_dir, registry);
        var inventory = lab.WriteInventory(Directory.CreateDirectory(_dir["own"]).FullName, "site-own");
        await File.AppendAllTextAsync(inventory, $"cluster:\n  sources: site\n  site:\n    httpPort: 18082\n    registry: {registry.Host}/k8s\n    caFile: {registry.CaFile}\n");
        var request = LabInstall.Request(lab, _dir) with { DockerConfig = dockerConfig, RunsRoot = _dir["runs-own"] };
        await RemoveWorkerImagesAsync();
        try
        {
            var report = await Installer.InstallAsync(bundle, inventory, request);

            var masterLog = await AssertAllDoneAsync(report);
            Assert.Contains($"serve-depot: OK: ", masterLog);
            Assert.Contains($"images in {registry.Host}/k8s", masterLog);
            Assert.DoesNotContain("registry stand-in", masterLog);
            Assert.Contains("apply-manifests: every node Ready: k8s-master, k8s-node01, k8s-node02", masterLog);
            var images = (await BundleInspector.InspectAsync(bundle)).Manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
            foreach (var image in images)
            {
                var reference = OfflineKit.Images.ImageReference.Parse(image.Name);
                Assert.Equal(image.Digest, await registry.TagDigestAsync($"k8s/{reference.Repository}", reference.Tag!));
            }

            foreach (var worker in report.Hosts.Where(h => h.Role == HostRole.Worker))
            {
                var log = await File.ReadAllTextAsync(worker.LogPath);
                Assert.Matches("import-images: pulled [1-9][0-9]* of [1-9][0-9]* images \\(the others were present\\) into docker, each by its digest", log);
                var root = Path.Combine(lab[worker.Host].Directory, "root");
                Assert.Equal(await File.ReadAllTextAsync(registry.CaFile!), await File.ReadAllTextAsync(Path.Combine(root, "etc/docker/certs.d", registry.Host, "ca.crt")));
                var login = Path.Combine(root, "root/.docker/config.json");
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(login));
                var auths = await File.ReadAllTextAsync(login);
                Assert.Contains($"\"{registry.Host}\"", auths);
                Assert.DoesNotContain(LabInstall.OtherRegistry, auths);
                var names = await Tools.RunAsync("docker", ["-H", $"unix://{lab[worker.Host].Directory}/docker.sock", "images", "--format", "{{.Repository}}:{{.Tag}}"]);
                Assert.Contains("calico/node:v3.25.2", names.Stdout);
            }

            // Again: no byte under any host's /etc changes.
            var before = lab.Hosts.ToDictionary(h => h.Name, h => LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc")));
            var again = await Installer.InstallAsync(bundle, inventory, request);
            Assert.All(again.Hosts, h => Assert.True(h.Outcome == HostOutcome.Done && h.Push.BytesSent == 0, $"{h.Host}: failed at {h.FailedStep}: {h.Message}"));
            Assert.All(lab.Hosts, h => Assert.Equal(before[h.Name], LabInstall.Snapshot(Path.Combine(h.Directory, "root", "etc"))));

            // No secret in any log, journal or stand-in record.
            await LabInstall.AssertNoSecretAsync(lab, _dir["runs-own"], "site-own", token);
        }
        finally
        {
            await Installer.ResetAsync(inventory, purge: true, request);
            await LabInstall.StopDepotAsync(Path.Combine(LabHosts.StateDir(lab["k8s-master"], "site-own"), "depot"));
        }
    }

    /// <summary>Every host did every step; returns the control plane's log.</summary>
    private static async Task<string> AssertAllDoneAsync(InstallReport report)
    {
        foreach (var host in report.Hosts)
        {
            Assert.True(host.Outcome == HostOutcome.Done && host.StepsDone == host.StepsTotal, $"{host.Host}: {host.StepsDone} of {host.StepsTotal} done, failed at {host.FailedStep}: {host.Message}\n{await File.ReadAllTextAsync(host.LogPath)}");
        }

        return await File.ReadAllTextAsync(report.Hosts.Single(h => h.Host == "k8s-master").LogPath);
    }

    /// <summary>The images an earlier install left in the workers' dockerd.</summary>
    private async Task RemoveWorkerImagesAsync()
    {
        foreach (var name in new[] { "k8s-node01", "k8s-node02" })
        {
            var socket = Path.Combine(lab[name].Directory, "docker.sock");
            if (File.Exists(socket))
            {
                var ids = await Tools.RunAsync("docker", ["-H", $"unix://{socket}", "images", "-q"]);
                var present = ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
                if (present.Count > 0)
                {
                    var removed = await Tools.RunAsync("docker", ["-H", $"unix://{socket}", "rmi", "-f", .. present]);
                    Assert.True(removed.ExitCode == 0, removed.Stderr);
                }
            }
        }
    }
}
