using OfflineKit.IntegrationTests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>An image as a runtime lists it after a load: its fully qualified name and the id the runtime gives it (sha256:…).</summary>
public sealed record LoadedImage(string Name, string Id);

/// <summary>
/// The docker-archives offlinekit writes, loaded by the real runtimes an operator has: `docker load`
/// into a lab dockerd (<see cref="LabDaemon.DockerdAsync"/>) and `podman load` into a private store.
/// Each returns every image the runtime then lists, by fully qualified name, with its image id — for
/// both runtimes the digest of the image's config, which bundle.json records among the image's blobs.
/// </summary>
public static class ImageLoads
{
    public static async Task<IReadOnlyList<LoadedImage>> DockerLoadAsync(LabDaemon docker, IEnumerable<string> archives)
    {
        foreach (var archive in archives)
        {
            var load = await docker.Docker("load", "-i", archive);
            Assert.True(load.ExitCode == 0, $"docker load -i {archive}: {load.Stdout}{load.Stderr}");
        }

        var list = await docker.Docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}");
        Assert.True(list.ExitCode == 0, list.Stderr);
        return Parse(list.Stdout);
    }

    /// <summary>`podman load` of each archive into a store under <paramref name="store"/> (vfs, no daemon, no cgroups).</summary>
    public static async Task<IReadOnlyList<LoadedImage>> PodmanLoadAsync(string store, IEnumerable<string> archives)
    {
        Tools.Require("podman", "podman");
        string[] storage = ["--root", Path.Combine(store, "root"), "--runroot", Path.Combine(store, "run"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"];
        foreach (var archive in archives)
        {
            var load = await Tools.RunAsync("podman", [.. storage, "load", "-i", archive]);
            Assert.True(load.ExitCode == 0, $"podman load -i {archive}: {load.Stdout}{load.Stderr}");
        }

        var list = await Tools.RunAsync("podman", [.. storage, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
        Assert.True(list.ExitCode == 0, list.Stderr);
        return Parse(list.Stdout);
    }

    private static List<LoadedImage> Parse(string listing) =>
    [
        .. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var (name, id) = (line[..line.LastIndexOf(' ')], line[(line.LastIndexOf(' ') + 1)..]);
            return new LoadedImage(Qualified(name), id.StartsWith("sha256:", StringComparison.Ordinal) ? id : "sha256:" + id);
        }).OrderBy(i => i.Name, StringComparer.Ordinal),
    ];

    /// <summary>docker lists Docker Hub's images by their short names (calico/node:v3.25.2, busybox:1); bundle.json names them in full.</summary>
    public static string Qualified(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? string.Empty : name[..slash];
        if (slash >= 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"))
        {
            return name;
        }

        return slash < 0 ? "docker.io/library/" + name : "docker.io/" + name;
    }
}
