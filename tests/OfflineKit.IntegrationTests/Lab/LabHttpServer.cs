using System.Collections.Concurrent;
using System.Net;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>One request as the lab HTTP server answered it.</summary>
public sealed record LabHttpRequest(string Method, string Path, string? Range, int Status);

/// <summary>
/// A static file server on 127.0.0.1 for a directory tree (the lab's yum repos, keys, manifests):
/// GET and HEAD, <c>Range: bytes=N-</c> and <c>bytes=N-M</c> (206 with Content-Range, 416 past the
/// end), 404 for what is not a file. It records every request, can answer the next requests for a
/// path with a status of the test's choosing, and can be stopped and started again on the same port,
/// so a test can prove a later step works with "the server down".
/// </summary>
public sealed class LabHttpServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<LabHttpRequest> _requests = new();
    private int _inFlight;
    private readonly ConcurrentDictionary<string, (int Status, int Left)> _failures = new();
    private readonly Lock _gate = new();
    private HttpListener? _listener;
    private Task? _loop;

    /// <summary>Serves <paramref name="root"/> on a free loopback port (or on <paramref name="port"/>).</summary>
    public LabHttpServer(string root, int? port = null)
    {
        Root = Path.GetFullPath(root);
        for (var attempt = 0; ; attempt++)
        {
            Port = port ?? LabRegistry.FreePort();
            try
            {
                Start();
                return;
            }
            catch (HttpListenerException) when (port is null && attempt < 5)
            {
                // Another process took the port between FreePort and Start: take another.
            }
        }
    }

    public string Root { get; }

    public int Port { get; private set; }

    /// <summary>http://127.0.0.1:PORT/ — the URL of <see cref="Root"/>.</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _listener is not null;
            }
        }
    }

    /// <summary>Every request answered so far, in order.</summary>
    /// <remarks>
    /// A client has the whole response before the handler records it (the record is the handler's
    /// last act): the list waits (up to 10 s) for the handlers of requests already accepted to finish.
    /// </remarks>
    public IReadOnlyList<LabHttpRequest> Requests
    {
        get
        {
            SpinWait.SpinUntil(() => Volatile.Read(ref _inFlight) == 0, TimeSpan.FromSeconds(10));
            return [.. _requests];
        }
    }

    public void ClearRequests() => _requests.Clear();

    /// <summary>The next <paramref name="times"/> requests whose path contains <paramref name="pathPart"/> get <paramref name="status"/> and no body.</summary>
    public void FailNext(string pathPart, int times, int status = 503) => _failures[pathPart] = (status, times);

    /// <summary>Listens again on the same port after <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            listener.Start();
            _listener = listener;
            _loop = Task.Run(() => LoopAsync(listener));
        }
    }

    /// <summary>Closes the port and every open connection: clients then get "connection refused".</summary>
    public async Task StopAsync()
    {
        HttpListener? listener;
        Task? loop;
        lock (_gate)
        {
            (listener, loop) = (_listener, _loop);
            (_listener, _loop) = (null, null);
        }

        if (listener is null)
        {
            return;
        }

        listener.Stop();
        listener.Close();
        try
        {
            await loop!;
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task LoopAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _inFlight);
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        var range = request.Headers["Range"];
        var status = 500;
        try
        {
            status = await AnswerAsync(request.HttpMethod, path, range, response);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The client went away or the server is stopping.
        }
        finally
        {
            _requests.Enqueue(new LabHttpRequest(request.HttpMethod, path, range, status));
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    private async Task<int> AnswerAsync(string method, string path, string? range, HttpListenerResponse response)
    {
        foreach (var (part, (failStatus, left)) in _failures)
        {
            if (path.Contains(part, StringComparison.Ordinal) && left > 0 && _failures.TryUpdate(part, (failStatus, left - 1), (failStatus, left)))
            {
                return Empty(response, failStatus);
            }
        }

        if (method is not ("GET" or "HEAD"))
        {
            response.AddHeader("Allow", "GET, HEAD");
            return Empty(response, 405);
        }

        var file = Path.GetFullPath(Path.Join(Root, path));
        if (!file.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(file))
        {
            return Empty(response, 404);
        }

        await using var stream = File.OpenRead(file);
        var length = stream.Length;
        long start = 0;
        var end = length - 1;
        var status = 200;
        if (range is not null)
        {
            if (!TryParseRange(range, length, out start, out end))
            {
                response.AddHeader("Content-Range", $"bytes */{length}");
                return Empty(response, 416);
            }

            status = 206;
            response.AddHeader("Content-Range", $"bytes {start}-{end}/{length}");
        }

        response.StatusCode = status;
        response.ContentType = "application/octet-stream";
        response.AddHeader("Accept-Ranges", "bytes");
        response.AddHeader("Last-Modified", File.GetLastWriteTimeUtc(file).ToString("R"));
        response.ContentLength64 = end - start + 1;
        if (method == "GET")
        {
            stream.Position = start;
            var left = end - start + 1;
            var buffer = new byte[64 * 1024];
            while (left > 0)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
                if (n == 0)
                {
                    break;
                }

                await response.OutputStream.WriteAsync(buffer.AsMemory(0, n));
                left -= n;
            }
        }

        return status;
    }

    /// <summary>One range, <c>bytes=N-</c> or <c>bytes=N-M</c>: all a resuming download sends.</summary>
    private static bool TryParseRange(string header, long length, out long start, out long end)
    {
        start = 0;
        end = length - 1;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(','))
        {
            return false;
        }

        var parts = header["bytes=".Length..].Split('-');
        if (parts.Length != 2 || !long.TryParse(parts[0], out start) || start >= length)
        {
            return false;
        }

        if (parts[1].Length > 0)
        {
            if (!long.TryParse(parts[1], out var last) || last < start)
            {
                return false;
            }

            end = Math.Min(last, length - 1);
        }

        return true;
    }

    private static int Empty(HttpListenerResponse response, int status)
    {
        response.StatusCode = status;
        response.ContentLength64 = 0;
        return status;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
