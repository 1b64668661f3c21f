using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Xml;

namespace OfflineKit.Rpm;

/// <summary>A package as the bundle's repository carries it: its metadata, its file name in the repo, the file's SHA-256 and size.</summary>
public sealed record CarriedRpm(RpmPackage Package, string FileName, string Sha256, long Size);

/// <summary>
/// Writes a yum repository's metadata for exactly the carried packages — repomd.xml and gzip'd
/// primary, filelists and other — so no createrepo is needed on the build machine. Timestamps are
/// fixed and packages sorted: the same packages give the same bytes.
/// </summary>
public static class RepodataWriter
{
    private const string Common = "http://linux.duke.edu/metadata/common";
    private const string RpmNs = "http://linux.duke.edu/metadata/rpm";
    private const string RepoNs = "http://linux.duke.edu/metadata/repo";
    private const long FixedTime = 946684800; // 2000-01-01, as the bundle's tar entries

    /// <summary>Relative path ("repodata/…") to content.</summary>
    public static IReadOnlyList<(string Path, byte[] Content)> Write(IReadOnlyList<CarriedRpm> packages)
    {
        var sorted = packages.OrderBy(p => p.Package.Name, StringComparer.Ordinal).ThenBy(p => p.Package.Evr).ThenBy(p => p.Package.Arch, StringComparer.Ordinal).ToList();
        var parts = new[]
        {
            ("primary", Xml(w => Primary(w, sorted))),
            ("filelists", Xml(w => Filelists(w, sorted))),
            ("other", Xml(w => Other(w, sorted))),
        };

        var files = new List<(string, byte[])>();
        var repomd = Xml(w =>
        {
            w.WriteStartElement("repomd", RepoNs);
            w.WriteAttributeString("xmlns", "rpm", null, RpmNs);
            w.WriteElementString("revision", RepoNs, FixedTime.ToString(CultureInfo.InvariantCulture));
            foreach (var (type, xml) in parts)
            {
                var gz = Gzip(xml);
                var gzSha = Convert.ToHexStringLower(SHA256.HashData(gz));
                var href = $"repodata/{gzSha}-{type}.xml.gz";
                files.Add((href, gz));
                w.WriteStartElement("data", RepoNs);
                w.WriteAttributeString("type", type);
                Checksum(w, "checksum", gzSha);
                Checksum(w, "open-checksum", Convert.ToHexStringLower(SHA256.HashData(xml)));
                w.WriteStartElement("location", RepoNs);
                w.WriteAttributeString("href", href);
                w.WriteEndElement();
                w.WriteElementString("timestamp", RepoNs, FixedTime.ToString(CultureInfo.InvariantCulture));
                w.WriteElementString("size", RepoNs, gz.LongLength.ToString(CultureInfo.InvariantCulture));
                w.WriteElementString("open-size", RepoNs, xml.LongLength.ToString(CultureInfo.InvariantCulture));
                w.WriteEndElement();
            }

            w.WriteEndElement();
        });
        files.Insert(0, ("repodata/repomd.xml", repomd));
        return files;
    }

