using System.Runtime.InteropServices;

namespace OfflineKit.IO;

/// <summary>
/// What the readers on a system compression library (<see cref="NativeXzStream"/>,
/// <see cref="NativeZstdStream"/>) share: the compressed stream they read, a native input buffer the
/// library reads from, the position, and freeing the library's state exactly once.
/// </summary>
public abstract unsafe class NativeDecoderStream : ReadOnlyStream
{
    protected const int InputSize = 1 << 17;
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private bool _freed;

    protected NativeDecoderStream(Stream inner, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        Input = (byte*)NativeMemory.Alloc(InputSize);
    }

    ~NativeDecoderStream() => Dispose(false);

    /// <summary>The native buffer compressed bytes are read into.</summary>
    protected byte* Input { get; private set; }

    /// <summary>Whether the compressed stream has ended.</summary>
    protected bool InputEnded { get; private set; }

    /// <summary>Decompressed bytes given out so far.</summary>
    public override long Position { get => Consumed; set => throw new NotSupportedException(); }

    protected long Consumed { get; set; }

    // Decoding is CPU work: an async caller gets the same path.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    /// <summary>Reads the next compressed bytes into <see cref="Input"/>; returns how many (0 at the end).</summary>
    protected int Refill()
    {
        ObjectDisposedException.ThrowIf(_freed, this);
        var n = _inner.Read(new Span<byte>(Input, InputSize));
        InputEnded = n == 0;
        return n;
    }

    /// <summary>Frees the library's own state (called once, also from the finalizer).</summary>
    protected abstract void FreeDecoder();

    protected override void Dispose(bool disposing)
    {
        if (!_freed)
        {
            _freed = true;
            FreeDecoder();
            NativeMemory.Free(Input);
            Input = null;
            if (disposing && !_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
