using System.Text.Json;
using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.IntegrationTests.Trust;

/// <summary>
/// A whole bundle (images, manifests, RPMs) built against the lab, signed, with its SBOM and lock; then
/// upstream moves on — a tag re-pointed in the lab registry, a newer package in a yum repo — and
/// `build --lock` still gives the very same bytes.
/// </summary>
public class LockRebuildTests(LabRpmRepos repos) : IClassFixture<LabRpmRepos>
{
    private const string Moved = "registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0";

    [Fact]
    public async Task A_rebuild_from_the_lock_is_byte_identical_after_a_tag_moved_and_a_repo_gained_a_newer_package()
    {
        await using var lab = await LabSources.StartAsync();
        using var dir = new TempDir();

        // The yum repos are changed below: serve a copy.
        var root = dir["mirror"];
        await Tools.Bash($"cp -a '{repos.Root}/.' '{root}/'");
        await using var http = new LabHttpServer(root);
        var mirrors = dir.Write("mirrors.yaml", (await File.ReadAllTextAsync(lab.MirrorsFile)).TrimEnd() + $"\n  {LabRpmRepoBuilder.MirrorsEntry(http.BaseUri)}\n");

        string[] Build(string output, string cache, params string[] more) =>
            ["build", "--k8s", "1.23.0", "--mirrors", mirrors, "-o", dir[output], "--cache", dir[cache], "--without", "bin", .. more];

        var first = await CliRunner.RunAsync(Build("out1", "cache1"));
        Assert.True(first.Code == 0, first.Err);
        var tarball = first.Out.Trim();
        var name = Path.GetFileName(tarball)[..^".tar".Length];
        var lockPath = Path.Combine(dir["out1"], name + ".lock.json");
        var locked = BundleLock.Load(lockPath);

        // The lock pins what the bundle holds, and the bundle carries the lock and an SBOM naming it all.
        var manifest = (await BundleInspector.InspectAsync(tarball)).Manifest;
        var images = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
        var rpms = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Rpm).ToList();
        Assert.Equal(images.Select(i => (i.Name, i.Digest)).Order(), locked.Images.Select(i => (i.Name, i.Digest)).Order());
        Assert.Equal(rpms.Count, locked.Rpms.Count);
        Assert.Equal(4, locked.Repositories.Count);
        Assert.All(locked.Repositories, r => Assert.Matches("^sha256:[0-9a-f]{64}$", r.Repomd));
        Assert.Equal(["calico", "metrics-server"], locked.Manifests.Select(m => m.Name));
        var site = (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory;
        Assert.Equal(await File.ReadAllBytesAsync(lockPath), await File.ReadAllBytesAsync(Path.Combine(site, name + ".lock.json")));
        var sbom = await File.ReadAllBytesAsync(Path.Combine(site, BundleLayout.SbomFile));
        SbomSchema.AssertValid(sbom);
        var components = JsonNode.Parse(sbom)!["components"]!.AsArray().Select(c => c!).ToList();
        foreach (var image in images)
        {
            Assert.Contains(components, c => c["purl"]?.GetValue<string>() == Sbom.OciPurl(image.Name, image.Digest) && c["hashes"]![0]!["content"]!.GetValue<string>() == image.Digest[7..]);
        }

        foreach (var rpm in rpms)
        {
            Assert.Contains(components, c => c["purl"]?.GetValue<string>() == Sbom.RpmPurl(rpm) && c["hashes"]![0]!["content"]!.GetValue<string>() == rpm.Digest[7..]);
        }

        Assert.Contains(components, c => c["purl"]?.GetValue<string>() is { } p && p.StartsWith("pkg:rpm/kubernetes/kubelet@1.23.0-", StringComparison.Ordinal));
        Assert.Contains(components, c => c["purl"]?.GetValue<string>() is { } p && p.StartsWith("pkg:rpm/centos/", StringComparison.Ordinal));
        var inspect = await CliRunner.RunAsync("inspect", tarball);
        Assert.Contains($"{components.Count} components ({rpms.Count} RPMs", inspect.Out.Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);

        // Upstream moves on: kube-proxy:v1.23.0 now names other bytes, and the kubernetes repo has a newer cri-tools.
        await lab.Registry.PushAsync(SyntheticImages.Make("google_containers/kube-proxy", "v1.23.0", "amd64", 20 * 1024, baseLayer: null));
        await AddNewerCriToolsAsync(Path.Combine(root, "aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64"), dir["rpmbuild"]);
        var resolve = await CliRunner.RunAsync("rpms", "resolve", "--k8s", "1.23.0", "--mirrors", mirrors, "--cache", dir["cache3"]);
        Assert.Contains("cri-tools-0:1.99.0-0.x86_64", resolve.Out, StringComparison.Ordinal);

        // Without the lock the bundle follows upstream; with it, the same bytes (a fresh cache: everything fetched again).
        var afresh = await CliRunner.RunAsync(Build("out3", "cache3"));
        Assert.True(afresh.Code == 0, afresh.Err);
        var afreshLock = BundleLock.Load(Path.Combine(dir["out3"], name + ".lock.json"));
        Assert.NotEqual(locked.Images.Single(i => i.Name == Moved).Digest, afreshLock.Images.Single(i => i.Name == Moved).Digest);
        Assert.Contains(afreshLock.Rpms, r => r.Nevra == "cri-tools-0:1.99.0-0.x86_64");

        var again = await CliRunner.RunAsync(Build("out2", "cache2", "--lock", lockPath));
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(await File.ReadAllBytesAsync(tarball), await File.ReadAllBytesAsync(again.Out.Trim()));
        Assert.Equal(await File.ReadAllBytesAsync(lockPath), await File.ReadAllBytesAsync(Path.Combine(dir["out2"], name + ".lock.json")));

        // What cannot be had at its locked digest fails, naming it, and writes no bundle.
        var gone = locked.Rpms.Single(r => r.Nevra.StartsWith("kubelet-", StringComparison.Ordinal));
        var broken = locked with { Rpms = [.. locked.Rpms.Select(r => r == gone ? r with { Checksum = "sha256:" + new string('0', 64) } : r)] };
        var brokenPath = dir.Write("broken.lock.json", System.Text.Encoding.UTF8.GetString(broken.ToJsonBytes()));
        var failed = await CliRunner.RunAsync(Build("out4", "cache2", "--lock", brokenPath));
        Assert.Equal(1, failed.Code);
        Assert.Contains(gone.Nevra, failed.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir["out4"], name + ".tar")));
    }

    /// <summary>A cri-tools newer than any the repo had (kubeadm asks for cri-tools >= 1.19.0), and the repo's metadata made again.</summary>
    private static async Task AddNewerCriToolsAsync(string repoDir, string top)
    {
        var spec = Path.Combine(top, "cri-tools.spec");
        Directory.CreateDirectory(top);
        await File.WriteAllTextAsync(spec, """
            Name: cri-tools
            Version: 1.99.0
            Release: 0
            Summary: offlinekit lab stand-in: a newer cri-tools upstream published after the lock
            License: MIT
            AutoReqProv: no

            %description
            A newer package.

            %files
            """);
        var result = await Tools.Bash(
            $"rpmbuild -bb --quiet --target x86_64 --define '_topdir {top}' --define '_rpmdir {repoDir}/Packages' " +
            $"--define '_build_name_fmt %%{{NAME}}-%%{{VERSION}}-%%{{RELEASE}}.%%{{ARCH}}.rpm' '{spec}' && createrepo_c --quiet --update '{repoDir}'");
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }
}
