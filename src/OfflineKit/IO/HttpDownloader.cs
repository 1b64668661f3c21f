using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace OfflineKit.IO;

/// <summary>
/// Plain URL downloads (repository metadata, RPMs, GPG keys) over HttpClient or from file://, with
/// retries and backoff on 5xx, 429, timeouts and cut connections, a cut download resumed with Range
/// from its partial file, and the content checked against an expected checksum before it is kept.
/// </summary>
public sealed class HttpDownloader(HttpClient http)
{
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a download may stay silent before it counts as cut.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A small file, whole, into memory (repomd.xml, a key); <paramref name="origin"/> names it in errors.</summary>
    public async Task<byte[]> GetBytesAsync(Uri url, string origin, CancellationToken cancellationToken = default)
    {
        if (url.IsFile)
        {
            return File.Exists(url.LocalPath)
                ? await File.ReadAllBytesAsync(url.LocalPath, cancellationToken).ConfigureAwait(false)
                : throw new OperationFailedException($"{origin}: not found (read {url})");
        }

        return await RetryAsync(url, origin, async ct =>
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            Check(response, url, origin);
            return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads to <paramref name="destination"/>: through <c>destination.partial</c>, resumed after a cut,
    /// moved in only when its <paramref name="checksumType"/> (sha256, sha1, sha512) equals <paramref name="checksum"/>.
    /// A present destination is trusted (it was checked when it was stored).
    /// </summary>
    public async Task DownloadAsync(Uri url, string origin, string destination, string checksumType, string checksum, Action<long>? onBytes = null, CancellationToken cancellationToken = default)
    {
        if (File.Exists(destination))
        {
            return;
        }

        var partial = destination + ".partial";
        string? hashedWhileWritten = null;
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        if (url.IsFile)
        {
            if (!File.Exists(url.LocalPath))
            {
                throw new OperationFailedException($"{origin}: not found (read {url})");
            }

            File.Copy(url.LocalPath, partial, overwrite: true);
            onBytes?.Invoke(new FileInfo(partial).Length);
        }
        else
        {
            await RetryAsync(url, origin, async ct =>
            {
                var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (have > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(have, null);
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    File.Delete(partial);
                    throw new RetryableException("416: the partial download cannot be resumed");
                }

                Check(response, url, origin);
                try
                {
                    hashedWhileWritten = await PartialDownload.WriteAsync(response, partial, have, StallTimeout, onBytes, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException)
                {
                    // What arrived stays in the partial file; the next try asks for the rest.
                    throw new RetryableException($"the download was cut: {e.Message}", e);
                }

                return true;
            }, cancellationToken).ConfigureAwait(false);
        }

        // A body written whole in one go was hashed (SHA-256) on its way to the disk: no second read.
        var actual = hashedWhileWritten is not null && string.Equals(checksumType, "sha256", StringComparison.OrdinalIgnoreCase)
            ? hashedWhileWritten
            : await HashFileAsync(partial, checksumType, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(actual, checksum, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(partial);
            throw new OperationFailedException($"{origin}: checksum mismatch ({checksumType} {actual}, the repository says {checksum}); nothing was kept");
        }

        File.Move(partial, destination, overwrite: true);
    }

    public static async Task<string> HashFileAsync(string path, string checksumType, CancellationToken cancellationToken = default)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var hash = checksumType.ToLowerInvariant() switch
        {
            "sha256" => await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false),
            "sha512" => await SHA512.HashDataAsync(stream, cancellationToken).ConfigureAwait(false),
#pragma warning disable CA5350 // Old repositories name their packages by SHA-1: checked, never relied on alone (the bundle records SHA-256).
            "sha1" or "sha" => await SHA1.HashDataAsync(stream, cancellationToken).ConfigureAwait(false),
#pragma warning restore CA5350
            "sha384" => await SHA384.HashDataAsync(stream, cancellationToken).ConfigureAwait(false),
            _ => throw new OperationFailedException($"checksum type '{checksumType}' is not supported (sha256, sha512, sha384, sha1)"),
        };
        return Convert.ToHexStringLower(hash);
    }

    private async Task<T> RetryAsync<T>(Uri url, string origin, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (i < MaxAttempts && IsTransient(e, cancellationToken))
            {
                await Task.Delay(FirstBackoff * Math.Pow(2, i - 1), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                throw new OperationFailedException($"{origin}: {Describe(e)} after {MaxAttempts} tries (read {url})", e);
            }
        }
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        e is RetryableException or HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    private static string Describe(Exception e) => e is TaskCanceledException ? "timed out" : e.Message;

    private static void Check(HttpResponseMessage response, Uri url, string origin)
    {
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        if (status is 408 or 429 or >= 500)
        {
            throw new RetryableException($"{status} {response.ReasonPhrase}");
        }

        throw new OperationFailedException($"{origin}: {status} {response.ReasonPhrase} (read {url})");
    }

    private sealed class RetryableException(string message, Exception? inner = null) : Exception(message, inner);
}
