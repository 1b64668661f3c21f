using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// The lab's repos of newer Kubernetes, EL9 and arm64, judged by the real rpm and dnf: at the
/// catalog's URLs, signed per vendor, metadata in the shapes real repos use, closed, and
/// installable with exact pins on each target.
/// </summary>
[Collection(VersionLab.Collection)]
public class LabVersionRpmReposTests(VersionLab versionLab)
{
    private readonly LabVersionRpmRepos _lab = versionLab.Repos;

    private static Uri Url(string path) => new(LabRepoCatalog.Origin + path);

    /// <summary>The repos a host of each target uses (DESIGN.md "Default repositories").</summary>
    public static TheoryData<string, int, string, string> Targets => new()
    {
        { "1.30.1", 9, "x86_64", "rockylinux/9/{0}/x86_64/os/" },
        { "1.30.1", 9, "aarch64", "rockylinux/9/{0}/aarch64/os/" },
        { "1.31.1", 8, "x86_64", "centos-vault/8.5.2111/{0}/x86_64/os/" },
    };

    private static Uri[] Repos(string k8s, int releasever, string arch, string basePattern) =>
    [
        Url($"kubernetes-new/core/stable/v{k8s[..k8s.LastIndexOf('.')]}/rpm/"),
        Url($"docker-ce/linux/centos/{releasever}/{arch}/stable/"),
        Url(string.Format(System.Globalization.CultureInfo.InvariantCulture, basePattern, "BaseOS")),
        Url(string.Format(System.Globalization.CultureInfo.InvariantCulture, basePattern, "AppStream")),
    ];

    [Fact]
    public async Task Repos_lie_at_the_catalog_s_URLs_with_their_vendors_keys_and_the_metadata_shapes_real_repos_use()
    {
        foreach (var minor in new[] { 30, 31 })
        {
            var repo = _lab.Repositories.Single(r => r.BaseUrl == Url($"kubernetes-new/core/stable/v1.{minor}/rpm/"));
            // pkgs.k8s.io: the key beside repomd.xml, one repo for every arch, zstd metadata.
            Assert.Equal(await File.ReadAllTextAsync(repo.KeyFile), await File.ReadAllTextAsync(Path.Combine(repo.Dir, "repodata/repomd.xml.key")));
            Assert.Single(Directory.GetFiles(Path.Combine(repo.Dir, "repodata"), "*-primary.xml.zst"));
            Assert.Contains(_lab.Files, f => f.Repo == repo.Name && f.Arch == "aarch64");
            Assert.Contains(_lab.Files, f => f.Repo == repo.Name && f.Arch == "x86_64");
            Assert.Contains(_lab.Files, f => f.Repo == repo.Name && f.Nevra == $"kubelet-0:1.{minor}.10-150500.1.1.x86_64");
        }

        foreach (var arch in LabRepoCatalog.El9Arches)
        {
            var appstream = _lab.At(Url($"rockylinux/9/AppStream/{arch}/os/"));
            Assert.Single(Directory.GetFiles(Path.Combine(appstream.Dir, "repodata"), "*-primary.xml.xz"));
            Assert.Single(Directory.GetFiles(Path.Combine(appstream.Dir, "repodata"), "*-modules.yaml.xz"));
            Assert.Single(Directory.GetFiles(Path.Combine(_lab.At(Url($"docker-ce/linux/centos/9/{arch}/stable/")).Dir, "repodata"), "*-primary.xml.gz"));
        }

        Assert.Single(Directory.GetFiles(Path.Combine(_lab["appstream"].Dir, "repodata"), "*-modules.yaml.xz"));
        Assert.True(File.Exists(Path.Combine(_lab.Root, "aliyun/rockylinux/RPM-GPG-KEY-Rocky-9")));
        Assert.True(File.Exists(Path.Combine(_lab.Root, "aliyun/docker-ce/linux/centos/gpg")));
        Assert.Equal(5, _lab.Keys.Select(k => k.Id).Distinct().Count());

        // The aarch64 RPMs say so in their headers, and every RPM's signature checks against its vendor's key.
        var rpm = Tools.Require("rpm", "rpm");
        var arm = _lab.Files.First(f => f.Arch == "aarch64" && f.Name == "kubelet");
        Assert.Equal("aarch64", (await Tools.RunAsync(rpm, ["-qp", "--qf", "%{ARCH}", arm.Path])).Stdout);
        foreach (var key in _lab.Keys)
        {
            using var db = new TempDir();
            Assert.Equal(0, (await Tools.RunAsync(rpm, ["--dbpath", db.Path, "--import", key.File])).ExitCode);
            var files = _lab.Files.Where(f => _lab[f.Repo].KeyFile == key.File).Select(f => f.Path).ToList();
            var check = await Tools.RunAsync(rpm, ["--dbpath", db.Path, "--checksig", .. files]);
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
            Assert.Equal(files.Count, check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(": digests signatures OK", StringComparison.Ordinal)));
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Each_target_s_repos_pass_real_dnf_repoclosure(string k8s, int releasever, string arch, string basePattern)
    {
        var closure = await LabDnf.RepoclosureAsync(_lab.DnfRepos(Repos(k8s, releasever, arch, basePattern)), new LabDnfTarget(releasever, arch));

        Assert.True(closure.ExitCode == 0, closure.Stdout + closure.Stderr);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Real_dnf_installs_each_target_into_an_empty_root_with_exact_pins_and_the_right_arch(string k8s, int releasever, string arch, string basePattern)
    {
        var installed = await _lab.DnfInstallAsync(
            [$"kubelet-{k8s}", $"kubeadm-{k8s}", $"kubectl-{k8s}", "containerd.io", "chrony", "haproxy", "keepalived"],
            repos: _lab.DnfRepos(Repos(k8s, releasever, arch, basePattern)), target: new LabDnfTarget(releasever, arch));

        // kubelet-1.X.1 is not 1.X.10; cri-tools and kubernetes-cni come as dependencies from the same repo.
        Assert.Contains($"kubelet-0:{k8s}-150500.1.1.{arch}", installed);
        Assert.Contains($"kubeadm-0:{k8s}-150500.1.1.{arch}", installed);
        Assert.Single(installed, p => p.StartsWith("kubelet-", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("cri-tools-0:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("kubernetes-cni-0:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("conntrack-tools-0:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("socat-0:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("ethtool-2:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("container-selinux-", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith("libseccomp-0:", StringComparison.Ordinal));
        Assert.Contains(installed, p => p.StartsWith($"chrony-0:4.", StringComparison.Ordinal));
        Assert.All(installed, p => Assert.True(p.EndsWith($".{arch}", StringComparison.Ordinal) || p.EndsWith(".noarch", StringComparison.Ordinal), p));
        if (releasever == 9)
        {
            // EL9: iptables and ebtables come from iptables-nft; container-selinux is epoch 3 and not modular.
            Assert.Contains($"iptables-nft-0:1.8.10-4.el9_4.{arch}", installed);
            Assert.Contains("container-selinux-3:2.232.1-1.el9.noarch", installed);
            Assert.Contains(installed, p => p.StartsWith("containerd.io-0:1.7.25-3.1.el9.", StringComparison.Ordinal));
            Assert.DoesNotContain(installed, p => p.StartsWith("nodejs-", StringComparison.Ordinal));
        }
        else
        {
            // EL8: the default container-tools stream wins over a newer non-default one.
            Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", installed);
            Assert.Contains("iptables-ebtables-0:1.8.4-20.el8.x86_64", installed);
        }
    }
}
