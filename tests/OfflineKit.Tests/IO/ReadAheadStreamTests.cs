using OfflineKit.IO;

namespace OfflineKit.Tests.IO;

public class ReadAheadStreamTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 7)]
    [InlineData(3 << 20, 4096)]
    [InlineData((5 << 20) + 123, 1 << 20)]
    public async Task Gives_the_same_bytes_in_the_same_order(int size, int readSize)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        await using var stream = new ReadAheadStream(new MemoryStream(data));
        using var copy = new MemoryStream();
        var buffer = new byte[readSize];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            copy.Write(buffer, 0, n);
        }

        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task An_error_of_the_source_reaches_the_reader()
    {
        await using var stream = new ReadAheadStream(new FailingStream(3 << 20));
        var e = await Assert.ThrowsAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
        Assert.Equal("disk gone", e.Message);
    }

    [Fact]
    public async Task Disposing_early_stops_the_background_reader()
    {
        var source = new MemoryStream(new byte[20 << 20]);
        var stream = new ReadAheadStream(source);
        Assert.Equal(10, await stream.ReadAsync(new byte[10]));
        await stream.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => source.ReadByte());
    }

    private sealed class FailingStream(long failAt) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAt)
            {
                throw new IOException("disk gone");
            }

            var n = (int)Math.Min(count, failAt - _position);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
