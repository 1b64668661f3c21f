using OfflineKit.Images;

namespace OfflineKit.Lab;

/// <summary>One image name as a registry serves it: an index over one synthetic image per arch.</summary>
public sealed record MultiArchImage(string Name, string Repository, string Tag, IReadOnlyList<SyntheticImage> Images);

/// <summary>
/// Synthetic images under real names as multi-arch indexes (linux/amd64 and linux/arm64/v8), as
/// registry.k8s.io, docker.io/calico and the Aliyun mirrors serve them: a build for either arch picks
/// its own from the index. Small (a few KiB each); the Kubernetes images share one base layer per arch.
/// </summary>
public static class MultiArchImages
{
    public static readonly string[] Arches = ["amd64", "arm64"];

    /// <summary>The images for <paramref name="names"/> (fully qualified, e.g. from `offlinekit images list`).</summary>
    public static IEnumerable<MultiArchImage> Make(IEnumerable<string> names)
    {
        var bases = Arches.ToDictionary(a => a, a => SyntheticImages.Layer($"multiarch-base-{a}", 24 * 1024, seed: a == "amd64" ? 21 : 22));
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            var reference = ImageReference.Parse(name);
            yield return new MultiArchImage(name, reference.Repository, reference.Tag!,
                [.. Arches.Select(a => SyntheticImages.Make(reference.Repository, reference.Tag!, a, 8 * 1024, bases[a]))]);
        }
    }
}
