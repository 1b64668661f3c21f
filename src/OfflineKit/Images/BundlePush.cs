using System.Collections.Concurrent;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IO;

namespace OfflineKit.Images;

/// <summary>
/// Where <c>images push</c> puts a bundle's images: <c>HOST[:PORT][/PATH]</c>. Each image keeps its
/// origin repository path under PATH (on Harbor, PATH's first segment is the project):
/// <c>registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0</c> becomes
/// <c>HOST:PORT/PATH/google_containers/kube-apiserver:v1.23.0</c>.
/// </summary>
public sealed record PushTarget(string Registry, string Path)
{
    public static PushTarget Parse(string text)
    {
        if (text.Contains("://", StringComparison.Ordinal))
        {
            throw new BadInputException($"--registry {text}: give HOST:PORT[/PATH] without a scheme (https is the default; plain HTTP only with --insecure-registry HOST)");
        }

        var trimmed = text.TrimEnd('/');
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var registry = slash < 0 ? trimmed : trimmed[..slash];
        var path = slash < 0 ? string.Empty : trimmed[(slash + 1)..];
        var hostError = ImageReference.CheckRegistry(registry);
        if (hostError is not null)
        {
            throw new BadInputException($"--registry {text}: {hostError}");
        }

        // Without a dot, a port or "localhost" the first segment would read as a Docker Hub path, not a host.
        if (!registry.Contains('.', StringComparison.Ordinal) && !registry.Contains(':', StringComparison.Ordinal) && registry != "localhost")
        {
            throw new BadInputException($"--registry {text}: '{registry}' does not name a registry host; give HOST:PORT (e.g. harbor.site:443/k8s)");
        }

        if (path.Length > 0 && (!ImageReference.TryParse($"{registry}/{path}", out var probe) || probe.Registry != registry || probe.Repository != path || probe.Tag != "latest"))
        {
            throw new BadInputException($"--registry {text}: '{path}' is not a repository path (lower-case letters and digits, separated by '/', '.', '_' or '-')");
        }

        return new PushTarget(registry, path);
    }

    /// <summary>The repository an origin image goes to: PATH, then the origin's path without its registry host.</summary>
    public string RepositoryFor(ImageReference origin) => Path.Length == 0 ? origin.Repository : $"{Path}/{origin.Repository}";

    /// <summary>The full name an origin image gets here, e.g. harbor.site:443/k8s/calico/node:v3.25.2.</summary>
    public ImageReference Map(ImageReference origin)
    {
        var name = $"{Registry}/{RepositoryFor(origin)}" + (origin.Tag is null ? string.Empty : ":" + origin.Tag) + (origin.Digest is null ? string.Empty : "@" + origin.Digest);
        return ImageReference.TryParse(name, out var mapped)
            ? mapped
            : throw new BadInputException($"--registry {this}: {origin} would become '{name}', which is not a valid image name (too long?)");
    }

    public override string ToString() => Path.Length == 0 ? Registry : $"{Registry}/{Path}";
}

public sealed record ImagePushOptions(string Bundle, PushTarget Target, RegistryClientOptions Client)
{
    /// <summary>How many blobs and manifests are sent at once.</summary>
    public int Parallel { get; init; } = 4;
}

/// <summary>One image pushed: its origin name, where it went, the digest its tag now points to, and whether the tag was already there.</summary>
public sealed record PushedImage(string Origin, string Target, string Digest, bool AlreadyThere);

public sealed record PushReport(string Registry, IReadOnlyList<PushedImage> Images, int BlobsSent, int BlobsSkipped, int BlobsMounted, long BytesSent);

/// <summary>
/// Copies every image of a bundle into a registry: blobs streamed from the bundle's archives (each
/// verified as it goes), each blob sent once (the registry's own copy is kept: HEAD, then a
/// cross-repository mount), then every manifest byte for byte, so each tag's digest is the one
/// bundle.json records. A run after an interruption sends only what is missing.
/// </summary>
public static class BundlePusher
{
    public static async Task<PushReport> PushAsync(ImagePushOptions options, IProgress<ByteProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var bundle = await LocalBundle.OpenAsync(options.Bundle, cancellationToken).ConfigureAwait(false);
        var artifacts = bundle.Contents.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
        if (artifacts.Count == 0)
        {
            throw new OperationFailedException($"{options.Bundle}: the bundle carries no images");
        }

        var blobs = await ImageArchiveBlobs.OpenAsync(bundle, artifacts.Select(a => a.Path).Distinct().ToList(), cancellationToken).ConfigureAwait(false);
        var images = new List<PlannedImage>();
        foreach (var artifact in artifacts)
        {
            images.Add(await PlanAsync(artifact, options, blobs, cancellationToken).ConfigureAwait(false));
        }

        using var client = new RegistryClient(options.Client);
        var registry = options.Target.Registry;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken };

