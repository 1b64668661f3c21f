using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OfflineKit.IO;

/// <summary>
/// Remembers the SHA-256 and size of content that is a pure function of what made it (an image archive
/// of cached blobs, a bundle of files whose digests are known), one small file per key in a folder of
/// the cache: a rebuild of the same inputs reads two numbers instead of hashing every byte again.
/// A key holds the writing assembly's build id, so a changed writer never reuses an answer; a memo that
/// cannot be kept or read costs the next build one hashing pass, never a result.
/// </summary>
public sealed class DigestMemo(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>
    /// A key for content of kind <paramref name="kind"/>, made by <paramref name="describe"/> from every
    /// input the content's bytes depend on (names, sizes, digests, the bytes of small parts).
    /// </summary>
    public static string Key(string kind, Action<IncrementalHash> describe)
    {
        ArgumentNullException.ThrowIfNull(describe);
        using var key = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        key.AppendData(Encoding.UTF8.GetBytes($"{kind}\n{typeof(DigestMemo).Assembly.ManifestModule.ModuleVersionId}\n"));
        describe(key);
        return Convert.ToHexStringLower(key.GetHashAndReset());
    }

    /// <summary>Appends one line of text to a key being made (see <see cref="Key"/>).</summary>
    public static void AppendLine(IncrementalHash key, string line)
    {
        ArgumentNullException.ThrowIfNull(key);
        key.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
    }

    /// <summary>What was remembered under <paramref name="key"/>, or null.</summary>
    public async Task<(string Sha256, long Size)?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            if (File.Exists(path)
                && (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Split(' ') is [var sha, var sizeText]
                && sha.Length == 64 && sha.All(Uri.IsHexDigit)
                && long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                return (sha.ToLowerInvariant(), size);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Remembers <paramref name="sha256"/> and <paramref name="size"/> under <paramref name="key"/> (atomically; best effort).</summary>
    public async Task PutAsync(string key, string sha256, long size, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            await File.WriteAllTextAsync(tmp, FormattableString.Invariant($"{sha256} {size}"), cancellationToken).ConfigureAwait(false);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(tmp);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private string PathOf(string key) =>
        key.Length == 64 && key.All(Uri.IsHexDigit) ? Path.Combine(Directory, key) : throw new ArgumentException($"'{key}' is not a memo key", nameof(key));
}
