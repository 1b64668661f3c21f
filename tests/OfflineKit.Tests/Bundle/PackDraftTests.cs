using System.Security.Cryptography;
using OfflineKit.Bundle;
using OfflineKit.IO;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.Tests.Bundle;

/// <summary>
/// A bundle written ahead from the last build's plan is the bundle only when this build plans the same
/// bytes; otherwise it is dropped and the bundle is written as always, and nothing of it stays behind.
/// </summary>
public class PackDraftTests
{
    private static readonly byte[] Made = RandomNumberGenerator.GetBytes(200_003);

    [Fact]
    public async Task The_same_plan_takes_the_draft_and_writes_nothing_again()
    {
        using var dir = new TempDir();
        var memo = new DigestMemo(dir["memo"]);
        var first = await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1"), dir["first"], BundleFormat.Tar, memo: memo);
        Assert.Single(Directory.GetFiles(PackDraft.PlansDirectory(memo.Directory)));

        var ahead = new Counter();
        var now = new Counter();
        WrittenBundle second;
        await using (var draft = PackDraft.Start(memo.Directory, Bundles.Name, dir["second"], Writers(ahead)))
        {
            Assert.NotNull(draft);
            second = await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, now, "recipe 1"), dir["second"], BundleFormat.Tar, memo: memo, draft: draft);
        }

        Assert.Equal((1, 0), (ahead.Runs, now.Runs));
        Assert.Equal(await File.ReadAllBytesAsync(first.Path), await File.ReadAllBytesAsync(second.Path));
        Assert.Equal((first.Sha256, first.Size), (second.Sha256, second.Size));
        Assert.Equal(await File.ReadAllTextAsync(first.Path + ".sha256"), await File.ReadAllTextAsync(second.Path + ".sha256"));
        Assert.Equal([second.Path, second.Path + ".sha256"], Directory.GetFiles(dir["second"]).Order(StringComparer.Ordinal));
        var report = await BundleVerifier.VerifyAsync(second.Path);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
    }

    [Theory]
    [InlineData("content")]
    [InlineData("recipe")]
    [InlineData("disk file")]
    public async Task Another_plan_drops_the_draft_and_writes_the_bundle_as_always(string change)
    {
        using var dir = new TempDir();
        var memo = new DigestMemo(dir["memo"]);
        await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1"), dir["first"], BundleFormat.Tar, memo: memo);
        var ahead = new Counter();
        await using var draft = PackDraft.Start(memo.Directory, Bundles.Name, dir["second"], Writers(ahead));
        Assert.NotNull(draft);
        if (change == "disk file")
        {
            // Same size, other bytes: the plan kept says other digests than the file has now.
            await File.WriteAllBytesAsync(dir["rpm/kubelet.rpm"], RandomNumberGenerator.GetBytes(3333));
        }

        var now = new Counter();
        var files = Files(dir, now, change == "recipe" ? "recipe 2" : "recipe 1", change == "content" ? "kind: Deployment\n" : "kind: DaemonSet\n");
        var second = await BundleWriter.WriteFileAsync(Bundles.Header, files, dir["second"], BundleFormat.Tar, memo: memo, draft: draft);
        var plain = await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1", change == "content" ? "kind: Deployment\n" : "kind: DaemonSet\n"), dir["plain"], BundleFormat.Tar);
        await draft.DisposeAsync();

        Assert.Equal(1, now.Runs);
        Assert.Equal(await File.ReadAllBytesAsync(plain.Path), await File.ReadAllBytesAsync(second.Path));
        Assert.Equal([second.Path, second.Path + ".sha256"], Directory.GetFiles(dir["second"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Without_the_memos_checksum_the_draft_is_dropped_and_the_bundle_written_and_hashed()
    {
        using var dir = new TempDir();
        var memo = new DigestMemo(dir["memo"]);
        var first = await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1"), dir["first"], BundleFormat.Tar, memo: memo);
        File.Delete(Assert.Single(Directory.GetFiles(dir["memo"])));
        var now = new Counter();

        var draft = PackDraft.Start(memo.Directory, Bundles.Name, dir["second"], Writers(new Counter()));
        Assert.NotNull(draft);
        var second = await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, now, "recipe 1"), dir["second"], BundleFormat.Tar, memo: memo, draft: draft);
        // The draft may still be stopping (abandoned while it began its file): a build disposes it before it ends.
        await draft.DisposeAsync();

        Assert.Equal(1, now.Runs);
        Assert.Equal((first.Sha256, first.Size), (second.Sha256, second.Size));
        Assert.Equal([second.Path, second.Path + ".sha256"], Directory.GetFiles(dir["second"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_draft_abandoned_before_it_makes_its_file_removes_the_file_itself_when_it_stops()
    {
        using var dir = new TempDir();
        var memo = new DigestMemo(dir["memo"]);
        await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1"), dir["first"], BundleFormat.Tar, memo: memo);
        using var abandoned = new ManualResetEventSlim();
        var inner = Writers(new Counter());

        // The plan is read (and its writers made) on the draft's thread: held there until the draft is
        // abandoned, so the file is made after AbandonAsync has deleted its path.
        var draft = PackDraft.Start(memo.Directory, Bundles.Name, dir["out"], recipe =>
        {
            abandoned.Wait(TimeSpan.FromSeconds(30));
            return inner(recipe);
        });
        Assert.NotNull(draft);
        await draft.AbandonAsync();
        abandoned.Set();

        Assert.False(await draft.WrittenAsync());
        Assert.Empty(Directory.GetFiles(dir["out"]));
        await draft.DisposeAsync();
    }

    [Fact]
    public async Task No_draft_without_a_plan_or_with_a_source_gone_and_no_plan_kept_for_a_signed_bundle()
    {
        using var dir = new TempDir();
        var memo = new DigestMemo(dir["memo"]);
        Assert.Null(PackDraft.Start(memo.Directory, Bundles.Name, dir["out"], Writers(new Counter())));

        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        await BundleWriter.WriteFileAsync(Bundles.Header with { Signer = json => BundleSignature.Sign(key, json) }, Files(dir, new Counter(), "recipe 1"), dir["signed"], BundleFormat.Tar, memo: memo);
        Assert.False(Directory.Exists(PackDraft.PlansDirectory(memo.Directory)));

        await BundleWriter.WriteFileAsync(Bundles.Header, Files(dir, new Counter(), "recipe 1"), dir["first"], BundleFormat.Tar, memo: memo);
        Assert.True(await WrittenAsync(memo, dir, Writers(new Counter())));
        Assert.False(await WrittenAsync(memo, dir, _ => null));
        File.Delete(dir["rpm/kubelet.rpm"]);
        Assert.False(await WrittenAsync(memo, dir, Writers(new Counter())));
        await File.WriteAllTextAsync(Directory.GetFiles(PackDraft.PlansDirectory(memo.Directory)).Single(), "not a plan");
        Assert.False(await WrittenAsync(memo, dir, Writers(new Counter())));
        Assert.Empty(Directory.GetFiles(dir["out"]));
    }

    // Whether a draft started from the kept plan was written (and then dropped).
    private static async Task<bool> WrittenAsync(DigestMemo memo, TempDir dir, Func<string, Func<Stream, CancellationToken, Task>?> writers)
    {
        await using var draft = PackDraft.Start(memo.Directory, Bundles.Name, dir["out"], writers);
        return await draft!.WrittenAsync();
    }

    private static Func<string, Func<Stream, CancellationToken, Task>?> Writers(Counter counter) =>
        recipe => recipe == "recipe 1" ? counter.Write : null;

    private static List<BundleFile> Files(TempDir dir, Counter counter, string recipe, string manifest = "kind: DaemonSet\n")
    {
        var rpm = dir["rpm/kubelet.rpm"];
        if (!File.Exists(rpm))
        {
            Directory.CreateDirectory(dir["rpm"]);
            File.WriteAllBytes(rpm, RandomNumberGenerator.GetBytes(3333));
        }

        return
        [
            BundleFile.FromWriter("images/common.tar", Made.Length, Convert.ToHexStringLower(SHA256.HashData(Made)), counter.Write, recipe),
            BundleFile.FromDisk("rpms/kubelet.rpm", rpm),
            Bundles.File("manifests/calico.yaml", manifest, ArtifactKind.Manifest),
        ];
    }

    /// <summary>A writer of content made on the fly that counts its runs.</summary>
    private sealed class Counter
    {
        public int Runs { get; private set; }

        public async Task Write(Stream output, CancellationToken cancellationToken)
        {
            Runs++;
            await output.WriteAsync(Made, cancellationToken);
        }
    }
}
