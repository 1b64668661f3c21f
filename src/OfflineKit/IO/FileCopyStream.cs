using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OfflineKit.IO;

/// <summary>
/// A stream that can take a range of an open file without the bytes passing through this process.
/// Wrappers that only pass bytes on (a tar entry's bounds, a keep-open wrapper) forward it when what
/// they wrap can; a wrapper that must see the bytes (hashing, compressing) is not one.
/// </summary>
public interface IRangeCopyTarget
{
    /// <summary>Whether <see cref="CopyFromAsync"/> works through this stream.</summary>
    bool CanCopyRanges { get; }

    /// <summary>
    /// Appends up to <paramref name="length"/> bytes of <paramref name="source"/> from its position and
    /// moves that position past them; fewer only where the source ends first.
    /// </summary>
    Task<long> CopyFromAsync(FileStream source, long length, CancellationToken cancellationToken = default);
}

/// <summary>
/// Writes a new file, sequentially, through its handle. <see cref="CopyFromAsync"/> has the kernel copy
/// (copy_file_range(2)): on one file system the bytes go from page cache to page cache as `cp` moves
/// them, not through a buffer here and back; where the kernel cannot (another file system, an old
/// kernel) it reads and writes. Small writes are gathered into one buffer.
/// </summary>
public sealed class FileCopyStream : Stream, IRangeCopyTarget
{
    private const int BufferSize = 1 << 16;
    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _buffered;
    private long _position;
    private bool _kernelCopy = true;

    /// <summary>Creates (or truncates) <paramref name="path"/>.</summary>
    public FileCopyStream(string path)
    {
        _handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public bool CanCopyRanges => true;

    public override long Length => _position + _buffered;

    public override long Position { get => Length; set => throw new NotSupportedException(); }

    /// <summary>Bytes taken by the kernel copy rather than written from here (for tests and timing).</summary>
    public long BytesCopiedByKernel { get; private set; }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_buffered + buffer.Length <= BufferSize)
        {
            buffer.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += buffer.Length;
            return;
        }

        FlushBuffer();
        if (buffer.Length < BufferSize)
        {
            buffer.CopyTo(_buffer);
            _buffered = buffer.Length;
            return;
        }

        RandomAccess.Write(_handle, buffer, _position);
        _position += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public Task<long> CopyFromAsync(FileStream source, long length, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        FlushBuffer();
        long inOffset = source.Position, done = 0;
        var input = source.SafeFileHandle;
        byte[]? chunk = null;
        try
        {
            done = Copy(input, ref inOffset, length, ref chunk, cancellationToken);
        }
        finally
        {
            if (chunk is not null)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        source.Position = inOffset;
        return Task.FromResult(done);
    }

    private long Copy(SafeFileHandle input, ref long inOffset, long length, ref byte[]? chunk, CancellationToken cancellationToken)
    {
        long done = 0;
        while (done < length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var want = (nuint)Math.Min(length - done, 1L << 30);
            long n;
            if (_kernelCopy)
            {
                long outOffset = _position;
                n = CopyFileRange(input, ref inOffset, _handle, ref outOffset, want);
                if (n < 0)
                {
                    // EXDEV, ENOSYS, EINVAL, EOPNOTSUPP: this pair of files cannot be copied in the kernel.
                    _kernelCopy = false;
                    continue;
                }

                BytesCopiedByKernel += n;
            }
            else
            {
                // One buffer for the whole copy, however many rounds it takes.
                chunk ??= ArrayPool<byte>.Shared.Rent(1 << 20);
                n = RandomAccess.Read(input, chunk.AsSpan(0, (int)Math.Min((long)want, chunk.Length)), inOffset);
                RandomAccess.Write(_handle, chunk.AsSpan(0, (int)n), _position);
                inOffset += n;
            }

            if (n == 0)
            {
                break;
            }

            _position += n;
            done += n;
        }

        return done;
    }

    public override void Flush() => FlushBuffer();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        FlushBuffer();
        return Task.CompletedTask;
    }

    /// <summary>Writes what is buffered and has the file system put the whole file on disk (fsync).</summary>
    public void FlushToDisk()
    {
        FlushBuffer();
        RandomAccess.FlushToDisk(_handle);
    }

    /// <summary>
    /// Has the kernel start writing what is in the file so far to disk, without waiting for it
    /// (sync_file_range, SYNC_FILE_RANGE_WRITE): a later <see cref="FlushToDisk"/> then has less left to
    /// wait for. Safe to call from another thread while the file is written; does nothing where the
    /// call is not available, or once the file is closed.
    /// </summary>
    public void StartWriteback()
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            _ = sync_file_range((int)_handle.DangerousGetHandle(), 0, 0, SyncFileRangeWrite);
        }
        catch (Exception e) when (e is ObjectDisposedException or EntryPointNotFoundException or DllNotFoundException)
        {
            // Closed already, or no such call: the final flush does it all.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_handle.IsClosed)
        {
            try
            {
                FlushBuffer();
            }
            finally
            {
                _handle.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private void FlushBuffer()
    {
        if (_buffered == 0)
        {
            return;
        }

        RandomAccess.Write(_handle, _buffer.AsSpan(0, _buffered), _position);
        _position += _buffered;
        _buffered = 0;
    }

    private static long CopyFileRange(SafeFileHandle input, ref long inOffset, SafeFileHandle output, ref long outOffset, nuint length)
    {
        bool inRef = false, outRef = false;
        try
        {
            input.DangerousAddRef(ref inRef);
            output.DangerousAddRef(ref outRef);
            long n;
            do
            {
                n = copy_file_range((int)input.DangerousGetHandle(), ref inOffset, (int)output.DangerousGetHandle(), ref outOffset, length, 0);
            }
            while (n < 0 && Marshal.GetLastPInvokeError() == EINTR);

            return n;
        }
        finally
        {
            if (inRef)
            {
                input.DangerousRelease();
            }

            if (outRef)
            {
                output.DangerousRelease();
            }
        }
    }

    private const int EINTR = 4;
    private const uint SyncFileRangeWrite = 2;

#pragma warning disable SA1300, IDE1006 // libc's own name
    [DllImport("libc", SetLastError = true)]
    private static extern nint copy_file_range(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint len, uint flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);
#pragma warning restore SA1300, IDE1006
}
