using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OfflineKit.Tests.Manifests;

/// <summary>What a route answers to its n-th request (n counts from 1).</summary>
public sealed record Answer(int Status, byte[]? Body = null, TimeSpan Delay = default);

/// <summary>
/// A real HTTP server on 127.0.0.1 (HttpListener on a free port) with routes the test sets, counting
/// the requests each path gets. Nothing leaves the machine.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly ConcurrentDictionary<string, Func<int, Answer>> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    public LoopbackHttpServer()
    {
        // A port picked by the OS can be taken again between probe and bind: try a few.
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                BaseUrl = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }

        _ = Task.Run(ServeAsync);
    }

    public Uri BaseUrl { get; }

    public Uri Url(string path) => new(BaseUrl, path.TrimStart('/'));

    public void Serve(string path, byte[] body) => Route(path, _ => new Answer(200, body));

    public void Route(string path, Func<int, Answer> answer) => _routes["/" + path.TrimStart('/')] = answer;

    public int Hits(string path) => _hits.GetValueOrDefault("/" + path.TrimStart('/'));

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath;
        var n = _hits.AddOrUpdate(path, 1, (_, count) => count + 1);
        var answer = _routes.TryGetValue(path, out var route) ? route(n) : new Answer(404);
        try
        {
            if (answer.Delay > TimeSpan.Zero)
            {
                await Task.Delay(answer.Delay, _stop.Token);
            }

            context.Response.StatusCode = answer.Status;
            if (answer.Body is not null)
            {
                context.Response.ContentLength64 = answer.Body.Length;
                await context.Response.OutputStream.WriteAsync(answer.Body, _stop.Token);
            }

            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client gave up (a timeout test) or the server is stopping.
            context.Response.Abort();
        }
    }
}
