using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;
using OfflineKit.Spec;

namespace OfflineKit.Install;

/// <summary>
/// The recipe of a highly available control plane: the load-balancer step every control plane gets
/// before kubeadm runs on it, kube-vip's switch to admin.conf after init, and the join of each control
/// plane after the first (kind <see cref="HostKind.JoiningControlPlane"/>), one at a time. The planner
/// asks it; nothing of HA lives in the planner beyond the calls.
/// </summary>
public static class LoadBalancerRecipe
{
    public const string LoadBalancerStep = "loadbalancer";

    /// <summary>The first control plane's step right after kubeadm init (1.29+, kube-vip): kube-vip from super-admin.conf to admin.conf.</summary>
    public const string KubeVipAdminStep = "kube-vip-admin";

    /// <summary>How long the external load balancer has to accept a connection.</summary>
    public const int ExternalTimeoutSeconds = 5;

    /// <summary>
    /// What preflight checks on a control plane behind keepalived-haproxy or kube-vip: its address on the VIP's subnet, haproxy's
    /// port free (keepalived-haproxy), and on the first control plane (before anything holds the VIP) nothing answering on the VIP.
    /// </summary>
    public static IEnumerable<string> PreflightArguments(Inventory inventory, InventoryHost host, HostTopology topology)
    {
        if (inventory.Cluster.LoadBalancer is not { Kind: LoadBalancerKind.KeepalivedHaproxy or LoadBalancerKind.KubeVip } lb || !host.IsControlPlane)
        {
            return [];
        }

        return
        [
            "--address", host.Address, "--vip", Vip(lb),
            .. lb.Kind == LoadBalancerKind.KeepalivedHaproxy ? new[] { "--lb-port", lb.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [],
            .. topology.KindOf(host) == HostKind.FirstControlPlane ? new[] { "--vip-unused" } : [],
        ];
    }

    /// <summary>
    /// What refuses a control plane's preflight before anything on it changes: a kube-vip inventory and a bundle without kube-vip's
    /// image (`build --with kube-vip` adds it); null when nothing does.
    /// </summary>
    public static HostAction? PreflightRefusal(Inventory inventory, BundleContents bundle, InventoryHost host) =>
        inventory.Cluster.LoadBalancer is { Kind: LoadBalancerKind.KubeVip } && host.IsControlPlane && KubeVipImage(bundle) is null
            ? new MissingFromBundle($"kube-vip image ({ExpectedKubeVipImage(bundle)}) that cluster.loadBalancer: kube-vip runs on every control plane: build the bundle with `offlinekit build --with kube-vip`")
            : null;

    /// <summary>kube-vip's image as the bundle records it (ghcr.io/kube-vip/kube-vip:vX.Y.Z), or null when it carries none.</summary>
    public static string? KubeVipImage(BundleContents bundle) =>
        bundle.Artifacts
            .Where(a => a.Kind == ArtifactKind.Image && ImageReference.TryParse(a.Name, out var r) && $"{r.Registry}/{r.Repository}" == Catalog.ReleaseCatalog.Embedded.KubeVip.Image)
            .Select(a => a.Name)
            .FirstOrDefault();

    private static string ExpectedKubeVipImage(BundleContents bundle) =>
        KubernetesVersion.TryParse(bundle.KubernetesVersion, out var version) && Catalog.ReleaseCatalog.Embedded.MinorOf(version) is { } minor
            ? Catalog.ReleaseCatalog.Embedded.KubeVip.ImageFor(minor)
            : Catalog.ReleaseCatalog.Embedded.KubeVip.Image;

    /// <summary>
    /// What `offlinekit status` asks a control plane behind keepalived-haproxy or kube-vip once its load-balancer step is done:
    /// whether it holds the VIP, its API server answers, and haproxy listens or kube-vip's manifest is in place (one line); null for any other host.
    /// </summary>
    public static RemoteCommand? StatusCommand(Inventory inventory, InventoryHost host, string bundleDirectory) =>
        inventory.Cluster.LoadBalancer is { Kind: LoadBalancerKind.KeepalivedHaproxy or LoadBalancerKind.KubeVip } lb && host.IsControlPlane
            ? new RemoteCommand(
                $"bash {Shell.Quote($"{bundleDirectory}/{BundleLayout.ConfigureLoadBalancerScript}")} --status --vip {Shell.Quote(Vip(lb))} "
                + (lb.Kind == LoadBalancerKind.KubeVip ? "--kube-vip" : $"--lb-port {lb.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"),
                AsRoot: true)
            : null;

    /// <summary>What `offlinekit status` asks the first control plane of a cluster with several: etcdctl member list, one line a member.</summary>
    public static RemoteCommand? EtcdMembersCommand(Inventory inventory, InventoryHost host, string bundleDirectory) =>
        inventory.ControlPlanes.Count > 1 && host.Name == inventory.ControlPlane.Name
            ? new RemoteCommand($"bash {Shell.Quote($"{bundleDirectory}/{BundleLayout.ApplyManifestsScript}")} --show-etcd-members {Shell.Quote(host.Name)}", AsRoot: true)
            : null;

    private static string Vip(LoadBalancer lb) => $"{lb.Host}/{lb.VipSubnet!.Value.PrefixLength}";

    /// <summary>
    /// The load-balancer step of <paramref name="host"/>, or none. keepalived-haproxy: every control plane gets
    /// haproxy.cfg, keepalived.conf and keepalived's check, which the bundle's script validates with the real
    /// tools, installs and starts. external: the first control plane checks that the endpoint accepts connections.
    /// </summary>
    public static IEnumerable<HostStep> Steps(Inventory inventory, BundleContents bundle, InventoryHost host, HostTopology topology, string directory)
    {
        if (inventory.Cluster.LoadBalancer is not { } lb || !host.IsControlPlane)
        {
            yield break;
        }

        switch (lb.Kind)
        {
            case LoadBalancerKind.KeepalivedHaproxy:
                var site = InstallPlanner.SiteDirectory(host, bundle);
                var controlPlanes = topology.ControlPlanes;
                var haproxy = lb.HaproxyConfig(controlPlanes);
                var keepalived = lb.KeepalivedConfig(host, controlPlanes);
                var check = lb.CheckScript();
                // The configs come first even when the bundle lacks the script, so --dry-run shows them either way.
                var run = InstallPlanner.Script(
                    bundle,
                    directory,
                    LoadBalancerStep,
                    $"haproxy on :{lb.Port} balancing {string.Join(", ", controlPlanes.Select(c => $"{c.Name}:{LoadBalancer.ApiServerPort}"))}; keepalived moving the VIP {lb.Host} (priority {LoadBalancer.FirstPriority - controlPlanes.ToList().FindIndex(c => c.Name == host.Name)}); configs checked by haproxy -c and keepalived --config-test",
                    BundleLayout.ConfigureLoadBalancerScript,
                    [
                        "--haproxy-config", $"{site}/haproxy.cfg",
                        "--keepalived-config", $"{site}/keepalived.conf",
                        "--check-script", $"{site}/check-apiserver.sh",
                        "--address", host.Address,
                        "--vip", Vip(lb),
                    ]);
                yield return run with
                {
                    Actions =
                    [
                        new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(site)}")),
                        new WriteFile($"{site}/haproxy.cfg", haproxy, $"haproxy.cfg for {LoadBalancer.HaproxyConfigPath}") { Preview = haproxy },
                        new WriteFile($"{site}/keepalived.conf", keepalived, $"keepalived.conf for {LoadBalancer.KeepalivedConfigPath}") { Preview = keepalived },
                        new WriteFile($"{site}/check-apiserver.sh", check, $"keepalived's check for {LoadBalancer.CheckScriptPath}") { Preview = check },
                        .. run.Actions,
                    ],

                    // keepalived starts on the first control plane first, after its preflight found the VIP unused.
                    Needs = topology.KindOf(host) == HostKind.FirstControlPlane ? [] : [new StepRef(topology.FirstControlPlane.Name, LoadBalancerStep)],
                };
                break;
            case LoadBalancerKind.KubeVip:
                yield return KubeVipStep(lb, bundle, host, topology, directory);
                break;
            case LoadBalancerKind.External when topology.KindOf(host) == HostKind.FirstControlPlane:
                var probe = $"exec 3<>/dev/tcp/{lb.Host}/{lb.Port}";
                yield return new HostStep(
                    LoadBalancerStep,
                    $"the site's load balancer at {lb.Endpoint} accepts connections (cluster.loadBalancer: external; its backends are the control planes' :{LoadBalancer.ApiServerPort})",
                    [new RunCommand(new RemoteCommand($"timeout {ExternalTimeoutSeconds} bash -c {Shell.Quote(probe)}"))],
                    []);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// kube-vip's static pod into /etc/kubernetes/manifests before kubeadm init (the first control plane) or join (the others): the
    /// kubelet kubeadm starts runs it, and its leader holds the VIP kubeadm reaches the cluster at. Its image must be in the runtime
    /// already (the images step loaded it; the hosts are offline).
    /// </summary>
    private static HostStep KubeVipStep(LoadBalancer lb, BundleContents bundle, InventoryHost host, HostTopology topology, string directory)
    {
        var kind = topology.KindOf(host);
        var image = KubeVipImage(bundle) ?? ExpectedKubeVipImage(bundle);
        var kubeconfig = KubernetesVersion.TryParse(bundle.KubernetesVersion, out var version) ? LoadBalancer.KubeVipKubeconfig(version, kind) : LoadBalancer.AdminConf;
        var manifest = lb.KubeVipManifest(image, kubeconfig);
        var site = InstallPlanner.SiteDirectory(host, bundle);
        var runtime = RuntimeProfile.For(bundle);
        var title = $"kube-vip's static pod ({image}) in {LoadBalancer.KubeVipManifestPath} before kubeadm {(kind == HostKind.FirstControlPlane ? "init" : "join")}: "
            + $"ARP for the VIP {lb.Host}, leader election among the control planes; kubeconfig {kubeconfig}"
            + (kubeconfig == LoadBalancer.SuperAdminConf ? $" during init ({LoadBalancer.SuperAdminFrom.Major}.{LoadBalancer.SuperAdminFrom.Minor}+: admin.conf has no rights until init is over, kube-vip#684)" : string.Empty);
        var run = InstallPlanner.Script(
            bundle,
            directory,
            LoadBalancerStep,
            title,
            BundleLayout.ConfigureLoadBalancerScript,
            ["--kube-vip-manifest", $"{site}/kube-vip.yaml", "--address", host.Address, "--vip", Vip(lb)]);
        var check = new RemoteCommand($"bash {Shell.Quote($"{directory}/{BundleLayout.ImportImagesScript}")} {Shell.Join([.. runtime.ImportArguments, "--check", image])}", AsRoot: true);
        return run with
        {
            Actions =
            [
                new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(site)}")),
                new WriteFile($"{site}/kube-vip.yaml", manifest, $"kube-vip's static pod for {LoadBalancer.KubeVipManifestPath}") { Preview = manifest },
                .. bundle.Has(BundleLayout.ImportImagesScript) ? new HostAction[] { new RunCommand(check) } : [],
                .. run.Actions,
            ],
        };
    }

    /// <summary>
    /// What the first control plane does right after kubeadm init: from 1.29, kube-vip's kubeconfig from super-admin.conf to admin.conf,
    /// which has its rights now (kube-vip#684: super-admin.conf is system:masters, kept for break-glass use only). Nothing otherwise.
    /// </summary>
    public static IEnumerable<HostStep> AfterInit(Inventory inventory, BundleContents bundle, InventoryHost host, HostTopology topology, string directory)
    {
        if (inventory.Cluster.LoadBalancer is not { Kind: LoadBalancerKind.KubeVip } || topology.KindOf(host) != HostKind.FirstControlPlane
            || !KubernetesVersion.TryParse(bundle.KubernetesVersion, out var version) || LoadBalancer.KubeVipKubeconfig(version, HostKind.FirstControlPlane) != LoadBalancer.SuperAdminConf)
        {
            yield break;
        }

        yield return InstallPlanner.Script(
            bundle,
            directory,
            KubeVipAdminStep,
            $"kube-vip: {LoadBalancer.SuperAdminConf} → {LoadBalancer.AdminConf} now that kubeadm init has given admin.conf its rights (kube-vip#684); the kubelet restarts it",
            BundleLayout.ConfigureLoadBalancerScript,
            ["--kube-vip-kubeconfig", LoadBalancer.AdminConf]);
    }

    /// <summary>
    /// kubeadm join --control-plane for the control planes after the first: a JoinConfiguration with a fresh token
    /// and the certificate key the first control plane uploads its certificates with (both secrets, written 0600,
    /// never logged). Each waits for the one before it: every join adds an etcd member, and a member half-added
    /// while another joins could cost the quorum. One that fails blocks the later ones.
    /// </summary>
    public static HostStep Join(BundleContents bundle, InventoryHost host, string directory, HostTopology topology, InstallPlanner.KubeadmPlan? kubeadm, HostAction? guarantee)
    {
        var first = topology.FirstControlPlane;
        var index = topology.OtherControlPlanes.ToList().FindIndex(c => c.Name == host.Name);
        var after = index == 0 ? first : topology.OtherControlPlanes[index - 1];
        StepRef[] needs = index == 0
            ? [new StepRef(first.Name, InstallPlanner.InitStep)]
            : [new StepRef(first.Name, InstallPlanner.InitStep), new StepRef(after.Name, InstallPlanner.JoinStep)];
        var title = $"kubeadm join --config --control-plane (a token and certificate key fresh from {first.Name}), after {after.Name}: a new etcd member";
        if (kubeadm is null)
        {
            return new HostStep(InstallPlanner.JoinStep, title, [new MissingFromBundle("kube-apiserver image (the control-plane images)")], needs);
        }

        var configFile = $"{host.StateDirectory}/{bundle.Name}.kubeadm-join.yaml";
        var fetch = new FetchJoinCommand(first.Name, configFile)
        {
            JoinConfiguration = KubeadmConfig.RenderJoin(kubeadm.Options, host.Name, host.Address),
            OnKernel = kubeadm.OnKernel418 is { } waiver ? new KernelVariant(InstallPlanner.KubeadmPlan.Kernel418, KubeadmConfig.RenderJoin(waiver, host.Name, host.Address), InstallPlanner.KubeadmPlan.Why) : null,
            CertificateKey = true,
        };
        HostAction[] before = guarantee is null ? [fetch] : [guarantee, fetch];
        return InstallPlanner.Script(bundle, directory, InstallPlanner.JoinStep, title, BundleLayout.JoinNodeScript, ["--config", configFile, "--node-name", host.Name], before) with
        {
            Needs = needs,
        };
    }
}
