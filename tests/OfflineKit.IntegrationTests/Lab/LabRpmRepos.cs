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
/// <see cref="BuildAsync"/> and dispose. <see cref="LabVersionRpmRepos"/> holds the newer repos too.
/// </summary>
public class LabRpmRepos : IAsyncLifetime, IDisposable
{
    /// <summary>The origin the spec's repo and key URLs share; mapped to Root/aliyun/.</summary>
    public const string Origin = LabRpmRepoBuilder.Origin;

    /// <summary>The packages of the comps group `core` in the lab's BaseOS (mandatory and default ones).</summary>
    public static readonly string[] CorePackages = LabRpmRepoBuilder.CorePackages;

    private readonly TempDir _dir = new();
    private readonly LabRpmRepoBuilder _built;

    public LabRpmRepos()
        : this(LabRepoSet.Guide)
    {
    }

    protected LabRpmRepos(LabRepoSet set)
    {
        _built = new LabRpmRepoBuilder(_dir.Path, set);
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

    /// <summary>The repositories: the spec's four first, in its order.</summary>
    public IReadOnlyList<LabRpmRepo> Repositories => _built.Repositories;

    /// <summary>Every RPM of every repo.</summary>
    public IReadOnlyList<LabRpmFile> Files => _built.Files;

    /// <summary>The vendors' signing keys (one per vendor; each repo's own is <see cref="LabRpmRepo.KeyFile"/>, also at its gpgkey paths).</summary>
    public IReadOnlyList<LabSigningKey> Keys => _built.Keys;

    /// <summary>Every vendor's public key file (ASCII-armored).</summary>
    public IReadOnlyList<string> KeyFiles => [.. _built.Keys.Select(k => k.File)];

    /// <summary>The spec's requested packages (kubelet-1.23.0, …, chrony).</summary>
    public IReadOnlyList<string> SpecPackages => _built.SpecPackages;

    public LabRpmRepo this[string name] => _built[name];

    /// <summary>The repository at <paramref name="baseUrl"/> (an origin URL); in <paramref name="snapshot"/> where the lab has that state of it.</summary>
    public LabRpmRepo At(Uri baseUrl, string? snapshot = null) => _built.At(baseUrl, snapshot) ?? throw new InvalidOperationException($"the lab has no repo at {baseUrl}");

    /// <summary>The mirrors-file <c>urls:</c> entries that send the repos of <paramref name="snapshot"/> to their folders.</summary>
    public IEnumerable<string> SnapshotMirrorsEntries(Uri serverBase, string snapshot) => _built.SnapshotMirrorsEntries(serverBase, snapshot);

    /// <summary>The local path of an origin URL under <see cref="Root"/>.</summary>
    public string LocalPath(Uri url) => _built.LocalPath(url);

    /// <summary>
    /// A mirrors file sending the spec's origin to a <see cref="LabHttpServer"/> serving
    /// <see cref="Root"/> at <paramref name="serverBase"/> (e.g. http://127.0.0.1:PORT/).
    /// </summary>
    public static string MirrorsFileText(Uri serverBase) => $"urls:\n  {LabRpmRepoBuilder.MirrorsEntry(serverBase)}\n";

    /// <summary>The spec's four repos for dnf, from their folders (file://).</summary>
    public IReadOnlyList<LabDnfRepo> DnfRepos() => [.. Repositories.Take(4).Select(r => new LabDnfRepo(r.Name, r.Dir))];

    /// <summary>The repos at <paramref name="baseUrls"/> (origin URLs; in <paramref name="snapshot"/> where the lab has it), for dnf from their folders.</summary>
    public IReadOnlyList<LabDnfRepo> DnfRepos(IEnumerable<Uri> baseUrls, string? snapshot = null) =>
        [.. baseUrls.Select(u => At(u, snapshot)).Select(r => new LabDnfRepo(r.Name, r.Dir))];

    /// <summary>The repos for dnf through a <see cref="LabHttpServer"/> serving <see cref="Root"/>, keys by URL too.</summary>
    public IReadOnlyList<LabDnfRepo> DnfRepos(Uri serverBase) =>
        [.. Repositories.Take(4).Select(r => new LabDnfRepo(r.Name, LabRpmRepoBuilder.Served(serverBase, r.BaseUrl).AbsoluteUri, LabRpmRepoBuilder.Served(serverBase, r.GpgKeys[0]).AbsoluteUri))];

    /// <summary>
    /// What the real dnf installs for <paramref name="packages"/> from the spec's four repos (or
    /// <paramref name="repos"/>, for <paramref name="target"/>) into an empty root (weak deps off,
    /// best=True, signatures checked against the lab keys): NEVRAs sorted ordinally, as
    /// <c>rpm --root … -qa</c> lists them. Fails the test with dnf's output if dnf fails.
    /// </summary>
    public async Task<IReadOnlyList<string>> DnfInstallAsync(
        IEnumerable<string> packages, bool weakDependencies = false, IReadOnlyList<LabDnfRepo>? repos = null, LabDnfTarget? target = null)
    {
        var list = packages.ToList();
        var result = await LabDnf.InstallAsync(repos ?? DnfRepos(), list, KeyFiles, weakDependencies, target);
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

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The guide's four repos plus the per-minor Kubernetes repos (pkgs.k8s.io layout), docker-ce for
/// EL8/EL9 on x86_64 and aarch64 and Rocky 9 BaseOS/AppStream (<see cref="LabRepoCatalog.Versions"/>).
/// </summary>
public sealed class LabVersionRpmRepos() : LabRpmRepos(LabRepoSet.Versions);
