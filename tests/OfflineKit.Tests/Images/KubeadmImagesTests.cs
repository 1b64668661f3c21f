using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Tests.Images;

public class KubeadmImagesTests
{
    private const string Aliyun = "registry.aliyuncs.com/google_containers";

    // What `kubeadm config images list --kubernetes-version vX` prints, written out in full so a
    // wrong catalog entry or a wrong rule shows up as a diff of whole lines.
    public static TheoryData<string, string> DefaultRegistryLists => new()
    {
        {
            "1.23.0", """
            k8s.gcr.io/kube-apiserver:v1.23.0
            k8s.gcr.io/kube-controller-manager:v1.23.0
            k8s.gcr.io/kube-scheduler:v1.23.0
            k8s.gcr.io/kube-proxy:v1.23.0
            k8s.gcr.io/pause:3.6
            k8s.gcr.io/etcd:3.5.1-0
            k8s.gcr.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.23.13", """
            k8s.gcr.io/kube-apiserver:v1.23.13
            k8s.gcr.io/kube-controller-manager:v1.23.13
            k8s.gcr.io/kube-scheduler:v1.23.13
            k8s.gcr.io/kube-proxy:v1.23.13
            k8s.gcr.io/pause:3.6
            k8s.gcr.io/etcd:3.5.1-0
            k8s.gcr.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.23.14", """
            k8s.gcr.io/kube-apiserver:v1.23.14
            k8s.gcr.io/kube-controller-manager:v1.23.14
            k8s.gcr.io/kube-scheduler:v1.23.14
            k8s.gcr.io/kube-proxy:v1.23.14
            k8s.gcr.io/pause:3.6
            k8s.gcr.io/etcd:3.5.5-0
            k8s.gcr.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.23.15", """
            registry.k8s.io/kube-apiserver:v1.23.15
            registry.k8s.io/kube-controller-manager:v1.23.15
            registry.k8s.io/kube-scheduler:v1.23.15
            registry.k8s.io/kube-proxy:v1.23.15
            registry.k8s.io/pause:3.6
            registry.k8s.io/etcd:3.5.6-0
            registry.k8s.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.23.17", """
            registry.k8s.io/kube-apiserver:v1.23.17
            registry.k8s.io/kube-controller-manager:v1.23.17
            registry.k8s.io/kube-scheduler:v1.23.17
            registry.k8s.io/kube-proxy:v1.23.17
            registry.k8s.io/pause:3.6
            registry.k8s.io/etcd:3.5.6-0
            registry.k8s.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.24.0", """
            k8s.gcr.io/kube-apiserver:v1.24.0
            k8s.gcr.io/kube-controller-manager:v1.24.0
            k8s.gcr.io/kube-scheduler:v1.24.0
            k8s.gcr.io/kube-proxy:v1.24.0
            k8s.gcr.io/pause:3.7
            k8s.gcr.io/etcd:3.5.3-0
            k8s.gcr.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.24.8", """
            k8s.gcr.io/kube-apiserver:v1.24.8
            k8s.gcr.io/kube-controller-manager:v1.24.8
            k8s.gcr.io/kube-scheduler:v1.24.8
            k8s.gcr.io/kube-proxy:v1.24.8
            k8s.gcr.io/pause:3.7
            k8s.gcr.io/etcd:3.5.5-0
            k8s.gcr.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.24.9", """
            registry.k8s.io/kube-apiserver:v1.24.9
            registry.k8s.io/kube-controller-manager:v1.24.9
            registry.k8s.io/kube-scheduler:v1.24.9
            registry.k8s.io/kube-proxy:v1.24.9
            registry.k8s.io/pause:3.7
            registry.k8s.io/etcd:3.5.6-0
            registry.k8s.io/coredns/coredns:v1.8.6
            """
        },
        {
            "1.25.0", """
            registry.k8s.io/kube-apiserver:v1.25.0
            registry.k8s.io/kube-controller-manager:v1.25.0
            registry.k8s.io/kube-scheduler:v1.25.0
            registry.k8s.io/kube-proxy:v1.25.0
            registry.k8s.io/pause:3.8
            registry.k8s.io/etcd:3.5.4-0
            registry.k8s.io/coredns/coredns:v1.9.3
            """
        },
        {
            "1.26.0", """
            registry.k8s.io/kube-apiserver:v1.26.0
            registry.k8s.io/kube-controller-manager:v1.26.0
            registry.k8s.io/kube-scheduler:v1.26.0
            registry.k8s.io/kube-proxy:v1.26.0
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.6-0
            registry.k8s.io/coredns/coredns:v1.9.3
            """
        },
        {
            "1.27.0", """
            registry.k8s.io/kube-apiserver:v1.27.0
            registry.k8s.io/kube-controller-manager:v1.27.0
            registry.k8s.io/kube-scheduler:v1.27.0
            registry.k8s.io/kube-proxy:v1.27.0
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.7-0
            registry.k8s.io/coredns/coredns:v1.10.1
            """
        },
        {
            "1.28.0", """
            registry.k8s.io/kube-apiserver:v1.28.0
            registry.k8s.io/kube-controller-manager:v1.28.0
            registry.k8s.io/kube-scheduler:v1.28.0
            registry.k8s.io/kube-proxy:v1.28.0
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.9-0
            registry.k8s.io/coredns/coredns:v1.10.1
            """
        },
        {
            "1.28.15", """
            registry.k8s.io/kube-apiserver:v1.28.15
            registry.k8s.io/kube-controller-manager:v1.28.15
            registry.k8s.io/kube-scheduler:v1.28.15
            registry.k8s.io/kube-proxy:v1.28.15
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.15-0
            registry.k8s.io/coredns/coredns:v1.10.1
            """
        },
        {
            "1.29.0", """
            registry.k8s.io/kube-apiserver:v1.29.0
            registry.k8s.io/kube-controller-manager:v1.29.0
            registry.k8s.io/kube-scheduler:v1.29.0
            registry.k8s.io/kube-proxy:v1.29.0
            registry.k8s.io/coredns/coredns:v1.11.1
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.10-0
            """
        },
        {
            "1.30.0", """
            registry.k8s.io/kube-apiserver:v1.30.0
            registry.k8s.io/kube-controller-manager:v1.30.0
            registry.k8s.io/kube-scheduler:v1.30.0
            registry.k8s.io/kube-proxy:v1.30.0
            registry.k8s.io/coredns/coredns:v1.11.1
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.12-0
            """
        },
        {
            "1.30.5", """
            registry.k8s.io/kube-apiserver:v1.30.5
            registry.k8s.io/kube-controller-manager:v1.30.5
            registry.k8s.io/kube-scheduler:v1.30.5
            registry.k8s.io/kube-proxy:v1.30.5
            registry.k8s.io/coredns/coredns:v1.11.3
            registry.k8s.io/pause:3.9
            registry.k8s.io/etcd:3.5.15-0
            """
        },
        {
            "1.31.0", """
            registry.k8s.io/kube-apiserver:v1.31.0
            registry.k8s.io/kube-controller-manager:v1.31.0
            registry.k8s.io/kube-scheduler:v1.31.0
            registry.k8s.io/kube-proxy:v1.31.0
            registry.k8s.io/coredns/coredns:v1.11.1
            registry.k8s.io/pause:3.10
            registry.k8s.io/etcd:3.5.15-0
            """
        },
        {
            "1.31.2", """
            registry.k8s.io/kube-apiserver:v1.31.2
            registry.k8s.io/kube-controller-manager:v1.31.2
            registry.k8s.io/kube-scheduler:v1.31.2
            registry.k8s.io/kube-proxy:v1.31.2
            registry.k8s.io/coredns/coredns:v1.11.3
            registry.k8s.io/pause:3.10
            registry.k8s.io/etcd:3.5.15-0
            """
        },
    };

    // With --image-repository of a mirror, kubeadm keeps the flat coredns name.
    public static TheoryData<string, string> MirrorLists => new()
    {
        {
            "1.23.0", """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.23.0
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.23.0
            registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0
            registry.aliyuncs.com/google_containers/pause:3.6
            registry.aliyuncs.com/google_containers/etcd:3.5.1-0
            registry.aliyuncs.com/google_containers/coredns:v1.8.6
            """
        },
        {
            "1.23.15", """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.15
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.23.15
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.23.15
            registry.aliyuncs.com/google_containers/kube-proxy:v1.23.15
            registry.aliyuncs.com/google_containers/pause:3.6
            registry.aliyuncs.com/google_containers/etcd:3.5.6-0
            registry.aliyuncs.com/google_containers/coredns:v1.8.6
            """
        },
        {
            "1.28.0", """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.28.0
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.28.0
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.28.0
            registry.aliyuncs.com/google_containers/kube-proxy:v1.28.0
            registry.aliyuncs.com/google_containers/pause:3.9
            registry.aliyuncs.com/google_containers/etcd:3.5.9-0
            registry.aliyuncs.com/google_containers/coredns:v1.10.1
            """
        },
        {
            "1.29.0", """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.29.0
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.29.0
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.29.0
            registry.aliyuncs.com/google_containers/kube-proxy:v1.29.0
            registry.aliyuncs.com/google_containers/coredns:v1.11.1
            registry.aliyuncs.com/google_containers/pause:3.9
            registry.aliyuncs.com/google_containers/etcd:3.5.10-0
            """
        },
        {
            "1.31.2", """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.31.2
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.31.2
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.31.2
            registry.aliyuncs.com/google_containers/kube-proxy:v1.31.2
            registry.aliyuncs.com/google_containers/coredns:v1.11.3
            registry.aliyuncs.com/google_containers/pause:3.10
            registry.aliyuncs.com/google_containers/etcd:3.5.15-0
            """
        },
    };

    [Theory]
    [MemberData(nameof(DefaultRegistryLists))]
    public void Default_registry_list_matches_kubeadm(string version, string expected)
    {
        Assert.Equal(Lines(expected), KubeadmImages.List(version));
    }

    [Theory]
    [MemberData(nameof(MirrorLists))]
    public void Mirror_list_matches_kubeadm_with_flat_coredns(string version, string expected)
    {
        Assert.Equal(Lines(expected), KubeadmImages.List(version, Aliyun));
    }

    [Theory]
    [InlineData("1.23.0")]
    [InlineData("v1.23.0")]
    [InlineData(" v1.23.0 ")]
    public void Version_is_accepted_with_or_without_v(string version)
    {
        Assert.Equal("k8s.gcr.io/kube-apiserver:v1.23.0", KubeadmImages.List(version)[0]);
    }

    [Fact]
    public void Empty_repository_means_the_default_registry()
    {
        Assert.Equal(KubeadmImages.List("1.24.9"), KubeadmImages.List("1.24.9", string.Empty));
    }

    [Theory]
    [InlineData("1.23.14", "k8s.gcr.io", "k8s.gcr.io/coredns/coredns:v1.8.6")]
    [InlineData("1.23.15", "registry.k8s.io", "registry.k8s.io/coredns/coredns:v1.8.6")]

    // Naming the other Google registry is a mirror to kubeadm: it compares with its own default only.
    [InlineData("1.23.14", "registry.k8s.io", "registry.k8s.io/coredns:v1.8.6")]
    [InlineData("1.23.15", "k8s.gcr.io", "k8s.gcr.io/coredns:v1.8.6")]
    [InlineData("1.25.0", "k8s.gcr.io", "k8s.gcr.io/coredns:v1.9.3")]
    public void Coredns_gets_its_extra_segment_only_on_the_release_default_registry(string version, string repository, string coredns)
    {
        var images = KubeadmImages.List(version, repository);
        Assert.Contains(coredns, images);
        Assert.All(images, i => Assert.StartsWith(repository + "/", i, StringComparison.Ordinal));
    }

    [Fact]
    public void Order_moves_coredns_before_pause_and_etcd_at_1_29()
    {
        string[] Tail(string v) => KubeadmImages.List(v).Skip(4).Select(i => i.Split('/')[^1].Split(':')[0]).ToArray();

        Assert.Equal(["pause", "etcd", "coredns"], Tail("1.28.15"));
        Assert.Equal(["coredns", "pause", "etcd"], Tail("1.29.0"));
        Assert.Equal(["coredns", "pause", "etcd"], Tail("1.31.2"));
    }

    [Theory]
    [InlineData("1.22.17")]
    [InlineData("1.38.0")]
    [InlineData("1.40.0")]
    [InlineData("2.23.0")]
    [InlineData("1.37.2")]
    [InlineData("1.29.16")]
    [InlineData("1.23.18")]
    [InlineData("abc")]
    [InlineData("1.23")]
    [InlineData("1.23.0.1")]
    [InlineData("")]
    public void Unknown_or_malformed_version_is_bad_input_naming_the_supported_range(string version)
    {
        var e = Assert.Throws<BadInputException>(() => KubeadmImages.List(version));
        Assert.Equal(ExitCode.BadInput, e.ExitCode);
        Assert.Contains("v1.23.0–v1.37.1", e.Message, StringComparison.Ordinal);
        Assert.Contains("1.29.0–1.29.15", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_release_in_the_catalog_lists_seven_images_of_its_own_version()
    {
        var catalog = VersionCatalog.Embedded;
        Assert.Equal(new KubernetesVersion(1, 23, 0), catalog.First);
        Assert.Equal(new KubernetesVersion(1, 37, 1), catalog.Last);

        var count = 0;
        foreach (var minor in catalog.Releases)
        {
            for (var patch = 0; patch <= minor.LastPatch; patch++)
            {
                var version = new KubernetesVersion(minor.Major, minor.Minor, patch);
                var images = KubeadmImages.List(version.ToString());
                Assert.Equal(7, images.Distinct().Count());
                Assert.Equal(4, images.Count(i => i.EndsWith(":" + version.Tag, StringComparison.Ordinal)));
                count++;
            }
        }

        // 18 + 18 + 17 + 16 + 17 + 16 releases up to 1.28, then 16 + 15 + 15 + 14 + 14 + 13 + 10 + 6 + 2.
        Assert.Equal(207, count);
    }

    /// <summary>Rows of minikube's table (kubernetes/minikube and the bot's fork, see the catalog's S1/S10), one per patch checked.</summary>
    [Theory]
    [InlineData("1.23.13", "3.5.1-0", "3.6", "v1.8.6")]
    [InlineData("1.24.8", "3.5.5-0", "3.7", "v1.8.6")]
    [InlineData("1.25.15", "3.5.9-0", "3.8", "v1.9.3")]
    [InlineData("1.26.13", "3.5.10-0", "3.9", "v1.9.3")]
    [InlineData("1.27.12", "3.5.12-0", "3.9", "v1.10.1")]
    [InlineData("1.28.14", "3.5.15-0", "3.9", "v1.10.1")]
    [InlineData("1.29.10", "3.5.15-0", "3.9", "v1.11.1")]
    [InlineData("1.29.11", "3.5.16-0", "3.9", "v1.11.1")]
    [InlineData("1.29.15", "3.5.16-0", "3.9", "v1.11.1")]
    [InlineData("1.30.4", "3.5.12-0", "3.9", "v1.11.1")]
    [InlineData("1.30.7", "3.5.15-0", "3.9", "v1.11.3")]
    [InlineData("1.30.14", "3.5.15-0", "3.9", "v1.11.3")]
    [InlineData("1.31.0", "3.5.15-0", "3.10", "v1.11.1")]
    [InlineData("1.31.13", "3.5.15-0", "3.10", "v1.11.3")]
    [InlineData("1.31.14", "3.5.24-0", "3.10", "v1.11.3")]
    [InlineData("1.32.9", "3.5.16-0", "3.10", "v1.11.3")]
    [InlineData("1.32.10", "3.5.24-0", "3.10", "v1.11.3")]
    [InlineData("1.32.13", "3.5.24-0", "3.10", "v1.11.3")]
    [InlineData("1.33.5", "3.5.21-0", "3.10", "v1.12.0")]
    [InlineData("1.33.6", "3.5.24-0", "3.10", "v1.12.0")]
    [InlineData("1.33.13", "3.5.24-0", "3.10", "v1.12.0")]
    [InlineData("1.34.1", "3.6.4-0", "3.10.1", "v1.12.1")]
    [InlineData("1.34.2", "3.6.5-0", "3.10.1", "v1.12.1")]
    [InlineData("1.34.12", "3.6.5-0", "3.10.1", "v1.12.1")]
    [InlineData("1.35.0", "3.6.6-0", "3.10.1", "v1.13.1")]
    [InlineData("1.35.9", "3.6.6-0", "3.10.1", "v1.13.1")]
    [InlineData("1.36.0", "3.6.8-0", "3.10.2", "v1.14.2")]
    [InlineData("1.36.5", "3.6.8-0", "3.10.2", "v1.14.2")]
    [InlineData("1.37.0", "3.7.0-0", "3.10.2", "v1.14.6")]
    [InlineData("1.37.1", "3.7.0-0", "3.10.2", "v1.14.6")]
    public void Etcd_pause_and_coredns_equal_minikubes_row(string version, string etcd, string pause, string coredns)
    {
        var images = KubeadmImages.List(version);
        var registry = version.StartsWith("1.23.", StringComparison.Ordinal) || version == "1.24.8" ? "k8s.gcr.io" : "registry.k8s.io";

        Assert.Contains($"{registry}/etcd:{etcd}", images);
        Assert.Contains($"{registry}/pause:{pause}", images);
        Assert.Contains($"{registry}/coredns/coredns:{coredns}", images);
    }

    [Fact]
    public void Newest_release_lists_what_kubeadm_1_37_1_prints()
    {
        Assert.Equal(
            Lines("""
            registry.k8s.io/kube-apiserver:v1.37.1
            registry.k8s.io/kube-controller-manager:v1.37.1
            registry.k8s.io/kube-scheduler:v1.37.1
            registry.k8s.io/kube-proxy:v1.37.1
            registry.k8s.io/coredns/coredns:v1.14.6
            registry.k8s.io/pause:3.10.2
            registry.k8s.io/etcd:3.7.0-0
            """),
            KubeadmImages.List("v1.37.1"));
        Assert.Equal(
            Lines("""
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.31.14
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.31.14
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.31.14
            registry.aliyuncs.com/google_containers/kube-proxy:v1.31.14
            registry.aliyuncs.com/google_containers/coredns:v1.11.3
            registry.aliyuncs.com/google_containers/pause:3.10
            registry.aliyuncs.com/google_containers/etcd:3.5.24-0
            """),
            KubeadmImages.List("1.31.14", Aliyun));
    }

    [Fact]
    public void Embedded_catalog_equals_the_file_in_the_repository()
    {
        var file = Path.Combine(KubeadmCatalogTests.RepoRoot(), "manifests", "kubeadm-images.yaml");
        var fromFile = VersionCatalog.Parse(File.ReadAllText(file), file);

        Assert.Equal(fromFile.SupportedRange, VersionCatalog.Embedded.SupportedRange);
        foreach (var v in new[] { "1.23.14", "1.24.9", "1.27.12", "1.30.5", "1.31.1", "1.33.6", "1.37.1" })
        {
            Assert.Equal(
                KubeadmImages.List(v, null, fromFile),
                KubeadmImages.List(v));
        }
    }

    private static string[] Lines(string text) => text.Split('\n');
}
