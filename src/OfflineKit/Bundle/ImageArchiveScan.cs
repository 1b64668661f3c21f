using System.Formats.Tar;
using System.Security.Cryptography;

namespace OfflineKit.Bundle;

/// <summary>Reads an image archive as it streams past: every blobs/sha256/&lt;hex&gt; entry, hashed and compared with its name.</summary>
internal static class ImageArchiveScan
{
    public sealed record Result(IReadOnlyDictionary<string, bool> Blobs, string? Error);

    public static async Task<Result> ScanAsync(Stream archive, CancellationToken cancellationToken)
    {
        var blobs = new Dictionary<string, bool>(StringComparer.Ordinal);
        try
        {
            await using var reader = new TarReader(archive, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                const string prefix = "blobs/sha256/";
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                    || !entry.Name.StartsWith(prefix, StringComparison.Ordinal) || entry.DataStream is null)
                {
                    continue;
                }

                var hex = entry.Name[prefix.Length..];
                var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(entry.DataStream, cancellationToken).ConfigureAwait(false));
                blobs[hex] = actual == hex;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            return new Result(blobs, e.Message);
        }

        return new Result(blobs, null);
    }
}
