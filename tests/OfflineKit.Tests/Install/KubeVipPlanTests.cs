using OfflineKit.Bundle;
using OfflineKit.Catalog;
using OfflineKit.Images;
using OfflineKit.Install;
using OfflineKit.Spec;

namespace OfflineKit.Tests.Install;

/// <summary>cluster.loadBalancer: kube-vip: three control planes with kube-vip's static pod, two workers (the `inventory init --ha` hosts).</summary>
public class KubeVipPlanTests
{
    private static readonly string[] ControlPlanes = ["k8s-master01", "k8s-master02", "k8s-master03"];

    private static Inventory KubeVip(string endpoint = "192.168.10.100:6443") => InventoryLoader.Parse(
        InventoryLoader.ExampleText(ha: true)
            .Replace("  controlPlaneEndpoint: 192.168.10.100:8443\n", $"  controlPlaneEndpoint: {endpoint}\n", StringComparison.Ordinal)
            .Replace("  loadBalancer: keepalived-haproxy\n", "  loadBalancer: kube-vip\n", StringComparison.Ordinal),
        "inventory.yaml",
        "/");

    /// <summary>A containerd bundle of <paramref name="version"/> that carries the load-balancer script and, unless told not to, kube-vip's image.</summary>
    private static BundleContents Bundle(string version, bool withKubeVip = true)
    {
        var guide = HighAvailabilityPlanTests.Bundle();
        var image = ReleaseCatalog.Embedded.KubeVip.ImageFor(ReleaseCatalog.Embedded.MinorOf(KubernetesVersion.Parse(version))!);
        return guide with
        {
            Name = $"offlinekit-k8s-{version}-el8-amd64",
            KubernetesVersion = version,
            Runtime = "containerd",
            Artifacts =
            [
                .. guide.Artifacts.Select(a => a.Name.Contains("kube-apiserver", StringComparison.Ordinal) ? a with { Name = $"registry.aliyuncs.com/google_containers/kube-apiserver:v{version}" } : a),
                .. withKubeVip ? [new Artifact { Kind = ArtifactKind.Image, Name = image, Digest = "sha256:" + new string('0', 64), Size = 1, Path = "images/control-plane.tar" }] : Array.Empty<Artifact>(),
            ],
        };
    }

    private static InstallPlan Plan(string version, bool withKubeVip = true) => InstallPlanner.Plan(KubeVip(), Bundle(version, withKubeVip), InstallPlannerTests.Token);

    private static HostStep Step(InstallPlan plan, string host, string id) => plan.For(host).Steps.Single(s => s.Id == id);

    private static string Manifest(InstallPlan plan, string host) =>
        Step(plan, host, LoadBalancerRecipe.LoadBalancerStep).Actions.OfType<WriteFile>().Single(f => f.RemotePath.EndsWith("/kube-vip.yaml", StringComparison.Ordinal)).Content;

    [Theory]
    [InlineData("192.168.10.100:6443")]
    [InlineData("192.168.10.100")]
    public void A_kube_vip_inventory_has_the_vip_on_the_api_servers_own_port(string endpoint)
    {
        var lb = KubeVip(endpoint).Cluster.LoadBalancer!;

        Assert.Equal((LoadBalancerKind.KubeVip, "192.168.10.100", 6443, "192.168.10.100:6443"), (lb.Kind, lb.Host, lb.Port, lb.Endpoint));
        Assert.Equal("192.168.10.0/24", lb.VipSubnet.ToString());
    }

    [Fact]
    public void With_kube_vip_a_build_carries_the_image_the_catalog_names_for_the_minor()
    {
        string[] Images(string version, params string[] parts) => [.. SpecDerivation.With(SpecDerivation.Derive(KubernetesVersion.Parse(version)), parts).Spec.Images.Select(i => i.ToString())];

        Assert.Equal(["ghcr.io/kube-vip/kube-vip:v0.7.2"], Images("1.23.0", "kube-vip"));
        Assert.Equal(["ghcr.io/kube-vip/kube-vip:v0.8.9"], Images("1.31.2", "kube-vip"));
        Assert.Equal(["ghcr.io/kube-vip/kube-vip:v1.0.0"], Images("1.34.0", "kube-vip", "kube-vip"));
        Assert.Empty(SpecDerivation.Derive(KubernetesVersion.Parse("1.31.2")).Spec.Images);

        // A static pod of the control planes alone: in their archive, not in the one every node loads.
        var plan = OfflineKit.Build.ImagePlan.For(SpecDerivation.With(SpecDerivation.Derive(KubernetesVersion.Parse("1.31.2")), ["kube-vip"]).Spec, []);
        Assert.Contains(ImageReference.Parse("ghcr.io/kube-vip/kube-vip:v0.8.9"), plan.ControlPlane);
        Assert.DoesNotContain(ImageReference.Parse("ghcr.io/kube-vip/kube-vip:v0.8.9"), plan.Common);
    }

