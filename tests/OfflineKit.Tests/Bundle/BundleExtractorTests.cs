using System.Formats.Tar;
using OfflineKit.Bundle;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Bundle;

public class BundleExtractorTests
{
    [Fact]
    public async Task A_bundle_extracts_verified_under_its_own_name()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"]);

        var result = await BundleExtractor.ExtractAsync(tarball, dir["to"]);

        Assert.True(result.Report.Ok);
        Assert.Equal(dir[$"to/{Bundles.Name}"], result.Directory);
        Assert.Equal("kind: DaemonSet\n", await File.ReadAllTextAsync(Path.Combine(result.Directory, "manifests/calico.yaml")));
        Assert.Equal((UnixFileMode)BundleLayout.ExecutableMode, File.GetUnixFileMode(Path.Combine(result.Directory, "scripts/import-images.sh")));
        Assert.Equal([Bundles.Name], Directory.GetFileSystemEntries(dir["to"]).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Extracting_over_an_existing_bundle_is_refused()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"]);
        await BundleExtractor.ExtractAsync(tarball, dir["to"]);

        var e = await Assert.ThrowsAsync<BadInputException>(() => BundleExtractor.ExtractAsync(tarball, dir["to"]));

        Assert.Contains("already exists", e.Message);
        Assert.Single(Directory.GetFileSystemEntries(dir["to"]));
    }

    [Fact]
    public async Task A_corrupt_bundle_leaves_nothing_behind()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"]);
        var bytes = await File.ReadAllBytesAsync(tarball);
        bytes[bytes.AsSpan().IndexOf("rrrrrrrrrr"u8) + 3] ^= 1;
        await File.WriteAllBytesAsync(tarball, bytes);

        var result = await BundleExtractor.ExtractAsync(tarball, dir["to"]);

        Assert.False(result.Report.Ok);
        Assert.Empty(Directory.GetFileSystemEntries(dir["to"]));
    }

    [Fact]
    public async Task A_truncated_bundle_leaves_nothing_behind()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"]);
        using (var f = new FileStream(tarball, FileMode.Open))
        {
            f.SetLength(f.Length - 3000);
        }

        var result = await BundleExtractor.ExtractAsync(tarball, dir["to"]);

        Assert.False(result.Report.Ok);
        Assert.Empty(Directory.GetFileSystemEntries(dir["to"]));
    }

    /// <summary>Crafted tarballs: each tries to write outside the target folder or to make a special file.</summary>
    public static TheoryData<string, string> Escapes => new()
    {
        { "dot-dot", "'..'" },
        { "absolute", "absolute" },
        { "symlink-to-root", "absolute" },
        { "symlink-then-file-through-it", "outside" },
        { "symlink-relative-escape", "outside" },
        { "hardlink-outside", "outside" },
        { "hardlink-absolute", "absolute" },
        { "char-device", "character device" },
        { "fifo", "fifo" },
        { "second-top-folder", "outside the bundle's top folder" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task Crafted_tarballs_are_refused_and_nothing_is_written_outside(string attack, string reason)
    {
        using var dir = new TempDir();
        var outside = dir["outside"];
        Directory.CreateDirectory(outside);
        var tarball = dir["evil.tar"];
        WriteCrafted(tarball, attack, outside);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => BundleExtractor.ExtractAsync(tarball, dir["to"]));

        Assert.Contains("refused to extract", e.Message);
        Assert.Contains(reason, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
        Assert.Empty(Directory.GetFileSystemEntries(dir["to"]));
        Assert.False(File.Exists(dir["x"]));
    }

    private static void WriteCrafted(string path, string attack, string outside)
    {
        using var file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        const string top = Bundles.Name;
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, top + "/"));
        void Add(TarEntryType type, string name, string? link = null, string content = "pwned")
        {
            var entry = new PaxTarEntry(type, name);
            if (link is not null)
            {
                entry.LinkName = link;
            }

            if (type == TarEntryType.RegularFile)
            {
                entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content));
            }

            tar.WriteEntry(entry);
        }

        switch (attack)
        {
            case "dot-dot":
                Add(TarEntryType.RegularFile, $"{top}/../../x");
                break;
            case "absolute":
                Add(TarEntryType.RegularFile, Path.Combine(outside, "x"));
                break;
            case "symlink-to-root":
                Add(TarEntryType.SymbolicLink, $"{top}/root", "/");
                break;
            case "symlink-then-file-through-it":
                Add(TarEntryType.SymbolicLink, $"{top}/out", outside);
                Add(TarEntryType.RegularFile, $"{top}/out/x");
                break;
            case "symlink-relative-escape":
                Add(TarEntryType.SymbolicLink, $"{top}/rpms", "../../outside");
                Add(TarEntryType.RegularFile, $"{top}/rpms/x");
                break;
            case "hardlink-outside":
                Add(TarEntryType.HardLink, $"{top}/passwd", "../etc/passwd");
                break;
            case "hardlink-absolute":
                Add(TarEntryType.HardLink, $"{top}/passwd", "/etc/passwd");
                break;
            case "char-device":
                tar.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, $"{top}/null") { DeviceMajor = 1, DeviceMinor = 3 });
                break;
            case "fifo":
                Add(TarEntryType.Fifo, $"{top}/pipe");
                break;
            case "second-top-folder":
                Add(TarEntryType.RegularFile, "other/x");
                break;
        }
    }
}
