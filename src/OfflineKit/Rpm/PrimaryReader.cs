namespace OfflineKit.Rpm;

/// <summary>
/// Streams <c>primary.xml</c> package by package with an <see cref="XmlScanner"/>, never holding the
/// document (an EL8 AppStream primary is ~100 MB uncompressed). Names, arches and versions, which
/// repeat, become one string each; a package's paths and its dependency lists are kept as UTF-8 bytes
/// (<see cref="PackedPaths"/>, <see cref="DependencyBlob"/>), no string made of them. A big file is
/// read on several cores (<see cref="Read(Func{Stream}, RepomdRecord?, string, string, int)"/>).
/// </summary>
public static partial class PrimaryReader
{
    /// <summary>Reads a decompressed primary.xml; <paramref name="repo"/> is stamped on each package.</summary>
    public static List<RpmPackage> Read(Stream content, string repo)
    {
        ArgumentNullException.ThrowIfNull(content);
        var packages = new List<RpmPackage>();
        ReadDocument(new XmlScanner(content), new PackageReader(repo), packages);
        return packages;
    }

    /// <summary>Opens, decompresses, checks against <paramref name="record"/> and reads a primary file.</summary>
    public static List<RpmPackage> Read(Stream input, RepomdRecord? record, string name, string repo) =>
        MetadataFile.Read(input, record, name, content => Read(content, repo));

    // The root <metadata> and its <package type="rpm"> children, in order, into the list.
    private static void ReadDocument(XmlScanner x, PackageReader reader, List<RpmPackage> into)
    {
        if (!x.Read() || x.Node != XmlNode.StartElement)
        {
            throw new FormatException("the file has no root element");
        }

        if (!x.LocalName.SequenceEqual("metadata"u8))
        {
            throw new FormatException($"the root element is <{System.Text.Encoding.UTF8.GetString(x.LocalName)}>, expected <metadata>");
        }

        var count = x.GetNumber("packages"u8);
        into.EnsureCapacity(into.Count + (int)Math.Clamp(count, 0, 1 << 20));
        reader.Use(x);
        var root = x.Children();
        while (x.ReadChild(root))
        {
            if (x.LocalName.SequenceEqual("package"u8) && (!x.TryGetAttribute("type"u8, out var type) || type.SequenceEqual("rpm"u8)))
            {
                into.Add(reader.Read());
            }
            else
            {
                x.Skip();
            }
        }
    }

    // One per file (or per core reading one): the pool and scratch buffers are reused from package to package.
    private sealed class PackageReader(string repo)
    {
        private XmlScanner x = null!;
        private readonly StringPool _strings = new();
        private readonly DependencyBlob.Builder _dependencies = new();
        private byte[] _nameBytes = new byte[256];
        private byte[] _versionBytes = new byte[64];
        private byte[] _releaseBytes = new byte[64];
        private byte[] _fileBytes = new byte[4096];
        private int _fileLength;
        private int _fileCount;

        /// <summary>Reads from <paramref name="scanner"/> from now on (the pools stay).</summary>
        public void Use(XmlScanner scanner) => x = scanner;

