using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using OfflineKit.Trust;

namespace OfflineKit.Build;

/// <summary>
/// The addons' manifests of a bundle: each fetched through the mirrors (every build: the upstream bytes
/// are checked against the lock and carried), patched, its images listed. The patched bytes and the
/// image list follow from the upstream bytes, the recipe, the cluster values and this code alone, so they
/// are remembered in the cache under a key of exactly those: a rebuild of unchanged upstream bytes does
/// not parse and patch them again.
/// </summary>
internal static class ManifestStage
{
    public static async Task<(List<BundleFile> Files, List<ImageReference> Images)> RunAsync(
        BuildOptions options, LockRecorder lockRecorder, CancellationToken cancellationToken)
    {
        var spec = options.Spec;
        var files = new List<BundleFile>();
        var images = new List<ImageReference>();
        if (spec.Addons.Count == 0)
        {
            return (files, images);
        }

        // Bad input is reported before any network traffic.
        foreach (var addon in spec.Addons)
        {
            AddonManifests.BundlePath(addon.Name);
        }

        var memo = new PreparedManifests(Path.Combine(options.CacheDirectory ?? BlobCache.DefaultRoot(), "manifests"));
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var fetcher = new ManifestFetcher(http);
        foreach (var addon in spec.Addons)
        {
            var t = Timing.Start();
            var fetched = await fetcher.FetchAsync(addon.Url, options.Mirrors, cancellationToken).ConfigureAwait(false);
            lockRecorder.CheckFile("manifest", options.Lock?.Manifests ?? [], addon.Name, addon.Url.AbsoluteUri, fetched.Sha256);
            lockRecorder.Manifest(addon.Name, addon.Url.AbsoluteUri, fetched.Sha256);
            Timing.Mark($"manifests: {addon.Name} fetched", t);

            t = Timing.Start();
            var key = PreparedManifests.Key(addon, spec.Cluster, fetched.Sha256);
            var (content, addonImages) = await memo.TryGetAsync(key, cancellationToken).ConfigureAwait(false) ?? await PrepareAsync(addon, spec.Cluster, fetched, memo, key, cancellationToken).ConfigureAwait(false);
            Timing.Mark($"manifests: {addon.Name} patched, images listed", t);

            files.Add(BundleFile.FromBytes(AddonManifests.BundlePath(addon.Name), content) with
            {
                Artifact = new ArtifactInfo(ArtifactKind.Manifest, addon.Name, addon.Version, addon.Url.AbsoluteUri),
            });

            // The upstream bytes too: install renders the site's manifest from them and the recorded patches.
            files.Add(BundleFile.FromBytes(AddonRecipes.UpstreamPath(addon.Name), fetched.Bytes.ToArray()));
            images.AddRange(addonImages);
            await memo.PutListedAsync(addon, spec.Cluster, addonImages, cancellationToken).ConfigureAwait(false);
        }

        files.Add(BundleFile.FromBytes(AddonRecipes.File, Encoding.UTF8.GetBytes(AddonRecipes.ToYaml(spec.Addons))));
        return (files, images);
    }

    /// <summary>
    /// The images the addons' manifests listed the last time they were prepared with the same recipes and
    /// cluster values (empty where never): a guess, so their lookups can start before the manifests are fetched.
    /// </summary>
    public static IReadOnlyList<ImageReference> LikelyImages(BuildOptions options)
    {
        var memo = new PreparedManifests(Path.Combine(options.CacheDirectory ?? BlobCache.DefaultRoot(), "manifests"));
        return [.. options.Spec.Addons.SelectMany(a => memo.Listed(a, options.Spec.Cluster))];
    }

    private static async Task<(byte[] Content, IReadOnlyList<ImageReference> Images)> PrepareAsync(
        AddonSpec addon, ClusterDefaults cluster, FetchedManifest fetched, PreparedManifests memo, string key, CancellationToken cancellationToken)
    {
        var prepared = AddonManifests.Prepare(addon, cluster, fetched, imageRegistry: null);
        var content = prepared.Content.ToArray();
        await memo.PutAsync(key, content, prepared.Images, cancellationToken).ConfigureAwait(false);
        return (content, prepared.Images);
    }
}

