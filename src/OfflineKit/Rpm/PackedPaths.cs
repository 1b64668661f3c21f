using System.Collections;

namespace OfflineKit.Rpm;

/// <summary>
/// A package's file paths as primary lists them, in one string, NUL-separated (XML cannot hold a NUL,
/// so no path read from it has one): one object a package instead of one a path, which is most of what
/// a big primary would otherwise allocate. Looked up (<see cref="Contains"/>) and walked
/// (<see cref="Segments"/>) in place; the strings are made only when indexed or enumerated.
/// </summary>
internal sealed class PackedPaths : IReadOnlyList<string>, ICollection<string>
{
    private const char Separator = '\0';
    private readonly string _packed;
    private string[]? _items;

    /// <param name="packed">The paths, each but the last followed by a NUL.</param>
    /// <param name="count">How many there are (at least one).</param>
    public PackedPaths(string packed, int count)
    {
        ArgumentNullException.ThrowIfNull(packed);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _packed = packed;
        Count = count;
    }

    public int Count { get; }

    public bool IsReadOnly => true;

    public string this[int index] => Items[index];

    // Made once, on demand; two threads racing here make equal arrays.
    private string[] Items => _items ??= _packed.Split(Separator);

    /// <summary>The paths as spans of the packed string, without making strings.</summary>
    public SegmentEnumerator Segments => new(_packed);

    public bool Contains(string item)
    {
        if (item is null)
        {
            return false;
        }

        if (item.Length == 0 || item.Contains(Separator, StringComparison.Ordinal))
        {
            return Array.IndexOf(Items, item) >= 0;
        }

        var text = _packed.AsSpan();
        var from = 0;
        while (true)
        {
            var k = text[from..].IndexOf(item.AsSpan(), StringComparison.Ordinal);
            if (k < 0)
            {
                return false;
            }

            var start = from + k;
            var end = start + item.Length;
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

    /// <summary>Walks the paths as spans (foreach over <see cref="Segments"/>).</summary>
    public ref struct SegmentEnumerator
    {
        private ReadOnlySpan<char> _rest;
        private bool _done;

        internal SegmentEnumerator(string packed)
        {
            _rest = packed;
            _done = false;
            Current = default;
        }

        public ReadOnlySpan<char> Current { get; private set; }

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
