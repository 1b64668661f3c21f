using System.Formats.Tar;
using System.Security.Cryptography;
using OfflineKit.Images;
using OfflineKit.Install;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// The blobs of a bundle's image archives, read in place through <see cref="LocalBundle"/> (an extracted
/// folder's images/*.tar, or the same files inside a plain bundle tarball), never copied to disk. A
/// blob is a window of its archive, found by one pass over the archive's tar headers; every read of it
/// is checked against its digest.
/// </summary>
public sealed class ImageArchiveBlobs
{
    private const string BlobPrefix = "blobs/sha256/";

    private readonly LocalBundle _bundle;
    private readonly Dictionary<string, (string Archive, long Offset, long Length)> _blobs;

    private ImageArchiveBlobs(LocalBundle bundle, Dictionary<string, (string, long, long)> blobs)
    {
        _bundle = bundle;
        _blobs = blobs;
    }

    /// <summary>Indexes the named archives (images/common.tar …) of a bundle.</summary>
    public static async Task<ImageArchiveBlobs> OpenAsync(LocalBundle bundle, IReadOnlyCollection<string> archives, CancellationToken cancellationToken = default)
    {
        var blobs = new Dictionary<string, (string, long, long)>(StringComparer.Ordinal);
        foreach (var archive in archives)
        {
            if (!bundle.Contents.Has(archive))
            {
                throw new OperationFailedException($"{bundle.Path}: {archive} is missing from the bundle; `offlinekit verify {bundle.Path}` tells what else is wrong");
            }

            try
            {
                // The reader stops at each entry's data: what it has consumed then is where the data starts.
                await using var position = new HashingStream(bundle.OpenRead(archive), countOnly: true);
                await using var reader = new TarReader(position, leaveOpen: true);
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (TarballSource.IsRegularFile(entry.EntryType) && entry.Name.StartsWith(BlobPrefix, StringComparison.Ordinal)
                        && Digest.TryParse("sha256:" + entry.Name[BlobPrefix.Length..], out var digest))
                    {
                        blobs.TryAdd(digest.Hex, (archive, position.BytesHashed, entry.Length));
                    }
                }
            }
            catch (Exception e) when (TarballSource.IsCorruption(e))
            {
                throw new OperationFailedException($"{bundle.Path}: cannot read {archive} ({e.Message}); `offlinekit verify {bundle.Path}` tells what is wrong", e);
            }
        }

        return new ImageArchiveBlobs(bundle, blobs);
    }

    public bool Contains(Digest digest) => _blobs.ContainsKey(digest.Hex);

    public long SizeOf(Digest digest) => Find(digest).Length;

    /// <summary>
    /// The blob's bytes as a stream that checks them against the digest before it hands out the last
    /// of them: a wrong blob ends in <see cref="DigestMismatchException"/> and is never read whole.
    /// <paramref name="onRead"/> hears how many bytes each read gave.
    /// </summary>
    public Stream Open(Digest digest, Action<int>? onRead = null)
    {
        var (archive, offset, length) = Find(digest);
        return new VerifiedWindow(_bundle.OpenRead(archive, offset), length, digest, onRead);
    }

    /// <summary>A small blob (a manifest) read whole, verified.</summary>
    public async Task<byte[]> ReadAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        await using var stream = Open(digest);
        var bytes = new byte[SizeOf(digest)];
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    private (string Archive, long Offset, long Length) Find(Digest digest) =>
        _blobs.TryGetValue(digest.Hex, out var where) ? where : throw new OperationFailedException($"blob {digest} is not in the bundle's image archives");

    /// <summary>The next <paramref name="length"/> bytes of a stream, hashed as they are read; the read that reaches their end first compares the digest.</summary>
    private sealed class VerifiedWindow(Stream inner, long length, Digest expected, Action<int>? onRead) : ReadOnlyStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _position;

        public override long Length => length;

        public override int Read(Span<byte> buffer)
        {
            var want = (int)Math.Min(buffer.Length, length - _position);
            return want == 0 ? 0 : Take(buffer[..inner.Read(buffer[..want])]);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var want = (int)Math.Min(buffer.Length, length - _position);
            if (want == 0)
            {
                return 0;
            }

            var n = await inner.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
            return Take(buffer.Span[..n]);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Take(ReadOnlySpan<byte> read)
        {
            if (read.Length == 0)
            {
                throw new EndOfStreamException($"blob {expected} ends {length - _position} bytes early: the bundle is truncated");
            }

            _hash.AppendData(read);
            _position += read.Length;
            onRead?.Invoke(read.Length);
            if (_position == length)
            {
                var actual = Digest.FromHex(Convert.ToHexStringLower(_hash.GetHashAndReset()));
                if (actual != expected)
                {
                    throw new DigestMismatchException(expected, actual);
                }
            }

            return read.Length;
        }
    }
}
