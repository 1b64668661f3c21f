using System.Security.Cryptography;
using System.Text.RegularExpressions;
using OfflineKit.Spec;
using YamlDotNet.Serialization;

namespace OfflineKit.Install;

/// <summary>
/// The guide's init-config.yaml, generated from the inventory: kubeadm's InitConfiguration and
/// ClusterConfiguration (kubeadm.k8s.io/v1beta3) plus the kubelet's cgroup driver, for `kubeadm init --config`.
/// Pure: the token is an input, so a plan can be printed without one and tests see fixed output.
/// </summary>
public static partial class KubeadmConfig
{
    /// <summary>dockershim's socket, which kubeadm 1.23 uses with docker-ce (the guide's criSocket).</summary>
    public const string DockerShimSocket = "/var/run/dockershim.sock";

    public const string ContainerdSocket = "unix:///run/containerd/containerd.sock";

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A fresh bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}, from the system's CSPRNG.</summary>
    public static string NewBootstrapToken() =>
        $"{RandomNumberGenerator.GetString(Alphabet, 6)}.{RandomNumberGenerator.GetString(Alphabet, 16)}";

    public static bool IsBootstrapToken(string token) => TokenPattern().IsMatch(token);

    /// <summary>What <c>kubeadm token create --print-join-command</c> prints: kubeadm join HOST:PORT --token T --discovery-token-ca-cert-hash sha256:H.</summary>
    public static bool IsJoinCommand(string line) => JoinPattern().IsMatch(line);

    /// <summary>Every bootstrap token in <paramref name="text"/> replaced by &lt;token&gt;.</summary>
    public static string RedactTokens(string text) => AnyToken().Replace(text, "<token>");

    /// <summary>The v1beta3 documents for <paramref name="version"/>; other kubeadm API versions are not written yet.</summary>
    public static string Render(Inventory inventory, KubernetesVersion version, string imageRepository, string token, string criSocket = DockerShimSocket)
    {
        if (version < new KubernetesVersion(1, 22, 0) || version >= new KubernetesVersion(1, 31, 0))
        {
            throw new NotImplementedYetException(
                $"kubeadm configuration for Kubernetes {version}", "offlinekit writes kubeadm.k8s.io/v1beta3, which kubeadm 1.22–1.30 read");
        }

        if (!IsBootstrapToken(token))
        {
            throw new ArgumentException("a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16}", nameof(token));
        }

        var master = inventory.ControlPlane;
        var cluster = inventory.Cluster;
        var init = new Dictionary<string, object?>
        {
            ["apiVersion"] = "kubeadm.k8s.io/v1beta3",
            ["kind"] = "InitConfiguration",
            ["bootstrapTokens"] = new[]
            {
                new Dictionary<string, object?>
                {
                    ["groups"] = new[] { "system:bootstrappers:kubeadm:default-node-token" },
                    ["token"] = token,
                    ["ttl"] = "24h0m0s",
                    ["usages"] = new[] { "signing", "authentication" },
                },
            },
            ["localAPIEndpoint"] = new Dictionary<string, object?>
            {
                ["advertiseAddress"] = cluster.AdvertiseAddress ?? master.Address,
                ["bindPort"] = 6443,
            },
            ["nodeRegistration"] = new Dictionary<string, object?>
            {
                ["criSocket"] = criSocket,
                ["imagePullPolicy"] = "IfNotPresent",
                ["name"] = master.Name,

                // The guide's `taints: null`: the control-plane node also runs workloads.
                ["taints"] = null,
            },
        };
        var clusterConfiguration = new Dictionary<string, object?>
        {
            ["apiVersion"] = "kubeadm.k8s.io/v1beta3",
            ["kind"] = "ClusterConfiguration",
            ["clusterName"] = "kubernetes",
            ["kubernetesVersion"] = version.ToString(),
            ["imageRepository"] = imageRepository,
            ["certificatesDir"] = "/etc/kubernetes/pki",
        };
        if (cluster.ControlPlaneEndpoint is { } endpoint)
        {
            clusterConfiguration["controlPlaneEndpoint"] = endpoint;
        }

        clusterConfiguration["networking"] = new Dictionary<string, object?>
        {
            ["dnsDomain"] = cluster.DnsDomain,
            ["podSubnet"] = cluster.PodSubnet.ToString(),
            ["serviceSubnet"] = cluster.ServiceSubnet.ToString(),
        };
        var kubelet = new Dictionary<string, object?>
        {
            ["apiVersion"] = "kubelet.config.k8s.io/v1beta1",
            ["kind"] = "KubeletConfiguration",

            // Docker runs with native.cgroupdriver=systemd (daemon.json); the kubelet must agree.
            ["cgroupDriver"] = "systemd",
        };

        var serializer = new SerializerBuilder().Build();
        return string.Join("---\n", new[] { init, clusterConfiguration, kubelet }.Select(serializer.Serialize));
    }

    [GeneratedRegex("^[a-z0-9]{6}\\.[a-z0-9]{16}$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("(?<![a-z0-9])[a-z0-9]{6}\\.[a-z0-9]{16}(?![a-z0-9])")]
    private static partial Regex AnyToken();

    [GeneratedRegex("^kubeadm join [^ ]+:[0-9]+ --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}$")]
    private static partial Regex JoinPattern();
}
