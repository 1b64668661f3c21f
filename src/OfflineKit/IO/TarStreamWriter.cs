using System.Buffers;
using System.Globalization;
using System.Text;

namespace OfflineKit.IO;

/// <summary>
/// Writes a POSIX ustar stream with every header field fixed by the caller (mode, mtime, owner),
/// so the same entries give the same bytes. Data is copied as it streams, never buffered whole.
/// Long names get a PAX 'path' record; sizes past ustar's 8 GiB use the base-256 form GNU tar and
/// every modern reader accept.
/// </summary>
public sealed class TarStreamWriter
{
    private const int Block = 512;
    private const long MaxOctalSize = 077777777777L; // 11 octal digits
    private readonly Stream _output;
    private readonly long _mtime;

    public TarStreamWriter(Stream output, DateTimeOffset mtime)
    {
        _output = output;
        _mtime = mtime.ToUnixTimeSeconds();
    }

    public Task WriteDirectoryAsync(string path, int mode, CancellationToken cancellationToken = default) =>
        WriteHeaderAsync(path.TrimEnd('/') + "/", (byte)'5', 0, mode, cancellationToken);

    /// <summary>
    /// Writes a regular file of exactly <paramref name="size"/> bytes read from <paramref name="data"/>: a
    /// file copied by the kernel where the output can take it so (<see cref="IRangeCopyTarget"/>).
    /// </summary>
    public async Task WriteFileAsync(string path, long size, int mode, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        await WriteHeaderAsync(path, (byte)'0', size, mode, cancellationToken).ConfigureAwait(false);
        if (data is FileStream file && _output is IRangeCopyTarget { CanCopyRanges: true } target)
        {
            var copied = await target.CopyFromAsync(file, size, cancellationToken).ConfigureAwait(false);
            if (copied < size)
            {
                throw new IOException($"{path}: the source ended {size - copied} bytes short of the {size} bytes announced");
            }

            if (file.Position < file.Length)
            {
                throw new IOException($"{path}: the source is longer than the {size} bytes announced");
            }

            await PadAsync(size, cancellationToken).ConfigureAwait(false);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            var left = size;
            while (left > 0)
            {
                var n = await data.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"{path}: the source ended {left} bytes short of the {size} bytes announced");
                }

                await _output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                left -= n;
            }

