using System.Globalization;
using System.Net;
using System.Text;

namespace OfflineKit.Install;

/// <summary>What gives the API servers of several control planes one address (the inventory's cluster.loadBalancer).</summary>
public enum LoadBalancerKind
{
    /// <summary>One control plane and no load balancer: the endpoint, if any, is the site's own (a DNS name, say).</summary>
    None,

    /// <summary>haproxy on every control plane balancing all API servers, keepalived moving a VIP between them (the guide's Haproxy+Keepalived).</summary>
    KeepalivedHaproxy,

    /// <summary>kube-vip as a static pod on every control plane, holding the VIP by ARP (leader election among them); no haproxy, the endpoint's port is the API server's.</summary>
    KubeVip,

    /// <summary>The site's own load balancer (an F5, say): offlinekit only checks that the endpoint answers.</summary>
    External,
}

/// <summary>
/// The load balancer in front of the control planes: its kind, the endpoint every node reaches the API
/// servers at (cluster.controlPlaneEndpoint) and, for keepalived and kube-vip, the subnet the VIP is on.
/// One concept in one place: the inventory loader checks it, <see cref="LoadBalancerRecipe"/> plans it,
/// and the configs it renders here are what the hosts get and what --dry-run shows.
/// </summary>
public sealed record LoadBalancer(LoadBalancerKind Kind, string Host, int Port, IPNetwork? VipSubnet = null)
{
    public const string KeepalivedHaproxyName = "keepalived-haproxy";
    public const string KubeVipName = "kube-vip";
    public const string ExternalName = "external";

    /// <summary>kube-apiserver's bindPort on every control plane (kubeadm's default, the guide's).</summary>
    public const int ApiServerPort = 6443;

    /// <summary>
    /// Where haproxy listens on every control plane. Not 6443: the API server binds 6443 on every address
    /// of its host, the VIP included when keepalived puts it there, so haproxy on the same host cannot have
    /// it. 8443 is the port kubeadm's own HA notes and kubeasz use for this balancer.
    /// </summary>
    public const int DefaultHaproxyPort = 8443;

    /// <summary>The keepalived check's penalty: any control plane whose API server fails ranks below every one whose API server answers.</summary>
    public const int CheckWeight = -50;

    /// <summary>The first control plane's VRRP priority; each later one is one less, so the VIP starts on the first (kubeadm init needs it there).</summary>
    public const int FirstPriority = 150;

    public const string HaproxyConfigPath = "/etc/haproxy/haproxy.cfg";
    public const string KeepalivedConfigPath = "/etc/keepalived/keepalived.conf";
    public const string CheckScriptPath = "/etc/keepalived/offlinekit-check-apiserver.sh";

    /// <summary>Where kube-vip's static pod goes: the kubelet runs what it finds there, before and after kubeadm.</summary>
    public const string KubeVipManifestPath = "/etc/kubernetes/manifests/kube-vip.yaml";

    /// <summary>The kubeconfig kube-vip runs with once the cluster is up, on every control plane.</summary>
    public const string AdminConf = "/etc/kubernetes/admin.conf";

    /// <summary>
    /// The kubeconfig kube-vip runs with on the first control plane during kubeadm init from 1.29: admin.conf's
    /// user gets its rights (the kubeadm:cluster-admins binding) only at the end of init, so kube-vip with it
    /// cannot take its lease and the VIP kubeadm waits for never comes up (kube-vip issue #684).
    /// </summary>
    public const string SuperAdminConf = "/etc/kubernetes/super-admin.conf";

    /// <summary>The first Kubernetes release whose kubeadm writes super-admin.conf and gives admin.conf its rights only after init.</summary>
    public static readonly Spec.KubernetesVersion SuperAdminFrom = new(1, 29, 0);

    /// <summary>What stands in keepalived.conf (and kube-vip's manifest) for the network interface until the host's script finds the one carrying the host's address.</summary>
    public const string InterfacePlaceholder = "<interface>";

    public static readonly IReadOnlyList<string> Names = [KeepalivedHaproxyName, KubeVipName, ExternalName];

