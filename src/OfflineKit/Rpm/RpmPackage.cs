using System.Globalization;

namespace OfflineKit.Rpm;

/// <summary>
/// A checksum as repodata gives it: the algorithm (sha256, sha1, sha512, …) and lower-case hex. A value
/// of 64 lower-case hex digits (SHA-256, what current repositories give) is kept as its 32 bytes, not
/// as 64 characters: a package set holds one per package, and 30,000 of them took 5.5 MB as strings.
/// </summary>
public sealed class RpmChecksum : IEquatable<RpmChecksum>
{
    private const int PackedDigits = 64;

    // The value when it is not packed; else null and the digest in four big-endian words.
    private readonly string? _text;
    private readonly ulong _w0, _w1, _w2, _w3;

    public RpmChecksum(string type, string value)
        : this(type, (value ?? throw new ArgumentNullException(nameof(value))).AsSpan(), value)
    {
    }

    private RpmChecksum(string type, ReadOnlySpan<char> value, string? text)
    {
        ArgumentNullException.ThrowIfNull(type);
        Type = type;
        Span<byte> digest = stackalloc byte[PackedDigits / 2];
        if (value.Length == PackedDigits && IsLowerHex(value) && Convert.FromHexString(value, digest, out _, out _) == System.Buffers.OperationStatus.Done)
        {
            (_w0, _w1, _w2, _w3) = Words(digest);
        }
        else
        {
            _text = text ?? new string(value);
        }
    }

    private RpmChecksum(string type, ReadOnlySpan<byte> digest)
    {
        Type = type;
        (_w0, _w1, _w2, _w3) = Words(digest);
    }

    public string Type { get; }

    /// <summary>The value as lower-case hex (made anew each time when packed: take it once where it is used often).</summary>
    public string Value => _text ?? string.Create(PackedDigits, this, static (chars, c) => c.Format(chars));

    /// <summary>The checksum of a value read as characters (lower-cased first), without a string for a packed one.</summary>
    internal static RpmChecksum FromText(string type, ReadOnlySpan<char> value)
    {
        Span<char> lower = value.Length <= 256 ? stackalloc char[value.Length] : new char[value.Length];
        value.ToLowerInvariant(lower);
        return new RpmChecksum(type, lower, null);
    }

    public bool Equals(RpmChecksum? other) =>
        other is not null && Type == other.Type
        && (_text is null ? other._text is null && _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3 : _text == other._text);

    public override bool Equals(object? obj) => Equals(obj as RpmChecksum);

    public override int GetHashCode() => HashCode.Combine(Type, _text, _w0, _w3);

    public override string ToString() => $"{Type}:{Value}";

