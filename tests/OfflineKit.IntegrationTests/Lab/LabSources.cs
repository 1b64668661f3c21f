using OfflineKit.Images;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Lab;
using OfflineKit.Spec;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// Every "internet" source of the default spec, in the lab: a registry holding synthetic images under
/// the real names (kubeadm's set for 1.23.0, Calico, metrics-server) and the real upstream manifests
/// behind file:// URL mirrors, with a mirrors file that points the origins at them.
/// </summary>
public sealed class LabSources : IAsyncDisposable
{
    private LabSources(LabRegistry registry, string dir, string mirrorsFile, IReadOnlyList<string> images)
    {
        Registry = registry;
        Dir = dir;
        MirrorsFile = mirrorsFile;
        Images = images;
    }

    public LabRegistry Registry { get; }

    public string Dir { get; }

    /// <summary>The mirrors file: registry.aliyuncs.com, docker.io, registry.cn-hangzhou.aliyuncs.com and the manifest URLs, all in the lab.</summary>
    public string MirrorsFile { get; }

    /// <summary>Every image the default spec's bundle carries, fully qualified.</summary>
    public IReadOnlyList<string> Images { get; }

    public static async Task<LabSources> StartAsync()
    {
        var registry = await LabRegistry.StartAsync();
        var dir = Directory.CreateTempSubdirectory("offlinekit-sources-").FullName;

        // The real manifests, at the paths their URLs name.
        var testdata = Path.Combine(Tools.RepoRoot(), "tests", "OfflineKit.Tests", "Manifests", "testdata");
        Copy(Path.Combine(testdata, "calico-v3.25.2.yaml"), Path.Combine(dir, "raw", "projectcalico/calico/v3.25.2/manifests/calico.yaml"));
        Copy(Path.Combine(testdata, "metrics-server-v0.6.3-components.yaml"), Path.Combine(dir, "github", "kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"));

        foreach (var image in DefaultSpecImages.Make(scale: 0))
        {
            await registry.PushAsync(image);
        }

        var mirrors = Path.Combine(dir, "mirrors.yaml");
        await File.WriteAllTextAsync(mirrors, $"""
            registries:
              registry.aliyuncs.com: {registry.BaseUri}
              registry.cn-hangzhou.aliyuncs.com: {registry.BaseUri}
              docker.io: {registry.BaseUri}
            urls:
              https://raw.githubusercontent.com/: file://{dir}/raw/
              https://github.com/: file://{dir}/github/
            """);
        return new LabSources(registry, dir, mirrors, DefaultSpecImages.Names());
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }

    public async ValueTask DisposeAsync()
    {
        await Registry.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}
