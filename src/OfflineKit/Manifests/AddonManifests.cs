using System.Text.RegularExpressions;
using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Manifests;

/// <summary>
/// An addon's manifest ready for the bundle: where it came from (origin name, URL really read, SHA-256
/// of the fetched bytes), the patched YAML, and the images it runs.
/// </summary>
public sealed record PreparedManifest(
    string Name,
    string Version,
    Uri Origin,
    Uri FetchedFrom,
    string FetchedSha256,
    ReadOnlyMemory<byte> Content,
    IReadOnlyList<ImageReference> Images,
    IReadOnlyList<PatchChange> Changes)
{
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
    /// patches (with <c>${cluster.*}</c> filled from <paramref name="cluster"/>), points its images at
    /// <paramref name="imageRegistry"/> when one is given, and lists the images it then runs.
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
        var manifest = YamlManifest.Parse(fetched.Bytes.Span, fetched.Origin.AbsoluteUri);
        var changes = new List<PatchChange>(ManifestPatcher.Apply(manifest, addon.Name, addon.Patches, cluster));
        if (imageRegistry is not null)
        {
            changes.AddRange(ManifestPatcher.RewriteRegistry(manifest, imageRegistry));
        }

        var images = ImageExtractor.Extract(manifest);
        return new PreparedManifest(
            addon.Name, addon.Version, fetched.Origin, fetched.Source, fetched.Sha256, manifest.ToUtf8(), images, changes);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex AddonNameRegex();
}
