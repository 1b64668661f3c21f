namespace OfflineKit.Rpm;

/// <summary>
/// Streams <c>filelists.xml</c>: every file of every package, for file dependencies that primary's
/// subset (/etc/*, *bin/*, /usr/lib/sendmail) does not cover. Filelists is the biggest metadata
/// file by far, so only the paths asked for are kept.
/// </summary>
/// <summary>Whether a path is wanted, asked without making a string of it.</summary>
internal delegate bool PathFilter(ReadOnlySpan<char> path);

public static class FilelistsReader
{
    /// <summary>
    /// The files of each package (by pkgid, the package checksum) that <paramref name="keep"/> wants.
    /// Packages with none of them are left out.
    /// </summary>
    public static Dictionary<string, List<string>> Read(Stream content, Func<string, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        return ReadPaths(content, path => keep(new string(path)));
    }

    /// <summary>
    /// The files of each package that <paramref name="keep"/> wants, asked as chars: no string is
    /// made of a path that is not kept (filelists holds every file of every package).
    /// </summary>
    internal static Dictionary<string, List<string>> ReadPaths(Stream content, PathFilter keep)
    {
        ArgumentNullException.ThrowIfNull(content);
        var result = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var x = new XmlScanner(content);
        if (!x.Read() || x.Node != XmlNode.StartElement)
        {
            throw new FormatException("the file has no root element");
        }

        if (!x.LocalName.SequenceEqual("filelists"u8))
        {
            throw new FormatException($"the root element is <{System.Text.Encoding.UTF8.GetString(x.LocalName)}>, expected <filelists>");
        }

        var root = x.Children();
        while (x.ReadChild(root))
        {
            if (!x.LocalName.SequenceEqual("package"u8))
            {
                x.Skip();
                continue;
            }

            if (!x.TryGetAttribute("pkgid"u8, out var rawPkgid))
            {
                throw new FormatException("a filelists package has no pkgid");
            }

            var pkgid = x.DecodeAttribute(rawPkgid);
            List<string>? files = null;
            var package = x.Children();
            while (x.ReadChild(package))
            {
                if (x.LocalName.SequenceEqual("file"u8))
                {
                    var path = x.ReadText();
                    if (keep(path))
                    {
                        (files ??= []).Add(new string(path));
                    }
                }
                else
                {
                    x.Skip();
                }
            }

            if (files is not null)
            {
                if (result.TryGetValue(pkgid, out var existing))
                {
                    existing.AddRange(files);
                }
                else
                {
                    result[pkgid] = files;
                }
            }
        }

        return result;
    }

    /// <summary>Opens, decompresses, checks against <paramref name="record"/> and reads a filelists file.</summary>
    public static Dictionary<string, List<string>> Read(Stream input, RepomdRecord? record, string name, Func<string, bool> keep) =>
        MetadataFile.Read(input, record, name, content => Read(content, keep));

    /// <summary>Opens, decompresses, checks and reads a filelists file, keeping the paths of <paramref name="wanted"/>.</summary>
    internal static Dictionary<string, List<string>> Read(Stream input, RepomdRecord? record, string name, HashSet<string> wanted)
    {
        var lookup = wanted.GetAlternateLookup<ReadOnlySpan<char>>();
        return MetadataFile.Read(input, record, name, content => ReadPaths(content, path => lookup.Contains(path)));
    }

    /// <summary>
    /// The packages with the files from filelists added (by pkgid). Packages that gain nothing are
    /// returned as they are.
    /// </summary>
    public static List<RpmPackage> AddFiles(IEnumerable<RpmPackage> packages, IReadOnlyDictionary<string, List<string>> filesByPkgid)
    {
        ArgumentNullException.ThrowIfNull(packages);
        ArgumentNullException.ThrowIfNull(filesByPkgid);
        var result = new List<RpmPackage>();
        foreach (var p in packages)
        {
            if (p.Checksum is not null && filesByPkgid.TryGetValue(p.Checksum.Value, out var more))
            {
                var have = new HashSet<string>(p.Files, StringComparer.Ordinal);
                var files = p.Files.Concat(more.Where(have.Add)).ToList();
                result.Add(p.WithFiles(files));
            }
            else
            {
                result.Add(p);
            }
        }

        return result;
    }

    /// <summary>
    /// Whether primary lists every package's copy of <paramref name="path"/>: createrepo (and createrepo_c,
    /// and libsolv reading them) put every file under /etc/, every path with "bin/" in it, and
    /// /usr/lib/sendmail in primary, so filelists can add no owner of such a path.
    /// </summary>
    public static bool PrimaryCovers(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.StartsWith("/etc/", StringComparison.Ordinal)
            || path.Contains("bin/", StringComparison.Ordinal)
            || path == "/usr/lib/sendmail";
    }

    /// <summary>
    /// The file paths a dependency of <paramref name="packages"/> names that only filelists can answer:
    /// not covered by primary's subset (<see cref="PrimaryCovers"/>) and listed by no package's primary entry.
    /// </summary>
    public static HashSet<string> PathsOnlyFilelistsAnswer(IReadOnlyCollection<RpmPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var wanted = RequiredPaths(packages);
        wanted.RemoveWhere(PrimaryCovers);
        if (wanted.Count > 0)
        {
            foreach (var p in packages)
            {
                foreach (var f in p.Files)
                {
                    wanted.Remove(f);
                }
            }
        }

        return wanted;
    }

    /// <summary>The file paths any of <paramref name="packages"/> requires (or recommends, or conflicts with).</summary>
    public static HashSet<string> RequiredPaths(IEnumerable<RpmPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var lookup = paths.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> chars = stackalloc char[512];
        // Called for every package when a pool is built (~160,000 dependencies in a full EL set): read
        // from the packages' blobs, only a path or a rich dependency made a string.
        foreach (var p in packages)
        {
            var blob = p.Dependencies;
            foreach (var list in PathLists)
            {
                foreach (var e in DependencyBlob.Entries(blob, list))
                {
                    if (e.Name.IsEmpty || (e.Name[0] != '/' && e.Name[0] != '('))
                    {
                        continue;
                    }

                    if (e.Name[0] == '(')
                    {
                        CollectPaths(RichDependency.Parse(System.Text.Encoding.UTF8.GetString(e.Name)), paths);
                    }
                    else if (e.Name.Length <= chars.Length)
                    {
                        lookup.Add(chars[..System.Text.Encoding.UTF8.GetChars(e.Name, chars)]);
                    }
                    else
                    {
                        paths.Add(System.Text.Encoding.UTF8.GetString(e.Name));
                    }
                }
            }
        }

        return paths;
    }

    // The lists whose paths count: requires, conflicts and recommends.
    private static readonly int[] PathLists = [DependencyBlob.RequiresList, DependencyBlob.ConflictsList, DependencyBlob.RecommendsList];

    private static void CollectPaths(RichNode node, HashSet<string> into)
    {
        switch (node)
        {
            case RichTerm t when t.Dependency.IsFile:
                into.Add(t.Dependency.Name);
                break;
            case RichExpression e:
                foreach (var o in e.Operands)
                {
                    CollectPaths(o, into);
                }

                if (e.Else is not null)
                {
                    CollectPaths(e.Else, into);
                }

                break;
            default:
                break;
        }
    }
}
