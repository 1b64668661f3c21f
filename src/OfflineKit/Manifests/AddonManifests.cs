using System.Text.RegularExpressions;
using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Manifests;

/// <summary>
/// An addon's manifest ready for the bundle: where it came from (origin name, URL really read, SHA-256
/// of the fetched bytes), the patched YAML (UTF-8), and the images it runs.
/// </summary>
/// <param name="Images">
/// The images the patched manifest runs, by their origin names, fully qualified: what the build
/// pulls and the bundle carries (names in a bundle stay origin names).
/// </param>
/// <param name="ManifestImages">
/// The images as the written manifest names them: <paramref name="Images"/> moved to the private
/// registry when one was given, else the same list. The site pushes each image under this name.
/// </param>
/// <param name="Changes">What the patches and the registry move changed, for the build's log.</param>
public sealed record PreparedManifest(
    string Name,
    string Version,
    Uri Origin,
    Uri FetchedFrom,
    string FetchedSha256,
    ReadOnlyMemory<byte> Content,
    IReadOnlyList<ImageReference> Images,
    IReadOnlyList<ImageReference> ManifestImages,
    IReadOnlyList<PatchChange> Changes)
{
    /// <summary>The bytes as fetched, before any patch: what install renders a site's manifest from.</summary>
    public ReadOnlyMemory<byte> Upstream { get; init; }

    /// <summary>The file's path inside the bundle: <c>manifests/calico.yaml</c>.</summary>
    public string BundlePath => AddonManifests.BundlePath(Name);
}

/// <summary>Fetch, patch, list images: an addon's manifest as the build puts it in the bundle.</summary>
public sealed partial class AddonManifests(IManifestFetcher fetcher)
{
    public AddonManifests(HttpClient http)
        : this(new ManifestFetcher(http))
    {
    }

    /// <summary>Where an addon's manifest lives in a bundle.</summary>
    public static string BundlePath(string addonName) =>
        AddonNameRegex().IsMatch(addonName)
            ? $"manifests/{addonName}.yaml"
            : throw new BadInputException($"addon name '{addonName}' cannot name a file (lowercase letters, digits, '.', '_' and '-')");

    /// <summary>
    /// Fetches <paramref name="addon"/>'s manifest through <paramref name="mirrors"/>, applies its
    /// patches (with <c>${cluster.*}</c> filled from <paramref name="cluster"/>), lists the images it
    /// runs, and points them at <paramref name="imageRegistry"/> (host[:port]) when one is given.
    /// </summary>
    public async Task<PreparedManifest> PrepareAsync(
        AddonSpec addon, ClusterDefaults cluster, MirrorConfig mirrors, string? imageRegistry, CancellationToken cancellationToken = default)
    {
        // Bad input is reported before any network traffic.
        BundlePath(addon.Name);
        if (imageRegistry is not null && ImageReference.CheckRegistry(imageRegistry) is { } error)
        {
            throw new BadInputException($"image registry '{imageRegistry}': {error}");
        }

        var fetched = await fetcher.FetchAsync(addon.Url, mirrors, cancellationToken).ConfigureAwait(false);
        return Prepare(addon, cluster, fetched, imageRegistry);
    }

    /// <summary>The pure part of <see cref="PrepareAsync"/>: patch fetched bytes and list the images.</summary>
    public static PreparedManifest Prepare(AddonSpec addon, ClusterDefaults cluster, FetchedManifest fetched, string? imageRegistry)
    {
        BundlePath(addon.Name);
        var manifest = YamlManifest.Parse(fetched.Bytes.Span, fetched.Origin.AbsoluteUri);
        var changes = new List<PatchChange>(ManifestPatcher.Apply(manifest, addon.Name, addon.Patches, cluster));

        // Read before the registry move: the bundle carries the images under the names they are pulled by.
        var images = ImageExtractor.Extract(manifest);
        var manifestImages = images;
        if (imageRegistry is not null)
        {
            changes.AddRange(ManifestPatcher.RewriteRegistry(manifest, imageRegistry));
            manifestImages = ImageExtractor.Extract(manifest);
        }

        return new PreparedManifest(
            addon.Name, addon.Version, fetched.Origin, fetched.Source, fetched.Sha256, manifest.ToUtf8(), images, manifestImages, changes)
        {
            Upstream = fetched.Bytes,
        };
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex AddonNameRegex();
}
