using System.IO.Compression;
using OfflineKit.Bundle;
using ZstdCompressionStream = SharpCompress.Compressors.ZStandard.CompressionStream;
using ZstdDecompressionStream = SharpCompress.Compressors.ZStandard.DecompressionStream;

namespace OfflineKit.IO;

/// <summary>
/// The outer compression of a bundle tarball: none, gzip or zstd (SharpCompress's codec); and the one
/// place that picks a decoder for xz and zstd: the system's native library where it loads, else
/// SharpCompress's managed one.
/// </summary>
public static class Compression
{
    /// <summary>An xz decoder over <paramref name="input"/> (disposed with it): liblzma, else managed.</summary>
    public static Stream XzReader(Stream input) =>
        NativeXzStream.TryOpen(input) ?? (Stream)new SharpCompress.Compressors.Xz.XZStream(input);

    /// <summary>A zstd decoder over <paramref name="input"/> (disposed with it): libzstd, else managed.</summary>
    public static Stream ZstdReader(Stream input) =>
        NativeZstdStream.TryOpen(input) ?? (Stream)new ZstdDecompressionStream(input, 1 << 17, checkEndOfStream: true, leaveOpen: false);

    public static Stream Compress(Stream output, BundleFormat format) => format switch
    {
        // GZipStream writes a header with no name and mtime 0, so output stays deterministic.
        BundleFormat.TarGz => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
        BundleFormat.TarZst => new ZstdCompressionStream(output, 3, 1 << 20, leaveOpen: true),
        _ => new KeepOpenStream(output),
    };

    /// <summary>Wraps <paramref name="input"/> in the decompressor its first bytes call for.</summary>
    public static async Task<(Stream Stream, BundleFormat Format)> DecompressAsync(Stream input, CancellationToken cancellationToken = default)
    {
        var magic = new byte[4];
        var n = 0;
        while (n < magic.Length)
        {
            var r = await input.ReadAsync(magic.AsMemory(n), cancellationToken).ConfigureAwait(false);
            if (r == 0)
            {
                break;
            }

            n += r;
        }

        // The magic bytes were read from a stream that cannot seek back: put them in front again.
        Stream whole = new PrefixedStream(magic[..n], input);
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return (new GZipStream(whole, CompressionMode.Decompress), BundleFormat.TarGz);
        }

        if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            return (ZstdReader(whole), BundleFormat.TarZst);
        }

        return (whole, BundleFormat.Tar);
    }

}
