using System.Text;
using OfflineKit.Images;

namespace OfflineKit.Tests.Support;

/// <summary>Small images whose blobs are in a real <see cref="BlobCache"/>, for what makes archives from the cache.</summary>
public static class CachedImages
{
    /// <summary>Two images sharing a base layer, their blobs (random bytes) put in a fresh cache under <c>dir/cache</c>.</summary>
    public static (BlobCache Cache, List<PulledImage> Images) Make(TempDir dir, int layerBytes)
    {
        var cache = new BlobCache(dir["cache"]);
        var random = new Random(layerBytes);
        Descriptor Blob(int size, string mediaType)
        {
            var content = new byte[size];
            random.NextBytes(content);
            var digest = Digest.Of(content);
            cache.Put(digest, content);
            return new Descriptor(mediaType, digest, size);
        }

        var platform = new Platform("linux", "amd64");
        var shared = Blob(layerBytes, MediaTypes.DockerLayerGzip);
        var images = new List<PulledImage>();
        foreach (var name in new[] { "registry.example/a:1", "registry.example/b:2" })
        {
            var config = Blob(500, MediaTypes.DockerConfig);
            var own = Blob(layerBytes / 2, MediaTypes.DockerLayerGzip);
            var manifest = Encoding.UTF8.GetBytes($"{{\"name\":\"{name}\",\"config\":\"{config.Digest}\"}}");
            var manifestDigest = Digest.Of(manifest);
            cache.Put(manifestDigest, manifest);
            images.Add(new PulledImage(name, manifestDigest, MediaTypes.DockerManifest, manifest.Length, config, [shared, own], platform));
        }

        return (cache, images);
    }
}
