using OfflineKit.Catalog;
using OfflineKit.Spec;

namespace OfflineKit.Tests.Spec;

public class BundleSpecLoaderTests
{
    [Fact]
    public void The_yaml_warm_up_reads_its_own_document()
    {
        // Run on a background thread at start, where a throw would go unseen: its document must stay valid YAML.
        Assert.Null(Record.Exception(YamlMapReader.WarmUp));
    }

    [Fact]
    public void Default_spec_holds_what_the_guide_uses()
    {
        var spec = BundleSpecLoader.LoadEmbedded("1.23.0");

        Assert.Equal(new KubernetesVersion(1, 23, 0), spec.Kubernetes);
        Assert.Equal("registry.aliyuncs.com/google_containers", spec.ImageRepository);
        Assert.Equal(new TargetPlatform(TargetOs.El8, TargetArch.Amd64), spec.Target);
        Assert.Equal(
            ["kubelet-1.23.0", "kubeadm-1.23.0", "kubectl-1.23.0", "docker-ce-20.10.24", "docker-ce-cli-20.10.24", "containerd.io", "chrony"],
            spec.Rpm.Packages);
        Assert.Equal(
            [
                "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/",
                "https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/",
                "https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/x86_64/os/",
                "https://mirrors.aliyun.com/centos-vault/8.5.2111/AppStream/x86_64/os/",
            ],
            spec.Rpm.Repositories.Select(r => r.BaseUrl.AbsoluteUri));
        Assert.All(spec.Rpm.Repositories, r => Assert.NotEmpty(r.GpgKeys));
        Assert.Equal("10.244.0.0/16", spec.Cluster.PodSubnet.ToString());
        Assert.Equal("10.96.0.0/12", spec.Cluster.ServiceSubnet.ToString());
        Assert.Equal("cluster.local", spec.Cluster.DnsDomain);
        Assert.Equal("native.cgroupdriver=systemd", spec.DockerDaemon["exec-opts"]![0]!.GetValue<string>());
        Assert.Equal(4, spec.DockerDaemon["registry-mirrors"]!.AsArray().Count);

        var calico = Assert.Single(spec.Addons, a => a.Name == "calico");
        Assert.Equal("v3.25.2", calico.Version);
        Assert.Equal("https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml", calico.Url.AbsoluteUri);
        var pool = Assert.Single(calico.Patches);
        Assert.Equal((ManifestPatchOp.SetEnv, "CALICO_IPV4POOL_CIDR"), (pool.Op, pool.Name));
        Assert.Equal("10.244.0.0/16", ClusterVariables.Expand(pool.Value, spec.Cluster));

        var metrics = Assert.Single(spec.Addons, a => a.Name == "metrics-server");
        Assert.Equal("https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml", metrics.Url.AbsoluteUri);
        Assert.Contains(metrics.Patches, p => p.Op == ManifestPatchOp.AddArg && p.Value == "--kubelet-insecure-tls");
        Assert.Contains(metrics.Patches, p => p.Op == ManifestPatchOp.SetImage && p.Value == "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3");
    }

    [Fact]
    public void Embedded_spec_equals_the_file_in_the_repository()
    {
        var repoFile = Path.Combine(RepoRoot(), "manifests", "k8s-1.23.0.yaml");
        Assert.Equal(File.ReadAllText(repoFile), BundleSpecLoader.EmbeddedText(new KubernetesVersion(1, 23, 0)));
    }

    [Fact]
    public void Default_spec_round_trips()
    {
        var spec = BundleSpecLoader.LoadEmbedded("1.23.0");
        var yaml = BundleSpecWriter.ToYaml(spec);
        var again = BundleSpecLoader.Parse(yaml, "roundtrip.yaml");

        Assert.Equal(yaml, BundleSpecWriter.ToYaml(again));
        Assert.Equal(spec.Kubernetes, again.Kubernetes);
        Assert.Equal(spec.Rpm.Packages, again.Rpm.Packages);
        Assert.Equal(spec.DockerDaemon.ToJsonString(), again.DockerDaemon.ToJsonString());
    }

    [Theory]
    [InlineData("1.23.0")]
    [InlineData("v1.23.0")]
    public void Version_is_accepted_with_or_without_v(string version) =>
        Assert.Equal("1.23.0", BundleSpecLoader.LoadEmbedded(version).Kubernetes.ToString());

    [Theory]
    [InlineData("1.99.0", "no bundle spec for this version is built in (built in: 1.23.0)")]
    [InlineData("1.23", "is not a Kubernetes version")]
    [InlineData("latest", "is not a Kubernetes version")]
    public void Unknown_or_malformed_version_is_bad_input(string version, string message)
    {
        var e = Assert.Throws<BadInputException>(() => BundleSpecLoader.LoadEmbedded(version));
        Assert.Contains(message, e.Message);
    }

