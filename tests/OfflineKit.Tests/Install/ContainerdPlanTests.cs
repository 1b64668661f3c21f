using System.Net;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using OfflineKit.Tests.Manifests;

namespace OfflineKit.Tests.Install;

/// <summary>
/// The plan of a containerd bundle, read as --dry-run prints it (no network): the kubeadm config API per
/// version, the containerd socket, the sandbox image, hosts.toml, and the addons rendered with the
/// inventory's site values from the bundle's upstream manifests and recorded patches.
/// </summary>
public class ContainerdPlanTests
{
    private const string Token = "abcdef.0123456789abcdef";
    private const string Repo = "registry.aliyuncs.com/google_containers";

    private static readonly AddonSpec Calico = new(
        "calico",
        "v3.25.2",
        new Uri("https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/calico.yaml"),
        [new ManifestPatch(ManifestPatchOp.SetEnv, "calico-node", "CALICO_IPV4POOL_CIDR", "${cluster.podSubnet}")]);

    private static readonly ClusterDefaults SpecDefaults = new(IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.96.0.0/12"), "cluster.local");

    /// <summary>A bundle as `build --k8s VERSION --os el9 --runtime containerd` lays it out, with the real upstream Calico manifest.</summary>
    internal static BundleContents Bundle(string version, string pause, string os = "el9")
    {
        var name = $"offlinekit-k8s-{version}-{os}-amd64";
        var upstream = Encoding.UTF8.GetString(Fixtures.Bytes(Fixtures.Calico3252));
        var calico = AddonManifests.Prepare(Calico, SpecDefaults, new FetchedManifest(Calico.Url, Calico.Url, Fixtures.Bytes(Fixtures.Calico3252), Fixtures.Sha256(Fixtures.Calico3252)), null);
        var calicoText = Encoding.UTF8.GetString(calico.Content.Span);
        var recipes = AddonRecipes.ToYaml([Calico]);
        string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        string[] scripts = ["apply-manifests.sh", "configure-runtime.sh", "configure-time.sh", "import-images.sh", "init-control-plane.sh", "install-packages.sh", "join-node.sh", "preflight.sh", "prepare-host.sh"];
        return new BundleContents(
            name,
            [
                new("images/common.images", 120, new string('2', 64)),
                new("images/common.tar", 150L << 20, new string('3', 64)),
                new("images/control-plane.images", 300, new string('4', 64)),
                new("images/control-plane.tar", 600L << 20, new string('5', 64)),
                new("manifests/calico.yaml", calicoText.Length, Sha(calicoText)),
                new(AddonRecipes.File, recipes.Length, Sha(recipes)),
                new(AddonRecipes.UpstreamPath("calico"), upstream.Length, Sha(upstream)),
                .. scripts.Select(s => new BundleFileEntry("scripts/" + s, 3000, new string('c', 64))),
            ])
        {
            KubernetesVersion = version,
            Os = os,
            Arch = "amd64",
            Runtime = "containerd",
            KubeadmConfigApi = KubernetesVersion.Parse(version) >= KubeadmConfig.FirstV1Beta4 ? KubeadmConfig.V1Beta4 : KubeadmConfig.V1Beta3,
            Artifacts =
            [
                Artifact(ArtifactKind.Image, $"{Repo}/kube-apiserver:v{version}", "images/control-plane.tar"),
                Artifact(ArtifactKind.Image, $"{Repo}/{pause}", "images/common.tar"),
                Artifact(ArtifactKind.Image, "docker.io/calico/node:v3.25.2", "images/common.tar"),
                Artifact(ArtifactKind.Manifest, "calico", "manifests/calico.yaml"),
            ],
            ManifestTexts = new Dictionary<string, string>
            {
                ["manifests/calico.yaml"] = calicoText,
                [AddonRecipes.File] = recipes,
                [AddonRecipes.UpstreamPath("calico")] = upstream,
            },
        };
    }

    private static Artifact Artifact(ArtifactKind kind, string name, string path) =>
        new() { Kind = kind, Name = name, Digest = "sha256:" + new string('0', 64), Size = 1, Path = path };

    internal static Inventory Site(string podSubnet) => InventoryLoader.Parse(
        $$"""
        apiVersion: offlinekit/v1
        kind: Inventory
        defaults:
          user: root
          auth:
            passwordEnv: P
        hosts:
          - {name: k8s-master, address: 192.168.10.101, roles: [control-plane]}
          - {name: k8s-node01, address: 192.168.10.102, roles: [worker]}
        cluster:
          podSubnet: {{podSubnet}}
          registries:
            - host: docker.io
              mirrors: [https://docker.m.daocloud.io]
        """,
        "inventory.yaml",
        "/");

    [Fact]
    public void A_1_31_el9_containerd_bundle_plans_v1beta4_the_containerd_socket_the_pause_sandbox_hosts_toml_and_calico_with_the_sites_pod_subnet()
    {
        var text = InstallPlanner.Plan(Site("172.20.0.0/16"), Bundle("1.31.2", "pause:3.10"), Token).Describe();

        Assert.Contains("  | apiVersion: kubeadm.k8s.io/v1beta4", text);
        Assert.Contains("  |   criSocket: unix:///run/containerd/containerd.sock", text);
        Assert.Contains($"sandbox = \"{Repo}/pause:3.10\"", text);
        Assert.Contains($"must be {Repo}/pause:3.10", text);
        Assert.Contains("certs.d/docker.io/hosts.toml (containerd's hosts.toml for docker.io, from cluster.registries):", text);
        Assert.Contains("  | [host.\"https://docker.m.daocloud.io\"]", text);
        Assert.Contains("kind: JoinConfiguration", text);
        Assert.Contains("kubeadm join --config", text);
        Assert.Contains("env CALICO_IPV4POOL_CIDR = '172.20.0.0/16'", text);
        Assert.Contains("differs from the bundle's (other site values)", text);
        Assert.Contains("--manifest /var/lib/offlinekit/offlinekit-k8s-1.31.2-el9-amd64.site/manifests/calico.yaml --pod-subnet 172.20.0.0/16", text);
        Assert.DoesNotContain(Token, text);
    }

    [Fact]
    public void The_network_step_carries_for_the_journal_the_site_values_calico_was_rendered_with()
    {
        var steps = InstallPlanner.Plan(Site("172.20.0.0/16"), Bundle("1.31.2", "pause:3.10"), Token).For("k8s-master").Steps;
        var network = steps.Single(s => s.Id == InstallPlanner.NetworkStep);
        var written = network.Actions.OfType<WriteFile>().Single(w => w.RemotePath.EndsWith("/manifests/calico.yaml", StringComparison.Ordinal));

        var calico = Assert.Single(network.Site);
        Assert.Equal("calico", calico.Name);
        Assert.Equal(new Dictionary<string, string> { ["cluster.podSubnet"] = "172.20.0.0/16" }, calico.Values);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(written.Content))), calico.Sha256);
        Assert.All(steps.Where(s => s.Id is not (InstallPlanner.NetworkStep or InstallPlanner.AddonsStep)), s => Assert.Empty(s.Site));
    }

    [Fact]
    public void A_1_30_bundle_renders_v1beta3()
    {
        var init = InstallPlanner.Plan(Site("10.244.0.0/16"), Bundle("1.30.14", "pause:3.9"), Token).For("k8s-master").Steps.Single(s => s.Id == InstallPlanner.InitStep);
        var config = init.Actions.OfType<WriteFile>().Single();

        Assert.StartsWith("apiVersion: kubeadm.k8s.io/v1beta3\n", config.Content);
        Assert.Contains("criSocket: unix:///run/containerd/containerd.sock", config.Content);
    }

    [Fact]
    public void The_guides_pod_subnet_gets_exactly_the_bundles_calico_and_another_gets_its_own()
    {
        var bundle = Bundle("1.31.2", "pause:3.10");

        var guide = Assert.Single(SiteManifests.Render(bundle, Site("10.244.0.0/16").Cluster));
        Assert.Equal(bundle.ManifestTexts["manifests/calico.yaml"], guide.Rendered);

        var other = Assert.Single(SiteManifests.Render(bundle, Site("172.20.0.0/16").Cluster));
        Assert.Equal(guide.Rendered!.Replace("10.244.0.0/16", "172.20.0.0/16", StringComparison.Ordinal), other.Rendered);
    }

    [Fact]
    public void The_offline_guarantee_lists_kubeadms_images_for_the_version_and_the_sites_calico_images()
    {
        var plan = InstallPlanner.Plan(Site("172.20.0.0/16"), Bundle("1.31.2", "pause:3.10"), Token);
        var master = Assert.IsType<ProveImagesPresent>(plan.For("k8s-master").Steps.Single(s => s.Id == InstallPlanner.InitStep).Actions[0]);
        var worker = Assert.IsType<ProveImagesPresent>(plan.For("k8s-node01").Steps.Single(s => s.Id == InstallPlanner.JoinStep).Actions[0]);

        Assert.Contains($"{Repo}/kube-apiserver:v1.31.2", master.Images);
        Assert.Contains($"{Repo}/etcd:3.5.15-0", master.Images);
        Assert.Contains("docker.io/calico/node:v3.25.2", master.Images);
        Assert.DoesNotContain($"{Repo}/kube-apiserver:v1.31.2", worker.Images);
        Assert.Contains($"{Repo}/kube-proxy:v1.31.2", worker.Images);
        Assert.Equal($"{Repo}/pause:3.10", worker.SandboxImage);
        Assert.NotNull(worker.ShowRuntimeConfig);
    }

    [Fact]
    public void On_el8_with_1_32_only_a_4_18_kernel_gets_system_verification_ignored()
    {
        var init = InstallPlanner.Plan(Site("10.244.0.0/16"), Bundle("1.32.3", "pause:3.10", os: "el8"), Token).For("k8s-master").Steps.Single(s => s.Id == InstallPlanner.InitStep);
        var config = init.Actions.OfType<WriteFile>().Single();

        Assert.DoesNotContain("ignorePreflightErrors", config.Content);
        Assert.Equal("4.18.", config.OnKernel!.Release);
        Assert.Contains("ignorePreflightErrors:\n  - SystemVerification", config.OnKernel.Content);
    }
}
