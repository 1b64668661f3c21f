using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Rpm;

/// <summary>The spec's RPM request resolved against its repositories (fetched through the mirrors): what `rpms resolve` prints and the build carries.</summary>
public sealed record RpmClosureResult(IReadOnlyList<RpmRepo> Repos, ResolveResult Result);

public static class RpmClosure
{
    public static async Task<RpmClosureResult> ResolveAsync(
        BundleSpec spec, MirrorConfig mirrors, string cacheRoot, HttpDownloader http, bool withWeakDependencies = false, CancellationToken cancellationToken = default)
    {
        if (spec.Rpm.Baseline.Count > 0)
        {
            throw new NotImplementedYetException("rpm.baseline (leaving a comps group out of the bundle)", "remove rpm.baseline from the spec to carry the whole closure");
        }

        var repos = await RpmSources.LoadAsync(spec.Rpm.Repositories, mirrors, cacheRoot, http, cancellationToken).ConfigureAwait(false);
        var resolver = new RpmResolver(repos, new ResolveOptions { Arch = spec.Target.Arch, IncludeWeakDependencies = withWeakDependencies });
        return new RpmClosureResult(repos, resolver.Resolve(spec.Rpm.Packages));
    }

    /// <summary>Where a package's file is fetched from: its own xml:base, else its repository's base URL.</summary>
    public static Uri PackageUrl(RpmPackage package, BundleSpec spec)
    {
        var baseUrl = package.LocationBase is { Length: > 0 } b
            ? (b.EndsWith('/') ? b : b + "/")
            : spec.Rpm.Repositories.First(r => r.Name == package.Repo).BaseUrl.AbsoluteUri;
        return new Uri(new Uri(baseUrl), package.LocationHref);
    }
}
