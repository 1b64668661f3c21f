using System.Xml;

namespace OfflineKit.Rpm;

/// <summary>
/// comps.xml (repomd type "group" or "group_gz"): a group's id and the packages it installs by
/// default — mandatory and default ones; optional and conditional ones are not installed by a
/// plain `dnf group install`, so a host that has the group need not have them.
/// </summary>
public static class CompsReader
{
    // Real comps files start with a DOCTYPE (comps.dtd): skip it, never fetch or expand it.
    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Ignore,
        IgnoreComments = true,
        IgnoreWhitespace = true,
        XmlResolver = null,
        CloseInput = false,
    };

    public static Dictionary<string, List<string>> Read(Stream content)
    {
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using var xml = XmlReader.Create(content, Settings);
        xml.MoveToContent();
        while (!xml.EOF)
        {
            // ForEachChild leaves the reader on what follows the group: read on only past anything else.
            if (xml.NodeType != XmlNodeType.Element || xml.LocalName != "group")
            {
                xml.Read();
                continue;
            }

            string? id = null;
            var packages = new List<string>();
            MetadataXml.ForEachChild(xml, g =>
            {
                if (g.LocalName == "id")
                {
                    id = g.ReadElementContentAsString().Trim();
                }
                else if (g.LocalName == "packagelist")
                {
                    MetadataXml.ForEachChild(g, p =>
                    {
                        var type = p.GetAttribute("type") ?? "mandatory";
                        var name = p.ReadElementContentAsString().Trim();
                        if (type is "mandatory" or "default" && name.Length > 0)
                        {
                            packages.Add(name);
                        }
                    });
                }
                else
                {
                    g.Skip();
                }
            });

            if (id is not null)
            {
                groups[id] = packages;
            }
        }

        return groups;
    }
}
