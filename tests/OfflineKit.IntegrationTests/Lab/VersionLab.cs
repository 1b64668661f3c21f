using OfflineKit.Images;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// One lab set-up shared by the bundle tests of every version: the guide's and the newer yum repos
/// (<see cref="LabVersionRpmRepos"/>) behind one HTTP server, a registry with the guide's images
/// (single-arch, as always) and the newer versions' kubeadm images as multi-arch indexes, the real
/// addon manifests at their URLs, and one mirrors file sending every origin to them.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes a fixture through IAsyncLifetime.DisposeAsync")]
public sealed class VersionLab : IAsyncLifetime
{
    /// <summary>The Kubernetes versions whose kubeadm images the registry holds beside the guide's.</summary>
    public static readonly string[] KubernetesVersions = ["1.30.1", "1.31.1"];

    private LabHttpServer? _server;
    private LabRegistry? _registry;

    public LabVersionRpmRepos Repos { get; } = new();

    public LabRegistry Registry => _registry!;

    public LabHttpServer Server => _server!;

    public string Dir { get; } = Directory.CreateTempSubdirectory("offlinekit-versionlab-").FullName;

    public string MirrorsFile => Path.Combine(Dir, "mirrors.yaml");

    public async Task InitializeAsync()
    {
        var repos = Repos.InitializeAsync();
        _registry = await LabRegistry.StartAsync();
        foreach (var image in DefaultSpecImages.Make(scale: 0))
        {
            await _registry.PushAsync(image);
        }

        // kubeadm's list under both names a catalog may use: the Aliyun mirror and the upstream registry.
        var names = KubernetesVersions.SelectMany(v => new[] { "registry.aliyuncs.com/google_containers", "registry.k8s.io" }.SelectMany(r => KubeadmImages.List(v, r)));
        foreach (var image in MultiArchImages.Make(names))
        {
            await _registry.PushIndexAsync(image.Repository, image.Tag, [.. image.Images]);
        }

        var testdata = Path.Combine(Tools.RepoRoot(), "tests", "OfflineKit.Tests", "Manifests", "testdata");
        foreach (var file in Directory.GetFiles(testdata, "calico-v*.yaml"))
        {
            var version = Path.GetFileNameWithoutExtension(file)["calico-".Length..];
            Copy(file, Path.Combine(Dir, "raw", $"projectcalico/calico/{version}/manifests/calico.yaml"));
        }

        Copy(Path.Combine(testdata, "metrics-server-v0.6.3-components.yaml"), Path.Combine(Dir, "github", "kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"));
        await repos;
        _server = new LabHttpServer(Repos.Root);
        var registry = _registry.BaseUri;
        await File.WriteAllTextAsync(MirrorsFile, $"""
            registries:
              registry.aliyuncs.com: {registry}
              registry.cn-hangzhou.aliyuncs.com: {registry}
              registry.k8s.io: {registry}
              docker.io: {registry}
              quay.io: {registry}
            urls:
              {LabRpmRepoBuilder.MirrorsEntry(_server.BaseUri)}
              https://raw.githubusercontent.com/: file://{Dir}/raw/
              https://github.com/: file://{Dir}/github/
            """);
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
