using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using OfflineKit.Images;

namespace OfflineKit.Bundle;

/// <summary>
/// Reads an image archive as it streams past: every blobs/sha256/&lt;hex&gt; entry hashed and compared with
/// its name, and the archive's own index (manifest.json, index.json and the image manifests it names)
/// held to the rule that a path or digest inside an archive stays inside it, whatever SHA256SUMS and
/// bundle.json say: `docker load` and `ctr import` follow those names.
/// </summary>
internal static class ImageArchiveScan
{
    public sealed record Result(IReadOnlyDictionary<string, bool> Blobs, string? Error);

    private const string BlobPrefix = "blobs/sha256/";

    /// <summary>manifest.json and index.json of a bundle's archive are a few KB; image manifests too.</summary>
    private const int MaxIndexBytes = 4 << 20;

    /// <summary>Small blobs are kept to read the image manifests among them (configs and small layers come along).</summary>
    private const int MaxKeptBlob = 1 << 20;
    private const long MaxKeptTotal = 32L << 20;

    public static async Task<Result> ScanAsync(Stream archive, CancellationToken cancellationToken)
    {
        var blobs = new Dictionary<string, bool>(StringComparer.Ordinal);
        var files = new HashSet<string>(StringComparer.Ordinal);
        var kept = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long keptTotal = 0;
        byte[]? manifestJson = null;
        byte[]? indexJson = null;
        try
        {
            await using var reader = new TarReader(archive, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                name = name.TrimEnd('/');
                if (name.Length == 0 || name == ".")
                {
                    continue;
                }

                var nameError = TarballSource.NameError(entry) ?? (BundleLayout.IsValidRelativePath(name) ? null : "not a plain relative path");
                if (nameError is not null)
                {
                    return new Result(blobs, $"the archive holds '{entry.Name}', {nameError}");
                }

                if (entry.EntryType == TarEntryType.Directory)
                {
                    continue;
                }

                if (!TarballSource.IsRegularFile(entry.EntryType))
                {
                    return new Result(blobs, $"the archive holds '{entry.Name}', a {BundleVerifier.Describe(entry.EntryType)}; an image archive holds only files and folders");
                }

                files.Add(name);
                var data = entry.DataStream ?? Stream.Null;
                if (name.StartsWith(BlobPrefix, StringComparison.Ordinal))
                {
                    var hex = name[BlobPrefix.Length..];
                    if (!Digest.TryParse("sha256:" + hex, out var digest) || digest.Hex != hex)
                    {
                        return new Result(blobs, $"the archive holds '{entry.Name}', not named by a sha256 digest");
                    }

                    byte[]? content = null;
                    string actual;
                    if (entry.Length <= MaxKeptBlob && keptTotal + entry.Length <= MaxKeptTotal)
                    {
                        content = await ReadSmallAsync(data, (int)entry.Length, cancellationToken).ConfigureAwait(false);
                        actual = Convert.ToHexStringLower(SHA256.HashData(content));
                    }
                    else
                    {
                        actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(data, cancellationToken).ConfigureAwait(false));
                    }

                    blobs[hex] = actual == hex;
                    if (content is not null && actual == hex)
                    {
                        kept[hex] = content;
                        keptTotal += content.Length;
                    }
                }
                else if (name is "manifest.json" or "index.json")
                {
                    if (entry.Length > MaxIndexBytes)
                    {
                        return new Result(blobs, $"the archive's {name} is {entry.Length} bytes, over the {MaxIndexBytes >> 20} MiB cap on it");
                    }

                    var content = await ReadSmallAsync(data, (int)entry.Length, cancellationToken).ConfigureAwait(false);
                    (name == "manifest.json" ? ref manifestJson : ref indexJson) = content;
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            return new Result(blobs, $"the archive cannot be read: {e.Message}");
        }

        try
        {
            return new Result(blobs, CheckManifestJson(manifestJson, files) ?? CheckIndex(indexJson, blobs, kept));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return new Result(blobs, $"the archive's index cannot be read: {e.Message}");
        }
    }

    private static async Task<byte[]> ReadSmallAsync(Stream data, int length, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        await data.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer;
    }

    /// <summary>docker load's manifest.json: every Config and Layers path a plain relative path to a file of this archive.</summary>
    private static string? CheckManifestJson(byte[]? json, HashSet<string> files)
    {
        if (json is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            return "the archive's manifest.json is not a list of images";
        }

        foreach (var image in doc.RootElement.EnumerateArray())
        {
            var paths = new List<string?> { image.GetProperty("Config").GetString() };
            if (image.TryGetProperty("Layers", out var layers))
            {
                paths.AddRange(layers.EnumerateArray().Select(l => l.GetString()));
            }

            foreach (var path in paths)
            {
                if (path is null || !BundleLayout.IsValidRelativePath(path) || !files.Contains(path))
                {
                    return $"the archive's manifest.json names '{path}', which is not a file inside the archive";
                }
            }

            if (image.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array)
            {
                foreach (var tag in tags.EnumerateArray())
                {
                    if (!ImageReference.TryParse(tag.GetString(), out _))
                    {
                        return $"the archive's manifest.json tags an image '{tag}', which is not an image reference";
                    }
                }
            }
        }

        return null;
    }

    /// <summary>The OCI index and the manifests it reaches: every digest well formed and its blob present.</summary>
    private static string? CheckIndex(byte[]? json, Dictionary<string, bool> blobs, Dictionary<string, byte[]> kept)
    {
        if (json is null)
        {
            return null;
        }

        var pending = new Queue<(string Where, byte[] Json)>();
        pending.Enqueue(("index.json", json));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            var (where, content) = pending.Dequeue();
            using var doc = JsonDocument.Parse(content);
            var root = doc.RootElement;
            var descriptors = new List<JsonElement>();
            foreach (var key in new[] { "manifests", "layers" })
            {
                if (root.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    descriptors.AddRange(list.EnumerateArray());
                }
            }

            if (root.TryGetProperty("config", out var config) && config.ValueKind == JsonValueKind.Object)
            {
                descriptors.Add(config);
            }

            foreach (var d in descriptors)
            {
                var text = d.TryGetProperty("digest", out var digestValue) ? digestValue.GetString() : null;
                if (!Digest.TryParse(text, out var digest) || digest.ToString() != text)
                {
                    return $"the archive's {where} names the digest '{text}', which is not sha256: and 64 lower-case hex digits";
                }

                if (!blobs.ContainsKey(digest.Hex))
                {
                    // A platform left out of the archive (multi-arch index) is fine for the index itself;
                    // a manifest's own config and layers are checked against bundle.json's blob list.
                    continue;
                }

                if (kept.TryGetValue(digest.Hex, out var child) && seen.Add(digest.Hex) && IsManifestMediaType(d))
                {
                    pending.Enqueue(($"manifest {digest}", child));
                }
            }
        }

        return null;
    }

    private static bool IsManifestMediaType(JsonElement descriptor) =>
        descriptor.TryGetProperty("mediaType", out var m) && m.GetString() is { } type
        && (type.Contains("manifest", StringComparison.Ordinal) || type.Contains("index", StringComparison.Ordinal));
}
