using System.Globalization;
using System.Text.Json;
using OfflineKit.Images;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// What the kubeadm, kubectl and chronyd stand-ins share for one test class: a private dockerd holding
/// kubeadm 1.23.0's images (an empty image under each real name, from the product's own list) and tiny
/// kubeadm, kubectl and chrony RPMs that rpm installs into each test host's root.
/// </summary>
public sealed class StandinWorld : IAsyncLifetime, IDisposable
{
    public const string Repo = "registry.aliyuncs.com/google_containers";

    private readonly TempDir _dir = new();

    public LabDaemon Docker { get; private set; } = null!;

    /// <summary>The daemon's cgroup driver (docker info), which the kubelet's must equal.</summary>
    public string CgroupDriver { get; private set; } = string.Empty;

    public string Rpms => _dir["rpms"];

    public async Task InitializeAsync()
    {
        Tools.Require("rpmbuild", "rpm");
        Tools.Require("unshare", "util-linux");
        Tools.Require("openssl", "openssl");
        Tools.Require("python3", "python3 python3-yaml");
        Docker = await LabDaemon.DockerdAsync();
        var empty = _dir.Write("empty/keep", string.Empty);
        var import = await Tools.Bash($"tar -C '{Path.GetDirectoryName(empty)}' -cf - keep | docker -H unix://{Docker.Socket} import - offlinekit-lab/empty:1");
        Assert.True(import.ExitCode == 0, import.Stderr);
        foreach (var name in KubeadmImages.List("1.23.0", Repo))
        {
            Assert.Equal(0, (await Docker.Docker("tag", "offlinekit-lab/empty:1", name)).ExitCode);
        }

        CgroupDriver = (await Docker.Docker("info", "--format", "{{.CgroupDriver}}")).Stdout.Trim();
        Assert.Contains(CgroupDriver, new[] { "systemd", "cgroupfs" });

        var script = "set -euo pipefail\n";
        foreach (var (name, version) in new[] { ("kubeadm", "1.23.0"), ("kubectl", "1.23.0"), ("chrony", "4.1") })
        {
            var spec = _dir.Write($"specs/{name}.spec", $"Name: {name}\nVersion: {version}\nRelease: 0\nSummary: offlinekit lab stand-in of {name}\nLicense: MIT\nBuildArch: noarch\n%description\nx\n%files\n");
            script += $"rpmbuild -bb --quiet --define '_topdir {_dir["top"]}' --define '_rpmdir {Rpms}' --define '_build_name_fmt %%{{NAME}}.rpm' '{spec}'\n";
        }

        var build = await Tools.Bash(script);
        Assert.True(build.ExitCode == 0, build.Stdout + build.Stderr);
    }

