using System.Text;
using OfflineKit.IO;

namespace OfflineKit.Tests.IO;

public sealed class HttpWarmupTests
{
    [Fact]
    public async Task The_warm_up_request_is_answered_by_the_canned_response_in_process()
    {
        // warm-up.invalid cannot resolve (RFC 6761): a body at all means no name was looked up and no
        // socket opened, the connect callback's stream answered through HttpClient and HttpDownloader.
        var body = await HttpWarmup.RunAsync();

        Assert.Equal("ok", Encoding.ASCII.GetString(body));
    }

    [Fact]
    public async Task Start_completes_without_throwing()
    {
        await HttpWarmup.Start().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
