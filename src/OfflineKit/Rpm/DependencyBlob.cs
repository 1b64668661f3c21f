using System.Text;

namespace OfflineKit.Rpm;

/// <summary>
/// A package's five dependency lists (provides, requires, conflicts, obsoletes, recommends) in one
/// byte array, names and versions as UTF-8. A resolution reads the lists of a few hundred packages of
/// the tens of thousands a repository set holds; the rest are only indexed by their provide names
/// and searched for required paths, which both do here on the bytes (<see cref="Entries"/>). As
/// objects (a string per name, a <see cref="RpmDependency"/> per versioned entry, an array per list)
/// the lists were about half of a parsed set's memory; as bytes they take a third of that.
/// <see cref="RpmPackage"/> decodes a package's lists the first time they are asked for.
/// </summary>
/// <remarks>
/// Layout, list after list: a count, then each entry: one byte of flags (the relation in bits 0-2,
/// pre in bit 3, in bits 4-5 where its EVR is: 0 none, 1 the package's own, 2 written after the
/// name), the name's length and bytes, and a written EVR's epoch, version length and bytes, and
/// release length + 1 (0: no release) and bytes. Counts, lengths and epochs are 7-bit encoded.
/// </remarks>
internal static class DependencyBlob
{
    public const int Lists = 5;
    public const int ProvidesList = 0;
    public const int RequiresList = 1;
    public const int ConflictsList = 2;
    public const int ObsoletesList = 3;
    public const int RecommendsList = 4;

    private const int PreBit = 0x08;
    private const int EvrNone = 0;
    private const int EvrOwn = 1;
    private const int EvrWritten = 2;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The blob of lists given as objects: an EVR that is <paramref name="own"/> itself is written as the package's own.</summary>
    public static byte[] Encode(IReadOnlyList<IReadOnlyList<RpmDependency>> lists, Evr own)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var b = new Builder();
        for (var l = 0; l < Lists; l++)
        {
            foreach (var d in l < lists.Count ? lists[l] : [])
            {
                var evrKind = d.Evr is null ? EvrNone : ReferenceEquals(d.Evr, own) ? EvrOwn : EvrWritten;
                var name = Utf8.GetBytes(d.Name);
                if (evrKind == EvrWritten)
                {
                    b.Add(l, name, d.Relation, d.Pre, d.Evr!.Epoch, Utf8.GetBytes(d.Evr.Version), d.Evr.Release is null ? [] : Utf8.GetBytes(d.Evr.Release));
                }
                else
                {
                    b.Add(l, name, d.Relation, d.Pre, ownEvr: evrKind == EvrOwn);
                }
            }
        }

