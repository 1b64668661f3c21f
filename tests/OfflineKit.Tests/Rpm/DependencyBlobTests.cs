using System.Text;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>A package's dependency lists as bytes: they must decode to exactly what was given, and be walked and checked as bytes.</summary>
public class DependencyBlobTests
{
    private static readonly Evr Own = new(1, "2.0", "3.el8");

    private static readonly RpmDependency[][] Lists =
    [
        [new("app", DepRelation.Eq, Own), new("app(x86-64)", DepRelation.Eq, new Evr(1, "2.0", null)), new("libapp.so.2()(64bit)"), new("config(appé)", DepRelation.Eq, Own)],
        [new("/bin/sh", Pre: true), new("libc.so.6()(64bit)"), new("(a or b)"), new("dep", DepRelation.Ge, new Evr(0, "1.2", "4")), new("lt", DepRelation.Lt, new Evr(300, "9", null), Pre: true)],
        [],
        [new("old-app", DepRelation.Le, new Evr(0, "1.9", "1"))],
        [new("weak"), new(new string('n', 300))],
    ];

    [Fact]
    public void Decodes_to_the_lists_it_was_made_from()
    {
        var blob = DependencyBlob.Encode(Lists, Own);
        var back = DependencyBlob.Decode(blob, Own);

        Assert.True(DependencyBlob.IsWellFormed(blob));
        for (var l = 0; l < DependencyBlob.Lists; l++)
        {
            Assert.Equal(Lists[l], back[l]);
            Assert.Equal(Lists[l].Select(d => (d.Evr?.ToFullString(), d.Pre)), back[l].Select(d => (d.Evr?.ToFullString(), d.Pre)));
            Assert.Equal(Lists[l].Length, DependencyBlob.Count(blob, l));
        }

        // The package's own EVR is that object again, not a copy.
        Assert.Same(Own, back[0][0].Evr);
        Assert.Same(Own, back[0][3].Evr);
    }

    [Fact]
    public void Walks_a_list_as_bytes_and_decodes_one_entry_where_it_starts()
    {
        var blob = DependencyBlob.Encode(Lists, Own);
        var names = new List<string>();
        foreach (var e in DependencyBlob.Entries(blob, 1))
        {
            names.Add(Encoding.UTF8.GetString(e.Name));
            Assert.Equal(Encoding.UTF8.GetString(e.Name), Encoding.UTF8.GetString(DependencyBlob.NameAt(blob, e.Offset)));
            Assert.Equal(Lists[1][names.Count - 1], DependencyBlob.DecodeAt(blob, e.Offset, Own));
            Assert.Equal(Lists[1][names.Count - 1].Relation, e.Relation);
            Assert.False(e.OwnEvr);
        }

        Assert.Equal(Lists[1].Select(d => d.Name), names);
        var own = new List<bool>();
        foreach (var e in DependencyBlob.Entries(blob, 0))
        {
            own.Add(e.OwnEvr);
        }

        Assert.Equal([true, false, false, true], own);
        var none = 0;
        foreach (var e in DependencyBlob.Entries(blob, 2))
        {
            none++;
        }

        Assert.Equal(0, none);
    }

    [Fact]
    public void A_cut_or_altered_blob_is_not_well_formed()
    {
        var blob = DependencyBlob.Encode(Lists, Own);

        Assert.False(DependencyBlob.IsWellFormed(blob[..^1]));
        Assert.False(DependencyBlob.IsWellFormed([.. blob, 0]));
        Assert.False(DependencyBlob.IsWellFormed([]));
        var badRelation = (byte[])blob.Clone();
        badRelation[1] = 0x07; // the first entry's flags: relation 7 is none
        Assert.False(DependencyBlob.IsWellFormed(badRelation));
        var badUtf8 = (byte[])blob.Clone();
        badUtf8[3] = 0xff; // inside the first entry's name
        Assert.False(DependencyBlob.IsWellFormed(badUtf8));
    }

    [Fact]
    public void A_primary_entry_reads_into_the_blob_as_its_decoded_text()
    {
        const string xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
            <package type="rpm"><name>a</name><arch>noarch</arch><version epoch="1" ver="2.0" rel="3.el8"/>
            <format><rpm:provides><rpm:entry name="a" flags="EQ" epoch="1" ver="2.0" rel="3.el8"/><rpm:entry name="a&amp;b" flags="EQ" epoch="1" ver="2.0"/></rpm:provides>
            <rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="x" flags="GE" ver="1&#46;5"/><rpm:entry name="y" flags="LT"/></rpm:requires></format></package>
            </metadata>
            """;
        var p = Assert.Single(PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(xml)), "r"));

        Assert.Equal(["a = 1:2.0-3.el8", "a&b = 1:2.0"], p.Provides.Select(d => d.ToString()));
        Assert.Same(p.Evr, p.Provides[0].Evr);
        Assert.Equal(["/bin/sh", "x >= 1.5", "y"], p.Requires.Select(d => d.ToString()));
        Assert.True(p.Requires[0].Pre);
        Assert.Equal(DepRelation.Any, p.Requires[2].Relation);
        Assert.Empty(p.Conflicts);
    }
}