    [Fact]
    public void Before_1_29_every_control_planes_kube_vip_runs_with_admin_conf_and_nothing_switches_it()
    {
        var plan = Plan("1.28.2");

        foreach (var cp in ControlPlanes)
        {
            var manifest = Manifest(plan, cp);
            Assert.Contains("      path: /etc/kubernetes/admin.conf\n      type: File\n", manifest, StringComparison.Ordinal);
            Assert.DoesNotContain("super-admin", manifest, StringComparison.Ordinal);
            Assert.Contains("    image: ghcr.io/kube-vip/kube-vip:v0.7.2\n", manifest, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(plan.Hosts.SelectMany(h => h.Steps), s => s.Id == LoadBalancerRecipe.KubeVipAdminStep);
    }

    [Fact]
    public void From_1_29_the_first_control_planes_kube_vip_runs_with_super_admin_conf_during_init_and_is_switched_to_admin_conf_right_after()
    {
        var plan = Plan("1.31.2");

        var first = Manifest(plan, "k8s-master01");
        Assert.Contains("      path: /etc/kubernetes/super-admin.conf\n      type: File\n", first, StringComparison.Ordinal);
        Assert.Contains("    - name: kubeconfig\n      mountPath: /etc/kubernetes/admin.conf\n", first, StringComparison.Ordinal);
        Assert.All(ControlPlanes.Skip(1), cp => Assert.Contains("      path: /etc/kubernetes/admin.conf\n", Manifest(plan, cp), StringComparison.Ordinal));
        Assert.All(ControlPlanes.Skip(1), cp => Assert.DoesNotContain("super-admin.conf", Manifest(plan, cp), StringComparison.Ordinal));

        var ids = plan.For("k8s-master01").Steps.Select(s => s.Id).ToList();
        Assert.Equal(ids.IndexOf(InstallPlanner.InitStep) + 1, ids.IndexOf(LoadBalancerRecipe.KubeVipAdminStep));
        Assert.True(ids.IndexOf(LoadBalancerRecipe.KubeVipAdminStep) < ids.IndexOf(InstallPlanner.NetworkStep));
        var command = Step(plan, "k8s-master01", LoadBalancerRecipe.KubeVipAdminStep).Actions.OfType<RunCommand>().Single().Command;
        Assert.True(command.AsRoot);
        Assert.EndsWith("scripts/configure-load-balancer.sh --kube-vip-kubeconfig /etc/kubernetes/admin.conf", command.Script, StringComparison.Ordinal);
        Assert.All(ControlPlanes.Skip(1).Concat(["k8s-node01"]), h => Assert.DoesNotContain(plan.For(h).Steps, s => s.Id == LoadBalancerRecipe.KubeVipAdminStep));
    }

    [Fact]
    public void Every_control_plane_gets_kube_vips_static_pod_before_kubeadm_and_no_haproxy_or_keepalived()
    {
        var plan = Plan("1.31.2");

        for (var i = 0; i < ControlPlanes.Length; i++)
        {
            var ids = plan.For(ControlPlanes[i]).Steps.Select(s => s.Id).ToList();
            Assert.Equal(ids.IndexOf(InstallPlanner.ImagesStep) + 1, ids.IndexOf(LoadBalancerRecipe.LoadBalancerStep));
            Assert.True(ids.IndexOf(LoadBalancerRecipe.LoadBalancerStep) < ids.IndexOf(i == 0 ? InstallPlanner.InitStep : InstallPlanner.JoinStep));

            var step = Step(plan, ControlPlanes[i], LoadBalancerRecipe.LoadBalancerStep);
            Assert.Equal(["kube-vip.yaml"], step.Actions.OfType<WriteFile>().Select(f => Path.GetFileName(f.RemotePath)));
            var manifest = Manifest(plan, ControlPlanes[i]);
            Assert.Contains("    - name: address\n      value: \"192.168.10.100\"\n", manifest, StringComparison.Ordinal);
            Assert.Contains("    - name: port\n      value: \"6443\"\n", manifest, StringComparison.Ordinal);
            Assert.Contains("    - name: vip_interface\n      value: \"<interface>\"\n", manifest, StringComparison.Ordinal);
            Assert.Contains("    - name: vip_arp\n      value: \"true\"\n", manifest, StringComparison.Ordinal);
            Assert.Contains("    - name: vip_leaderelection\n      value: \"true\"\n", manifest, StringComparison.Ordinal);
            Assert.Contains("  hostNetwork: true\n", manifest, StringComparison.Ordinal);

            var commands = step.Actions.OfType<RunCommand>().Select(r => r.Command.Script).ToList();
            Assert.Contains(commands, c => c.EndsWith("scripts/import-images.sh --runtime containerd --check ghcr.io/kube-vip/kube-vip:v0.8.9", StringComparison.Ordinal));
            Assert.EndsWith($"scripts/configure-load-balancer.sh --kube-vip-manifest /var/lib/offlinekit/offlinekit-k8s-1.31.2-el8-amd64.site/kube-vip.yaml --address 192.168.10.10{i + 1} --vip 192.168.10.100/24", commands[^1], StringComparison.Ordinal);
            Assert.Empty(step.Needs);

            var init = i == 0 ? Step(plan, ControlPlanes[i], InstallPlanner.InitStep).Actions.OfType<WriteFile>().Single().Content : null;
            Assert.True(init is null || init.Contains("controlPlaneEndpoint: 192.168.10.100:6443", StringComparison.Ordinal), init);
        }

        string Packages(string host) => Step(plan, host, InstallPlanner.PackagesStep).Actions.OfType<RunCommand>().Single().Command.Script;
        Assert.DoesNotContain(plan.For("k8s-node01").Steps, s => s.Id == LoadBalancerRecipe.LoadBalancerStep);
        Assert.Equal(
            "bash /d/scripts/configure-load-balancer.sh --status --vip 192.168.10.100/24 --kube-vip",
            LoadBalancerRecipe.StatusCommand(KubeVip(), KubeVip().ControlPlane, "/d")!.Script);
        Assert.DoesNotContain("keepalived", string.Join('\n', ControlPlanes.Select(Packages)), StringComparison.Ordinal);
    }

    [Fact]
    public void Preflight_checks_the_vip_subnet_and_that_the_vip_is_unused_without_a_haproxy_port()
    {
        var plan = Plan("1.31.2");
        string Preflight(string host) => Step(plan, host, InstallPlanner.PreflightStep).Actions.OfType<RunCommand>().Single().Command.Script;

        Assert.EndsWith("--address 192.168.10.101 --vip 192.168.10.100/24 --vip-unused", Preflight("k8s-master01"), StringComparison.Ordinal);
        Assert.EndsWith("--address 192.168.10.102 --vip 192.168.10.100/24", Preflight("k8s-master02"), StringComparison.Ordinal);
        Assert.DoesNotContain("--vip", Preflight("k8s-node01"), StringComparison.Ordinal);
        Assert.All(ControlPlanes, cp => Assert.DoesNotContain(Step(plan, cp, InstallPlanner.PreflightStep).Actions, a => a is MissingFromBundle));
    }

    [Fact]
    public void A_bundle_without_kube_vips_image_is_refused_in_every_control_planes_preflight_naming_build_with_kube_vip()
    {
        var plan = Plan("1.31.2", withKubeVip: false);

        foreach (var cp in ControlPlanes)
        {
            var refusal = Assert.IsType<MissingFromBundle>(Step(plan, cp, InstallPlanner.PreflightStep).Actions[0]);
            Assert.Contains("kube-vip image (ghcr.io/kube-vip/kube-vip:v0.8.9)", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("`offlinekit build --with kube-vip`", refusal.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Step(plan, "k8s-node01", InstallPlanner.PreflightStep).Actions, a => a is MissingFromBundle);
    }

    [Fact]
    public void The_dry_run_shows_each_manifest_and_the_order_manifest_init_switch_then_the_joins()
    {
        var text = Plan("1.31.2").Describe();

        Assert.Contains("  | kind: Pod", text, StringComparison.Ordinal);
        Assert.Contains("  |       path: /etc/kubernetes/super-admin.conf", text, StringComparison.Ordinal);
        Assert.Contains("  |     image: ghcr.io/kube-vip/kube-vip:v0.8.9", text, StringComparison.Ordinal);
        var master01 = text[text.IndexOf("k8s-master01", StringComparison.Ordinal)..text.IndexOf("k8s-master02", StringComparison.Ordinal)];
        var order = new[] { "loadbalancer: kube-vip's static pod", "init: kubeadm init --config --upload-certs", "kube-vip-admin: kube-vip: /etc/kubernetes/super-admin.conf → /etc/kubernetes/admin.conf" }
            .Select(s => master01.IndexOf(s, StringComparison.Ordinal)).ToList();
        Assert.True(order.All(i => i >= 0) && order.SequenceEqual(order.Order()), string.Join(", ", order) + "\n" + master01);
        Assert.Contains("join: kubeadm join --config --control-plane (a token and certificate key fresh from k8s-master01), after k8s-master02: a new etcd member [waits for k8s-master01/init, k8s-master02/join]", text, StringComparison.Ordinal);
    }
}
