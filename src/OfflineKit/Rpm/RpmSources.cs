using System.Security.Cryptography;
using System.Text;
using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Rpm;

/// <summary>
/// Brings the spec's repositories' metadata into the cache (through the mirrors) and opens it for
/// <see cref="RpmRepoLoader"/>: repomd.xml fresh every time, the files it names kept under their
/// checksums, so a rebuild fetches only what changed.
/// </summary>
public static class RpmSources
{
    /// <summary>
    /// The repositories' parsed metadata: from the parsed cache when their repomd.xml still names the
    /// same files, else fetched and parsed. <see cref="RpmLoad.CacheWrite"/> is the parsed cache being
    /// written meanwhile (it never fails: a cache that cannot be written only costs the next run).
    /// </summary>
    public static async Task<RpmLoad> LoadAsync(
        IReadOnlyList<RpmRepository> repositories, MirrorConfig mirrors, string cacheRoot, HttpDownloader http, CancellationToken cancellationToken = default)
    {
        // repomd.xml of every repository, fresh and all at once: what they say decides whether the
        // parsed cache still holds. Its own SHA-256 goes into the lockfile.
        var repomdSha256 = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var indexes = await Task.WhenAll(repositories.Select(async repo =>
        {
            var dir = Path.Combine(cacheRoot, "repos", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(repo.BaseUrl.AbsoluteUri)))[..16]);
            Directory.CreateDirectory(dir);
            var repomdOrigin = repo.BaseUrl + "repodata/repomd.xml";
            var repomdBytes = await http.GetBytesAsync(mirrors.Rewrite(new Uri(repomdOrigin)), $"repository {repo.Name}: {repomdOrigin}", cancellationToken).ConfigureAwait(false);
            var repomd = Repomd.Parse(new MemoryStream(repomdBytes), repomdOrigin);
            await File.WriteAllBytesAsync(Path.Combine(dir, "repomd.xml"), repomdBytes, cancellationToken).ConfigureAwait(false);
            repomdSha256[repo.Name] = Convert.ToHexStringLower(SHA256.HashData(repomdBytes));
            return (Repo: repo, Dir: dir, Origin: repomdOrigin, Repomd: repomd);
        })).ConfigureAwait(false);
        Timing.Mark("repomd.xml fetched (all repos)");

        var parsedDir = Path.Combine(cacheRoot, "parsed");
        var key = ParsedMetadataCache.Key(indexes.Select(i => (i.Repo.Name, i.Repo.BaseUrl.AbsoluteUri, i.Repomd)));
        // One repository's files, all at once (filelists only when the resolver asks for them,
        // RpmLoad.AddFilelistsAsync: it is the biggest file by far).
        async Task<RpmRepoSource> FetchOne(int index, bool filelists)
        {
            var (repo, dir, repomdOrigin, repomd) = indexes[index];
            var records = filelists ? [repomd.Filelists] : new[] { repomd.Primary, repomd.Modules, RpmRepoLoader.GroupRecord(repomd) };
            var fetched = await Task.WhenAll(records.OfType<RepomdRecord>().Select(async record =>
            {
                var origin = repo.BaseUrl + record.Href;
                var checksum = record.Checksum ?? throw new OperationFailedException($"repository {repo.Name}: {repomdOrigin} gives {record.Href} no checksum");
                var path = Path.Combine(dir, $"{checksum.Value}-{Path.GetFileName(record.Href)}");
                await http.DownloadAsync(mirrors.Rewrite(new Uri(origin)), $"repository {repo.Name}: {origin}", path, checksum.Type, checksum.Value, cancellationToken: cancellationToken).ConfigureAwait(false);
                return (record.Href, Path: path);
            })).ConfigureAwait(false);
            var local = new Dictionary<string, string>(StringComparer.Ordinal) { ["repodata/repomd.xml"] = Path.Combine(dir, "repomd.xml") };
            foreach (var (href, path) in fetched)
            {
                local[href] = path;
            }

            return new RpmRepoSource(repo.Name, repo.BaseUrl.AbsoluteUri, href =>
                local.TryGetValue(href, out var file)
                    ? File.OpenRead(file)
                    : throw new OperationFailedException($"repository {repo.Name}: {href} was not fetched"));
        }

        async Task<List<RpmRepoSource>> Fetch(bool filelists) =>
            [.. await Task.WhenAll(Enumerable.Range(0, indexes.Length).Select(i => FetchOne(i, filelists))).ConfigureAwait(false)];

        Task Save(List<RpmRepo> repos, Task after) => Task.Run(
            async () =>
            {
                await after.ConfigureAwait(false);
                var t = Timing.Start();
                try
                {
                    ParsedMetadataCache.Save(parsedDir, key, repos);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A cache that cannot be written costs the next run time, not this one its result.
                }

                Timing.Mark("parsed metadata cached", t);
            },
            CancellationToken.None);

        RpmLoad Loaded(List<RpmRepo> repos, Task write) => new(repos, write)
        {
            RepomdSha256 = repomdSha256,
            AddFilelistsAsync = async ct =>
            {
                ct.ThrowIfCancellationRequested();
                var t = Timing.Start();
                var sources = await Fetch(filelists: true).ConfigureAwait(false);
                Timing.Mark("filelists fetched", t);
                var all = RpmRepoLoader.AddFilelists(repos, sources);
                return Loaded(all, Save(all, write));
            },
        };

        if (ParsedMetadataCache.TryLoad(parsedDir, key) is { } cached)
        {
            Timing.Mark("parsed metadata read from the cache");
            return Loaded(cached, Task.CompletedTask);
        }

        // Each repository parsed as soon as its own files are in, on its own core, while the others
        // still download; each put in the parsed cache as soon as it and those before it are parsed
        // (the biggest, AppStream, comes last), so little of the cache is left to write at the end.
        var t = Timing.Start();
        var parsing = Enumerable.Range(0, indexes.Length).Select(async i =>
        {
            var source = await FetchOne(i, filelists: false).ConfigureAwait(false);
            return await Task.Run(() => RpmRepoLoader.LoadPrimary(source), cancellationToken).ConfigureAwait(false);
        }).ToList();
        // On a thread of its own that waits for each repository: a continuation queued to the pool would
        // wait behind the resolution, which starts on the pool the moment the last repository is in.
        var write = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    using var writer = new ParsedMetadataCache.Writer(parsedDir, key, parsing.Count);
                    foreach (var repo in parsing)
                    {
                        writer.Add(repo.GetAwaiter().GetResult());
                    }

                    var w = Timing.Start();
                    writer.Commit();
                    Timing.Mark("parsed metadata cached", w);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A cache that cannot be written costs the next run time, not this one its result.
                }
                catch (Exception) when (parsing.Any(p => p.IsFaulted || p.IsCanceled))
                {
                    // A repository failed: the load's own await says why.
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var loaded = await Task.WhenAll(parsing).ConfigureAwait(false);
        Timing.Mark("metadata fetched and parsed (all repos)", t);
        return Loaded([.. loaded], write);
    }
}

/// <summary>What <see cref="RpmSources.LoadAsync"/> gives: the repositories, and the parsed cache's write (await it before exiting).</summary>
public sealed record RpmLoad(List<RpmRepo> Repos, Task CacheWrite)
{
    /// <summary>
    /// Fetches and reads filelists for the paths only they answer (when <see cref="RpmResolver.NeedsFilelists"/>),
    /// and caches the result after <see cref="CacheWrite"/>: the repositories with filelists read, and their cache write.
    /// </summary>
    public Func<CancellationToken, Task<RpmLoad>> AddFilelistsAsync { get; init; } = _ => throw new InvalidOperationException("no filelists to add");

    /// <summary>The SHA-256 of each repository's repomd.xml as fetched (by repository name): what the lock records.</summary>
    public IReadOnlyDictionary<string, string> RepomdSha256 { get; init; } = new Dictionary<string, string>();
}
