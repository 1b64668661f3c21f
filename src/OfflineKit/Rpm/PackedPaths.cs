using System.Collections;
using System.Text;

namespace OfflineKit.Rpm;

/// <summary>
/// A package's file paths as primary lists them, in one UTF-8 byte array, NUL-separated (XML cannot
/// hold a NUL, so no path read from it has one): one object a package instead of one a path, and a
/// byte a character instead of two (paths are nearly all ASCII). Looked up (<see cref="Contains"/>) and
/// walked (<see cref="Segments"/>) in place; strings are made only when indexed or enumerated.
/// </summary>
internal sealed class PackedPaths : IReadOnlyList<string>, ICollection<string>
{
    private const byte Separator = 0;
    private readonly byte[] _packed;
    private string[]? _items;

    /// <param name="packed">The paths as UTF-8, each but the last followed by a NUL.</param>
    /// <param name="count">How many there are (at least one).</param>
    public PackedPaths(byte[] packed, int count)
    {
        ArgumentNullException.ThrowIfNull(packed);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _packed = packed;
        Count = count;
    }

    /// <summary>The paths given as text, packed.</summary>
    public static PackedPaths Of(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return new PackedPaths(Encoding.UTF8.GetBytes(string.Join('\0', paths)), paths.Count);
    }

    public int Count { get; }

    public bool IsReadOnly => true;

    public string this[int index] => Items[index];

    // Made once, on demand; two threads racing here make equal arrays.
    private string[] Items => _items ??= Encoding.UTF8.GetString(_packed).Split('\0');

    /// <summary>The paths as UTF-8 spans of the packed bytes, without making strings.</summary>
    public SegmentEnumerator Segments => new(_packed);

    public bool Contains(string item)
    {
        if (item is null)
        {
            return false;
        }

        if (item.Length == 0 || item.Contains('\0', StringComparison.Ordinal))
        {
            return Array.IndexOf(Items, item) >= 0;
        }

        var length = Encoding.UTF8.GetMaxByteCount(item.Length);
        Span<byte> encoded = length <= 1024 ? stackalloc byte[length] : new byte[length];
        encoded = encoded[..Encoding.UTF8.GetBytes(item, encoded)];
        ReadOnlySpan<byte> text = _packed;
        var from = 0;
        while (true)
        {
            var k = text[from..].IndexOf(encoded);
            if (k < 0)
            {
                return false;
            }

            var start = from + k;
            var end = start + encoded.Length;
            if ((start == 0 || text[start - 1] == Separator) && (end == text.Length || text[end] == Separator))
            {
                return true;
            }

            from = start + 1;
        }
    }

    public void CopyTo(string[] array, int arrayIndex) => Items.CopyTo(array, arrayIndex);

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ICollection<string>.Add(string item) => throw new NotSupportedException();

    void ICollection<string>.Clear() => throw new NotSupportedException();

    bool ICollection<string>.Remove(string item) => throw new NotSupportedException();

    /// <summary>Walks the paths as UTF-8 spans (foreach over <see cref="Segments"/>).</summary>
    public ref struct SegmentEnumerator
    {
        private ReadOnlySpan<byte> _rest;
        private bool _done;

        internal SegmentEnumerator(byte[] packed)
        {
            _rest = packed;
            _done = false;
            Current = default;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly SegmentEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done)
            {
                return false;
            }

            var i = _rest.IndexOf(Separator);
            if (i < 0)
            {
                Current = _rest;
                _done = true;
            }
            else
            {
                Current = _rest[..i];
                _rest = _rest[(i + 1)..];
            }

            return true;
        }
    }
}