        return b.ToArray();
    }

    /// <summary>The five lists as objects (each list empty or an array of its own).</summary>
    public static IReadOnlyList<RpmDependency>[] Decode(byte[] blob, Evr own)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var lists = new IReadOnlyList<RpmDependency>[Lists];
        var at = 0;
        for (var l = 0; l < Lists; l++)
        {
            var count = ReadCount(blob, ref at);
            var list = count == 0 ? [] : new RpmDependency[count];
            for (var i = 0; i < count; i++)
            {
                list[i] = DecodeAt(blob, ref at, own);
            }

            lists[l] = list;
        }

        return lists;
    }

    /// <summary>The entry that starts at <paramref name="offset"/> (as <see cref="Entry.Offset"/> gives it).</summary>
    public static RpmDependency DecodeAt(byte[] blob, int offset, Evr own) => DecodeAt(blob, ref offset, own);

    /// <summary>
    /// Whether <paramref name="blob"/> is whole and well-formed: five lists whose entries end exactly at its
    /// end, known relations and EVR kinds, names and versions UTF-8 (a blob read back from a file is
    /// checked before anything relies on it).
    /// </summary>
    public static bool IsWellFormed(byte[] blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        try
        {
            var at = 0;
            for (var l = 0; l < Lists; l++)
            {
                for (var n = ReadCount(blob, ref at); n > 0; n--)
                {
                    var e = ReadRaw(blob, ref at);
                    if (e.Relation > DepRelation.Ge || e.EvrKind > EvrWritten || (e.Flags & 0xc0) != 0
                        || !System.Text.Unicode.Utf8.IsValid(e.Name)
                        || (e.EvrKind == EvrWritten && (e.Version.IsEmpty || !System.Text.Unicode.Utf8.IsValid(e.Version) || !System.Text.Unicode.Utf8.IsValid(e.Release))))
                    {
                        return false;
                    }
                }
            }

            return at == blob.Length;
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or FormatException)
        {
            return false;
        }
    }

    /// <summary>How many entries list <paramref name="list"/> has.</summary>
    public static int Count(byte[] blob, int list)
    {
        var entries = new EntryEnumerator(blob, list);
        return entries.Left;
    }

    /// <summary>The name (UTF-8) of the entry that starts at <paramref name="offset"/>.</summary>
    public static ReadOnlySpan<byte> NameAt(byte[] blob, int offset)
    {
        var at = offset + 1;
        return Bytes(blob, ref at);
    }

    /// <summary>Walks list <paramref name="list"/> as bytes: each entry's name, relation and where it starts.</summary>
    public static EntryEnumerator Entries(byte[] blob, int list) => new(blob, list);

    private static RpmDependency DecodeAt(byte[] blob, ref int at, Evr own)
    {
        var e = ReadRaw(blob, ref at);
        var evr = e.EvrKind switch
        {
            EvrNone => null,
            EvrOwn => own,
            _ => new Evr(e.Epoch, Utf8.GetString(e.Version), e.HasRelease ? Utf8.GetString(e.Release) : null),
        };
        return new RpmDependency(Utf8.GetString(e.Name), e.Relation, evr, (e.Flags & PreBit) != 0);
    }

    // One entry as it is laid out, moving past it: the one place that knows the layout when reading.
    private static RawEntry ReadRaw(byte[] blob, scoped ref int at)
    {
        var flags = blob[at++];
        var name = Bytes(blob, ref at);
        if (((flags >> 4) & 0x03) != EvrWritten)
        {
            return new RawEntry(flags, name, 0, default, default, false);
        }

        var epoch = ReadCount(blob, ref at);
        var version = Bytes(blob, ref at);
        var releaseLength = ReadCount(blob, ref at);
        var release = releaseLength > 0 ? blob.AsSpan(at, releaseLength - 1) : default;
        at += Math.Max(0, releaseLength - 1);
        return new RawEntry(flags, name, epoch, version, release, releaseLength > 0);
    }

    private static ReadOnlySpan<byte> Bytes(byte[] blob, scoped ref int at)
    {
        var length = ReadCount(blob, ref at);
        var span = blob.AsSpan(at, length);
        at += length;
        return span;
    }

    private static int ReadCount(byte[] blob, ref int at) => IO.SevenBit.Read(blob, ref at);

    private readonly ref struct RawEntry(byte flags, ReadOnlySpan<byte> name, int epoch, ReadOnlySpan<byte> version, ReadOnlySpan<byte> release, bool hasRelease)
    {
        public byte Flags { get; } = flags;

        public DepRelation Relation => (DepRelation)(Flags & 0x07);

        public int EvrKind => (Flags >> 4) & 0x03;

        public ReadOnlySpan<byte> Name { get; } = name;

        public int Epoch { get; } = epoch;

        public ReadOnlySpan<byte> Version { get; } = version;

        public ReadOnlySpan<byte> Release { get; } = release;

        public bool HasRelease { get; } = hasRelease;
    }

    /// <summary>One entry of a list, as bytes.</summary>
    public readonly ref struct Entry(ReadOnlySpan<byte> name, DepRelation relation, bool ownEvr, int offset)
    {
        /// <summary>The name, UTF-8.</summary>
        public ReadOnlySpan<byte> Name { get; } = name;

        public DepRelation Relation { get; } = relation;

        /// <summary>Whether its EVR is the package's own (its self-provide, for one).</summary>
        public bool OwnEvr { get; } = ownEvr;

        /// <summary>Where it starts, for <see cref="DecodeAt(byte[], int, Evr)"/>.</summary>
        public int Offset { get; } = offset;
    }

    /// <summary>The entries of one list (foreach over <see cref="Entries"/>).</summary>
    public ref struct EntryEnumerator
    {
        private readonly byte[] _blob;
        private int _at;
        private int _left;

        internal EntryEnumerator(byte[] blob, int list)
        {
            _blob = blob;
            _at = 0;
            _left = ReadCount(blob, ref _at);
            for (var l = 0; l < list; l++)
            {
                for (; _left > 0; _left--)
                {
                    ReadRaw(blob, ref _at);
                }

                _left = ReadCount(blob, ref _at);
            }

            Current = default;
        }

        public Entry Current { get; private set; }

        /// <summary>The entries not walked yet.</summary>
        public readonly int Left => _left;

        public readonly EntryEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_left == 0)
            {
                return false;
            }

            _left--;
            var offset = _at;
            var e = ReadRaw(_blob, ref _at);
            Current = new Entry(e.Name, e.Relation, e.EvrKind == EvrOwn, offset);
            return true;
        }
    }

    /// <summary>Builds blobs one package at a time (one per reader; <see cref="ToArray"/> then <see cref="Clear"/>).</summary>
    public sealed class Builder
    {
        private readonly byte[][] _lists = [.. Enumerable.Range(0, Lists).Select(_ => new byte[256])];
        private readonly int[] _lengths = new int[Lists];
        private readonly int[] _counts = new int[Lists];

        /// <summary>An entry with no EVR, or with the package's own.</summary>
        public void Add(int list, ReadOnlySpan<byte> name, DepRelation relation, bool pre, bool ownEvr)
        {
            var flags = (int)relation | (pre ? PreBit : 0) | ((ownEvr ? EvrOwn : EvrNone) << 4);
            Begin(list, flags, name);
        }

        /// <summary>An entry with an EVR of its own (<paramref name="release"/> empty: none, as an EVR has no empty release).</summary>
        public void Add(int list, ReadOnlySpan<byte> name, DepRelation relation, bool pre, int epoch, ReadOnlySpan<byte> version, ReadOnlySpan<byte> release)
        {
            Begin(list, (int)relation | (pre ? PreBit : 0) | (EvrWritten << 4), name);
            WriteCount(list, epoch);
            WriteBytes(list, version);
            WriteCount(list, release.IsEmpty ? 0 : release.Length + 1);
            Write(list, release);
        }

        /// <summary>The package's blob: every list, counted, in order.</summary>
        public byte[] ToArray()
        {
            Span<byte> count = stackalloc byte[5];
            var total = 0;
            for (var l = 0; l < Lists; l++)
            {
                total += IO.SevenBit.Length(_counts[l]) + _lengths[l];
            }

            var blob = new byte[total];
            var at = 0;
            for (var l = 0; l < Lists; l++)
            {
                var n = IO.SevenBit.Write(count, _counts[l]);
                count[..n].CopyTo(blob.AsSpan(at));
                at += n;
                _lists[l].AsSpan(0, _lengths[l]).CopyTo(blob.AsSpan(at));
                at += _lengths[l];
            }

            return blob;
        }

        public void Clear()
        {
            Array.Clear(_lengths);
            Array.Clear(_counts);
        }

        private void Begin(int list, int flags, ReadOnlySpan<byte> name)
        {
            _counts[list]++;
            Write(list, [(byte)flags]);
            WriteBytes(list, name);
        }

        private void WriteBytes(int list, ReadOnlySpan<byte> bytes)
        {
            WriteCount(list, bytes.Length);
            Write(list, bytes);
        }

        private void WriteCount(int list, int value)
        {
            Span<byte> count = stackalloc byte[5];
            Write(list, count[..IO.SevenBit.Write(count, value)]);
        }

        private void Write(int list, ReadOnlySpan<byte> bytes)
        {
            ref var buffer = ref _lists[list];
            var length = _lengths[list];
            if (length + bytes.Length > buffer.Length)
            {
                Array.Resize(ref buffer, Math.Max(length + bytes.Length, buffer.Length * 2));
            }

            bytes.CopyTo(buffer.AsSpan(length));
            _lengths[list] = length + bytes.Length;
        }
    }
}
