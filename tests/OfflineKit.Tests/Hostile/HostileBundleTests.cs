using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Hostile;

/// <summary>
/// Crafted and careless bundles, one class of defect each (issue #17): every one is refused, by verify
/// and by extract alike, before its bytes are used, and extract leaves nothing behind.
/// </summary>
public class HostileBundleTests
{
    private const long Huge = 8L * 1024 * 1024 * 1024 - 1; // the most a ustar size field holds

    /// <summary>Each crafted tarball, and the problem verify must name (kind, path, words of the detail).</summary>
    public static TheoryData<string, ProblemKind, string, string> Tarballs => new()
    {
        { "unlisted-entry-promising-8-GiB", ProblemKind.Extra, "images/zero.tar", "refused at its header" },
        { "unlisted-entry-small", ProblemKind.Extra, "rpms/evil.rpm", "not listed in SHA256SUMS or bundle.json" },
        { "listed-entry-promising-more-than-recorded", ProblemKind.Modified, "rpms/a.rpm", "bundle.json records 3000" },
        { "entry-ahead-of-the-lists", ProblemKind.UnexpectedEntry, "rpms/early.rpm", "which a bundle holds first" },
        { "bundle-json-over-its-cap", ProblemKind.Malformed, "bundle.json", "64 MiB cap" },
        { "non-utf8-name", ProblemKind.UnexpectedEntry, "rpms/", "not valid UTF-8" },
        { "name-escaping-upwards", ProblemKind.Malformed, "bundle.json", "'../../../etc/cron.d' is not a bundle name" },
        { "name-with-a-slash", ProblemKind.Malformed, "bundle.json", "'a/b' is not a bundle name" },
        { "empty-name", ProblemKind.Malformed, "bundle.json", "'' is not a bundle name" },
        { "hidden-name", ProblemKind.Malformed, "bundle.json", "'.offlinekit' is not a bundle name" },
        { "name-other-than-the-top-folder", ProblemKind.Malformed, "bundle.json", "top folder is 'offlinekit-k8s-1.23.0-el8-amd64'" },
        { "unsafe-path-in-bundle-json", ProblemKind.Malformed, "bundle.json", "unsafe path" },
        { "malformed-digest-in-bundle-json", ProblemKind.Malformed, "bundle.json", "malformed digest" },
        { "image-layer-path-upwards", ProblemKind.Artifact, "images/common.tar", "'../../etc/passwd', which is not a file inside the archive" },
        { "image-index-digest-upwards", ProblemKind.Artifact, "images/common.tar", "'sha256:../../x'" },
        { "image-archive-entry-upwards", ProblemKind.Artifact, "images/common.tar", "not a plain relative path" },
        { "image-archive-symlink", ProblemKind.Artifact, "images/common.tar", "symbolic link" },
        { "image-blob-not-named-by-digest", ProblemKind.Artifact, "images/common.tar", "not named by a sha256 digest" },
        { "image-tag-not-a-reference", ProblemKind.Artifact, "images/common.tar", "not an image reference" },
    };

    internal static byte[] Craft(string attack)
    {
        var bundle = new CraftedBundle();
        switch (attack)
        {
            case "unlisted-entry-promising-8-GiB":
                bundle.After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/images/zero.tar", [], TarEntryFormat.Ustar);
                var bytes = bundle.ToBytes();
                CraftedBundle.PatchHeader(bytes, $"{Bundles.Name}/images/zero.tar", h => CraftedBundle.SetSize(h, Huge));
                return bytes;
            case "unlisted-entry-small":
                bundle.After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/evil.rpm", "evil"u8.ToArray());
                break;
            case "listed-entry-promising-more-than-recorded":
                bundle.Files.RemoveAll(f => f.Path == "rpms/a.rpm");
                bundle.EditManifest = m => AddFileRecord(m, "rpms/a.rpm", new string('r', 3000));
                bundle.After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/a.rpm", [], TarEntryFormat.Ustar);
                var listed = bundle.ToBytes();
                CraftedBundle.PatchHeader(listed, $"{Bundles.Name}/rpms/a.rpm", h => CraftedBundle.SetSize(h, Huge));
                return listed;
            case "entry-ahead-of-the-lists":
                bundle.Before = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/early.rpm", "early"u8.ToArray());
                break;
            case "bundle-json-over-its-cap":
                var capped = new CraftedBundle { Files = { } };
                var raw = new MemoryStream();
                using (var tar = new TarWriter(raw, TarEntryFormat.Ustar, leaveOpen: true))
                {
                    tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, Bundles.Name + "/"));
                    CraftedBundle.AddFile(tar, $"{Bundles.Name}/bundle.json", [], TarEntryFormat.Ustar);
                }

