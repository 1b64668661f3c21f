using System.Security.Cryptography;
using System.Text;

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
    private const int FormatVersion = 3;
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
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(repos);
        Directory.CreateDirectory(directory);
        var path = PathFor(directory, key);
        var partial = $"{path}.{Environment.ProcessId}.partial";
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var w = new BinaryWriter(file, Encoding.UTF8))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(key);
            Write(w, repos);
        }

        File.Move(partial, path, overwrite: true);

        // Each set of repositories (a spec) has its own file: keep the few used last.
        foreach (var old in new DirectoryInfo(directory).GetFiles("*.bin").OrderByDescending(f => f.LastWriteTimeUtc).Skip(KeepFiles))
        {
            old.Delete();
        }
    }

    private static void Write(BinaryWriter w, IReadOnlyList<RpmRepo> repos)
    {
        // Every string once, in a table; the packages refer to it by index.
        var table = new Dictionary<string, int>(StringComparer.Ordinal);
        var strings = new List<string>();
        int S(string? s)
        {
            if (s is null)
            {
                return -1;
            }

            if (!table.TryGetValue(s, out var i))
            {
                table[s] = i = strings.Count;
                strings.Add(s);
            }

            return i;
        }

        // The packages first into a buffer (filling the table), then the table, then the buffer.
        using var body = new MemoryStream();
        using (var b = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            b.Write(repos.Count);
            foreach (var repo in repos)
            {
                b.Write(S(repo.Name));
                b.Write(S(repo.Location));
                b.Write(repo.FilelistsRead);
                b.Write(repo.Modules.Builds.Count);
                foreach (var m in repo.Modules.Builds)
                {
                    b.Write(S(m.Name));
                    b.Write(S(m.Stream));
                    b.Write(S(m.Version));
                    b.Write(S(m.Context));
                    b.Write(S(m.Arch));
                    b.Write(m.Artifacts.Count);
                    foreach (var a in m.Artifacts)
                    {
                        b.Write(S(a));
                    }
                }

                b.Write(repo.Modules.Defaults.Count);
                foreach (var (module, stream) in repo.Modules.Defaults)
                {
                    b.Write(S(module));
                    b.Write(S(stream));
                }

                b.Write(repo.Groups.Count);
                foreach (var (id, names) in repo.Groups)
                {
                    b.Write(S(id));
                    b.Write(names.Count);
                    foreach (var n in names)
                    {
                        b.Write(S(n));
                    }
                }

                b.Write(repo.Packages.Count);
                foreach (var p in repo.Packages)
                {
                    b.Write(S(p.Name));
                    b.Write(S(p.Arch));
                    WriteEvr(b, p.Evr, S);
                    b.Write(S(p.Checksum?.Type));
                    b.Write(S(p.Checksum?.Value));
                    b.Write(S(p.LocationHref));
                    b.Write(S(p.LocationBase));
                    b.Write(p.Size);
                    b.Write(S(p.Repo));
                    foreach (var deps in new[] { p.Provides, p.Requires, p.Conflicts, p.Obsoletes, p.Recommends })
                    {
                        b.Write(deps.Count);
                        foreach (var d in deps)
                        {
                            b.Write(S(d.Name));
                            // Relation and pre in one byte; then the EVR: none, the package's own, or its own.
                            var evrKind = d.Evr is null ? 0 : ReferenceEquals(d.Evr, p.Evr) ? 1 : 2;
                            b.Write((byte)((int)d.Relation | (d.Pre ? 0x10 : 0) | (evrKind << 5)));
                            if (evrKind == 2)
                            {
                                WriteEvr(b, d.Evr!, S);
                            }
                        }
                    }

                    // Paths are nearly all distinct: inline, not through the table.
                    b.Write(p.Files.Count);
                    foreach (var f in p.Files)
                    {
                        b.Write(f);
                    }
                }
            }
        }

        w.Write(strings.Count);
        foreach (var s in strings)
        {
            w.Write(s);
        }

        w.Write(body.Length);
        body.Position = 0;
        body.CopyTo(w.BaseStream);
        w.Write(EndMarker);
    }

    private static void WriteEvr(BinaryWriter b, Evr evr, Func<string?, int> s)
    {
        b.Write(evr.Epoch);
        b.Write(s(evr.Version));
        b.Write(s(evr.Release));
    }

    private static List<RpmRepo> Read(BinaryReader r, long fileLength)
    {
        // Every count is checked against the file's size: a damaged count must not allocate gigabytes.
        int Count()
        {
            var n = r.ReadInt32();
            return n >= 0 && n <= fileLength ? n : throw new InvalidDataException($"a count of {n} in a {fileLength}-byte file");
        }

        var strings = new string[Count()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = r.ReadString();
        }

        string S() => strings[r.ReadInt32()];
        string? N()
        {
            var i = r.ReadInt32();
            return i < 0 ? null : strings[i];
        }

        Evr E()
        {
            var epoch = r.ReadInt32();
            return new Evr(epoch, S(), N());
        }

        // Unversioned dependencies (libc.so.6()(64bit), /bin/sh) are one object per name, as the parser makes them.
        var plain = new RpmDependency?[strings.Length];
        r.ReadInt64(); // the body's length
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
                var checksumValue = N();
                var href = S();
                var xmlBase = N();
                var size = r.ReadInt64();
                var repo = S();
                var lists = new RpmDependency[5][];
                for (var l = 0; l < 5; l++)
                {
                    var deps = lists[l] = Count() is var c and > 0 ? new RpmDependency[c] : [];
                    for (var i = 0; i < deps.Length; i++)
                    {
                        var at = r.ReadInt32();
                        var bits = r.ReadByte();
                        var kind = bits >> 5;
                        if (bits == 0)
                        {
                            deps[i] = plain[at] ??= new RpmDependency(strings[at]);
                            continue;
                        }

                        var depEvr = kind == 0 ? null : kind == 1 ? evr : E();
                        deps[i] = new RpmDependency(strings[at], (DepRelation)(bits & 0x0f), depEvr, (bits & 0x10) != 0);
                    }
                }

                var files = Count() is var fc and > 0 ? new string[fc] : [];
                for (var i = 0; i < files.Length; i++)
                {
                    files[i] = r.ReadString();
                }

                packages.Add(new RpmPackage
                {
                    Name = pname,
                    Arch = arch,
                    Evr = evr,
                    Checksum = checksumType is null || checksumValue is null ? null : new RpmChecksum(checksumType, checksumValue),
                    LocationHref = href,
                    LocationBase = xmlBase,
                    Size = size,
                    Repo = repo,
                    Provides = lists[0],
                    Requires = lists[1],
                    Conflicts = lists[2],
                    Obsoletes = lists[3],
                    Recommends = lists[4],
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
