using System.Globalization;
using System.Runtime.InteropServices;

namespace OfflineKit;

/// <summary>
/// Transparent huge pages, on Linux: for the managed heap's next allocations (<see cref="Advise"/>), and
/// for a native decoder's big buffer (<see cref="MapHuge"/>: liblzma's dictionary, NativeXzStream).
/// <para>
/// A cold <c>rpms resolve</c> touches tens of MB of fresh heap, and on a virtual machine each 4 KB page's
/// first touch costs ~10 µs (with the bigger package model of before: ~20,000 faults, a quarter of the
/// process's CPU). The GC reserves its heap
/// as one inaccessible range and makes it read-write 64 KB at a time as it grows, each step also
/// marking it for core dumps; the kernel gives a 2 MB page only where one read-write mapping with the
/// same flags covers the whole aligned 2 MB, so the GC's own steps never get one. Here the range the
/// heap grows into next is made read-write and dumpable ahead, in one mapping advised MADV_HUGEPAGE:
/// the GC's later steps change nothing, and a fault there maps 2 MB at once (measured on the AppStream
/// primary read: 12,800 → 4,900 faults, ~60 ms less). The GC still decommits what it frees as it
/// always does. Where the kernel has no huge pages, or they are off, the advice has no effect.
/// </para>
/// <para>
/// <see cref="Plan"/> is pure (the mappings' text in, a range out); <see cref="Advise"/> reads
/// /proc/self/maps and makes the calls. Nothing is touched unless every mapping in the range is the
/// heap's own (anonymous, private, inaccessible or read-write), and a failure only leaves the default.
/// </para>
/// </summary>
public static unsafe partial class HeapPages
{
    private const long HugePage = 2 << 20;

    /// <summary>How far the heap's own mappings must go on past the range's start for it to be advised.</summary>
    public const long Reservation = 1L << 30;

    // mprotect's PROT_READ | PROT_WRITE; madvise's MADV_HUGEPAGE and MADV_DODUMP (asm-generic/mman-common.h).
    private const int ReadWrite = 3;
    private const int AdviseHugePage = 14;
    private const int AdviseDump = 17;

    // mmap's MAP_PRIVATE and MAP_ANONYMOUS (the same on x86-64 and arm64).
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    /// <summary>
    /// The range to advise: <paramref name="bytes"/> (whole 2 MB pages) from the first 2 MB boundary
    /// after the mapping that holds <paramref name="probe"/> (a live heap object), when the run of the
    /// heap's own mappings from there goes on for at least <see cref="Reservation"/>; else null. The
    /// GC reserves far more than that in one piece (256 GB by default), so a shorter run is not surely
    /// its reservation (a heap with a hard limit reserves little, and past its end the next anonymous
    /// mapping may be a thread's stack and its guard page): it is left alone.
    /// </summary>
    public static (long Start, long Length)? Plan(IEnumerable<string> maps, long probe, long bytes)
    {
        ArgumentNullException.ThrowIfNull(maps);
        long? start = null;
        var end = 0L;
        foreach (var line in maps)
        {
            if (!TryParse(line, out var lo, out var hi, out var heapOwn))
            {
                return null;
            }

            if (start is null)
            {
                if (probe >= lo && probe < hi && heapOwn)
                {
                    start = (hi + HugePage - 1) & ~(HugePage - 1);
                    end = hi;
                }

                continue;
            }

            // The run goes on while each mapping begins where the last ended and is the heap's own.
            if (lo != end || !heapOwn)
            {
                break;
            }

            end = hi;
            if (end - start >= Math.Max(bytes, Reservation))
            {
                break;
            }
        }

        var length = bytes & ~(HugePage - 1);
        return start is { } s && length >= HugePage && end - s >= Math.Max(length, Reservation) ? (s, length) : null;
    }

    /// <summary>
    /// Advises huge pages for the next <paramref name="bytes"/> the heap grows into; what was done, for
    /// OFFLINEKIT_TIMING, or why not. Never throws.
    /// </summary>
    public static string Advise(long bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "huge pages: not Linux";
        }

