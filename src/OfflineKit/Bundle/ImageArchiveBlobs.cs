using System.Formats.Tar;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using OfflineKit.Images;

namespace OfflineKit.Bundle;

/// <summary>
/// The blobs of a bundle's image archives, read in place: from the extracted folder's images/*.tar or
/// from inside a plain bundle tarball, never copied to disk. A blob is a window of one file, found by
/// one pass over the tar headers; every read of it is checked against its digest.
/// </summary>
public sealed class ImageArchiveBlobs
{
    private const string BlobPrefix = "blobs/sha256/";

    private readonly Dictionary<string, (string File, long Offset, long Length)> _blobs;

    private ImageArchiveBlobs(Dictionary<string, (string File, long Offset, long Length)> blobs) => _blobs = blobs;

    /// <summary>Indexes the named archives (images/common.tar …) of a bundle folder or uncompressed bundle tarball.</summary>
    public static async Task<ImageArchiveBlobs> OpenAsync(string bundle, IReadOnlyCollection<string> archives, CancellationToken cancellationToken = default)
    {
        var blobs = new Dictionary<string, (string, long, long)>(StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (Directory.Exists(bundle))
            {
                var root = BundleVerifier.FindRoot(bundle);
                foreach (var archive in archives)
                {
                    var file = Path.Combine(root, archive);
                    if (File.Exists(file))
                    {
                        await IndexArchiveAsync(file, 0, blobs, cancellationToken).ConfigureAwait(false);
                        found.Add(archive);
                    }
                }
            }
            else
            {
                await using var outer = new FileStream(bundle, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
                if (await IsCompressedAsync(outer, cancellationToken).ConfigureAwait(false))
                {
                    throw new BadInputException($"{bundle}: a compressed bundle cannot be read in place; `offlinekit extract {bundle} --to DIR` and give DIR");
                }

                await using var reader = new TarReader(outer, leaveOpen: true);
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    var inner = TarballSource.SplitTop(entry.Name).Inner;
                    if (TarballSource.IsRegularFile(entry.EntryType) && archives.Contains(inner) && entry.DataOffset >= 0)
                    {
                        await IndexArchiveAsync(bundle, entry.DataOffset, blobs, cancellationToken).ConfigureAwait(false);
                        found.Add(inner);
                    }
                }
            }
        }
        catch (Exception e) when (TarballSource.IsCorruption(e) && e is not BadInputException)
        {
            throw new OperationFailedException($"{bundle}: cannot read its image archives ({e.Message}); `offlinekit verify {bundle}` tells what is wrong", e);
        }

        var missing = archives.Except(found).ToList();
        return missing.Count > 0
            ? throw new OperationFailedException($"{bundle}: {string.Join(", ", missing)} missing from the bundle; `offlinekit verify {bundle}` tells what else is wrong")
            : new ImageArchiveBlobs(blobs);
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
        var (file, offset, length) = Find(digest);
        return new VerifiedWindow(File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan), offset, length, digest, onRead);
    }

    /// <summary>A small blob (a manifest) read whole, verified.</summary>
    public async Task<byte[]> ReadAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        await using var stream = Open(digest);
        var bytes = new byte[SizeOf(digest)];
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    private (string File, long Offset, long Length) Find(Digest digest) =>
        _blobs.TryGetValue(digest.Hex, out var where) ? where : throw new OperationFailedException($"blob {digest} is not in the bundle's image archives");

    private static async Task IndexArchiveAsync(string file, long start, Dictionary<string, (string, long, long)> blobs, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        stream.Position = start;
        await using var reader = new TarReader(stream, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            if (TarballSource.IsRegularFile(entry.EntryType) && entry.Name.StartsWith(BlobPrefix, StringComparison.Ordinal) && entry.DataOffset >= 0
                && Digest.TryParse("sha256:" + entry.Name[BlobPrefix.Length..], out var digest))
            {
                blobs.TryAdd(digest.Hex, (file, entry.DataOffset, entry.Length));
            }
        }
    }

    private static async Task<bool> IsCompressedAsync(FileStream file, CancellationToken cancellationToken)
    {
        var magic = new byte[4];
        var n = await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        file.Position = 0;
        return n >= 2 && ((magic[0] == 0x1f && magic[1] == 0x8b) || (n == 4 && magic is [0x28, 0xb5, 0x2f, 0xfd]));
    }

    /// <summary>A window of a file, hashed as it is read; the read that reaches its end first compares the digest.</summary>
    private sealed class VerifiedWindow(SafeFileHandle handle, long offset, long length, Digest expected, Action<int>? onRead) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var want = (int)Math.Min(buffer.Length, length - _position);
            if (want == 0)
            {
                return 0;
            }

            var n = RandomAccess.Read(handle, buffer[..want], offset + _position);
            return Take(buffer[..n]);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var want = (int)Math.Min(buffer.Length, length - _position);
            if (want == 0)
            {
                return 0;
            }

            var n = await RandomAccess.ReadAsync(handle, buffer[..want], offset + _position, cancellationToken).ConfigureAwait(false);
            return Take(buffer.Span[..n]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                handle.Dispose();
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
