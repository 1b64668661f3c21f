using OfflineKit.Install;
using OfflineKit.Spec;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Tests.Install;

public class KubeadmConfigTests
{
    private static readonly Inventory Guide = InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", Path.GetTempPath());

    private static List<YamlMappingNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static string At(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            current = current is YamlSequenceNode seq ? seq[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] : ((YamlMappingNode)current)[key];
        }

        return ((YamlScalarNode)current).Value ?? "null";
    }

    [Fact]
    public void The_guides_init_config_comes_from_the_inventory()
    {
        const string token = "abcdef.0123456789abcdef";
        var docs = Documents(KubeadmConfig.Render(Guide, new KubernetesVersion(1, 23, 0), "registry.aliyuncs.com/google_containers", token));

        Assert.Equal(3, docs.Count);
        var init = docs[0];
        Assert.Equal(("kubeadm.k8s.io/v1beta3", "InitConfiguration"), (At(init, "apiVersion"), At(init, "kind")));
        Assert.Equal(token, At(init, "bootstrapTokens", "0", "token"));
        Assert.Equal("system:bootstrappers:kubeadm:default-node-token", At(init, "bootstrapTokens", "0", "groups", "0"));
        Assert.Equal(Guide.ControlPlane.Address, At(init, "localAPIEndpoint", "advertiseAddress"));
        Assert.Equal("6443", At(init, "localAPIEndpoint", "bindPort"));
        Assert.Equal("/var/run/dockershim.sock", At(init, "nodeRegistration", "criSocket"));
        Assert.Equal(Guide.ControlPlane.Name, At(init, "nodeRegistration", "name"));

        var cluster = docs[1];
        Assert.Equal("ClusterConfiguration", At(cluster, "kind"));
        Assert.Equal("1.23.0", At(cluster, "kubernetesVersion"));
        Assert.Equal("registry.aliyuncs.com/google_containers", At(cluster, "imageRepository"));
        Assert.Equal(Guide.Cluster.PodSubnet.ToString(), At(cluster, "networking", "podSubnet"));
        Assert.Equal(Guide.Cluster.ServiceSubnet.ToString(), At(cluster, "networking", "serviceSubnet"));
        Assert.Equal(Guide.Cluster.DnsDomain, At(cluster, "networking", "dnsDomain"));

        Assert.Equal(("KubeletConfiguration", "systemd"), (At(docs[2], "kind"), At(docs[2], "cgroupDriver")));
    }

    [Fact]
    public void Tokens_are_fresh_and_well_formed()
    {
        var a = KubeadmConfig.NewBootstrapToken();
        var b = KubeadmConfig.NewBootstrapToken();
        Assert.True(KubeadmConfig.IsBootstrapToken(a));
        Assert.NotEqual(a, b);
        Assert.False(KubeadmConfig.IsBootstrapToken("ABCDEF.0123456789abcdef"));
        Assert.Throws<ArgumentException>(() => KubeadmConfig.Render(Guide, new KubernetesVersion(1, 23, 0), "r", "short.token"));
    }

    [Fact]
    public void Versions_before_v1beta3_say_they_are_not_written_yet() =>
        Assert.Contains("not implemented yet", Assert.Throws<NotImplementedYetException>(() =>
            KubeadmConfig.Render(Guide, new KubernetesVersion(1, 21, 0), "r", KubeadmConfig.NewBootstrapToken())).Message);

    [Theory]
    [InlineData(1, 30, 14, "kubeadm.k8s.io/v1beta3")]
    [InlineData(1, 31, 0, "kubeadm.k8s.io/v1beta4")]
    [InlineData(1, 33, 5, "kubeadm.k8s.io/v1beta4")]
    public void The_config_api_follows_the_version(int major, int minor, int patch, string api)
    {
        var options = new KubeadmOptions(new KubernetesVersion(major, minor, patch), "registry.k8s.io", KubeadmConfig.ContainerdSocket);
        var docs = Documents(KubeadmConfig.Render(Guide, options, "abcdef.0123456789abcdef"));

        Assert.Equal(api, At(docs[0], "apiVersion"));
        Assert.Equal(api, At(docs[1], "apiVersion"));
        Assert.Equal(KubeadmConfig.ContainerdSocket, At(docs[0], "nodeRegistration", "criSocket"));
        Assert.Equal("systemd", At(docs[2], "cgroupDriver"));
        Assert.Equal(api == KubeadmConfig.V1Beta4, docs[0].Children.ContainsKey("timeouts"));
    }

    [Fact]
    public void A_join_configuration_gets_the_endpoint_token_and_hash_of_the_join_command()
    {
        var hash = "sha256:" + new string('e', 64);
        var v1beta4 = new KubeadmOptions(new KubernetesVersion(1, 31, 2), "registry.k8s.io", KubeadmConfig.ContainerdSocket);
        var template = KubeadmConfig.RenderJoin(v1beta4, "k8s-node01");
        Assert.DoesNotContain("abcdef", template);

        var docs = Documents(KubeadmConfig.FillJoin(template, $"kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {hash}"));
        var join = docs[0];
        Assert.Equal(("kubeadm.k8s.io/v1beta4", "JoinConfiguration"), (At(join, "apiVersion"), At(join, "kind")));
        Assert.Equal("10.0.0.1:6443", At(join, "discovery", "bootstrapToken", "apiServerEndpoint"));
        Assert.Equal("abcdef.0123456789abcdef", At(join, "discovery", "bootstrapToken", "token"));
        Assert.Equal(hash, At(join, "discovery", "bootstrapToken", "caCertHashes", "0"));
        Assert.Equal("k8s-node01", At(join, "nodeRegistration", "name"));
        Assert.Equal(KubeadmConfig.ContainerdSocket, At(join, "nodeRegistration", "criSocket"));
        Assert.Equal("5m0s", At(join, "timeouts", "discovery"));
        Assert.False(((YamlMappingNode)join["discovery"]).Children.ContainsKey("timeout"));

        var v1beta3 = Documents(KubeadmConfig.RenderJoin(v1beta4 with { Version = new KubernetesVersion(1, 30, 0) }, "n"))[0];
        Assert.Equal("5m0s", At(v1beta3, "discovery", "timeout"));
        Assert.False(v1beta3.Children.ContainsKey("timeouts"));
    }

    [Theory]
    [InlineData(1, 34, 0, true, false)]
    [InlineData(1, 35, 0, false, false)]
    [InlineData(1, 35, 0, true, true)]
    public void FailCgroupV1_is_false_only_from_1_35_when_the_inventory_allows_cgroup_v1(int major, int minor, int patch, bool allow, bool written)
    {
        var options = new KubeadmOptions(new KubernetesVersion(major, minor, patch), "registry.k8s.io", KubeadmConfig.ContainerdSocket) { AllowCgroupV1 = allow };
        var kubelet = Documents(KubeadmConfig.Render(Guide, options, "abcdef.0123456789abcdef"))[2];

        Assert.Equal(written, kubelet.Children.ContainsKey("failCgroupV1"));
        if (written)
        {
            Assert.Equal("false", At(kubelet, "failCgroupV1"));
        }
    }

    [Fact]
    public void Ignored_preflight_errors_go_into_the_node_registration() =>
        Assert.Equal("SystemVerification", At(
            Documents(KubeadmConfig.Render(Guide, new KubeadmOptions(new KubernetesVersion(1, 32, 1), "r", KubeadmConfig.ContainerdSocket) { IgnorePreflightErrors = ["SystemVerification"] }, "abcdef.0123456789abcdef"))[0],
            "nodeRegistration",
            "ignorePreflightErrors",
            "0"));
}
