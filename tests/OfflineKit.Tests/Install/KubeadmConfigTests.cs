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
    public void Versions_past_v1beta3_say_they_are_not_written_yet() =>
        Assert.Contains("not implemented yet", Assert.Throws<NotImplementedYetException>(() =>
            KubeadmConfig.Render(Guide, new KubernetesVersion(1, 31, 0), "r", KubeadmConfig.NewBootstrapToken())).Message);
}
