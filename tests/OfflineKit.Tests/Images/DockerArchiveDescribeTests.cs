using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Images;

/// <summary>
/// An image archive made from the cache on the fly: its digest and size worked out without writing
/// it, remembered for the next build, and its bytes written straight into a bundle.
/// </summary>
public class DockerArchiveDescribeTests
{
    [Fact]
    public async Task Describe_gives_the_digest_and_size_of_the_bytes_write_makes()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 300_000);

        var (sha, size) = await DockerArchive.DescribeAsync(images, cache, new DigestMemo(dir["memo"]));

        var written = await Written(images, cache);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(written)), sha);
        Assert.Equal(written.LongLength, size);
    }

    [Fact]
    public async Task A_second_describe_of_the_same_images_reads_the_memo_and_other_images_do_not()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 1000);
        var first = await DockerArchive.DescribeAsync(images, cache, new DigestMemo(dir["memo"]));
        var memo = Assert.Single(Directory.GetFiles(dir["memo"]));
        Assert.Equal($"{first.Sha256} {first.Size}", await File.ReadAllTextAsync(memo));

        // The memo is what a rebuild reads: a planted answer shows it is used, not recomputed.
        await File.WriteAllTextAsync(memo, $"{new string('a', 64)} 42");
        Assert.Equal((new string('a', 64), 42L), await DockerArchive.DescribeAsync(images, cache, new DigestMemo(dir["memo"])));

        // One image fewer is another archive: another key, computed afresh.
        var fewer = await DockerArchive.DescribeAsync(images.Take(1).ToList(), cache, new DigestMemo(dir["memo"]));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await Written(images.Take(1).ToList(), cache))), fewer.Sha256);
        Assert.Equal(2, Directory.GetFiles(dir["memo"]).Length);
    }

    [Fact]
    public async Task A_bundle_carries_the_archive_written_straight_into_it()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 200_000);
        var (sha, size) = await DockerArchive.DescribeAsync(images, cache, new DigestMemo(dir["memo"]));
        var files = new List<BundleFile>
        {
            BundleFile.FromWriter("images/common.tar", size, sha, (output, ct) => DockerArchive.WriteAsync(images, cache, output, verifyBlobs: false, ct)),
            BundleFile.FromBytes("images/common.images", DockerArchive.NameList(images)),
        };

        var bundle = await BundleWriter.WriteFileAsync(new BundleHeader("b", "1.0.0", "1.23.0", "el8", "amd64"), files, dir["out"], BundleFormat.Tar);

        var report = await BundleVerifier.VerifyAsync(bundle.Path);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(TarballChecksumStatus.Ok, report.TarballChecksum);
        var entry = Bundles.Entries(bundle.Path).Single(e => e.Name == "b/images/common.tar");
        using var content = new MemoryStream();
        await entry.DataStream!.CopyToAsync(content);
        Assert.Equal(await Written(images, cache), content.ToArray());
    }

    [Fact]
    public async Task A_producer_that_writes_more_or_less_than_announced_fails_the_bundle()
    {
        using var dir = new TempDir();
        var header = new BundleHeader("b", "1.0.0", "1.23.0", "el8", "amd64");
        var longer = BundleFile.FromWriter("x", 3, new string('0', 64), (output, ct) => output.WriteAsync("four"u8.ToArray(), ct).AsTask());
        var shorter = BundleFile.FromWriter("x", 5, new string('0', 64), (output, ct) => output.WriteAsync("four"u8.ToArray(), ct).AsTask());

        Assert.Contains("longer than the 3 bytes", (await Assert.ThrowsAsync<IOException>(() => BundleWriter.WriteFileAsync(header, [longer], dir["a"], BundleFormat.Tar))).Message);
        Assert.Contains("1 bytes short", (await Assert.ThrowsAsync<IOException>(() => BundleWriter.WriteFileAsync(header, [shorter], dir["b"], BundleFormat.Tar))).Message);
        Assert.Empty(Directory.GetFiles(dir["a"]));
        Assert.Empty(Directory.GetFiles(dir["b"]));
    }

    [Fact]
    public async Task A_blob_rotten_in_the_cache_is_caught_when_blobs_are_verified()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 1000);
        var layer = images[0].Layers[0].Digest;
        var bytes = await File.ReadAllBytesAsync(cache.PathOf(layer));
        bytes[10] ^= 1;
        await File.WriteAllBytesAsync(cache.PathOf(layer), bytes);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => DockerArchive.WriteAsync(images, cache, Stream.Null));
        Assert.Contains("corrupt", e.Message);
        Assert.False(cache.Contains(layer));
    }

    private static async Task<byte[]> Written(IReadOnlyList<PulledImage> images, BlobCache cache)
    {
        using var buffer = new MemoryStream();
        await DockerArchive.WriteAsync(images, cache, buffer);
        return buffer.ToArray();
    }
}
