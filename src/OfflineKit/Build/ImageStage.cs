using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Build;

/// <summary>Which images a bundle carries, split by who needs them.</summary>
public sealed record ImagePlan(IReadOnlyList<ImageReference> ControlPlane, IReadOnlyList<ImageReference> Common)
{
    /// <summary>The parts of images/, each an archive plus a list of the names in it.</summary>
    public const string ControlPlanePart = "control-plane";
    public const string CommonPart = "common";

    /// <summary>
    /// Images only the control plane runs (kube-vip: a static pod of the control planes alone); every other
    /// image (kube-proxy, pause, CoreDNS, the addons) goes to every node.
    /// </summary>
    private static readonly string[] ControlPlaneOnly = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kube-vip"];

    /// <summary>kubeadm's set for the spec's version and repository, plus the addons' images and the spec's own (images:), each once.</summary>
    public static ImagePlan For(BundleSpec spec, IEnumerable<ImageReference> addonImages)
    {
        var all = KubeadmImages.List(spec.Kubernetes.ToString(), spec.ImageRepository).Select(ImageReference.Parse)
            .Concat(addonImages).Concat(spec.Images).Distinct().ToList();
        return new ImagePlan([.. all.Where(IsControlPlaneOnly)], [.. all.Where(i => !IsControlPlaneOnly(i))]);
    }

    /// <summary>Every image of the plan once, the control plane's first.</summary>
    public IEnumerable<ImageReference> All => ControlPlane.Concat(Common).Distinct();

    private static bool IsControlPlaneOnly(ImageReference image) =>
        ControlPlaneOnly.Contains(image.Repository[(image.Repository.LastIndexOf('/') + 1)..], StringComparer.Ordinal);
}

/// <summary>
/// Pulls a bundle's images into the cache and gives images/&lt;part&gt;.tar (made from the cache when packed)
/// and images/&lt;part&gt;.images. kubeadm's set and the spec's own images do not wait for the addons'
/// manifests: their manifests are resolved while the manifests stage runs, with the addons' images as the
/// last build listed them (<see cref="ManifestStage.LikelyImages"/>), the rest once it has listed them, and
/// then every missing blob is fetched in one go.
/// </summary>
internal static class ImageStage
{
    public static async Task<(List<BundleFile> Files, List<Artifact> Artifacts)> RunAsync(
        BuildOptions options,
        Task<IReadOnlyList<ImageReference>> addonImages,
        IReadOnlyList<ImageReference> likelyAddonImages,
        IProgress<ByteProgress>? progress,
        Trust.LockRecorder? lockRecorder,
        CancellationToken cancellationToken)
    {
        var spec = options.Spec;
        var cache = new BlobCache(Path.Combine(options.CacheDirectory ?? BlobCache.DefaultRoot(), "images"));
        var platform = new Platform("linux", spec.Target.ArchName, spec.Target.Arch == TargetArch.Arm64 ? "v8" : null);
        var t = Timing.Start();
        var (plan, pulled) = await FetchAsync(spec, addonImages, likelyAddonImages, platform, cache, options, progress, lockRecorder?.Locked is null ? null : lockRecorder, cancellationToken).ConfigureAwait(false);
        Timing.Mark("images: manifests resolved, blobs in the cache", t);
        var byName = pulled.ToDictionary(p => p.Name, StringComparer.Ordinal);

        var files = new List<BundleFile>();
        var artifacts = new List<Artifact>();
        foreach (var (part, refs) in new[] { (ImagePlan.ControlPlanePart, plan.ControlPlane), (ImagePlan.CommonPart, plan.Common) })
        {
            var images = refs.Select(r => byName[r.ToString()]).ToList();
            var archivePath = $"{BundleLayout.ImagesDir}/{part}.tar";
            // Never written to disk on its own: made from the cache straight into the bundle when it
            // is packed; its digest and size worked out first (or remembered from an earlier build).
            var (sha, size) = await DockerArchive.DescribeAsync(images, cache, new DigestMemo(Path.Combine(cache.Root, "archives")), cancellationToken).ConfigureAwait(false);
            files.Add(BundleFile.FromWriter(archivePath, size, sha, Writer(images, cache), Recipe(images)));
            files.Add(BundleFile.FromBytes($"{BundleLayout.ImagesDir}/{part}.images", DockerArchive.NameList(images)));
            foreach (var i in images)
            {
                lockRecorder?.Image(i.Name, i.ManifestDigest.ToString());
            }

            artifacts.AddRange(images.Select(i => new Artifact
            {
                Kind = ArtifactKind.Image,
                Name = i.Name,
                Version = ImageReference.Parse(i.Name).Tag,
                Digest = i.ManifestDigest.ToString(),
                Size = i.Size,
                Origin = i.Name,
                Path = archivePath,
                Blobs = i.Blobs.Select(b => b.ToString()).ToList(),
            }));
        }

        return (files, artifacts);
    }

