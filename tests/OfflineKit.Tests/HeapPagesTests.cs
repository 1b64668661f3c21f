namespace OfflineKit.Tests;

/// <summary>Huge pages for the heap: the range chosen from the process's mappings, and what the kernel then shows.</summary>
public sealed class HeapPagesTests
{
    private const long M = 1 << 20;

    // A GC reservation as /proc/self/maps lists it: committed pieces of regions between reserved ones
    // (the last reserved piece 8 GB), then a library mapped right after the reservation.
    private static readonly string[] Maps =
    [
        "55d2fb598000-55d2fb78e000 rw-p 00000000 00:00 0                          [heap]",
        "7f15d5000000-7f15d5001000 rw-p 00000000 00:00 0 ",
        "7f15d5001000-7f15d5800000 ---p 00000000 00:00 0 ",
        "7f15d5800000-7f15d5811000 rw-p 00000000 00:00 0 ",
        "7f15d5811000-7f15d5c00000 ---p 00000000 00:00 0 ",
        "7f15d5c00000-7f15d5c01000 rw-p 00000000 00:00 0 ",
        "7f15d5c01000-7f17d5c00000 ---p 00000000 00:00 0 ",
        "7f17d5c00000-7f17d5d00000 r--p 00000000 fe:00 332412                     /usr/lib/x86_64-linux-gnu/libicuuc.so.72.1",
    ];

    [Fact]
    public void The_range_starts_at_the_first_2_MB_boundary_after_the_probes_mapping_and_spans_the_heaps_own_mappings()
    {
        var range = HeapPages.Plan(Maps, 0x7f15d5800100, 128 * M);

        Assert.Equal((0x7f15d5a00000L, 128 * M), range);
    }

    [Fact]
    public void No_range_where_the_heaps_mappings_end_within_a_gigabyte_it_may_not_be_the_gcs_reservation()
    {
        // A heap with a hard limit reserves little: past it, an anonymous mapping can be a thread's
        // stack with its guard page, which must stay inaccessible.
        string[] maps =
        [
            "7f15d5800000-7f15d5811000 rw-p 00000000 00:00 0 ",
            "7f15d5811000-7f15f0000000 ---p 00000000 00:00 0 ",
            "7f15f0000000-7f15f0001000 ---p 00000000 00:00 0 ",
            "7f15f0001000-7f15f0801000 rw-p 00000000 00:00 0 ",
            "7f15f0801000-7f15f0900000 r--p 00000000 fe:00 332412                     /usr/lib/x86_64-linux-gnu/libc.so.6",
        ];

        Assert.Null(HeapPages.Plan(maps, 0x7f15d5800100, 128 * M));
        Assert.Equal((0x7f15d5a00000L, 128 * M), HeapPages.Plan(Maps, 0x7f15d5800100, 128 * M));
    }

    [Theory]
    [InlineData(0x10, "no mapping holds it")]
    [InlineData(0x55d2fb598100, "the [heap] of malloc: named, not the GC's")]
    [InlineData(0x7f17d5c00100, "a file mapping")]
    public void No_range_where_the_probe_is_not_in_the_heaps_own_mappings(long probe, string why)
    {
        Assert.True(HeapPages.Plan(Maps, probe, 128 * M) is null, why);
    }

    [Fact]
    public void No_range_when_a_foreign_mapping_comes_first()
    {
        string[] maps =
        [
            "7f15d5800000-7f15d5811000 rw-p 00000000 00:00 0 ",
            "7f15d5811000-7f15d5b00000 ---p 00000000 00:00 0 ",
            "7f15d5b00000-7f15d5e00000 rw-s 00000000 00:01 77                         /dev/shm/x",
            "7f15d5e00000-7f17e0000000 ---p 00000000 00:00 0 ",
        ];

        Assert.Null(HeapPages.Plan(maps, 0x7f15d5800100, 128 * M));
    }

    [Fact]
    public void A_line_that_is_not_a_mapping_gives_no_range()
    {
        Assert.Null(HeapPages.Plan([Maps[3], "garbage"], 0x7f15d5800100, 128 * M));
    }

    [Fact]
    public void Advised_the_range_begins_in_a_read_write_mapping_marked_for_huge_pages()
    {
        var said = HeapPages.Advise(8 * M);

        Assert.StartsWith("huge pages: 8 MB of heap from 0x", said);
        var start = Convert.ToInt64(said[(said.LastIndexOf("0x", StringComparison.Ordinal) + 2)..], 16);
        // The mapping that holds the range's start (the kernel merges it with read-write neighbours; only
        // its start is checked: the test host's GC, collecting for other tests, may decommit a free region further on).
        var mapping = MappingAt(start);
        Assert.True(mapping is not null, "no mapping holds the advised range's start");
        Assert.Contains(" rw-p ", mapping.Value.Header);
        Assert.Contains(" hg", mapping.Value.Flags);
        Assert.DoesNotContain(" dd", mapping.Value.Flags);
    }

    [Fact]
    public unsafe void A_huge_mapping_is_2_MB_aligned_whole_pages_zeroed_writable_advised_and_gone_when_unmapped()
    {
        var memory = (byte*)HeapPages.MapHuge((nuint)(3 * M));

        Assert.True(memory is not null);
        var start = (long)memory;
        Assert.Equal(0, start % (2 * M));
        var span = new Span<byte>(memory, (int)(4 * M));
        Assert.True(span.IndexOfAnyExcept((byte)0) < 0, "not zeroed");
        span.Fill(0x5a);
        var mapping = MappingAt(start);
        Assert.NotNull(mapping);
        Assert.Contains(" hg", mapping.Value.Flags);
        Assert.True(mapping.Value.End >= start + (4 * M), "the mapping ends before the 4 MB asked for");

        HeapPages.UnmapHuge(memory, (nuint)(3 * M));

        Assert.Null(MappingAt(start));
    }

    // The mapping of /proc/self/smaps that holds the address: its header line, its end and its VmFlags line.
    private static (string Header, long End, string Flags)? MappingAt(long address)
    {
        var lines = File.ReadAllLines("/proc/self/smaps");
        for (var i = 0; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ')[0].Split('-');
            if (parts.Length == 2 && long.TryParse(parts[0], System.Globalization.NumberStyles.HexNumber, null, out var lo)
                && long.TryParse(parts[1], System.Globalization.NumberStyles.HexNumber, null, out var hi) && lo <= address && address < hi)
            {
                return (lines[i], hi, lines.Skip(i + 1).First(l => l.StartsWith("VmFlags:", StringComparison.Ordinal)));
            }
        }

        return null;
    }
}
