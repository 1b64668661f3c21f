using System.Security.Cryptography;
using OfflineKit.IO;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.IO;

/// <summary>The file-to-file copy a warm build packs with: the same bytes as a copy through memory.</summary>
public class FileCopyStreamTests
{
    [Fact]
    public async Task Small_writes_and_file_ranges_land_in_order_and_ranges_are_copied_by_the_kernel()
    {
        using var dir = new TempDir();
        var a = RandomNumberGenerator.GetBytes(1_000_003);
        var b = RandomNumberGenerator.GetBytes(70_000);
        await File.WriteAllBytesAsync(dir["a"], a);
        await File.WriteAllBytesAsync(dir["b"], b);

        long kernel;
        await using (var output = new FileCopyStream(dir["out"]))
        {
            output.Write("head"u8);
            await using (var source = File.OpenRead(dir["a"]))
            {
                source.Position = 3; // from the source's position, not its start
                Assert.Equal(a.Length - 3, await output.CopyFromAsync(source, a.Length - 3));
                Assert.Equal(a.Length, source.Position);
            }

            await output.WriteAsync(new byte[100_000]);
            await using (var source = File.OpenRead(dir["b"]))
            {
                // More than the source holds: what there is, and the count says so.
                Assert.Equal(b.Length, await output.CopyFromAsync(source, b.Length + 10));
            }

            output.Write("tail"u8);
            output.FlushToDisk();
            kernel = output.BytesCopiedByKernel;
            Assert.Equal(4 + (a.Length - 3) + 100_000 + b.Length + 4, output.Length);
        }

        byte[] expected = [.. "head"u8, .. a[3..], .. new byte[100_000], .. b, .. "tail"u8];
        Assert.Equal(expected, await File.ReadAllBytesAsync(dir["out"]));
        Assert.Equal(a.Length - 3 + b.Length, kernel);
    }

    [Fact]
    public async Task A_tar_entry_from_a_file_is_the_same_through_the_kernel_and_through_memory()
    {
        using var dir = new TempDir();
        await File.WriteAllBytesAsync(dir["blob"], RandomNumberGenerator.GetBytes(123_457));

        async Task Write(Stream output)
        {
            var tar = new TarStreamWriter(output, DateTimeOffset.UnixEpoch);
            await using var blob = File.OpenRead(dir["blob"]);
            await tar.WriteFileAsync("outer", 512 + ((123_457 + 511) / 512 * 512) + 1024, 420, async (entry, ct) =>
            {
                // Nested, as an image archive sits in a bundle: the range copy passes through the entry's bounds.
                var inner = new TarStreamWriter(entry, DateTimeOffset.UnixEpoch);
                await inner.WriteFileAsync("blobs/sha256/x", 123_457, 420, blob, ct);
                await inner.FinishAsync(ct);
            });
            await tar.FinishAsync();
        }

        await using (var file = new FileCopyStream(dir["kernel.tar"]))
        {
            await Write(new KeepOpenStream(file));
            Assert.Equal(123_457, file.BytesCopiedByKernel);
        }

        using var memory = new MemoryStream();
        await Write(memory);
        Assert.Equal(memory.ToArray(), await File.ReadAllBytesAsync(dir["kernel.tar"]));
    }

    [Fact]
    public async Task A_source_on_another_file_system_is_copied_through_memory_with_the_same_bytes()
    {
        using var dir = new TempDir();
        // tmpfs against the temp folder's file system: the kernel refuses copy_file_range across them
        // (EXDEV), and the stream reads and writes instead, over several rounds of its buffer.
        var other = Directory.Exists("/dev/shm") ? "/dev/shm" : dir.Path;
        var source = Path.Combine(other, $"offlinekit-test-{Guid.NewGuid():N}");
        var bytes = RandomNumberGenerator.GetBytes(3_000_001);
        await File.WriteAllBytesAsync(source, bytes);
        try
        {
            await using (var output = new FileCopyStream(dir["out"]))
            {
                output.Write("x"u8);
                await using var input = File.OpenRead(source);
                Assert.Equal(bytes.Length, await output.CopyFromAsync(input, bytes.Length));
                Assert.Equal(bytes.Length, input.Position);
            }

            var written = await File.ReadAllBytesAsync(dir["out"]);
            Assert.Equal((byte)'x', written[0]);
            Assert.Equal(bytes, written[1..]);
        }
        finally
        {
            File.Delete(source);
        }
    }

    [Fact]
    public async Task A_source_shorter_or_longer_than_its_entry_announces_fails()
    {
        using var dir = new TempDir();
        await File.WriteAllBytesAsync(dir["blob"], new byte[1000]);
        await using var output = new FileCopyStream(dir["out"]);
        var tar = new TarStreamWriter(output, DateTimeOffset.UnixEpoch);

        await using (var blob = File.OpenRead(dir["blob"]))
        {
            Assert.Contains("10 bytes short", (await Assert.ThrowsAsync<IOException>(() => tar.WriteFileAsync("x", 1010, 420, blob))).Message);
        }

        await using (var blob = File.OpenRead(dir["blob"]))
        {
            Assert.Contains("longer than the 999 bytes", (await Assert.ThrowsAsync<IOException>(() => tar.WriteFileAsync("x", 999, 420, blob))).Message);
        }
    }
}
