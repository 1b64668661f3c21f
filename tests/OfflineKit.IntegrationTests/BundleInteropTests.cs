using OfflineKit.Bundle;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>What offlinekit writes, read by the real tools an operator has: sha256sum, GNU tar, gzip, zstd.</summary>
public class BundleInteropTests
{
    [Theory]
    [InlineData(BundleFormat.Tar, "tar -xf")]
    [InlineData(BundleFormat.TarGz, "tar -xzf")]
    [InlineData(BundleFormat.TarZst, "tar --zstd -xf")]
    public async Task Gnu_tar_unpacks_it_and_sha256sum_checks_it(BundleFormat format, string untar)
    {
        Tools.Require("sha256sum", "coreutils");
        Tools.Require("tar", "tar");
        if (format == BundleFormat.TarZst)
        {
            Tools.Require("zstd", "zstd");
        }

        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"], format);
        var name = Path.GetFileName(tarball);

        var outer = await Tools.Bash($"sha256sum -c {name}.sha256", dir["out"]);
        Assert.True(outer.ExitCode == 0, outer.Stdout + outer.Stderr);
        Assert.Equal($"{name}: OK", outer.Stdout.Trim());

        Directory.CreateDirectory(dir["x"]);
        var unpack = await Tools.Bash($"{untar} '{tarball}' -C '{dir["x"]}'");
        Assert.True(unpack.ExitCode == 0, unpack.Stderr);

        var check = await Tools.Bash("sha256sum --strict -c SHA256SUMS", Path.Combine(dir["x"], Bundles.Name));
        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
        Assert.Equal(
            ["bundle.json: OK", "images/common.tar: OK", "manifests/calico.yaml: OK", "rpms/kubelet-1.23.0-0.x86_64.rpm: OK", "scripts/import-images.sh: OK"],
            check.Stdout.Trim().Split('\n'));
    }

    [Fact]
    public async Task Sha256sum_catches_what_the_verifier_catches_in_a_flipped_byte()
    {
        Tools.Require("sha256sum", "coreutils");
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);
        var rpm = Path.Combine(bundle, "rpms/kubelet-1.23.0-0.x86_64.rpm");
        var bytes = await File.ReadAllBytesAsync(rpm);
        bytes[7] ^= 0x20;
        await File.WriteAllBytesAsync(rpm, bytes);

        var check = await Tools.Bash("sha256sum -c SHA256SUMS", bundle);

        Assert.NotEqual(0, check.ExitCode);
        Assert.Contains("rpms/kubelet-1.23.0-0.x86_64.rpm: FAILED", check.Stdout);
        Assert.Equal(ProblemKind.Modified, Assert.Single((await BundleVerifier.VerifyAsync(bundle)).Problems).Kind);
    }

    [Fact]
    public async Task Gnu_tar_sees_fixed_owner_time_and_modes()
    {
        Tools.Require("tar", "tar");
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir.Path);

        var list = await Tools.Bash($"TZ=UTC tar --numeric-owner -tvf '{tarball}'");

        Assert.Equal(0, list.ExitCode);
        var lines = list.Stdout.Trim().Split('\n');
        Assert.All(lines, l => Assert.Contains(" 0/0 ", l));
        Assert.All(lines, l => Assert.Contains("2000-01-01 00:00", l));
        Assert.Contains(lines, l => l.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && l.EndsWith("scripts/import-images.sh", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rw-r--r--", StringComparison.Ordinal) && l.EndsWith("bundle.json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gnu_tar_reads_long_names_the_writer_puts_in_pax_headers()
    {
        Tools.Require("tar", "tar");
        using var dir = new TempDir();
        var longName = "rpms/" + new string('a', 120) + "/" + new string('b', 120) + ".rpm";
        var tarball = await Bundles.WriteTarballAsync(dir.Path, files: [Bundles.File(longName, "payload", ArtifactKind.Rpm)]);

        var list = await Tools.Bash($"tar -tf '{tarball}'");

        Assert.Equal(0, list.ExitCode);
        Assert.Contains($"{Bundles.Name}/{longName}", list.Stdout.Split('\n'));
    }

    [Theory]
    [InlineData("tar -C '{0}' -cf '{1}' .")]
    [InlineData("tar -C '{0}' -czf '{1}' ./offlinekit-k8s-1.23.0-el8-amd64")]
    [InlineData("cd '{0}' && tar -cf '{1}' offlinekit-k8s-1.23.0-el8-amd64/")]
    public async Task A_bundle_repacked_by_gnu_tar_verifies_when_its_lists_come_first_and_is_refused_unread_otherwise(string pack)
    {
        Tools.Require("tar", "tar");
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir["a"]);
        var repacked = dir["repacked.tar"];
        var run = await Tools.Bash(string.Format(System.Globalization.CultureInfo.InvariantCulture, pack, Path.GetDirectoryName(bundle), repacked));
        Assert.True(run.ExitCode == 0, run.Stderr);

        // GNU tar packs in directory order: whether bundle.json and SHA256SUMS come before every other
        // file is chance. Only then can each entry be judged at its header, before its bytes.
        var listing = await Tools.Bash($"tar -tvf '{repacked}' | awk '$1 ~ /^-/ {{ print $NF }}'");
        var files = listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(f => f[(f.IndexOf(Bundles.Name + "/", StringComparison.Ordinal) + Bundles.Name.Length + 1)..]).ToList();
        if (files.Take(2).Order(StringComparer.Ordinal).SequenceEqual(["SHA256SUMS", "bundle.json"]))
        {
            var report = await BundleVerifier.VerifyAsync(repacked);
            Assert.True(report.Ok, string.Join("; ", report.Problems));
            Assert.True((await BundleExtractor.ExtractAsync(repacked, dir["x"])).Report.Ok);
        }
        else
        {
            var report = await BundleVerifier.VerifyAsync(repacked);
            Assert.False(report.Ok);
            var problem = Assert.Single(report.Problems);
            Assert.Equal(ProblemKind.UnexpectedEntry, problem.Kind);
            Assert.Contains("which a bundle holds first", problem.Detail, StringComparison.Ordinal);
        }

        // Either way the folder GNU tar unpacks verifies.
        Directory.CreateDirectory(dir["unpacked"]);
        Assert.Equal(0, (await Tools.Bash($"tar -xf '{repacked}' -C '{dir["unpacked"]}'")).ExitCode);
        Assert.True((await BundleVerifier.VerifyAsync(Path.Combine(dir["unpacked"], Path.GetFileName(bundle)))).Ok);
    }
}
