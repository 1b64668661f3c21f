using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using OfflineKit.IO;

namespace OfflineKit.Images;

/// <summary>
/// Writes images as one archive in the layout Docker 25+ saves: manifest.json (read by `docker load`
/// of Docker 20.10 and by podman and skopeo's docker-archive) beside an OCI index.json, oci-layout and
/// blobs/sha256/ (read by `ctr images import`). Each blob is stored once however many images share it;
/// layers are stored exactly as pulled, and the image manifests too, so every runtime sees the
/// registry's digests.
/// </summary>
public static class DockerArchive
{
    /// <param name="verifyBlobs">
    /// Hash each blob again as it is copied (a cache on disk can rot); a build passes false: the cache
    /// checked each blob when it came in, and `verify` hashes every byte of the bundle. Without it a blob
    /// goes file to file in the kernel where the output is a file (<see cref="IRangeCopyTarget"/>).
    /// </param>
    public static async Task WriteAsync(IReadOnlyList<PulledImage> images, BlobCache cache, Stream output, bool verifyBlobs = true, CancellationToken cancellationToken = default)
    {
        var tar = new TarStreamWriter(output, BundleLayout.FixedMtime);
        await tar.WriteDirectoryAsync("blobs", BundleLayout.ExecutableMode, cancellationToken).ConfigureAwait(false);
        await tar.WriteDirectoryAsync("blobs/sha256", BundleLayout.ExecutableMode, cancellationToken).ConfigureAwait(false);
        foreach (var digest in Blobs(images))
        {
            await using var blob = cache.OpenRead(digest);
            if (!verifyBlobs)
            {
                // The file itself: where the output is a file too, the kernel copies it (see IRangeCopyTarget).
                await tar.WriteFileAsync($"blobs/sha256/{digest.Hex}", blob.Length, BundleLayout.FileMode, blob, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using var hashing = new HashingStream(blob, leaveOpen: true);
            await tar.WriteFileAsync($"blobs/sha256/{digest.Hex}", blob.Length, BundleLayout.FileMode, hashing, cancellationToken).ConfigureAwait(false);
            if (hashing.HexDigest != digest.Hex)
            {
                // The cache rotted on disk: never ship a blob that is not what its name says.
                File.Delete(cache.PathOf(digest));
                throw new OperationFailedException($"cached blob {digest} is corrupt (it was removed from the cache; build again to download it)");
            }
        }

        foreach (var (name, content) in Metadata(images))
        {
            await tar.WriteFileAsync(name, content.Length, BundleLayout.FileMode, new MemoryStream(content), cancellationToken).ConfigureAwait(false);
        }

        await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The archive's SHA-256 and size without writing it anywhere. The bytes are a function of the blobs
    /// (digest, size), the metadata and this code, so the answer is kept in <paramref name="memoDirectory"/>
    /// under a key of exactly those: a rebuild of the same images reads two numbers instead of hashing
    /// every byte again. The key holds the assembly's build id, so a changed writer never reuses an answer.
    /// </summary>
    public static async Task<(string Sha256, long Size)> DescribeAsync(IReadOnlyList<PulledImage> images, BlobCache cache, DigestMemo memo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memo);
        var key = DigestMemo.Key("docker-archive", key =>
        {
            foreach (var digest in Blobs(images))
            {
                DigestMemo.AppendLine(key, $"{digest} {cache.SizeOf(digest)}");
            }

            foreach (var (name, content) in Metadata(images))
            {
                DigestMemo.AppendLine(key, $"{name} {content.Length}");
                key.AppendData(content);
            }
        });
        if (await memo.TryGetAsync(key, cancellationToken).ConfigureAwait(false) is { } known)
        {
            return known;
        }

        await using var hashing = new HashingStream(Stream.Null);
        await WriteAsync(images, cache, hashing, verifyBlobs: false, cancellationToken).ConfigureAwait(false);
        var result = (hashing.HexDigest, hashing.BytesHashed);
        await memo.PutAsync(key, result.HexDigest, result.BytesHashed, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Every blob of the images once, in the order the archive holds them.</summary>
    private static IEnumerable<Digest> Blobs(IReadOnlyList<PulledImage> images) =>
        images.SelectMany(i => i.Blobs).Distinct().OrderBy(d => d.Hex, StringComparer.Ordinal);

    /// <summary>The names a runtime will show for each image, one a line, for the host script's idempotence check.</summary>
    public static byte[] NameList(IReadOnlyList<PulledImage> images) =>
        Encoding.UTF8.GetBytes(string.Concat(images.Select(i => i.Name + "\n")));

    private static IEnumerable<(string Name, byte[] Content)> Metadata(IReadOnlyList<PulledImage> images)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(images.Select(i => (JsonNode)new JsonObject
            {
                ["mediaType"] = i.ManifestMediaType,
                ["digest"] = i.ManifestDigest.ToString(),
                ["size"] = i.ManifestSize,
                ["annotations"] = new JsonObject
                {
                    // containerd names the image from the first, other OCI readers from the second.
                    ["io.containerd.image.name"] = i.Name,
                    ["org.opencontainers.image.ref.name"] = Tag(i.Name),
                },
            }).ToArray()),
        };
        var manifest = new JsonArray(images.Select(i => (JsonNode)new JsonObject
        {
            ["Config"] = $"blobs/sha256/{i.Config.Digest.Hex}",
            ["RepoTags"] = new JsonArray(JsonValue.Create(i.Name)),
            ["Layers"] = new JsonArray(i.Layers.Select(l => (JsonNode)JsonValue.Create($"blobs/sha256/{l.Digest.Hex}")).ToArray()),
        }).ToArray());
        var compact = new JsonSerializerOptions { WriteIndented = false };
        yield return ("index.json", Encoding.UTF8.GetBytes(index.ToJsonString(compact)));
        yield return ("manifest.json", Encoding.UTF8.GetBytes(manifest.ToJsonString(compact)));
        yield return ("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray());
    }

    private static string Tag(string name)
    {
        var at = name.IndexOf('@', StringComparison.Ordinal);
        var path = at < 0 ? name : name[..at];
        var colon = path.LastIndexOf(':');
        return colon > path.LastIndexOf('/') ? path[(colon + 1)..] : "latest";
    }
}
