using OfflineKit.Images;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>The archive offlinekit writes, read by the real runtimes: docker load, ctr import, podman load, skopeo.</summary>
public class DockerArchiveTests
{
    private static readonly string[] Names =
    [
        "docker.io/calico/node:v3.25.2",
        "docker.io/calico/cni:v3.25.2",
        "registry.aliyuncs.com/google_containers/pause:3.6",
    ];

    /// <summary>Pulls three images that share a base layer from the lab registry and writes one archive.</summary>
    private static async Task<(string Archive, IReadOnlyList<PulledImage> Images)> ArchiveAsync(TempDir dir)
    {
        await using var lab = await LabRegistry.StartAsync();
        var mirrors = new MirrorConfig();
        mirrors.AddRegistryMirror($"docker.io={lab.BaseUri}");
        mirrors.AddRegistryMirror($"registry.aliyuncs.com={lab.BaseUri}");
        var requests = new List<ImagePullRequest>();
        foreach (var name in Names)
        {
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            var colon = name.LastIndexOf(':');
            var (registry, repo, tag) = (name[..slash], name[(slash + 1)..colon], name[(colon + 1)..]);
            await lab.PushAsync(SyntheticImages.Make(repo, tag));
            requests.Add(new ImagePullRequest(registry, repo, tag, name));
        }

        var cache = new BlobCache(dir["cache"]);
        using var client = new RegistryClient(new RegistryClientOptions(mirrors, RegistryCredentials.None));
        var images = await new ImagePuller(client, cache).PullAsync(requests, new Platform("linux", "amd64"), 4);
        var archive = dir["images.tar"];
        await using (var file = File.Create(archive))
        {
            await DockerArchive.WriteAsync(images, cache, file);
        }

        return (archive, images);
    }

    [Fact]
    public async Task Each_blob_is_stored_once()
    {
        using var dir = new TempDir();
        var (archive, images) = await ArchiveAsync(dir);
        var entries = Bundles.Entries(archive).Select(e => e.Name).ToList();

        var blobs = entries.Where(e => e.StartsWith("blobs/sha256/", StringComparison.Ordinal) && e.Length > "blobs/sha256/".Length).ToList();
        Assert.Equal(blobs.Count, blobs.Distinct().Count());
        Assert.Equal(images.SelectMany(i => i.Blobs).Distinct().Count(), blobs.Count);
        Assert.Contains($"blobs/sha256/{SyntheticImages.SharedBase.Digest.Hex}", blobs);
        Assert.Contains("manifest.json", entries);
        Assert.Contains("index.json", entries);
        Assert.Contains("oci-layout", entries);
    }

    [Fact]
    public async Task Docker_load_shows_every_image_with_its_layers()
    {
        using var dir = new TempDir();
        var (archive, images) = await ArchiveAsync(dir);
        await using var docker = await LabDaemon.DockerdAsync();

        var loaded = await ImageLoads.DockerLoadAsync(docker, [archive]);

        Assert.Equal(Expected(images), loaded);
        foreach (var image in images)
        {
            var inspect = await docker.Docker("image", "inspect", "--format", "{{.Id}} {{len .RootFS.Layers}}", image.Name);
            Assert.True(inspect.ExitCode == 0, inspect.Stderr);
            Assert.Equal($"{image.Config.Digest} {image.Layers.Count}", inspect.Stdout.Trim());
        }
    }

    /// <summary>What docker and podman must list after loading the archive: every image by its name, its id the config's digest.</summary>
    private static List<LoadedImage> Expected(IEnumerable<PulledImage> images) =>
        [.. images.Select(i => new LoadedImage(i.Name, i.Config.Digest.ToString())).OrderBy(i => i.Name, StringComparer.Ordinal)];

    [Fact]
    public async Task Ctr_import_shows_fully_qualified_names_and_registry_digests()
    {
        using var dir = new TempDir();
        var (archive, images) = await ArchiveAsync(dir);
        await using var containerd = await LabDaemon.ContainerdAsync();

        var import = await containerd.Ctr("images", "import", "--snapshotter", "native", archive);
        Assert.True(import.ExitCode == 0, import.Stderr);

        var list = await containerd.Ctr("images", "ls");
        foreach (var image in images)
        {
            Assert.Contains(list.Stdout.Split('\n'), l => l.StartsWith(image.Name + " ", StringComparison.Ordinal) && l.Contains(image.ManifestDigest.ToString(), StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Podman_load_shows_every_image()
    {
        using var dir = new TempDir();
        var (archive, images) = await ArchiveAsync(dir);

        Assert.Equal(Expected(images), await ImageLoads.PodmanLoadAsync(dir["podman"], [archive]));
    }

    [Fact]
    public async Task Skopeo_reads_each_image_by_name_with_its_digest()
    {
        Tools.Require("skopeo", "skopeo");
        using var dir = new TempDir();
        var (archive, images) = await ArchiveAsync(dir);

        foreach (var image in images)
        {
            var inspect = await Tools.RunAsync("skopeo", ["inspect", "--raw", $"docker-archive:{archive}:{image.Name}"]);
            Assert.True(inspect.ExitCode == 0, inspect.Stderr);
            var copy = await Tools.RunAsync("skopeo", ["copy", "-q", $"docker-archive:{archive}:{image.Name}", $"dir:{dir["skopeo-" + image.Config.Digest.Hex[..8]]}"]);
            Assert.True(copy.ExitCode == 0, copy.Stderr);
            Assert.True(File.Exists(Path.Combine(dir["skopeo-" + image.Config.Digest.Hex[..8]], image.Config.Digest.Hex)));
        }
    }
}
