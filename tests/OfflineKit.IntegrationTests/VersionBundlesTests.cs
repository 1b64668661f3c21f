using OfflineKit.Bundle;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// Whole bundles of several Kubernetes versions built from one shared lab (<see cref="VersionLab"/>)
/// through the mirrors file, each judged by the real tools: `dnf repoclosure` over its repo, an
/// offline `dnf install` into an empty root with gpgcheck on trusting only the keys the bundle
/// carries, the real dnf's transaction equal to `offlinekit rpms resolve`, and the real
/// `ctr -n k8s.io images import` of its images with kubeadm's pause image present under its exact name,
/// and the real `docker load` and `podman load` listing exactly bundle.json's images and image ids.
/// </summary>
[Collection(VersionLab.Collection)]
public class VersionBundlesTests(VersionLab lab)
{
    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    /// <summary>What the guide's bundle carried before the version catalog: the same RPMs (the lab's closure), images and manifests.</summary>
    private static readonly string[] GuideRpms =
    [
        "basesystem-0:11-5.el8.noarch", "bash-0:4.4.20-2.el8.x86_64", "chrony-0:4.1-1.el8.x86_64", "conntrack-tools-0:1.4.4-10.el8.x86_64",
        "container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", "containerd.io-0:1.6.20-3.1.el8.x86_64", "cri-tools-0:1.25.0-0.x86_64",
        "docker-ce-3:20.10.24-3.el8.x86_64", "docker-ce-cli-1:20.10.24-3.el8.x86_64", "docker-ce-rootless-extras-0:20.10.25-3.el8.x86_64",
        "ethtool-2:5.8-7.el8.x86_64", "filesystem-0:3.8-6.el8.x86_64", "fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64",
        "glibc-0:2.28-164.el8.x86_64", "iproute-0:5.12.0-4.el8.x86_64", "iproute-tc-0:5.12.0-4.el8.x86_64", "iptables-0:1.8.4-20.el8.x86_64",
        "iptables-ebtables-0:1.8.4-20.el8.x86_64", "iptables-libs-0:1.8.4-20.el8.x86_64", "kubeadm-0:1.23.0-0.x86_64", "kubectl-0:1.23.0-0.x86_64",
        "kubelet-0:1.23.0-0.x86_64", "kubernetes-cni-0:1.1.1-0.x86_64", "libcgroup-0:0.41-19.el8.x86_64", "libedit-0:3.1-23.20170329cvs.el8.x86_64",
        "libnetfilter_cthelper-0:1.0.0-15.el8.x86_64", "libseccomp-0:2.5.1-1.el8.x86_64", "ncurses-libs-0:6.1-9.20180224.el8.x86_64",
        "policycoreutils-0:2.9-16.el8.x86_64", "selinux-policy-0:3.14.3-80.el8.noarch", "setup-0:2.12.2-6.el8.noarch", "shadow-utils-2:4.6-14.el8.x86_64",
        "slirp4netns-0:1.1.8-1.module_el8.5.0+890+6b136101.x86_64", "socat-0:1.7.4.1-1.el8.x86_64", "systemd-0:239-51.el8.x86_64",
        "systemd-selinux-helper-0:239-51.el8.x86_64", "tar-2:1.30-5.el8.x86_64", "timedatex-0:0.5-3.el8.x86_64", "util-linux-0:2.32.1-28.el8.x86_64",
        "xz-0:5.2.4-3.el8.x86_64",
    ];

    private static readonly string[] GuideImages =
    [
        "docker.io/calico/cni:v3.25.2", "docker.io/calico/kube-controllers:v3.25.2", "docker.io/calico/node:v3.25.2",
        "registry.aliyuncs.com/google_containers/coredns:v1.8.6", "registry.aliyuncs.com/google_containers/etcd:3.5.1-0",
        "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "registry.aliyuncs.com/google_containers/kube-controller-manager:v1.23.0",
        "registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0", "registry.aliyuncs.com/google_containers/kube-scheduler:v1.23.0",
        "registry.aliyuncs.com/google_containers/pause:3.6", "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3",
    ];

