using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// The default spec's four yum repositories as real repos of tiny signed RPMs, built in a temp folder
/// by <see cref="LabRpmRepoBuilder"/> (the one implementation; `labtool rpm-repos` builds the same for
/// the demo and the benchmarks). The mirrors-file line <c>https://mirrors.aliyun.com/: http://127.0.0.1:PORT/aliyun/</c>
/// with a <see cref="LabHttpServer"/> on <see cref="Root"/> makes the unchanged spec work in the lab.
/// Use as an xunit class fixture (built once per class: rpmbuild takes seconds) or with
/// <see cref="BuildAsync"/> and dispose.
/// </summary>
public sealed class LabRpmRepos : IAsyncLifetime, IDisposable
{
    /// <summary>The origin the spec's repo and key URLs share; mapped to Root/aliyun/.</summary>
    public const string Origin = LabRpmRepoBuilder.Origin;

    public const string KeyUid = LabRpmRepoBuilder.KeyUid;

    /// <summary>The packages of the comps group `core` in the lab's BaseOS (mandatory and default ones).</summary>
    public static readonly string[] CorePackages = LabRpmRepoBuilder.CorePackages;

    private readonly TempDir _dir = new();
    private readonly LabRpmRepoBuilder _built;

    public LabRpmRepos()
    {
        _built = new LabRpmRepoBuilder(_dir.Path);
    }

    /// <summary>Builds the repos into a new temp folder. Dispose to remove it.</summary>
    public static async Task<LabRpmRepos> BuildAsync()
    {
        var repos = new LabRpmRepos();
        await repos.InitializeAsync();
        return repos;
    }

    /// <summary>The default spec (embedded k8s-1.23.0) whose repositories these are.</summary>
    public BundleSpec Spec => _built.Spec;

    /// <summary>The served tree: Root/aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/, Root/aliyun/centos/RPM-GPG-KEY-CentOS-Official, …</summary>
    public string Root => _built.Root;

    /// <summary>The four repositories in the spec's order.</summary>
    public IReadOnlyList<LabRpmRepo> Repositories => _built.Repositories;

    /// <summary>Every RPM of every repo.</summary>
    public IReadOnlyList<LabRpmFile> Files => _built.Files;

    /// <summary>The lab's public key (ASCII-armored), which signed every RPM; also at each spec gpgkey path.</summary>
    public string KeyFile => _built.KeyFile;

    /// <summary>The key's 8 lower-case hex digits: rpm's gpg-pubkey-KEYID after an import.</summary>
    public string KeyId => _built.KeyId;

    /// <summary>The spec's requested packages (kubelet-1.23.0, …, chrony).</summary>
    public IReadOnlyList<string> SpecPackages => _built.SpecPackages;

    public LabRpmRepo this[string name] => _built[name];

    /// <summary>The local path of an origin URL under <see cref="Root"/>.</summary>
    public string LocalPath(Uri url) => _built.LocalPath(url);

    /// <summary>
    /// A mirrors file sending the spec's origin to a <see cref="LabHttpServer"/> serving
    /// <see cref="Root"/> at <paramref name="serverBase"/> (e.g. http://127.0.0.1:PORT/).
    /// </summary>
    public static string MirrorsFileText(Uri serverBase) => $"urls:\n  {LabRpmRepoBuilder.MirrorsEntry(serverBase)}\n";

    /// <summary>The repos for dnf, from their folders (file://), with the lab key's local path.</summary>
    public IReadOnlyList<LabDnfRepo> DnfRepos() => [.. Repositories.Select(r => new LabDnfRepo(r.Name, r.Dir))];

    /// <summary>The repos for dnf through a <see cref="LabHttpServer"/> serving <see cref="Root"/>, keys by URL too.</summary>
    public IReadOnlyList<LabDnfRepo> DnfRepos(Uri serverBase) =>
        [.. Repositories.Select(r => new LabDnfRepo(r.Name, LabRpmRepoBuilder.Served(serverBase, r.BaseUrl).AbsoluteUri, LabRpmRepoBuilder.Served(serverBase, r.GpgKeys[0]).AbsoluteUri))];

    /// <summary>
    /// What the real dnf installs for <paramref name="packages"/> from the four repos into an empty
    /// root (weak deps off, best=True, signatures checked against the lab key): NEVRAs sorted
    /// ordinally, as <c>rpm --root … -qa</c> lists them. Fails the test with dnf's output if dnf fails.
    /// </summary>
    public async Task<IReadOnlyList<string>> DnfInstallAsync(IEnumerable<string> packages, bool weakDependencies = false)
    {
        var list = packages.ToList();
        var result = await LabDnf.InstallAsync(DnfRepos(), list, KeyFile, weakDependencies);
        Assert.True(result.ExitCode == 0, $"dnf install {string.Join(' ', list)} against the lab repos failed:\n{result.Output}");
        return result.Installed;
    }

    public async Task InitializeAsync()
    {
        // A missing tool fails the test naming its Debian package, never a silent skip.
        foreach (var (tool, package) in LabRpmRepoBuilder.RequiredTools)
        {
            Tools.Require(tool, package);
        }

        await _built.BuildAsync();
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}
