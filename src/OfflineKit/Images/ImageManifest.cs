using System.Text.Json;

namespace OfflineKit.Images;

public sealed record Platform(string Os, string Architecture, string? Variant = null)
{
    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>Whether an index entry serves this platform; arm64 without a variant means v8, as containerd reads it.</summary>
    public bool Matches(Platform offered) =>
        offered.Os == Os
        && offered.Architecture == Architecture
        && (Variant is null || offered.Variant == Variant || (Architecture == "arm64" && Variant == "v8" && offered.Variant is null));
}

public sealed record Descriptor(string MediaType, Digest Digest, long Size, Platform? Platform = null);

/// <summary>An image manifest (Docker v2 schema 2 or OCI): a config and its layers.</summary>
public sealed record ImageManifest(string MediaType, Descriptor Config, IReadOnlyList<Descriptor> Layers)
{
    public static ImageManifest Parse(byte[] content, string mediaType)
    {
        try
        {
            using var json = JsonDocument.Parse(content);
            var root = json.RootElement;
            if (root.TryGetProperty("schemaVersion", out var v) && v.GetInt32() != 2)
            {
                throw new FormatException($"manifest schema version {v.GetInt32()} is not supported (only v2 schema 2 and OCI)");
            }

            var config = ReadDescriptor(root.GetProperty("config"));
            var layers = root.GetProperty("layers").EnumerateArray().Select(ReadDescriptor).ToList();
            return new ImageManifest(mediaType, config, layers);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a valid image manifest: {e.Message}", e);
        }
    }

    internal static Descriptor ReadDescriptor(JsonElement e)
    {
        Platform? platform = null;
        if (e.TryGetProperty("platform", out var p))
        {
            platform = new Platform(
                p.GetProperty("os").GetString() ?? string.Empty,
                p.GetProperty("architecture").GetString() ?? string.Empty,
                p.TryGetProperty("variant", out var variant) ? variant.GetString() : null);
        }

        return new Descriptor(
            e.TryGetProperty("mediaType", out var m) ? m.GetString() ?? string.Empty : string.Empty,
            Digest.Parse(e.GetProperty("digest").GetString() ?? string.Empty),
            e.GetProperty("size").GetInt64(),
            platform);
    }
}

/// <summary>A manifest list or OCI index: one manifest per platform.</summary>
public sealed record ImageIndex(IReadOnlyList<Descriptor> Manifests)
{
    public static ImageIndex Parse(byte[] content)
    {
        try
        {
            using var json = JsonDocument.Parse(content);
            return new ImageIndex(json.RootElement.GetProperty("manifests").EnumerateArray().Select(ImageManifest.ReadDescriptor).ToList());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"not a valid image index: {e.Message}", e);
        }
    }

    /// <summary>The entry for the platform, or null; attestation entries (unknown/unknown) never match.</summary>
    public Descriptor? Select(Platform wanted) =>
        Manifests.FirstOrDefault(m => m.Platform is { } p && wanted.Matches(p) && p.Variant == wanted.Variant)
        ?? Manifests.FirstOrDefault(m => m.Platform is { } p && wanted.Matches(p));

    public IEnumerable<string> Offered => Manifests.Where(m => m.Platform is not null && m.Platform.Os != "unknown").Select(m => m.Platform!.ToString());
}