    [Fact]
    public async Task The_guide_s_1_23_0_el8_docker_bundle_carries_what_it_always_did_and_passes_every_check()
    {
        using var dir = new TempDir();
        var bundle = await BuildAsync(dir, ["--k8s", "1.23.0"], lab.GuideMirrorsFile);

        var manifest = (await BundleInspector.InspectAsync(bundle)).Manifest;
        Assert.Equal(GuideImages, manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).Select(a => a.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["calico", "metrics-server"], manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Manifest).Select(a => a.Name).Order(StringComparer.Ordinal));
        Assert.Equal("docker", manifest.Runtime ?? "docker");
        var rpms = await AssertBundleAsync(bundle, dir, ["--k8s", "1.23.0"], VersionLab.Guide, "registry.aliyuncs.com/google_containers/pause:3.6");
        Assert.Equal(GuideRpms, rpms);
        // Spelling out the guide's os, arch and runtime builds a bundle of the same artifacts, digest for digest.
        var flagged = (await BundleInspector.InspectAsync(await BuildAsync(dir, VersionLab.Guide.Flags, lab.GuideMirrorsFile, "out2"))).Manifest;
        Assert.Equal(
            manifest.Artifacts.Select(a => (a.Kind, a.Name, a.Version, a.Digest, a.Path)).Order(),
            flagged.Artifacts.Select(a => (a.Kind, a.Name, a.Version, a.Digest, a.Path)).Order());
    }

    [Fact]
    public async Task A_1_30_el9_containerd_bundle_from_pkgs_k8s_io_and_Rocky_9_passes_every_check()
    {
        var rpms = await BuildAndCheckAsync(VersionLab.El9);

        Assert.Contains("kubelet-0:1.30.1-150500.1.1.x86_64", rpms);
        Assert.Contains("cri-tools-0:1.30.1-150500.1.1.x86_64", rpms);
        Assert.Contains("iptables-nft-0:1.8.10-4.el9_4.x86_64", rpms);
        Assert.Contains("container-selinux-3:2.232.1-1.el9.noarch", rpms);
        Assert.Contains("chrony-0:4.5-3.el9.x86_64", rpms);
        Assert.Contains("haproxy-0:2.4.22-3.el9_3.x86_64", rpms);
        Assert.Contains("keepalived-0:2.2.8-3.el9.x86_64", rpms);
    }

    [Fact]
    public async Task A_1_31_el8_containerd_bundle_from_the_per_minor_repo_passes_every_check()
    {
        var rpms = await BuildAndCheckAsync(VersionLab.El8);

        Assert.Contains("kubelet-0:1.31.1-150500.1.1.x86_64", rpms);
        Assert.Contains("cri-tools-0:1.31.1-150500.1.1.x86_64", rpms);
        Assert.Contains("kubernetes-cni-0:1.5.1-150500.1.1.x86_64", rpms);
        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", rpms);
        // Today's docker-ce repo: the newest containerd.io, which 1.31 supports (1.6.34 or newer); no docker.
        Assert.Contains("containerd.io-0:1.7.25-3.1.el8.x86_64", rpms);
        Assert.DoesNotContain(rpms, r => r.StartsWith("docker-ce", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_arm64_bundle_carries_aarch64_RPMs_and_arm64_images_and_passes_every_check()
    {
        var rpms = await BuildAndCheckAsync(VersionLab.Arm64, async bundle =>
        {
            // Each image's config, as the docker-archive carries it, is the arm64 one the registry's index offers.
            foreach (var archive in Directory.GetFiles(Path.Combine(bundle, BundleLayout.ImagesDir), "*.tar"))
            {
                var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                await using (var reader = new System.Formats.Tar.TarReader(File.OpenRead(archive)))
                {
                    while (await reader.GetNextEntryAsync() is { } entry)
                    {
                        if (entry.DataStream is { } data && (entry.Name == "manifest.json" || entry.Name.EndsWith(".json", StringComparison.Ordinal) || entry.Name.StartsWith("blobs/", StringComparison.Ordinal)) && entry.Length < 1_000_000)
                        {
                            using var copy = new MemoryStream();
                            await data.CopyToAsync(copy);
                            entries[entry.Name] = copy.ToArray();
                        }
                    }
                }

                var images = System.Text.Json.JsonDocument.Parse(entries["manifest.json"]).RootElement.EnumerateArray().ToList();
                Assert.NotEmpty(images);
                Assert.All(images, i => Assert.Equal("arm64", System.Text.Json.JsonDocument.Parse(entries[i.GetProperty("Config").GetString()!]).RootElement.GetProperty("architecture").GetString()));
            }
        });

        Assert.Contains("kubelet-0:1.30.1-150500.1.1.aarch64", rpms);
        Assert.All(rpms, r => Assert.True(r.EndsWith(".aarch64", StringComparison.Ordinal) || r.EndsWith(".noarch", StringComparison.Ordinal), r));
    }

    private async Task<IReadOnlyList<string>> BuildAndCheckAsync(VersionTarget target, Func<string, Task>? checkExtracted = null)
    {
        var kubeadm = OfflineKit.Images.KubeadmImages.List(target.K8s, target.Spec.ImageRepository);
        var pause = kubeadm.Single(n => n.Contains("/pause:", StringComparison.Ordinal));
        using var dir = new TempDir();
        var bundle = await BuildAsync(dir, target.Flags, lab.MirrorsFor(target));
        var manifest = (await BundleInspector.InspectAsync(bundle)).Manifest;
        Assert.Equal((target.K8s, target.Os, target.Arch, target.Runtime), (manifest.KubernetesVersion, manifest.Os, manifest.Arch, manifest.Runtime));
        // kubeadm's exact list for the version (pause included), Calico and metrics-server of the catalog's choice.
        var images = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(images, kubeadm.ToHashSet(StringComparer.Ordinal));
        var calico = target.Spec.Addons.Single(a => a.Name == "calico").Version;
        Assert.Contains($"docker.io/calico/node:{calico}", images);
        Assert.Contains($"registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:{target.Spec.Addons.Single(a => a.Name == "metrics-server").Version}", images);
        var rpms = await AssertBundleAsync(bundle, dir, target.Flags, target, pause);
        if (checkExtracted is not null)
        {
            await checkExtracted(Path.Combine(dir["site"], Path.GetFileName(bundle)[..^".tar".Length]));
        }

        return rpms;
    }

    private static async Task<string> BuildAsync(TempDir dir, string[] what, string mirrors, string output = "out")
    {
        var build = await Cli(["build", .. what, "--mirrors", mirrors, "-o", dir[output], "--cache", dir["cache"], "--without", "bin"]);
        Assert.True(build.Code == 0, build.Err);
        var tarball = build.Out.Trim();
        Assert.True((await BundleVerifier.VerifyAsync(tarball)).Ok);
        return tarball;
    }

    /// <summary>The four checks every bundle passes; returns what the real dnf installed from the bundle alone.</summary>
    private async Task<IReadOnlyList<string>> AssertBundleAsync(
        string tarball, TempDir dir, string[] what, VersionTarget target, string pause)
    {
        var bundle = (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory;
        var rpms = Path.Combine(bundle, BundleLayout.RpmsDir);
        var packages = (await File.ReadAllLinesAsync(Path.Combine(bundle, BundleLayout.PackagesList))).Where(l => l.Length > 0).ToList();

        // 1. The real dnf repoclosure: the bundle's repo alone satisfies every dependency.
        var bundleRepo = new LabDnfRepo("offlinekit", rpms);
        var closure = await LabDnf.RepoclosureAsync([bundleRepo], target.Dnf);
        Assert.True(closure.ExitCode == 0, closure.Stdout + closure.Stderr);

        // 2. Offline install into an empty root, gpgcheck on, trusting only the keys the bundle carries.
        var keys = Directory.GetFiles(Path.Combine(bundle, BundleLayout.RpmKeysDir));
        Assert.NotEmpty(keys);
        var installed = await LabDnf.InstallAsync([bundleRepo], packages, keys, target: target.Dnf);
        Assert.True(installed.ExitCode == 0, installed.Output);

        // 3. The real dnf's transaction from the origin repos equals `rpms resolve` and what the bundle installed.
        var resolve = await Cli(["rpms", "resolve", .. what, "--mirrors", lab.MirrorsFor(target), "--cache", dir["cache"]]);
        Assert.True(resolve.Code == 0, resolve.Err);
        var resolved = resolve.Out.Trim().Split('\n');
        var manifest = (await BundleInspector.InspectAsync(tarball)).Manifest;
        var fromOrigin = await lab.Repos.DnfInstallAsync(packages,
            repos: lab.Repos.DnfRepos(target.Spec.Rpm.Repositories.Select(r => r.BaseUrl), target.Snapshot), target: target.Dnf);
        Assert.Equal(fromOrigin, resolved);
        Assert.Equal(fromOrigin, installed.Installed);

        // 4. The real containerd imports every image archive, and kubeadm's pause image is there by its exact name.
        Tools.Require("ctr", "containerd");
        await using var containerd = await LabDaemon.ContainerdAsync();
        foreach (var archive in Directory.GetFiles(Path.Combine(bundle, BundleLayout.ImagesDir), "*.tar"))
        {
            var import = await containerd.Ctr("images", "import", "--platform", $"linux/{manifest.Arch}", archive);
            Assert.True(import.ExitCode == 0, import.Stdout + import.Stderr);
        }

        var listed = (await containerd.Ctr("images", "ls", "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(pause, listed);
        Assert.All(manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image), a => Assert.Contains(a.Name, listed));

        // 5. The real docker and podman load every archive too: the names they list and their image ids
        // (the config's digest: an image's blobs in bundle.json are its manifest, config, layers) are bundle.json's, nothing more.
        var archives = Directory.GetFiles(Path.Combine(bundle, BundleLayout.ImagesDir), "*.tar");
        var expected = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image)
            .Select(a => new LoadedImage(a.Name, a.Blobs![1])).Distinct().OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        Assert.Contains(expected, i => i.Name == pause);
        await using (var docker = await LabDaemon.DockerdAsync())
        {
            Assert.Equal(expected, await ImageLoads.DockerLoadAsync(docker, archives));
        }

        Assert.Equal(expected, await ImageLoads.PodmanLoadAsync(dir["podman"], archives));
        return installed.Installed;
    }
}
