using OfflineKit.Cli;
using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

public class InventoryLoaderTests
{
    private const string Head = "apiVersion: offlinekit/v1\nkind: Inventory\n";

    private static Inventory Parse(string yaml, string? dir = null) => InventoryLoader.Parse(yaml, "inv.yaml", dir ?? "/nonexistent");

    [Fact]
    public void The_example_loads_and_is_the_guides_cluster()
    {
        var inventory = Parse(InventoryLoader.ExampleText());

        Assert.Equal(["k8s-master", "k8s-node01", "k8s-node02"], inventory.Hosts.Select(h => h.Name));
        Assert.Equal(["192.168.10.101", "192.168.10.102", "192.168.10.103"], inventory.Hosts.Select(h => h.Address));
        Assert.Equal("k8s-master", inventory.ControlPlane.Name);
        Assert.Equal([HostRole.Worker, HostRole.Worker], inventory.Workers.Select(w => w.Role));
        Assert.All(inventory.Hosts, h =>
        {
            Assert.Equal(22, h.Port);
            Assert.Equal("root", h.User);
            Assert.Equal(SudoMode.None, h.Sudo.Mode);
            Assert.Equal("K8S_SSH_PASSWORD", h.Auth.Password!.EnvironmentVariable);
            Assert.Equal("/var/lib/offlinekit", h.StateDirectory);
        });
        Assert.Equal("10.244.0.0/16", inventory.Cluster.PodSubnet.ToString());
        Assert.Equal("10.96.0.0/12", inventory.Cluster.ServiceSubnet.ToString());
        Assert.Equal("cluster.local", inventory.Cluster.DnsDomain);
        Assert.Equal("192.168.10.101", inventory.Cluster.AdvertiseAddress);
        Assert.Equal(["https://docker.m.daocloud.io", "https://docker.imgdb.de"], inventory.Cluster.RegistryMirrors);
    }

    [Fact]
    public async Task Inventory_init_ha_prints_three_control_planes_behind_a_vip_and_two_workers()
    {
        var stdout = new StringWriter();
        var code = await CliApp.RunAsync(["inventory", "init", "--ha"], new CliConsole(stdout, TextWriter.Null, interactive: false));
        Assert.Equal(0, code);

        using var dir = new TempDir();
        var inventory = InventoryLoader.LoadFile(dir.Write("inventory.yaml", stdout.ToString()));
        Assert.Equal(["k8s-master01", "k8s-master02", "k8s-master03"], inventory.ControlPlanes.Select(h => h.Name));
        Assert.Equal(["k8s-node01", "k8s-node02"], inventory.Workers.Select(h => h.Name));
        Assert.All(inventory.Hosts, h => Assert.StartsWith("192.168.10.", h.Address, StringComparison.Ordinal));
        var lb = inventory.Cluster.LoadBalancer!;
        Assert.Equal((LoadBalancerKind.KeepalivedHaproxy, "192.168.10.100", 8443, "192.168.10.0/24"), (lb.Kind, lb.Host, lb.Port, lb.VipSubnet.ToString()));
        Assert.Equal("192.168.10.100:8443", inventory.Cluster.ControlPlaneEndpoint);
        Assert.Equal("192.168.10.101", inventory.Cluster.AdvertiseAddress);
    }