/// <summary>
/// Patched addon manifests and their image lists, kept on disk by a key of everything they follow from
/// (<c>KEY.yaml</c>, and <c>KEY.images</c>: the yaml's sha256, then one image a line). An entry that is
/// incomplete, damaged or unreadable is a miss, never an error.
/// </summary>
internal sealed class PreparedManifests(string directory)
{
    public static string Key(AddonSpec addon, ClusterDefaults cluster, string upstreamSha256) => DigestMemo.Key("addon-manifest", key =>
    {
        // Each free-text field with its length: no two recipes can describe alike.
        static string Field(string? s) => s is null ? "-" : FormattableString.Invariant($"{s.Length}:{s}");
        DigestMemo.AppendLine(key, $"{Field(addon.Name)} {Field(addon.Version)} {Field(addon.Url.AbsoluteUri)} {upstreamSha256}");
        DigestMemo.AppendLine(key, $"{cluster.PodSubnet} {cluster.ServiceSubnet} {Field(cluster.DnsDomain)}");
        foreach (var p in addon.Patches)
        {
            DigestMemo.AppendLine(key, $"{p.Op} {Field(p.Container)} {Field(p.Name)} {Field(p.Value)}");
        }
    });

    /// <summary>What <see cref="PutListedAsync"/> last kept for this recipe and these cluster values, whatever the upstream bytes were; empty if nothing (or nothing readable).</summary>
    public IReadOnlyList<ImageReference> Listed(AddonSpec addon, ClusterDefaults cluster)
    {
        try
        {
            var path = ListedPath(addon, cluster);
            return File.Exists(path) ? [.. File.ReadAllLines(path).Select(ImageReference.Parse)] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or BadInputException)
        {
            return [];
        }
    }

    /// <summary>Keeps the images an addon's manifest listed, for <see cref="Listed"/> (written only when they changed).</summary>
    public async Task PutListedAsync(AddonSpec addon, ClusterDefaults cluster, IReadOnlyList<ImageReference> images, CancellationToken cancellationToken)
    {
        if (Listed(addon, cluster).SequenceEqual(images))
        {
            return;
        }

        var path = ListedPath(addon, cluster);
        var partial = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllLinesAsync(partial, images.Select(i => i.ToString()), cancellationToken).ConfigureAwait(false);
            File.Move(partial, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not kept: the next build looks its addons' images up after their manifests.
        }
    }

    // The recipe's key with no upstream bytes in it: one file per recipe, whatever upstream serves.
    private string ListedPath(AddonSpec addon, ClusterDefaults cluster) => Path.Combine(directory, Key(addon, cluster, "listed") + ".listed");

    public async Task<(byte[] Content, IReadOnlyList<ImageReference> Images)?> TryGetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var list = Path.Combine(directory, key + ".images");
            if (!File.Exists(list))
            {
                return null;
            }

            var lines = await File.ReadAllLinesAsync(list, cancellationToken).ConfigureAwait(false);
            var content = await File.ReadAllBytesAsync(Path.Combine(directory, key + ".yaml"), cancellationToken).ConfigureAwait(false);
            if (lines is not [var first, ..] || first != "sha256 " + Convert.ToHexStringLower(SHA256.HashData(content)))
            {
                return null;
            }

            return (content, [.. lines.Skip(1).Select(ImageReference.Parse)]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or BadInputException)
        {
            return null;
        }
    }

    public async Task PutAsync(string key, byte[] content, IReadOnlyList<ImageReference> images, CancellationToken cancellationToken)
    {
        var suffix = $".{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(directory);
            var yaml = Path.Combine(directory, key + ".yaml");
            await File.WriteAllBytesAsync(yaml + suffix, content, cancellationToken).ConfigureAwait(false);
            File.Move(yaml + suffix, yaml, overwrite: true);
            // The list last: it is what makes the entry whole.
            var list = Path.Combine(directory, key + ".images");
            var lines = images.Select(i => i.ToString()).Prepend("sha256 " + Convert.ToHexStringLower(SHA256.HashData(content)));
            await File.WriteAllLinesAsync(list + suffix, lines, cancellationToken).ConfigureAwait(false);
            File.Move(list + suffix, list, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not kept: the next build parses the manifest again.
        }
    }
}
