using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Images;

public class PushTargetTests
{
    [Theory]
    [InlineData("harbor.site:443/k8s", "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "harbor.site:443/k8s/google_containers/kube-apiserver:v1.23.0")]
    [InlineData("harbor.site:443/k8s", "docker.io/calico/node:v3.25.2", "harbor.site:443/k8s/calico/node:v3.25.2")]
    [InlineData("harbor.site:443/k8s/", "calico/node:v3.25.2", "harbor.site:443/k8s/calico/node:v3.25.2")]
    [InlineData("127.0.0.1:5000", "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3", "127.0.0.1:5000/google_containers/metrics-server:v0.6.3")]
    [InlineData("registry.site/a/b", "docker.io/library/busybox:1.36", "registry.site/a/b/library/busybox:1.36")]
    [InlineData("localhost:5000/mirror", "registry.k8s.io/pause:3.9", "localhost:5000/mirror/pause:3.9")]
    public void Each_image_keeps_its_origin_path_under_the_registry_path(string registry, string origin, string expected)
    {
        var target = PushTarget.Parse(registry);

        Assert.Equal(expected, target.Map(ImageReference.Parse(origin)).ToString());
    }

    [Theory]
    [InlineData("https://harbor.site/k8s", "without a scheme")]
    [InlineData("harbor/k8s", "does not name a registry host")]
    [InlineData("harbor.site:443/K8s", "is not a repository path")]
    [InlineData("harbor.site:443/k8s//x", "is not a repository path")]
    [InlineData("harbor.site:443/k8s:v1", "is not a repository path")]
    [InlineData("harbor site/k8s", "is not host[:port]")]
    [InlineData("", "the registry is empty")]
    public void A_registry_that_is_not_host_port_path_is_bad_input(string registry, string message)
    {
        var e = Assert.Throws<BadInputException>(() => PushTarget.Parse(registry));

        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(new[] { "images", "push", "b.tar" }, "--registry")]
    [InlineData(new[] { "images", "push", "b.tar", "--registry", "h.site:5000", "--parallel", "0" }, "--parallel must be from 1 to 64")]
    [InlineData(new[] { "images", "push", "b.tar", "--registry", "h.site:5000", "--output", "xml" }, "xml")]
    [InlineData(new[] { "images", "push", "b.tar", "--registry", "https://h.site:5000" }, "without a scheme")]
    [InlineData(new[] { "images", "push", "b.tar", "--registry", "h.site:5000", "--ca-file", "/nonexistent/ca.pem" }, "--ca-file /nonexistent/ca.pem: no such file")]
    [InlineData(new[] { "images", "push", "/nonexistent/b.tar", "--registry", "h.site:5000" }, "no such bundle")]
    public async Task Bad_arguments_exit_2_with_one_message(string[] args, string message)
    {
        var (code, _, err) = await CliRunner.RunAsync(args);

        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }
}

public class ImageArchiveBlobsTests
{
    /// <summary>A bundle whose images/common.tar holds a good blob and one stored under a name that is not its digest (a bit flip on the way).</summary>
    private static async Task<(LocalBundle Bundle, Digest Good, Digest Bad, byte[] Content)> BundleAsync(TempDir dir, bool extracted)
    {
        var good = RandomNumberGenerator.GetBytes(100_000);
        var goodDigest = Digest.Of(good);
        var badName = Digest.Of(Encoding.UTF8.GetBytes("something else"));
        using var archive = new MemoryStream();
        await using (var tar = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in new[] { (goodDigest, good), (badName, RandomNumberGenerator.GetBytes(100_000)) })
            {
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, $"blobs/sha256/{name.Hex}") { DataStream = new MemoryStream(content) });
            }
        }

        var tarball = await Bundles.WriteTarballAsync(dir["out"], BundleFormat.Tar, [BundleFile.FromBytes("images/common.tar", archive.ToArray())]);
        var path = extracted ? (await BundleExtractor.ExtractAsync(tarball, dir["site"])).Directory : tarball;
        return (await LocalBundle.OpenAsync(path), goodDigest, badName, good);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_blob_is_read_in_place_and_its_digest_checked(bool extracted)
    {
        using var dir = new TempDir();
        var (bundle, good, _, content) = await BundleAsync(dir, extracted);
        var blobs = await ImageArchiveBlobs.OpenAsync(bundle, ["images/common.tar"]);

        Assert.Equal(content.LongLength, blobs.SizeOf(good));
        Assert.Equal(content, await blobs.ReadAsync(good));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_corrupt_blob_fails_before_its_last_byte_is_handed_out(bool extracted)
    {
        using var dir = new TempDir();
        var (bundle, _, bad, _) = await BundleAsync(dir, extracted);
        var blobs = await ImageArchiveBlobs.OpenAsync(bundle, ["images/common.tar"]);
        await using var stream = blobs.Open(bad);
        var buffer = new byte[4096];
        long handedOut = 0;

        await Assert.ThrowsAsync<DigestMismatchException>(async () =>
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                handedOut += n;
            }
        });
        Assert.True(handedOut < blobs.SizeOf(bad), $"{handedOut} bytes were handed out of {blobs.SizeOf(bad)}");
    }

    [Fact]
    public async Task A_compressed_bundle_is_refused_with_what_to_do()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"], BundleFormat.TarGz);
        var options = new ImagePushOptions(tarball, PushTarget.Parse("registry.site:5000/k8s"), new RegistryClientOptions(OfflineKit.Spec.MirrorConfig.Empty, RegistryCredentials.None));

        var e = await Assert.ThrowsAsync<BadInputException>(() => BundlePusher.PushAsync(options));

        Assert.Contains("offlinekit extract", e.Message);
    }
}
