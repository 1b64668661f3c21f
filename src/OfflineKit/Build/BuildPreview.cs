using OfflineKit.Bundle;
using OfflineKit.Catalog;
using OfflineKit.Spec;

namespace OfflineKit.Build;

/// <summary>
/// `build --dry-run`: what a build with these options would write and where each part would come from,
/// read from the effective spec alone. Pure: nothing is fetched, resolved or written, so the addons'
/// own images and the RPMs' dependencies (known only once the manifests and repository metadata are
/// read) are named as such, not guessed.
/// </summary>
public static class BuildPreview
{
    public static IReadOnlyList<string> Describe(BuildOptions options, EffectiveSpec effective)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(effective);
        var spec = options.Spec;
        var name = BundleLayout.BundleName(spec.Kubernetes, spec.Target, spec.Runtime);
        var tarball = Path.Combine(options.OutputDirectory, name + BundleLayout.Extension(options.Format));
        bool With(BuildStage stage) => !options.Without.Contains(stage);

        var lines = new List<string>
        {
            $"build --dry-run: nothing is fetched or written; a build would write {tarball} (+ {BundleLayout.TarballChecksumSuffix}, {BundleLayout.LockFile(name)})",
            $"Kubernetes {spec.Kubernetes} for {spec.Target.OsName}/{spec.Target.ArchName} with {spec.Runtime.Name()}, "
                + (spec.CatalogRevision is null ? $"spec {spec.SourceFile}" : $"version catalog revision {spec.CatalogRevision}")
                + (effective.KubeadmConfigApi is null ? string.Empty : $", kubeadm config {effective.KubeadmConfigApi}"),
        };
        lines.AddRange(effective.HostLimits.Select(l => $"host limit ({l.Check}): {l.Message}"));

        if (With(BuildStage.Images))
        {
            var plan = ImagePlan.For(spec, []);
            lines.Add($"images, linux/{spec.Target.ArchName}, from {(options.ImageSource == ImageSource.Docker ? "the local Docker daemon" : "their registries")}:");
            lines.AddRange(plan.ControlPlane.Select(i => $"  {ImagePlan.ControlPlanePart}  {i}{Mirror(options.Mirrors, i.Registry)}"));
            lines.AddRange(plan.Common.Select(i => $"  {ImagePlan.CommonPart}  {i}{Mirror(options.Mirrors, i.Registry)}"));
            if (With(BuildStage.Manifests) && spec.Addons.Count > 0)
            {
                lines.Add("  common  + every image the addon manifests below name (read from them when fetched)");
            }
        }

        if (With(BuildStage.Manifests))
        {
            lines.Add("manifests (upstream, plus the recorded patches):");
            lines.AddRange(spec.Addons.Select(a => $"  {a.Name} {a.Version}  {Url(options.Mirrors, a.Url)}  (patches: {a.Patches.Count})"));
        }

        if (With(BuildStage.Rpms))
        {
            lines.Add($"RPM repositories ({spec.Target.RpmArch}; every key fetched, checked and carried):");
            lines.AddRange(spec.Rpm.Repositories.Select(r => $"  {r.Name}  {Url(options.Mirrors, r.BaseUrl)}  keys {string.Join(" ", r.GpgKeys.Select(k => Url(options.Mirrors, k)))}"));
            lines.Add($"RPMs: {string.Join(" ", spec.Rpm.Packages)}, with every dependency the repositories' metadata names (resolved when built)");
        }

        if (With(BuildStage.Bin))
        {
            lines.Add($"bin/offlinekit: this offlinekit for {spec.Target.RuntimeIdentifier}");
        }

        if (options.Without.Count > 0)
        {
            lines.Add($"left out: {string.Join(", ", options.Without.Select(w => w.ToString().ToLowerInvariant()).Order(StringComparer.Ordinal))}");
        }

        return lines;
    }

    private static string Url(MirrorConfig mirrors, Uri origin)
    {
        var to = mirrors.Rewrite(origin);
        return to == origin ? origin.AbsoluteUri : $"{origin.AbsoluteUri} (from {to.AbsoluteUri})";
    }

    private static string Mirror(MirrorConfig mirrors, string registry) =>
        mirrors.Registries.TryGetValue(registry, out var to) && to.Count > 0 ? $" (from {string.Join(", ", to)})" : string.Empty;
}
