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
    public static async Task<List<RpmRepo>> LoadAsync(
        IReadOnlyList<RpmRepository> repositories, MirrorConfig mirrors, string cacheRoot, HttpDownloader http, CancellationToken cancellationToken = default)
    {
        var sources = new List<RpmRepoSource>();
        foreach (var repo in repositories)
        {
            var dir = Path.Combine(cacheRoot, "repos", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(repo.BaseUrl.AbsoluteUri)))[..16]);
            Directory.CreateDirectory(dir);
            var repomdOrigin = repo.BaseUrl + "repodata/repomd.xml";
            var repomdBytes = await http.GetBytesAsync(mirrors.Rewrite(new Uri(repomdOrigin)), $"repository {repo.Name}: {repomdOrigin}", cancellationToken).ConfigureAwait(false);
            var repomd = Repomd.Parse(new MemoryStream(repomdBytes), repomdOrigin);
            var local = new Dictionary<string, string>(StringComparer.Ordinal) { ["repodata/repomd.xml"] = Path.Combine(dir, "repomd.xml") };
            await File.WriteAllBytesAsync(local["repodata/repomd.xml"], repomdBytes, cancellationToken).ConfigureAwait(false);

            foreach (var record in new[] { repomd.Primary, repomd.Filelists, repomd.Modules, RpmRepoLoader.GroupRecord(repomd) }.OfType<RepomdRecord>())
            {
                var origin = repo.BaseUrl + record.Href;
                var checksum = record.Checksum ?? throw new OperationFailedException($"repository {repo.Name}: {repomdOrigin} gives {record.Href} no checksum");
                var path = Path.Combine(dir, $"{checksum.Value}-{Path.GetFileName(record.Href)}");
                await http.DownloadAsync(mirrors.Rewrite(new Uri(origin)), $"repository {repo.Name}: {origin}", path, checksum.Type, checksum.Value, cancellationToken: cancellationToken).ConfigureAwait(false);
                local[record.Href] = path;
            }

            sources.Add(new RpmRepoSource(repo.Name, repo.BaseUrl.AbsoluteUri, href =>
                local.TryGetValue(href, out var file)
                    ? File.OpenRead(file)
                    : throw new OperationFailedException($"repository {repo.Name}: {href} was not fetched")));
        }

        Timing.Mark("metadata fetched");
        return RpmRepoLoader.Load(sources);
    }
}
