using System.Text.Json;

namespace OfflineKit.Images;

public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    public static bool IsIndex(string mediaType) => mediaType is DockerManifestList or OciIndex;

    /// <summary>The header's type when it is a manifest type, else the document's own mediaType field (OCI may omit it).</summary>
    public static string Detect(string? header, byte[] content)
    {
        if (header is DockerManifest or DockerManifestList or OciManifest or OciIndex)
        {
            return header;
        }

        try
        {
            using var json = JsonDocument.Parse(content);
            if (json.RootElement.TryGetProperty("mediaType", out var m) && m.GetString() is { } type)
            {
                return type;
            }

            if (json.RootElement.TryGetProperty("schemaVersion", out var v) && v.GetInt32() == 1)
            {
                return "application/vnd.docker.distribution.manifest.v1+json";
            }

            return json.RootElement.TryGetProperty("manifests", out _) ? OciIndex : OciManifest;
        }
        catch (JsonException)
        {
            return header ?? "application/octet-stream";
        }
    }
}
