using System.IO.Compression;
using System.Security.Cryptography;
using OfflineKit.IO;

namespace OfflineKit.Rpm;

/// <summary>
/// A repodata file opened for reading: decompressed by its magic bytes (gzip, xz, zstd or plain)
/// and checked against repomd.xml while it streams, both the file as stored (checksum, size) and
/// its decompressed content (open-size; open-checksum when there is no checksum). Nothing is buffered whole: an EL8
/// AppStream primary is ~100 MB of XML.
/// </summary>
public sealed class MetadataFile : IDisposable
{
    private readonly VerifyingStream _raw;
    private readonly VerifyingStream _content;
    private readonly Stream _decompressor;

    private MetadataFile(VerifyingStream raw, Stream decompressor, VerifyingStream content)
    {
        _raw = raw;
        _decompressor = decompressor;
        _content = content;
    }

    /// <summary>The decompressed bytes.</summary>
    public Stream Content => _content;

    /// <param name="input">The file as stored; left open.</param>
    /// <param name="record">What repomd.xml says of it; null checks nothing (a file read without repomd).</param>
    /// <param name="name">Names the file in errors (its href or URL).</param>
    public static MetadataFile Open(Stream input, RepomdRecord? record, string name)
    {
        ArgumentNullException.ThrowIfNull(input);
        var raw = new VerifyingStream(input, record?.Checksum, record?.Size, name, "checksum");
        var magic = new byte[6];
        var n = 0;
        while (n < magic.Length)
        {
            var r = raw.Read(magic, n, magic.Length - n);
            if (r == 0)
            {
                break;
            }

            n += r;
        }

        // The magic was read from a stream that cannot seek back: put it in front again.
        Stream whole = new PrefixedStream(magic[..n], raw);
        Stream decompressor;
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            decompressor = new GZipStream(whole, CompressionMode.Decompress);
        }
        else if (n >= 6 && magic.AsSpan().SequenceEqual(stackalloc byte[] { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 }))
        {
            decompressor = Compression.XzReader(whole);
        }
        else if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            decompressor = Compression.ZstdReader(whole);
        }
        else if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h')
        {
            whole.Dispose();
            throw new OperationFailedException($"{name}: bzip2-compressed metadata is not supported (gzip, xz and zstd are)");
        }
        else
        {
            decompressor = whole;
        }

        // The stored bytes' checksum already fixes what they decompress to: the open-checksum is
        // hashed only when repomd.xml gives no checksum (hashing the decompressed XML, ~10x the
        // stored bytes, was a tenth of a cold parse). The open-size is always checked.
        var openChecksum = record?.Checksum is null ? record?.OpenChecksum : null;
        // Decompressing (and hashing the stored bytes) runs on a thread of its own, ahead of the parser.
        if (!ReferenceEquals(decompressor, whole))
        {
            decompressor = new DecodeAheadStream(decompressor);
        }

        var content = new VerifyingStream(decompressor, openChecksum, record?.OpenSize, name, "open-checksum");
        return new MetadataFile(raw, decompressor, content);
    }

    /// <summary>
    /// Reads what the parser left (an XML reader stops at the root's end) so that every byte was
    /// hashed, then checks both checksums. Throws <see cref="OperationFailedException"/> naming the
    /// file on a mismatch.
    /// </summary>
    public void Finish()
    {
        Drain(_content);
        Drain(_raw);
    }

    public void Dispose()
    {
        _content.Dispose();
        _decompressor.Dispose();
        _raw.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="parse"/> over the content, then <see cref="Finish"/>. A checksum
    /// mismatch wins over a parse error: a corrupt file is reported as corrupt, not as bad XML.
    /// </summary>
    public static T Read<T>(Stream input, RepomdRecord? record, string name, Func<Stream, T> parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        using var stream = Open(input, record, name);
        T result;
        try
        {
            result = parse(stream.Content);
        }
        catch (Exception e) when (e is not (OfflineKitException or OperationCanceledException))
        {
            // Corruption usually shows up as bad XML or a broken compressed stream first.
            try
            {
                stream.Finish();
            }
            catch (OperationFailedException mismatch)
            {
                throw new OperationFailedException(mismatch.Message, e);
            }
            catch (Exception)
            {
                // Unreadable to the end: the parse error below says what went wrong.
            }

            throw new OperationFailedException($"{name}: {e.Message}", e);
        }

        stream.Finish();
        return result;
    }

    private static void Drain(Stream s)
    {
        var buffer = new byte[81920];
        while (s.Read(buffer, 0, buffer.Length) > 0)
        {
        }
    }

    // The algorithm is the repository's choice, named in repomd.xml: old (EL7-era) repos use sha1,
    // which is why it is accepted at all.
    internal static HashAlgorithmName? Algorithm(string type) => type.ToLowerInvariant() switch
    {
        "sha" or "sha1" => new HashAlgorithmName("SHA1"),
        "sha256" or "sha384" or "sha512" => new HashAlgorithmName(type.ToUpperInvariant()),
        _ => null,
    };

    /// <summary>Hashes and counts what is read; at the end compares with what repomd said.</summary>
    private sealed class VerifyingStream : OfflineKit.IO.ReadOnlyStream
    {
        private readonly Stream _inner;
        private readonly IncrementalHash? _hash;
        private readonly RpmChecksum? _expected;
        private readonly long? _expectedSize;
        private readonly string _name;
        private readonly string _what;
        private long _count;
        private bool _checked;

        public VerifyingStream(Stream inner, RpmChecksum? expected, long? expectedSize, string name, string what)
        {
            _inner = inner;
            _expected = expected;
            _expectedSize = expectedSize;
            _name = name;
            _what = what;
            if (expected is not null)
            {
                var algorithm = Algorithm(expected.Type)
                    ?? throw new OperationFailedException($"{name}: unsupported {what} type '{expected.Type}' in repomd.xml");
                _hash = IncrementalHash.CreateHash(algorithm);
            }
        }

        public override long Position { get => _count; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            var n = _inner.Read(buffer);
            if (n == 0)
            {
                if (buffer.Length > 0)
                {
                    Check();
                }

                return 0;
            }

            _hash?.AppendData(buffer[..n]);
            _count += n;
            return n;
        }

        // Metadata is read synchronously by XmlReader; an async caller gets the same path.
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash?.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Check()
        {
            if (_checked)
            {
                return;
            }

            _checked = true;
            if (_expectedSize is { } size && size != _count)
            {
                throw new OperationFailedException(
                    $"{_name}: {(_what == "checksum" ? "size" : "open-size")} mismatch: repomd.xml says {size} bytes, got {_count}");
            }

            if (_hash is not null && _expected is not null)
            {
                var actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
                if (!string.Equals(actual, _expected.Value, StringComparison.OrdinalIgnoreCase))
                {
                    throw new OperationFailedException(
                        $"{_name}: {_what} mismatch: repomd.xml says {_expected.Type}:{_expected.Value}, the file has {_expected.Type}:{actual}");
                }
            }
        }
    }

}
