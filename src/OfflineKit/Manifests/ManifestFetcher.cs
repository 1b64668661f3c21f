using System.Net;
using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Manifests;

/// <summary>What was fetched: the origin the spec names, the URL really read, the bytes and their SHA-256 (hex).</summary>
public sealed record FetchedManifest(Uri Origin, Uri Source, ReadOnlyMemory<byte> Bytes, string Sha256);

/// <summary>The seam between the network and the rest: fetch an origin URL through the mirrors.</summary>
public interface IManifestFetcher
{
    Task<FetchedManifest> FetchAsync(Uri origin, MirrorConfig mirrors, CancellationToken cancellationToken = default);
}

/// <summary>How hard to try: attempts in all, the backoff between them, and how long one attempt may take.</summary>
public sealed record FetchRetryPolicy(int MaxAttempts, TimeSpan FirstDelay, TimeSpan MaxDelay, TimeSpan AttemptTimeout)
{
    /// <summary>Four tries, 1 s then 2 s then 4 s apart, a minute each: rides out a mirror's brief outage, gives up on a dead one.</summary>
    public static FetchRetryPolicy Default { get; } = new(4, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(60));

    /// <summary>The wait before attempt <paramref name="attempt"/> (2, 3, …): doubling from <see cref="FirstDelay"/>, capped.</summary>
    public TimeSpan DelayBefore(int attempt)
    {
        var delay = FirstDelay * Math.Pow(2, Math.Max(0, attempt - 2));
        return delay > MaxDelay ? MaxDelay : delay;
    }
}

/// <summary>
/// Fetches a manifest over http(s) or from a <c>file://</c> URL, after rewriting the origin
/// through the URL mirrors. Server errors (5xx, 408, 429), timeouts and cut-off transfers are
/// retried with backoff; any other answer (404, 403, …) and a refused or unresolvable connection
/// fail at once, as trying again would not change them.
/// </summary>
public sealed class ManifestFetcher(HttpClient http, FetchRetryPolicy? retry = null) : IManifestFetcher
{
    /// <summary>A manifest is a few hundred KiB; anything past this is not one (and is not held in memory).</summary>
    public const long MaxBytes = 64L << 20;

    private readonly FetchRetryPolicy _retry = retry ?? FetchRetryPolicy.Default;

    public async Task<FetchedManifest> FetchAsync(Uri origin, MirrorConfig mirrors, CancellationToken cancellationToken = default)
    {
        var source = mirrors.Rewrite(origin);
        var where = source == origin ? origin.AbsoluteUri : $"{origin.AbsoluteUri} (via mirror {source.AbsoluteUri})";
        return source.Scheme switch
        {
            "file" => await ReadFileAsync(origin, source, where, cancellationToken).ConfigureAwait(false),
            "http" or "https" => await DownloadAsync(origin, source, where, cancellationToken).ConfigureAwait(false),
            _ => throw new BadInputException($"fetching {where}: only http://, https:// and file:// URLs can be fetched"),
        };
    }

    private static async Task<FetchedManifest> ReadFileAsync(Uri origin, Uri source, string where, CancellationToken cancellationToken)
    {
        try
        {
            var stream = new FileStream(source.LocalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                var (bytes, sha256) = await ReadAllAsync(stream, where, cancellationToken).ConfigureAwait(false);
                return new FetchedManifest(origin, source, bytes, sha256);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OperationFailedException($"fetching {where}: cannot read {source.LocalPath}: {e.Message}", e);
        }
    }

    private async Task<FetchedManifest> DownloadAsync(Uri origin, Uri source, string where, CancellationToken cancellationToken)
    {
        string? lastError = null;
        for (var attempt = 1; attempt <= _retry.MaxAttempts; attempt++)
        {
            TimeSpan? retryAfter = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_retry.AttemptTimeout);
            try
            {
                using var response = await http.GetAsync(source, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    if (response.Content.Headers.ContentLength > MaxBytes)
                    {
                        throw new OperationFailedException($"fetching {where}: the server announces {response.Content.Headers.ContentLength} bytes, more than a manifest can be ({MaxBytes})");
                    }

                    var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                    await using (body.ConfigureAwait(false))
                    {
                        var (bytes, sha256) = await ReadAllAsync(body, where, timeout.Token).ConfigureAwait(false);
                        return new FetchedManifest(origin, source, bytes, sha256);
                    }
                }

                var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
                if (!IsTransient(response.StatusCode))
                {
                    throw new OperationFailedException($"fetching {where}: {status}; check the addon's url in the spec, or the url mirror that serves it");
                }

                lastError = status;
                retryAfter = response.Headers.RetryAfter?.Delta;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The attempt's own timeout (or HttpClient.Timeout) fired, not the caller's token.
                lastError = $"no complete answer within {_retry.AttemptTimeout.TotalSeconds:0.###} s";
            }
            catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
            {
                throw new OperationFailedException($"fetching {where}: cannot connect: {e.Message}; check the addon's url in the spec, or the url mirror that serves it", e);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // The connection broke mid-answer: worth another try.
                lastError = e.Message;
            }

            if (attempt < _retry.MaxAttempts)
            {
                var delay = _retry.DelayBefore(attempt + 1);
                if (retryAfter is { } asked && asked > delay)
                {
                    delay = asked > _retry.MaxDelay ? _retry.MaxDelay : asked;
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new OperationFailedException($"fetching {where}: gave up after {_retry.MaxAttempts} attempts; last: {lastError}");
    }

    private static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    /// <summary>Reads a whole stream (bounded by <see cref="MaxBytes"/>), hashing it on the way.</summary>
    private static async Task<(byte[] Bytes, string Sha256)> ReadAllAsync(Stream stream, string where, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var hashing = new HashingStream(buffer, leaveOpen: true);
        await using (hashing.ConfigureAwait(false))
        {
            var chunk = new byte[1 << 16];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (hashing.BytesHashed + n > MaxBytes)
                {
                    throw new OperationFailedException($"fetching {where}: more than {MaxBytes} bytes, which is not a manifest");
                }

                await hashing.WriteAsync(chunk.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }

            return (buffer.ToArray(), hashing.HexDigest);
        }
    }
}
