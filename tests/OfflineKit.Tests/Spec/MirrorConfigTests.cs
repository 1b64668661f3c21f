using OfflineKit.Spec;

namespace OfflineKit.Tests.Spec;

public class MirrorConfigTests
{
    private const string Lab = """
        registries:
          registry.aliyuncs.com: http://127.0.0.1:5000
          docker.io:
            - https://docker.m.daocloud.io
            - https://docker.imgdb.de
        urls:
          https://mirrors.aliyun.com/: http://127.0.0.1:8080/aliyun/
          https://mirrors.aliyun.com/kubernetes/: http://127.0.0.1:8080/k8s/
        insecure:
          - 127.0.0.1:5000
        """;

    [Fact]
    public void Registry_mirrors_are_tried_in_order_before_the_origin()
    {
        var config = MirrorConfig.Parse(Lab, "mirrors.yaml");

        Assert.Equal(
            ["https://docker.m.daocloud.io/", "https://docker.imgdb.de/", "https://registry-1.docker.io/"],
            config.RegistryEndpoints("docker.io").Select(u => u.AbsoluteUri));
        Assert.Equal(["http://127.0.0.1:5000/", "https://registry.aliyuncs.com/"], config.RegistryEndpoints("registry.aliyuncs.com").Select(u => u.AbsoluteUri));
        Assert.Equal(["https://quay.io/"], config.RegistryEndpoints("quay.io").Select(u => u.AbsoluteUri));
        Assert.Contains("127.0.0.1:5000", config.InsecureRegistries);
    }

    [Theory]
    [InlineData("https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/x86_64/os/repodata/repomd.xml", "http://127.0.0.1:8080/aliyun/centos-vault/8.5.2111/BaseOS/x86_64/os/repodata/repomd.xml")]
    [InlineData("https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg", "http://127.0.0.1:8080/k8s/yum/doc/yum-key.gpg")]
    [InlineData("https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml", "https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.6.3/components.yaml")]
    public void Urls_are_rewritten_through_the_longest_prefix(string origin, string expected) =>
        Assert.Equal(expected, MirrorConfig.Parse(Lab, "mirrors.yaml").Rewrite(new Uri(origin)).AbsoluteUri);

    [Fact]
    public void Flags_add_to_the_file()
    {
        using var dir = new Support.TempDir();
        var file = dir.Write("mirrors.yaml", Lab);
        var config = MirrorSources.Compose(
            file,
            ["quay.io=http://127.0.0.1:5001"],
            ["https://raw.githubusercontent.com/=file:///srv/manifests/"],
            ["127.0.0.1:5001"]);

        Assert.Equal("http://127.0.0.1:5001/", config.RegistryEndpoints("quay.io")[0].AbsoluteUri);
        Assert.Equal(
            "file:///srv/manifests/projectcalico/calico/v3.25.2/manifests/calico.yaml",
            config.Rewrite(new Uri("https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml")).AbsoluteUri);
        Assert.Contains("127.0.0.1:5001", config.InsecureRegistries);
    }

    [Theory]
    [InlineData("registries:\n  https://registry.aliyuncs.com: http://127.0.0.1:5000\n", "mirrors.yaml:2: registries: 'https://registry.aliyuncs.com' must be a registry name")]
    [InlineData("registries:\n  registry.aliyuncs.com: 127.0.0.1:5000\n", "mirrors.yaml:2: registries.registry.aliyuncs.com: '127.0.0.1:5000' is not an absolute http:// or https:// URL")]
    [InlineData("urls:\n  mirrors.aliyun.com: http://127.0.0.1:8080/\n", "mirrors.yaml:2: urls: 'mirrors.aliyun.com' is not an absolute http:// or https:// URL prefix")]
    [InlineData("registry:\n  a: b\n", "mirrors.yaml:1: unknown key 'registry' in mirrors")]
    [InlineData("insecure: 127.0.0.1:5000\n", "mirrors.yaml:1: insecure must be a list")]
    [InlineData("registries:\n  docker.io: []\n", "mirrors.yaml:2: registries.docker.io: give at least one mirror URL")]
    public void Bad_mirrors_file_is_reported_as_file_line_message(string yaml, string expected) =>
        Assert.StartsWith(expected, Assert.Throws<BadInputException>(() => MirrorConfig.Parse(yaml, "mirrors.yaml")).Message);

    [Theory]
    [InlineData("registry.aliyuncs.com")]
    [InlineData("registry.aliyuncs.com=")]
    [InlineData("registry.aliyuncs.com=ftp://x")]
    public void Bad_registry_mirror_flag_is_bad_input(string flag) =>
        Assert.Throws<BadInputException>(() => MirrorConfig.Empty.AddRegistryMirror(flag));

    [Fact]
    public void A_mirror_under_a_path_keeps_its_path()
    {
        var config = MirrorConfig.Parse("registries:\n  docker.io: https://harbor.site.local/v2-proxy/dockerhub\n", "mirrors.yaml");
        var endpoint = config.RegistryEndpoints("docker.io")[0];
        Assert.Equal("https://harbor.site.local/v2-proxy/dockerhub/v2/calico/node/manifests/v3.25.2", new Uri(endpoint, "v2/calico/node/manifests/v3.25.2").AbsoluteUri);
    }
}