    /// <summary>
    /// The writer of an images archive made from <see cref="Recipe"/>'s text, over the blob cache at
    /// <paramref name="cacheRoot"/>; null if the text is not a recipe (see <see cref="PackDraft"/>).
    /// </summary>
    public static Func<Stream, CancellationToken, Task>? ArchiveWriter(string recipe, string cacheRoot)
    {
        var images = new List<PulledImage>();
        try
        {
            foreach (var line in recipe.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = line.Split(' ');
                if (f.Length < 10 || (f.Length - 7) % 3 != 0)
                {
                    return null;
                }

                var descriptors = Enumerable.Range(0, (f.Length - 7) / 3).Select(i => new Descriptor(f[7 + (3 * i)], Digest.Parse(f[8 + (3 * i)]), long.Parse(f[9 + (3 * i)], System.Globalization.CultureInfo.InvariantCulture))).ToList();

                var platform = new Platform(f[4], f[5], f[6] == "-" ? null : f[6]);
                images.Add(new PulledImage(f[0], Digest.Parse(f[1]), f[2], long.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture), descriptors[0], descriptors[1..], platform));
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or OfflineKitException)
        {
            return null;
        }

        return images.Count == 0 ? null : Writer(images, new BlobCache(cacheRoot));
    }

    // An archive's content follows from its images' names, manifests and blobs: one line an image
    // (name, manifest digest, media type, size, platform, then config and layers as media type, digest,
    // size). Null where that text would not read back as the same images (a field with a space, a
    // variant "-", a descriptor with a platform): such an archive is not written ahead.
    private static string? Recipe(IReadOnlyList<PulledImage> images)
    {
        var lines = new StringBuilder();
        foreach (var i in images)
        {
            var descriptors = new[] { i.Config }.Concat(i.Layers).ToList();
            string[] fields = [
                i.Name, i.ManifestDigest.ToString(), i.ManifestMediaType, i.ManifestSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                i.Platform.Os, i.Platform.Architecture, i.Platform.Variant ?? "-",
                .. descriptors.SelectMany(d => new[] { d.MediaType, d.Digest.ToString(), d.Size.ToString(System.Globalization.CultureInfo.InvariantCulture) })];
            if (i.Platform.Variant == "-" || descriptors.Any(d => d.Platform is not null) || fields.Any(f => f.Length == 0 || f.Any(char.IsWhiteSpace)))
            {
                return null;
            }

            lines.AppendJoin(' ', fields).Append('\n');
        }

        return lines.ToString();
    }

    private static Func<Stream, CancellationToken, Task> Writer(IReadOnlyList<PulledImage> images, BlobCache cache) =>
        (output, ct) => DockerArchive.WriteAsync(images, cache, output, verifyBlobs: false, ct);

