using OfflineKit.Images;

namespace OfflineKit.Manifests;

/// <summary>The images a manifest runs, read from its workloads (never from a list kept by hand).</summary>
public static class ImageExtractor
{
    /// <summary>
    /// Every image of every container, init container and ephemeral container of every workload,
    /// fully qualified, each once, sorted. A container without a valid image is an error: a bundle
    /// missing it would fail only at install time.
    /// </summary>
    public static IReadOnlyList<ImageReference> Extract(YamlManifest manifest) =>
        Workloads.Containers(manifest)
            .Select(c => ManifestPatcher.ImageOf(manifest, c).Image)
            .Distinct()
            .OrderBy(i => i.ToString(), StringComparer.Ordinal)
            .ToList();
}
