using System.Text;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Tests.Manifests;

public sealed class AddonManifestsTests : IDisposable
{
    private readonly LoopbackHttpServer _server = new();
    private readonly HttpClient _http = new();
    private readonly MirrorConfig _mirrors;

    public AddonManifestsTests()
    {
        // The lab's arrangement: the spec's real origins, served by a loopback server.
        _server.Serve("raw/projectcalico/calico/v3.25.2/manifests/calico.yaml", Fixtures.Bytes(Fixtures.Calico3252));
        _server.Serve("gh/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml", Fixtures.Bytes(Fixtures.MetricsServer));
        _mirrors = MirrorSources.Compose(
            null,
            [],
            [$"https://raw.githubusercontent.com/={_server.Url("raw/")}", $"https://github.com/={_server.Url("gh/")}"],
            []);
    }

    public void Dispose()
    {
        _http.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task Calico_is_fetched_patched_and_its_images_listed_for_the_bundle()
    {
        var spec = Fixtures.Spec;
        var addon = spec.Addons.Single(a => a.Name == "calico");

        var prepared = await new AddonManifests(_http).PrepareAsync(addon, spec.Cluster, _mirrors, imageRegistry: null);

        Assert.Equal("calico", prepared.Name);
        Assert.Equal("v3.25.2", prepared.Version);
        Assert.Equal("manifests/calico.yaml", prepared.BundlePath);
        Assert.Equal(addon.Url, prepared.Origin);
        Assert.Equal(_server.Url("raw/projectcalico/calico/v3.25.2/manifests/calico.yaml"), prepared.FetchedFrom);
        Assert.Equal(Fixtures.Sha256(Fixtures.Calico3252), prepared.FetchedSha256);
        Assert.Equal(
            ["docker.io/calico/cni:v3.25.2", "docker.io/calico/kube-controllers:v3.25.2", "docker.io/calico/node:v3.25.2"],
            prepared.Images.Select(i => i.ToString()));
        Assert.Equal(prepared.Images, prepared.ManifestImages);

        var yaml = Encoding.UTF8.GetString(prepared.Content.Span);
        var differences = YamlDiff.Compare(Encoding.UTF8.GetString(Fixtures.Bytes(Fixtures.Calico3252)), yaml);
        Assert.Matches(@"^doc\[\d+\]/spec/template/spec/containers\[0\]/env: \d+ items vs \d+$", Assert.Single(differences));
        Assert.Contains("- name: CALICO_IPV4POOL_CIDR\n", yaml, StringComparison.Ordinal);
        Assert.Contains("value: 10.244.0.0/16\n", yaml, StringComparison.Ordinal);
        Assert.Single(prepared.Changes);
    }

    [Fact]
    public async Task Metrics_server_is_prepared_with_its_arg_and_the_aliyun_image()
    {
        var spec = Fixtures.Spec;

        var prepared = await new AddonManifests(_http).PrepareAsync(spec.Addons.Single(a => a.Name == "metrics-server"), spec.Cluster, _mirrors, null);

        Assert.Equal("manifests/metrics-server.yaml", prepared.BundlePath);
        Assert.Equal(Fixtures.Sha256(Fixtures.MetricsServer), prepared.FetchedSha256);
        Assert.Equal(["registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3"], prepared.Images.Select(i => i.ToString()));
        var yaml = Encoding.UTF8.GetString(prepared.Content.Span);
        Assert.Single(YamlDiff.Load(yaml).Documents.SelectMany(d => d.AllNodes).OfType<YamlScalarNode>(), s => s.Value == "--kubelet-insecure-tls");
        Assert.Equal(9, YamlDiff.Load(yaml).Documents.Count);
    }

    [Fact]
    public async Task A_private_registry_moves_the_manifests_images_after_the_patches_and_the_bundle_keeps_the_origin_names()
    {
        var spec = Fixtures.Spec;

        var metrics = await new AddonManifests(_http).PrepareAsync(spec.Addons.Single(a => a.Name == "metrics-server"), spec.Cluster, _mirrors, "reg.local:5000");
        var calico = await new AddonManifests(_http).PrepareAsync(spec.Addons.Single(a => a.Name == "calico"), spec.Cluster, _mirrors, "reg.local:5000");

        Assert.Equal(["registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3"], metrics.Images.Select(i => i.ToString()));
        Assert.Equal(["reg.local:5000/google_containers/metrics-server:v0.6.3"], metrics.ManifestImages.Select(i => i.ToString()));
        Assert.Contains("image: reg.local:5000/google_containers/metrics-server:v0.6.3\n", Encoding.UTF8.GetString(metrics.Content.Span), StringComparison.Ordinal);
        Assert.Equal(calico.Images.Select(i => i.WithRegistry("reg.local:5000")), calico.ManifestImages);
        Assert.All(calico.ManifestImages, i => Assert.Equal("reg.local:5000", i.Registry));
        Assert.Equal(
            ImageExtractor.Extract(YamlManifest.Parse(calico.Content.Span, "written")),
            calico.ManifestImages);
    }

    [Fact]
    public void The_same_fetched_bytes_give_the_same_manifest_byte_for_byte()
    {
        var spec = Fixtures.Spec;
        var addon = spec.Addons.Single(a => a.Name == "calico");
        var fetched = new FetchedManifest(addon.Url, addon.Url, Fixtures.Bytes(Fixtures.Calico3252), Fixtures.Sha256(Fixtures.Calico3252));

        var one = AddonManifests.Prepare(addon, spec.Cluster, fetched, null);
        var two = AddonManifests.Prepare(addon, spec.Cluster, fetched, null);

        Assert.Equal(one.Content.ToArray(), two.Content.ToArray());
    }

    [Theory]
    [InlineData("../calico")]
    [InlineData("Calico")]
    [InlineData("")]
    public async Task An_addon_name_that_cannot_be_a_file_name_is_refused_before_fetching(string name)
    {
        var fetcher = new RecordingFetcher();
        var spec = Fixtures.Spec;
        var addon = spec.Addons.Single(a => a.Name == "calico") with { Name = name };

        var e = await Assert.ThrowsAsync<BadInputException>(() => new AddonManifests(fetcher).PrepareAsync(addon, spec.Cluster, _mirrors, null));

        Assert.StartsWith($"addon name '{name}' cannot name a file", e.Message, StringComparison.Ordinal);
        Assert.Empty(fetcher.Asked);
    }

    [Fact]
    public async Task A_registry_that_is_not_a_host_is_refused_before_fetching()
    {
        var fetcher = new RecordingFetcher();
        var spec = Fixtures.Spec;

        var e = await Assert.ThrowsAsync<BadInputException>(() =>
            new AddonManifests(fetcher).PrepareAsync(spec.Addons[0], spec.Cluster, _mirrors, "https://reg.local"));

        Assert.StartsWith("image registry 'https://reg.local'", e.Message, StringComparison.Ordinal);
        Assert.Empty(fetcher.Asked);
    }

    [Fact]
    public async Task The_fetcher_is_a_seam_so_patching_runs_without_a_network()
    {
        var fetcher = new RecordingFetcher { Bytes = Fixtures.Bytes(Fixtures.Calico3245) };
        var spec = Fixtures.Spec;

        var prepared = await new AddonManifests(fetcher).PrepareAsync(spec.Addons.Single(a => a.Name == "calico"), spec.Cluster, MirrorConfig.Empty, null);

        Assert.Equal([spec.Addons[0].Url], fetcher.Asked);
        Assert.Contains("docker.io/calico/node:v3.24.5", prepared.Images.Select(i => i.ToString()));
    }

    [Fact]
    public async Task A_spec_patch_that_does_not_fit_the_manifest_names_the_addon()
    {
        var spec = Fixtures.Spec;
        var addon = spec.Addons.Single(a => a.Name == "metrics-server");
        addon = addon with { Patches = [new ManifestPatch(ManifestPatchOp.AddArg, "metric-server", null, "--v=2")] };

        var e = await Assert.ThrowsAsync<BadInputException>(() => new AddonManifests(_http).PrepareAsync(addon, spec.Cluster, _mirrors, null));

        Assert.StartsWith(
            $"addon metrics-server: patch add-arg --v=2 on container 'metric-server': no container named 'metric-server' in any workload of {addon.Url}",
            e.Message,
            StringComparison.Ordinal);
    }

    private sealed class RecordingFetcher : IManifestFetcher
    {
        public List<Uri> Asked { get; } = [];

        public byte[] Bytes { get; init; } = [];

        public Task<FetchedManifest> FetchAsync(Uri origin, MirrorConfig mirrors, CancellationToken cancellationToken = default)
        {
            Asked.Add(origin);
            return Task.FromResult(new FetchedManifest(origin, origin, Bytes, "0"));
        }
    }
}
