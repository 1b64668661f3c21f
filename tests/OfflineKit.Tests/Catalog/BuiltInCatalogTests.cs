using OfflineKit.Catalog;
using OfflineKit.Images;
using OfflineKit.Tests.Images;

namespace OfflineKit.Tests.Catalog;

/// <summary>
/// The catalog the binary carries as code (<see cref="CatalogSource"/>) against the YAML files it is
/// written from. With OFFLINEKIT_WRITE_CATALOGS=1 (`make catalogs`) the first test writes the code again instead.
/// </summary>
public class BuiltInCatalogTests
{
    private static readonly string Root = KubeadmCatalogTests.RepoRoot();

    [Fact]
    public void The_code_is_what_the_manifests_files_say()
    {
        var expected = CatalogSource.Generate(ParseRelease(), ParseImages());
        var path = Path.Combine(Root, CatalogSource.RelativePath);
        if (Environment.GetEnvironmentVariable("OFFLINEKIT_WRITE_CATALOGS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        var actual = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        Assert.True(
            expected == actual,
            $"{CatalogSource.RelativePath} differs from manifests/version-catalog.yaml and manifests/kubeadm-images.yaml (first at character {FirstDifference(expected, actual)}): run `make catalogs`");
    }

    [Fact]
    public void The_built_in_catalogs_are_the_objects_the_files_parse_to()
    {
        // Written out again, the objects the code builds give the same code as the parsed files.
        Assert.Equal(
            CatalogSource.Generate(ParseRelease(), ParseImages()),
            CatalogSource.Generate(ReleaseCatalog.Embedded, VersionCatalog.Embedded));
    }

    [Fact]
    public void The_code_writer_refuses_what_it_cannot_write()
    {
        // A JSON number that is not a whole one, types it has no rule for (a framework type is never
        // written as its constructor): an error, not code that builds something else.
        foreach (var odd in new object[] { new System.Text.Json.Nodes.JsonObject { ["x"] = 1.5 }, new Version(1, 2), new[] { TimeSpan.Zero }, 1.5 })
        {
            var e = Assert.Throws<NotSupportedException>(() => CatalogSource.Expression(odd));
            Assert.Contains("CatalogSource does not write", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal("new global::System.Collections.Generic.List<string>\n{\n    \"a\\\"b\\u00e9\",\n}", CatalogSource.Expression(new List<string> { "a\"b\u00e9" }));
    }

    private static ReleaseCatalog ParseRelease() =>
        ReleaseCatalog.Parse(File.ReadAllText(Path.Combine(Root, "manifests", "version-catalog.yaml")), ReleaseCatalog.BuiltInName);

    private static VersionCatalog ParseImages() =>
        VersionCatalog.Parse(File.ReadAllText(Path.Combine(Root, "manifests", "kubeadm-images.yaml")), VersionCatalog.BuiltInName);

    private static int FirstDifference(string a, string b)
    {
        var i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i])
        {
            i++;
        }

        return i;
    }
}