            if (await data.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw new IOException($"{path}: the source is longer than the {size} bytes announced");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await PadAsync(size, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The end-of-archive marker: two zero blocks.</summary>
    /// <summary>
    /// A regular file whose content <paramref name="write"/> writes straight into the tarball (an archive
    /// made on the fly), exactly <paramref name="size"/> bytes: more or fewer is an IOException.
    /// </summary>
    public async Task WriteFileAsync(string path, long size, int mode, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        await WriteHeaderAsync(path, (byte)'0', size, mode, cancellationToken).ConfigureAwait(false);
        var bounded = new BoundedWriteStream(_output, size, path);
        await write(bounded, cancellationToken).ConfigureAwait(false);
        if (bounded.Left != 0)
        {
            throw new IOException($"{path}: the content ended {bounded.Left} bytes short of the {size} bytes announced");
        }

        await PadAsync(size, cancellationToken).ConfigureAwait(false);
    }

    public Task FinishAsync(CancellationToken cancellationToken = default) =>
        _output.WriteAsync(new byte[Block * 2], cancellationToken).AsTask();

    private async Task WriteHeaderAsync(string path, byte type, long size, int mode, CancellationToken cancellationToken)
    {
        var nameBytes = Encoding.UTF8.GetBytes(path);
        var (prefix, name) = Split(nameBytes);
        if (name is null)
        {
            // Too long for ustar's name/prefix: a PAX extended header carries the full path.
            var record = PaxRecord("path", path);
            var pax = Header("PaxHeaders/" + Tail(path), (byte)'x', record.Length, BundlePaxMode, []);
            await _output.WriteAsync(pax, cancellationToken).ConfigureAwait(false);
            await _output.WriteAsync(record, cancellationToken).ConfigureAwait(false);
            await PadAsync(record.Length, cancellationToken).ConfigureAwait(false);
            (prefix, name) = ([], Encoding.UTF8.GetBytes(Tail(path)));
        }

        var header = Header(name, type, size, mode, prefix);
        await _output.WriteAsync(header, cancellationToken).ConfigureAwait(false);
    }

    private const int BundlePaxMode = 0b110_100_100;

    private byte[] Header(string name, byte type, long size, int mode, byte[] prefix) =>
        Header(Encoding.UTF8.GetBytes(name.Length > 100 ? name[..100] : name), type, size, mode, prefix);

    private byte[] Header(byte[] name, byte type, long size, int mode, byte[] prefix)
    {
        var h = new byte[Block];
        name.AsSpan(0, Math.Min(100, name.Length)).CopyTo(h);
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, 0); // uid
        Octal(h, 116, 8, 0); // gid
        if (size > MaxOctalSize)
        {
            // base-256: high bit set, big-endian value in the remaining bytes.
            h[124] = 0x80;
            for (var i = 0; i < 8; i++)
            {
                h[135 - i] = (byte)(size >> (8 * i));
            }
        }
        else
        {
            Octal(h, 124, 12, size);
        }

        Octal(h, 136, 12, _mtime);
        h[156] = type;
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        "root"u8.CopyTo(h.AsSpan(265));
        "root"u8.CopyTo(h.AsSpan(297));
        prefix.CopyTo(h.AsSpan(345));

        // The checksum is computed with its own field as eight spaces.
        h.AsSpan(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in h)
        {
            sum += b;
        }

        var text = Convert.ToString(sum, 8).PadLeft(6, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(h, 148);
        h[154] = 0;
        h[155] = (byte)' ';
        return h;
    }

    private static void Octal(byte[] h, int offset, int length, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(h, offset);
        h[offset + length - 1] = 0;
    }

    /// <summary>Splits a path into ustar's prefix (≤155) and name (≤100) at a '/'; name is null if it cannot.</summary>
    private static (byte[] Prefix, byte[]? Name) Split(byte[] path)
    {
        if (path.Length <= 100)
        {
            return ([], path);
        }

        for (var i = path.Length - 1; i > 0; i--)
        {
            if (path[i] == (byte)'/' && i <= 155 && path.Length - i - 1 <= 100 && path.Length - i - 1 > 0)
            {
                return (path[..i], path[(i + 1)..]);
            }
        }

        return ([], null);
    }

    private static string Tail(string path)
    {
        var t = path.TrimEnd('/');
        var i = t.LastIndexOf('/');
        var tail = i < 0 ? t : t[(i + 1)..];
        return tail.Length > 90 ? tail[..90] : tail;
    }

    private static byte[] PaxRecord(string key, string value)
    {
        // "%d %s=%s\n" where %d counts the whole record, its own digits included.
        var body = $" {key}={value}\n";
        var bodyLength = Encoding.UTF8.GetByteCount(body);
        var length = bodyLength + 1;
        while (length.ToString(CultureInfo.InvariantCulture).Length + bodyLength != length)
        {
            length = length.ToString(CultureInfo.InvariantCulture).Length + bodyLength;
        }

        return Encoding.UTF8.GetBytes(length.ToString(CultureInfo.InvariantCulture) + body);
    }

    private Task PadAsync(long size, CancellationToken cancellationToken)
    {
        var pad = (int)((Block - (size % Block)) % Block);
        return pad == 0 ? Task.CompletedTask : _output.WriteAsync(new byte[pad], cancellationToken).AsTask();
    }

    /// <summary>Passes writes through, refusing any byte past the size the header announced.</summary>
    private sealed class BoundedWriteStream(Stream inner, long announced, string path) : Stream, IRangeCopyTarget
    {
        private readonly long _announced = announced;

        public long Left { get; private set; } = announced;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public bool CanCopyRanges => inner is IRangeCopyTarget { CanCopyRanges: true };

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _announced - Left; set => throw new NotSupportedException(); }

        public async Task<long> CopyFromAsync(FileStream source, long length, CancellationToken cancellationToken = default)
        {
            Take(length);
            var copied = await ((IRangeCopyTarget)inner).CopyFromAsync(source, length, cancellationToken).ConfigureAwait(false);
            Left += length - copied;
            return copied;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Take(buffer.Length);
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Take(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // The outer tarball is flushed by its owner, once.
        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Take(long count)
        {
            if (count > Left)
            {
                throw new IOException($"{path}: the content is longer than the {_announced} bytes announced");
            }

            Left -= count;
        }
    }
}