    public static bool operator ==(RpmChecksum? left, RpmChecksum? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(RpmChecksum? left, RpmChecksum? right) => !(left == right);

    private void Format(Span<char> chars)
    {
        Span<byte> digest = stackalloc byte[PackedDigits / 2];
        TryGetDigest(digest);
        Convert.TryToHexStringLower(digest, chars, out _);
    }

    /// <summary>The 32 bytes of a packed value (false, nothing written, for one kept as text).</summary>
    internal bool TryGetDigest(Span<byte> digest)
    {
        if (_text is not null)
        {
            return false;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(digest, _w0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(digest[8..], _w1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(digest[16..], _w2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(digest[24..], _w3);
        return true;
    }

    /// <summary>A packed checksum from its 32 bytes (<see cref="TryGetDigest"/>).</summary>
    internal static RpmChecksum FromDigest(string type, ReadOnlySpan<byte> digest) => new(type, digest[..(PackedDigits / 2)]);

    private static (ulong, ulong, ulong, ulong) Words(ReadOnlySpan<byte> digest) => (
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest[8..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest[16..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest[24..]));

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static bool IsLowerHex(ReadOnlySpan<char> value) => !value.ContainsAnyExcept(LowerHex);
}

/// <summary>One package of a repository's primary metadata. Compared by reference: the resolver keeps sets of them.</summary>
public sealed class RpmPackage
{
    private static readonly IReadOnlyList<RpmDependency>[] NoLists = [[], [], [], [], []];

    // The dependencies: the blob a reader gave (or one encoded from lists given as objects), and the
    // lists as objects (given, or decoded from the blob the first time one is asked for). Two fields,
    // not one per list: a package set holds tens of thousands of packages whose lists nobody asks for.
    private byte[]? _blob;
    private IReadOnlyList<RpmDependency>[]? _lists;

    public RpmPackage()
    {
    }

    // A copy with other files: the dependencies as the original holds them.
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    private RpmPackage(RpmPackage p, IReadOnlyList<string> files)
    {
        Name = p.Name;
        Arch = p.Arch;
        Evr = p.Evr;
        Checksum = p.Checksum;
        LocationHref = p.LocationHref;
        LocationBase = p.LocationBase;
        Size = p.Size;
        Repo = p.Repo;
        Files = files;
        (_blob, _lists) = (p._blob, p._lists);
    }

    public required string Name { get; init; }

    public required string Arch { get; init; }

    public required Evr Evr { get; init; }

    /// <summary>The package file's checksum; its value is also the pkgid that filelists refer to.</summary>
    public RpmChecksum? Checksum { get; init; }

    /// <summary>The package file relative to the repository (or to <see cref="LocationBase"/>).</summary>
    public string LocationHref { get; init; } = string.Empty;

    /// <summary>The <c>xml:base</c> of the location, when the files live elsewhere than the metadata.</summary>
    public string? LocationBase { get; init; }

    /// <summary>Size of the .rpm file in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The repository it came from (its name in the spec).</summary>
    public string Repo { get; init; } = string.Empty;

    public IReadOnlyList<RpmDependency> Provides
    {
        get => Lists[DependencyBlob.ProvidesList];
        init => Set(DependencyBlob.ProvidesList, value);
    }

    /// <summary>Requires, the <c>pre="1"</c> ones (Requires(pre)) included.</summary>
    public IReadOnlyList<RpmDependency> Requires
    {
        get => Lists[DependencyBlob.RequiresList];
        init => Set(DependencyBlob.RequiresList, value);
    }

    public IReadOnlyList<RpmDependency> Conflicts
    {
        get => Lists[DependencyBlob.ConflictsList];
        init => Set(DependencyBlob.ConflictsList, value);
    }

    public IReadOnlyList<RpmDependency> Obsoletes
    {
        get => Lists[DependencyBlob.ObsoletesList];
        init => Set(DependencyBlob.ObsoletesList, value);
    }

    public IReadOnlyList<RpmDependency> Recommends
    {
        get => Lists[DependencyBlob.RecommendsList];
        init => Set(DependencyBlob.RecommendsList, value);
    }

    /// <summary>
    /// The five lists as one <see cref="DependencyBlob"/>, as the readers give them: decoded into the
    /// lists above the first time one is asked for. Encoded from the lists when they were given as
    /// objects (once, on demand).
    /// </summary>
    internal byte[] Dependencies
    {
        get => _blob ??= DependencyBlob.Encode(_lists ?? NoLists, Evr);
        init => _blob = value;
    }

    /// <summary>
    /// File paths the metadata lists: primary's subset (/etc/*, *bin/*, /usr/lib/sendmail), plus
    /// what filelists added for the paths someone requires.
    /// </summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>name-epoch:version-release.arch, as <c>dnf repoquery</c> prints it (epoch always printed).</summary>
    public string Nevra => $"{Name}-{Evr.Epoch.ToString(CultureInfo.InvariantCulture)}:{Evr.Version}-{Evr.Release}.{Arch}";

    // Decoded from the blob once and kept: a resolution asks for them again and again, for the few
    // hundred packages it looks at. Two threads racing here decode equal lists.
    private IReadOnlyList<RpmDependency>[] Lists => _lists ??= _blob is null ? NoLists : DependencyBlob.Decode(_blob, Evr);

    public override string ToString() => Nevra;

    /// <summary>The same package with another file list (primary's plus what filelists adds).</summary>
    public RpmPackage WithFiles(IReadOnlyList<string> files) => new(this, files);

    // A list given as objects (the lists given so take the place of a blob; the others are empty).
    private void Set(int list, IReadOnlyList<RpmDependency> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_lists is null || ReferenceEquals(_lists, NoLists))
        {
            _lists = [[], [], [], [], []];
        }

        _lists[list] = value;
    }
}
