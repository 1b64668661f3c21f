using System.Xml;

namespace OfflineKit.Rpm;

/// <summary>
/// Streams <c>filelists.xml</c>: every file of every package, for file dependencies that primary's
/// subset (/etc/*, *bin/*, /usr/lib/sendmail) does not cover. Filelists is the biggest metadata
/// file by far, so only the paths asked for are kept.
/// </summary>
public static class FilelistsReader
{
    /// <summary>
    /// The files of each package (by pkgid, the package checksum) that <paramref name="keep"/> wants.
    /// Packages with none of them are left out.
    /// </summary>
    public static Dictionary<string, List<string>> Read(Stream content, Func<string, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(keep);
        var result = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        using var xml = XmlReader.Create(content, MetadataXml.Settings);
        xml.MoveToContent();
        if (xml.LocalName != "filelists")
        {
            throw new FormatException($"the root element is <{xml.LocalName}>, expected <filelists>");
        }

        MetadataXml.ForEachChild(xml, p =>
        {
            if (p.LocalName != "package")
            {
                p.Skip();
                return;
            }

            var pkgid = p.GetAttribute("pkgid") ?? throw new FormatException("a filelists package has no pkgid");
            List<string>? files = null;
            MetadataXml.ForEachChild(p, f =>
            {
                if (f.LocalName == "file")
                {
                    var path = f.ReadElementContentAsString();
                    if (keep(path))
                    {
                        (files ??= []).Add(path);
                    }
                }
                else
                {
                    f.Skip();
                }
            });
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
        });
        return result;
    }

    /// <summary>Opens, decompresses, checks against <paramref name="record"/> and reads a filelists file.</summary>
    public static Dictionary<string, List<string>> Read(Stream input, RepomdRecord? record, string name, Func<string, bool> keep) =>
        MetadataFile.Read(input, record, name, content => Read(content, keep));

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

    /// <summary>The file paths any of <paramref name="packages"/> requires (or recommends, or conflicts with).</summary>
    public static HashSet<string> RequiredPaths(IEnumerable<RpmPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in packages)
        {
            foreach (var d in p.Requires.Concat(p.Recommends).Concat(p.Conflicts))
            {
                if (d.IsFile)
                {
                    paths.Add(d.Name);
                }
                else if (d.IsRich)
                {
                    CollectPaths(RichDependency.Parse(d.Name), paths);
                }
            }
        }

        return paths;
    }

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
