using OfflineKit.IntegrationTests.Support;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>The lab's RPM repos themselves: laid out where the spec's URLs point, signed, closed, and installable by the real dnf.</summary>
public class LabRpmReposTests(LabRpmRepos lab) : IClassFixture<LabRpmRepos>
{
    [Fact]
    public async Task Repos_and_keys_lie_at_the_spec_s_URLs_through_the_mirrors_file_and_every_RPM_is_signed()
    {
        var mirrors = MirrorConfig.Parse(LabRpmRepos.MirrorsFileText(new Uri("http://127.0.0.1:8080/")), "mirrors.yaml");
        Assert.Equal(["kubernetes", "docker-ce-stable", "baseos", "appstream"], lab.Repositories.Select(r => r.Name));
        foreach (var repo in lab.Repositories)
        {
            var served = mirrors.Rewrite(repo.BaseUrl);
            Assert.StartsWith("http://127.0.0.1:8080/aliyun/", served.AbsoluteUri, StringComparison.Ordinal);
            Assert.Equal(repo.Dir, Path.Combine(lab.Root, served.AbsolutePath.TrimStart('/')));
            Assert.True(File.Exists(Path.Combine(repo.Dir, "repodata", "repomd.xml")), repo.Dir);
            foreach (var key in repo.GpgKeys)
            {
                Assert.Equal(await File.ReadAllTextAsync(repo.KeyFile), await File.ReadAllTextAsync(Path.Combine(lab.Root, mirrors.Rewrite(key).AbsolutePath.TrimStart('/'))));
            }
        }

        Assert.True(File.Exists(Path.Combine(lab.Root, "aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/repodata/repomd.xml")));
        Assert.True(File.Exists(Path.Combine(lab.Root, "aliyun/centos-vault/8.5.2111/AppStream/x86_64/os/repodata/repomd.xml")));
        Assert.Single(Directory.GetFiles(Path.Combine(lab["appstream"].Dir, "repodata"), "*modules.yaml*"));
        Assert.True(File.Exists(Path.Combine(lab.Root, "aliyun/centos/RPM-GPG-KEY-CentOS-Official")));

        // Every RPM is where Files says, under Packages/, and carries a signature its vendor's key
        // verifies and no other vendor's does (a host trusting Docker's key does not trust CentOS's RPMs).
        Assert.All(lab.Files, f => Assert.True(File.Exists(f.Path) && f.Href.StartsWith("Packages/", StringComparison.Ordinal), f.Path));
        Assert.Equal(3, lab.Keys.Select(k => k.Id).Distinct().Count());
        var rpm = Tools.Require("rpm", "rpm");
        foreach (var repo in lab.Repositories)
        {
            using var db = new TempDir();
            Assert.Equal(0, (await Tools.RunAsync(rpm, ["--dbpath", db.Path, "--import", repo.KeyFile])).ExitCode);
            var files = lab.Files.Where(f => f.Repo == repo.Name).Select(f => f.Path).ToList();
            var check = await Tools.RunAsync(rpm, ["--dbpath", db.Path, "--checksig", .. files]);
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
            Assert.All(check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.EndsWith(": digests signatures OK", l, StringComparison.Ordinal));
            Assert.Equal(files.Count, check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            var other = lab.Files.First(f => lab[f.Repo].KeyFile != repo.KeyFile);
            Assert.NotEqual(0, (await Tools.RunAsync(rpm, ["--dbpath", db.Path, "--checksig", other.Path])).ExitCode);
        }
    }

    [Fact]
    public async Task The_four_repos_together_pass_real_dnf_repoclosure()
    {
        var closure = await LabDnf.RepoclosureAsync(lab.DnfRepos());
        Assert.True(closure.ExitCode == 0, closure.Stdout + closure.Stderr);
    }

    [Fact]
    public async Task Real_dnf_installs_the_default_spec_into_an_empty_root_from_the_lab_repos()
    {
        Assert.Equal(["kubelet-1.23.0", "kubeadm-1.23.0", "kubectl-1.23.0", "docker-ce-20.10.24", "docker-ce-cli-20.10.24", "containerd.io", "chrony"], lab.SpecPackages);

        var installed = await lab.DnfInstallAsync(lab.SpecPackages);

        // The pins hold against newer builds, epochs are printed, unpinned names take the newest,
        // the module's default stream wins over a newer non-default one, and i686 never comes in.
        Assert.Contains("kubelet-0:1.23.0-0.x86_64", installed);
        Assert.Contains("kubeadm-0:1.23.0-0.x86_64", installed);
        Assert.Contains("kubectl-0:1.23.0-0.x86_64", installed);
        Assert.Contains("docker-ce-3:20.10.24-3.el8.x86_64", installed);
        Assert.Contains("docker-ce-cli-1:20.10.24-3.el8.x86_64", installed);
        Assert.Contains("containerd.io-0:1.6.20-3.1.el8.x86_64", installed);
        Assert.Contains("chrony-0:4.1-1.el8.x86_64", installed);
        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", installed);
        Assert.Contains("conntrack-tools-0:1.4.4-10.el8.x86_64", installed);
        Assert.Contains("iptables-ebtables-0:1.8.4-20.el8.x86_64", installed);
        Assert.Contains("shadow-utils-2:4.6-14.el8.x86_64", installed);
        Assert.Contains("setup-0:2.12.2-6.el8.noarch", installed);
        Assert.DoesNotContain(installed, p => p.EndsWith(".i686", StringComparison.Ordinal));
        Assert.DoesNotContain(installed, p => p.StartsWith("docker-compose-plugin-", StringComparison.Ordinal));
        Assert.Single(installed, p => p.StartsWith("kubelet-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Real_dnf_over_the_lab_HTTP_server_installs_the_same_as_from_the_folders()
    {
        await using var server = new LabHttpServer(lab.Root);
        var fromFolders = await lab.DnfInstallAsync(lab.SpecPackages);

        var overHttp = await LabDnf.InstallAsync(lab.DnfRepos(server.BaseUri), lab.SpecPackages, lab.KeyFiles);

        Assert.True(overHttp.ExitCode == 0, overHttp.Output);
        Assert.Equal(fromFolders, overHttp.Installed);
        Assert.Contains(server.Requests, r => r.Path == "/aliyun/docker-ce/linux/centos/8/x86_64/stable/repodata/repomd.xml" && r.Status == 200);
        Assert.Contains(server.Requests, r => r.Path == "/aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/Packages/kubelet-1.23.0-0.x86_64.rpm" && r.Status == 200);
        Assert.DoesNotContain(server.Requests, r => r.Status >= 400);
    }
}
