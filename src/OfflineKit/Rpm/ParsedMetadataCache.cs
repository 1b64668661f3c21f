using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.IO;

namespace OfflineKit.Rpm;

/// <summary>
/// The repositories as <see cref="RpmRepoLoader"/> parsed them, kept in one compact binary file so a
/// run against unchanged metadata skips the XML. The file is named by, and its header carries, a key
/// over everything the parse depends on: each repository's name and location, the checksums that
/// its (freshly fetched) repomd.xml gives the files read, and the build of this code. New metadata
/// therefore means a new key, never stale packages; a file that does not match its key, is
/// truncated or unreadable is a miss (and is replaced), never an error.
/// </summary>
public static class ParsedMetadataCache
{
    private const uint Magic = 0x4d52_4b4f; // "OKRM"
    private const int FormatVersion = 6;
    private const uint EndMarker = 0x444e_4521; // "!END"
    private const int KeepFiles = 4;

    /// <summary>The key of a set of repositories: each one's name, location and repomd records (the files the load reads).</summary>
    public static byte[] Key(IEnumerable<(string Name, string Location, Repomd Repomd)> repos)
    {
        ArgumentNullException.ThrowIfNull(repos);
        var text = new StringBuilder();
        text.Append("format ").Append(FormatVersion).Append('\n');
        text.Append("code ").Append(typeof(ParsedMetadataCache).Assembly.ManifestModule.ModuleVersionId).Append('\n');
        foreach (var (name, location, repomd) in repos)
        {
            text.Append("repo ").Append(name).Append(' ').Append(location).Append('\n');
            foreach (var r in new[] { repomd.Primary, repomd.Filelists, repomd.Modules, RpmRepoLoader.GroupRecord(repomd) })
            {
                text.Append(r is null ? "-" : $"{r.Type} {r.Href} {r.Checksum} {r.OpenChecksum} {r.Size} {r.OpenSize}").Append('\n');
            }
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
    }

    public static string PathFor(string directory, byte[] key) =>
        Path.Combine(directory, Convert.ToHexStringLower(key)[..32] + ".bin");

    /// <summary>The repositories cached under <paramref name="key"/>, or null (no file, another key, damaged).</summary>
    public static List<RpmRepo>? TryLoad(string directory, byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var path = PathFor(directory, key);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var r = new BinaryReader(new BufferedStream(file, 1 << 16), Encoding.UTF8);
            if (r.ReadUInt32() != Magic || r.ReadInt32() != FormatVersion || !r.ReadBytes(key.Length).AsSpan().SequenceEqual(key))
            {
                return null;
            }

            return Read(r, file.Length);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or FormatException or ArgumentException or UnauthorizedAccessException
            or IndexOutOfRangeException or OverflowException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Writes the repositories under <paramref name="key"/>, atomically (a reader sees the old file or the new one).</summary>
    public static void Save(string directory, byte[] key, IReadOnlyList<RpmRepo> repos)
    {
        ArgumentNullException.ThrowIfNull(repos);
        using var writer = new Writer(directory, key, repos.Count);
        foreach (var repo in repos)
        {
            writer.Add(repo);
        }

        writer.Commit();
    }

    /// <summary>
    /// A cache file written a repository at a time, in order, as each is parsed, straight into a partial
    /// file (each string is written where it is first used and numbered then, so nothing waits in
    /// memory for a table to go before it), then <see cref="Commit"/>ted atomically. Disposed without a
    /// commit, it removes its partial file.
    /// </summary>
    public sealed class Writer : IDisposable
    {
        private readonly string _directory;
        private readonly string _path;
        private readonly string _partial;
        private readonly FileStream _file;
        private readonly WriteBuffer _body;
        private readonly StringTable _table;
        private readonly int _count;
        private int _added;
        private bool _done;

        public Writer(string directory, byte[] key, int repositories)
        {
            ArgumentNullException.ThrowIfNull(key);
            _directory = directory;
            _count = repositories;
            Directory.CreateDirectory(directory);
            _path = PathFor(directory, key);
            _partial = $"{_path}.{Environment.ProcessId}.partial";
            _file = new FileStream(_partial, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            _body = new WriteBuffer(_file);
            _table = new StringTable(_body, 4_096);
            BinaryPrimitives.WriteUInt32LittleEndian(_body.Take(4), Magic);
            _body.Int(FormatVersion);
            key.CopyTo(_body.Take(key.Length));
            _body.Int(repositories);
        }

        /// <summary>The next repository, in the order the file lists them.</summary>
        public void Add(RpmRepo repo)
        {
            ArgumentNullException.ThrowIfNull(repo);
            if (_added == _count)
            {
                throw new InvalidOperationException($"the cache file was begun for {_count} repositories");
            }

            _added++;
            _table.Expect(repo.Packages.Count * StringsPerPackage);
            WriteRepo(_body, repo, _table);
        }

        /// <summary>Ends the file (every repository added), puts it in place of one of the same key, and keeps the few used last.</summary>
        public void Commit()
        {
            if (_added != _count)
            {
                throw new InvalidOperationException($"{_added} of {_count} repositories added");
            }

            BinaryPrimitives.WriteUInt32LittleEndian(_body.Take(4), EndMarker);
            _body.Flush();
            _file.Dispose();
            File.Move(_partial, _path, overwrite: true);
            _done = true;

            // Each set of repositories (a spec) has its own file: keep the few used last.
            foreach (var old in new DirectoryInfo(_directory).GetFiles("*.bin").OrderByDescending(f => f.LastWriteTimeUtc).Skip(KeepFiles))
            {
                old.Delete();
            }
        }

        public void Dispose()
        {
            if (_done)
            {
                return;
            }

            _done = true;
            _file.Dispose();
            try
            {
                File.Delete(_partial);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left behind: a later commit of the same key does not read it, and it is named by this process.
            }
        }
    }

    // One repository of the body: every string as a reference to the table (StringTable.Write). Laid out as BinaryReader reads it (Read).
    private static void WriteRepo(WriteBuffer b, RpmRepo repo, StringTable s)
    {
        s.Write(repo.Name);
        s.Write(repo.Location);
        b.Byte(repo.FilelistsRead ? (byte)1 : (byte)0);
        b.Int(repo.Modules.Builds.Count);
        foreach (var m in repo.Modules.Builds)
        {
            s.Write(m.Name);
            s.Write(m.Stream);
            s.Write(m.Version);
            s.Write(m.Context);
            s.Write(m.Arch);
            b.Int(m.Artifacts.Count);
            foreach (var a in m.Artifacts)
            {
                s.Write(a);
            }
        }

        b.Int(repo.Modules.Defaults.Count);
        foreach (var (module, stream) in repo.Modules.Defaults)
        {
            s.Write(module);
            s.Write(stream);
        }

        b.Int(repo.Groups.Count);
        foreach (var (id, names) in repo.Groups)
        {
            s.Write(id);
            b.Int(names.Count);
            foreach (var n in names)
            {
                s.Write(n);
            }
        }

        var packages = repo.Packages;
        b.Int(packages.Count);
        for (var k = 0; k < packages.Count; k++)
        {
            var p = packages[k];
            s.Write(p.Name);
            s.Write(p.Arch);
            WriteEvr(b, p.Evr, s);
            // Each package's own: written where they stand, not numbered; a SHA-256 as its 32 bytes.
            WriteChecksum(b, p.Checksum, s);
            s.WriteUnique(p.LocationHref);
            s.Write(p.LocationBase);
            b.Long(p.Size);
            s.Write(p.Repo);
            // The dependencies as the package holds them, a DependencyBlob.
            b.Bytes(p.Dependencies);

            // Paths are nearly all distinct: inline, not through the table.
            var files = p.Files;
            b.Int(files.Count);
            if (files is PackedPaths packed)
            {
                foreach (var f in packed.Segments)
                {
                    b.Bytes(f);
                }
            }
            else
            {
                for (var i = 0; i < files.Count; i++)
                {
                    b.String(files[i]);
                }
            }
        }
    }

    // Its type, then 0 (none), 1 and the 32 bytes of a packed digest, or 2 and the value as text.
    private static void WriteChecksum(WriteBuffer b, RpmChecksum? checksum, StringTable s)
    {
        Span<byte> digest = stackalloc byte[32];
        s.Write(checksum?.Type);
        if (checksum is null)
        {
            b.Byte(0);
        }
        else if (checksum.TryGetDigest(digest))
        {
            b.Byte(1);
            digest.CopyTo(b.Take(digest.Length));
        }
        else
        {
            b.Byte(2);
            b.String(checksum.Value);
        }
    }

    private static void WriteEvr(WriteBuffer b, Evr evr, StringTable s)
    {
        b.Int(evr.Epoch);
        s.Write(evr.Version);
        s.Write(evr.Release);
    }

    // The distinct strings a package brings, at most: its name and its version texts (the same for all
    // of a name's versions, and shared across names; its dependencies are a blob, not strings). The
    // table is sized for them ahead of each repository, not grown by doubling as it fills.
    private const int StringsPerPackage = 1;

    /// <summary>
    /// Every string once, by instance: the parser already made one instance of each repeated text (per
    /// file), so telling instances apart costs a few duplicates and saves hashing every string's text.
    /// A reference is -1 for null, the index of a string already written, or -2 followed by the string
    /// itself the first time (it then takes the next index); a string no other can share (a package's
    /// location) is -3 followed by the string, and takes no index (<see cref="WriteUnique"/>).
    /// </summary>
    private sealed class StringTable(WriteBuffer into, int capacity)
    {
        private readonly Dictionary<string, int> _index = new(capacity, ReferenceEqualityComparer.Instance);

        public void Expect(int more) => _index.EnsureCapacity(_index.Count + more);

        public void Write(string? s)
        {
            if (s is null)
            {
                into.Int(-1);
                return;
            }

            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_index, s, out var exists);
            if (exists)
            {
                into.Int(slot);
                return;
            }

            slot = _index.Count - 1;
            into.Int(-2);
            into.String(s);
        }

        public void WriteUnique(string? s)
        {
            into.Int(s is null ? -1 : -3);
            if (s is not null)
            {
                into.String(s);
            }
        }
    }

    /// <summary>
    /// Bytes written as BinaryWriter writes them (little-endian numbers; strings as a 7-bit-encoded UTF-8
    /// length, then the bytes) into one 64 KB buffer that goes to the file each time it fills.
    /// </summary>
    private sealed class WriteBuffer(Stream sink)
    {
        private byte[] _buffer = new byte[1 << 16];
        private int _pos;

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);
        }

        public void Long(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);
        }

