using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// A reverse proxy on 127.0.0.1 in front of the lab registry that behaves like the registries the
/// tool meets outside: Docker Hub's bearer-token flow (realm/service/scope), 503s, and connections cut
/// in the middle of a blob. It records what it was asked, for the tests to assert on.
/// </summary>
public sealed class FaultyFront : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private readonly ConcurrentDictionary<string, long> _cuts = new();
    private readonly string _token = Guid.NewGuid().ToString("N");

    public FaultyFront(LabRegistry registry)
    {
        Port = LabRegistry.FreePort();
        _upstream = registry.Client();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>When set, /v2/ asks for a bearer token from /token, which wants these Basic credentials.</summary>
    public (string User, string Password)? BearerCredentials { get; set; }

    public bool RequireBearer { get; set; }

    /// <summary>Blob GETs answer 307 to /storage/…, which refuses any Authorization header, as S3 behind Docker Hub does.</summary>
    public bool RedirectBlobs { get; set; }

    public ConcurrentQueue<string> Requests { get; } = new();

    private int _tokenRequests;

    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>The next <paramref name="times"/> requests whose path contains <paramref name="pathPart"/> get a 503.</summary>
    public void FailNext(string pathPart, int times) => _failures[pathPart] = times;

    /// <summary>The next GET of a path containing <paramref name="pathPart"/> sends <paramref name="bytes"/> bytes of the body, then drops the connection.</summary>
    public void CutNext(string pathPart, long bytes) => _cuts[pathPart] = bytes;

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Url!.PathAndQuery;
        Requests.Enqueue($"{request.HttpMethod} {path} range={request.Headers["Range"] ?? "-"}");
        try
        {
            if (request.Url.AbsolutePath == "/token")
            {
                Interlocked.Increment(ref _tokenRequests);
                var expected = BearerCredentials is { } c ? "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")) : null;
                if (expected is not null && request.Headers["Authorization"] != expected)
                {
                    response.StatusCode = 401;
                    response.Close();
                    return;
                }

                await Write(response, 200, $"{{\"token\":\"{_token}\",\"expires_in\":300}}");
                return;
            }

            if (request.Url.AbsolutePath.StartsWith("/storage/", StringComparison.Ordinal))
            {
                if (request.Headers["Authorization"] is not null)
                {
                    await Write(response, 400, "{\"error\":\"storage refuses credentials it did not issue\"}");
                    return;
                }

                path = "/" + request.Url.AbsolutePath["/storage/".Length..];
            }
            else if (RequireBearer && request.Headers["Authorization"] != "Bearer " + _token)
            {
                var repo = request.Url.AbsolutePath.Split("/manifests/")[0].Split("/blobs/")[0].Replace("/v2/", string.Empty, StringComparison.Ordinal);
                response.AddHeader("WWW-Authenticate", $"Bearer realm=\"{BaseUri}token\",service=\"lab-registry\",scope=\"repository:{repo}:pull\"");
                await Write(response, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
                return;
            }

            if (RedirectBlobs && request.HttpMethod == "GET" && path.Contains("/blobs/sha256:", StringComparison.Ordinal) && !request.Url.AbsolutePath.StartsWith("/storage/", StringComparison.Ordinal))
            {
                response.StatusCode = 307;
                response.AddHeader("Location", $"{BaseUri}storage{request.Url.AbsolutePath}");
                response.Close();
                return;
            }

            foreach (var (part, left) in _failures)
            {
                if (path.Contains(part, StringComparison.Ordinal) && left > 0 && _failures.TryUpdate(part, left - 1, left))
                {
                    await Write(response, 503, "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"lab says try later\"}]}");
                    return;
                }
            }

            using var forward = new HttpRequestMessage(new HttpMethod(request.HttpMethod), path.TrimStart('/'));
            foreach (var header in new[] { "Accept", "Range" })
            {
                if (request.Headers[header] is { } value)
                {
                    forward.Headers.TryAddWithoutValidation(header, value.Split(',').Select(v => v.Trim()));
                }
            }

            using var upstream = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode = (int)upstream.StatusCode;
            foreach (var (name, values) in upstream.Headers.Concat(upstream.Content.Headers))
            {
                if (name is "Content-Length" or "Transfer-Encoding" or "Connection")
                {
                    continue;
                }

                response.AddHeader(name, string.Join(",", values));
            }

            var body = await upstream.Content.ReadAsByteArrayAsync();
            response.ContentLength64 = body.Length;
            foreach (var (part, bytes) in _cuts)
            {
                if (request.HttpMethod == "GET" && path.Contains(part, StringComparison.Ordinal) && _cuts.TryRemove(part, out _))
                {
                    await response.OutputStream.WriteAsync(body.AsMemory(0, (int)Math.Min(bytes, body.Length)));
                    await response.OutputStream.FlushAsync();
                    response.Abort();
                    return;
                }
            }

            await response.OutputStream.WriteAsync(body);
            response.Close();
        }
        catch (Exception) when (!_listener.IsListening)
        {
            // Shutting down.
        }
        catch (HttpListenerException)
        {
            // The client went away.
        }
    }

    private static async Task Write(HttpListenerResponse response, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }

        _upstream.Dispose();
    }
}
