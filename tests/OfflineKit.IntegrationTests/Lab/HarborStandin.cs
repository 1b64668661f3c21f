using System.Net;
using System.Text;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// A stand-in for Harbor (which cannot run here) where the project the push names does not exist: it
/// answers a push with one of Harbor's real answers for that case, nothing else. Plain HTTP on 127.0.0.1.
/// </summary>
public sealed class HarborStandin : IAsyncDisposable
{
    /// <summary>Harbor 2's project lookup: 404 with its error body (goharbor/harbor, project controller "project %s not found").</summary>
    public const string ProjectNotFound = "{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"project k8s not found\"}]}";

    /// <summary>Harbor 2 when its token service granted no push (goharbor/harbor issues #13988, #21373).</summary>
    public const string PushUnauthorized =
        "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"unauthorized to access repository: k8s/google_containers/pause, action: push: unauthorized to access repository: k8s/google_containers/pause, action: push\"}]}";

    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly int _status;
    private readonly string _body;

    public HarborStandin(int status, string body)
    {
        _status = status;
        _body = body;
        Port = LabRegistry.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Host => $"127.0.0.1:{Port}";

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                await AnswerAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client gave up on this request (it stops at the first refusal): serve the next.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Url!.AbsolutePath;

        // Harbor's token flow: a request without a token is challenged; the token service hands out a
        // token whatever the project (it grants only what the account may do, here: no push).
        if (path == "/service/token")
        {
            response.ContentType = "application/json";
            await response.OutputStream.WriteAsync("{\"token\":\"standin-token\"}"u8.ToArray());
        }
        else if (request.Headers["Authorization"] is null)
        {
            response.StatusCode = 401;
            response.AddHeader("WWW-Authenticate", $"Bearer realm=\"http://{Host}/service/token\",service=\"harbor-registry\"");
        }

        // A blob or tag it does not have: 404 with no body, as HEAD gets.
        else if (request.HttpMethod == "HEAD")
        {
            response.StatusCode = 404;
        }
        else if (request.HttpMethod == "POST" && path.EndsWith("/blobs/uploads/", StringComparison.Ordinal))
        {
            response.StatusCode = _status;
            response.ContentType = "application/json; charset=utf-8";
            var bytes = Encoding.UTF8.GetBytes(_body);
            await response.OutputStream.WriteAsync(bytes);
        }
        else
        {
            response.StatusCode = 400;
        }

        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
