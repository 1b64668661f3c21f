using OfflineKit.Bundle;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// The recipe of a highly available control plane: the load-balancer step every control plane gets
/// before kubeadm runs on it, and the join of each control plane after the first (kind
/// <see cref="HostKind.JoiningControlPlane"/>), one at a time. The planner asks it; nothing of HA lives
/// in the planner beyond the calls.
/// </summary>
public static class LoadBalancerRecipe
{
    public const string LoadBalancerStep = "loadbalancer";

    /// <summary>How long the external load balancer has to accept a connection.</summary>
    public const int ExternalTimeoutSeconds = 5;

    /// <summary>
    /// What preflight checks on a control plane behind keepalived-haproxy: its address on the VIP's subnet, haproxy's port
    /// free, and on the first control plane (before keepalived runs anywhere) nothing answering on the VIP.
    /// </summary>
    public static IEnumerable<string> PreflightArguments(Inventory inventory, InventoryHost host, HostTopology topology)
    {
        if (inventory.Cluster.LoadBalancer is not { Kind: LoadBalancerKind.KeepalivedHaproxy } lb || !host.IsControlPlane)
        {
            return [];
        }

        return
        [
            "--address", host.Address, "--vip", Vip(lb), "--lb-port", lb.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. topology.KindOf(host) == HostKind.FirstControlPlane ? new[] { "--vip-unused" } : [],
        ];
    }

    /// <summary>
    /// What `offlinekit status` asks a control plane behind keepalived-haproxy once its load-balancer step is done: whether
    /// it holds the VIP, its API server answers and haproxy listens (one line); null for any other host.
    /// </summary>
    public static RemoteCommand? StatusCommand(Inventory inventory, InventoryHost host, string bundleDirectory) =>
        inventory.Cluster.LoadBalancer is { Kind: LoadBalancerKind.KeepalivedHaproxy } lb && host.IsControlPlane
            ? new RemoteCommand($"bash {Shell.Quote($"{bundleDirectory}/{BundleLayout.ConfigureLoadBalancerScript}")} --status --vip {Shell.Quote(Vip(lb))} --lb-port {lb.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}", AsRoot: true)
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
