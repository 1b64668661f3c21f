using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OfflineKit.IO;

/// <summary>
/// An .xz reader on the system's liblzma (liblzma.so.5: xz-libs on EL, liblzma5 on Debian, which rpm,
/// systemd and the xz tool itself link): several times faster than SharpCompress's managed decoder
/// on repository metadata. <see cref="TryOpen"/> returns null where the library cannot be loaded, and
/// the caller falls back to the managed decoder. Concatenated streams are read as one, as `xz -d` does;
/// a truncated or corrupt stream throws <see cref="InvalidDataException"/>, the integrity check included.
/// </summary>
public sealed unsafe class NativeXzStream : NativeDecoderStream
{
    private const string Library = "liblzma.so.5";

    // lzma_ret
    private const int LzmaOk = 0;
    private const int LzmaStreamEnd = 1;
    private const int LzmaMemError = 5;
    private const int LzmaFormatError = 7;
    private const int LzmaOptionsError = 8;
    private const int LzmaDataError = 9;
    private const int LzmaBufError = 10;

    // lzma_action and lzma_stream_decoder's flags
    private const int LzmaRun = 0;
    private const int LzmaFinish = 3;
    private const uint LzmaConcatenated = 0x08;

    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            return NativeLibrary.TryLoad(Library, typeof(NativeXzStream).Assembly, null, out _) && lzma_version_number() >= 50_000_000;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    });

    // Blocks of at least this size (the dictionary: 8 MB at xz's default preset, the one big block a
    // decoder has) are mapped in huge pages; the rest come from malloc.
    private const nuint HugeBlock = 1 << 20;

    // What the allocator mapped, by address: its size, for the unmapping (liblzma's free gives none).
    private static readonly ConcurrentDictionary<nint, nuint> Mapped = new();
    private static readonly LzmaAllocator* Allocator = CreateAllocator();

    private LzmaStream* _strm;
    private bool _ended;

    private NativeXzStream(Stream inner, bool leaveOpen)
        : base(inner, leaveOpen)
    {
        _strm = (LzmaStream*)NativeMemory.AllocZeroed((nuint)sizeof(LzmaStream));
        _strm->Allocator = (nint)Allocator;
        // No memory limit: repository metadata is compressed with the default presets (<= 64 MiB dictionaries).
        var ret = lzma_stream_decoder(_strm, ulong.MaxValue, LzmaConcatenated);
        if (ret != LzmaOk)
        {
            Dispose();
            throw new InvalidDataException($"xz: the decoder could not start (liblzma error {ret})");
        }
    }

    /// <summary>Whether liblzma could be loaded here.</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>An xz decoder reading <paramref name="inner"/>, or null when liblzma is not on this system.</summary>
    public static NativeXzStream? TryOpen(Stream inner, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return IsAvailable ? new NativeXzStream(inner, leaveOpen) : null;
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_strm is null, this);
        if (buffer.Length == 0 || _ended)
        {
            return 0;
        }

        fixed (byte* output = buffer)
        {
            _strm->NextOut = output;
            _strm->AvailOut = (nuint)buffer.Length;
            while (true)
            {
                if (_strm->AvailIn == 0 && !InputEnded)
                {
                    _strm->AvailIn = (nuint)Refill();
                    _strm->NextIn = Input;
                }

                var ret = lzma_code(_strm, InputEnded ? LzmaFinish : LzmaRun);
                var produced = buffer.Length - (int)_strm->AvailOut;
                if (ret == LzmaStreamEnd)
                {
                    _ended = true;
                    Consumed += produced;
                    return produced;
                }

                if (ret != LzmaOk)
                {
                    throw new InvalidDataException(Describe(ret));
                }

                if (produced > 0)
                {
                    Consumed += produced;
                    return produced;
                }
            }
        }
    }

    protected override void FreeDecoder()
    {
        if (_strm is not null)
        {
            lzma_end(_strm);
            NativeMemory.Free(_strm);
            _strm = null;
        }
    }

    /// <summary>Bytes the decoders hold now in huge-page mappings (their dictionaries), for tests.</summary>
    internal static long HugeBytesMapped => Mapped.Values.Aggregate(0L, (sum, n) => sum + (long)n);

    private static LzmaAllocator* CreateAllocator()
    {
        var allocator = (LzmaAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(LzmaAllocator));
        allocator->Alloc = &Alloc;
        allocator->Free = &Free;
        return allocator;
    }

    // The dictionary is written from its first byte to its last as the stream decodes: in 4 KB pages,
    // ~2,100 first touches (page faults) for an 8 MB one; in 2 MB pages, ~600 in all (`xz -dc` of a
    // 27 MB AppStream primary: ~20 ms less, on the thread an xz resolve waits for).
    [UnmanagedCallersOnly]
    private static void* Alloc(nint opaque, nuint count, nuint size)
    {
        try
        {
            if (size != 0 && count > nuint.MaxValue / size)
            {
                return null;
            }

            var bytes = count * size;
            if (bytes >= HugeBlock && HeapPages.MapHuge(bytes) is var mapped && mapped is not null)
            {
                Mapped[(nint)mapped] = bytes;
                return mapped;
            }

            return NativeMemory.Alloc(bytes == 0 ? 1 : bytes);
        }
        catch (OutOfMemoryException)
        {
            return null;
        }
    }

    [UnmanagedCallersOnly]
    private static void Free(nint opaque, void* memory)
    {
        if (memory is null)
        {
            return;
        }

        if (Mapped.TryRemove((nint)memory, out var bytes))
        {
            HeapPages.UnmapHuge(memory, bytes);
        }
        else
        {
            NativeMemory.Free(memory);
        }
    }

    private static string Describe(int ret) => ret switch
    {
        LzmaBufError => "xz: the compressed data is truncated",
        LzmaFormatError => "xz: not in the .xz format",
        LzmaDataError => "xz: the compressed data is corrupt",
        LzmaOptionsError => "xz: unsupported compression options",
        LzmaMemError => "xz: out of memory",
        _ => $"xz: the compressed data could not be read (liblzma error {ret})",
    };

    // liblzma's lzma_allocator (lzma/base.h): alloc(opaque, nmemb, size), free(opaque, ptr), opaque.
    [StructLayout(LayoutKind.Sequential)]
    private struct LzmaAllocator
    {
        public delegate* unmanaged<nint, nuint, nuint, void*> Alloc;
        public delegate* unmanaged<nint, void*, void> Free;
        public nint Opaque;
    }

    // liblzma's lzma_stream (lzma/base.h), stable since 5.0: LZMA_STREAM_INIT is all zeros.
    [StructLayout(LayoutKind.Sequential)]
    private struct LzmaStream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
        public nint Allocator;
        public nint Internal;
        public nint Reserved1;
        public nint Reserved2;
        public nint Reserved3;
        public nint Reserved4;
        public ulong SeekPos;
        public ulong ReservedInt2;
        public nuint ReservedInt3;
        public nuint ReservedInt4;
        public int ReservedEnum1;
        public int ReservedEnum2;
    }

#pragma warning disable SA1300, IDE1006 // liblzma's own names
    [DllImport(Library)]
    private static extern uint lzma_version_number();

    [DllImport(Library)]
    private static extern int lzma_stream_decoder(LzmaStream* strm, ulong memlimit, uint flags);

    [DllImport(Library)]
    private static extern int lzma_code(LzmaStream* strm, int action);

    [DllImport(Library)]
    private static extern void lzma_end(LzmaStream* strm);
#pragma warning restore SA1300, IDE1006
}