    public async Task DisposeAsync()
    {
        if (Docker is not null)
        {
            await Docker.DisposeAsync();
        }

        Dispose();
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The kubeadm, kubectl and chronyd stand-ins (tests/lab/standins) run as the lab's sessions run them,
/// against temp roots rather than the lab hosts: each call in a fresh network namespace of its own
/// (`unshare -n`) with an eth0 at the host's lab address, a route to the lab's /24 and none outside,
/// OFFLINEKIT_ROOT at the host's root, DOCKER_HOST at the class's dockerd and a shared cluster folder.
/// </summary>
public sealed partial class StandinTests(StandinWorld world) : IClassFixture<StandinWorld>, IDisposable
{
    private const string Token = "abcdef.0123456789abcdef";

    private const string Master = "10.231.0.101";

    // As a lab namespace has it: its address with the gateway as peer, the lab's /24 via the gateway, nothing else.
    private const string Namespace = """
        ip link set lo up
        ip link add eth0 type veth peer name eth1
        ip addr add "$0" peer 10.231.0.1 dev eth0
        ip link set eth0 up
        ip link set eth1 up
        ip route add 10.231.0.0/24 via 10.231.0.1 dev eth0
        exec "$@"
        """;

    private readonly TempDir _dir = new();

    private string Cluster => _dir["cluster"];

    private string ClusterJson => Path.Combine(Cluster, "cluster.json");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Init_accepts_a_valid_v1beta3_config_writes_the_control_planes_files_and_the_cluster()
    {
        var master = await HostAsync("k8s-master", Master);
        var config = InitConfig();
        var path = _dir.Write("kubeadm-config.yaml", config);

        var init = await master.Run("kubeadm", "init", "--config", path);

        Assert.True(init.ExitCode == 0, init.Stdout + init.Stderr);
        Assert.Contains("Your Kubernetes control-plane has initialized successfully!", init.Stdout);
        Assert.Contains($"kubeadm join {Master}:6443 --token {Token} \\\n\t--discovery-token-ca-cert-hash sha256:", init.Stdout);
        Assert.Equal(config, master.Read("var/lib/offlinekit-standins/kubeadm/init-config.yaml"));
        foreach (var file in new[] { "admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf", "pki/ca.crt", "pki/ca.key" })
        {
            Assert.True(File.Exists(master.Path($"etc/kubernetes/{file}")), file);
        }

        Assert.Contains($"server: https://{Master}:6443", master.Read("etc/kubernetes/admin.conf"));
        Assert.Contains("name: kubernetes-admin", master.Read("etc/kubernetes/admin.conf"));
        Assert.Contains($"image: {StandinWorld.Repo}/kube-apiserver:v1.23.0", master.Read("etc/kubernetes/manifests/kube-apiserver.yaml"));
        Assert.Contains($"image: {StandinWorld.Repo}/etcd:3.5.1-0", master.Read("etc/kubernetes/manifests/etcd.yaml"));
        Assert.Contains($"cgroupDriver: {world.CgroupDriver}", master.Read("var/lib/kubelet/config.yaml"));
        Assert.True(File.Exists(master.Path("var/lib/offlinekit-standins/systemd/kubelet.active")));

        // The hash as the kubeadm docs compute it, independently of the stand-in.
        var hash = await Tools.Bash($"openssl x509 -in '{master.Path("etc/kubernetes/pki/ca.crt")}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1");
        using var cluster = JsonDocument.Parse(await File.ReadAllTextAsync(ClusterJson));
        var c = cluster.RootElement;
        Assert.Equal($"{Master}:6443", c.GetProperty("endpoint").GetString());
        Assert.Equal("sha256:" + hash.Stdout.Trim(), c.GetProperty("caCertHash").GetString());
        Assert.Contains("sha256:" + hash.Stdout.Trim(), init.Stdout);
        Assert.Equal(Token, c.GetProperty("tokens")[0].GetProperty("token").GetString());
        Assert.Equal(("10.244.0.0/16", "10.96.0.0/12", "cluster.local"), (c.GetProperty("podSubnet").GetString(), c.GetProperty("serviceSubnet").GetString(), c.GetProperty("dnsDomain").GetString()));
        var node = c.GetProperty("nodes").GetProperty("k8s-master");
        Assert.Equal(("control-plane", Master, "v1.23.0"), (node.GetProperty("role").GetString(), node.GetProperty("address").GetString(), node.GetProperty("version").GetString()));

        // Asked, as kubeadm asks, whether docker runs and kubelet is enabled; recorded with the config path.
        Assert.Equal([$"kubeadm init --config {path}", "systemctl is-active --quiet docker", "systemctl is-enabled --quiet kubelet"], master.Log());

        // A second init: the preflight finds the first one's manifests (and the lab cluster is taken).
        var again = await master.Run("kubeadm", "init", "--config", path);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already initialized", again.Stderr);
    }

    public static TheoryData<string, string> InitRefusals => new()
    {
        { "unknown field", "json: unknown field \"podNetworkCidr\"" },
        { "v1beta1", "uses an old API spec: \"kubeadm.k8s.io/v1beta1\"" },
        { "kubernetesVersion", "kubernetesVersion: Invalid value: \"v1.24.0\"" },
        { "advertiseAddress", "localAPIEndpoint.advertiseAddress: Invalid value: \"10.231.0.150\": is not an address of this host" },
        { "overlap", "networking.podSubnet: Invalid value: \"10.96.0.0/16\": overlaps with the serviceSubnet" },
        { "token", "bootstrapTokens[0].token: Invalid value" },
        { "missing image", "[ERROR ImagePull]: failed to pull image k8s.gcr.io/kube-apiserver:v1.23.0" },
        { "swap", "[ERROR Swap]: running with swap on is not supported. Please disable swap" },
        { "ip_forward", "[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1" },
        { "bridge", "[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables does not exist" },
        { "kubelet", "[ERROR Service-Kubelet]: kubelet service is not enabled" },
        { "docker", "[ERROR Service-Docker]: docker service is not active" },
        { "cgroup driver", "the kubelet's cgroupDriver is" },
        { "manifest", "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]" },
    };

    [Theory]
    [MemberData(nameof(InitRefusals))]
    public async Task Init_refuses_what_kubeadm_would_and_leaves_no_cluster(string fault, string message)
    {
        var master = await HostAsync("k8s-master", Master);
        var config = InitConfig();
        switch (fault)
        {
            case "unknown field": config = config.Replace("  podSubnet:", "  podNetworkCidr: 10.244.0.0/16\n  podSubnet:", StringComparison.Ordinal); break;
            case "v1beta1": config = config.Replace("v1beta3", "v1beta1", StringComparison.Ordinal); break;
            case "kubernetesVersion": config = config.Replace("kubernetesVersion: v1.23.0", "kubernetesVersion: v1.24.0", StringComparison.Ordinal); break;
            case "advertiseAddress": config = config.Replace($"advertiseAddress: {Master}", "advertiseAddress: 10.231.0.150", StringComparison.Ordinal); break;
            case "overlap": config = config.Replace("podSubnet: 10.244.0.0/16", "podSubnet: 10.96.0.0/16", StringComparison.Ordinal); break;
            case "token": config = config.Replace(Token, "ABCDEF.0123456789abcdef", StringComparison.Ordinal); break;
            case "missing image": config = config.Replace($"imageRepository: {StandinWorld.Repo}", "imageRepository: k8s.gcr.io", StringComparison.Ordinal); break;
            case "swap": master.Write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n"); break;
            case "ip_forward": master.Write("proc/sys/net/ipv4/ip_forward", "0\n"); break;
            case "bridge": File.Delete(master.Path("proc/sys/net/bridge/bridge-nf-call-iptables")); break;
            case "kubelet": File.Delete(master.Path("var/lib/offlinekit-standins/systemd/kubelet.enabled")); break;
            case "docker": File.Delete(master.Path("run/docker.pid")); break;
            case "cgroup driver": config = config.Replace($"cgroupDriver: {world.CgroupDriver}", $"cgroupDriver: {(world.CgroupDriver == "systemd" ? "cgroupfs" : "systemd")}", StringComparison.Ordinal); break;
            case "manifest": master.Write("etc/kubernetes/manifests/kube-apiserver.yaml", "kind: Pod\n"); break;
            default: throw new ArgumentException(fault);
        }

        var init = await master.Run("kubeadm", "init", "--config", _dir.Write("kubeadm-config.yaml", config));

        Assert.True(init.ExitCode == 1, $"{fault}: exit {init.ExitCode}\n{init.Stdout}{init.Stderr}");
        Assert.Contains(message, init.Stderr);
        Assert.False(File.Exists(ClusterJson));
        Assert.False(File.Exists(master.Path("etc/kubernetes/admin.conf")));
        Assert.False(File.Exists(master.Path("var/lib/offlinekit-standins/systemd/kubelet.active")));
    }

    [Fact]
    public async Task An_ignored_preflight_error_is_a_warning()
    {
        var master = await HostAsync("k8s-master", Master);
        master.Write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n");

        var init = await master.Run("kubeadm", "init", "--config", _dir.Write("kubeadm-config.yaml", InitConfig()), "--ignore-preflight-errors=Swap");

        Assert.True(init.ExitCode == 0, init.Stdout + init.Stderr);
        Assert.Contains("[WARNING Swap]: running with swap on is not supported", init.Stderr);
    }

    [Fact]
    public async Task Token_create_prints_a_join_line_that_join_accepts_and_a_bad_token_or_a_second_join_is_refused()
    {
        var master = await InitAsync();
        var node01 = await HostAsync("k8s-node01", "10.231.0.102");
        var node02 = await HostAsync("k8s-node02", "10.231.0.103");

        var create = await master.Run("kubeadm", "token", "create", "--print-join-command");
        Assert.True(create.ExitCode == 0, create.Stderr);
        Assert.Matches(@"^kubeadm join 10\.231\.0\.101:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \n$", create.Stdout);
        var join = create.Stdout.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var token = join[4];

        var joined = await node01.Run(join);
        Assert.True(joined.ExitCode == 0, joined.Stdout + joined.Stderr);
        Assert.Contains("This node has joined the cluster", joined.Stdout);
        Assert.True(File.Exists(node01.Path("etc/kubernetes/kubelet.conf")));
        Assert.Equal(master.Read("etc/kubernetes/pki/ca.crt"), node01.Read("etc/kubernetes/pki/ca.crt"));
        Assert.True(File.Exists(node01.Path("var/lib/offlinekit-standins/systemd/kubelet.active")));
        // The record never holds the token.
        Assert.Contains($"kubeadm join {Master}:6443 --token <token> --discovery-token-ca-cert-hash {join[6]}", node01.Log());
        Assert.DoesNotContain(token, File.ReadAllText(node01.Path("var/log/offlinekit-standins.log")));
        Assert.DoesNotContain(token, File.ReadAllText(master.Path("var/log/offlinekit-standins.log")));

        var nodes = await master.Run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "--no-headers");
        Assert.True(nodes.ExitCode == 0, nodes.Stderr);
        Assert.Matches(@"^k8s-master +NotReady +control-plane,master +\d+s +v1\.23\.0\nk8s-node01 +NotReady +<none> +\d+s +v1\.23\.0\n$", nodes.Stdout);

        // The same host again: kubeadm's preflight finds its kubelet.conf.
        var twice = await node01.Run(join);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists", twice.Stderr);
        // Another host under a name the cluster has.
        var sameName = await node02.Run([.. join, "--node-name", "k8s-node01"]);
        Assert.Equal(1, sameName.ExitCode);
        Assert.Contains("a Node with name \"k8s-node01\" and status \"NotReady\" already exists in the cluster", sameName.Stderr);
        // An unknown token, a wrong secret, a wrong hash, an address outside the lab.
        var unknown = await node02.Run(Replace(join, token, "zzzzzz.0123456789abcdef"));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("could not find a JWS signature in the cluster-info ConfigMap for token ID \"zzzzzz\"", unknown.Stderr);
        var secret = await node02.Run(Replace(join, token, token[..7] + "0000000000000000"));
        Assert.Contains("failed to verify JWS signature", secret.Stderr);
        var hash = await node02.Run(Replace(join, join[6], "sha256:" + new string('0', 64)));
        Assert.Contains("none of the public keys", hash.Stderr);
        var outside = await node02.Run(Replace(join, $"{Master}:6443", "192.0.2.10:6443"));
        Assert.Contains("network is unreachable", outside.Stderr);
        Assert.All(new[] { secret, hash, outside }, r => Assert.Equal(1, r.ExitCode));
        Assert.False(File.Exists(node02.Path("etc/kubernetes/kubelet.conf")));

        using var cluster = JsonDocument.Parse(await File.ReadAllTextAsync(ClusterJson));
        Assert.Equal(["k8s-master", "k8s-node01"], cluster.RootElement.GetProperty("nodes").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(2, cluster.RootElement.GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public async Task Apply_of_calico_with_a_pool_cidr_other_than_the_pod_subnet_fails_and_with_none_makes_the_nodes_ready()
    {
        var master = await InitAsync();
        var calico = await File.ReadAllTextAsync(Path.Combine(Tools.RepoRoot(), "tests/OfflineKit.Tests/Manifests/testdata/calico-v3.25.2.yaml"));
        var mismatch = calico.Replace("# - name: CALICO_IPV4POOL_CIDR\n            #   value: \"192.168.0.0/16\"", "- name: CALICO_IPV4POOL_CIDR\n              value: \"192.168.0.0/16\"", StringComparison.Ordinal);
        Assert.NotEqual(calico, mismatch);

        var bad = await master.Run("kubectl", "apply", "-f", _dir.Write("calico-bad.yaml", mismatch));

        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("CALICO_IPV4POOL_CIDR 192.168.0.0/16 does not match the cluster's podSubnet 10.244.0.0/16", bad.Stderr);
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created", bad.Stdout);
        Assert.DoesNotContain("daemonset.apps/calico-node", bad.Stdout);
        Assert.Contains("(offlinekit lab stand-in) warning: image docker.io/calico/node:v3.25.2 is not present on this host", bad.Stderr);
        Assert.Contains("NotReady", (await master.Run("kubectl", "get", "nodes")).Stdout);

        var matching = await master.Run("kubectl", "apply", "-f", _dir.Write("calico.yaml", mismatch.Replace("192.168.0.0/16", "10.244.0.0/16", StringComparison.Ordinal)));

        Assert.True(matching.ExitCode == 0, matching.Stderr);
        Assert.Contains("daemonset.apps/calico-node created", matching.Stdout);
        Assert.Contains("serviceaccount/calico-node unchanged", matching.Stdout);
        Assert.Contains("configmap/calico-config unchanged", matching.Stdout);
        var nodes = await master.Run("kubectl", "get", "nodes", "-o", "wide");
        Assert.Matches(@"^NAME +STATUS +ROLES +AGE +VERSION +INTERNAL-IP +EXTERNAL-IP +OS-IMAGE +KERNEL-VERSION +CONTAINER-RUNTIME\nk8s-master +Ready +control-plane,master +\d+s +v1\.23\.0 +10\.231\.0\.101 +<none> +CentOS Linux 8 ", nodes.Stdout);
        using (var cluster = JsonDocument.Parse(await File.ReadAllTextAsync(ClusterJson)))
        {
            var ds = cluster.RootElement.GetProperty("objects").EnumerateArray().Single(o => o.GetProperty("kind").GetString() == "DaemonSet");
            Assert.Equal(("kube-system", "calico-node", "10.244.0.0/16"), (ds.GetProperty("namespace").GetString(), ds.GetProperty("name").GetString(), ds.GetProperty("calicoIPv4PoolCIDR").GetString()));
            Assert.Contains(ds.GetProperty("containers").EnumerateArray(), c => c.GetProperty("image").GetString() == "docker.io/calico/node:v3.25.2");
        }

        // kubectl create of what exists: AlreadyExists, as the API server answers.
        var create = await master.Run("kubectl", "create", "-f", _dir["calico.yaml"]);
        Assert.Equal(1, create.ExitCode);
        Assert.Contains("Error from server (AlreadyExists): error when creating", create.Stderr);
        Assert.Contains("daemonsets.apps \"calico-node\" already exists", create.Stderr);
    }

    [Fact]
    public async Task Top_node_needs_metrics_server_with_kubelet_insecure_tls()
    {
        var master = await InitAsync();
        var manifests = Path.Combine(Tools.RepoRoot(), "tests/OfflineKit.Tests/Manifests/testdata");
        Assert.Equal(0, (await master.Run("kubectl", "apply", "-f", Path.Combine(manifests, "calico-v3.25.2.yaml"))).ExitCode);
        var metrics = await File.ReadAllTextAsync(Path.Combine(manifests, "metrics-server-v0.6.3-components.yaml"));

        var none = await master.Run("kubectl", "top", "node");
        Assert.Equal((1, "error: Metrics API not available\n"), (none.ExitCode, none.Stderr));

        var applied = await master.Run("kubectl", "apply", "-f", _dir.Write("metrics.yaml", metrics));
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        Assert.Contains("deployment.apps/metrics-server created", applied.Stdout);
        var secure = await master.Run("kubectl", "top", "node");
        Assert.Equal((1, "error: Metrics API not available\n"), (secure.ExitCode, secure.Stderr));

        var insecure = metrics.Replace("- --metric-resolution=15s\n", "- --metric-resolution=15s\n        - --kubelet-insecure-tls\n", StringComparison.Ordinal);
        Assert.NotEqual(metrics, insecure);
        var again = await master.Run("kubectl", "apply", "-f", _dir.Write("metrics.yaml", insecure));
        Assert.Contains("deployment.apps/metrics-server configured", again.Stdout);
        Assert.Contains("service/metrics-server unchanged", again.Stdout);

        var top = await master.Run("kubectl", "top", "node");
        Assert.True(top.ExitCode == 0, top.Stderr);
        Assert.Matches(@"^NAME +CPU\(cores\) +CPU% +MEMORY\(bytes\) +MEMORY%\nk8s-master +\d+m +\d+% +\d+Mi +\d+%\n$", top.Stdout);
        var pods = await master.Run("kubectl", "get", "pods", "-A");
        Assert.Matches(@"\nkube-system +metrics-server-[0-9a-f]+-[0-9a-f]+ +1/1 +Running ", pods.Stdout);
    }

    [Fact]
    public async Task Reset_removes_the_hosts_files_and_its_node_and_on_the_control_plane_the_cluster()
    {
        var master = await InitAsync();
        var node01 = await HostAsync("k8s-node01", "10.231.0.102");
        var join = (await master.Run("kubeadm", "token", "create", "--print-join-command")).Stdout.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, (await node01.Run(join)).ExitCode);

        var asked = await node01.Run("kubeadm", "reset");
        Assert.Equal(1, asked.ExitCode);
        Assert.Contains("won't proceed; the user didn't answer (Y|n) in order to continue", asked.Stderr);
        Assert.True(File.Exists(node01.Path("etc/kubernetes/kubelet.conf")));

        var worker = await node01.Run("kubeadm", "reset", "-f");
        Assert.True(worker.ExitCode == 0, worker.Stderr);
        Assert.False(Directory.Exists(node01.Path("etc/kubernetes/pki")));
        Assert.False(File.Exists(node01.Path("etc/kubernetes/kubelet.conf")));
        Assert.False(Directory.Exists(node01.Path("var/lib/kubelet")));
        Assert.False(File.Exists(node01.Path("var/lib/offlinekit-standins/systemd/kubelet.active")));
        Assert.DoesNotContain("k8s-node01", (await master.Run("kubectl", "get", "nodes")).Stdout);
        // Reset, the same host joins again.
        Assert.Equal(0, (await node01.Run(join)).ExitCode);

        master.Write("etc/cni/net.d/10-calico.conflist", "{}");
        var control = await master.Run("kubeadm", "reset", "--force");
        Assert.True(control.ExitCode == 0, control.Stderr);
        Assert.Empty(Directory.GetFiles(master.Path("etc/kubernetes"), "*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(master.Path("var/lib/etcd")));
        Assert.False(Directory.Exists(master.Path("etc/cni/net.d")));
        Assert.False(File.Exists(ClusterJson));
        var refused = await master.Run("kubectl", "get", "nodes");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"The connection to the server {Master}:6443 was refused - did you specify the right host or port?\n", refused.Stderr);
        File.Delete(master.Path("root/.kube/config"));
        Assert.Equal("The connection to the server localhost:8080 was refused - did you specify the right host or port?\n", (await master.Run("kubectl", "get", "nodes")).Stderr);
    }

    [Fact]
    public async Task Without_the_rpm_or_the_cluster_folder_the_tools_are_missing_or_refuse()
    {
        var host = await HostAsync("k8s-master", Master, install: false);
        var missing = await host.Run("kubeadm", "version", "-o", "short");
        Assert.Equal((127, "bash: kubeadm: command not found\n"), (missing.ExitCode, missing.Stderr));
        Assert.Equal(127, (await host.Run("kubectl", "version", "--client")).ExitCode);

        var installed = await HostAsync("k8s-node01", "10.231.0.102");
        var version = await installed.Run("kubeadm", "version", "-o", "short");
        Assert.Equal((0, "v1.23.0\n"), (version.ExitCode, version.Stdout));
        Assert.Equal("Client Version: v1.23.0\n", (await installed.Run("kubectl", "version", "--client", "--short")).Stdout);
        var noCluster = await installed.Run(new Dictionary<string, string> { ["OFFLINEKIT_LAB_CLUSTER"] = string.Empty }, "kubeadm", "token", "create", "--print-join-command");
        Assert.NotEqual(0, noCluster.ExitCode);
        Assert.Equal(2, (await installed.Run("kubeadm", "upgrade", "plan")).ExitCode);
        Assert.Equal(2, (await installed.Run("kubectl", "get", "svc")).ExitCode);
    }

    [Fact]
    public async Task Chronyd_p_prints_a_valid_config_and_refuses_an_unknown_directive_and_a_server_outside_the_lab()
    {
        var host = await HostAsync("k8s-node01", "10.231.0.102");
        await File.AppendAllTextAsync(host.Path("etc/hosts"), $"{Master} k8s-master\n");
        const string good = "# the guide's chrony.conf on a worker\nserver k8s-master iburst\nserver 10.231.0.101 iburst minpoll 4\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\nallow 10.231.0.0/24\nlocal stratum 10\nlogdir /var/log/chrony\n";
        host.Write("etc/chrony.conf", good);

        var printed = await host.Run("chronyd", "-p", "-f", "/etc/chrony.conf");
        Assert.True(printed.ExitCode == 0, printed.Stderr);
        Assert.Equal(string.Join('\n', good.Split('\n').Skip(1)), printed.Stdout);

        var cases = new (string Line, string Message)[]
        {
            ("serverr ntp.aliyun.com iburst", "Invalid directive at line 2 in file /etc/chrony.conf"),
            ("server 203.107.6.88 iburst", "source 203.107.6.88 is not reachable from this host (the lab has no route outside)"),
            ("pool ntp.aliyun.com iburst", "source ntp.aliyun.com cannot be resolved on this host"),
            ("local stratum 16", "Could not parse local directive at line 2 in file /etc/chrony.conf"),
            ("allow 10.231.0.0/33", "Could not parse allow directive at line 2"),
            ("server 10.231.0.101 iburstt", "Could not parse server directive at line 2"),
        };
        foreach (var (line, message) in cases)
        {
            host.Write("etc/chrony.conf", $"rtcsync\n{line}\n");
            var refused = await host.Run("chronyd", "-p", "-f", "/etc/chrony.conf");
            Assert.True(refused.ExitCode == 1, $"{line}: exit {refused.ExitCode} {refused.Stderr}");
            Assert.Contains(message, refused.Stderr);
        }

        Assert.Equal(2, (await host.Run("chronyd", "-q")).ExitCode);
    }

    /// <summary>The guide's kubeadm config for the lab's control plane, with this dockerd's cgroup driver.</summary>
    private string InitConfig() => $"""
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: InitConfiguration
        bootstrapTokens:
        - token: {Token}
          ttl: 24h0m0s
          usages: [signing, authentication]
          groups: [system:bootstrappers:kubeadm:default-node-token]
        localAPIEndpoint:
          advertiseAddress: {Master}
          bindPort: 6443
        nodeRegistration:
          name: k8s-master
          criSocket: /var/run/dockershim.sock
          taints:
          - effect: NoSchedule
            key: node-role.kubernetes.io/master
        ---
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: ClusterConfiguration
        kubernetesVersion: v1.23.0
        imageRepository: {StandinWorld.Repo}
        networking:
          dnsDomain: cluster.local
          podSubnet: 10.244.0.0/16
          serviceSubnet: 10.96.0.0/12
        ---
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cgroupDriver: {world.CgroupDriver}

        """.Replace("\r\n", "\n", StringComparison.Ordinal);

    private async Task<TestHost> InitAsync()
    {
        var master = await HostAsync("k8s-master", Master);
        var init = await master.Run("kubeadm", "init", "--config", _dir.Write("kubeadm-config.yaml", InitConfig()));
        Assert.True(init.ExitCode == 0, init.Stdout + init.Stderr);
        // As the guide does: admin.conf as the user's kubeconfig ($HOME/.kube/config under the host's root).
        master.Write("root/.kube/config", master.Read("etc/kubernetes/admin.conf"));
        return master;
    }

    private static string[] Replace(string[] args, string from, string to) => [.. args.Select(a => a == from ? to : a)];

    /// <summary>A host root as the lab's packages and runtime steps leave it: swap off, sysctls set, docker running, kubelet enabled.</summary>
    private async Task<TestHost> HostAsync(string name, string address, bool install = true)
    {
        var host = new TestHost(this, name, address, _dir[name]);
        host.Write("etc/hostname", name + "\n");
        host.Write("etc/hosts", "127.0.0.1   localhost localhost.localdomain\n");
        host.Write("etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"8\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"8\"\nPLATFORM_ID=\"platform:el8\"\nPRETTY_NAME=\"CentOS Linux 8\"\n");
        host.Write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
        host.Write("proc/sys/net/ipv4/ip_forward", "1\n");
        host.Write("proc/sys/net/bridge/bridge-nf-call-iptables", "1\n");
        host.Write("var/lib/offlinekit-standins/systemd/kubelet.enabled", string.Empty);
        host.Write("usr/lib/systemd/system/kubelet.service", "[Unit]\n");
        // The systemctl stand-in takes docker as active while the dockerd its pidfile names runs.
        host.Write("run/docker.pid", await File.ReadAllTextAsync(Path.Combine(world.Docker.Dir, "docker.pid")));
        if (install)
        {
            var rpm = await Tools.RunAsync(Tools.Require("rpm", "rpm"), ["--root", host.Root, "-i", "--nodeps", .. new[] { "kubeadm", "kubectl", "chrony" }.Select(p => Path.Combine(world.Rpms, p + ".rpm"))]);
            Assert.True(rpm.ExitCode == 0, rpm.Stderr);
        }

        return host;
    }

    private sealed class TestHost(StandinTests tests, string name, string address, string root)
    {
        public string Name => name;

        public string Root => root;

        public string Path(string relative) => System.IO.Path.Combine(root, relative);

        public string Read(string relative) => File.ReadAllText(Path(relative));

        public void Write(string relative, string text)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path(relative))!);
            File.WriteAllText(Path(relative), text);
        }

        public List<string> Log() => [.. File.ReadAllLines(Path("var/log/offlinekit-standins.log"))];

        public Task<ProcessResult> Run(params string[] command) => Run(new Dictionary<string, string>(), command);

        public Task<ProcessResult> Run(Dictionary<string, string> extra, params string[] command)
        {
            var env = new Dictionary<string, string>
            {
                ["OFFLINEKIT_ROOT"] = root,
                ["OFFLINEKIT_LAB_CLUSTER"] = tests.Cluster,
                ["DOCKER_HOST"] = "unix://" + tests.World.Docker.Socket,
                ["PATH"] = $"{System.IO.Path.Combine(Tools.RepoRoot(), "tests", "lab", "standins")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                ["HOME"] = "/root",
                ["KUBECONFIG"] = string.Empty,
                ["LC_ALL"] = "C",
            };
            foreach (var (k, v) in extra)
            {
                env[k] = v;
            }

            return Tools.RunAsync("unshare", ["-n", "bash", "-c", Namespace, address, .. command], environment: env);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{name} ({address})");
    }

    private StandinWorld World => world;
}
