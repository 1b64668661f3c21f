using OfflineKit.IntegrationTests.Support;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Rpm;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Rpm;

/// <summary>
/// The lab's signed repositories (rpmbuild copies of the real dependency graph, createrepo_c metadata,
/// a real modules.yaml) and the real dnf installing into an empty root: our parser and resolver must
/// choose exactly the set dnf installs.
/// </summary>
public class LabRepoTests(LabRpmRepos lab) : IClassFixture<LabRpmRepos>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resolver_chooses_what_real_dnf_installs_from_createrepo_c_metadata(bool weakDependencies)
    {
        var repos = RpmRepoLoader.Load(lab.Repositories.Select(r => new RpmRepoSource(
            r.Name, r.Dir + "/", href => File.OpenRead(Path.Combine(r.Dir, href)))).ToList());
        var ours = new RpmResolver(repos, new ResolveOptions { IncludeWeakDependencies = weakDependencies }).Resolve(lab.SpecPackages);

        var installed = await lab.DnfInstallAsync(lab.SpecPackages, weakDependencies);

        Assert.Equal(installed, ours.Nevras);
        // What makes the comparison worth having: the pins, the module's default stream, the rich
        // dependencies, the file provides and the arch rule all showed in the result.
        Assert.Contains("kubelet-0:1.23.0-0.x86_64", installed);
        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", installed);
        Assert.Contains("fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64", installed);
        Assert.Contains("systemd-selinux-helper-0:239-51.el8.x86_64", installed);
        Assert.Contains("shadow-utils-2:4.6-14.el8.x86_64", installed);
        Assert.Contains("libseccomp-0:2.5.1-1.el8.x86_64", installed);
        Assert.Contains("iproute-tc-0:5.12.0-4.el8.x86_64", installed);
        Assert.Equal("requires /usr/lib/tc/pareto.dist", ours.Why("iproute-tc")![^1].Because);
        Assert.Equal(weakDependencies, installed.Contains("docker-compose-plugin-0:2.17.2-3.el8.x86_64"));
    }
}
