using System.Security.Cryptography;
using OfflineKit.IO;

namespace OfflineKit.Tests.IO;

public class HashingStreamBackgroundTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData((3 << 20) + 17, 4096)]
    [InlineData(20 << 20, 1 << 20)]
    public async Task Passes_every_byte_through_and_hashes_them_in_order(int size, int writeSize)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        using var inner = new MemoryStream();
        await using var stream = new HashingStream(inner, leaveOpen: true, background: true);
        var buffer = new byte[writeSize];
        for (var i = 0; i < size; i += writeSize)
        {
            var n = Math.Min(writeSize, size - i);
            data.AsSpan(i, n).CopyTo(buffer);
            await stream.WriteAsync(buffer.AsMemory(0, n));
            buffer.AsSpan().Fill(0xee); // the caller reuses its buffer at once
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), stream.HexDigest);
        Assert.Equal(size, stream.BytesHashed);
        Assert.Equal(data, inner.ToArray());
        Assert.Throws<InvalidOperationException>(() => stream.Write([1], 0, 1));
    }
}
