using OfflineKit.Catalog;
using OfflineKit.Images;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;
using OfflineKit.Spec;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>A bundle a test builds: `build --k8s K8s --os Os --arch Arch --runtime Runtime`.</summary>
public sealed record VersionTarget(string K8s, string Os, string Arch, string Runtime)
{
    public string[] Flags => ["--k8s", K8s, "--os", Os, "--arch", Arch, "--runtime", Runtime];

    /// <summary>The spec the version catalog derives for it.</summary>
    public BundleSpec Spec => SpecWith();

    /// <summary>The spec with the parts `build --with` adds.</summary>
    public BundleSpec SpecWith(params string[] parts) => SpecDerivation.With(
        SpecDerivation.Derive(KubernetesVersion.Parse(K8s), TargetPlatform.ParseOs(Os), TargetPlatform.ParseArch(Arch), ContainerRuntimes.Parse(Runtime)), parts).Spec;

    public LabDnfTarget Dnf => new(Os == "el9" ? 9 : 8, Arch == "arm64" ? "aarch64" : "x86_64");

    /// <summary>The guide is built from its repos as they were; every other bundle from today's (<see cref="LabRepoCatalog.Current"/>).</summary>
    public string? Snapshot => this == VersionLab.Guide ? null : LabRepoCatalog.Current;
}

/// <summary>
/// One lab set-up shared by the bundle tests of every version: the guide's and the newer yum repos
/// (<see cref="LabVersionRpmRepos"/>) behind one HTTP server; a registry with the guide's images
/// (single-arch, as always) and, for every other target, the images its derived spec names (kubeadm's
/// list, Calico, metrics-server) as multi-arch indexes (amd64 and arm64); each addon manifest at its
/// URL; and one mirrors file sending every origin to them.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes a fixture through IAsyncLifetime.DisposeAsync")]
public sealed class VersionLab : IAsyncLifetime
{
    /// <summary>The xunit collection whose classes share one VersionLab (built once: rpmbuild and the registry take a minute).</summary>
    public const string Collection = "version lab";

    /// <summary>The guide's bundle, a 1.30 patch on EL9, a 1.31 patch on EL8 (both containerd), and arm64.</summary>
    public static readonly VersionTarget Guide = new("1.23.0", "el8", "amd64", "docker");

    public static readonly VersionTarget El9 = new("1.30.1", "el9", "amd64", "containerd");

    public static readonly VersionTarget El8 = new("1.31.1", "el8", "amd64", "containerd");

    public static readonly VersionTarget Arm64 = new("1.30.1", "el9", "arm64", "containerd");

    /// <summary>What `make demo K8S=1.31.2` installs; InstallCurrentKubernetesTests installs it on the lab hosts.</summary>
    public static readonly VersionTarget Current = new("1.31.2", "el8", "amd64", "containerd");

    public static readonly VersionTarget[] Targets = [Guide, El9, El8, Arm64, Current];

    private LabHttpServer? _server;
    private LabRegistry? _registry;

    public LabVersionRpmRepos Repos { get; } = new();

    public LabRegistry Registry => _registry!;

    public string Dir { get; } = Directory.CreateTempSubdirectory("offlinekit-versionlab-").FullName;

    /// <summary>Every origin to the lab, the repos in their current state (<see cref="LabRepoCatalog.Current"/>).</summary>
    public string MirrorsFile => Path.Combine(Dir, "mirrors.yaml");

    /// <summary>The same, the repos as the guide found them: what the 1.23.0 bundle has always been built from.</summary>
    public string GuideMirrorsFile => Path.Combine(Dir, "mirrors-guide.yaml");

    public string MirrorsFor(VersionTarget target) => target.Snapshot is null ? GuideMirrorsFile : MirrorsFile;

    public async Task InitializeAsync()
    {
        var repos = Repos.InitializeAsync();
        _registry = await LabRegistry.StartAsync();
        foreach (var image in DefaultSpecImages.Make(scale: 0))
        {
            await _registry.PushAsync(image);
        }

        var testdata = Path.Combine(Tools.RepoRoot(), "tests", "OfflineKit.Tests", "Manifests", "testdata");
        // Current also `--with kube-vip` (InstallKubeVipTests): kube-vip's image from ghcr.io.
        var names = await VersionSources.WriteAsync(Targets.Where(t => t != Guide).Select(t => t.Spec).Append(Current.SpecWith(SpecDerivation.KubeVipPart)), Dir, testdata);
        using (var http = _registry.Client())
        {
            await VersionSources.PushAsync(new RegistryPusher(http), names);
        }

        // The guide's addons: the real manifests.
        Copy(Path.Combine(testdata, "calico-v3.25.2.yaml"), Path.Combine(Dir, "raw.githubusercontent.com", "projectcalico/calico/v3.25.2/manifests/calico.yaml"));
        Copy(Path.Combine(testdata, "metrics-server-v0.6.3-components.yaml"), Path.Combine(Dir, "github.com", "kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"));
        await repos;
        _server = new LabHttpServer(Repos.Root);
        var registry = _registry.BaseUri;
        var mirrors = $"""
            registries:
              registry.aliyuncs.com: {registry}
              registry.cn-hangzhou.aliyuncs.com: {registry}
              registry.k8s.io: {registry}
              docker.io: {registry}
              quay.io: {registry}
              ghcr.io: {registry}
            urls:
              {LabRpmRepoBuilder.MirrorsEntry(_server.BaseUri)}
              https://raw.githubusercontent.com/: file://{Dir}/raw.githubusercontent.com/
              https://github.com/: file://{Dir}/github.com/

            """;
        await File.WriteAllTextAsync(GuideMirrorsFile, mirrors);
        await File.WriteAllTextAsync(MirrorsFile, mirrors + string.Concat(Repos.SnapshotMirrorsEntries(_server.BaseUri, LabRepoCatalog.Current).Select(e => $"  {e}\n")));
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to, overwrite: true);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        await Repos.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>Every class in it shares one <see cref="VersionLab"/>.</summary>
[CollectionDefinition(VersionLab.Collection)]
public sealed class VersionLabGroup : ICollectionFixture<VersionLab>;
