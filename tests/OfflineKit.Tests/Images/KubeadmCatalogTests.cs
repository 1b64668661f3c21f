using OfflineKit.Images;

namespace OfflineKit.Tests.Images;

public class KubeadmCatalogTests
{
    private const string Layouts = """
        apiVersion: offlinekit/v1
        kind: KubeadmImageCatalog
        layouts:
          old:
            - kube-apiserver
            - kube-controller-manager
            - kube-scheduler
            - kube-proxy
            - pause
            - etcd
            - coredns
        """;

    private const string Release = """

        releases:
          - minor: "1.23"
            patches: 0-2
            order: old
            defaultRegistry:
              - { patches: 0-2, value: k8s.gcr.io }
            etcd:
              - { patches: 0-1, value: 3.5.1-0 }
              - { patches: 2-2, value: 3.5.5-0 }
            pause:
              - { patches: 0-2, value: "3.6" }
            coredns:
              - { patches: 0-2, value: v1.8.6 }
        """;

    [Fact]
    public void Minimal_catalog_resolves_each_patch_to_its_range()
    {
        var catalog = VersionCatalog.Parse(Layouts + Release, "c.yaml");

        Assert.Equal("3.5.1-0", catalog.Resolve(new(1, 23, 1)).Etcd);
        Assert.Equal("3.5.5-0", catalog.Resolve(new(1, 23, 2)).Etcd);
        Assert.Equal("v1.23.0–v1.23.2 (1.23.0–1.23.2)", catalog.SupportedRange);
    }

    [Fact]
    public void Unknown_key_in_a_release_is_an_error_with_its_line()
    {
        var text = Layouts + Release.Replace("    order: old\n", "    order: old\n    bogus: 1\n", StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => VersionCatalog.Parse(text, "c.yaml"));
        Assert.StartsWith("c.yaml:16: unknown key 'bogus' in releases[0]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ patches: 2-2, value: 3.5.5-0 }", "{ patches: 3-3, value: 3.5.5-0 }", "must start at patch 2")]
    [InlineData("{ patches: 2-2, value: 3.5.5-0 }", "{ patches: 1-2, value: 3.5.5-0 }", "must start at patch 2")]
    [InlineData("{ patches: 2-2, value: 3.5.5-0 }", "{ patches: 2-1, value: 3.5.5-0 }", "must be a patch range FROM-TO")]
    [InlineData("{ patches: 0-2, value: v1.8.6 }", "{ patches: 0-1, value: v1.8.6 }", "must cover patches 0-2")]
    [InlineData("order: old", "order: new", "no layout 'new'")]
    [InlineData("minor: \"1.23\"", "minor: \"1.23.0\"", "must be MAJOR.MINOR")]
    [InlineData("patches: 0-2\n", "patches: 1-2\n", "must start at patch 0")]
    public void Broken_ranges_and_names_are_errors(string good, string bad, string expected)
    {
        var text = Layouts + Release.Replace(good, bad, StringComparison.Ordinal);
        Assert.NotEqual(Layouts + Release, text);

        var e = Assert.Throws<BadInputException>(() => VersionCatalog.Parse(text, "c.yaml"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("c.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Layout_must_name_every_image_once()
    {
        var text = (Layouts + Release).Replace("    - coredns\n", "    - kube-proxy\n", StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => VersionCatalog.Parse(text, "c.yaml"));
        Assert.Contains("exactly once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Minors_must_follow_each_other()
    {
        var next = Release.Replace("releases:\n", string.Empty, StringComparison.Ordinal).Replace("1.23", "1.25", StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => VersionCatalog.Parse(Layouts + Release + next, "c.yaml"));
        Assert.Contains("1.25 follows 1.23", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_is_not_mistaken_for_a_bundle_spec()
    {
        // The built-in specs are the embedded k8s-*.yaml files; the catalog travels as code (BuiltInCatalogs.g.cs), not as YAML.
        Assert.Equal([new(1, 23, 0)], OfflineKit.Spec.BundleSpecLoader.EmbeddedVersions());
        Assert.DoesNotContain(typeof(VersionCatalog).Assembly.GetManifestResourceNames(), n => n.Contains("catalog", StringComparison.OrdinalIgnoreCase) || n.Contains("kubeadm-images", StringComparison.Ordinal));
        Assert.Equal("v1.23.0", $"v{VersionCatalog.Embedded.First}");
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OfflineKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the tests run outside the repository");
    }
}