    /// <summary>host:port, [v6]:port, as kubeadm's controlPlaneEndpoint takes it.</summary>
    public string Endpoint => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public string KindName => Kind switch
    {
        LoadBalancerKind.KeepalivedHaproxy => KeepalivedHaproxyName,
        LoadBalancerKind.KubeVip => KubeVipName,
        LoadBalancerKind.External => ExternalName,
        _ => "none",
    };

    public static LoadBalancerKind? Parse(string name) => name switch
    {
        KeepalivedHaproxyName => LoadBalancerKind.KeepalivedHaproxy,
        KubeVipName => LoadBalancerKind.KubeVip,
        ExternalName => LoadBalancerKind.External,
        _ => null,
    };

    /// <summary>keepalived's VRRP router id, the same on every control plane: the VIP's last byte (1–255), so two clusters' VIPs on one segment differ.</summary>
    public int VirtualRouterId => IPAddress.TryParse(Host, out var vip) ? Math.Max(1, (int)vip.GetAddressBytes()[^1]) : 1;

    /// <summary>haproxy.cfg: one frontend on <see cref="Port"/>, one backend naming every control plane's API server, checked over HTTPS.</summary>
    public string HaproxyConfig(IReadOnlyList<InventoryHost> controlPlanes)
    {
        var sb = new StringBuilder();
        sb.Append("# haproxy in front of the Kubernetes API servers, written by offlinekit (cluster.loadBalancer: keepalived-haproxy).\n");
        sb.Append(CultureInfo.InvariantCulture, $"# Every control plane runs it on port {Port}; keepalived puts the VIP {Host} on one of them. The API servers keep {ApiServerPort}.\n");
        sb.Append("global\n    log /dev/log local0\n    maxconn 4000\n    daemon\n\n");

        // Watches stay open for a long time: client and server timeouts long, connect short.
        sb.Append("defaults\n    mode tcp\n    log global\n    option tcplog\n    retries 3\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"frontend kube-apiserver\n    bind *:{Port}\n    default_backend kube-apiserver\n\n");
        sb.Append("backend kube-apiserver\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n    default-server inter 3s fall 3 rise 2\n");
        foreach (var cp in controlPlanes)
        {
            sb.Append(CultureInfo.InvariantCulture, $"    server {cp.Name} {cp.Address}:{ApiServerPort} check check-ssl verify none\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// keepalived.conf for one control plane: a VRRP instance holding the VIP, peers by unicast (no multicast
    /// needed on the segment), its priority lowered by <see cref="CheckWeight"/> while the local API server fails.
    /// </summary>
    public string KeepalivedConfig(InventoryHost host, IReadOnlyList<InventoryHost> controlPlanes)
    {
        var index = controlPlanes.ToList().FindIndex(c => c.Name == host.Name);
        var sb = new StringBuilder();
        sb.Append("# keepalived for the Kubernetes API VIP, written by offlinekit (cluster.loadBalancer: keepalived-haproxy).\n");
        sb.Append(CultureInfo.InvariantCulture, $"# {InterfacePlaceholder} is replaced on the host by the interface that carries {host.Address}.\n");
        sb.Append(CultureInfo.InvariantCulture, $"global_defs {{\n    router_id {host.Name}\n    enable_script_security\n    script_user root\n}}\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"vrrp_script check_apiserver {{\n    script \"{CheckScriptPath}\"\n    interval 3\n    timeout 5\n    fall 3\n    rise 2\n    weight {CheckWeight}\n}}\n\n");
        sb.Append("vrrp_instance kube_apiserver {\n    state BACKUP\n");
        sb.Append(CultureInfo.InvariantCulture, $"    interface {InterfacePlaceholder}\n    virtual_router_id {VirtualRouterId}\n    priority {FirstPriority - index}\n    advert_int 1\n");
        sb.Append(CultureInfo.InvariantCulture, $"    unicast_src_ip {host.Address}\n    unicast_peer {{\n");
        foreach (var peer in controlPlanes.Where(c => c.Name != host.Name))
        {
            sb.Append(CultureInfo.InvariantCulture, $"        {peer.Address}\n");
        }

        sb.Append("    }\n");
        sb.Append(CultureInfo.InvariantCulture, $"    virtual_ipaddress {{\n        {Host}/{VipSubnet?.PrefixLength ?? 32}\n    }}\n");
        sb.Append("    track_script {\n        check_apiserver\n    }\n}\n");
        return sb.ToString();
    }

    /// <summary>
    /// The kubeconfig kube-vip on <paramref name="kind"/> of host runs with while kubeadm brings the host in: super-admin.conf on the
    /// first control plane during init from 1.29 on (offlinekit switches it to admin.conf right after), admin.conf otherwise (a joining
    /// control plane's admin.conf has its rights: the cluster is up).
    /// </summary>
    public static string KubeVipKubeconfig(Spec.KubernetesVersion version, HostKind kind) =>
        kind == HostKind.FirstControlPlane && version >= SuperAdminFrom ? SuperAdminConf : AdminConf;

    /// <summary>
    /// kube-vip's static pod for one control plane: control-plane mode, ARP, leader election among the control planes
    /// (lease plndr-cp-lock in kube-system), the VIP on the interface the host's script fills in, <paramref name="image"/> as
    /// the bundle names it (the runtime has it; nothing is pulled), <paramref name="kubeconfig"/> mounted where kube-vip reads it.
    /// </summary>
    public string KubeVipManifest(string image, string kubeconfig)
    {
        string Env(string name, string value) => $"    - name: {name}\n      value: \"{value}\"\n";
        var sb = new StringBuilder();
        sb.Append("# kube-vip for the Kubernetes API VIP, written by offlinekit (cluster.loadBalancer: kube-vip).\n");
        sb.Append(CultureInfo.InvariantCulture, $"# The control planes elect one leader, which holds {Host} on {InterfacePlaceholder} (replaced on the host by the interface carrying its address)\n");
        sb.Append(CultureInfo.InvariantCulture, $"# and answers ARP for it; the API servers keep {ApiServerPort}. kubeconfig: {kubeconfig}{(kubeconfig == SuperAdminConf ? $" during kubeadm init, then {AdminConf} (kube-vip#684)" : string.Empty)}.\n");
        sb.Append("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-vip\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-vip\n");
        sb.Append(CultureInfo.InvariantCulture, $"    image: {image}\n    imagePullPolicy: IfNotPresent\n    args: [\"manager\"]\n    env:\n");
        sb.Append(Env("address", Host));
        sb.Append(Env("port", Port.ToString(CultureInfo.InvariantCulture)));
        sb.Append(Env("vip_interface", InterfacePlaceholder));
        sb.Append(Env("vip_arp", "true"));
        sb.Append(Env("cp_enable", "true"));
        sb.Append(Env("cp_namespace", "kube-system"));
        sb.Append(Env("vip_leaderelection", "true"));
        sb.Append(Env("vip_leasename", "plndr-cp-lock"));
        sb.Append(Env("vip_leaseduration", "5"));
        sb.Append(Env("vip_renewdeadline", "3"));
        sb.Append(Env("vip_retryperiod", "1"));
        sb.Append("    securityContext:\n      capabilities:\n        add: [\"NET_ADMIN\", \"NET_RAW\"]\n");
        sb.Append(CultureInfo.InvariantCulture, $"    volumeMounts:\n    - name: kubeconfig\n      mountPath: {AdminConf}\n");
        sb.Append("  hostAliases:\n  - hostnames: [\"kubernetes\"]\n    ip: 127.0.0.1\n  hostNetwork: true\n");
        sb.Append(CultureInfo.InvariantCulture, $"  volumes:\n  - name: kubeconfig\n    hostPath:\n      path: {kubeconfig}\n      type: File\n");
        return sb.ToString();
    }

    /// <summary>keepalived's health check: the local API server answers /healthz and haproxy listens.</summary>
    public string CheckScript() =>
        "#!/bin/sh\n"
        + "# keepalived's check (offlinekit): fails while this control plane's API server or haproxy does not answer,\n"
        + "# which lowers this host's VRRP priority so the VIP moves to one that does.\n"
        + $"curl -sfk --max-time 2 https://127.0.0.1:{ApiServerPort}/healthz -o /dev/null || exit 1\n"
        + $"curl -sk --max-time 2 https://127.0.0.1:{Port}/ -o /dev/null || exit 1\n";
}