    /// <summary>
    /// What is changed in the default spec, what it is changed to, the text whose line the error
    /// must name (plus an offset), and the message after "file:line: ".
    /// </summary>
    public static TheoryData<string, string, string, int, string> BadSpecs => new()
    {
        { "  os: el8", "  os: el10", "  os: el8", 0, "target.os: unknown os 'el10' (expected el8 or el9)" },
        { "  dnsDomain: cluster.local", "  dnsDomain: cluster.local\n  dnsDomian: x", "  dnsDomain: cluster.local", 1, "unknown key 'dnsDomian' in cluster" },
        { "  podSubnet: 10.244.0.0/16", "  podSubnet: 10.244.0.0/33", "  podSubnet: 10.244.0.0/16", 0, "cluster.podSubnet '10.244.0.0/33' is not a CIDR" },
        { "  podSubnet: 10.244.0.0/16", "  podSubnet: [10.244.0.0/16]", "  podSubnet: 10.244.0.0/16", 0, "cluster.podSubnet must be a string, found a list" },
        { "  serviceSubnet: 10.96.0.0/12", "  serviceSubnet: 10.244.1.0/24", "  serviceSubnet: 10.96.0.0/12", 0, "cluster.serviceSubnet 10.244.1.0/24 overlaps podSubnet" },
        { "  imageRepository: registry.aliyuncs.com/google_containers\n", "", "kubernetes:", 1, "kubernetes: missing required field 'imageRepository'" },
        { "    - chrony", "    - chrony\n    - kubelet-1.23.0", "  packages:", 1, "rpm.packages lists 'kubelet-1.23.0' twice" },
        { "      - op: add-arg", "      - op: add-flag", "      - op: add-arg", 0, "unknown patch op 'add-flag'" },
        { "        value: ${cluster.podSubnet}", "        value: ${cluster.podCidr}", "        value: ${cluster.podSubnet}", 0, "unknown variable in '${cluster.podCidr}'" },
        { "      baseurl: https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/", "      baseurl: mirrors.aliyun.com/docker-ce", "      baseurl: https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/", 0, "rpm.repositories[1].baseurl: 'mirrors.aliyun.com/docker-ce' is not an absolute http:// or https:// URL" },
        { "kind: BundleSpec", "kind: Bundle", "kind: BundleSpec", 0, "kind 'Bundle' is not a bundle spec" },
        { "  version: 1.0.0", "  version: one", "  version: 1.0.0", 0, "metadata.version 'one' is not a SemVer version" },
        { "  arch: amd64", "  arch: amd64\n  arch: arm64", "  arch: amd64", 1, "invalid YAML: Duplicate key" },
        { "  os: el8", "  os: [el8", "  os: el8", 0, "invalid YAML" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Bad_spec_is_reported_as_file_line_message(string find, string replace, string anchor, int offset, string message)
    {
        var text = BundleSpecLoader.EmbeddedText(new KubernetesVersion(1, 23, 0));
        Assert.Contains(find, text);
        var line = text[..text.IndexOf(anchor, StringComparison.Ordinal)].Count(c => c == '\n') + 1 + offset;

        var e = Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse(text.Replace(find, replace), "spec.yaml"));

        Assert.StartsWith($"spec.yaml:{line}: {message}", e.Message);
    }

    [Fact]
    public void Empty_file_and_wrong_root_are_reported()
    {
        Assert.Equal("spec.yaml:1: the file is empty; expected a spec", Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse("", "spec.yaml")).Message);
        Assert.Equal("spec.yaml:1: spec must be a mapping (key: value), found a list", Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse("- a\n- b\n", "spec.yaml")).Message);
    }

    [Fact]
    public void Missing_spec_file_is_bad_input() =>
        Assert.Contains("spec file not found", Assert.Throws<BadInputException>(() => BundleSpecLoader.LoadFile("/nonexistent/spec.yaml")).Message);

    [Fact]
    public void Resolver_overrides_target_and_checks_k8s_against_spec_file()
    {
        using var dir = new Support.TempDir();
        var file = dir.Write("my.yaml", BundleSpecLoader.EmbeddedText(new KubernetesVersion(1, 23, 0)));

        Assert.Equal(TargetArch.Arm64, SpecResolver.Resolve(null, file, arch: "arm64").Target.Arch);
        var generic = dir.Write("generic.yaml", BundleSpecLoader.EmbeddedText(new KubernetesVersion(1, 23, 0)).Replace("x86_64", "$basearch", StringComparison.Ordinal));
        Assert.Equal(
            "https://mirrors.aliyun.com/docker-ce/linux/centos/8/aarch64/stable/",
            SpecResolver.Resolve(null, generic, arch: "arm64").Rpm.Repositories.Single(r => r.Name == "docker-ce-stable").BaseUrl.AbsoluteUri);
        Assert.Equal(TargetOs.El9, SpecResolver.Resolve("1.23.0", null, os: "el9").Target.Os);
        Assert.Contains("does not match", Assert.Throws<BadInputException>(() => SpecResolver.Resolve(null, file, runtime: "containerd")).Message);
        Assert.Contains("does not match", Assert.Throws<BadInputException>(() => SpecResolver.Resolve("1.24.0", file)).Message);
        Assert.Throws<BadInputException>(() => SpecResolver.Resolve(null, null));
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
