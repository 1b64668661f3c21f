using System.Net;
using System.Net.Http.Headers;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

public class LabHttpServerTests
{
    [Fact]
    public async Task Serves_files_whole_by_range_and_head_and_404s_the_rest()
    {
        using var dir = new TempDir();
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        Directory.CreateDirectory(dir["repo/Packages"]);
        await File.WriteAllBytesAsync(dir["repo/Packages/a b.rpm"], bytes);
        await using var server = new LabHttpServer(dir.Path);
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        Assert.Equal(bytes, await http.GetByteArrayAsync("repo/Packages/a%20b.rpm"));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, "repo/Packages/a%20b.rpm") { Headers = { Range = new RangeHeaderValue(600, null) } };
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("bytes 600-999/1000", partial.Content.Headers.ContentRange!.ToString());
        Assert.Equal(bytes[600..], await partial.Content.ReadAsByteArrayAsync());

        using var middle = new HttpRequestMessage(HttpMethod.Get, "repo/Packages/a%20b.rpm") { Headers = { Range = new RangeHeaderValue(10, 19) } };
        using var middleResponse = await http.SendAsync(middle);
        Assert.Equal(bytes[10..20], await middleResponse.Content.ReadAsByteArrayAsync());

        using var past = new HttpRequestMessage(HttpMethod.Get, "repo/Packages/a%20b.rpm") { Headers = { Range = new RangeHeaderValue(1000, null) } };
        using var pastResponse = await http.SendAsync(past);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, pastResponse.StatusCode);

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "repo/Packages/a%20b.rpm"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(1000, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        foreach (var missing in new[] { "repo/Packages/b.rpm", "repo/Packages/", "repo", "../etc/passwd", "%2e%2e/%2e%2e/etc/passwd" })
        {
            using var response = await http.GetAsync(missing);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{missing}: {response.StatusCode}");
        }

        Assert.Contains(new LabHttpRequest("GET", "/repo/Packages/a b.rpm", "bytes=600-", 206), server.Requests);
        Assert.Contains(new LabHttpRequest("HEAD", "/repo/Packages/a b.rpm", null, 200), server.Requests);
        Assert.Contains(new LabHttpRequest("GET", "/repo/Packages/b.rpm", null, 404), server.Requests);
    }

    [Fact]
    public async Task Fails_on_request_and_stops_and_starts_again_on_the_same_port()
    {
        using var dir = new TempDir();
        dir.Write("repodata/repomd.xml", "<repomd/>");
        await using var server = new LabHttpServer(dir.Path);
        var port = server.Port;
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        server.FailNext("repomd", 1);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("repodata/repomd.xml")).StatusCode);
        Assert.Equal("<repomd/>", await http.GetStringAsync("repodata/repomd.xml"));

        await server.StopAsync();
        Assert.False(server.IsRunning);
        // The same client, whose pooled connection the stop must have closed too.
        var down = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync("repodata/repomd.xml"));
        Assert.Equal(HttpRequestError.ConnectionError, down.HttpRequestError);

        server.Start();
        Assert.Equal(port, server.Port);
        Assert.Equal("<repomd/>", await http.GetStringAsync("repodata/repomd.xml"));
        Assert.Equal([503, 200, 200], server.Requests.Select(r => r.Status));
    }
}
