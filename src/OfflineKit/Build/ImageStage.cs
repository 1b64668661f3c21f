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

    private static bool IsControlPlaneOnly(ImageReference image) =>
        ControlPlaneOnly.Contains(image.Repository[(image.Repository.LastIndexOf('/') + 1)..], StringComparer.Ordinal);
}

/// <summary>Pulls a plan's images into the cache and gives images/&lt;part&gt;.tar (made from the cache when packed) and images/&lt;part&gt;.images.</summary>
internal static class ImageStage
{
    public static async Task<(List<BundleFile> Files, List<Artifact> Artifacts)> RunAsync(
        ImagePlan plan, BuildOptions options, IProgress<ByteProgress>? progress, Trust.LockRecorder? lockRecorder, CancellationToken cancellationToken)
    {
        var cache = new BlobCache(Path.Combine(options.CacheDirectory ?? BlobCache.DefaultRoot(), "images"));
        var platform = new Platform("linux", options.Spec.Target.ArchName, options.Spec.Target.Arch == TargetArch.Arm64 ? "v8" : null);
        var all = plan.ControlPlane.Concat(plan.Common).Distinct().ToList();
        var t = Timing.Start();
        var pulled = await FetchAsync(all, platform, cache, options, progress, lockRecorder?.Locked is null ? null : lockRecorder, cancellationToken).ConfigureAwait(false);
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
            files.Add(BundleFile.FromWriter(archivePath, size, sha, (output, ct) => DockerArchive.WriteAsync(images, cache, output, verifyBlobs: false, ct)));
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

    /// <summary>The one place that knows where images come from: registries (through mirrors) or the local Docker daemon.</summary>
    private static async Task<IReadOnlyList<PulledImage>> FetchAsync(
        List<ImageReference> images, Platform platform, BlobCache cache, BuildOptions options, IProgress<ByteProgress>? progress, Trust.LockRecorder? locked, CancellationToken cancellationToken)
    {
        if (options.ImageSource == ImageSource.Docker && locked is null)
        {
            using var docker = new DockerDaemon();
            return await docker.SaveAsync(images.Select(i => i.ToString()).ToList(), platform, cache, cancellationToken).ConfigureAwait(false);
        }

        var credentials = RegistryCredentials.Load(options.DockerConfig ?? RegistryCredentials.DefaultPath());
        using var client = new RegistryClient(new RegistryClientOptions(options.Mirrors, credentials));
        var puller = new ImagePuller(client, cache);
        if (locked is null)
        {
            return await puller.PullAsync(
                images.Select(r => new ImagePullRequest(r.Registry, r.Repository, r.Digest ?? r.Tag ?? "latest", r.ToString())).ToList(),
                platform,
                options.Parallel,
                progress,
                cancellationToken).ConfigureAwait(false);
        }

        // By the locked manifest digest, never the tag: a tag moved upstream does not move the bundle.
        var requests = images.Select(r => new ImagePullRequest(r.Registry, r.Repository, locked.ImageDigest(r.ToString()), r.ToString())).ToList();
        IReadOnlyList<PulledImage> result;
        try
        {
            result = await puller.PullAsync(requests, platform, options.Parallel, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (OfflineKitException e)
        {
            throw new OperationFailedException($"an image cannot be fetched at its locked digest ({locked.LockSource}): {e.Message}", e);
        }

        var moved = result.FirstOrDefault(p => p.ManifestDigest.ToString() != locked.ImageDigest(p.Name));
        if (moved is not null)
        {
            throw new OperationFailedException($"image {moved.Name}: fetched {moved.ManifestDigest}, {locked.LockSource} pins {locked.ImageDigest(moved.Name)}");
        }

        return result;
    }
}
