using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Manifests;
using OfflineKit.Spec;

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
        var work = Directory.CreateDirectory(Path.Combine(options.OutputDirectory, $".offlinekit-build-{Environment.ProcessId}")).FullName;
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
            };
            var artifacts = new List<Artifact>();
            var addonImages = new List<ImageReference>();

            if (!options.Without.Contains(BuildStage.Manifests))
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
                var addons = new AddonManifests(http);
                foreach (var addon in spec.Addons)
                {
                    var prepared = await addons.PrepareAsync(addon, spec.Cluster, options.Mirrors, imageRegistry: null, cancellationToken).ConfigureAwait(false);
                    files.Add(BundleFile.FromBytes(prepared.BundlePath, prepared.Content.ToArray()) with
                    {
                        Artifact = new ArtifactInfo(ArtifactKind.Manifest, prepared.Name, prepared.Version, prepared.Origin.AbsoluteUri),
                    });

                    // The upstream bytes too: install renders the site's manifest from them and the recorded patches.
                    files.Add(BundleFile.FromBytes(AddonRecipes.UpstreamPath(addon.Name), prepared.Upstream.ToArray()));
                    addonImages.AddRange(prepared.Images);
                }

                if (spec.Addons.Count > 0)
                {
                    files.Add(BundleFile.FromBytes(AddonRecipes.File, System.Text.Encoding.UTF8.GetBytes(AddonRecipes.ToYaml(spec.Addons))));
                }
            }

            if (!options.Without.Contains(BuildStage.Images))
            {
                // Without the manifests stage the addons' images are unknown: only kubeadm's set is carried.
                var plan = ImagePlan.For(spec, addonImages);
                var (imageFiles, imageArtifacts) = await ImageStage.RunAsync(plan, options, Stage(progress, "images"), cancellationToken).ConfigureAwait(false);
                files.AddRange(imageFiles);
                artifacts.AddRange(imageArtifacts);
                files.Add(Script(BundleLayout.ImportImagesScript, "import-images.sh"));
            }

            if (!options.Without.Contains(BuildStage.Rpms))
            {
                files.AddRange(await RpmStage.RunAsync(options, BundleLayout.BundleName(spec.Kubernetes, spec.Target), Stage(progress, "rpms"), cancellationToken).ConfigureAwait(false));
                files.Add(Script(BundleLayout.InstallPackagesScript, "install-packages.sh"));
            }

            if (binary is not null)
            {
                files.Add(BundleFile.FromDisk(BundleLayout.Binary, binary) with
                {
                    Executable = true,
                    Artifact = new ArtifactInfo(ArtifactKind.File, "offlinekit", BundleWriter.CreatedBy.Split(' ')[^1], spec.Target.RuntimeIdentifier),
                });
            }

            var header = new BundleHeader(
                BundleLayout.BundleName(spec.Kubernetes, spec.Target),
                spec.Version.ToNormalizedString(),
                spec.Kubernetes.ToString(),
                spec.Target.OsName,
                spec.Target.ArchName)
            {
                ExtraArtifacts = artifacts,
                Runtime = spec.Runtime.Name(),
                KubeadmConfigApi = Catalog.ReleaseCatalog.Embedded.MinorOf(spec.Kubernetes)?.KubeadmConfigApi,
                CatalogRevision = spec.CatalogRevision,
            };
            return await BundleWriter.WriteFileAsync(header, files, options.OutputDirectory, options.Format, Stage(progress, "pack"), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

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
