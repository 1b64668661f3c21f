using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace OfflineKit.IO;

/// <summary>
/// Writes through to its inner stream while a thread of its own computes the SHA-256 of what went
/// through: the hashing of a whole bundle runs on a second core beside the reading and writing,
/// instead of after each write on the same one. Each write is copied once (a memcpy, far cheaper than
/// the hash) so callers may reuse their buffers; at most a few MB wait for the hasher.
/// </summary>
public sealed class BackgroundHashingStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly BlockingCollection<(byte[] Buffer, int Length)> _chunks = new(boundedCapacity: 8);
    private readonly Thread _thread;
    private string? _digest;
    private bool _disposed;

    public BackgroundHashingStream(Stream inner)
    {
        _inner = inner;
        _thread = new Thread(Hash) { IsBackground = true, Name = "hash-behind" };
        _thread.Start();
    }

    /// <summary>Bytes written so far.</summary>
    public long BytesHashed { get; private set; }

    /// <summary>Lower-case hex SHA-256 of everything written; waits for the hasher and ends the stream's writing.</summary>
    public string HexDigest
    {
        get
        {
            if (_digest is null)
            {
                _chunks.CompleteAdding();
                _thread.Join();
                _digest = Convert.ToHexStringLower(_hash.GetHashAndReset());
            }

            return _digest;
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesHashed; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Enqueue(buffer);
        _inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Enqueue(buffer.Span);
        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _chunks.CompleteAdding();
            _thread.Join();
            while (_chunks.TryTake(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }

            _chunks.Dispose();
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Enqueue(ReadOnlySpan<byte> data)
    {
        if (_digest is not null)
        {
            throw new InvalidOperationException("the digest was already taken");
        }

        if (data.IsEmpty)
        {
            return;
        }

        var copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        _chunks.Add((copy, data.Length));
        BytesHashed += data.Length;
    }

    private void Hash()
    {
        foreach (var (buffer, length) in _chunks.GetConsumingEnumerable())
        {
            _hash.AppendData(buffer, 0, length);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
