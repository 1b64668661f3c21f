namespace OfflineKit.IO;

/// <summary>A read-through stream that shows every chunk it passes to <paramref name="tap"/>: one read, several uses.</summary>
public sealed class TapStream(Stream inner, Action<ReadOnlySpan<byte>> tap) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        tap(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        tap(buffer.Span[..n]);
        return n;
    }

}
