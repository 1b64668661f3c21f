using OfflineKit.Images;
using YamlDotNet.RepresentationModel;

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
            .Select(c => ImageOf(manifest, c).Image)
            .Distinct()
            .OrderBy(i => i.ToString(), StringComparer.Ordinal)
            .ToList();

    /// <summary>The image scalar of a container and its parsed reference; a missing or invalid image is an error.</summary>
    internal static (YamlScalarNode Node, ImageReference Image) ImageOf(YamlManifest manifest, ContainerSite container)
    {
        if (container.Node.Get("image") is not YamlScalarNode { Value: { Length: > 0 } text } node)
        {
            throw new OperationFailedException($"{manifest.Source}:{container.Node.Start.Line}: {container} has no image");
        }

        try
        {
            return (node, ImageReference.Parse(text));
        }
        catch (FormatException e)
        {
            throw new OperationFailedException($"{manifest.Source}:{node.Start.Line}: {container}: {e.Message}", e);
        }
    }
}
