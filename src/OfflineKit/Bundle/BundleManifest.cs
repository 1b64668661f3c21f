using System.Text.Json;
using System.Text.Json.Serialization;

namespace OfflineKit.Bundle;

/// <summary>bundle.json: what the bundle is, what it carries, and each file's digest.</summary>
public sealed record BundleManifest
{
    public required int SchemaVersion { get; init; }

    /// <summary>The top folder and tarball name, e.g. offlinekit-k8s-1.23.0-el8-amd64.</summary>
    public required string Name { get; init; }

    /// <summary>SemVer of the bundle (the spec's revision).</summary>
    public required string BundleVersion { get; init; }

    public required string KubernetesVersion { get; init; }

    public required string Os { get; init; }

    public required string Arch { get; init; }

    public required string CreatedBy { get; init; }

    /// <summary>
    /// The container runtime the bundle was built for: "docker" or "containerd". Absent in bundles
    /// made before the version catalog, which were all the guide's docker cluster.
    /// </summary>
    public string? Runtime { get; init; }

    /// <summary>The kubeadm config API the bundle was built for, e.g. "kubeadm.k8s.io/v1beta3"; absent = v1beta3.</summary>
    public string? KubeadmConfigApi { get; init; }

    /// <summary>The revision of the embedded version catalog the spec was derived from; absent for a hand-written spec.</summary>
    public string? CatalogRevision { get; init; }

    /// <summary>What is inside, each with its own digest (image manifest digest, RPM checksum, file SHA-256).</summary>
    public required IReadOnlyList<Artifact> Artifacts { get; init; }

    /// <summary>Every file but bundle.json and SHA256SUMS, with its SHA-256: the second level of integrity.</summary>
    public required IReadOnlyList<FileDigest> Files { get; init; }

    public static BundleManifest Parse(ReadOnlySpan<byte> json)
    {
        var manifest = JsonSerializer.Deserialize(json, BundleJsonContext.Default.BundleManifest)
            ?? throw new JsonException("bundle.json is null");
        if (manifest.SchemaVersion != BundleLayout.SchemaVersion)
        {
            throw new JsonException($"schemaVersion {manifest.SchemaVersion} is not supported (this offlinekit reads {BundleLayout.SchemaVersion})");
        }

        // System.Text.Json lets a required property be null: a crafted file gets no further than here.
        if (manifest.Name is null || manifest.BundleVersion is null || manifest.KubernetesVersion is null || manifest.Os is null
            || manifest.Arch is null || manifest.CreatedBy is null || manifest.Artifacts is null || manifest.Files is null
            || manifest.Files.Any(f => f?.Path is null || f.Sha256 is null)
            || manifest.Artifacts.Any(a => a?.Name is null || a.Digest is null || a.Path is null || (a.Blobs?.Any(b => b is null) ?? false)))
        {
            throw new JsonException("a required field is null");
        }

        // Every name here becomes a path (the top folder, host paths under the state folder, files to
        // open): each is checked against its grammar before anything uses it.
        if (!BundleLayout.IsValidBundleName(manifest.Name))
        {
            throw new JsonException($"name '{manifest.Name}' is not a bundle name (letters, digits, '.', '_', '+', '-'; at most {BundleLayout.MaxNameLength} characters; not starting with '.' or '-')");
        }

        foreach (var f in manifest.Files)
        {
            if (!BundleLayout.IsValidRelativePath(f.Path) || f.Path is BundleLayout.ManifestFile or BundleLayout.SumsFile)
            {
                throw new JsonException($"unsafe path '{f.Path}' in files");
            }

            if (!Images.Digest.TryParse("sha256:" + f.Sha256, out _) || f.Size < 0)
            {
                throw new JsonException($"files: '{f.Path}' has no valid sha256 and size");
            }
        }

        foreach (var a in manifest.Artifacts)
        {
            if (!BundleLayout.IsValidRelativePath(a.Path))
            {
                throw new JsonException($"unsafe path '{a.Path}' in artifacts");
            }

            foreach (var digest in (a.Blobs ?? []).Prepend(a.Digest))
            {
                if (!Images.Digest.TryParse(digest, out _))
                {
                    throw new JsonException($"artifacts: {a.Name} has a malformed digest '{digest}' (expected sha256: and 64 hex digits)");
                }
            }
        }

        return manifest;
    }

    public byte[] ToJsonBytes()
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(this, BundleJsonContext.Default.BundleManifest);
        return [.. bytes, (byte)'\n'];
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<ArtifactKind>))]
public enum ArtifactKind
{
    Image,
    Rpm,
    Manifest,
    Script,
    File,
}

/// <summary>
/// One thing the bundle carries. For a file-backed artifact (rpm, manifest, script, file) the
/// digest is the file's "sha256:…"; for an image it is the image manifest's digest and
/// <see cref="Blobs"/> lists the blobs it needs inside the archive at <see cref="Path"/>.
/// </summary>
public sealed record Artifact
{
    public required ArtifactKind Kind { get; init; }

    public required string Name { get; init; }

    public string? Version { get; init; }

    public required string Digest { get; init; }

    public required long Size { get; init; }

    /// <summary>Where it came from: a URL, an image reference, a repository.</summary>
    public string? Origin { get; init; }

    /// <summary>The bundle file that holds it.</summary>
    public required string Path { get; init; }

    public IReadOnlyList<string>? Blobs { get; init; }

    public bool IsFileBacked => Kind != ArtifactKind.Image;
}

public sealed record FileDigest(string Path, string Sha256, long Size);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(BundleManifest))]
internal sealed partial class BundleJsonContext : JsonSerializerContext;
