using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Rpm;
using OfflineKit.Spec;

namespace OfflineKit.Build;

/// <summary>
/// The RPM stage: the closure resolved, every package downloaded and checked against its repository
/// checksum, and rpms/ laid out as a yum repository of its own — the RPMs, repodata offlinekit wrote,
/// the repositories' GPG keys, offlinekit.repo and the list of packages to install.
/// </summary>
internal static class RpmStage
{
    public static async Task<List<BundleFile>> RunAsync(
        BuildOptions options, string bundleName, IProgress<ByteProgress>? progress, Trust.LockRecorder? lockRecorder, CancellationToken cancellationToken)
    {
        var spec = options.Spec;
        var cacheRoot = Path.Combine(options.CacheDirectory ?? BlobCache.DefaultRoot(), "rpm");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var downloader = new HttpDownloader(http);
        IReadOnlyList<RpmPackage> resolved;
        IReadOnlyList<string> sourceRepos;
        if (lockRecorder?.Locked is { } locked)
        {
            resolved = await LockedPackagesAsync(spec, options, locked, lockRecorder, cacheRoot, downloader, cancellationToken).ConfigureAwait(false);
            sourceRepos = resolved.Select(p => p.Repo).Distinct().ToList();
        }
        else
        {
            var closure = await RpmClosure.ResolveAsync(spec, options.Mirrors, cacheRoot, downloader, cancellationToken: cancellationToken).ConfigureAwait(false);
            resolved = closure.Carried;
            sourceRepos = closure.Carried.Select(p => p.Repo).Distinct().ToList();
            foreach (var repo in spec.Rpm.Repositories)
            {
                lockRecorder?.Repository(repo.Name, repo.BaseUrl.AbsoluteUri, "sha256:" + closure.RepomdSha256.GetValueOrDefault(repo.Name, string.Empty));
            }
        }

        var packages = RpmClosure.WithCarriedFiles(resolved);
        foreach (var warning in Catalog.RuntimeRequirement.Check(spec, packages))
        {
            options.Warnings?.Report(warning);
        }

        var total = packages.Sum(p => p.Size);
        long done = 0;
        var carried = new CarriedRpm[packages.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, packages.Count), parallel, async (i, ct) =>
        {
            var p = packages[i];
            var checksum = p.Checksum ?? throw new OperationFailedException($"{p.Nevra}: its repository gives no checksum; offlinekit carries only packages it can check");
            var origin = RpmClosure.PackageUrl(p, spec);
            var path = Path.Combine(cacheRoot, "packages", $"{checksum.Value}.rpm");
            await downloader.DownloadAsync(options.Mirrors.Rewrite(origin), $"{p.Nevra} ({origin})", path, checksum.Type, checksum.Value,
                n => progress?.Report(new ByteProgress(Interlocked.Add(ref done, n), total, p.Name)), ct).ConfigureAwait(false);
            var sha256 = checksum.Type == "sha256" ? checksum.Value.ToLowerInvariant() : await HttpDownloader.HashFileAsync(path, "sha256", ct).ConfigureAwait(false);
            carried[i] = new CarriedRpm(p, $"{p.Name}-{p.Evr.Version}-{p.Evr.Release}.{p.Arch}.rpm", sha256, new FileInfo(path).Length);
            lockRecorder?.Rpm(new Trust.LockedRpm(p.Nevra, p.Repo, origin.AbsoluteUri, checksum.ToString(), p.Size));
        }).ConfigureAwait(false);

        var duplicate = carried.GroupBy(c => c.FileName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new OperationFailedException($"two chosen packages share the file name {duplicate.Key}: {string.Join(", ", duplicate.Select(d => d.Package.Nevra))}");
        }

        var files = new List<BundleFile>();
        foreach (var c in carried)
        {
            var p = c.Package;
            files.Add(BundleFile.FromDisk($"{BundleLayout.RpmsDir}/{c.FileName}", Path.Combine(cacheRoot, "packages", $"{p.Checksum!.Value}.rpm")) with
            {
                Sha256 = c.Sha256,
                Artifact = new ArtifactInfo(ArtifactKind.Rpm, p.Name, $"{p.Evr.Epoch}:{p.Evr.Version}-{p.Evr.Release}.{p.Arch}", RpmClosure.PackageUrl(p, spec).AbsoluteUri),
            });
        }

        foreach (var (path, content) in RepodataWriter.Write(carried))
        {
            files.Add(BundleFile.FromBytes($"{BundleLayout.RpmsDir}/{path}", content));
        }

