using OfflineKit.IO;

namespace OfflineKit.Images;

/// <summary>
/// A content-addressed store of blobs on disk (blobs/sha256/&lt;hex&gt;), so a rebuild downloads nothing
/// it already has. A blob enters only after its digest was checked; a partial download waits under
/// partial/ so an interrupted one can resume with a Range request.
/// </summary>
public sealed class BlobCache
{
    public BlobCache(string root)
    {
        Root = root;
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(root, "partial"));
    }

    public string Root { get; }

    /// <summary>The default: $XDG_CACHE_HOME/offlinekit or ~/.cache/offlinekit.</summary>
    public static string DefaultRoot()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(baseDir, "offlinekit");
    }

    public string PathOf(Digest digest) => Path.Combine(Root, "blobs", "sha256", digest.Hex);

    public string PartialPathOf(Digest digest) => Path.Combine(Root, "partial", digest.Hex);

    public bool Contains(Digest digest) => File.Exists(PathOf(digest));

    public long SizeOf(Digest digest) => new FileInfo(PathOf(digest)).Length;

    public Stream OpenRead(Digest digest) =>
        new FileStream(PathOf(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>Stores small content (a manifest, a config) after checking its digest.</summary>
    public void Put(Digest digest, byte[] content)
    {
        if (Digest.Of(content) != digest)
        {
            throw new OperationFailedException($"content does not match {digest}");
        }

        if (Contains(digest))
        {
            return;
        }

        var tmp = PartialPathOf(digest) + $".{Environment.ProcessId}.{Guid.NewGuid():N}";
        File.WriteAllBytes(tmp, content);
        File.Move(tmp, PathOf(digest), overwrite: true);
    }

    /// <summary>
    /// Checks a finished partial file against its digest and moves it in; a mismatch deletes it, so a
    /// bad download never poisons the cache. <paramref name="hashedWhileWritten"/> is the file's SHA-256
    /// when the download hashed it as it wrote it (then it is not read again); null reads and hashes it.
    /// </summary>
    public async Task CommitPartialAsync(Digest digest, string? hashedWhileWritten = null, CancellationToken cancellationToken = default)
    {
        var partial = PartialPathOf(digest);
        var actual = hashedWhileWritten;
        if (actual is null)
        {
            await using var stream = new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            actual = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }

        if (actual != digest.Hex)
        {
            File.Delete(partial);
            throw new DigestMismatchException(digest, Digest.FromHex(actual));
        }

        File.Move(partial, PathOf(digest), overwrite: true);
    }

    /// <summary>Verifies a cached blob again (a cache on disk can rot); a bad one is removed.</summary>
    public async Task<bool> VerifyAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        if (!Contains(digest))
        {
            return false;
        }

        await using var stream = OpenRead(digest);
        await using var hashing = new HashingStream(stream);
        await hashing.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        if (hashing.HexDigest == digest.Hex)
        {
            return true;
        }

        File.Delete(PathOf(digest));
        return false;
    }
}

public sealed class DigestMismatchException(Digest expected, Digest actual)
    : Exception($"digest mismatch: expected {expected}, got {actual}")
{
    public Digest Expected { get; } = expected;

    public Digest Actual { get; } = actual;
}
