using System.Runtime.InteropServices;

namespace OfflineKit.IO;

/// <summary>
/// A zstd reader on the system's libzstd (libzstd.so.1: on EL8+ rpm itself links it, on Debian apt and
/// systemd do): faster than SharpCompress's managed port. <see cref="TryOpen"/> returns null where the
/// library cannot be loaded, and the caller falls back to the managed decoder. Concatenated frames are
/// read as one; a truncated or corrupt stream throws <see cref="InvalidDataException"/>.
/// </summary>
public sealed unsafe class NativeZstdStream : NativeDecoderStream
{
    private const string Library = "libzstd.so.1";

    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            return NativeLibrary.TryLoad(Library, typeof(NativeZstdStream).Assembly, null, out _) && ZSTD_versionNumber() >= 10_400;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    });

    private nint _dstream;
    private ZstdBuffer _in;
    private bool _inFrame;

    private NativeZstdStream(Stream inner, bool leaveOpen)
        : base(inner, leaveOpen)
    {
        _dstream = ZSTD_createDStream();
        if (_dstream == 0)
        {
            Dispose();
            throw new InvalidDataException("zstd: the decoder could not start");
        }

        _in = new ZstdBuffer { Data = Input, Size = 0, Pos = 0 };
    }

    /// <summary>Whether libzstd could be loaded here.</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>A zstd decoder reading <paramref name="inner"/>, or null when libzstd is not on this system.</summary>
    public static NativeZstdStream? TryOpen(Stream inner, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return IsAvailable ? new NativeZstdStream(inner, leaveOpen) : null;
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_dstream == 0, this);
        if (buffer.Length == 0)
        {
            return 0;
        }

        fixed (byte* output = buffer)
        {
            var outBuffer = new ZstdBuffer { Data = output, Size = (nuint)buffer.Length, Pos = 0 };
            while (true)
            {
                if (_in.Pos == _in.Size && !InputEnded)
                {
                    _in.Size = (nuint)Refill();
                    _in.Pos = 0;
                }

                if (_in.Pos == _in.Size && InputEnded)
                {
                    // The input is over: the last frame must be complete (libzstd said 0: decoded and
                    // flushed); else flush what the decoder still holds, and if nothing comes, it is cut short.
                    if (!_inFrame)
                    {
                        return 0;
                    }

                    _inFrame = Decode(&outBuffer) != 0;
                    if (outBuffer.Pos == 0)
                    {
                        throw new InvalidDataException("zstd: the compressed data is truncated");
                    }

                    Consumed += (long)outBuffer.Pos;
                    return (int)outBuffer.Pos;
                }

                _inFrame = Decode(&outBuffer) != 0;
                if (outBuffer.Pos > 0)
                {
                    Consumed += (long)outBuffer.Pos;
                    return (int)outBuffer.Pos;
                }
            }
        }
    }

    protected override void FreeDecoder()
    {
        if (_dstream != 0)
        {
            _ = ZSTD_freeDStream(_dstream);
            _dstream = 0;
        }
    }

    private nuint Decode(ZstdBuffer* output)
    {
        fixed (ZstdBuffer* input = &_in)
        {
            var ret = ZSTD_decompressStream(_dstream, output, input);
            if (ZSTD_isError(ret) != 0)
            {
                throw new InvalidDataException($"zstd: the compressed data is corrupt ({Marshal.PtrToStringUTF8(ZSTD_getErrorName(ret))})");
            }

            return ret;
        }
    }

    // ZSTD_inBuffer and ZSTD_outBuffer (zstd.h) have the same layout.
    [StructLayout(LayoutKind.Sequential)]
    private struct ZstdBuffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Pos;
    }

#pragma warning disable SA1300, IDE1006 // libzstd's own names
    [DllImport(Library)]
    private static extern uint ZSTD_versionNumber();

    [DllImport(Library)]
    private static extern nint ZSTD_createDStream();

    [DllImport(Library)]
    private static extern nuint ZSTD_freeDStream(nint zds);

    [DllImport(Library)]
    private static extern nuint ZSTD_decompressStream(nint zds, ZstdBuffer* output, ZstdBuffer* input);

    [DllImport(Library)]
    private static extern uint ZSTD_isError(nuint code);

    [DllImport(Library)]
    private static extern nint ZSTD_getErrorName(nuint code);
#pragma warning restore SA1300, IDE1006
}
