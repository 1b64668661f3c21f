using System.Globalization;
using System.Xml;

namespace OfflineKit.Rpm;

/// <summary>
/// Streams <c>primary.xml</c> package by package with an <see cref="XmlReader"/>, never holding the
/// document: an EL8 AppStream primary is ~100 MB uncompressed.
/// </summary>
public static class PrimaryReader
{
    private const string XmlNamespace = "http://www.w3.org/XML/1998/namespace";

    /// <summary>Reads a decompressed primary.xml; <paramref name="repo"/> is stamped on each package.</summary>
    public static List<RpmPackage> Read(Stream content, string repo)
    {
        ArgumentNullException.ThrowIfNull(content);
        var packages = new List<RpmPackage>();
        var strings = new StringPool();
        using var xml = XmlReader.Create(content, MetadataXml.Settings);
        xml.MoveToContent();
        if (xml.LocalName != "metadata")
        {
            throw new FormatException($"the root element is <{xml.LocalName}>, expected <metadata>");
        }

        MetadataXml.ForEachChild(xml, x =>
        {
            if (x.LocalName == "package" && (x.GetAttribute("type") ?? "rpm") == "rpm")
            {
                packages.Add(ReadPackage(x, repo, strings));
            }
            else
            {
                x.Skip();
            }
        });
        return packages;
    }

    /// <summary>Opens, decompresses, checks against <paramref name="record"/> and reads a primary file.</summary>
    public static List<RpmPackage> Read(Stream input, RepomdRecord? record, string name, string repo) =>
        MetadataFile.Read(input, record, name, content => Read(content, repo));

    private static RpmPackage ReadPackage(XmlReader xml, string repo, StringPool strings)
    {
        string? name = null, arch = null, href = null, xmlBase = null;
        Evr? evr = null;
        RpmChecksum? checksum = null;
        long size = 0;
        var provides = new List<RpmDependency>();
        var requires = new List<RpmDependency>();
        var conflicts = new List<RpmDependency>();
        var obsoletes = new List<RpmDependency>();
        var recommends = new List<RpmDependency>();
        var files = new List<string>();
        MetadataXml.ForEachChild(xml, x =>
        {
            switch (x.LocalName)
            {
                case "name":
                    name = strings.Get(x.ReadElementContentAsString().Trim());
                    break;
                case "arch":
                    arch = strings.Get(x.ReadElementContentAsString().Trim());
                    break;
                case "version":
                    evr = ReadEvr(x) ?? throw new FormatException($"package '{name}' has no version");
                    x.Skip();
                    break;
                case "checksum":
                    checksum = Repomd.ReadChecksum(x);
                    break;
                case "size":
                    size = ParseLong(x.GetAttribute("package"));
                    x.Skip();
                    break;
                case "location":
                    href = x.GetAttribute("href");
                    xmlBase = x.GetAttribute("base", XmlNamespace);
                    x.Skip();
                    break;
                case "format":
                    MetadataXml.ForEachChild(x, f =>
                    {
                        var list = f.LocalName switch
                        {
                            "provides" => provides,
                            "requires" => requires,
                            "conflicts" => conflicts,
                            "obsoletes" => obsoletes,
                            "recommends" => recommends,
                            _ => null,
                        };
                        if (list is not null)
                        {
                            ReadEntries(f, list, strings);
                        }
                        else if (f.LocalName == "file")
                        {
                            files.Add(f.ReadElementContentAsString());
                        }
                        else
                        {
                            f.Skip();
                        }
                    });
                    break;
                default:
                    x.Skip();
                    break;
            }
        });

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
            Provides = provides,
            Requires = requires,
            Conflicts = conflicts,
            Obsoletes = obsoletes,
            Recommends = recommends,
            Files = files,
        };
    }

    private static void ReadEntries(XmlReader xml, List<RpmDependency> into, StringPool strings) =>
        MetadataXml.ForEachChild(xml, e =>
        {
            if (e.LocalName == "entry")
            {
                var name = e.GetAttribute("name") ?? throw new FormatException("a dependency entry has no name");
                var relation = RpmDependency.ParseRepodataRelation(e.GetAttribute("flags"));
                var evr = relation == DepRelation.Any ? null : ReadEvr(e);
                var pre = e.GetAttribute("pre") is "1" or "true";
                into.Add(new RpmDependency(strings.Get(name), evr is null ? DepRelation.Any : relation, evr, pre));
            }

            e.Skip();
        });

    // <version epoch="0" ver="1.23.0" rel="0"/>, also the attributes of a dependency entry.
    internal static Evr? ReadEvr(XmlReader xml)
    {
        var ver = xml.GetAttribute("ver");
        if (string.IsNullOrEmpty(ver))
        {
            return null;
        }

        var epochText = xml.GetAttribute("epoch");
        var epoch = string.IsNullOrEmpty(epochText) ? 0 : int.Parse(epochText, NumberStyles.None, CultureInfo.InvariantCulture);
        return new Evr(epoch, ver, xml.GetAttribute("rel"));
    }

    private static long ParseLong(string? text) =>
        string.IsNullOrEmpty(text) ? 0 : long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}

/// <summary>One string instance per distinct dependency name: a big primary repeats them a lot.</summary>
internal sealed class StringPool
{
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);

    public string Get(string s)
    {
        if (_pool.TryGetValue(s, out var existing))
        {
            return existing;
        }

        _pool[s] = s;
        return s;
    }
}
