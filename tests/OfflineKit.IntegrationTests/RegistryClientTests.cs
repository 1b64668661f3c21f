using OfflineKit.Images;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Lab;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>The registry client against Debian's real docker-registry: plain, htpasswd, TLS with a lab CA.</summary>
public class RegistryClientTests
{
    private const string Origin = "registry.aliyuncs.com";
    private static readonly Platform Amd64 = new("linux", "amd64");

    private static RegistryClient Client(LabRegistry lab, RegistryCredentials? credentials = null, bool withCa = true)
    {
        var mirrors = MirrorConfig.Parse(
            $"registries:\n  {Origin}: {lab.BaseUri}\n" + (withCa && lab.CaFile is not null ? $"ca:\n  {lab.Host}: {lab.CaFile}\n" : string.Empty),
            "mirrors.yaml");
        return new RegistryClient(new RegistryClientOptions(mirrors, credentials ?? RegistryCredentials.None) { MaxAttempts = 2, FirstBackoff = TimeSpan.FromMilliseconds(10) });
    }

    private static ImagePullRequest Request(string repo, string tag) => new(Origin, repo, tag, $"{Origin}/{repo}:{tag}");

    [Theory]
    [InlineData(RegistryMode.Plain)]
    [InlineData(RegistryMode.Tls)]
    public async Task Pulls_through_a_mirror_into_the_cache_each_blob_verified(RegistryMode mode)
    {
        await using var lab = await LabRegistry.StartAsync(mode);
        var api = SyntheticImages.Make("google_containers/kube-apiserver", "v1.23.0");
        var proxy = SyntheticImages.Make("google_containers/kube-proxy", "v1.23.0");
        await lab.PushAsync(api);
        await lab.PushAsync(proxy);
        using var dir = new TempDir();
        var cache = new BlobCache(dir["cache"]);
        using var client = Client(lab);

        var pulled = await new ImagePuller(client, cache).PullAsync(
            [Request("google_containers/kube-apiserver", "v1.23.0"), Request("google_containers/kube-proxy", "v1.23.0")], Amd64, parallel: 4);

        Assert.Equal([api.ManifestDigest, proxy.ManifestDigest], pulled.Select(p => p.ManifestDigest));
        Assert.Equal("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", pulled[0].Name);
        Assert.All(pulled.SelectMany(p => p.Blobs), d => Assert.True(cache.Contains(d)));
        Assert.Equal(SyntheticImages.SharedBase.Content, await File.ReadAllBytesAsync(cache.PathOf(SyntheticImages.SharedBase.Digest)));
        Assert.Empty(Directory.EnumerateFiles(dir["cache/partial"]));
    }

    [Fact]
    public async Task Without_the_lab_ca_tls_fails_clearly()
    {
        await using var lab = await LabRegistry.StartAsync(RegistryMode.Tls);
        await lab.PushAsync(SyntheticImages.Make("google_containers/pause", "3.6"));
        using var dir = new TempDir();
        using var client = Client(lab, withCa: false);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
            new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Request("google_containers/pause", "3.6")], Amd64, 1));

        Assert.Contains("TLS failed", e.Message);
    }

    [Fact]
    public async Task Basic_auth_uses_docker_config_credentials_and_never_prints_the_secret()
    {
        await using var lab = await LabRegistry.StartAsync(RegistryMode.Htpasswd);
        await lab.PushAsync(SyntheticImages.Make("google_containers/etcd", "3.5.1-0"));
        using var dir = new TempDir();
        var wrong = new RegistryCredentials();
        wrong.Add(lab.Host, new RegistryCredential(LabRegistry.User, "not-the-password"));

        using (var anonymous = Client(lab))
        {
            var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
                new ImagePuller(anonymous, new BlobCache(dir["a"])).PullAsync([Request("google_containers/etcd", "3.5.1-0")], Amd64, 1));
            Assert.Contains($"authentication failed for {Origin}", e.Message);
        }

        using (var bad = Client(lab, wrong))
        {
            var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
                new ImagePuller(bad, new BlobCache(dir["b"])).PullAsync([Request("google_containers/etcd", "3.5.1-0")], Amd64, 1));
            Assert.Contains($"authentication failed for {Origin}", e.Message);
            Assert.DoesNotContain("not-the-password", e.ToString());
        }

        var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{LabRegistry.User}:{LabRegistry.Password}"));
        var config = dir.Write("docker/config.json", "{\"auths\":{\"http://" + lab.Host + "\":{\"auth\":\"" + auth + "\"}}}");
        using var good = Client(lab, RegistryCredentials.Load(config));
        var pulled = await new ImagePuller(good, new BlobCache(dir["c"])).PullAsync([Request("google_containers/etcd", "3.5.1-0")], Amd64, 1);
        Assert.Single(pulled);
    }

    [Fact]
    public async Task A_multi_arch_index_gives_the_asked_platform_or_lists_what_it_offers()
    {
        await using var lab = await LabRegistry.StartAsync();
        var amd = SyntheticImages.Make("google_containers/pause", "3.6", "amd64");
        var arm = SyntheticImages.Make("google_containers/pause", "3.6", "arm64");
        await lab.PushIndexAsync("google_containers/pause", "3.6", amd, arm);
        using var dir = new TempDir();
        using var client = Client(lab);
        var puller = new ImagePuller(client, new BlobCache(dir.Path));

        Assert.Equal(arm.ManifestDigest, (await puller.PullAsync([Request("google_containers/pause", "3.6")], new Platform("linux", "arm64", "v8"), 1))[0].ManifestDigest);
        Assert.Equal(amd.ManifestDigest, (await puller.PullAsync([Request("google_containers/pause", "3.6")], Amd64, 1))[0].ManifestDigest);
        var e = await Assert.ThrowsAsync<OperationFailedException>(() => puller.PullAsync([Request("google_containers/pause", "3.6")], new Platform("linux", "s390x"), 1));
        Assert.Contains("no image for linux/s390x; the registry offers linux/amd64, linux/arm64/v8", e.Message);
    }

    [Fact]
    public async Task A_corrupt_blob_fails_the_pull_and_stays_out_of_the_cache()
    {
        await using var lab = await LabRegistry.StartAsync();
        var image = SyntheticImages.Make("google_containers/coredns", "v1.8.6", sharedBase: false);
        await lab.PushAsync(image);
        lab.CorruptBlob(image.Layers[0].Digest);
        using var dir = new TempDir();
        var cache = new BlobCache(dir.Path);
        using var client = Client(lab);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
            new ImagePuller(client, cache).PullAsync([Request("google_containers/coredns", "v1.8.6")], Amd64, 1));

        Assert.Contains("digest mismatch", e.Message);
        Assert.False(cache.Contains(image.Layers[0].Digest));
        Assert.Empty(Directory.EnumerateFiles(dir["partial"]));
    }

    [Fact]
    public async Task An_unknown_tag_names_the_image_and_the_registry_answer()
    {
        await using var lab = await LabRegistry.StartAsync();
        using var dir = new TempDir();
        using var client = Client(lab);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
            new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Request("google_containers/kube-scheduler", "v9.9.9")], Amd64, 1));

        Assert.Contains("registry.aliyuncs.com/google_containers/kube-scheduler:v9.9.9", e.Message);
        Assert.Contains("404", e.Message);
    }
}
