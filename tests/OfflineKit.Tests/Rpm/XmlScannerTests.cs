using System.Text;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>The byte-level reader primary.xml and filelists.xml go through: what XML it accepts, decodes and refuses.</summary>
public class XmlScannerTests
{
    private const string Primary = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- generated -->
        <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
        <package type="rpm">
          <name> a&amp;b </name>
          <arch>x86_64</arch>
          <version epoch="1" ver="2.0" rel="3.el8"/>
          <checksum type="sha256" pkgid="YES"><![CDATA[ABCD]]>ef</checksum>
          <summary>x &lt; y<![CDATA[ <not a tag> ]]></summary>
          <size package="42"/>
          <location xml:base="http://127.0.0.1/m?a=1&amp;b=2" href="Packages/a&#38;b&#x2d;2.0.rpm"/>
          <format>
            <rpm:provides><rpm:entry name="a&amp;b" flags="EQ" epoch="1" ver="2.0" rel="3.el8"/></rpm:provides>
            <rpm:requires>
              <rpm:entry name="(x &gt;= 1 if y)"/>
              <rpm:entry name="(z > 2 or w)"/>
              <rpm:entry name='q&quot;&apos;' pre="1"/>
              <rpm:entry name="caf&#233;"/>
            </rpm:requires>
            <?ignored processing instruction?>
            <file>/usr/bin/a&amp;b</file>
            <file>/etc/caf&#xE9;</file>
          </format>
        </package>
        </metadata>
        """;

    [Fact]
    public void Entities_character_references_cdata_and_xml_base_are_decoded()
    {
        var p = Assert.Single(PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(Primary)), "r"));

        Assert.Equal("a&b-1:2.0-3.el8.x86_64", p.Nevra);
        Assert.Equal("abcdef", p.Checksum!.Value);
        Assert.Equal(("Packages/a&b-2.0.rpm", "http://127.0.0.1/m?a=1&b=2", 42L), (p.LocationHref, p.LocationBase, p.Size));
        Assert.Equal(["a&b"], p.Provides.Select(d => d.Name));
        Assert.Equal(["(x >= 1 if y)", "(z > 2 or w)", "q\"'", "café"], p.Requires.Select(d => d.Name));
        Assert.True(p.Requires[2].Pre);
        Assert.Equal(["/usr/bin/a&b", "/etc/café"], p.Files);
    }

    [Fact]
    public void Reading_in_one_byte_pieces_gives_the_same_packages()
    {
        var whole = PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(Primary)), "r");
        var trickled = PrimaryReader.Read(new TrickleStream(Encoding.UTF8.GetBytes(Primary)), "r");

        Assert.Equal(whole.Select(Describe), trickled.Select(Describe));
    }

    [Fact]
    public void A_big_file_crosses_many_buffer_refills()
    {
        var sb = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><metadata packages="3000">""");
        for (var i = 0; i < 3000; i++)
        {
            sb.Append(CultureInfo($"""<package type="rpm"><name>p{i}</name><arch>noarch</arch><version epoch="0" ver="{i}" rel="1"/><description>{new string('d', i % 700)}</description><format><rpm:provides><rpm:entry name="p{i}" flags="EQ" epoch="0" ver="{i}" rel="1"/></rpm:provides><file>/usr/bin/p{i}</file></format></package>"""));
        }

        var packages = PrimaryReader.Read(new TrickleStream(Encoding.UTF8.GetBytes(sb.Append("</metadata>").ToString()), 4093), "r");

        Assert.Equal(3000, packages.Count);
        Assert.Equal("p2999-0:2999-1.noarch", packages[^1].Nevra);
        Assert.Equal(["/usr/bin/p1234"], packages[1234].Files);
    }

    [Theory]
    [InlineData("<metadata><package type=\"rpm\"><name>a</name></metadata>", "</metadata> closes <package>")]
    [InlineData("<metadata><package type=\"rpm\"><name>a</name>", "the file ends inside <package>")]
    [InlineData("<!DOCTYPE metadata [<!ENTITY x \"y\">]><metadata/>", "DTD")]
    [InlineData("<metadata><package type=\"rpm\"><name>&x;</name></package></metadata>", "unknown entity '&x;'")]
    [InlineData("<metadata><package type=\"rpm\"><name>a & b</name></package></metadata>", "'&'")]
    [InlineData("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><metadata/>", "ISO-8859-1")]
    [InlineData("<metadata><package type=\"rpm\"><name>a<b/></name></package></metadata>", "holds an element where text was expected")]
    [InlineData("<metadata><package type=\"rpm\"><version ver=\"1\" rel=\"1\" epoch=\"x\"/></package></metadata>", "not a number")]
    public void Malformed_xml_is_an_error_naming_what_is_wrong(string xml, string message)
    {
        var e = Assert.Throws<OperationFailedException>(() =>
            PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(xml)), null, "p.xml", "r"));

        Assert.StartsWith("p.xml: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Invalid_utf8_is_an_error()
    {
        var bytes = Encoding.UTF8.GetBytes("<metadata><package type=\"rpm\"><name>a?</name></package></metadata>");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xff;

        Assert.Contains("UTF-8", Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(bytes), null, "p", "r")).Message);
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);

    private static string Describe(RpmPackage p) =>
        $"{p.Nevra} {p.Checksum} {p.LocationHref} {p.LocationBase} {p.Size} {string.Join(',', p.Provides)} {string.Join(',', p.Requires)} {string.Join(',', p.Files)}";

    /// <summary>Hands out at most a few bytes per read, as a slow network or decompressor may.</summary>
    private sealed class TrickleStream(byte[] data, int piece = 1) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, piece)]);
    }
}
