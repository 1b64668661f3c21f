using OfflineKit.Bundle;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Bundle;

public class BundleVerifierTests
{
    private const string Rpm = "rpms/kubelet-1.23.0-0.x86_64.rpm";

    [Theory]
    [InlineData(BundleFormat.Tar)]
    [InlineData(BundleFormat.TarGz)]
    [InlineData(BundleFormat.TarZst)]
    public async Task A_fresh_tarball_verifies_with_its_sidecar(BundleFormat format)
    {
        using var dir = new TempDir();
        var report = await BundleVerifier.VerifyAsync(await Bundles.WriteTarballAsync(dir.Path, format));

        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(6, report.FilesChecked);
        Assert.Equal(TarballChecksumStatus.Ok, report.TarballChecksum);
        Assert.Equal(Bundles.Name, report.Name);
    }

    [Fact]
    public async Task A_fresh_directory_verifies_named_by_itself_or_by_its_parent()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);

        Assert.True((await BundleVerifier.VerifyAsync(bundle)).Ok);
        Assert.True((await BundleVerifier.VerifyAsync(Path.GetDirectoryName(bundle)!)).Ok);
        Assert.Equal(TarballChecksumStatus.NotApplicable, (await BundleVerifier.VerifyAsync(bundle)).TarballChecksum);
    }

    /// <summary>Each tampering of an extracted bundle, and the one problem it must be reported as.</summary>
    public static TheoryData<string, ProblemKind, string> DirectoryTampering => new()
    {
        { "flip-byte", ProblemKind.Modified, Rpm },
        { "delete", ProblemKind.Missing, Rpm },
        { "add", ProblemKind.Extra, "rpms/evil.rpm" },
        { "edit-sums", ProblemKind.SumsAltered, Rpm },
        { "edit-file-and-sums", ProblemKind.Modified, Rpm },
        { "edit-bundle-json", ProblemKind.Modified, "bundle.json" },
        { "add-with-sums-line", ProblemKind.Extra, "rpms/evil.rpm" },
        { "symlink", ProblemKind.UnexpectedEntry, "rpms/link.rpm" },
        { "garbage-sums", ProblemKind.Malformed, "SHA256SUMS" },
    };

    [Theory]
    [MemberData(nameof(DirectoryTampering))]
    public async Task Tampering_with_a_directory_is_reported_as_exactly_that(string tampering, ProblemKind kind, string path)
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);
        var file = Path.Combine(bundle, Rpm);
        var sums = Path.Combine(bundle, "SHA256SUMS");
        switch (tampering)
        {
            case "flip-byte":
                FlipByte(file, 1500);
                break;
            case "delete":
                File.Delete(file);
                break;
            case "add":
                await File.WriteAllTextAsync(Path.Combine(bundle, "rpms/evil.rpm"), "evil");
                break;
            case "edit-sums":
                await File.WriteAllTextAsync(sums, (await File.ReadAllTextAsync(sums)).Replace(Sha(file), new string('a', 64), StringComparison.Ordinal));
                break;
            case "edit-file-and-sums":
                var before = Sha(file);
                FlipByte(file, 10);
                await File.WriteAllTextAsync(sums, (await File.ReadAllTextAsync(sums)).Replace(before, Sha(file), StringComparison.Ordinal));
                break;
            case "edit-bundle-json":
                var json = Path.Combine(bundle, "bundle.json");
                await File.WriteAllTextAsync(json, (await File.ReadAllTextAsync(json)).Replace("\"1.0.0\"", "\"1.0.1\"", StringComparison.Ordinal));
                break;
            case "add-with-sums-line":
                var evil = Path.Combine(bundle, "rpms/evil.rpm");
                await File.WriteAllTextAsync(evil, "evil");
                await File.AppendAllTextAsync(sums, $"{Sha(evil)}  rpms/evil.rpm\n");
                break;
            case "symlink":
                File.CreateSymbolicLink(Path.Combine(bundle, "rpms/link.rpm"), "/etc/passwd");
                break;
            case "garbage-sums":
                await File.AppendAllTextAsync(sums, "this is not a checksum line\n");
                break;
        }

        var report = await BundleVerifier.VerifyAsync(bundle);

        Assert.False(report.Ok);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((kind, path), (problem.Kind, problem.Path));
    }

    [Fact]
    public async Task A_file_changed_with_its_sums_line_is_named_as_such()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);
        var file = Path.Combine(bundle, Rpm);
        var sums = Path.Combine(bundle, "SHA256SUMS");
        var before = Sha(file);
        FlipByte(file, 0);
        await File.WriteAllTextAsync(sums, (await File.ReadAllTextAsync(sums)).Replace(before, Sha(file), StringComparison.Ordinal));

        var problem = Assert.Single((await BundleVerifier.VerifyAsync(bundle)).Problems);

        Assert.Contains("changed together with its SHA256SUMS line", problem.Detail);
    }

    [Theory]
    [InlineData(BundleFormat.Tar)]
    [InlineData(BundleFormat.TarGz)]
    [InlineData(BundleFormat.TarZst)]
    public async Task A_truncated_tarball_is_reported_as_truncated(BundleFormat format)
    {
        using var dir = new TempDir();
        var files = new[] { Bundles.File("images/big.tar", new string('x', 200_000) + Guid.NewGuid(), ArtifactKind.File) };
        var path = await Bundles.WriteTarballAsync(dir.Path, format, files);
        using (var f = new FileStream(path, FileMode.Open))
        {
            f.SetLength(f.Length / 2);
        }

        var report = await BundleVerifier.VerifyAsync(path);

        Assert.False(report.Ok);
        Assert.Equal(ProblemKind.Truncated, Assert.Single(report.Problems).Kind);
    }

    [Fact]
    public async Task A_tarball_changed_in_place_fails_its_sidecar_and_its_file()
    {
        using var dir = new TempDir();
        var path = await Bundles.WriteTarballAsync(dir.Path);
        var bytes = await File.ReadAllBytesAsync(path);
        var at = IndexOf(bytes, "rrrrrrrrrr"u8.ToArray()) + 5;
        bytes[at] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);

        var report = await BundleVerifier.VerifyAsync(path);

        Assert.Equal(TarballChecksumStatus.Mismatch, report.TarballChecksum);
        Assert.Equal(
            [(ProblemKind.Modified, Rpm), (ProblemKind.TarballChecksum, Bundles.Name + ".tar.sha256")],
            report.Problems.Select(p => (p.Kind, p.Path)).Order());
    }

    [Fact]
    public async Task Without_a_sidecar_the_tarball_is_still_verified_file_by_file()
    {
        using var dir = new TempDir();
        var path = await Bundles.WriteTarballAsync(dir.Path);
        File.Delete(path + ".sha256");

        var report = await BundleVerifier.VerifyAsync(path);

        Assert.True(report.Ok);
        Assert.Equal(TarballChecksumStatus.Absent, report.TarballChecksum);
    }

    [Fact]
    public async Task A_missing_path_is_bad_input() =>
        await Assert.ThrowsAsync<BadInputException>(() => BundleVerifier.VerifyAsync("/nonexistent/bundle.tar"));

    [Fact]
    public async Task A_folder_that_is_no_bundle_is_bad_input()
    {
        using var dir = new TempDir();
        dir.Write("x/readme.txt", "hello");
        var e = await Assert.ThrowsAsync<BadInputException>(() => BundleVerifier.VerifyAsync(dir.Path));
        Assert.Contains("not a bundle", e.Message);
    }

    [Fact]
    public async Task Report_serializes_to_json_with_kebab_case_kinds()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);
        File.Delete(Path.Combine(bundle, Rpm));

        var json = System.Text.Json.JsonDocument.Parse((await BundleVerifier.VerifyAsync(bundle)).ToJson()).RootElement;

        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.Equal("missing", json.GetProperty("problems")[0].GetProperty("kind").GetString());
        Assert.Equal("not-applicable", json.GetProperty("tarballChecksum").GetString());
    }

    internal static void FlipByte(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        var b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0xff));
    }

    internal static string Sha(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
