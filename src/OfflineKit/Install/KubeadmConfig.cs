using System.Security.Cryptography;
using System.Text.RegularExpressions;
using OfflineKit.Spec;
using YamlDotNet.Serialization;

namespace OfflineKit.Install;

/// <summary>
/// What the kubeadm config for a cluster depends on besides the inventory: the Kubernetes version (which
/// picks the config API: v1beta3 for 1.22–1.30, v1beta4 from 1.31), the image repository, the runtime's
/// CRI socket, the preflight errors to ignore and whether a cgroup v1 host is allowed (1.35+).
/// </summary>
public sealed record KubeadmOptions(KubernetesVersion Version, string ImageRepository, string CriSocket = KubeadmConfig.DockerShimSocket)
{
    public IReadOnlyList<string> IgnorePreflightErrors { get; init; } = [];

    /// <summary>The inventory's cluster.allowCgroupV1: the kubelet's failCgroupV1 set false (it exists from 1.31, defaults true from 1.35).</summary>
    public bool AllowCgroupV1 { get; init; }

    /// <summary>The config API offlinekit writes for this version: v1beta4 from 1.31, where kubeadm introduced it (kubeadm's config API reference), v1beta3 before.</summary>
    public string ApiVersion => Version >= KubeadmConfig.FirstV1Beta4 ? KubeadmConfig.V1Beta4 : KubeadmConfig.V1Beta3;
}

/// <summary>
/// kubeadm's configuration, generated from the inventory: the guide's init-config.yaml
/// (InitConfiguration, ClusterConfiguration and the kubelet's cgroup driver) for `kubeadm init --config`,
/// and a JoinConfiguration for `kubeadm join --config`, in v1beta3 (1.22–1.30) or v1beta4 (1.31+; its
/// extraArgs are name/value lists and its timeouts live under `timeouts`).
/// Pure: the token is an input, so a plan can be printed without one and tests see fixed output.
/// </summary>
public static partial class KubeadmConfig
{
    /// <summary>dockershim's socket, which kubeadm 1.23 uses with docker-ce (the guide's criSocket).</summary>
    public const string DockerShimSocket = "/var/run/dockershim.sock";

    public const string ContainerdSocket = "unix:///run/containerd/containerd.sock";

    public const string V1Beta3 = "kubeadm.k8s.io/v1beta3";

    public const string V1Beta4 = "kubeadm.k8s.io/v1beta4";

    public static readonly KubernetesVersion FirstV1Beta4 = new(1, 31, 0);

    /// <summary>From 1.35 the kubelet refuses a cgroup v1 host unless failCgroupV1 is false (KEP-5573).</summary>
    public static readonly KubernetesVersion FirstFailingCgroupV1 = new(1, 35, 0);

    /// <summary>What a JoinConfiguration template holds until the control plane's join command fills it in.</summary>
    public const string EndpointPlaceholder = "<api-server-endpoint>";

    public const string TokenPlaceholder = "<token>";

    public const string CaHashPlaceholder = "<ca-cert-hash>";

