using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using OfflineKit.Images;

namespace OfflineKit.Lab;

/// <summary>A blob of a synthetic image: its bytes and how a manifest names it.</summary>
public sealed record Blob(byte[] Content, string MediaType)
{
    public Digest Digest { get; } = Digest.Of(Content);
}

/// <summary>A small but real image: gzip layers with correct diff IDs, a config, a schema 2 manifest.</summary>
public sealed record SyntheticImage(string Repository, string Tag, Blob Config, IReadOnlyList<Blob> Layers, byte[] Manifest, string Architecture)
{
    public Digest ManifestDigest => Digest.Of(Manifest);
}

/// <summary>Makes synthetic images under the real names; sizes are small unless asked.</summary>
public static class SyntheticImages
{
    /// <summary>A layer shared by several images, as real base layers are.</summary>
    public static Blob SharedBase { get; } = Layer("base", 64 * 1024, seed: 1);

    public static SyntheticImage Make(string repository, string tag, string architecture = "amd64", int layerBytes = 32 * 1024, bool sharedBase = true) =>
        Make(repository, tag, architecture, layerBytes, sharedBase ? SharedBase : null);

    public static SyntheticImage Make(string repository, string tag, string architecture, int layerBytes, Blob? baseLayer, bool compressible = false)
    {
        var layers = new List<Blob>();
        if (baseLayer is not null)
        {
            layers.Add(baseLayer);
        }

        layers.Add(Layer($"{repository}:{tag}:{architecture}", layerBytes, seed: HashCode.Combine(repository, tag, architecture), compressible));
        var diffIds = layers.Select(l => DiffId(l.Content)).ToList();
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/true"), ["Labels"] = new JsonObject { ["offlinekit.lab"] = $"{repository}:{tag}" } },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(diffIds.Select(d => (JsonNode)JsonValue.Create(d.ToString())).ToArray()) },
            ["history"] = new JsonArray(layers.Select(_ => (JsonNode)new JsonObject { ["created_by"] = "offlinekit lab" }).ToArray()),
        };
        var configBlob = new Blob(Encoding.UTF8.GetBytes(config.ToJsonString()), MediaTypes.DockerConfig);
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.DockerManifest,
            ["config"] = Descriptor(configBlob),
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)Descriptor(l)).ToArray()),
        };
        return new SyntheticImage(repository, tag, configBlob, layers, Encoding.UTF8.GetBytes(manifest.ToJsonString()), architecture);
    }

    /// <summary>A manifest list naming one image per architecture.</summary>
    public static byte[] Index(IEnumerable<SyntheticImage> images) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = MediaTypes.DockerManifestList,
        ["manifests"] = new JsonArray(images.Select(i => (JsonNode)new JsonObject
        {
            ["mediaType"] = MediaTypes.DockerManifest,
            ["digest"] = i.ManifestDigest.ToString(),
            ["size"] = i.Manifest.Length,
            ["platform"] = i.Architecture == "arm64"
                ? new JsonObject { ["architecture"] = "arm64", ["os"] = "linux", ["variant"] = "v8" }
                : new JsonObject { ["architecture"] = i.Architecture, ["os"] = "linux" },
        }).ToArray()),
    }.ToJsonString());

    private static JsonObject Descriptor(Blob b) => new()
    {
        ["mediaType"] = b.MediaType,
        ["size"] = b.Content.Length,
        ["digest"] = b.Digest.ToString(),
    };

    /// <summary>A gzip'd tar with one file of pseudo-random bytes (incompressible, like real layers).</summary>
    /// <param name="compressible">
    /// Make the content compress about 3:1 under gzip, as real layers (binaries, text) do; otherwise
    /// it is random bytes, which gzip cannot shrink (fast to make, fine for tests).
    /// </param>
    public static Blob Layer(string name, int bytes, int seed, bool compressible = false)
    {
        var content = new byte[bytes];
        var random = new Random(seed);
        random.NextBytes(content);
        if (compressible)
        {
            // Seven of every ten 4 KiB blocks are lines drawn from a few dozen, like text and
            // binaries' repeated strings, the rest random: gzip packs the whole to about a third, as
            // real layers (the real 1.23 set: 459 MB compressed, 1.35 GB unpacked).
            var lines = Enumerable.Range(0, 48).Select(_ => Enumerable.Range(0, 64).Select(_ => (byte)random.Next(32, 127)).ToArray()).ToArray();
            for (var block = 0; block * 4096 < bytes; block++)
            {
                if (block % 10 < 3)
                {
                    continue;
                }

                var end = Math.Min(bytes, (block + 1) * 4096);
                for (var i = block * 4096; i < end; i += 64)
                {
                    lines[random.Next(lines.Length)].AsSpan(0, Math.Min(64, end - i)).CopyTo(content.AsSpan(i));
                }
            }
        }

        using var tarBytes = new MemoryStream();
        using (var tar = new TarWriter(tarBytes, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "lab/" + name.Replace('/', '_').Replace(':', '_'))
            {
                DataStream = new MemoryStream(content),
                ModificationTime = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
            };
            tar.WriteEntry(entry);
        }

        using var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            tarBytes.Position = 0;
            tarBytes.CopyTo(z);
        }

        return new Blob(gz.ToArray(), MediaTypes.DockerLayerGzip);
    }

    private static Digest DiffId(byte[] gzipped)
    {
        using var z = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        z.CopyTo(plain);
        return Digest.Of(plain.ToArray());
    }
}
