using System.Diagnostics;
using OfflineKit.IO;

namespace OfflineKit.Tests.IO;

/// <summary>
/// The liblzma and libzstd readers against what the real xz and zstd tools write (Debian packages
/// xz-utils and zstd, in tests/lab/prerequisites.sh): the same bytes back, whatever the read size;
/// concatenated streams read whole, as the tools do; truncated and corrupt input refused.
/// </summary>
public class NativeDecoderTests
{
    public static TheoryData<string> Formats => new() { "xz", "zstd" };

    [Fact]
    public void Both_libraries_load_here()
    {
        // The fallback to SharpCompress is for systems without them; this machine has both.
        Assert.True(NativeXzStream.IsAvailable, "liblzma.so.5 did not load");
        Assert.True(NativeZstdStream.IsAvailable, "libzstd.so.1 did not load");
    }

    [Theory]
    [InlineData("xz", 0, 4096)]
    [InlineData("xz", 1, 1)]
    [InlineData("xz", 3_000_000, 7)]
    [InlineData("xz", 3_000_000, 1 << 20)]
    [InlineData("zstd", 0, 4096)]
    [InlineData("zstd", 1, 1)]
    [InlineData("zstd", 3_000_000, 7)]
    [InlineData("zstd", 3_000_000, 1 << 20)]
    public void Reads_back_what_the_tool_wrote(string tool, int size, int readSize)
    {
        var data = Compressible(size);
        var packed = Run(tool, data);
        Assert.Equal(data, ReadAll(Open(tool, packed), readSize));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Concatenated_streams_are_read_as_one(string tool)
    {
        var first = Compressible(100_000);
        var second = Compressible(50_000);
        var packed = Run(tool, first).Concat(Run(tool, second)).ToArray();
        Assert.Equal(first.Concat(second).ToArray(), ReadAll(Open(tool, packed), 65536));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Truncated_input_is_refused(string tool)
    {
        var packed = Run(tool, Compressible(500_000));
        foreach (var keep in new[] { packed.Length - 1, packed.Length / 2, 20 })
        {
            var e = Assert.Throws<InvalidDataException>(() => ReadAll(Open(tool, packed[..keep]), 65536));
            Assert.Contains(tool == "xz" ? "xz:" : "zstd:", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Corrupt_input_is_refused(string tool)
    {
        var packed = Run(tool, Compressible(500_000));
        packed[packed.Length / 2] ^= 0x55;
        Assert.Throws<InvalidDataException>(() => ReadAll(Open(tool, packed), 65536));
    }

    [Fact]
    public void Trailing_garbage_after_an_xz_stream_is_refused()
    {
        var packed = Run("xz", Compressible(10_000)).Concat("garbage!"u8.ToArray()).ToArray();
        Assert.Throws<InvalidDataException>(() => ReadAll(Open("xz", packed), 65536));
    }

    [Fact]
    public void The_xz_dictionary_is_held_in_a_huge_page_mapping_while_the_stream_is_open()
    {
        // xz's default preset asks for an 8 MB dictionary, whatever the input's size.
        var data = Compressible(3_000_000);
        using var stream = Open("xz", Run("xz", data));
        var head = new byte[100_000];
        stream.ReadExactly(head);

        Assert.True(NativeXzStream.HugeBytesMapped >= 8 << 20, $"{NativeXzStream.HugeBytesMapped} bytes mapped");
        Assert.Equal(data.AsSpan(0, head.Length).ToArray(), head);
    }

    private static Stream Open(string tool, byte[] packed) => tool == "xz"
        ? NativeXzStream.TryOpen(new MemoryStream(packed))!
        : NativeZstdStream.TryOpen(new MemoryStream(packed))!;

    // Text-like bytes: words of a small vocabulary, as repository metadata is.
    private static byte[] Compressible(int size)
    {
        var random = new Random(size);
        var words = new[] { "<rpm:entry name=\"", "libc.so.6", "()(64bit)", "\"/>\n", "<file>/usr/bin/", "pkg", "x86_64", " " };
        var result = new byte[size];
        var i = 0;
        while (i < size)
        {
            var w = System.Text.Encoding.ASCII.GetBytes(words[random.Next(words.Length)] + random.Next(1000));
            var n = Math.Min(w.Length, size - i);
            w.AsSpan(0, n).CopyTo(result.AsSpan(i));
            i += n;
        }

        return result;
    }

    private static byte[] ReadAll(Stream stream, int readSize)
    {
        using (stream)
        {
            using var copy = new MemoryStream();
            var buffer = new byte[readSize];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                copy.Write(buffer, 0, n);
            }

            return copy.ToArray();
        }
    }

    private static byte[] Run(string tool, byte[] input)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("-q");
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var read = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.BaseStream.Write(input);
        process.StandardInput.Close();
        read.GetAwaiter().GetResult();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.ToArray();
    }
}