        public void Byte(byte value)
        {
            Take(1)[0] = value;
        }

        public void String(ReadOnlySpan<char> value)
        {
            var count = Encoding.UTF8.GetByteCount(value);
            Encoding.UTF8.GetBytes(value, Counted(count));
        }

        /// <summary>Bytes with their count before them, as <see cref="String"/> writes a string's UTF-8 (a path, a dependency blob).</summary>
        public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Counted(value.Length));

        // The 7-bit-encoded count, then room for that many bytes.
        private Span<byte> Counted(int count)
        {
            var span = Take(SevenBit.Length(count) + count);
            return span[SevenBit.Write(span, count)..];
        }

        public void Flush()
        {
            sink.Write(_buffer, 0, _pos);
            _pos = 0;
        }

        public Span<byte> Take(int count)
        {
            if (_pos + count > _buffer.Length)
            {
                Flush();
                if (count > _buffer.Length)
                {
                    _buffer = new byte[count];
                }
            }

            var span = _buffer.AsSpan(_pos, count);
            _pos += count;
            return span;
        }

    }

    private static List<RpmRepo> Read(BinaryReader r, long fileLength)
    {
        // Every count is checked against the file's size: a damaged count must not allocate gigabytes.
        int Count()
        {
            var n = r.ReadInt32();
            return n >= 0 && n <= fileLength ? n : throw new InvalidDataException($"a count of {n} in a {fileLength}-byte file");
        }

        // The table fills as the body goes: a reference is -1 (null), an index, or -2 and the string itself.
        var strings = new List<string>(1 << 14);
        int Ref()
        {
            var i = r.ReadInt32();
            if (i == -2)
            {
                strings.Add(r.ReadString());
                return strings.Count - 1;
            }

            return i >= -1 && i < strings.Count ? i : throw new InvalidDataException($"string {i} of {strings.Count}");
        }

        string S() => Ref() is var i and >= 0 ? strings[i] : throw new InvalidDataException("a string that must be there is null");
        string? N() => Ref() is var i and >= 0 ? strings[i] : null;

        // A string written in place (StringTable.WriteUnique): -3 and the string, or -1 for null.
        string? Unique() => r.ReadInt32() switch
        {
            -3 => r.ReadString(),
            -1 => null,
            var i => throw new InvalidDataException($"{i} where a string in place was expected"),
        };

        var digestBytes = new byte[32];
        byte[] Digest()
        {
            r.BaseStream.ReadExactly(digestBytes);
            return digestBytes;
        }

        // A package's paths, packed as the parser packs them (PackedPaths): one array, not a string a path.
        var pathBytes = new byte[4096];
        IReadOnlyList<string> Paths(int count)
        {
            if (count == 0)
            {
                return [];
            }

            var length = 0;
            for (var i = 0; i < count; i++)
            {
                var n = r.Read7BitEncodedInt();
                if (n < 0 || n > fileLength)
                {
                    throw new InvalidDataException($"a path of {n} bytes in a {fileLength}-byte file");
                }

                if (length + n + 1 > pathBytes.Length)
                {
                    Array.Resize(ref pathBytes, Math.Max(length + n + 1, pathBytes.Length * 2));
                }

                if (i > 0)
                {
                    pathBytes[length++] = 0;
                }

                r.BaseStream.ReadExactly(pathBytes, length, n);
                length += n;
            }

            return new PackedPaths(pathBytes.AsSpan(0, length).ToArray(), count);
        }

        Evr E()
        {
            var epoch = r.ReadInt32();
            return new Evr(epoch, S(), N());
        }

        var repos = new List<RpmRepo>();
        var repoCount = Count();
        for (var ri = 0; ri < repoCount; ri++)
        {
            var name = S();
            var location = S();
            var filelistsRead = r.ReadBoolean();
            var builds = new List<ModuleBuild>();
            for (var n = Count(); n > 0; n--)
            {
                var (module, stream, version, context, arch) = (S(), S(), S(), S(), S());
                var artifacts = new HashSet<string>(StringComparer.Ordinal);
                for (var a = Count(); a > 0; a--)
                {
                    artifacts.Add(S());
                }

                builds.Add(new ModuleBuild(module, stream, version, context, arch, artifacts));
            }

            var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var n = Count(); n > 0; n--)
            {
                defaults[S()] = S();
            }

            var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            for (var n = Count(); n > 0; n--)
            {
                var id = S();
                var names = new List<string>();
                for (var k = Count(); k > 0; k--)
                {
                    names.Add(S());
                }

                groups[id] = names;
            }

            var packages = new List<RpmPackage>(Count());
            for (var n = packages.Capacity; n > 0; n--)
            {
                var pname = S();
                var arch = S();
                var evr = E();
                var checksumType = N();
                var checksum = r.ReadByte() switch
                {
                    0 => null,
                    1 => RpmChecksum.FromDigest(checksumType ?? throw new InvalidDataException("a checksum without a type"), Digest()),
                    2 => new RpmChecksum(checksumType ?? throw new InvalidDataException("a checksum without a type"), r.ReadString()),
                    var k => throw new InvalidDataException($"checksum kind {k}"),
                };
                var href = Unique() ?? throw new InvalidDataException("a package without a location");
                var xmlBase = N();
                var size = r.ReadInt64();
                var repo = S();
                var dl = r.Read7BitEncodedInt();
                var dependencies = r.ReadBytes(dl >= 0 && dl <= fileLength ? dl : throw new InvalidDataException($"{dl} bytes of dependencies"));
                if (dependencies.Length != dl || !DependencyBlob.IsWellFormed(dependencies))
                {
                    throw new InvalidDataException("a package's dependencies are damaged");
                }

                var files = Paths(Count());

                packages.Add(new RpmPackage
                {
                    Name = pname,
                    Arch = arch,
                    Evr = evr,
                    Checksum = checksum,
                    LocationHref = href,
                    LocationBase = xmlBase,
                    Size = size,
                    Repo = repo,
                    Dependencies = dependencies,
                    Files = files,
                });
            }

            repos.Add(new RpmRepo(name, location, packages, new ModuleMetadata(builds, defaults)) { Groups = groups, FilelistsRead = filelistsRead });
        }

        if (r.ReadUInt32() != EndMarker)
        {
            throw new InvalidDataException("no end marker");
        }

        return repos;
    }
}