        try
        {
            // Where the heap allocates now (a new object is in the youngest region): the range after it is where it grows.
            var probe = new byte[64];
            long address;
            fixed (byte* p = probe)
            {
                address = (long)p;
            }

            var range = Plan(File.ReadLines("/proc/self/maps"), address, bytes);
            if (range is not { } r)
            {
                return "huge pages: no heap range found";
            }

            // Read-write and dumpable first: so the mapping is whole when advised, and stays whole.
            if (mprotect((nint)r.Start, (nuint)r.Length, ReadWrite) != 0
                || madvise((nint)r.Start, (nuint)r.Length, AdviseDump) != 0
                || madvise((nint)r.Start, (nuint)r.Length, AdviseHugePage) != 0)
            {
                return $"huge pages: refused (errno {Marshal.GetLastPInvokeError()})";
            }

            return $"huge pages: {r.Length >> 20} MB of heap from 0x{r.Start:x}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return $"huge pages: {e.Message}";
        }
    }

    /// <summary>
    /// Native memory for a big buffer (a decompressor's dictionary): <paramref name="bytes"/> rounded up to
    /// whole 2 MB pages, mapped at a 2 MB boundary and advised MADV_HUGEPAGE, zeroed; null where it cannot
    /// be mapped (not Linux, or the mapping failed). Give it back with <see cref="UnmapHuge"/> and the same size.
    /// </summary>
    public static void* MapHuge(nuint bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes == 0 || bytes > nuint.MaxValue / 2)
        {
            return null;
        }

        var length = HugeLength(bytes);
        // One page more than asked, then the ends cut off: the kernel aligns a mapping to pages, not to 2 MB.
        var mapped = mmap(0, length + (nuint)HugePage, ReadWrite, MapPrivate | MapAnonymous, -1, 0);
        if (mapped == -1)
        {
            return null;
        }

        var start = (mapped + (nint)(HugePage - 1)) & ~(nint)(HugePage - 1);
        var head = (nuint)(start - mapped);
        var tail = (nuint)HugePage - head;
        if (head > 0)
        {
            _ = munmap(mapped, head);
        }

        if (tail > 0)
        {
            _ = munmap(start + (nint)length, tail);
        }

        // Only advice: where huge pages are off, the memory is the same, in 4 KB pages.
        _ = madvise(start, length, AdviseHugePage);
        return (void*)start;
    }

    /// <summary>Gives back what <see cref="MapHuge"/> mapped for <paramref name="bytes"/>.</summary>
    public static void UnmapHuge(void* memory, nuint bytes)
    {
        if (memory is not null)
        {
            _ = munmap((nint)memory, HugeLength(bytes));
        }
    }

    private static nuint HugeLength(nuint bytes) => (bytes + (nuint)(HugePage - 1)) & ~(nuint)(HugePage - 1);

    // "lo-hi perms offset dev inode [path]": the heap's own mappings are private, anonymous (inode 0,
    // no path) and either inaccessible (reserved) or read-write (committed).
    private static bool TryParse(string line, out long lo, out long hi, out bool heapOwn)
    {
        lo = hi = 0;
        heapOwn = false;
        var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        var dash = fields.Length >= 5 ? fields[0].IndexOf('-', StringComparison.Ordinal) : -1;
        if (dash < 0
            || !long.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out lo)
            || !long.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out hi))
        {
            return false;
        }

        var anonymous = fields[4] == "0" && (fields.Length == 5 || string.IsNullOrWhiteSpace(fields[5]));
        heapOwn = anonymous && (fields[1] is "---p" or "rw-p");
        return true;
    }

#pragma warning disable SA1300, IDE1006 // libc's own names
    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(nint addr, nuint len, int prot);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint addr, nuint len, int advice);

    [LibraryImport("libc")]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc")]
    private static partial int munmap(nint addr, nuint length);
#pragma warning restore SA1300, IDE1006
}
