using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Rpm;

/// <summary>
/// The spec's RPM request resolved against its repositories (fetched through the mirrors): the whole
/// closure, and what the bundle carries — the closure less the spec's baseline when it names one.
/// </summary>
public sealed record RpmClosureResult(IReadOnlyList<RpmRepo> Repos, ResolveResult Result, IReadOnlyList<RpmPackage> Carried, IReadOnlyList<RpmPackage> LeftOut)
{
    /// <summary>The SHA-256 of each repository's repomd.xml the closure was resolved from, by repository name.</summary>
    public IReadOnlyDictionary<string, string> RepomdSha256 { get; init; } = new Dictionary<string, string>();
}

public static class RpmClosure
{
    public static async Task<RpmClosureResult> ResolveAsync(
        BundleSpec spec, MirrorConfig mirrors, string cacheRoot, HttpDownloader http, bool withWeakDependencies = false, CancellationToken cancellationToken = default)
    {
        // A repository that names the other architecture outright cannot serve this target: say so rather than find nothing.
        var other = spec.Target.Arch == TargetArch.Arm64 ? "x86_64" : "aarch64";
        var wrong = spec.Rpm.Repositories.FirstOrDefault(r => r.BaseUrl.AbsoluteUri.Contains(other, StringComparison.Ordinal));
        if (wrong is not null)
        {
            throw new BadInputException(
                $"{spec.SourceFile}: repository {wrong.Name} ({wrong.BaseUrl}) is for {other}, not {spec.Target.ArchName}; write $basearch in its baseurl, or give a spec for {spec.Target.ArchName}");
        }

        Timing.Mark("rpm closure: start");
        var load = await RpmSources.LoadAsync(spec.Rpm.Repositories, mirrors, cacheRoot, http, cancellationToken).ConfigureAwait(false);
        try
        {
            // Primary first: filelists are read only when a dependency the resolution meets names a
            // path only they answer, and then the resolution is done again with them.
            var options = new ResolveOptions { Arch = spec.Target.Arch, IncludeWeakDependencies = withWeakDependencies };
            var t = Timing.Start();
            var resolver = new RpmResolver(load.Repos, options);
            Timing.Mark("package pool built", t);
            try
            {
                var result = Resolve(spec, load.Repos, resolver);
                if (!resolver.NeedsFilelists)
                {
                    return result with { RepomdSha256 = load.RepomdSha256 };
                }
            }
            catch (ResolveException) when (resolver.NeedsFilelists)
            {
                // Filelists may hold what was missing.
            }

            load = await load.AddFilelistsAsync(cancellationToken).ConfigureAwait(false);
            t = Timing.Start();
            resolver = new RpmResolver(load.Repos, options);
            Timing.Mark("package pool built again, with filelists", t);
            return Resolve(spec, load.Repos, resolver) with { RepomdSha256 = load.RepomdSha256 };
        }
        finally
        {
            await load.CacheWrite.ConfigureAwait(false);
        }
    }

    private static RpmClosureResult Resolve(BundleSpec spec, List<RpmRepo> repos, RpmResolver resolver)
    {
        var t = Timing.Start();
        var result = resolver.Resolve(spec.Rpm.Packages);
        Timing.Mark("resolved", t);
        if (spec.Rpm.Baseline.Count == 0)
        {
            return new RpmClosureResult(repos, result, result.Packages, []);
        }

        // What every host of the baseline already has: the closure of its groups' default packages.
        var baseline = resolver.Resolve(BaselinePackages(spec.Rpm.Baseline, repos)).Packages.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var carried = result.Packages.Where(p => !baseline.Contains(p.Name)).ToList();
        var leftOut = result.Packages.Where(p => baseline.Contains(p.Name)).ToList();
        return new RpmClosureResult(repos, result, carried, leftOut);
    }

    /// <summary>
    /// The package names a baseline stands for: "@core" is the comps group core; a bare word is a
    /// group when some repository has one of that id, else a package name.
    /// </summary>
    public static IReadOnlyList<string> BaselinePackages(IReadOnlyList<string> baseline, IReadOnlyList<RpmRepo> repos)
    {
        var names = new List<string>();
        var known = repos.SelectMany(r => r.Packages).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in baseline)
        {
            var id = entry.TrimStart('@');
            var groups = repos.Where(r => r.Groups.ContainsKey(id)).SelectMany(r => r.Groups[id]).ToList();
            if (groups.Count > 0)
            {
                // A group may name packages of another arch or release: what no repo has, no host of it has either.
                names.AddRange(groups.Where(known.Contains));
            }
            else if (!entry.StartsWith('@') && known.Contains(entry))
            {
                names.Add(entry);
            }
            else
            {
                throw new BadInputException(
                    $"rpm.baseline: '{entry}' is neither a comps group of {string.Join(", ", repos.Select(r => r.Name))} nor a package they hold");
            }
        }

        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The packages with the file paths the bundle's own repository lists for them: primary's subset and
    /// the paths some of these packages require. What other packages of the source repositories
    /// required does not show, so the bundle's repodata is the same whatever else upstream added.
    /// </summary>
    public static IReadOnlyList<RpmPackage> WithCarriedFiles(IReadOnlyList<RpmPackage> packages)
    {
        var required = FilelistsReader.RequiredPaths(packages);
        return packages
            .Select(p => p.Files.All(f => FilelistsReader.PrimaryCovers(f) || required.Contains(f))
                ? p
                : p.WithFiles(p.Files.Where(f => FilelistsReader.PrimaryCovers(f) || required.Contains(f)).ToList()))
            .ToList();
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