                var over = raw.ToArray();
                CraftedBundle.PatchHeader(over, $"{Bundles.Name}/bundle.json", h => CraftedBundle.SetSize(h, 100L << 20));
                return over;
            case "non-utf8-name":
                bundle.After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/XX.rpm", "x"u8.ToArray(), TarEntryFormat.Ustar);
                var named = bundle.ToBytes();
                CraftedBundle.PatchHeader(named, $"{Bundles.Name}/rpms/XX.rpm", h =>
                {
                    var at = Encoding.ASCII.GetBytes($"{Bundles.Name}/rpms/").Length;
                    h[at] = 0xff;
                    h[at + 1] = 0xfe;
                });
                return named;
            case "name-escaping-upwards":
                bundle.Name = "../../../etc/cron.d";
                bundle.Top = Bundles.Name;
                break;
            case "name-with-a-slash":
                bundle.Name = "a/b";
                bundle.Top = Bundles.Name;
                break;
            case "empty-name":
                bundle.Name = string.Empty;
                bundle.Top = Bundles.Name;
                break;
            case "hidden-name":
                bundle.Name = ".offlinekit";
                bundle.Top = Bundles.Name;
                break;
            case "name-other-than-the-top-folder":
                bundle.Name = "offlinekit-k8s-1.23.1-el8-amd64";
                bundle.Top = Bundles.Name;
                break;
            case "unsafe-path-in-bundle-json":
                bundle.EditManifest = m => AddFileRecord(m, "rpms/../../x", "x");
                break;
            case "malformed-digest-in-bundle-json":
                bundle.Artifacts.Add(new JsonObject { ["kind"] = "image", ["name"] = "x:1", ["digest"] = "sha256:../../x", ["size"] = 1, ["path"] = "rpms/a.rpm" });
                break;
            case "image-layer-path-upwards":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", editManifestJson: j => j.Replace("\"Layers\":[\"blobs/sha256/", "\"Layers\":[\"../../etc/passwd\",\"blobs/sha256/", StringComparison.Ordinal)));
            case "image-index-digest-upwards":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", editIndexJson: j => j.Replace("\"manifests\":[", "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:../../x\",\"size\":1},", StringComparison.Ordinal)));
            case "image-archive-entry-upwards":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", extra: tar => CraftedBundle.AddFile(tar, "blobs/../../x", "x"u8.ToArray())));
            case "image-archive-symlink":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", extra: tar => tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "etc") { LinkName = "/etc" })));
            case "image-blob-not-named-by-digest":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", extra: tar => CraftedBundle.AddFile(tar, "blobs/sha256/passwd", "x"u8.ToArray())));
            case "image-tag-not-a-reference":
                return WithImage(bundle, CraftedBundle.ImageArchive("images/common.tar", editManifestJson: j => j.Replace("registry.aliyuncs.com/google_containers/pause:3.6", "$(reboot)", StringComparison.Ordinal)));
            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack, null);
        }

        return bundle.ToBytes();
    }

    private static byte[] WithImage(CraftedBundle bundle, (byte[] Archive, JsonObject Artifact) image)
    {
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        return bundle.ToBytes();
    }

    private static JsonObject AddFileRecord(JsonObject manifest, string path, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        manifest["files"]!.AsArray().Add(new JsonObject { ["path"] = path, ["sha256"] = CraftedBundle.Sha(bytes), ["size"] = bytes.Length });
        return manifest;
    }

    [Fact]
    public async Task The_crafting_itself_makes_a_bundle_that_verifies_and_extracts()
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle();
        var image = CraftedBundle.ImageArchive("images/common.tar");
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        var path = bundle.WriteTo(dir["ok.tar"]);

        var report = await BundleVerifier.VerifyAsync(path);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.True((await BundleExtractor.ExtractAsync(path, dir["to"])).Report.Ok);
    }

    [Theory]
    [MemberData(nameof(Tarballs))]
    public async Task Verify_names_each_crafted_tarball_for_what_it_is(string attack, ProblemKind kind, string path, string words)
    {
        using var dir = new TempDir();
        var tarball = dir["crafted.tar"];
        await File.WriteAllBytesAsync(tarball, Craft(attack));

        var report = await BundleVerifier.VerifyAsync(tarball);

        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.Kind == kind && p.Path.Contains(path, StringComparison.Ordinal) && p.Detail.Contains(words, StringComparison.Ordinal));
        Assert.DoesNotContain(report.Problems, p => p.Kind == ProblemKind.Truncated);
    }

    [Theory]
    [MemberData(nameof(Tarballs))]
    public async Task Extract_refuses_each_crafted_tarball_and_leaves_nothing(string attack, ProblemKind kind, string path, string words)
    {
        _ = (kind, path, words);
        using var dir = new TempDir();
        var tarball = dir["crafted.tar"];
        await File.WriteAllBytesAsync(tarball, Craft(attack));
        var to = dir["to"];

        try
        {
            var result = await BundleExtractor.ExtractAsync(tarball, to);
            Assert.False(result.Report.Ok);
        }
        catch (OfflineKitException e)
        {
            Assert.Contains("refused to extract", e.Message);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(to));
        Assert.Equal(["crafted.tar", "to"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_header_promising_8_GiB_is_refused_without_reading_on()
    {
        using var dir = new TempDir();
        var tarball = dir["crafted.tar"];
        var bytes = Craft("unlisted-entry-promising-8-GiB");
        await File.WriteAllBytesAsync(tarball, bytes);

        var report = await BundleVerifier.VerifyAsync(tarball);

        // Refused at the header: not "truncated" (its 8 GiB were never asked for), and every listed file before it was checked.
        var problem = Assert.Single(report.Problems);
        Assert.Equal(ProblemKind.Extra, problem.Kind);
        Assert.Equal(4, report.FilesChecked);
    }

    [Fact]
    public async Task A_fifo_or_a_fifo_in_place_of_a_listed_file_is_reported_without_opening_it()
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        var bundle = (await BundleExtractor.ExtractAsync(tarball, dir["x"])).Directory;
        File.Delete(Path.Combine(bundle, "rpms/a.rpm"));
        Assert.Equal(0, Mkfifo(Path.Combine(bundle, "rpms/a.rpm")));
        Assert.Equal(0, Mkfifo(Path.Combine(bundle, "rpms/extra.fifo")));

        // A fifo opened for reading blocks until a writer comes: finishing at all is the test.
        var report = await BundleVerifier.VerifyAsync(bundle).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(
            [(ProblemKind.UnexpectedEntry, "rpms/a.rpm"), (ProblemKind.UnexpectedEntry, "rpms/extra.fifo")],
            report.Problems.Select(p => (p.Kind, p.Path)).Order());
        Assert.All(report.Problems, p => Assert.Contains("a fifo", p.Detail));
    }

    [Fact]
    public async Task Extract_clears_staging_folders_a_killed_extract_left_and_keeps_a_running_ones()
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        var to = dir["to"];
        var dead = Path.Combine(to, ".offlinekit-extract-2147483646-0123");
        var running = Path.Combine(to, ".offlinekit-extract-1-4567");
        Directory.CreateDirectory(Path.Combine(dead, "half"));
        Directory.CreateDirectory(running);

        var result = await BundleExtractor.ExtractAsync(tarball, to);

        Assert.True(result.Report.Ok);
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(running));
    }

    [Fact]
    public async Task Extract_to_a_file_or_an_unwritable_place_is_bad_input()
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        var file = dir.Write("afile", "x");

        var onFile = await Assert.ThrowsAsync<BadInputException>(() => BundleExtractor.ExtractAsync(tarball, file));
        var underFile = await Assert.ThrowsAsync<BadInputException>(() => BundleExtractor.ExtractAsync(tarball, Path.Combine(file, "sub")));
        var proc = await Assert.ThrowsAsync<BadInputException>(() => BundleExtractor.ExtractAsync(tarball, "/proc/1"));

        Assert.Contains("not a folder", onFile.Message);
        Assert.Contains("--to", underFile.Message);
        Assert.Contains("cannot write there", proc.Message);
    }

    [Fact]
    public async Task Control_characters_in_names_are_escaped_in_the_text_table()
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle { After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/\u001b]0;owned\u0007\u001b[31mred\u009b.rpm", "x"u8.ToArray()) };
        var tarball = bundle.WriteTo(dir["ctl.tar"]);

        var (code, stdout, stderr) = await CliRunner.RunAsync("verify", tarball);

        Assert.Equal(1, code);
        Assert.DoesNotContain(stdout + stderr, c => char.IsControl(c) && c is not '\n' and not '\r');
        Assert.Contains("rpms/\\x1b]0;owned\\x07\\x1b[31mred\\x9b.rpm", stdout);
    }

    [Fact]
    public async Task A_refused_entry_name_is_escaped_in_the_one_line_error()
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle { After = (tar, top) => CraftedBundle.AddFile(tar, $"{top}/rpms/a\rb\u001b[2J.rpm", "x"u8.ToArray()) };
        var tarball = bundle.WriteTo(dir["ctl.tar"]);

        var (code, stdout, stderr) = await CliRunner.RunAsync("extract", tarball, "--to", dir["to"]);

        Assert.True(code == 1, stdout + stderr);
        Assert.True(stdout.Length == 0, stdout + stderr);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("a\\rb\\x1b[2J.rpm", line);
    }

    public static TheoryData<string, string> UnverifiedArchives => new()
    {
        { "flipped-byte", "recorded" },
        { "layer-path-upwards", "'../../etc/passwd'" },
        { "index-digest-upwards", "'sha256:../../x'" },
    };

    /// <summary>What images load hands the daemon: only bytes proven against both lists and the archive's own index.</summary>
    [Theory]
    [MemberData(nameof(UnverifiedArchives))]
    public async Task A_bundle_file_is_handed_out_only_when_verified(string attack, string words)
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle();
        var image = attack switch
        {
            "layer-path-upwards" => CraftedBundle.ImageArchive("images/common.tar", editManifestJson: j => j.Replace("\"Layers\":[", "\"Layers\":[\"../../etc/passwd\",", StringComparison.Ordinal)),
            "index-digest-upwards" => CraftedBundle.ImageArchive("images/common.tar", editIndexJson: j => j.Replace("\"manifests\":[", "\"manifests\":[{\"digest\":\"sha256:../../x\"},", StringComparison.Ordinal)),
            _ => CraftedBundle.ImageArchive("images/common.tar"),
        };
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        var bytes = bundle.ToBytes();
        if (attack == "flipped-byte")
        {
            // A byte of the layer blob, SHA256SUMS and bundle.json left as they were.
            var at = bytes.AsSpan().IndexOf("llllllllll"u8);
            bytes[at] = (byte)'L';
        }

        var tarball = dir["bundle.tar"];
        await File.WriteAllBytesAsync(tarball, bytes);
        var before = Directory.GetFiles(Path.GetTempPath(), ".offlinekit-verified-*").Length;

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => VerifiedFile.OpenAsync(tarball, "images/common.tar"));

        Assert.Contains("images/common.tar", e.Message);
        Assert.Contains(words, e.Message);
        Assert.Contains("nothing was used", e.Message);
        Assert.Equal(before, Directory.GetFiles(Path.GetTempPath(), ".offlinekit-verified-*").Length);
    }

    [Fact]
    public async Task A_verified_file_is_the_bytes_that_were_hashed_from_a_tarball_or_a_folder()
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle();
        var image = CraftedBundle.ImageArchive("images/common.tar");
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        var tarball = bundle.WriteTo(dir["bundle.tar"]);
        var folder = (await BundleExtractor.ExtractAsync(tarball, dir["x"])).Directory;

        foreach (var source in new[] { tarball, folder })
        {
            await using var verified = await VerifiedFile.OpenAsync(source, "images/common.tar");
            using var copy = new MemoryStream();
            await verified.Content.CopyToAsync(copy);
            Assert.Equal(image.Archive, copy.ToArray());
        }
    }

    [Fact]
    public async Task A_flipped_byte_in_an_extracted_archive_is_caught_before_use()
    {
        using var dir = new TempDir();
        var bundle = new CraftedBundle();
        var image = CraftedBundle.ImageArchive("images/common.tar");
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        var folder = (await BundleExtractor.ExtractAsync(bundle.WriteTo(dir["bundle.tar"]), dir["x"])).Directory;
        var archive = Path.Combine(folder, "images/common.tar");
        var bytes = await File.ReadAllBytesAsync(archive);
        bytes[bytes.AsSpan().IndexOf("llllllllll"u8)] = (byte)'L';
        await File.WriteAllBytesAsync(archive, bytes);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => VerifiedFile.OpenAsync(folder, "images/common.tar"));

        Assert.Contains("images/common.tar", e.Message);
    }

    private static int Mkfifo(string path)
    {
        using var process = System.Diagnostics.Process.Start("mkfifo", [path]);
        process.WaitForExit();
        return process.ExitCode;
    }
}
