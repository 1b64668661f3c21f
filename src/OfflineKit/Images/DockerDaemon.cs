using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace OfflineKit.Images;

/// <summary>
/// The local Docker daemon through Docker.DotNet (DOCKER_HOST respected): a source of images for a
/// build machine that already pulled them, and a target for a bundle's images.
/// </summary>
public sealed class DockerDaemon : IDisposable
{
    private readonly DockerClient _client;

    public DockerDaemon(string? host = null)
    {
        Endpoint = new Uri(host ?? Environment.GetEnvironmentVariable("DOCKER_HOST") ?? "unix:///var/run/docker.sock");
        _client = new DockerClientConfiguration(Endpoint).CreateClient();
    }

    public Uri Endpoint { get; }

    public void Dispose() => _client.Dispose();

    public async Task<bool> HasImageAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.Images.InspectImageAsync(name, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw Unreachable(e);
        }
    }

    /// <summary>Loads a docker-archive stream into the daemon; each line the daemon says goes to <paramref name="messages"/>.</summary>
    public async Task LoadAsync(Stream archive, IProgress<string>? messages = null, CancellationToken cancellationToken = default)
    {
        string? error = null;
        var progress = new Relay(m =>
        {
            if (m.Error is not null || !string.IsNullOrEmpty(m.ErrorMessage))
            {
                error = m.ErrorMessage ?? m.Error?.Message;
            }
            else if (!string.IsNullOrWhiteSpace(m.Stream))
            {
                messages?.Report(m.Stream.Trim());
            }
        });
        try
        {
            await _client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = false }, archive, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw new OperationFailedException($"docker at {Endpoint} refused the images: {e.ResponseBody?.Trim() ?? e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw Unreachable(e);
        }

        if (error is not null)
        {
            throw new OperationFailedException($"docker at {Endpoint} failed to load the images: {error}");
        }
    }

    /// <summary>
    /// Takes images from the daemon into the cache, as `docker save` gives them: configs as they are,
    /// layers uncompressed (the daemon keeps no compressed copy), and a schema 2 manifest made for them.
    /// Their manifest digests therefore differ from the registry's; the image IDs do not.
    /// </summary>
    public async Task<IReadOnlyList<PulledImage>> SaveAsync(IReadOnlyList<string> names, Platform platform, BlobCache cache, CancellationToken cancellationToken = default)
    {
        foreach (var name in names)
        {
            if (!await HasImageAsync(name, cancellationToken).ConfigureAwait(false))
            {
                throw new OperationFailedException($"{name} is not in the local Docker daemon at {Endpoint}; `docker pull {name}` it first, or build with --image-source registry");
            }
        }

        var result = new List<PulledImage>();
        foreach (var name in names)
        {
            await using var saved = new ZeroReadSafeStream(await _client.Images.SaveImageAsync(name, cancellationToken).ConfigureAwait(false));
            result.Add(await IngestAsync(name, saved, platform, cache, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>Reads one saved image (Docker 20.10's layout or Docker 25's, both have manifest.json) into the cache.</summary>
    private static async Task<PulledImage> IngestAsync(string name, Stream saved, Platform platform, BlobCache cache, CancellationToken cancellationToken)
    {
        var byPath = new Dictionary<string, Digest>(StringComparer.Ordinal);
        var sizes = new Dictionary<Digest, long>();
        byte[]? manifestJson = null;
        await using var reader = new TarReader(saved);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
            {
                continue;
            }

            if (entry.Name == "manifest.json")
            {
                using var buffer = new MemoryStream();
                await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                manifestJson = buffer.ToArray();
                continue;
            }

            // Every other file may be a config or a layer: store it under its digest (small files cost nothing).
            var partial = cache.PartialPathOf(Digest.Of([])) + "." + Guid.NewGuid().ToString("N");
            string hex;
            await using (var file = File.Create(partial))
            {
                await using var hashing = new IO.HashingStream(file, leaveOpen: true);
                await entry.DataStream.CopyToAsync(hashing, cancellationToken).ConfigureAwait(false);
                hex = hashing.HexDigest;
            }

            var digest = Digest.FromHex(hex);
            File.Move(partial, cache.PathOf(digest), overwrite: true);
            byPath[entry.Name] = digest;
            sizes[digest] = new FileInfo(cache.PathOf(digest)).Length;
        }

        using var json = JsonDocument.Parse(manifestJson ?? throw new OperationFailedException($"docker save of {name} gave no manifest.json"));
        var image = json.RootElement[0];
        var config = byPath[image.GetProperty("Config").GetString()!];
        var layers = image.GetProperty("Layers").EnumerateArray().Select(l => byPath[l.GetString()!]).ToList();
        using (var configJson = JsonDocument.Parse(await File.ReadAllBytesAsync(cache.PathOf(config), cancellationToken).ConfigureAwait(false)))
        {
            var arch = configJson.RootElement.TryGetProperty("architecture", out var a) ? a.GetString() : null;
            if (arch != platform.Architecture)
            {
                throw new OperationFailedException($"{name} in the local Docker daemon is for {arch ?? "an unknown architecture"}, not {platform.Architecture}");
            }
        }

        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.DockerManifest,
            ["config"] = Describe(MediaTypes.DockerConfig, config, sizes[config]),
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)Describe(MediaTypes.DockerLayerTar, l, sizes[l])).ToArray()),
        }.ToJsonString());
        var manifestDigest = Digest.Of(manifest);
        cache.Put(manifestDigest, manifest);
        return new PulledImage(
            name,
            manifestDigest,
            MediaTypes.DockerManifest,
            manifest.LongLength,
            new Descriptor(MediaTypes.DockerConfig, config, sizes[config]),
            layers.Select(l => new Descriptor(MediaTypes.DockerLayerTar, l, sizes[l])).ToList(),
            platform);
    }

    private static JsonObject Describe(string mediaType, Digest digest, long size) => new()
    {
        ["mediaType"] = mediaType,
        ["size"] = size,
        ["digest"] = digest.ToString(),
    };

    private OperationFailedException Unreachable(Exception e) =>
        new($"cannot reach the Docker daemon at {Endpoint} ({e.Message}); is it running, and is DOCKER_HOST right?", e);

    /// <summary>
    /// Docker.DotNet's chunked response stream throws EndOfStreamException on a read of zero bytes,
    /// which the tar reader makes at the end of an entry; a Stream answers such a read with 0.
    /// </summary>
    private sealed class ZeroReadSafeStream(Stream inner) : IO.ReadOnlyStream
    {
        private bool _ended;

        public override int Read(Span<byte> buffer) => buffer.Length == 0 || _ended ? 0 : Count(inner.Read(buffer));

        private int Count(int n)
        {
            _ended = n == 0;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_ended || buffer.Length == 0)
            {
                return 0;
            }

            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _ended = n == 0;
            return n;
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class Relay(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }
}
