using System.Globalization;
using System.Xml;

namespace OfflineKit.Rpm;

/// <summary>One <c>&lt;data&gt;</c> entry of repomd.xml: where a metadata file is and what it must hash to.</summary>
public sealed record RepomdRecord(
    string Type,
    string Href,
    RpmChecksum? Checksum,
    RpmChecksum? OpenChecksum = null,
    long? Size = null,
    long? OpenSize = null);

/// <summary><c>repodata/repomd.xml</c>: the index of a repository's metadata files.</summary>
public sealed class Repomd
{
    private readonly Dictionary<string, RepomdRecord> _records;

    public Repomd(string? revision, IEnumerable<RepomdRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Revision = revision;
        _records = new Dictionary<string, RepomdRecord>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            _records.TryAdd(r.Type, r);
        }
    }

    public string? Revision { get; }

    public IReadOnlyDictionary<string, RepomdRecord> Records => _records;

    public RepomdRecord? Primary => Find("primary");

    public RepomdRecord? Filelists => Find("filelists");

    public RepomdRecord? Other => Find("other");

    /// <summary>modules.yaml (EL8 modularity); absent in repos without modules.</summary>
    public RepomdRecord? Modules => Find("modules");

    public RepomdRecord? Find(string type) => _records.GetValueOrDefault(type);

    /// <summary>Reads repomd.xml. <paramref name="source"/> names it in errors (a URL or path).</summary>
    public static Repomd Parse(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return ParseCore(stream);
        }
        catch (XmlException e)
        {
            throw new OperationFailedException($"{source}: not a valid repomd.xml: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new OperationFailedException($"{source}: not a valid repomd.xml: {e.Message}", e);
        }
    }

    private static Repomd ParseCore(Stream stream)
    {
        using var xml = XmlReader.Create(stream, MetadataXml.Settings);
        string? revision = null;
        var records = new List<RepomdRecord>();
        xml.MoveToContent();
        if (xml.LocalName != "repomd")
        {
            throw new FormatException($"the root element is <{xml.LocalName}>, expected <repomd>");
        }

        MetadataXml.ForEachChild(xml, x =>
        {
            switch (x.LocalName)
            {
                case "revision":
                    revision = x.ReadElementContentAsString().Trim();
                    break;
                case "data":
                    records.Add(ReadData(x));
                    break;
                default:
                    x.Skip();
                    break;
            }
        });
        return new Repomd(revision, records);
    }

    private static RepomdRecord ReadData(XmlReader xml)
    {
        var type = xml.GetAttribute("type") ?? throw new FormatException("a <data> element has no type");
        string? href = null;
        RpmChecksum? checksum = null, open = null;
        long? size = null, openSize = null;
        MetadataXml.ForEachChild(xml, x =>
        {
            switch (x.LocalName)
            {
                case "location":
                    href = x.GetAttribute("href");
                    x.Skip();
                    break;
                case "checksum":
                    checksum = ReadChecksum(x);
                    break;
                case "open-checksum":
                    open = ReadChecksum(x);
                    break;
                case "size":
                    size = long.Parse(x.ReadElementContentAsString().Trim(), CultureInfo.InvariantCulture);
                    break;
                case "open-size":
                    openSize = long.Parse(x.ReadElementContentAsString().Trim(), CultureInfo.InvariantCulture);
                    break;
                default:
                    x.Skip();
                    break;
            }
        });

        return new RepomdRecord(
            type, href ?? throw new FormatException($"the '{type}' record has no location"), checksum, open, size, openSize);
    }

    internal static RpmChecksum ReadChecksum(XmlReader xml)
    {
        var type = xml.GetAttribute("type") ?? "sha256";
        var value = xml.ReadElementContentAsString().Trim().ToLowerInvariant();
        return new RpmChecksum(type, value);
    }
}

internal static class MetadataXml
{
    // Repodata never has a DTD; refusing one also shuts out entity expansion.
    public static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        IgnoreComments = true,
        IgnoreWhitespace = true,
        IgnoreProcessingInstructions = true,
        XmlResolver = null,
        CloseInput = false,
    };

    /// <summary>
    /// Calls <paramref name="onElement"/> for each child element of the element the reader is on,
    /// then leaves the reader past that element. The handler must consume its element (read its
    /// content or <see cref="XmlReader.Skip"/> it): XmlReader's read-content calls already move on,
    /// and a loop that also calls Read() would silently skip the next sibling.
    /// </summary>
    public static void ForEachChild(XmlReader xml, Action<XmlReader> onElement)
    {
        if (xml.IsEmptyElement)
        {
            xml.Read();
            return;
        }

        var depth = xml.Depth;
        xml.Read();
        while (!xml.EOF && !(xml.NodeType == XmlNodeType.EndElement && xml.Depth == depth))
        {
            if (xml.NodeType == XmlNodeType.Element)
            {
                onElement(xml);
            }
            else
            {
                xml.Read();
            }
        }

        xml.Read();
    }
}
