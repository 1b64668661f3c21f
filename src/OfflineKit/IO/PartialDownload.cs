using System.Buffers;
using System.Net;

namespace OfflineKit.IO;

/// <summary>
/// The body of a download written to its partial file: appended when the server answered a Range
/// request with 206, from the start otherwise. A body that stays silent for <c>stall</c> fails with a
/// TimeoutException; the bytes written so far stay for the next try's Range request.
/// </summary>
internal static class PartialDownload
{
    /// <returns>
    /// The SHA-256 (hex) of the whole partial file, hashed as it was written, when this download wrote
    /// it from the start; null when it appended to what an earlier try left (then hash the file).
    /// </returns>
    public static async Task<string?> WriteAsync(HttpResponseMessage response, string partial, long have, TimeSpan stall, Action<long>? onBytes, CancellationToken cancellationToken)
    {
        var append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
        using var hash = append ? null : System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        if (append)
        {
            onBytes?.Invoke(have);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int n;
            while ((n = await ReadAsync(body, buffer, stall, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash?.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                onBytes?.Invoke(n);
            }

            return hash is null ? null : Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<int> ReadAsync(Stream body, byte[] buffer, TimeSpan stall, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(stall);
        try
        {
            return await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no data for {stall.TotalSeconds:0} s");
        }
    }
}
