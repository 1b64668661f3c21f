using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using OfflineKit.Rpm;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.Tests.Trust;

public class DiffAndLockTests
{
    [Fact]
    public async Task Diff_names_added_removed_and_changed_artifacts_and_the_bytes_a_site_needs()
    {
        using var dir = new TempDir();
        var old = await Bundles.WriteTarballAsync(Path.Combine(dir.Path, "old"));
        var files = Bundles.SampleFiles()
            .Where(f => f.Path != "manifests/calico.yaml")
            .Select(f => f.Path == "rpms/kubelet-1.23.0-0.x86_64.rpm"
                ? Bundles.File(f.Path, new string('R', 3500), ArtifactKind.Rpm) with { Artifact = f.Artifact! with { Version = "2.0" } }
                : f)
            .Append(Bundles.File("manifests/metrics-server.yaml", "kind: Deployment\n", ArtifactKind.Manifest))
            .ToList();
        var @new = await Bundles.WriteTarballAsync(Path.Combine(dir.Path, "new"), files: files);

        var result = await BundleDiff.DiffAsync(old, @new);
        Assert.Equal(
            [("changed", "kubelet-1.23.0-0.x86_64.rpm"), ("removed", "calico.yaml"), ("added", "metrics-server.yaml")],
            result.Changes.OrderBy(c => c.Kind).ThenBy(c => c.Name, StringComparer.Ordinal).Select(c => (c.Change, c.Name)).ToList());
        var changed = result.Changes.Single(c => c.Change == "changed");
        Assert.Equal(("1.0", "2.0"), (changed.Old!.Version, changed.New!.Version));
        Assert.Equal((3000L, 3500L), (changed.Old.Size, changed.New.Size));
        Assert.Equal(2, result.Unchanged);

        // What NEW has that OLD does not: the changed RPM, the new manifest, and bundle.json itself is not a file of the list.
        Assert.Equal(3500 + "kind: Deployment\n".Length, result.BytesToCarry);

        var (code, stdout, _) = await CliRunner.RunAsync("diff", old, @new, "--output", "json");
        Assert.Equal(0, code);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(result.BytesToCarry, json["bytesToCarry"]!.GetValue<long>());
        Assert.Equal(3, json["changes"]!.AsArray().Count);
        var text = await CliRunner.RunAsync("diff", old, @new);
        Assert.Contains("1 added, 1 removed, 1 changed, 2 unchanged", text.Out, StringComparison.Ordinal);

        var same = await BundleDiff.DiffAsync(old, old);
        Assert.Empty(same.Changes);
        Assert.Equal(0, same.BytesToCarry);
    }

    [Fact]
    public void A_lock_reads_back_as_it_was_written_and_is_sorted()
    {
        var recorder = new LockRecorder(null, null);
        recorder.Image("registry.example/b:v1", "sha256:" + new string('b', 64));
        recorder.Image("registry.example/a:v1", "sha256:" + new string('a', 64));
        recorder.Rpm(new LockedRpm("z-0:1-1.x86_64", "base", "https://r.example/z.rpm", "sha256:" + new string('1', 64), 10));
        recorder.Rpm(new LockedRpm("a-0:1-1.x86_64", "base", "https://r.example/a.rpm", "sha256:" + new string('2', 64), 10));
        recorder.Repository("base", "https://r.example/", "sha256:" + new string('3', 64));
        recorder.Manifest("calico", "https://m.example/calico.yaml", new string('4', 64));
        var written = recorder.Result("n", "1.23.0", "el8", "amd64", "2026-01", "offlinekit 0.1.0");
        var bytes = written.ToJsonBytes();
        var read = BundleLock.Parse(bytes, "x.lock.json");

        Assert.Equal(bytes, read.ToJsonBytes());
        Assert.Equal(["registry.example/a:v1", "registry.example/b:v1"], read.Images.Select(i => i.Name));
        Assert.Equal(["https://r.example/a.rpm", "https://r.example/z.rpm"], read.Rpms.Select(r => r.Url));
        Assert.Equal("2026-01", read.CatalogRevision);

        // Rebuilding from it: what it pins is asked for, what it does not is refused by name.
        var rebuild = new LockRecorder(read, "x.lock.json");
        Assert.Equal("sha256:" + new string('a', 64), rebuild.ImageDigest("registry.example/a:v1"));
        Assert.Contains("registry.example/c:v1", Assert.Throws<OperationFailedException>(() => rebuild.ImageDigest("registry.example/c:v1")).Message, StringComparison.Ordinal);
        rebuild.CheckFile("manifest", read.Manifests, "calico", "https://m.example/calico.yaml", new string('4', 64));
        var moved = Assert.Throws<OperationFailedException>(() => rebuild.CheckFile("manifest", read.Manifests, "calico", "https://m.example/calico.yaml", new string('5', 64)));
        Assert.Contains("calico", moved.Message, StringComparison.Ordinal);
        Assert.Contains("locked digest", moved.Message, StringComparison.Ordinal);

        // The lock a rebuild writes is the lock it was given, once the build carried exactly what it pins.
        var short1 = Assert.Throws<OperationFailedException>(() => rebuild.Result("n", "1.23.0", "el8", "amd64", null, "other"));
        Assert.Contains("locked but not carried: registry.example/a:v1", short1.Message, StringComparison.Ordinal);
        foreach (var i in read.Images)
        {
            rebuild.Image(i.Name, i.Digest);
        }

        foreach (var r in read.Rpms)
        {
            rebuild.Rpm(r);
        }

        rebuild.Manifest("calico", "https://m.example/calico.yaml", new string('4', 64));
        Assert.Equal(bytes, rebuild.Result("n", "1.23.0", "el8", "amd64", null, "other").ToJsonBytes());
        Assert.Throws<BadInputException>(() => BundleLock.Parse("{\"lockVersion\": 9}"u8, "x"));
    }

    [Fact]
    public void The_bundle_repository_lists_only_paths_its_own_packages_require()
    {
        var needed = new RpmPackage
        {
            Name = "lib",
            Arch = "x86_64",
            Evr = Evr.Parse("1-1"),
            Files = ["/etc/lib.conf", "/usr/bin/lib", "/usr/share/lib/needed", "/usr/share/lib/only-others-need"],
        };
        var user = new RpmPackage
        {
            Name = "user",
            Arch = "x86_64",
            Evr = Evr.Parse("1-1"),
            Requires = [RpmDependency.Parse("/usr/share/lib/needed")],
        };

        var carried = RpmClosure.WithCarriedFiles([needed, user]);
        Assert.Equal(["/etc/lib.conf", "/usr/bin/lib", "/usr/share/lib/needed"], carried[0].Files);
        Assert.Same(user, carried[1]);
    }
}
