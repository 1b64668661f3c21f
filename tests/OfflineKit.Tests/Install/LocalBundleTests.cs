using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

public class LocalBundleTests
{
    [Fact]
    public async Task A_tarball_and_its_extracted_folder_give_the_same_files_and_bytes_from_any_offset()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["t"]);
        var folder = await Bundles.WriteDirectoryAsync(dir["d"]);

        var fromTar = await LocalBundle.OpenAsync(tarball);
        var fromDir = await LocalBundle.OpenAsync(folder);

        Assert.Equal(fromDir.Contents.Name, fromTar.Contents.Name);
        Assert.Equal(fromDir.Contents.Files, fromTar.Contents.Files);
        Assert.Equal(["SHA256SUMS", "bundle.json", "images/common.tar", "manifests/calico.yaml", "rpms/kubelet-1.23.0-0.x86_64.rpm", "scripts/import-images.sh"], fromTar.Contents.Files.Select(f => f.Path));
        foreach (var file in fromTar.Contents.Files)
        {
            var whole = await File.ReadAllBytesAsync(Path.Combine(folder, file.Path));
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(whole)));
            foreach (var offset in new long[] { 0, 1, file.Size / 2, file.Size })
            {
                using var stream = fromTar.OpenRead(file.Path, offset);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                Assert.Equal(whole.AsSpan((int)offset).ToArray(), copy.ToArray());
            }
        }
    }

    [Fact]
    public async Task A_compressed_tarball_is_refused_with_what_to_do()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir.Path, BundleFormat.TarGz);
        var e = await Assert.ThrowsAsync<BadInputException>(() => LocalBundle.OpenAsync(tarball));
        Assert.Contains("offlinekit extract", e.Message);
    }

    [Fact]
    public async Task Sums_and_bundle_json_that_disagree_stop_the_install_before_any_host()
    {
        using var dir = new TempDir();
        var folder = await Bundles.WriteDirectoryAsync(dir.Path);
        var sums = Path.Combine(folder, "SHA256SUMS");
        var text = await File.ReadAllTextAsync(sums);
        var line = text.Split('\n').First(l => l.EndsWith("manifests/calico.yaml", StringComparison.Ordinal));
        await File.WriteAllTextAsync(sums, text.Replace(line, new string('a', 64) + "  manifests/calico.yaml", StringComparison.Ordinal));

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => LocalBundle.OpenAsync(folder));
        Assert.True(e.Message.Contains("disagree about manifests/calico.yaml", StringComparison.Ordinal), e.Message);
    }
}
