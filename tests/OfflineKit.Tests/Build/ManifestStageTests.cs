using System.Security.Cryptography;
using System.Text;
using OfflineKit.Build;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using OfflineKit.Tests.Manifests;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.Tests.Build;

/// <summary>The build's addon manifests: patched once, then taken from the cache while nothing they follow from changes.</summary>
public sealed class ManifestStageTests : IDisposable
{
    private readonly LoopbackHttpServer _server = new();
    private readonly TempDir _dir = new();

    public ManifestStageTests()
    {
        _server.Serve("raw/projectcalico/calico/v3.25.2/manifests/calico.yaml", Fixtures.Bytes(Fixtures.Calico3252));
        _server.Serve("gh/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml", Fixtures.Bytes(Fixtures.MetricsServer));
    }

    public void Dispose()
    {
        _server.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_rebuild_carries_the_same_files_and_images_from_the_cache()
    {
        var first = await Run(Fixtures.Spec);
        Assert.Equal(6, Directory.GetFiles(_dir["cache/manifests"]).Length); // a .yaml, an .images and a .listed per addon
        var second = await Run(Fixtures.Spec);

        Assert.Equal(Describe(first), Describe(second));
        Assert.Contains(first.Images, i => i.ToString() == "docker.io/calico/node:v3.25.2");
        var calico = Fixtures.Spec.Addons.Single(a => a.Name == "calico");
        var prepared = AddonManifests.Prepare(calico, Fixtures.Spec.Cluster, new FetchedManifest(calico.Url, calico.Url, Fixtures.Bytes(Fixtures.Calico3252), "x"), null);
        Assert.Equal(prepared.Content.ToArray(), Content(second, "manifests/calico.yaml"));
        Assert.Equal(prepared.Images.Select(i => i.ToString()), second.Images.Take(prepared.Images.Count).Select(i => i.ToString()));
    }

    [Fact]
    public async Task The_cache_is_what_a_rebuild_reads_and_a_damaged_entry_is_a_miss()
    {
        await Run(Fixtures.Spec);
        var yaml = Directory.GetFiles(_dir["cache/manifests"], "*.yaml").Single(f => File.ReadAllText(f).Contains("calico-node", StringComparison.Ordinal));
        var list = Path.ChangeExtension(yaml, ".images");
        var planted = Encoding.UTF8.GetBytes("kind: Planted\n");
        await File.WriteAllBytesAsync(yaml, planted);
        await File.WriteAllLinesAsync(list, ["sha256 " + Convert.ToHexStringLower(SHA256.HashData(planted)), "example.invalid/planted:1"]);

        var planting = await Run(Fixtures.Spec);
        Assert.Equal(planted, Content(planting, "manifests/calico.yaml"));
        Assert.Contains(planting.Images, i => i.ToString() == "example.invalid/planted:1");

        // Content that does not match its recorded sha256 is not used: parsed afresh.
        await File.WriteAllBytesAsync(yaml, Encoding.UTF8.GetBytes("kind: Damaged\n"));
        var damaged = await Run(Fixtures.Spec);
        Assert.Contains(damaged.Images, i => i.ToString() == "docker.io/calico/node:v3.25.2");
        Assert.Contains("calico-node", Encoding.UTF8.GetString(Content(damaged, "manifests/calico.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_images_listed_last_are_the_next_builds_guess_per_recipe()
    {
        var options = new BuildOptions(Fixtures.Spec, MirrorSources.Compose(null, [], [], []), _dir["out"]) { CacheDirectory = _dir["cache"] };
        Assert.Empty(ManifestStage.LikelyImages(options));

        var built = await Run(Fixtures.Spec);

        Assert.Equal(built.Images, ManifestStage.LikelyImages(options));
        // Another pod subnet is another recipe's guess: none yet.
        var otherSubnet = Fixtures.Spec with { Cluster = Fixtures.Spec.Cluster with { PodSubnet = System.Net.IPNetwork.Parse("10.99.0.0/16") } };
        Assert.Empty(ManifestStage.LikelyImages(options with { Spec = otherSubnet }));
        // A damaged guess is no guess.
        foreach (var f in Directory.GetFiles(_dir["cache/manifests"], "*.listed"))
        {
            await File.WriteAllTextAsync(f, "not an image reference!\n");
        }

        Assert.Empty(ManifestStage.LikelyImages(options));
    }

    [Fact]
    public async Task Other_cluster_values_or_patches_are_another_entry()
    {
        await Run(Fixtures.Spec);
        var otherSubnet = Fixtures.Spec with { Cluster = Fixtures.Spec.Cluster with { PodSubnet = System.Net.IPNetwork.Parse("10.99.0.0/16") } };
        Assert.Contains("10.99.0.0/16", Encoding.UTF8.GetString(Content(await Run(otherSubnet), "manifests/calico.yaml")), StringComparison.Ordinal);

        var spec = Fixtures.Spec;
        var metrics = spec.Addons.Single(a => a.Name == "metrics-server");
        var patched = spec with
        {
            Addons = [.. spec.Addons.Where(a => a.Name != metrics.Name), metrics with { Patches = [.. metrics.Patches, new ManifestPatch(ManifestPatchOp.AddArg, "metrics-server", null, "--v=4")] }],
        };
        Assert.Contains("--v=4", Encoding.UTF8.GetString(Content(await Run(patched), "manifests/metrics-server.yaml")), StringComparison.Ordinal);
        // Two addons × (the spec, another subnet: every addon's key holds the cluster values) + the patched one,
        // each a .yaml, an .images and a .listed.
        Assert.Equal(15, Directory.GetFiles(_dir["cache/manifests"]).Length);
    }

    private async Task<(List<BundleFile> Files, List<ImageReference> Images)> Run(BundleSpec spec)
    {
        var mirrors = MirrorSources.Compose(null, [], [$"https://raw.githubusercontent.com/={_server.Url("raw/")}", $"https://github.com/={_server.Url("gh/")}"], []);
        var options = new BuildOptions(spec, mirrors, _dir["out"]) { CacheDirectory = _dir["cache"] };
        return await ManifestStage.RunAsync(options, new LockRecorder(null, null), CancellationToken.None);
    }

    private static byte[] Content((List<BundleFile> Files, List<ImageReference> Images) result, string path)
    {
        using var stream = result.Files.Single(f => f.Path == path).Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Describe((List<BundleFile> Files, List<ImageReference> Images) result) =>
        string.Join('\n', result.Files.Select(f => $"{f.Path} {f.Artifact} {Convert.ToHexStringLower(SHA256.HashData(Content(result, f.Path)))}"))
        + "\n" + string.Join('\n', result.Images);
}