        public RpmPackage Read()
        {
            string? name = null, arch = null, href = null, xmlBase = null;
            Evr? evr = null;
            RpmChecksum? checksum = null;
            long size = 0;
            _dependencies.Clear();
            _fileLength = 0;
            _fileCount = 0;
            var package = x.Children();
            while (x.ReadChild(package))
            {
                var element = x.LocalName;
                if (element.SequenceEqual("name"u8))
                {
                    name = _strings.Get(x.ReadText().Trim());
                }
                else if (element.SequenceEqual("arch"u8))
                {
                    arch = _strings.Get(x.ReadText().Trim());
                }
                else if (element.SequenceEqual("version"u8))
                {
                    evr = ReadEvr() ?? throw new FormatException($"package '{name}' has no version");
                    x.Skip();
                }
                else if (element.SequenceEqual("checksum"u8))
                {
                    var type = x.GetAttribute("type"u8, _strings) ?? "sha256";
                    // Lower-case hex, as repomd's checksums are compared.
                    checksum = RpmChecksum.FromText(type, x.ReadText().Trim());
                }
                else if (element.SequenceEqual("size"u8))
                {
                    size = x.GetNumber("package"u8);
                    x.Skip();
                }
                else if (element.SequenceEqual("location"u8))
                {
                    href = x.GetAttribute("href"u8);
                    xmlBase = x.GetAttribute("xml:base"u8);
                    x.Skip();
                }
                else if (element.SequenceEqual("format"u8))
                {
                    ReadFormat(evr);
                }
                else
                {
                    x.Skip();
                }
            }

            if (name is null || arch is null || evr is null)
            {
                throw new FormatException($"a package ({name ?? "no name"}) lacks its name, arch or version");
            }

            if (evr.Release is null)
            {
                throw new FormatException($"package '{name}' has no release");
            }

            return new RpmPackage
            {
                Name = name,
                Arch = arch,
                Evr = evr,
                Checksum = checksum,
                LocationHref = href ?? string.Empty,
                LocationBase = string.IsNullOrEmpty(xmlBase) ? null : xmlBase,
                Size = size,
                Repo = repo,
                Dependencies = _dependencies.ToArray(),
                Files = _fileCount == 0 ? [] : new PackedPaths(_fileBytes.AsSpan(0, _fileLength).ToArray(), _fileCount),
            };
        }

        // Appends a path to the package's packed list (PackedPaths), as UTF-8: NUL before each but the first.
        private void AddFile(ReadOnlySpan<char> path)
        {
            var needed = _fileLength + System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
            if (needed > _fileBytes.Length)
            {
                System.Array.Resize(ref _fileBytes, Math.Max(needed, _fileBytes.Length * 2));
            }

            if (_fileCount++ > 0)
            {
                _fileBytes[_fileLength++] = 0;
            }

            _fileLength += System.Text.Encoding.UTF8.GetBytes(path, _fileBytes.AsSpan(_fileLength));
        }

        private void ReadFormat(Evr? own)
        {
            var format = x.Children();
            while (x.ReadChild(format))
            {
                var element = x.LocalName;
                if (element.SequenceEqual("file"u8))
                {
                    // By far the most frequent child: tested first.
                    AddFile(x.ReadText());
                    continue;
                }

                var list = element.SequenceEqual("provides"u8) ? DependencyBlob.ProvidesList
                    : element.SequenceEqual("requires"u8) ? DependencyBlob.RequiresList
                    : element.SequenceEqual("conflicts"u8) ? DependencyBlob.ConflictsList
                    : element.SequenceEqual("obsoletes"u8) ? DependencyBlob.ObsoletesList
                    : element.SequenceEqual("recommends"u8) ? DependencyBlob.RecommendsList
                    : -1;
                if (list >= 0)
                {
                    ReadEntries(list, own);
                }
                else
                {
                    x.Skip();
                }
            }
        }

        private void ReadEntries(int list, Evr? own)
        {
            var entries = x.Children();
            while (x.ReadChild(entries))
            {
                if (x.LocalName.SequenceEqual("entry"u8))
                {
                    ReadEntry(list, own);
                }

                x.Skip();
            }
        }

        // Into the package's blob as UTF-8, with no string or object made: the attributes' own bytes
        // when they hold no entity (nearly always).
        private void ReadEntry(int list, Evr? own)
        {
            if (!x.TryGetAttribute("name"u8, out var rawName))
            {
                throw new FormatException("a dependency entry has no name");
            }

            var name = x.DecodeUtf8(rawName, ref _nameBytes);
            var relation = x.TryGetAttribute("flags"u8, out var flags) ? Relation(flags) : DepRelation.Any;
            var pre = x.TryGetAttribute("pre"u8, out var p) && (p.SequenceEqual("1"u8) || p.SequenceEqual("true"u8));
            if (relation == DepRelation.Any || !x.TryGetAttribute("ver"u8, out var rawVersion) || rawVersion.IsEmpty)
            {
                // Unversioned (a relation without a version is none).
                _dependencies.Add(list, name, DepRelation.Any, pre, ownEvr: false);
                return;
            }

            var version = x.DecodeUtf8(rawVersion, ref _versionBytes);
            var epoch = (int)Math.Min(x.GetNumber("epoch"u8), int.MaxValue);
            var release = x.TryGetAttribute("rel"u8, out var rawRelease) ? x.DecodeUtf8(rawRelease, ref _releaseBytes) : default;
            if (own is not null && own.Epoch == epoch && System.Text.Ascii.Equals(version, own.Version)
                && (release.IsEmpty ? own.Release is null : own.Release is not null && System.Text.Ascii.Equals(release, own.Release)))
            {
                // The package's own EVR (its self-provide, for one): written as such.
                _dependencies.Add(list, name, relation, pre, ownEvr: true);
                return;
            }

            _dependencies.Add(list, name, relation, pre, epoch, version, release);
        }