        // Each blob is sent to the first repository that needs it; the others mount it from there.
        var owners = new Dictionary<Digest, string>();
        var needs = new List<(string Repository, Digest Blob, PlannedImage Image)>();
        foreach (var image in images)
        {
            foreach (var blob in image.Blobs.Distinct())
            {
                owners.TryAdd(blob, image.Repository);
                needs.Add((image.Repository, blob, image));
            }
        }

        needs = needs.DistinctBy(n => (n.Repository, n.Blob)).ToList();
        var total = owners.Keys.Sum(blobs.SizeOf);
        long sent = 0, bytes = 0;
        int sentCount = 0, skipped = 0, mounted = 0;
        progress?.Report(new ByteProgress(0, total, null));

        async Task EnsureAsync((string Repository, Digest Blob, PlannedImage Image) need, string? mountFrom, CancellationToken ct)
        {
            // Progress counts each blob once, at its owner; a mount moves no bytes.
            var counted = mountFrom is null;
            if (await Named(need.Image, () => client.HasBlobAsync(registry, need.Repository, need.Blob, ct)).ConfigureAwait(false))
            {
                Interlocked.Increment(ref skipped);
                if (counted)
                {
                    progress?.Report(new ByteProgress(Interlocked.Add(ref sent, blobs.SizeOf(need.Blob)), total, need.Image.Origin));
                }

                return;
            }

            var size = blobs.SizeOf(need.Blob);
            long thisTry = 0;
            var outcome = await Named(need.Image, () => client.PushBlobAsync(registry, need.Repository, need.Blob, size, alive =>
            {
                // A retry reads from the start again: what the last try reported is taken back.
                Interlocked.Add(ref sent, -Interlocked.Exchange(ref thisTry, 0));
                return blobs.Open(need.Blob, n =>
                {
                    alive();
                    if (counted)
                    {
                        Interlocked.Add(ref thisTry, n);
                        progress?.Report(new ByteProgress(Interlocked.Add(ref sent, n), total, need.Image.Origin));
                    }
                });
            }, mountFrom, ct)).ConfigureAwait(false);
            if (outcome == BlobOutcome.Mounted)
            {
                Interlocked.Increment(ref mounted);
                return;
            }

            Interlocked.Increment(ref sentCount);
            Interlocked.Add(ref bytes, size);
        }

        // First every blob once into its owner (biggest first, so the tail is short), then the mounts.
        var first = needs.Where(n => owners[n.Blob] == n.Repository).OrderByDescending(n => blobs.SizeOf(n.Blob)).ToList();
        await Parallel.ForEachAsync(first, parallel, (n, ct) => new ValueTask(EnsureAsync(n, null, ct))).ConfigureAwait(false);
        var rest = needs.Where(n => owners[n.Blob] != n.Repository).ToList();
        await Parallel.ForEachAsync(rest, parallel, (n, ct) => new ValueTask(EnsureAsync(n, owners[n.Blob], ct))).ConfigureAwait(false);

        var pushed = new ConcurrentDictionary<PlannedImage, bool>();
        await Parallel.ForEachAsync(images, parallel, async (image, ct) =>
        {
            var there = image.Tag is not null
                && await Named(image, () => client.TagDigestAsync(registry, image.Repository, image.Tag, ct)).ConfigureAwait(false) == image.Digest;
            if (!there)
            {
                // An index's platform manifests go first, by digest: the registry refuses an index naming manifests it lacks.
                foreach (var child in image.Children)
                {
                    await Named(image, () => client.PushManifestAsync(registry, image.Repository, child.Digest.ToString(), child.Content, child.MediaType, ct)).ConfigureAwait(false);
                }

                await Named(image, () => client.PushManifestAsync(registry, image.Repository, image.Tag ?? image.Digest.ToString(), image.Content, image.MediaType, ct)).ConfigureAwait(false);
            }

            pushed[image] = there;
        }).ConfigureAwait(false);

