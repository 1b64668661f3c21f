using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>A package's paths kept in one string: the list and the lookups must answer as a string array would.</summary>
public class PackedPathsTests
{
    private static readonly string[] Paths = ["/usr/bin/a", "/usr/bin/ab", "", "/etc/a", "/usr/bin/a/b", "/usr/share/doc/naïve/ß"];

    private static PackedPaths Packed() => PackedPaths.Of(Paths);

    [Fact]
    public void ListsThePathsInOrder()
    {
        var p = Packed();
        Assert.Equal(Paths, p);
        Assert.Equal(Paths.Length, p.Count);
        Assert.Equal("/etc/a", p[3]);
        var spans = new List<string>();
        foreach (var s in p.Segments)
        {
            spans.Add(System.Text.Encoding.UTF8.GetString(s));
        }

        Assert.Equal(Paths, spans);
    }

    [Theory]
    [InlineData("/usr/bin/a", true)]
    [InlineData("/usr/bin/ab", true)]
    [InlineData("/usr/bin/a/b", true)]
    [InlineData("/etc/a", true)]
    [InlineData("", true)]
    [InlineData("/usr/bin", false)]
    [InlineData("bin/a", false)]
    [InlineData("/etc/a\0/usr/bin/a", false)]
    [InlineData("/usr/bin/a/", false)]
    [InlineData("/usr/share/doc/naïve/ß", true)]
    [InlineData("/usr/share/doc/naïve", false)]
    [InlineData("/usr/share/doc/naive/ß", false)]
    public void ContainsOnlyWholePaths(string path, bool expected)
    {
        Assert.Equal(expected, Packed().Contains(path));
        Assert.Equal(expected, ((IEnumerable<string>)Packed()).Contains(path));
    }

    [Fact]
    public void APrimaryPackageKeepsItsFilesPacked()
    {
        const string xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
            <package type="rpm"><name>a</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>
            <format><file>/usr/bin/a</file><rpm:provides><rpm:entry name="a"/></rpm:provides><file>/etc/a.conf</file><file>/usr/share/naïve/a&amp;b</file></format></package>
            </metadata>
            """;
        var p = Assert.Single(PrimaryReader.Read(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(xml)), "r"));
        Assert.IsType<PackedPaths>(p.Files);
        Assert.Equal(["/usr/bin/a", "/etc/a.conf", "/usr/share/naïve/a&b"], p.Files);
        Assert.Contains("/etc/a.conf", p.Files);
        Assert.Contains("/usr/share/naïve/a&b", p.Files);
        Assert.Single(p.Provides);
    }
}