        // <version epoch="0" ver="1.23.0" rel="0"/>: the package's own EVR.
        private Evr? ReadEvr()
        {
            if (!x.TryGetAttribute("ver"u8, out var rawVer) || rawVer.IsEmpty)
            {
                return null;
            }

            var ver = x.DecodeAttribute(rawVer, _strings);
            var epoch = (int)Math.Min(x.GetNumber("epoch"u8), int.MaxValue);
            return new Evr(epoch, ver, x.GetAttribute("rel"u8, _strings));
        }

        private static DepRelation Relation(ReadOnlySpan<byte> flags) =>
            flags.IsEmpty ? DepRelation.Any
            : flags.SequenceEqual("EQ"u8) ? DepRelation.Eq
            : flags.SequenceEqual("LT"u8) ? DepRelation.Lt
            : flags.SequenceEqual("LE"u8) ? DepRelation.Le
            : flags.SequenceEqual("GT"u8) ? DepRelation.Gt
            : flags.SequenceEqual("GE"u8) ? DepRelation.Ge
            : throw new FormatException($"unknown dependency flags '{System.Text.Encoding.UTF8.GetString(flags)}'");
    }
}

/// <summary>One string instance per distinct text: a big primary repeats names, arches and versions a lot.</summary>
/// <remarks>
/// Its own table, not a HashSet: entries in blocks never copied as it grows, so a big primary's pool
/// leaves little behind when the read is over.
/// </remarks>
internal sealed class StringPool
{
    // Entries in blocks that are never copied: growing copies only the buckets.
    private const int BlockBits = 12;
    private const int BlockMask = (1 << BlockBits) - 1;

    private Entry[][] _blocks = [new Entry[1 << BlockBits]];
    private int[] _buckets = new int[1 << BlockBits]; // index + 1 of the bucket's first entry; 0 = empty
    private int _count;

    public int Count => _count;

    // Not one expression with Add: the block array may be replaced while Add runs.
    public string Get(ReadOnlySpan<char> s) => Text(Add(s));

    /// <summary>The entry of <paramref name="s"/>, added when new.</summary>
    public int Add(ReadOnlySpan<char> s)
    {
        var hash = string.GetHashCode(s);
        for (var i = _buckets[hash & (_buckets.Length - 1)] - 1; i >= 0;)
        {
            ref var e = ref At(i);
            if (e.Hash == hash && s.SequenceEqual(e.Text))
            {
                return i;
            }

            i = e.Next;
        }

        return Insert(s, hash);
    }

    /// <summary>The pooled text of an entry.</summary>
    public string Text(int entry) => At(entry).Text;

    private ref Entry At(int i) => ref _blocks[i >> BlockBits][i & BlockMask];

    private int Insert(ReadOnlySpan<char> s, int hash)
    {
        var i = _count++;
        if ((i >> BlockBits) == _blocks.Length)
        {
            System.Array.Resize(ref _blocks, _blocks.Length * 2);
        }

        _blocks[i >> BlockBits] ??= new Entry[1 << BlockBits];
        if (_count > _buckets.Length)
        {
            _buckets = new int[_buckets.Length * 2];
            for (var j = 0; j < i; j++)
            {
                ref var e = ref At(j);
                ref var bucket = ref _buckets[e.Hash & (_buckets.Length - 1)];
                e.Next = bucket - 1;
                bucket = j + 1;
            }
        }

        ref var head = ref _buckets[hash & (_buckets.Length - 1)];
        At(i) = new Entry { Text = new string(s), Hash = hash, Next = head - 1 };
        head = i + 1;
        return i;
    }

    private struct Entry
    {
        public string Text;
        public int Hash;
        public int Next; // the next entry in the same bucket, or -1
    }
}
