using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using OfflineKit.Trust;

namespace OfflineKit.Build;

/// <summary>Progress of one stage of a build ("images", "pack"): bytes done of total.</summary>
public readonly record struct StageProgress(string Stage, ByteProgress Bytes);

/// <summary>The build pipeline: spec → images + manifests + RPMs + bin + scripts → the bundle writer.</summary>
public static class BundleBuilder
{
    public static async Task<WrittenBundle> BuildAsync(BuildOptions options, IProgress<StageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var spec = options.Spec;
        var binary = options.Without.Contains(BuildStage.Bin) ? null : SelfContainedBinary.Find(spec.Target, options.DistDirectory);
        Directory.CreateDirectory(options.OutputDirectory);
        var name = BundleLayout.BundleName(spec.Kubernetes, spec.Target, spec.Runtime);
        var lockRecorder = new LockRecorder(options.Lock, options.LockSource);
        if (options.Lock is { } given && (given.Name, given.KubernetesVersion) != (name, spec.Kubernetes.ToString()))
        {
            throw new BadInputException($"{options.LockSource}: locks {given.Name} (kubernetes {given.KubernetesVersion}), but this build makes {name}; give the same --k8s/--os/--arch/--runtime as the build that wrote it");
        }

        var work = Directory.CreateDirectory(Path.Combine(options.OutputDirectory, $".offlinekit-build-{Environment.ProcessId}")).FullName;
        var cacheRoot = options.CacheDirectory ?? BlobCache.DefaultRoot();
        var memo = new DigestMemo(Path.Combine(cacheRoot, "bundles"));

        // The last build of this bundle, written ahead while the stages below run; the bundle if they plan the same.
        await using var draft = options.Format == BundleFormat.Tar && options.SignKey is null
            ? PackDraft.Start(memo.Directory, name, options.OutputDirectory, recipe => ImageStage.ArchiveWriter(recipe, Path.Combine(cacheRoot, "images")))
            : null;
        Timing.Mark(draft is null ? "build: no draft" : "build: draft started");
        try
        {
            var files = new List<BundleFile>
            {
                Script(BundleLayout.VerifyScript, "verify.sh"),
                Script(BundleLayout.PrepareHostScript, "prepare-host.sh"),
                Script(BundleLayout.ConfigureRuntimeScript, "configure-runtime.sh"),
                Script(BundleLayout.PreflightScript, "preflight.sh"),
                Script(BundleLayout.InitControlPlaneScript, "init-control-plane.sh"),
                Script(BundleLayout.JoinNodeScript, "join-node.sh"),
                Script(BundleLayout.ApplyManifestsScript, "apply-manifests.sh"),
                Script(BundleLayout.ConfigureTimeScript, "configure-time.sh"),
                Script(BundleLayout.ServeDepotScript, "serve-depot.sh"),
                Script(BundleLayout.ConfigureLoadBalancerScript, "configure-load-balancer.sh"),
            };
            var artifacts = new List<Artifact>();

            // The manifests stage and the images stage run side by side: kubeadm's images need no manifest.
            var t = Timing.Start();
            using var stages = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var manifests = options.Without.Contains(BuildStage.Manifests)
                ? Task.FromResult((Files: new List<BundleFile>(), Images: new List<ImageReference>()))
                // On a thread of its own: a manifest read from a file (a file:// mirror) completes without
                // yielding, which would run the whole stage before the images stage started.
                : Task.Run(() => ManifestStage.RunAsync(options, lockRecorder, stages.Token), stages.Token);
            try
            {
                if (!options.Without.Contains(BuildStage.Images))
                {
                    // Without the manifests stage the addons' images are unknown: only kubeadm's set is carried.
                    IReadOnlyList<ImageReference> likely = options.Without.Contains(BuildStage.Manifests) ? [] : ManifestStage.LikelyImages(options);
                    var (imageFiles, imageArtifacts) = await ImageStage.RunAsync(options, AddonImagesAsync(manifests), likely, Stage(progress, "images"), lockRecorder, stages.Token).ConfigureAwait(false);
                    files.AddRange(imageFiles);
                    artifacts.AddRange(imageArtifacts);
                    files.Add(Script(BundleLayout.ImportImagesScript, "import-images.sh"));
                }
            }
            catch
            {
                // The images stage failed first: the manifests stage stops too, before the work folder goes.
                await stages.CancelAsync().ConfigureAwait(false);
                await Task.WhenAny(manifests).ConfigureAwait(false);
                throw;
            }

            files.AddRange((await manifests.ConfigureAwait(false)).Files);
            Timing.Mark("build: images", t);
            t = Timing.Start();
            if (!options.Without.Contains(BuildStage.Rpms))
            {
                files.AddRange(await RpmStage.RunAsync(options, name, Stage(progress, "rpms"), lockRecorder, cancellationToken).ConfigureAwait(false));
                files.Add(Script(BundleLayout.InstallPackagesScript, "install-packages.sh"));
            }

            Timing.Mark("build: rpms", t);
            t = Timing.Start();
            if (binary is not null)
            {
                files.Add(BundleFile.FromDisk(BundleLayout.Binary, binary) with
                {
                    Executable = true,
                    Artifact = new ArtifactInfo(ArtifactKind.File, "offlinekit", BundleWriter.CreatedBy.Split(' ')[^1], spec.Target.RuntimeIdentifier),
                });
            }

            var header = new BundleHeader(
                name,
                spec.Version.ToNormalizedString(),
                spec.Kubernetes.ToString(),
                spec.Target.OsName,
                spec.Target.ArchName)
            {
                ExtraArtifacts = artifacts,
                Runtime = spec.Runtime.Name(),
                KubeadmConfigApi = Catalog.ReleaseCatalog.Embedded.MinorOf(spec.Kubernetes)?.KubeadmConfigApi,
                CatalogRevision = spec.CatalogRevision,
                Signer = options.SignKey is { } key ? json => BundleSignature.Sign(key, json) : null,
            };

            // The SBOM names every artifact by the digest bundle.json gives it: files are hashed once, here.
            for (var i = 0; i < files.Count; i++)
            {
                if (files[i].Artifact is not null)
                {
                    files[i] = await BundleWriter.WithSha256Async(files[i], cancellationToken).ConfigureAwait(false);
                }
            }

            Timing.Mark("build: artifacts hashed for the SBOM", t);
            t = Timing.Start();
            var all = files.Where(f => f.Artifact is not null).Select(f => BundleWriter.ArtifactOf(f, f.Sha256!)).Concat(artifacts);
            files.Add(BundleFile.FromBytes(BundleLayout.SbomFile, Sbom.Write(header.Name, header.BundleVersion, Sbom.Components(all))));

            // The lock's catalog revision is the one bundle.json records (the header carries it there).
            var lockFile = lockRecorder.Result(header.Name, header.KubernetesVersion, header.Os, header.Arch, header.CatalogRevision, BundleWriter.CreatedBy).ToJsonBytes();
            files.Add(BundleFile.FromBytes(BundleLayout.LockFile(header.Name), lockFile));

            var written = await BundleWriter.WriteFileAsync(header, files, options.OutputDirectory, options.Format, Stage(progress, "pack"), memo, draft, cancellationToken).ConfigureAwait(false);
            Timing.Mark("build: packed", t);
            var lockPath = Path.Combine(options.OutputDirectory, BundleLayout.LockFile(header.Name));
            await File.WriteAllBytesAsync(lockPath + ".partial", lockFile, cancellationToken).ConfigureAwait(false);
            File.Move(lockPath + ".partial", lockPath, overwrite: true);
            return written;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<IReadOnlyList<ImageReference>> AddonImagesAsync(Task<(List<BundleFile> Files, List<ImageReference> Images)> manifests) =>
        (await manifests.ConfigureAwait(false)).Images;

    private static IProgress<ByteProgress>? Stage(IProgress<StageProgress>? progress, string stage) =>
        progress is null ? null : new StageReporter(progress, stage);

    private static BundleFile Script(string path, string resource) =>
        BundleFile.FromBytes(path, Scripts.EmbeddedScripts.Read(resource)) with
        {
            Executable = true,
            Artifact = new ArtifactInfo(ArtifactKind.Script, Path.GetFileName(path)),
        };

    private sealed class StageReporter(IProgress<StageProgress> inner, string stage) : IProgress<ByteProgress>
    {
        public void Report(ByteProgress value) => inner.Report(new StageProgress(stage, value));
    }
}