        var keys = new List<string>();
        foreach (var repo in spec.Rpm.Repositories)
        {
            for (var i = 0; i < repo.GpgKeys.Count; i++)
            {
                var what = $"GPG key of {repo.Name}: {repo.GpgKeys[i]}";
                var key = await downloader.GetBytesAsync(options.Mirrors.Rewrite(repo.GpgKeys[i]), what, cancellationToken).ConfigureAwait(false);
                RepositoryKey.Check(key, what, DateTimeOffset.UtcNow);
                var name = $"{repo.Name}-{i + 1}.gpg";
                var keySha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(key));
                lockRecorder?.CheckFile("GPG key", lockRecorder.Locked?.Keys ?? [], name, repo.GpgKeys[i].AbsoluteUri, keySha);
                lockRecorder?.Key(name, repo.GpgKeys[i].AbsoluteUri, keySha);
                keys.Add(name);
                files.Add(BundleFile.FromBytes($"{BundleLayout.RpmKeysDir}/{name}", key) with
                {
                    Artifact = new ArtifactInfo(ArtifactKind.File, name, null, repo.GpgKeys[i].AbsoluteUri),
                });
            }
        }

        // gpgcheck only when every repository that gave a package also gave its keys.
        var signed = sourceRepos.All(r => spec.Rpm.Repositories.First(x => x.Name == r).GpgKeys.Count > 0);
        files.Add(BundleFile.FromBytes(BundleLayout.RpmRepoFile, RepoFileText(bundleName, keys, signed)));
        files.Add(BundleFile.FromBytes(BundleLayout.PackagesList, Encoding.UTF8.GetBytes(string.Concat(spec.Rpm.Packages.Select(p => p + "\n")))));
        return files;
    }

    /// <summary>
    /// `build --lock`: the locked packages, found by checksum in their repositories' metadata as it is now
    /// (a repository that gained newer packages still holds the locked ones); no resolution is done.
    /// Each is then downloaded and checked against its locked checksum like any package.
    /// </summary>
    private static async Task<IReadOnlyList<RpmPackage>> LockedPackagesAsync(
        BundleSpec spec, BuildOptions options, Trust.BundleLock locked, Trust.LockRecorder recorder, string cacheRoot, HttpDownloader downloader, CancellationToken cancellationToken)
    {
        var load = await RpmSources.LoadAsync(spec.Rpm.Repositories, options.Mirrors, cacheRoot, downloader, cancellationToken).ConfigureAwait(false);
        try
        {
            var found = Find(load.Repos, locked.Rpms, out var missing);
            if (missing.Count == 0 && FilelistsReader.PathsOnlyFilelistsAnswer(found).Count > 0 && load.Repos.Any(r => !r.FilelistsRead))
            {
                load = await load.AddFilelistsAsync(cancellationToken).ConfigureAwait(false);
                found = Find(load.Repos, locked.Rpms, out missing);
            }

            if (missing.Count > 0)
            {
                throw new OperationFailedException(
                    $"{missing.Count} locked RPM{(missing.Count == 1 ? " is" : "s are")} no longer in {(missing.Count == 1 ? "its repository" : "their repositories")} at the locked checksum ({recorder.LockSource}): " +
                    string.Join(", ", missing.Select(m => $"{m.Nevra} ({m.Repo}, {m.Checksum})")));
            }

            return found;
        }
        finally
        {
            await load.CacheWrite.ConfigureAwait(false);
        }

        static List<RpmPackage> Find(IReadOnlyList<RpmRepo> repos, IReadOnlyList<Trust.LockedRpm> rpms, out List<Trust.LockedRpm> missing)
        {
            var byChecksum = repos.SelectMany(r => r.Packages)
                .Where(p => p.Checksum is not null)
                .GroupBy(p => (p.Repo, p.Checksum!.ToString()))
                .ToDictionary(g => g.Key, g => g.First());
            var found = new List<RpmPackage>();
            missing = [];
            foreach (var rpm in rpms)
            {
                if (byChecksum.TryGetValue((rpm.Repo, rpm.Checksum), out var p))
                {
                    found.Add(p);
                }
                else
                {
                    missing.Add(rpm);
                }
            }

            return found;
        }
    }

    /// <summary>The repo file for a host where the bundle lies at /var/lib/offlinekit/NAME; the install script writes it for wherever it really lies.</summary>
    private static byte[] RepoFileText(string bundleName, IReadOnlyList<string> keys, bool signed)
    {
        var root = $"/var/lib/offlinekit/{bundleName}/rpms";
        var text = new StringBuilder()
            .Append("# The bundle's own repository; scripts/install-packages.sh installs from it with every other repo disabled.\n")
            .Append("[offlinekit]\n")
            .Append($"name=offlinekit bundle {bundleName}\n")
            .Append($"baseurl=file://{root}\n")
            .Append("enabled=1\n")
            .Append(signed && keys.Count > 0 ? "gpgcheck=1\n" : "# A repository of the spec has no GPG key: packages cannot be checked.\ngpgcheck=0\n");
        if (keys.Count > 0)
        {
            text.Append("gpgkey=").Append(string.Join(' ', keys.Select(k => $"file://{root}/keys/{k}"))).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