    [Fact]
    public void Three_control_planes_default_to_keepalived_haproxy_on_8443_and_external_keeps_its_endpoint()
    {
        var ha = Parse(Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100\n  vipSubnet: 10.0.0.0/24\n");
        Assert.Equal(LoadBalancerKind.KeepalivedHaproxy, ha.Cluster.LoadBalancer!.Kind);
        Assert.Equal("10.0.0.100:8443", ha.Cluster.ControlPlaneEndpoint);

        var external = Parse(Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: f5.site\n  loadBalancer: external\n");
        Assert.Equal((LoadBalancerKind.External, "f5.site:6443"), (external.Cluster.LoadBalancer!.Kind, external.Cluster.ControlPlaneEndpoint));

        var single = Parse(Head + "hosts:\n" + Cp + "cluster:\n  controlPlaneEndpoint: api.site:6443\n");
        Assert.Null(single.Cluster.LoadBalancer);
        Assert.Equal("api.site:6443", single.Cluster.ControlPlaneEndpoint);

        var five = Parse(Head + "hosts:\n" + Cp + Cp2 + Cp3 + Cp3.Replace("cp3", "cp4").Replace(".3", ".4") + Cp3.Replace("cp3", "cp5").Replace(".3", ".5") + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:9443\n  vipSubnet: 10.0.0.0/24\n");
        Assert.Equal(5, five.ControlPlanes.Count);
        Assert.Equal(9443, five.Cluster.LoadBalancer!.Port);
    }

    [Fact]
    public async Task Inventory_init_prints_the_example_and_it_loads_from_a_file()
    {
        var stdout = new StringWriter();
        var code = await CliApp.RunAsync(["inventory", "init"], new CliConsole(stdout, TextWriter.Null, interactive: false));
        Assert.Equal(0, code);

        using var dir = new TempDir();
        var file = dir.Write("inventory.yaml", stdout.ToString());
        Assert.Equal(3, InventoryLoader.LoadFile(file).Hosts.Count);
    }

    [Fact]
    public void Defaults_apply_and_hosts_override_them()
    {
        using var dir = new TempDir();
        dir.Write("keys/node02", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
        var inventory = Parse(Head + """
            defaults:
              user: ops
              auth: {passwordEnv: SSH_PW}
              sudo: {passwordEnv: SUDO_PW}
              stateDir: /srv/offlinekit/
            hosts:
              - {name: cp, address: 10.0.0.1, roles: [control-plane, worker]}
              - {name: w1, address: 10.0.0.2, roles: [worker], user: root, port: 2222}
              - name: w2
                address: node2.example.internal
                roles: [worker]
                auth: {privateKey: keys/node02, passphrase: "not shown"}
                sudo: {}
            """, dir.Path);

        var (cp, w1, w2) = (inventory.Hosts[0], inventory.Hosts[1], inventory.Hosts[2]);
        Assert.Equal(("ops", SudoMode.Password, "/srv/offlinekit"), (cp.User, cp.Sudo.Mode, cp.StateDirectory));
        Assert.Equal(HostRole.ControlPlane, cp.Role);
        Assert.Equal(("root", 2222, SudoMode.None), (w1.User, w1.Port, w1.Sudo.Mode));
        Assert.Equal("root@[10.0.0.2]:2222", w1.Target);
        Assert.Equal(SudoMode.NoPassword, w2.Sudo.Mode);
        Assert.Equal(dir["keys/node02"], w2.Auth.PrivateKeyFile);
        Assert.Equal("not shown", w2.Auth.Passphrase!.Reveal());
        Assert.DoesNotContain("not shown", w2.Auth.Passphrase.ToString());
        Assert.Equal("10.0.0.1", inventory.Cluster.AdvertiseAddress);
    }

    [Fact]
    public void Secrets_from_the_environment_are_read_when_needed_and_a_missing_one_names_file_and_line()
    {
        var inventory = Parse(Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth:\n      passwordEnv: OK_TEST_PW\n");
        var secret = inventory.Hosts[0].Auth.Password!;

        Assert.Equal("s3cret", secret.Reveal(name => name == "OK_TEST_PW" ? "s3cret" : null));
        var e = Assert.Throws<BadInputException>(() => secret.Reveal(_ => null));
        Assert.Equal("inv.yaml:8: hosts[0].auth.passwordEnv: environment variable OK_TEST_PW is not set; export it before running offlinekit", e.Message);
    }

    private const string Cp = "  - {name: cp, address: 10.0.0.1, roles: [control-plane], auth: {passwordEnv: PW}}\n";
    private const string Cp2 = "  - {name: cp2, address: 10.0.0.2, roles: [control-plane], auth: {passwordEnv: PW}}\n";
    private const string Cp3 = "  - {name: cp3, address: 10.0.0.3, roles: [control-plane], auth: {passwordEnv: PW}}\n";

    public static TheoryData<string, string> BadInventories => new()
    {
        { "kind: Inventory\nhosts: []\n", "inv.yaml:1: inventory: missing required field 'apiVersion'" },
        { "apiVersion: offlinekit/v2\nkind: Inventory\n", "inv.yaml:1: apiVersion 'offlinekit/v2' is not supported" },
        { "apiVersion: offlinekit/v1\nkind: BundleSpec\n", "inv.yaml:2: kind 'BundleSpec' is not an inventory" },
        { Head + "hosts: []\n", "inv.yaml:3: hosts must list at least one host" },
        { Head + "hosts:\n" + Cp + "hostz: 1\n", "inv.yaml:5: unknown key 'hostz' in inventory" },
        { Head + "hosts:\n  - {name: w1, address: 10.0.0.2, roles: [worker], auth: {passwordEnv: PW}}\n", "inv.yaml:4: no host has the control-plane role" },
        { Head + "hosts:\n" + Cp + Cp.Replace("10.0.0.1", "10.0.0.9"), "inv.yaml:5: duplicate host name 'cp' (first at line 4)" },
        { Head + "hosts:\n" + Cp + Cp.Replace("name: cp", "name: w1").Replace("control-plane", "worker"), "inv.yaml:5: w1 has the same address 10.0.0.1 as cp (line 4)" },
        { Head + "hosts:\n" + Cp + Cp.Replace("name: cp", "name: cp2").Replace("10.0.0.1", "10.0.0.2"), "inv.yaml:5: cp2 makes 2 control-plane hosts; give an odd number (1, 3 or 5). Every control plane runs an etcd member, and etcd's leader election and every write need more than half the members" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3, "inv.yaml:4: 3 control planes need cluster.controlPlaneEndpoint" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: 3 control planes need cluster.controlPlaneEndpoint, the VIP (or DNS name) and port every node reaches the API servers at, e.g. 192.168.10.100:8443" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:8443\n", "inv.yaml:8: cluster.loadBalancer keepalived-haproxy needs cluster.vipSubnet" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.1.100:8443\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint's VIP 10.0.1.100 is outside cluster.vipSubnet 10.0.0.0/24" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.255:8443\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint's VIP 10.0.0.255 is the broadcast address of 10.0.0.0/24" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.2:8443\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint's VIP 10.0.0.2 is cp2's own address (line 5)" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:6443\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint '10.0.0.100:6443': port 6443 is kube-apiserver's on every control plane" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: api.site:8443\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint 'api.site:8443': keepalived-haproxy needs an IPv4 address there" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3.Replace("10.0.0.3", "10.0.5.3") + "cluster:\n  controlPlaneEndpoint: 10.0.0.100\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:6: control plane cp3's address 10.0.5.3 is outside cluster.vipSubnet 10.0.0.0/24" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100\n  vipSubnet: 10.0.0.0/24\n  loadBalancer: nginx\n", "inv.yaml:10: cluster.loadBalancer 'nginx' is not one of keepalived-haproxy, kube-vip, external" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:8443\n  loadBalancer: kube-vip\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint '10.0.0.100:8443': with kube-vip there is no haproxy, the VIP leads straight to the leader's kube-apiserver, so the port is kube-apiserver's 6443 (10.0.0.100:6443)" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:6443\n  loadBalancer: kube-vip\n", "inv.yaml:8: cluster.loadBalancer kube-vip needs cluster.vipSubnet, the subnet the VIP 10.0.0.100 and the control planes are on" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: 10.0.1.100:6443\n  loadBalancer: kube-vip\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint's VIP 10.0.1.100 is outside cluster.vipSubnet 10.0.0.0/24; kube-vip can only move an address of the control planes' own subnet" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: api.site:6443\n  loadBalancer: kube-vip\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:8: cluster.controlPlaneEndpoint 'api.site:6443': kube-vip needs an IPv4 address there, the VIP kube-vip moves between the control planes" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3.Replace("10.0.0.3", "10.0.5.3") + "cluster:\n  controlPlaneEndpoint: 10.0.0.100:6443\n  loadBalancer: kube-vip\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:6: control plane cp3's address 10.0.5.3 is outside cluster.vipSubnet 10.0.0.0/24; kube-vip moves the VIP only between hosts of one subnet" },
        { Head + "hosts:\n" + Cp + Cp2 + Cp3 + "cluster:\n  controlPlaneEndpoint: f5.site:443\n  loadBalancer: external\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:10: cluster.vipSubnet goes with cluster.loadBalancer: keepalived-haproxy" },
        { Head + "hosts:\n" + Cp + "cluster:\n  vipSubnet: 10.0.0.0/24\n", "inv.yaml:6: cluster.vipSubnet goes with cluster.loadBalancer: keepalived-haproxy" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [master]\n", "inv.yaml:6: hosts[0].roles: unknown role 'master' (kubeadm calls it control-plane)" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane, etcd]\n", "inv.yaml:6: hosts[0].roles: unknown role 'etcd' (expected control-plane, worker or depot)" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n", "inv.yaml:4: hosts[0]: missing required field 'roles'" },
        { Head + "hosts:\n  - name: K8S_Master\n    address: 10.0.0.1\n    roles: [control-plane]\n", "inv.yaml:4: hosts[0].name 'K8S_Master' is not a valid node name" },
        { Head + "hosts:\n  - name: cp\n    address: 192.168.10.300\n    roles: [control-plane]\n", "inv.yaml:5: hosts[0].address '192.168.10.300' is not an IP address or a DNS name" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    port: 70000\n", "inv.yaml:7: hosts[0].port must be a whole number from 1 to 65535" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n", "inv.yaml:4: hosts[0] (cp): no auth" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth:\n      password: a\n      passwordEnv: B\n", "inv.yaml:9: hosts[0].auth: give password or passwordEnv, not both" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth:\n      passwordEnv: 1PW\n", "inv.yaml:8: hosts[0].auth.passwordEnv '1PW' is not an environment variable name" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth:\n      privateKey: /nonexistent/id_ed25519\n", "inv.yaml:8: hosts[0].auth.privateKey: cannot read /nonexistent/id_ed25519" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth:\n      passphraseEnv: X\n      passwordEnv: Y\n", "inv.yaml:8: hosts[0].auth: a passphrase goes with a privateKey" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth: {}\n", "inv.yaml:7: hosts[0].auth: give privateKey" },
        { Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    sudo: {pasword: x}\n", "inv.yaml:7: unknown key 'pasword' in hosts[0].sudo" },
        { Head + "defaults:\n  stateDir: var/lib/offlinekit\nhosts:\n" + Cp, "inv.yaml:4: defaults.stateDir 'var/lib/offlinekit' must be an absolute path" },
        { Head + "defaults:\n  user: 'root; rm -rf /'\nhosts:\n" + Cp, "inv.yaml:4: defaults.user 'root; rm -rf /' is not a valid user name" },
        { Head + "hosts:\n" + Cp + "cluster:\n  podSubnet: 10.244.0.1/16\n", "inv.yaml:6: cluster.podSubnet '10.244.0.1/16' is not a CIDR subnet" },
        { Head + "hosts:\n" + Cp + "cluster:\n  podSubnet: 10.96.0.0/16\n", "inv.yaml:6: cluster.serviceSubnet 10.96.0.0/12 overlaps cluster.podSubnet 10.96.0.0/16" },
        { Head + "hosts:\n" + Cp + "cluster:\n  podSubnet: 10.0.0.0/16\n", "inv.yaml:4: cp's address 10.0.0.1 lies inside the cluster's podSubnet 10.0.0.0/16" },
        { Head + "hosts:\n" + Cp + "cluster:\n  advertiseAddress: k8s-master\n", "inv.yaml:6: cluster.advertiseAddress 'k8s-master' must be an IP address" },
        { Head + "hosts:\n" + Cp + "cluster:\n  controlPlaneEndpoint: https://10.0.0.1:6443\n", "inv.yaml:6: cluster.controlPlaneEndpoint 'https://10.0.0.1:6443' must be HOST or HOST:PORT" },
        { Head + "hosts:\n" + Cp + "cluster:\n  docker:\n    registryMirrors: [docker.m.daocloud.io]\n", "inv.yaml:7: cluster.docker.registryMirrors[0] 'docker.m.daocloud.io' is not an http:// or https:// URL" },
        { Head + "hosts:\n" + Cp + "cluster:\n  ntp:\n    server: [ntp.aliyun.com]\n", "inv.yaml:7: unknown key 'server' in cluster.ntp" },
        { Head + "hosts:\n" + Cp + "cluster:\n  dnsDomain: Cluster_Local\n", "inv.yaml:6: cluster.dnsDomain 'Cluster_Local' is not a DNS domain" },
        { Head + "hosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane]\n", "inv.yaml:5: invalid YAML" },
    };

    [Theory]
    [MemberData(nameof(BadInventories))]
    public void Bad_inventories_are_reported_as_file_line_message(string yaml, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => Parse(yaml));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void A_public_key_given_as_the_private_key_is_named()
    {
        using var dir = new TempDir();
        dir.Write("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE me@host\n");
        var e = Assert.Throws<BadInputException>(() => Parse(Head + "hosts:\n  - name: cp\n    address: 10.0.0.1\n    roles: [control-plane]\n    auth: {privateKey: id.pub}\n", dir.Path));
        Assert.StartsWith("inv.yaml:7: hosts[0].auth.privateKey: ", e.Message);
        Assert.Contains("is a public key", e.Message);
    }

    [Fact]
    public void A_missing_inventory_file_is_bad_input()
    {
        var e = Assert.Throws<BadInputException>(() => InventoryLoader.LoadFile("/nonexistent/inventory.yaml"));
        Assert.Contains("inventory init", e.Message);
    }
}
