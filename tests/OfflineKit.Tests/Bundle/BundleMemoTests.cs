using System.Security.Cryptography;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Bundle;

/// <summary>
/// A rebuild of the same inputs takes the bundle's checksum from the memo instead of hashing the bundle
/// again, and its image archives go file to file in the kernel; the bytes are the same either way.
/// </summary>
public class BundleMemoTests
{
    [Fact]
    public async Task A_rebuild_with_the_memo_gives_the_same_bytes_and_checksum_as_a_build_without()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 700_001);
        var memo = new DigestMemo(dir["memo"]);

        var plain = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["plain"], BundleFormat.Tar);
        var first = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["first"], BundleFormat.Tar, memo: memo);
        Assert.Single(Directory.GetFiles(dir["memo"]));
        var second = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["second"], BundleFormat.Tar, memo: memo);

        var bytes = await File.ReadAllBytesAsync(plain.Path);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(first.Path));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(second.Path));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), second.Sha256);
        Assert.Equal((bytes.LongLength, second.Sha256), (second.Size, plain.Sha256));
        Assert.Equal(await File.ReadAllTextAsync(plain.Path + ".sha256"), await File.ReadAllTextAsync(second.Path + ".sha256"));
        var report = await BundleVerifier.VerifyAsync(second.Path);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(TarballChecksumStatus.Ok, report.TarballChecksum);
    }

    [Fact]
    public async Task The_memo_is_what_a_rebuild_reads_and_verify_catches_a_wrong_one()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 10_000);
        var memo = new DigestMemo(dir["memo"]);
        var first = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["first"], BundleFormat.Tar, memo: memo);
        var entry = Assert.Single(Directory.GetFiles(dir["memo"]));
        Assert.Equal($"{first.Sha256} {first.Size}", await File.ReadAllTextAsync(entry));

        // A planted answer of the right size comes back as the checksum: the rebuild did not hash.
        var planted = new string('b', 64);
        await File.WriteAllTextAsync(entry, $"{planted} {first.Size}");
        var second = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["second"], BundleFormat.Tar, memo: memo);
        Assert.Equal(planted, second.Sha256);
        Assert.StartsWith(planted, await File.ReadAllTextAsync(second.Path + ".sha256"), StringComparison.Ordinal);
        Assert.Equal(TarballChecksumStatus.Mismatch, (await BundleVerifier.VerifyAsync(second.Path)).TarballChecksum);

        // A memo whose size the bundle does not come out at fails the build and leaves nothing behind.
        await File.WriteAllTextAsync(entry, $"{planted} 12");
        var e = await Assert.ThrowsAsync<OperationFailedException>(async () =>
            await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["third"], BundleFormat.Tar, memo: memo));
        Assert.Contains(dir["memo"], e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir["third"]));
    }

    [Fact]
    public async Task Any_change_of_a_file_is_another_key_and_is_hashed_afresh()
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 10_000);
        var memo = new DigestMemo(dir["memo"]);
        await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["first"], BundleFormat.Tar, memo: memo);

        var changed = await Files(dir, cache, images);
        changed[^1] = Bundles.File("manifests/calico.yaml", "kind: DaemonSet\n# changed\n", ArtifactKind.Manifest);
        var executable = await Files(dir, cache, images);
        executable[^1] = executable[^1] with { Executable = true };
        var fewer = (await Files(dir, cache, images)).Take(2).ToList();
        foreach (var (files, name) in new[] { (changed, "changed"), (executable, "executable"), (fewer, "fewer") })
        {
            var written = await BundleWriter.WriteFileAsync(Bundles.Header, files, dir[name], BundleFormat.Tar, memo: memo);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(written.Path))), written.Sha256);
        }

        Assert.Equal(4, Directory.GetFiles(dir["memo"]).Length);
    }

    [Theory]
    [InlineData(BundleFormat.TarGz)]
    [InlineData(BundleFormat.TarZst)]
    public async Task A_compressed_bundle_is_always_hashed(BundleFormat format)
    {
        using var dir = new TempDir();
        var (cache, images) = CachedImages.Make(dir, layerBytes: 10_000);
        var memo = new DigestMemo(dir["memo"]);
        var written = await BundleWriter.WriteFileAsync(Bundles.Header, await Files(dir, cache, images), dir["out"], format, memo: memo);

        Assert.False(Directory.Exists(dir["memo"]) && Directory.EnumerateFileSystemEntries(dir["memo"]).Any());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(written.Path))), written.Sha256);
    }

    // An image archive made from the cache (as a build makes it), a file from disk and one from memory.
    private static async Task<List<BundleFile>> Files(TempDir dir, BlobCache cache, List<PulledImage> images)
    {
        var (sha, size) = await DockerArchive.DescribeAsync(images, cache, new DigestMemo(dir["archives"]));
        var rpm = dir["rpm/kubelet.rpm"];
        if (!File.Exists(rpm))
        {
            Directory.CreateDirectory(dir["rpm"]);
            await File.WriteAllBytesAsync(rpm, RandomNumberGenerator.GetBytes(3333));
        }

        return
        [
            BundleFile.FromWriter("images/common.tar", size, sha, (output, ct) => DockerArchive.WriteAsync(images, cache, output, verifyBlobs: false, ct)),
            BundleFile.FromDisk("rpms/kubelet.rpm", rpm),
            Bundles.File("manifests/calico.yaml", "kind: DaemonSet\n", ArtifactKind.Manifest),
        ];
    }
}
