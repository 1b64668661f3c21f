using System.Text;

namespace OfflineKit.IO;

/// <summary>
/// One request through the HTTP stack and <see cref="HttpDownloader"/> against a canned response
/// made in this process (the handler's connect callback hands it a stream, so no socket is opened and
/// no name is looked up): the stack's first request costs ~50 ms of type loading and compiling that
/// the precompiled image does not cover, and a command that is about to fetch can pay it on an idle
/// core while it reads its spec, instead of on its first real request.
/// </summary>
public static class HttpWarmup
{
    /// <summary>Starts the warm-up on the thread pool; it never fails.</summary>
    public static Task Start() => Task.Run(async () =>
    {
        var t = Timing.Start();
        try
        {
            await RunAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only a warm-up: the real requests report their own errors.
        }

        Timing.Mark("http stack warmed up", t);
    });

    /// <summary>The warm-up's request: the canned body ("ok") through <see cref="HttpDownloader.GetBytesAsync"/>.</summary>
    internal static async Task<byte[]> RunAsync()
    {
        using var handler = new SocketsHttpHandler { ConnectCallback = (_, _) => ValueTask.FromResult<Stream>(new CannedResponse()) };
        using var http = new HttpClient(handler);
        var downloader = new HttpDownloader(http) { MaxAttempts = 1 };
        return await downloader.GetBytesAsync(new Uri("http://warm-up.invalid/repodata/repomd.xml"), "warm-up").ConfigureAwait(false);
    }

    // An HTTP/1.1 server that answers anything with a two-byte 200 and closes.
    private sealed class CannedResponse : Stream
    {
        private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, Response.Length - _position);
            Response.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