        progress?.Report(new ByteProgress(total, total, null));
        return new PushReport(
            options.Target.ToString(),
            images.Select(i => new PushedImage(i.Origin, i.Target, i.Digest.ToString(), pushed[i])).ToList(),
            sentCount,
            skipped,
            mounted,
            bytes);
    }

    /// <summary>Reads an image's manifest from the bundle (checked against bundle.json's digest) and lists what it needs.</summary>
    private static async Task<PlannedImage> PlanAsync(Artifact artifact, ImagePushOptions options, ImageArchiveBlobs blobs, CancellationToken cancellationToken)
    {
        if (!ImageReference.TryParse(artifact.Name, out var origin) || !Digest.TryParse(artifact.Digest, out var digest))
        {
            throw new OperationFailedException($"{options.Bundle}: bundle.json names an image '{artifact.Name}' with digest '{artifact.Digest}', which is not valid");
        }

        var target = options.Target.Map(origin);
        var top = await ReadManifestAsync(artifact.Name, digest, blobs, cancellationToken).ConfigureAwait(false);
        var children = new List<ManifestBytes>();
        var needed = new List<Digest>();
        var images = new List<ManifestBytes>();
        if (MediaTypes.IsIndex(top.MediaType))
        {
            // The bundle holds a whole index: every platform manifest it names must be in the bundle too.
            foreach (var entry in Parse(artifact.Name, () => ImageIndex.Parse(top.Content)).Manifests)
            {
                var child = await ReadManifestAsync(artifact.Name, entry.Digest, blobs, cancellationToken).ConfigureAwait(false);
                children.Add(child);
                images.Add(child);
            }
        }
        else
        {
            images.Add(top);
        }

        foreach (var image in images)
        {
            var parsed = Parse(artifact.Name, () => ImageManifest.Parse(image.Content, image.MediaType));
            foreach (var blob in new[] { parsed.Config }.Concat(parsed.Layers))
            {
                if (!blobs.Contains(blob.Digest))
                {
                    throw new OperationFailedException($"{artifact.Name}: blob {blob.Digest} is not in the bundle's image archives; `offlinekit verify {options.Bundle}` tells what else is wrong");
                }

                needed.Add(blob.Digest);
            }
        }

        return new PlannedImage(artifact.Name, target.ToString(), target.Registry, options.Target.RepositoryFor(origin), origin.Tag, digest, top.Content, top.MediaType, children, needed);
    }

    private static async Task<ManifestBytes> ReadManifestAsync(string image, Digest digest, ImageArchiveBlobs blobs, CancellationToken cancellationToken)
    {
        if (!blobs.Contains(digest))
        {
            throw new OperationFailedException($"{image}: its manifest {digest} is not in the bundle's image archives");
        }

        try
        {
            var content = await blobs.ReadAsync(digest, cancellationToken).ConfigureAwait(false);
            return new ManifestBytes(digest, content, MediaTypes.Detect(null, content));
        }
        catch (DigestMismatchException e)
        {
            throw new OperationFailedException($"{image}: the bundle's manifest is corrupt ({e.Message}); nothing was pushed from it", e);
        }
    }

    /// <summary>Runs one registry call for an image; a corrupt blob in the bundle becomes an error naming the image.</summary>
    private static async Task<T> Named<T>(PlannedImage image, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (DigestMismatchException e)
        {
            throw new OperationFailedException($"{image.Origin}: a blob in the bundle is corrupt ({e.Message}); it was not pushed whole, run `offlinekit verify`", e);
        }
        catch (OperationFailedException e)
        {
            throw new OperationFailedException($"{image.Origin} -> {image.Target}: {e.Message}", e);
        }
    }

    private static async Task Named(PlannedImage image, Func<Task> call) =>
        await Named(image, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private static T Parse<T>(string image, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new OperationFailedException($"{image}: {e.Message}", e);
        }
    }

    private sealed record ManifestBytes(Digest Digest, byte[] Content, string MediaType);

    private sealed record PlannedImage(
        string Origin, string Target, string Registry, string Repository, string? Tag, Digest Digest, byte[] Content, string MediaType, IReadOnlyList<ManifestBytes> Children, IReadOnlyList<Digest> Blobs);
}
