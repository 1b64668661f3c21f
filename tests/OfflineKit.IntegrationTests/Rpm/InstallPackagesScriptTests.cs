using OfflineKit.Build;
using OfflineKit.Bundle;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Rpm;

/// <summary>
/// scripts/install-packages.sh as it ships (the embedded copy) against a bundle-shaped folder whose
/// rpms/ holds exactly what the real dnf chose from the lab repos: the real dnf installs them into an
/// empty root inside `unshare --net`, so nothing but the bundle can have served a byte.
/// </summary>
public class InstallPackagesScriptTests(LabRpmRepos lab) : IClassFixture<LabRpmRepos>
{
    [Fact]
    public async Task Installs_the_bundle_s_packages_with_no_network_then_has_nothing_to_do()
    {
        var chosen = await lab.DnfInstallAsync(lab.SpecPackages);
        using var dir = new TempDir();
        var bundle = await MakeBundleAsync(dir, chosen);
        var root = dir["root"];

        var first = await RunScriptAsync(bundle, root, "--role", "control-plane");

        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        Assert.Equal(chosen, await LabDnf.InstalledAsync(root));
        Assert.Contains($"imported {lab.Keys.Count} GPG key(s)", first.Stdout);
        var repoFile = await File.ReadAllTextAsync(Path.Combine(root, "etc/yum.repos.d/offlinekit.repo"));
        Assert.Contains($"baseurl=file://{bundle.Replace(" ", "%20", StringComparison.Ordinal)}/rpms\n", repoFile);
        Assert.Contains("gpgcheck=1\n", repoFile);
        Assert.Contains($"gpgkey=file://{bundle.Replace(" ", "%20", StringComparison.Ordinal)}/rpms/keys/", repoFile);
        foreach (var k in lab.Keys)
        {
            Assert.Contains($"/rpms/keys/{k.Signer}.gpg", repoFile);
            var key = await Tools.RunAsync("rpm", ["--root", root, "-q", $"gpg-pubkey-{k.Id}"]);
            Assert.True(key.ExitCode == 0, key.Stdout + key.Stderr);
        }

        Assert.False(File.Exists("/etc/yum.repos.d/offlinekit.repo"), "the lab run wrote into this machine's /etc");

        var second = await RunScriptAsync(bundle, root, "--role", "worker");

        Assert.True(second.ExitCode == 0, second.Stdout + second.Stderr);
        Assert.Contains("nothing to do", second.Stdout);
        Assert.Equal(chosen, await LabDnf.InstalledAsync(root));
    }

    [Fact]
    public async Task A_package_missing_from_the_bundle_fails_clearly_whether_or_not_its_metadata_went_too()
    {
        var chosen = await lab.DnfInstallAsync(lab.SpecPackages);
        using var dir = new TempDir();
        var bundle = await MakeBundleAsync(dir, chosen);
        var conntrack = Path.Combine(bundle, "rpms", "conntrack-tools-1.4.4-10.el8.x86_64.rpm");
        File.Delete(conntrack);

        // The RPM gone, its metadata still there: dnf cannot read the file it was promised.
        var stale = await RunScriptAsync(bundle, dir["root-stale"]);

        Assert.Equal(1, stale.ExitCode);
        Assert.Contains("conntrack-tools", stale.Stdout + stale.Stderr);
        Assert.Contains("install-packages: dnf could not install", stale.Stderr);
        Assert.Empty(await LabDnf.InstalledAsync(dir["root-stale"]));

        // The RPM and its metadata gone: nothing in the bundle provides kubelet's "conntrack".
        await CreaterepoAsync(Path.Combine(bundle, "rpms"));
        var incomplete = await RunScriptAsync(bundle, dir["root-incomplete"]);

        Assert.Equal(1, incomplete.ExitCode);
        Assert.Contains("nothing provides conntrack needed by kubelet-1.23.0-0.x86_64", incomplete.Stdout + incomplete.Stderr);
        Assert.Contains("install-packages: dnf could not install", incomplete.Stderr);
        Assert.Contains("a package or a dependency is missing from the bundle", incomplete.Stderr);
        Assert.Empty(await LabDnf.InstalledAsync(dir["root-incomplete"]));
    }

