using System.Formats.Tar;
using System.Security.Cryptography;
using OfflineKit.Bundle;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Bundle;

public class BundleWriterTests
{
    [Theory]
    [InlineData(BundleFormat.Tar)]
    [InlineData(BundleFormat.TarGz)]
    [InlineData(BundleFormat.TarZst)]
    public async Task Same_inputs_give_byte_identical_tarballs(BundleFormat format)
    {
        using var dir = new TempDir();
        var first = await Bundles.WriteTarballAsync(dir["a"], format);
        var second = await Bundles.WriteTarballAsync(dir["b"], format, Bundles.SampleFiles().Reverse().ToList());

        Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(first)), SHA256.HashData(await File.ReadAllBytesAsync(second)));
        Assert.Equal(await File.ReadAllTextAsync(first + ".sha256"), await File.ReadAllTextAsync(second + ".sha256"));
    }

    [Fact]
    public async Task Bundle_json_records_runtime_config_api_and_catalog_revision_when_the_header_has_them()
    {
        using var dir = new TempDir();
        var header = Bundles.Header with { Runtime = "containerd", KubeadmConfigApi = "kubeadm.k8s.io/v1beta4", CatalogRevision = "2026.12.03-1" };
        var written = await BundleWriter.WriteFileAsync(header, Bundles.SampleFiles(), dir.Path, BundleFormat.Tar);
        using var data = new MemoryStream();
        Bundles.Entries(written.Path).Single(e => e.Name.EndsWith("/bundle.json", StringComparison.Ordinal)).DataStream!.CopyTo(data);
        var json = System.Text.Encoding.UTF8.GetString(data.ToArray());
        var manifest = BundleManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Equal(("containerd", "kubeadm.k8s.io/v1beta4", "2026.12.03-1"), (manifest.Runtime, manifest.KubeadmConfigApi, manifest.CatalogRevision));
        Assert.Contains("\"runtime\": \"containerd\"", json, StringComparison.Ordinal);

        // A header without them writes none: absent means the guide's docker/v1beta3 bundle.
        var plain = await BundleWriter.WriteFileAsync(Bundles.Header, Bundles.SampleFiles(), dir["plain"], BundleFormat.Tar);
        Assert.Null(plain.Manifest.Runtime);
        Assert.DoesNotContain("\"runtime\"", System.Text.Encoding.UTF8.GetString(plain.Manifest.ToJsonBytes()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Layout_is_one_top_folder_metadata_first_fixed_owner_and_time()
    {
        using var dir = new TempDir();
        var path = await Bundles.WriteTarballAsync(dir.Path);
        var entries = Bundles.Entries(path);

        Assert.Equal(
            [
                "offlinekit-k8s-1.23.0-el8-amd64/",
                "offlinekit-k8s-1.23.0-el8-amd64/bundle.json",
                "offlinekit-k8s-1.23.0-el8-amd64/SHA256SUMS",
                "offlinekit-k8s-1.23.0-el8-amd64/images/",
                "offlinekit-k8s-1.23.0-el8-amd64/images/common.tar",
                "offlinekit-k8s-1.23.0-el8-amd64/manifests/",
                "offlinekit-k8s-1.23.0-el8-amd64/manifests/calico.yaml",
                "offlinekit-k8s-1.23.0-el8-amd64/rpms/",
                "offlinekit-k8s-1.23.0-el8-amd64/rpms/kubelet-1.23.0-0.x86_64.rpm",
                "offlinekit-k8s-1.23.0-el8-amd64/scripts/",
                "offlinekit-k8s-1.23.0-el8-amd64/scripts/import-images.sh",
            ],
            entries.Select(e => e.Name));
        Assert.All(entries, e =>
        {
            Assert.Equal(BundleLayout.FixedMtime, e.ModificationTime);
            Assert.Equal((0, 0), (e.Uid, e.Gid));
        });
        Assert.Equal((UnixFileMode)BundleLayout.ExecutableMode, entries.Single(e => e.Name.EndsWith("import-images.sh", StringComparison.Ordinal)).Mode);
        Assert.Equal((UnixFileMode)BundleLayout.FileMode, entries.Single(e => e.Name.EndsWith("calico.yaml", StringComparison.Ordinal)).Mode);
    }

    [Fact]
    public async Task Bundle_json_records_every_file_and_artifact_with_its_digest()
    {
        using var dir = new TempDir();
        var path = await Bundles.WriteTarballAsync(dir.Path);
        var summary = await BundleInspector.InspectAsync(path);
        var m = summary.Manifest;

        Assert.Equal((1, "1.0.0", "1.23.0", "el8", "amd64"), (m.SchemaVersion, m.BundleVersion, m.KubernetesVersion, m.Os, m.Arch));
        Assert.StartsWith("offlinekit ", m.CreatedBy);
        Assert.Equal(4, m.Files.Count);
        var rpm = Assert.Single(m.Artifacts, a => a.Kind == ArtifactKind.Rpm);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(new byte[3000].Select(_ => (byte)'r').ToArray())), rpm.Digest);
        Assert.Equal(3000, rpm.Size);
        Assert.Equal("https://example.invalid/rpms/kubelet-1.23.0-0.x86_64.rpm", rpm.Origin);
    }

    [Fact]
    public async Task Long_paths_survive_through_pax_headers()
    {
        using var dir = new TempDir();
        var longName = "rpms/" + new string('k', 150) + ".rpm";
        var path = await Bundles.WriteTarballAsync(dir.Path, files: [Bundles.File(longName, "x", ArtifactKind.Rpm)]);

        Assert.Contains(Bundles.Entries(path), e => e.Name == $"{Bundles.Name}/{longName}");
        Assert.True((await BundleVerifier.VerifyAsync(path)).Ok);
    }

    [Fact]
    public async Task A_file_that_differs_from_its_announced_digest_fails_and_leaves_nothing()
    {
        using var dir = new TempDir();
        var files = new[] { Bundles.File("rpms/a.rpm", "actual bytes", ArtifactKind.Rpm) with { Sha256 = new string('0', 64) } };

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => Bundles.WriteTarballAsync(dir.Path, files: files));

        Assert.Contains("rpms/a.rpm: content does not match its digest", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("a/./b")]
    [InlineData("bundle.json")]
    [InlineData("SHA256SUMS")]
    [InlineData("a\nb")]
    public async Task Invalid_paths_are_refused(string path)
    {
        using var dir = new TempDir();
        await Assert.ThrowsAsync<ArgumentException>(() => Bundles.WriteTarballAsync(dir.Path, files: [Bundles.File(path, "x", ArtifactKind.File)]));
    }

    [Fact]
    public async Task A_file_and_a_folder_of_the_same_name_are_refused()
    {
        using var dir = new TempDir();
        await Assert.ThrowsAsync<ArgumentException>(() => Bundles.WriteTarballAsync(dir.Path, files:
            [Bundles.File("images", "x", ArtifactKind.File), Bundles.File("images/a.tar", "y", ArtifactKind.File)]));
    }
}

public class BundleWriterAtomicityTests
{
    [Fact]
    public async Task A_build_stopped_midway_leaves_no_bundle_and_no_temp_file()
    {
        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        var files = Enumerable.Range(0, 8)
            .Select(i => Bundles.File($"images/part{i}.tar", new string((char)('a' + i), 100_000), OfflineKit.Bundle.ArtifactKind.File))
            .ToList();

        // Stop as the third file starts: the same as a kill, seen from the files left behind.
        var progress = new Inline(p =>
        {
            if (p.Current == "images/part2.tar")
            {
                cts.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            OfflineKit.Bundle.BundleWriter.WriteFileAsync(Bundles.Header, files, dir.Path, OfflineKit.Bundle.BundleFormat.Tar, progress, cancellationToken: cts.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    private sealed class Inline(Action<OfflineKit.IO.ByteProgress> report) : IProgress<OfflineKit.IO.ByteProgress>
    {
        public void Report(OfflineKit.IO.ByteProgress value) => report(value);
    }
}