    /// <summary>The one place that knows where images come from: registries (through mirrors) or the local Docker daemon.</summary>
    private static async Task<(ImagePlan Plan, IReadOnlyList<PulledImage> Pulled)> FetchAsync(
        BundleSpec spec,
        Task<IReadOnlyList<ImageReference>> addonImages,
        IReadOnlyList<ImageReference> likelyAddonImages,
        Platform platform,
        BlobCache cache,
        BuildOptions options,
        IProgress<ByteProgress>? progress,
        Trust.LockRecorder? locked,
        CancellationToken cancellationToken)
    {
        if (options.ImageSource == ImageSource.Docker && locked is null)
        {
            var whole = ImagePlan.For(spec, await addonImages.ConfigureAwait(false));
            using var docker = new DockerDaemon();
            return (whole, await docker.SaveAsync(whole.All.Select(i => i.ToString()).ToList(), platform, cache, cancellationToken).ConfigureAwait(false));
        }

        var credentials = RegistryCredentials.Load(options.DockerConfig ?? RegistryCredentials.DefaultPath());
        using var client = new RegistryClient(new RegistryClientOptions(options.Mirrors, credentials));
        var puller = new ImagePuller(client, cache);

        // By the locked manifest digest, never the tag: a tag moved upstream does not move the bundle.
        List<ImagePullRequest> Requests(IEnumerable<ImageReference> images) => images
            .Select(r => new ImagePullRequest(r.Registry, r.Repository, locked?.ImageDigest(r.ToString()) ?? r.Digest ?? r.Tag ?? "latest", r.ToString()))
            .ToList();

        // Under --lock, what the registry cannot give at the pinned digest says so.
        async Task<T> Fetching<T>(Func<CancellationToken, Task<T>> fetch, CancellationToken token)
        {
            try
            {
                return await fetch(token).ConfigureAwait(false);
            }
            catch (OfflineKitException e) when (locked is not null)
            {
                throw new OperationFailedException($"an image cannot be fetched at its locked digest ({locked.LockSource}): {e.Message}", e);
            }
        }

        // While the manifests stage runs: kubeadm's set and the spec's own images, and the addons' images
        // as the last build listed them (a guess: one the manifests no longer name is dropped, one that
        // fails is asked for again if they do name it, and one they name anew is resolved after them).
        var certain = ImagePlan.For(spec, []).All.ToList();
        var first = Requests(certain.Concat(likelyAddonImages.Where(i => !certain.Contains(i)).Distinct()));
        using var early = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var resolving = Fetching(ct => puller.ResolveAsync(first, certain.Count, platform, options.Parallel, ct), early.Token);
        ImagePlan plan;
        List<ImagePullRequest> requests;
        List<PulledImage> resolved;
        try
        {
            plan = ImagePlan.For(spec, await addonImages.ConfigureAwait(false));
            var needed = plan.All.Select(i => i.ToString()).ToHashSet(StringComparer.Ordinal);
            var guessed = first.Zip(await resolving.ConfigureAwait(false)).Where(p => p.Second is not null && needed.Contains(p.First.Name)).ToList();
            var rest = Requests(plan.All.Where(i => guessed.All(g => g.First.Name != i.ToString())));
            requests = [.. guessed.Select(g => g.First), .. rest];
            resolved = [.. guessed.Select(g => g.Second!), .. await Fetching(ct => puller.ResolveAsync(rest, platform, options.Parallel, ct), cancellationToken).ConfigureAwait(false)];
        }
        catch
        {
            // The manifests stage failed (its error is the build's), or a lookup here did: what was
            // started here stops before the error goes up.
            await early.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(resolving).ConfigureAwait(false);
            throw;
        }

        await Fetching(async ct => { await puller.FetchBlobsAsync(requests, resolved, options.Parallel, progress, ct).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
        if (locked is not null && resolved.FirstOrDefault(p => p.ManifestDigest.ToString() != locked.ImageDigest(p.Name)) is { } moved)
        {
            throw new OperationFailedException($"image {moved.Name}: fetched {moved.ManifestDigest}, {locked.LockSource} pins {locked.ImageDigest(moved.Name)}");
        }

        return (plan, resolved);
    }
}
