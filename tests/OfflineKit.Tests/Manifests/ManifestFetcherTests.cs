using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Manifests;

public sealed class ManifestFetcherTests : IDisposable
{
    // Every origin below is rewritten to 127.0.0.1 or file://: no test reaches the internet.
    private const string CalicoOrigin = "https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml";

    // Quick retries so a test of four attempts takes milliseconds; the per-attempt timeout is what the slow route beats.
    private static readonly FetchRetryPolicy Quick = new(4, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(800));

    private readonly LoopbackHttpServer _server = new();
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _http.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task A_manifest_is_fetched_through_its_url_mirror_with_the_sha256_of_the_bytes()
    {
        _server.Serve("calico/v3.25.2/manifests/calico.yaml", Fixtures.Bytes(Fixtures.Calico3252));
        var mirrors = Mirrors($"https://raw.githubusercontent.com/projectcalico/calico/={_server.Url("calico/")}");

        var fetched = await new ManifestFetcher(_http, Quick).FetchAsync(new Uri(CalicoOrigin), mirrors);

        Assert.Equal(CalicoOrigin, fetched.Origin.AbsoluteUri);
        Assert.Equal(_server.Url("calico/v3.25.2/manifests/calico.yaml"), fetched.Source);
        Assert.Equal(Fixtures.Bytes(Fixtures.Calico3252), fetched.Bytes.ToArray());
        Assert.Equal(Fixtures.Sha256(Fixtures.Calico3252), fetched.Sha256);
    }

    [Fact]
    public async Task Two_503s_are_ridden_out_and_the_third_attempt_gets_the_manifest()
    {
        var body = Fixtures.Bytes(Fixtures.MetricsServer);
        _server.Route("flaky/components.yaml", n => n <= 2 ? new Answer(503, "busy"u8.ToArray()) : new Answer(200, body));

        var fetched = await new ManifestFetcher(_http, Quick).FetchAsync(new Uri("https://example.invalid/components.yaml"), Mirrors($"https://example.invalid/={_server.Url("flaky/")}"));

        Assert.Equal(3, _server.Hits("flaky/components.yaml"));
        Assert.Equal(Fixtures.Sha256(Fixtures.MetricsServer), fetched.Sha256);
    }

    [Fact]
    public async Task A_404_fails_at_once_naming_the_origin_and_the_url_tried()
    {
        var origin = new Uri("https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml");
        var mirrors = Mirrors($"https://github.com/={_server.Url("gh/")}");

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => new ManifestFetcher(_http, Quick).FetchAsync(origin, mirrors));

        var tried = _server.Url("gh/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml");
        Assert.Equal($"fetching {origin} (via mirror {tried}): HTTP 404 Not Found; check the addon's url in the spec, or the url mirror that serves it", e.Message);
        Assert.Equal(1, _server.Hits("gh/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml"));
        Assert.Equal(ExitCode.Failed, e.ExitCode);
    }

    [Fact]
    public async Task A_server_that_keeps_failing_is_given_up_on_after_the_policys_attempts()
    {
        _server.Route("down/x.yaml", _ => new Answer(502));

        var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
            new ManifestFetcher(_http, Quick).FetchAsync(_server.Url("down/x.yaml"), MirrorConfig.Empty));

        Assert.Equal(4, _server.Hits("down/x.yaml"));
        Assert.Equal($"fetching {_server.Url("down/x.yaml")}: gave up after 4 attempts; last: HTTP 502 Bad Gateway", e.Message);
    }

    [Fact]
    public async Task An_attempt_that_times_out_is_retried()
    {
        var body = Fixtures.Bytes(Fixtures.MetricsServer);
        _server.Route("slow/x.yaml", n => n == 1 ? new Answer(200, body, Delay: TimeSpan.FromSeconds(5)) : new Answer(200, body));

        var fetched = await new ManifestFetcher(_http, Quick).FetchAsync(_server.Url("slow/x.yaml"), MirrorConfig.Empty);

        Assert.Equal(2, _server.Hits("slow/x.yaml"));
        Assert.Equal(Fixtures.Sha256(Fixtures.MetricsServer), fetched.Sha256);
    }

    [Fact]
    public async Task A_refused_connection_fails_without_retrying()
    {
        var port = ClosedPort();
        var origin = new Uri("https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml");
        var mirrors = Mirrors($"https://raw.githubusercontent.com/=http://127.0.0.1:{port}/raw/");

        // Retrying would wait 30 s before the second attempt: finishing well before shows it did not.
        var patient = new FetchRetryPolicy(4, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<OperationFailedException>(() => new ManifestFetcher(_http, patient).FetchAsync(origin, mirrors));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.StartsWith(
            $"fetching {origin} (via mirror http://127.0.0.1:{port}/raw/projectcalico/calico/v3.25.2/manifests/calico.yaml): cannot connect:",
            e.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_url_mirror_is_read_from_disk()
    {
        var mirrors = Mirrors($"{CalicoOrigin}={new Uri(Fixtures.PathOf(Fixtures.Calico3252)).AbsoluteUri}");

        var fetched = await new ManifestFetcher(_http, Quick).FetchAsync(new Uri(CalicoOrigin), mirrors);

        Assert.Equal("file", fetched.Source.Scheme);
        Assert.Equal(Fixtures.Sha256(Fixtures.Calico3252), fetched.Sha256);
    }

    [Fact]
    public async Task A_missing_file_is_an_error_naming_origin_and_path()
    {
        using var dir = new TempDir();
        var missing = new Uri(dir["none.yaml"]);

        var e = await Assert.ThrowsAsync<OperationFailedException>(() =>
            new ManifestFetcher(_http, Quick).FetchAsync(new Uri(CalicoOrigin), Mirrors($"{CalicoOrigin}={missing.AbsoluteUri}")));

        Assert.StartsWith($"fetching {CalicoOrigin} (via mirror {missing.AbsoluteUri}): cannot read {dir["none.yaml"]}:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_mistaken_for_a_timeout()
    {
        // Cancelled once the request is in (not on a timer, which a loaded machine can beat to the server).
        using var cancel = new CancellationTokenSource();
        _server.Route("hang/x.yaml", _ =>
        {
            cancel.CancelAfter(TimeSpan.FromMilliseconds(100));
            return new Answer(200, [1], Delay: TimeSpan.FromSeconds(10));
        });
        var patient = new FetchRetryPolicy(4, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ManifestFetcher(_http, patient).FetchAsync(_server.Url("hang/x.yaml"), MirrorConfig.Empty, cancel.Token));

        Assert.Equal(1, _server.Hits("hang/x.yaml"));
    }

    [Fact]
    public void Backoff_doubles_from_the_first_delay_up_to_the_cap()
    {
        var policy = new FetchRetryPolicy(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));

        Assert.Equal(
            [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)],
            Enumerable.Range(2, 5).Select(policy.DelayBefore));
    }

    private static MirrorConfig Mirrors(params string[] urlMirrors) => MirrorSources.Compose(null, [], urlMirrors, []);

    private static int ClosedPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
