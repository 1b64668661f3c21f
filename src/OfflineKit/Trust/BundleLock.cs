using System.Text.Json;
using System.Text.Json.Serialization;

namespace OfflineKit.Trust;

/// <summary>
/// NAME.lock.json: every input a build resolved, by digest or checksum — each image's manifest digest,
/// each RPM's checksum and URL, each repository's repomd.xml checksum, each manifest's and GPG key's
/// SHA-256 as fetched, the catalog revision. `build --lock` fetches exactly these again, so the
/// bundle comes out byte-identical after upstream moved a tag or added packages.
/// </summary>
public sealed record BundleLock
{
    public const int CurrentVersion = 1;

    public required int LockVersion { get; init; }

    public required string Name { get; init; }

    public required string KubernetesVersion { get; init; }

    public required string Os { get; init; }

    public required string Arch { get; init; }

    public string? CatalogRevision { get; init; }

    /// <summary>The offlinekit that resolved it; another version may lay the bundle out differently.</summary>
    public required string CreatedBy { get; init; }

    public IReadOnlyList<LockedImage> Images { get; init; } = [];

    public IReadOnlyList<LockedRepository> Repositories { get; init; } = [];

    public IReadOnlyList<LockedRpm> Rpms { get; init; } = [];

    public IReadOnlyList<LockedFile> Manifests { get; init; } = [];

    public IReadOnlyList<LockedFile> Keys { get; init; } = [];

    public static BundleLock Parse(ReadOnlySpan<byte> json, string source)
    {
        BundleLock? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(json, LockJsonContext.Default.BundleLock);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{source}: not a lock file ({e.Message})", e);
        }

        if (parsed is null || parsed.LockVersion != CurrentVersion)
        {
            throw new BadInputException($"{source}: lockVersion {parsed?.LockVersion} is not supported (this offlinekit reads {CurrentVersion})");
        }

        return parsed;
    }

    public static BundleLock Load(string path)
    {
        try
        {
            return Parse(File.ReadAllBytes(path), path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new BadInputException($"--lock {path}: cannot read it ({e.Message})", e);
        }
    }

    public byte[] ToJsonBytes() => [.. JsonSerializer.SerializeToUtf8Bytes(this, LockJsonContext.Default.BundleLock), (byte)'\n'];

    /// <summary>The same lock with its lists in a fixed order: what is written.</summary>
    public BundleLock Sorted() => this with
    {
        Images = [.. Images.OrderBy(i => i.Name, StringComparer.Ordinal)],
        Repositories = [.. Repositories.OrderBy(r => r.Name, StringComparer.Ordinal)],
        Rpms = [.. Rpms.OrderBy(r => r.Url, StringComparer.Ordinal)],
        Manifests = [.. Manifests.OrderBy(m => m.Name, StringComparer.Ordinal)],
        Keys = [.. Keys.OrderBy(k => k.Name, StringComparer.Ordinal)],
    };
}

/// <summary>An image by its tagged name and the manifest digest (for the bundle's platform) it was resolved to.</summary>
public sealed record LockedImage(string Name, string Digest);

/// <summary>A yum repository and the checksum of the repomd.xml its packages were resolved from.</summary>
public sealed record LockedRepository(string Name, string BaseUrl, string Repomd);

/// <summary>An RPM: its NEVRA, repository, the URL it is fetched from, and the repository's checksum of the file.</summary>
public sealed record LockedRpm(string Nevra, string Repo, string Url, string Checksum, long Size);

/// <summary>A fetched file (a manifest before patching, a GPG key) and its SHA-256.</summary>
public sealed record LockedFile(string Name, string Url, string Sha256);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BundleLock))]
internal sealed partial class LockJsonContext : JsonSerializerContext;
