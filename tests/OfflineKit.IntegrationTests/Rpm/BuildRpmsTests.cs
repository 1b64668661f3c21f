using OfflineKit.Bundle;
using OfflineKit.Cli;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Rpm;

/// <summary>
/// `offlinekit build` and `rpms resolve` against the lab's signed yum repositories served over HTTP
/// at the spec's own URL paths; the bundle's repository judged by the real dnf.
/// </summary>
public class BuildRpmsTests(LabRpmRepos lab) : IClassFixture<LabRpmRepos>
{
    private static Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(args);

    private async Task<(LabHttpServer Server, string Mirrors)> ServeAsync(TempDir dir)
    {
        var server = new LabHttpServer(lab.Root);
        await Task.CompletedTask;
        return (server, dir.Write("mirrors.yaml", LabRpmRepos.MirrorsFileText(server.BaseUri)));
    }

    [Fact]
    public async Task The_bundle_repo_is_closed_signed_and_installs_what_dnf_would_with_no_network()
    {
        using var dir = new TempDir();
        var (server, mirrors) = await ServeAsync(dir);
        string tarball;
        await using (server)
        {
            var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"],
                "--without", "images", "--without", "manifests", "--without", "bin");
            Assert.True(build.Code == 0, build.Err);
            tarball = build.Out.Trim();

            var resolve = await Cli("rpms", "resolve", "--k8s", "1.23.0", "--mirrors", mirrors, "--cache", dir["cache"]);
            Assert.True(resolve.Code == 0, resolve.Err);
            Assert.Equal(await lab.DnfInstallAsync(lab.SpecPackages), resolve.Out.Trim().Split('\n'));
        }

        Assert.True((await BundleVerifier.VerifyAsync(tarball)).Ok);
        var bundle = (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory;
        var rpms = Path.Combine(bundle, "rpms");
        Assert.True(File.Exists(Path.Combine(rpms, "repodata/repomd.xml")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(rpms, "keys"), "*.gpg"));
        Assert.Contains("gpgcheck=1", await File.ReadAllTextAsync(Path.Combine(rpms, "offlinekit.repo")));

        // The real dnf repoclosure: the bundle's repo alone satisfies every dependency.
        var closure = await LabDnf.RepoclosureAsync([new LabDnfRepo("offlinekit", rpms)]);
        Assert.True(closure.ExitCode == 0, closure.Stdout + closure.Stderr);

        // The host side: the bundle's own script, no network at all, the lab's HTTP server long gone.
        var root = dir["root"];
        var install = await Tools.RunAsync(Tools.Require("unshare", "util-linux"), ["--net", "/bin/bash", Path.Combine(bundle, "scripts/install-packages.sh"), "--role", "worker"],
            environment: new Dictionary<string, string> { ["OFFLINEKIT_INSTALLROOT"] = root });
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Equal(await lab.DnfInstallAsync(lab.SpecPackages), await LabDnf.InstalledAsync(root));
    }