    private static void Primary(XmlWriter w, List<CarriedRpm> packages)
    {
        w.WriteStartElement("metadata", Common);
        w.WriteAttributeString("xmlns", "rpm", null, RpmNs);
        w.WriteAttributeString("packages", packages.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var c in packages)
        {
            var p = c.Package;
            w.WriteStartElement("package", Common);
            w.WriteAttributeString("type", "rpm");
            w.WriteElementString("name", Common, p.Name);
            w.WriteElementString("arch", Common, p.Arch);
            Version(w, p.Evr);
            w.WriteStartElement("checksum", Common);
            w.WriteAttributeString("type", "sha256");
            w.WriteAttributeString("pkgid", "YES");
            w.WriteString(c.Sha256);
            w.WriteEndElement();
            w.WriteElementString("summary", Common, p.Name);
            w.WriteElementString("description", Common, string.Empty);
            w.WriteElementString("packager", Common, string.Empty);
            w.WriteElementString("url", Common, string.Empty);
            w.WriteStartElement("time", Common);
            w.WriteAttributeString("file", FixedTime.ToString(CultureInfo.InvariantCulture));
            w.WriteAttributeString("build", FixedTime.ToString(CultureInfo.InvariantCulture));
            w.WriteEndElement();
            w.WriteStartElement("size", Common);
            w.WriteAttributeString("package", c.Size.ToString(CultureInfo.InvariantCulture));
            w.WriteAttributeString("installed", "0");
            w.WriteAttributeString("archive", "0");
            w.WriteEndElement();
            w.WriteStartElement("location", Common);
            w.WriteAttributeString("href", c.FileName);
            w.WriteEndElement();
            w.WriteStartElement("format", Common);
            Entries(w, "provides", p.Provides);
            Entries(w, "requires", p.Requires);
            Entries(w, "conflicts", p.Conflicts);
            Entries(w, "obsoletes", p.Obsoletes);
            Entries(w, "recommends", p.Recommends);
            foreach (var file in p.Files.Order(StringComparer.Ordinal))
            {
                // Every file path the package is known to provide: what the closure's file dependencies need.
                w.WriteElementString("file", Common, file);
            }

            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Filelists(XmlWriter w, List<CarriedRpm> packages)
    {
        const string ns = "http://linux.duke.edu/metadata/filelists";
        w.WriteStartElement("filelists", ns);
        w.WriteAttributeString("packages", packages.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var c in packages)
        {
            PackageHeader(w, ns, c);
            foreach (var file in c.Package.Files.Order(StringComparer.Ordinal))
            {
                w.WriteElementString("file", ns, file);
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Other(XmlWriter w, List<CarriedRpm> packages)
    {
        const string ns = "http://linux.duke.edu/metadata/other";
        w.WriteStartElement("otherdata", ns);
        w.WriteAttributeString("packages", packages.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var c in packages)
        {
            PackageHeader(w, ns, c);
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void PackageHeader(XmlWriter w, string ns, CarriedRpm c)
    {
        w.WriteStartElement("package", ns);
        w.WriteAttributeString("pkgid", c.Sha256);
        w.WriteAttributeString("name", c.Package.Name);
        w.WriteAttributeString("arch", c.Package.Arch);
        w.WriteStartElement("version", ns);
        w.WriteAttributeString("epoch", c.Package.Evr.Epoch.ToString(CultureInfo.InvariantCulture));
        w.WriteAttributeString("ver", c.Package.Evr.Version);
        w.WriteAttributeString("rel", c.Package.Evr.Release ?? string.Empty);
        w.WriteEndElement();
    }

    private static void Version(XmlWriter w, Evr evr)
    {
        w.WriteStartElement("version", Common);
        w.WriteAttributeString("epoch", evr.Epoch.ToString(CultureInfo.InvariantCulture));
        w.WriteAttributeString("ver", evr.Version);
        w.WriteAttributeString("rel", evr.Release ?? string.Empty);
        w.WriteEndElement();
    }

    private static void Entries(XmlWriter w, string element, IReadOnlyList<RpmDependency> deps)
    {
        if (deps.Count == 0)
        {
            return;
        }

        w.WriteStartElement("rpm", element, RpmNs);
        foreach (var d in deps)
        {
            w.WriteStartElement("rpm", "entry", RpmNs);
            w.WriteAttributeString("name", d.Name);
            if (d.IsVersioned)
            {
                w.WriteAttributeString("flags", d.Relation.ToString().ToUpperInvariant());
                w.WriteAttributeString("epoch", d.Evr!.Epoch.ToString(CultureInfo.InvariantCulture));
                w.WriteAttributeString("ver", d.Evr.Version);
                if (d.Evr.Release is not null)
                {
                    w.WriteAttributeString("rel", d.Evr.Release);
                }
            }

            if (d.Pre)
            {
                w.WriteAttributeString("pre", "1");
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Checksum(XmlWriter w, string element, string sha256)
    {
        w.WriteStartElement(element, RepoNs);
        w.WriteAttributeString("type", "sha256");
        w.WriteString(sha256);
        w.WriteEndElement();
    }

    private static byte[] Xml(Action<XmlWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, IndentChars = "  " }))
        {
            w.WriteStartDocument();
            write(w);
            w.WriteEndDocument();
        }

        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(data);
        }

        return buffer.ToArray();
    }
}
