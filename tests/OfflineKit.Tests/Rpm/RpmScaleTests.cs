using System.IO.Compression;
using System.Security;
using System.Text;
using OfflineKit.Rpm;
using Xunit.Abstractions;
using static OfflineKit.Tests.Rpm.RpmWorld;

namespace OfflineKit.Tests.Rpm;

/// <summary>
/// A generated repository the size of an EL8 BaseOS+AppStream slice (10,000 packages, realistic
/// provides, requires and file lists), written as primary.xml, read back and resolved. Not timed
/// here (figures belong in bench/); it proves the indexes give the same closure at scale.
/// </summary>
public class RpmScaleTests(ITestOutputHelper output)
{
    [Fact]
    public void Ten_thousand_packages_round_trip_through_primary_and_resolve_to_a_closed_set()
    {
        var generated = RpmWorld.Generate(new Random(8), names: 3500, packages: 10_000);
        var xml = PrimaryXml(generated);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(xml);
        }

        gz.Position = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var parsed = PrimaryReader.Read(gz, null, "generated-primary.xml.gz", "generated");
        Assert.Equal(generated.Count, parsed.Count);
        Assert.Equal(generated.Sum(p => p.Requires.Count), parsed.Sum(p => p.Requires.Count));
        Assert.Equal(generated.Sum(p => p.Files.Count), parsed.Sum(p => p.Files.Count));

        var requests = Enumerable.Range(0, 40).Select(i => $"pkg{3500 - 1 - (i * 7)}").ToList();
        output.WriteLine($"read {xml.Length / 1e6:F1} MB of primary.xml ({gz.Length / 1e6:F1} MB gzip) in {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        var resolver = new RpmResolver([new RpmRepo("generated", "http://127.0.0.1/generated/", parsed)]);
        var indexed = clock.ElapsedMilliseconds;
        var fromXml = resolver.Resolve(requests);
        output.WriteLine($"{parsed.Count} packages: indexed in {indexed} ms, resolved {fromXml.Packages.Count} in {clock.ElapsedMilliseconds - indexed} ms (for information, not asserted)");
        clock.Restart();
        resolver.Resolve(requests);
        output.WriteLine($"again, warm: {clock.ElapsedMilliseconds} ms");
        var direct = new RpmResolver([new RpmRepo("generated", "http://127.0.0.1/generated/", generated)]).Resolve(requests);

        Assert.Equal(direct.Nevras, fromXml.Nevras);
        Assert.True(fromXml.Packages.Count > 500, $"only {fromXml.Packages.Count} packages: the generated graph is too sparse to prove much");
        // The closure, checked apart from the resolver's own bookkeeping.
        var provided = fromXml.Packages.SelectMany(q => q.Provides.Select(d => (d.Name, Dep: d)))
            .Concat(fromXml.Packages.SelectMany(q => q.Files.Select(f => (Name: f, Dep: new RpmDependency(f)))))
            .ToLookup(x => x.Name, x => x.Dep, StringComparer.Ordinal);
        foreach (var p in fromXml.Packages)
        {
            foreach (var r in p.Requires)
            {
                // The generator's only rich form is (a or b).
                var alternatives = r.IsRich
                    ? ((RichExpression)RichDependency.Parse(r.Name)).Operands.Select(o => ((RichTerm)o).Dependency).ToList()
                    : [r];
                Assert.True(alternatives.Any(a => provided[a.Name].Any(a.IsSatisfiedBy)), $"{p.Nevra} requires {r}, unmet in the set");
            }
        }
    }

    internal static byte[] PrimaryXml(IEnumerable<RpmPackage> packages)
    {
        var sb = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?>""" + "\n"
            + """<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">""" + "\n");
        foreach (var p in packages)
        {
            sb.Append($"""<package type="rpm"><name>{p.Name}</name><arch>{p.Arch}</arch><version epoch="{p.Evr.Epoch}" ver="{p.Evr.Version}" rel="{p.Evr.Release}"/>""")
                .Append($"""<checksum type="sha256" pkgid="YES">{p.Checksum!.Value}</checksum><summary>generated</summary><description>a generated package</description>""")
                .Append($"""<size package="{p.Size}" installed="0" archive="0"/><location href="{p.LocationHref}"/><format>""");
            Entries(sb, "provides", p.Provides);
            Entries(sb, "requires", p.Requires);
            foreach (var f in p.Files)
            {
                sb.Append("<file>").Append(SecurityElement.Escape(f)).Append("</file>");
            }

            sb.Append("</format></package>\n");
        }

        return Encoding.UTF8.GetBytes(sb.Append("</metadata>\n").ToString());
    }

    private static void Entries(StringBuilder sb, string kind, IReadOnlyList<RpmDependency> deps)
    {
        sb.Append("<rpm:").Append(kind).Append('>');
        foreach (var d in deps)
        {
            sb.Append("<rpm:entry name=\"").Append(SecurityElement.Escape(d.Name)).Append('"');
            if (d.IsVersioned)
            {
                var flags = d.Relation.ToString().ToUpperInvariant();
                sb.Append($" flags=\"{flags}\" epoch=\"{d.Evr!.Epoch}\" ver=\"{d.Evr.Version}\"");
                if (d.Evr.Release is not null)
                {
                    sb.Append($" rel=\"{d.Evr.Release}\"");
                }
            }

            sb.Append("/>");
        }

        sb.Append("</rpm:").Append(kind).Append('>');
    }
}