    [Fact]
    public async Task A_package_no_repo_has_is_named_with_the_repos_searched_and_nothing_is_written()
    {
        using var dir = new TempDir();
        var spec = dir.Write("spec.yaml", (await File.ReadAllTextAsync(Path.Combine(Tools.RepoRoot(), "manifests/k8s-1.23.0.yaml")))
            .Replace("    - chrony\n", "    - chrony\n    - kube-no-such-thing\n", StringComparison.Ordinal));
        var (server, mirrors) = await ServeAsync(dir);
        await using (server)
        {
            var build = await Cli("build", "--spec", spec, "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"], "--without", "images", "--without", "manifests", "--without", "bin");

            Assert.NotEqual(0, build.Code);
            Assert.Contains("kube-no-such-thing", build.Err);
            Assert.Contains("kubernetes", build.Err);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir["out"]));
        }
    }

    [Fact]
    public async Task A_corrupt_rpm_on_the_server_fails_the_build_and_is_not_kept()
    {
        using var dir = new TempDir();
        var copy = dir["mirror"];
        await Tools.Bash($"cp -a '{lab.Root}/.' '{copy}/'");
        var kubelet = lab.Files.Single(f => f.Nevra.StartsWith("kubelet-0:1.23.0-", StringComparison.Ordinal));
        var target = Path.Combine(copy, Path.GetRelativePath(lab.Root, kubelet.Path));
        var bytes = await File.ReadAllBytesAsync(target);
        bytes[^10] ^= 0xff;
        await File.WriteAllBytesAsync(target, bytes);
        await using var server = new LabHttpServer(copy);
        var mirrors = dir.Write("mirrors.yaml", LabRpmRepos.MirrorsFileText(server.BaseUri));

        var build = await Cli("build", "--k8s", "1.23.0", "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"], "--without", "images", "--without", "manifests", "--without", "bin");

        Assert.Equal(1, build.Code);
        Assert.Contains("kubelet-0:1.23.0", build.Err);
        Assert.Contains("checksum mismatch", build.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["out"]));
        Assert.DoesNotContain(Directory.EnumerateFiles(dir["cache"], "*", SearchOption.AllDirectories), f => f.EndsWith(".rpm", StringComparison.Ordinal) && File.ReadAllBytes(f).SequenceEqual(bytes));
    }

    [Fact]
    public async Task Why_shows_the_chain_that_pulled_a_package_in()
    {
        using var dir = new TempDir();
        var (server, mirrors) = await ServeAsync(dir);
        await using (server)
        {
            var why = await Cli("rpms", "resolve", "--k8s", "1.23.0", "--mirrors", mirrors, "--cache", dir["cache"], "--why", "conntrack-tools");
            Assert.True(why.Code == 0, why.Err);
            var lines = why.Out.Trim().Split('\n');
            Assert.StartsWith("kubelet", lines[0]);
            Assert.Contains("conntrack-tools", lines[^1]);
        }
    }

    [Fact]
    public async Task A_baseline_group_is_left_out_and_the_bundle_installs_on_a_host_that_has_it()
    {
        using var dir = new TempDir();
        var spec = dir.Write("spec.yaml", (await File.ReadAllTextAsync(Path.Combine(Tools.RepoRoot(), "manifests/k8s-1.23.0.yaml")))
            .Replace("  baseline: []", "  baseline: [core]", StringComparison.Ordinal));
        var (server, mirrors) = await ServeAsync(dir);
        string tarball;
        await using (server)
        {
            var build = await Cli("build", "--spec", spec, "--mirrors", mirrors, "-o", dir["out"], "--cache", dir["cache"], "--without", "images", "--without", "manifests", "--without", "bin");
            Assert.True(build.Code == 0, build.Err);
            tarball = build.Out.Trim();
        }

        var carried = (await BundleInspector.InspectAsync(tarball)).Manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Rpm).Select(a => a.Name).ToList();
        Assert.Contains("kubelet", carried);
        Assert.DoesNotContain("bash", carried);
        Assert.DoesNotContain("systemd", carried);

        // A host installed with the core group (from the lab's own repos), then the bundle alone, offline.
        var root = dir["root"];
        var core = await LabDnf.InstallAsync(lab.DnfRepos(), LabRpmRepos.CorePackages, root, lab.KeyFiles);
        Assert.True(core.ExitCode == 0, core.Output);
        var bundle = (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory;
        var install = await Tools.RunAsync(Tools.Require("unshare", "util-linux"), ["--net", "/bin/bash", Path.Combine(bundle, "scripts/install-packages.sh")],
            environment: new Dictionary<string, string> { ["OFFLINEKIT_INSTALLROOT"] = root });
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Contains(await LabDnf.InstalledAsync(root), n => n.StartsWith("kubelet-0:1.23.0-", StringComparison.Ordinal));
    }
}