    /// <summary>What a control plane's JoinConfiguration holds until the first control plane's fresh certificate key fills it in.</summary>
    public const string CertificateKeyPlaceholder = "<certificate-key>";

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A fresh bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}, from the system's CSPRNG.</summary>
    public static string NewBootstrapToken() =>
        $"{RandomNumberGenerator.GetString(Alphabet, 6)}.{RandomNumberGenerator.GetString(Alphabet, 16)}";

    public static bool IsBootstrapToken(string token) => TokenPattern().IsMatch(token);

    /// <summary>What <c>kubeadm token create --print-join-command</c> prints: kubeadm join HOST:PORT --token T --discovery-token-ca-cert-hash sha256:H.</summary>
    public static bool IsJoinCommand(string line) => JoinPattern().IsMatch(line);

    /// <summary>Every bootstrap token in <paramref name="text"/> replaced by &lt;token&gt;.</summary>
    public static string RedactTokens(string text) => AnyToken().Replace(text, "<token>");

    /// <summary>Bootstrap tokens and certificate keys (64 hex digits, but not a sha256: CA hash) replaced by placeholders.</summary>
    public static string RedactSecrets(string text) => AnyCertificateKey().Replace(RedactTokens(text), CertificateKeyPlaceholder);

    /// <summary>What <c>kubeadm init phase upload-certs --upload-certs</c> prints last: the key (64 hex digits) the control planes' certificates are encrypted with.</summary>
    public static bool IsCertificateKey(string text) => CertificateKeyPattern().IsMatch(text);

    /// <summary>The guide's v1beta3 documents for a docker cluster (kept for the callers that name only a version).</summary>
    public static string Render(Inventory inventory, KubernetesVersion version, string imageRepository, string token, string criSocket = DockerShimSocket) =>
        Render(inventory, new KubeadmOptions(version, imageRepository, criSocket), token);

    /// <summary>InitConfiguration, ClusterConfiguration and KubeletConfiguration for `kubeadm init --config`.</summary>
    public static string Render(Inventory inventory, KubeadmOptions options, string token)
    {
        var version = options.Version;
        if (version < new KubernetesVersion(1, 22, 0))
        {
            throw new NotImplementedYetException(
                $"kubeadm configuration for Kubernetes {version}", "offlinekit writes kubeadm.k8s.io/v1beta3 (1.22–1.30) and v1beta4 (1.31 and later)");
        }

        if (!IsBootstrapToken(token))
        {
            throw new ArgumentException("a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16}", nameof(token));
        }

        var api = options.ApiVersion;
        var master = HostTopology.From(inventory).FirstControlPlane;
        var cluster = inventory.Cluster;
        var init = new Dictionary<string, object?>
        {
            ["apiVersion"] = api,
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

            // The guide's `taints: null`: the control-plane node also runs workloads.
            ["nodeRegistration"] = NodeRegistration(options, master.Name, taintsNull: true),
        };
        if (api == V1Beta4)
        {
            // v1beta4 gathers the timeouts here (v1beta3's apiServer.timeoutForControlPlane is the first of them).
            init["timeouts"] = new Dictionary<string, object?>
            {
                ["controlPlaneComponentHealthCheck"] = "4m0s",
                ["kubeletHealthCheck"] = "4m0s",
            };
        }

        var clusterConfiguration = new Dictionary<string, object?>
        {
            ["apiVersion"] = api,
            ["kind"] = "ClusterConfiguration",
            ["clusterName"] = "kubernetes",
            ["kubernetesVersion"] = version.ToString(),
            ["imageRepository"] = options.ImageRepository,
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
        return Serialize(init, clusterConfiguration, Kubelet(options));
    }

    /// <summary>
    /// A JoinConfiguration for <paramref name="nodeName"/>, with placeholders for what only the control plane
    /// knows at install time (<see cref="FillJoin"/> puts them in): the API server endpoint, token and CA hash.
    /// </summary>
    /// <param name="controlPlaneAddress">For another control plane: the address its own API server advertises (kubeadm join
    /// --control-plane); its JoinConfiguration then holds <see cref="CertificateKeyPlaceholder"/> for the key to the uploaded certificates.</param>
    public static string RenderJoin(KubeadmOptions options, string nodeName, string? controlPlaneAddress = null)
    {
        var api = options.ApiVersion;
        var bootstrap = new Dictionary<string, object?>
        {
            ["apiServerEndpoint"] = EndpointPlaceholder,
            ["caCertHashes"] = new[] { CaHashPlaceholder },
            ["token"] = TokenPlaceholder,
        };
        var discovery = new Dictionary<string, object?> { ["bootstrapToken"] = bootstrap };
        var join = new Dictionary<string, object?>
        {
            ["apiVersion"] = api,
            ["kind"] = "JoinConfiguration",
            ["discovery"] = discovery,
            ["nodeRegistration"] = NodeRegistration(options, nodeName, taintsNull: controlPlaneAddress is not null),
        };
        if (controlPlaneAddress is not null)
        {
            join["controlPlane"] = new Dictionary<string, object?>
            {
                ["localAPIEndpoint"] = new Dictionary<string, object?> { ["advertiseAddress"] = controlPlaneAddress, ["bindPort"] = LoadBalancer.ApiServerPort },
                ["certificateKey"] = CertificateKeyPlaceholder,
            };
        }

        if (api == V1Beta4)
        {
            join["timeouts"] = new Dictionary<string, object?> { ["discovery"] = "5m0s", ["tlsBootstrap"] = "5m0s", ["kubeletHealthCheck"] = "4m0s" };
        }
        else
        {
            discovery["timeout"] = "5m0s";
        }

        return Serialize(join, Kubelet(options));
    }

    /// <summary>A JoinConfiguration template with the endpoint, token and CA hash of <paramref name="joinCommand"/> filled in.</summary>
    public static string FillJoin(string template, string joinCommand, string? certificateKey = null)
    {
        if (!IsJoinCommand(joinCommand))
        {
            throw new ArgumentException("not a kubeadm join command", nameof(joinCommand));
        }

        if (template.Contains(CertificateKeyPlaceholder, StringComparison.Ordinal))
        {
            if (certificateKey is null || !IsCertificateKey(certificateKey))
            {
                throw new ArgumentException("a control plane's JoinConfiguration needs the certificate key (64 hex digits)", nameof(certificateKey));
            }

            template = template.Replace(CertificateKeyPlaceholder, certificateKey, StringComparison.Ordinal);
        }

        var words = joinCommand.Split(' ');
        return template
            .Replace(EndpointPlaceholder, words[2], StringComparison.Ordinal)
            .Replace(TokenPlaceholder, words[4], StringComparison.Ordinal)
            .Replace(CaHashPlaceholder, words[6], StringComparison.Ordinal);
    }

    private static Dictionary<string, object?> NodeRegistration(KubeadmOptions options, string name, bool taintsNull)
    {
        var registration = new Dictionary<string, object?>
        {
            ["criSocket"] = options.CriSocket,
            ["imagePullPolicy"] = "IfNotPresent",
            ["name"] = name,
        };
        if (taintsNull)
        {
            registration["taints"] = null;
        }

        if (options.IgnorePreflightErrors.Count > 0)
        {
            registration["ignorePreflightErrors"] = options.IgnorePreflightErrors.ToArray();
        }

        return registration;
    }

    private static Dictionary<string, object?> Kubelet(KubeadmOptions options)
    {
        var kubelet = new Dictionary<string, object?>
        {
            ["apiVersion"] = "kubelet.config.k8s.io/v1beta1",
            ["kind"] = "KubeletConfiguration",

            // The runtime runs with the systemd cgroup driver (docker's daemon.json, containerd's SystemdCgroup); the kubelet must agree.
            ["cgroupDriver"] = "systemd",
        };
        if (options.AllowCgroupV1 && options.Version >= FirstFailingCgroupV1)
        {
            kubelet["failCgroupV1"] = false;
        }

        return kubelet;
    }

    private static string Serialize(params Dictionary<string, object?>[] documents)
    {
        var serializer = new SerializerBuilder().Build();
        return string.Join("---\n", documents.Select(serializer.Serialize));
    }

    [GeneratedRegex("^[a-z0-9]{6}\\.[a-z0-9]{16}$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("(?<![a-z0-9])[a-z0-9]{6}\\.[a-z0-9]{16}(?![a-z0-9])")]
    private static partial Regex AnyToken();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex CertificateKeyPattern();

    [GeneratedRegex("(?<![0-9a-f:])[0-9a-f]{64}(?![0-9a-f])")]
    private static partial Regex AnyCertificateKey();

    [GeneratedRegex("^kubeadm join [^ ]+:[0-9]+ --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}$")]
    private static partial Regex JoinPattern();
}
