using OfflineKit.IO;

namespace OfflineKit.Images;

/// <summary>One image to pull: where it lives, and the fully qualified name it keeps in the bundle.</summary>
public sealed record ImagePullRequest(string Registry, string Repository, string Reference, string Name);

/// <summary>An image whose manifest, config and layers are all in the cache, verified.</summary>
public sealed record PulledImage(string Name, Digest ManifestDigest, string ManifestMediaType, long ManifestSize, Descriptor Config, IReadOnlyList<Descriptor> Layers, Platform Platform)
{
    public long Size => ManifestSize + Config.Size + Layers.Sum(l => l.Size);

    public IEnumerable<Digest> Blobs => [ManifestDigest, Config.Digest, .. Layers.Select(l => l.Digest)];
}

/// <summary>Pulls images for one platform into the blob cache: manifests first, then every missing blob once, in parallel.</summary>
public sealed class ImagePuller(RegistryClient client, BlobCache cache)
{
    public async Task<IReadOnlyList<PulledImage>> PullAsync(
        IReadOnlyList<ImagePullRequest> requests,
        Platform platform,
        int parallel,
        IProgress<ByteProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var images = await ResolveAsync(requests, platform, parallel, cancellationToken).ConfigureAwait(false);
        await FetchBlobsAsync(requests, images, parallel, progress, cancellationToken).ConfigureAwait(false);
        return images;
    }

    /// <summary>The first half of a pull: each request's manifest for the platform, put in the cache; no blob yet.</summary>
    public async Task<IReadOnlyList<PulledImage>> ResolveAsync(
        IReadOnlyList<ImagePullRequest> requests, Platform platform, int parallel, CancellationToken cancellationToken = default) =>
        [.. (await ResolveAsync(requests, requests.Count, platform, parallel, cancellationToken).ConfigureAwait(false)).Select(i => i!)];

    /// <summary>
    /// <see cref="ResolveAsync(IReadOnlyList{ImagePullRequest}, Platform, int, CancellationToken)"/> where
    /// the requests from index <paramref name="optionalFrom"/> on are guesses: one that cannot be resolved
    /// gives null instead of failing the others (whoever needs it after all asks again, and gets the error).
    /// </summary>
    public async Task<IReadOnlyList<PulledImage?>> ResolveAsync(
        IReadOnlyList<ImagePullRequest> requests, int optionalFrom, Platform platform, int parallel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var images = new PulledImage?[requests.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, requests.Count), options, async (i, ct) =>
        {
            try
            {
                images[i] = await ResolveOneAsync(requests[i], platform, ct).ConfigureAwait(false);
            }
            catch (Exception) when (i >= optionalFrom && !ct.IsCancellationRequested)
            {
                images[i] = null;
            }
        }).ConfigureAwait(false);
        return images;
    }

    /// <summary>
    /// The second half: every blob of <paramref name="images"/> (resolved from <paramref name="requests"/>,
    /// index for index) the cache lacks, each once however many images share it, the biggest first so the tail is short.
    /// </summary>
    public async Task FetchBlobsAsync(
        IReadOnlyList<ImagePullRequest> requests,
        IReadOnlyList<PulledImage> images,
        int parallel,
        IProgress<ByteProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (requests.Count != images.Count)
        {
            throw new ArgumentException($"{images.Count} images for {requests.Count} requests", nameof(images));
        }

        var owners = new Dictionary<Digest, (ImagePullRequest Request, long Size)>();
        for (var i = 0; i < requests.Count; i++)
        {
            foreach (var d in new[] { images[i].Config }.Concat(images[i].Layers))
            {
                owners.TryAdd(d.Digest, (requests[i], d.Size));
            }
        }

        var missing = owners.Where(kv => !cache.Contains(kv.Key)).OrderByDescending(kv => kv.Value.Size).ToList();
        var total = missing.Sum(kv => kv.Value.Size);
        long done = 0;
        progress?.Report(new ByteProgress(0, total, null));
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(missing, options, async (blob, ct) =>
        {
            await client.FetchBlobAsync(blob.Value.Request.Registry, blob.Value.Request.Repository, blob.Key, cache,
                n => progress?.Report(new ByteProgress(Interlocked.Add(ref done, n), total, blob.Value.Request.Name)), ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        progress?.Report(new ByteProgress(total, total, null));
    }

    private async Task<PulledImage> ResolveOneAsync(ImagePullRequest request, Platform platform, CancellationToken cancellationToken)
    {
        var top = await client.GetManifestAsync(request.Registry, request.Repository, request.Reference, cancellationToken).ConfigureAwait(false);
        var chosen = top;
        if (MediaTypes.IsIndex(top.MediaType))
        {
            var index = Parse(request, () => ImageIndex.Parse(top.Content));
            var entry = index.Select(platform) ?? throw new OperationFailedException(
                $"{request.Name}: no image for {platform}; the registry offers {string.Join(", ", index.Offered)}");
            chosen = await client.GetManifestAsync(request.Registry, request.Repository, entry.Digest.ToString(), cancellationToken).ConfigureAwait(false);
        }

        var manifest = Parse(request, () => ImageManifest.Parse(chosen.Content, chosen.MediaType));
        cache.Put(chosen.Digest, chosen.Content);
        return new PulledImage(request.Name, chosen.Digest, chosen.MediaType, chosen.Content.LongLength, manifest.Config, manifest.Layers, platform);
    }

    private static T Parse<T>(ImagePullRequest request, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new OperationFailedException($"{request.Name}: {e.Message}", e);
        }
    }
}
