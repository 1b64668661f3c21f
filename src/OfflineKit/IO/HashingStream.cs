using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace OfflineKit.IO;

/// <summary>
/// Passes bytes through (read or write) while computing their SHA-256 and counting them, so a
/// digest is checked as data streams and nothing is read twice.
/// </summary>
public sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash? _hash;
    private readonly HashBehind? _behind;
    private byte[]? _digest;

    /// <param name="countOnly">Count bytes without hashing them (progress where no digest is wanted).</param>
    /// <param name="background">
    /// Hash on a thread of its own (a whole bundle's checksum on a second core beside the reading and
    /// writing); each chunk is copied once, a memcpy far cheaper than the hash, so callers may reuse
    /// their buffers, and at most a few MB wait for the hasher.
    /// </param>
    public HashingStream(Stream inner, bool leaveOpen = false, bool countOnly = false, bool background = false)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _hash = countOnly ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _behind = background && _hash is not null ? new HashBehind(_hash) : null;
    }

    /// <summary>Bytes that went through so far.</summary>
    public long BytesHashed { get; private set; }

    /// <summary>Lower-case hex SHA-256 of everything that went through; ends the hashing.</summary>
    public string HexDigest => Convert.ToHexStringLower(_digest ??= TakeDigest());

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => _inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesHashed;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = _inner.Read(buffer);
        Append(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Append(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        _inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _behind?.Dispose();
            _hash?.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _behind?.Dispose();
        _hash?.Dispose();
        if (!_leaveOpen)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_digest is not null)
        {
            throw new InvalidOperationException("the digest was already taken");
        }

        if (_behind is not null)
        {
            _behind.Add(data);
        }
        else
        {
            _hash?.AppendData(data);
        }

        BytesHashed += data.Length;
    }

    private byte[] TakeDigest()
    {
        var hash = _hash ?? throw new InvalidOperationException("this stream only counts");
        _behind?.Complete();
        return hash.GetHashAndReset();
    }

    /// <summary>The hashing thread of a background <see cref="HashingStream"/>: copies of the chunks, hashed in order.</summary>
    private sealed class HashBehind : IDisposable
    {
        private readonly IncrementalHash _hash;
        private readonly BlockingCollection<(byte[] Buffer, int Length)> _chunks = new(boundedCapacity: 8);
        private readonly Thread _thread;
        private bool _disposed;

        public HashBehind(IncrementalHash hash)
        {
            _hash = hash;
            _thread = new Thread(Run) { IsBackground = true, Name = "hash-behind" };
            _thread.Start();
        }

        public void Add(ReadOnlySpan<byte> data)
        {
            if (data.IsEmpty)
            {
                return;
            }

            var copy = ArrayPool<byte>.Shared.Rent(data.Length);
            data.CopyTo(copy);
            _chunks.Add((copy, data.Length));
        }

        /// <summary>Waits until every chunk is hashed.</summary>
        public void Complete()
        {
            _chunks.CompleteAdding();
            _thread.Join();
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Complete();
            _chunks.Dispose();
        }

        private void Run()
        {
            foreach (var (buffer, length) in _chunks.GetConsumingEnumerable())
            {
                _hash.AppendData(buffer, 0, length);
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