    [Fact]
    public async Task Signatures_are_checked_when_the_bundle_has_keys_and_not_when_it_has_none()
    {
        var chosen = await lab.DnfInstallAsync(lab.SpecPackages);
        using var dir = new TempDir();
        var bundle = await MakeBundleAsync(dir, chosen);
        var socat = Path.Combine(bundle, "rpms", "socat-1.7.4.1-1.el8.x86_64.rpm");
        var unsign = await Tools.RunAsync(Tools.Require("rpmsign", "rpm"), ["--delsign", socat]);
        Assert.True(unsign.ExitCode == 0, unsign.Stderr);
        await CreaterepoAsync(Path.Combine(bundle, "rpms"));

        var refused = await RunScriptAsync(bundle, dir["root-keys"]);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("socat-1.7.4.1-1.el8.x86_64.rpm is not signed", refused.Stdout + refused.Stderr);
        Assert.Empty(await LabDnf.InstalledAsync(dir["root-keys"]));

        Directory.Delete(Path.Combine(bundle, "rpms", "keys"), recursive: true);
        var withoutKeys = await RunScriptAsync(bundle, dir["root-nokeys"]);

        Assert.True(withoutKeys.ExitCode == 0, withoutKeys.Stdout + withoutKeys.Stderr);
        Assert.Contains("WARNING: the bundle carries no GPG keys", withoutKeys.Stdout);
        Assert.Contains("gpgcheck=0\n", await File.ReadAllTextAsync(Path.Combine(dir["root-nokeys"], "etc/yum.repos.d/offlinekit.repo")));
        Assert.Equal(chosen, await LabDnf.InstalledAsync(dir["root-nokeys"]));
    }

    [Fact]
    public async Task Bad_input_is_refused_before_anything_is_written()
    {
        using var dir = new TempDir();
        var bundle = await MakeBundleAsync(dir, ["setup-0:2.12.2-6.el8.noarch"]);

        var role = await RunScriptAsync(bundle, dir["root"], "--role", "etcd");
        Assert.Equal(2, role.ExitCode);
        Assert.Contains("--role is control-plane or worker, not 'etcd'", role.Stderr);

        await File.WriteAllTextAsync(Path.Combine(bundle, "rpms", "packages.txt"), "# nothing\n\n");
        var empty = await RunScriptAsync(bundle, dir["root"]);
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("packages.txt lists no packages", empty.Stderr);

        Directory.Delete(Path.Combine(bundle, "rpms", "repodata"), recursive: true);
        var norepo = await RunScriptAsync(bundle, dir["root"]);
        Assert.Equal(1, norepo.ExitCode);
        Assert.Contains("repodata/repomd.xml is missing", norepo.Stderr);
        Assert.False(Directory.Exists(dir["root"]));
    }

    /// <summary>
    /// DIR/offlinekit bundle/ (a space in the path on purpose: file:// URLs must survive it) with
    /// rpms/ = the chosen RPMs + createrepo_c metadata + keys/lab.gpg + packages.txt (the spec's
    /// request), and scripts/install-packages.sh as embedded in offlinekit. createrepo_c stands in
    /// here for offlinekit's own repodata writer, which is tested elsewhere.
    /// </summary>
    private async Task<string> MakeBundleAsync(TempDir dir, IReadOnlyList<string> nevras)
    {
        var bundle = dir["offlinekit bundle"];
        var rpms = Path.Combine(bundle, "rpms");
        Directory.CreateDirectory(Path.Combine(rpms, "keys"));
        Directory.CreateDirectory(Path.Combine(bundle, "scripts"));
        var files = lab.Files.Where(f => nevras.Contains(f.Nevra)).ToList();
        Assert.Equal(nevras.Count, files.Count);
        foreach (var f in files)
        {
            File.Copy(f.Path, Path.Combine(rpms, Path.GetFileName(f.Path)));
        }

        await CreaterepoAsync(rpms);
        foreach (var k in lab.Keys)
        {
            File.Copy(k.File, Path.Combine(bundle, BundleLayout.RpmKeysDir, k.Signer + ".gpg"));
        }

        await File.WriteAllLinesAsync(Path.Combine(bundle, BundleLayout.PackagesList), lab.SpecPackages);

        var script = Path.Combine(bundle, BundleLayout.InstallPackagesScript);
        await using (var embedded = typeof(BundleBuilder).Assembly.GetManifestResourceStream("OfflineKit.Scripts.install-packages.sh"))
        {
            Assert.NotNull(embedded);
            await using var output = File.Create(script);
            await embedded.CopyToAsync(output);
        }

        File.SetUnixFileMode(script, (UnixFileMode)BundleLayout.ExecutableMode);
        return bundle;
    }

    private static async Task CreaterepoAsync(string dir)
    {
        var result = await Tools.RunAsync(Tools.Require("createrepo_c", "createrepo-c"), ["--quiet", dir]);
        Assert.True(result.ExitCode == 0, result.Stderr);
    }

    /// <summary>The script in a network namespace of its own (not even loopback is up), installing into <paramref name="root"/>.</summary>
    private static Task<ProcessResult> RunScriptAsync(string bundle, string root, params string[] args)
    {
        Tools.Require("dnf", "dnf");
        return Tools.RunAsync(Tools.Require("unshare", "util-linux"), ["--net", "/bin/bash", Path.Combine(bundle, "scripts", "install-packages.sh"), .. args],
            environment: new Dictionary<string, string> { ["OFFLINEKIT_INSTALLROOT"] = root });
    }
}
