using OfflineKit.Images;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Lab;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>The registry client against what real registries do: token auth, 503s, cut connections, a registry that is down.</summary>
public class RegistryFaultTests
{
    private static readonly Platform Amd64 = new("linux", "amd64");

    private static RegistryClient Client(Uri endpoint, RegistryCredentials? credentials = null)
    {
        var mirrors = new MirrorConfig();
        mirrors.AddRegistryMirror($"docker.io={endpoint}");
        return new RegistryClient(new RegistryClientOptions(mirrors, credentials ?? RegistryCredentials.None) { MaxAttempts = 4, FirstBackoff = TimeSpan.FromMilliseconds(20) });
    }

    private static ImagePullRequest Calico => new("docker.io", "calico/node", "v3.25.2", "docker.io/calico/node:v3.25.2");

    [Fact]
    public async Task The_bearer_token_flow_gets_a_token_with_the_configured_login()
    {
        await using var lab = await LabRegistry.StartAsync();
        var image = SyntheticImages.Make("calico/node", "v3.25.2");
        await lab.PushAsync(image);
        await using var front = new FaultyFront(lab) { RequireBearer = true, BearerCredentials = ("hubuser", "hub-Secret-9") };
        using var dir = new TempDir();
        var creds = new RegistryCredentials();
        creds.Add($"127.0.0.1:{front.Port}", new RegistryCredential("hubuser", "hub-Secret-9"));

        using var client = Client(front.BaseUri, creds);
        var pulled = await new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Calico], Amd64, 2);

        Assert.Equal(image.ManifestDigest, pulled[0].ManifestDigest);
        Assert.True(front.TokenRequests >= 1);
        Assert.Contains(front.Requests, r => r.StartsWith("GET /token?service=lab-registry&scope=repository%3Acalico%2Fnode%3Apull", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_token_is_an_authentication_failure_without_the_secret()
    {
        await using var lab = await LabRegistry.StartAsync();
        await lab.PushAsync(SyntheticImages.Make("calico/node", "v3.25.2"));
        await using var front = new FaultyFront(lab) { RequireBearer = true, BearerCredentials = ("hubuser", "hub-Secret-9") };
        using var dir = new TempDir();
        var creds = new RegistryCredentials();
        creds.Add($"127.0.0.1:{front.Port}", new RegistryCredential("hubuser", "wrong-Secret-1"));

        using var client = Client(front.BaseUri, creds);
        var e = await Assert.ThrowsAsync<OperationFailedException>(() => new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Calico], Amd64, 1));

        Assert.Contains("authentication failed for docker.io", e.Message);
        Assert.DoesNotContain("wrong-Secret-1", e.ToString());
    }

    [Fact]
    public async Task Service_unavailable_is_retried_with_backoff()
    {
        await using var lab = await LabRegistry.StartAsync();
        var image = SyntheticImages.Make("calico/node", "v3.25.2");
        await lab.PushAsync(image);
        await using var front = new FaultyFront(lab);
        front.FailNext("/manifests/", 2);
        front.FailNext("/blobs/", 2);
        using var dir = new TempDir();

        using var client = Client(front.BaseUri);
        var pulled = await new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Calico], Amd64, 1);

        Assert.Equal(image.ManifestDigest, pulled[0].ManifestDigest);
    }

    [Fact]
    public async Task A_blob_cut_midway_is_resumed_with_range_and_verified()
    {
        await using var lab = await LabRegistry.StartAsync();
        var image = SyntheticImages.Make("calico/node", "v3.25.2", layerBytes: 600_000, sharedBase: false);
        await lab.PushAsync(image);
        await using var front = new FaultyFront(lab);
        var layer = image.Layers[0];
        front.CutNext($"/blobs/{layer.Digest}", 250_000);
        using var dir = new TempDir();
        var cache = new BlobCache(dir.Path);

        using var client = Client(front.BaseUri);
        await new ImagePuller(client, cache).PullAsync([Calico], Amd64, 1);

        Assert.Equal(layer.Content, await File.ReadAllBytesAsync(cache.PathOf(layer.Digest)));
        var gets = front.Requests.Where(r => r.Contains($"/blobs/{layer.Digest}", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, gets.Count);
        Assert.EndsWith("range=-", gets[0]);
        Assert.Matches(@"range=bytes=\d+-$", gets[1]);
        Assert.NotEqual("range=bytes=0-", gets[1][gets[1].IndexOf("range=", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task A_registry_that_is_down_is_named_after_the_retries()
    {
        using var dir = new TempDir();
        using var client = Client(new Uri($"http://127.0.0.1:{LabRegistry.FreePort()}/"));

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => new ImagePuller(client, new BlobCache(dir.Path)).PullAsync([Calico], Amd64, 1));

        Assert.Contains("docker.io/calico/node:v3.25.2", e.Message);
        Assert.Contains("127.0.0.1", e.Message);
    }

    [Fact]
    public async Task Blobs_redirected_to_storage_are_fetched_without_the_registry_token()
    {
        await using var lab = await LabRegistry.StartAsync();
        var image = SyntheticImages.Make("calico/node", "v3.25.2");
        await lab.PushAsync(image);
        await using var front = new FaultyFront(lab) { RequireBearer = true, RedirectBlobs = true };
        using var dir = new TempDir();
        var cache = new BlobCache(dir.Path);

        using var client = Client(front.BaseUri);
        var pulled = await new ImagePuller(client, cache).PullAsync([Calico], Amd64, 2);

        Assert.Equal(image.ManifestDigest, pulled[0].ManifestDigest);
        Assert.All(pulled[0].Blobs, d => Assert.True(cache.Contains(d)));
        Assert.Contains(front.Requests, r => r.StartsWith("GET /storage/v2/calico/node/blobs/", StringComparison.Ordinal));
    }
}
