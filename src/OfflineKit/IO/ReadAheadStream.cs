using System.Buffers;
using System.Threading.Channels;

namespace OfflineKit.IO;

/// <summary>
/// Reads its source on a background task, a few 1 MiB chunks ahead of the reader. Whatever the source
/// does per byte (hashing the whole tarball) then runs on a second core while the reader does its own
/// work (hashing each file). An error of the source reaches the reader where the data stops.
/// </summary>
public sealed class ReadAheadStream : Stream
{
    private const int ChunkSize = 1 << 20;
    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly Channel<(byte[] Buffer, int Length)> _chunks = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private byte[]? _current;
    private int _offset;
    private int _length;
    private bool _ended;
    private bool _closed;

    public ReadAheadStream(Stream source, bool leaveOpen = false)
    {
        _source = source;
        _leaveOpen = leaveOpen;
        _pump = Task.Run(PumpAsync);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (_current is null || _offset == _length)
        {
            Release();
            if (_ended)
            {
                return 0;
            }

            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _ended = true;

                // The pump ended; if it failed, its error is the reader's now.
                await _pump.ConfigureAwait(false);
                return 0;
            }

            if (_chunks.Reader.TryRead(out var chunk))
            {
                (_current, _length, _offset) = (chunk.Buffer, chunk.Length, 0);
            }
        }

        // A copy, not a hand-off: callers reuse their buffers.
        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer.Span);
        _offset += n;
        return n;
    }

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                var n = await _source.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                await _chunks.Writer.WriteAsync((buffer, n), _stop.Token).ConfigureAwait(false);
                if (n < ChunkSize)
                {
                    break;
                }
            }

            _chunks.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _chunks.Writer.TryComplete(e);
            throw;
        }
    }

    private void Release()
    {
        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = null;
        }
    }

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
            CloseAsync().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Stopped on purpose, or already failed and reported to the reader.
        }

        Release();
        while (_chunks.Reader.TryRead(out var chunk))
        {
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        }

        _stop.Dispose();
        if (!_leaveOpen)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }
}
