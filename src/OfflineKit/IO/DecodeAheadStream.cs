using System.Buffers;
using System.Collections.Concurrent;

namespace OfflineKit.IO;

/// <summary>
/// Reads its source (a decompressor) on a thread of its own, a few chunks ahead of a synchronous
/// reader (an XML parser): decompressing and parsing then run on two cores instead of taking turns.
/// A thread, not a pool task: the reader blocks while it waits, and several of these run at once on
/// a machine with few cores. An error of the source reaches the reader where the data stops.
/// </summary>
public sealed class DecodeAheadStream : ReadOnlyStream
{
    private const int ChunkSize = 1 << 18;
    private readonly Stream _source;
    // 1 MB ahead: 2 MB more measured no faster on the metadata reads, and two big ones run at once.
    private readonly BlockingCollection<(byte[] Buffer, int Length)> _chunks = new(boundedCapacity: 4);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private Exception? _error;
    private byte[]? _current;
    private int _offset;
    private int _length;
    private long _position;
    private bool _closed;

    public DecodeAheadStream(Stream source)
    {
        _source = source;
        _thread = new Thread(Pump) { IsBackground = true, Name = "decode-ahead" };
        _thread.Start();
    }

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (_current is null || _offset == _length)
        {
            Release();
            if (!_chunks.TryTake(out var chunk, Timeout.Infinite))
            {
                // The pump finished; if it failed, its error is the reader's now.
                if (_error is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_error).Throw();
                }

                return 0;
            }

            (_current, _length, _offset) = (chunk.Buffer, chunk.Length, 0);
        }

        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_closed)
        {
            _closed = true;
            _stop.Cancel();
            _thread.Join();
            Release();
            while (_chunks.TryTake(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }

            _chunks.Dispose();
            _stop.Dispose();
            _source.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Pump()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                var n = _source.ReadAtLeast(buffer.AsSpan(0, ChunkSize), ChunkSize, throwOnEndOfStream: false);
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                _chunks.Add((buffer, n), _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed early: the reader wants no more.
        }
        catch (Exception e)
        {
            _error = e;
        }
        finally
        {
            _chunks.CompleteAdding();
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
}
