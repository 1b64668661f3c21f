using OfflineKit.Bundle;
using OfflineKit.Cli;
using OfflineKit.Images;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>`offlinekit build` with the image stage, against the lab registry standing in for registry.aliyuncs.com.</summary>
public class BuildImagesTests
{
    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    [Fact]
    public async Task Build_puts_kubeadms_images_in_role_archives_that_docker_and_containerd_load_by_script()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();

        var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "-o", dir["out"], "--cache", dir["cache"],
            "--without", "rpms", "--without", "bin");
        Assert.True(build.Code == 0, build.Err);
        var tarball = build.Out.Trim();
        Assert.Empty(Directory.EnumerateDirectories(dir["out"]));

        var report = await BundleVerifier.VerifyAsync(tarball);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        var manifest = (await BundleInspector.InspectAsync(tarball)).Manifest;
        var images = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
        Assert.Equal(lab.Images.Order(), images.Select(i => i.Name).Order());
        Assert.Equal(4, images.Count(i => i.Path == "images/control-plane.tar"));
        Assert.Contains(images, i => i.Name == "docker.io/calico/node:v3.25.2" && i.Path == "images/common.tar");
        Assert.Contains(images, i => i.Name == "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3");
        var manifests = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Manifest).ToList();
        Assert.Equal(["calico", "metrics-server"], manifests.Select(m => m.Name).Order());
        Assert.Equal("https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml", manifests.Single(m => m.Name == "calico").Origin);
        Assert.Contains(images, i => i.Name == "registry.aliyuncs.com/google_containers/etcd:3.5.1-0" && i.Path == "images/control-plane.tar");
        Assert.Contains(images, i => i.Name == "registry.aliyuncs.com/google_containers/pause:3.6" && i.Path == "images/common.tar");

        var extracted = (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory;
        var script = Path.Combine(extracted, "scripts/import-images.sh");

        await using (var docker = await LabDaemon.DockerdAsync())
        {
            var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + docker.Socket };
            var first = await Tools.RunAsync("/bin/bash", [script, "--role", "control-plane", "--runtime", "docker"], environment: env);
            Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
            foreach (var image in images)
            {
                Assert.Equal(0, (await docker.Docker("image", "inspect", image.Name)).ExitCode);
            }

            var again = await Tools.RunAsync("/bin/bash", [script, "--role", "control-plane", "--runtime", "docker"], environment: env);
            Assert.Equal(0, again.ExitCode);
            Assert.Contains("control-plane: all 4 images already present in docker; nothing to do", again.Stdout);
            Assert.Contains("common: all 7 images already present in docker; nothing to do", again.Stdout);
            var calico = await File.ReadAllTextAsync(Path.Combine(extracted, "manifests/calico.yaml"));
            Assert.Contains("CALICO_IPV4POOL_CIDR", calico);
            Assert.Contains("10.244.0.0/16", calico);
            Assert.Contains("--kubelet-insecure-tls", await File.ReadAllTextAsync(Path.Combine(extracted, "manifests/metrics-server.yaml")));
        }

        await using (var containerd = await LabDaemon.ContainerdAsync())
        {
            var env = new Dictionary<string, string> { ["CONTAINERD_ADDRESS"] = containerd.Socket };
            var worker = await Tools.RunAsync("/bin/bash", [script, "--role", "worker", "--runtime", "containerd"], environment: env);
            Assert.True(worker.ExitCode == 0, worker.Stdout + worker.Stderr);
            var list = (await containerd.Ctr("images", "ls", "-q")).Stdout.Split('\n');
            Assert.Contains("registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0", list);
            Assert.DoesNotContain("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", list);
        }
    }

    [Fact]
    public async Task A_warm_rebuild_downloads_nothing_and_gives_the_same_bytes()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();
        string[] args = ["build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "--cache", dir["cache"], "--without", "rpms", "--without", "bin"];

        var cold = await Cli([.. args, "-o", dir["a"]]);
        Assert.True(cold.Code == 0, cold.Err);
        var blobs = Directory.GetFiles(dir["cache/images/blobs/sha256"]).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var warm = await Cli([.. args, "-o", dir["b"]]);
        Assert.True(warm.Code == 0, warm.Err);

        Assert.Equal(blobs, Directory.GetFiles(dir["cache/images/blobs/sha256"]).ToDictionary(f => f, File.GetLastWriteTimeUtc));
        Assert.Equal(await File.ReadAllBytesAsync(cold.Out.Trim()), await File.ReadAllBytesAsync(warm.Out.Trim()));

        // The warm build took the tarball's checksum from the memo the cold one left: the sidecar is
        // still right (the memo is one file), and verify, which hashes every byte, agrees.
        Assert.Single(Directory.GetFiles(dir["cache/bundles"]));
        Assert.Equal(
            (await File.ReadAllTextAsync(cold.Out.Trim() + ".sha256")).Split(' ')[0],
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(warm.Out.Trim()))));
        Assert.Equal(await File.ReadAllTextAsync(cold.Out.Trim() + ".sha256"), await File.ReadAllTextAsync(warm.Out.Trim() + ".sha256"));
        var verify = await Cli("verify", warm.Out.Trim());
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
    }

    [Fact]
    public async Task The_addons_images_listed_last_time_are_looked_up_early_and_a_stale_guess_changes_nothing()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();
        string[] args = ["build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "--cache", dir["cache"], "--without", "rpms", "--without", "bin"];

        var cold = await Cli([.. args, "-o", dir["a"]]);
        Assert.True(cold.Code == 0, cold.Err);
        string[] addonImages = ["docker.io/calico/cni:v3.25.2", "docker.io/calico/kube-controllers:v3.25.2", "docker.io/calico/node:v3.25.2",
            "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3"];
        var listed = Directory.GetFiles(dir["cache/manifests"], "*.listed");
        Assert.Equal(2, listed.Length);
        Assert.Equal(addonImages, listed.SelectMany(File.ReadAllLines).Order(StringComparer.Ordinal));

        // The guess goes stale: an image no registry has, and none of the ones the manifests name.
        foreach (var file in listed)
        {
            await File.WriteAllLinesAsync(file, ["docker.io/calico/ghost:v0.0.1"]);
        }

        var warm = await Cli([.. args, "-o", dir["b"]]);

        Assert.True(warm.Code == 0, warm.Err);
        Assert.Equal(await File.ReadAllBytesAsync(cold.Out.Trim()), await File.ReadAllBytesAsync(warm.Out.Trim()));
        Assert.Equal(addonImages, Directory.GetFiles(dir["cache/manifests"], "*.listed").SelectMany(File.ReadAllLines).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_manifest_that_cannot_be_fetched_fails_the_build_while_images_resolve_and_leaves_nothing()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();
        // metrics-server's origin points at a folder that does not exist; kubeadm's images resolve meanwhile.
        var mirrors = dir.Write("mirrors.yaml", (await File.ReadAllTextAsync(lab.MirrorsFile))
            .Replace("https://github.com/: file://", "https://github.com/: file:///nonexistent-offlinekit-test", StringComparison.Ordinal));

        var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"], "--without", "rpms", "--without", "bin");

        Assert.Equal(1, build.Code);
        Assert.Contains("components.yaml", build.Err);
        Assert.Contains("cannot read", build.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["out"]));
    }

    [Fact]
    public async Task A_registry_serving_a_corrupt_blob_fails_the_build_and_leaves_nothing()
    {
        await using var lab = await LabSources.StartAsync();
        lab.Registry.CorruptBlob(DefaultSpecImages.Make(scale: 0).Single(i => i.Repository == "google_containers/etcd").Layers[^1].Digest);
        using var dir = new TempDir();

        var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "-o", dir["out"], "--cache", dir["cache"],
            "--without", "rpms", "--without", "bin");

        Assert.Equal(1, build.Code);
        Assert.Contains("digest mismatch", build.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["out"]));
    }

    [Fact]
    public async Task Verify_catches_a_blob_changed_inside_an_archive_even_with_every_checksum_rewritten()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();
        var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "-o", dir["out"], "--cache", dir["cache"], "--without", "rpms", "--without", "bin");
        Assert.True(build.Code == 0, build.Err);
        var bundle = (await BundleExtractor.ExtractAsync(build.Out.Trim(), dir["site"])).Directory;

        // Flip a byte inside the first layer blob of common.tar, then make both file-level records agree with the new file.
        var archive = Path.Combine(bundle, "images/common.tar");
        var bytes = await File.ReadAllBytesAsync(archive);
        var entry = Bundles.Entries(archive).First(e => e.Name.StartsWith("blobs/sha256/", StringComparison.Ordinal) && e.Length > 10_000);
        var at = bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(entry.Name)) + 512 + 100;
        bytes[at] ^= 0x01;
        await File.WriteAllBytesAsync(archive, bytes);
        var oldSha = (await BundleInspector.InspectAsync(bundle)).Manifest.Files.Single(f => f.Path == "images/common.tar").Sha256;
        var newSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var json = Path.Combine(bundle, "bundle.json");
        await File.WriteAllTextAsync(json, (await File.ReadAllTextAsync(json)).Replace(oldSha, newSha, StringComparison.Ordinal));
        var sums = Path.Combine(bundle, "SHA256SUMS");
        var jsonSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(json)));
        var lines = (await File.ReadAllLinesAsync(sums)).Select(l => l.EndsWith("  bundle.json", StringComparison.Ordinal) ? $"{jsonSha}  bundle.json" : l.Replace(oldSha, newSha, StringComparison.Ordinal));
        await File.WriteAllLinesAsync(sums, lines);

        var report = await BundleVerifier.VerifyAsync(bundle);

        Assert.False(report.Ok);
        Assert.All(report.Problems, p => Assert.Equal(ProblemKind.Artifact, p.Kind));
        Assert.Contains(report.Problems, p => p.Path == "images/common.tar" && p.Detail.Contains("does not hash to its name", StringComparison.Ordinal));
    }
}
