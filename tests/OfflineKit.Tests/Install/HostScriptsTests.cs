using System.Diagnostics;
using System.Runtime.CompilerServices;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

/// <summary>
/// The bundle's host scripts (the copies embedded in the binary, as a bundle ships them) run by bash
/// against a temp root: OFFLINEKIT_ROOT points at it and the lab's stand-ins (tests/lab/standins) come
/// first on PATH, so nothing on this machine is touched.
/// </summary>
public sealed class HostScriptsTests : IDisposable
{
    private static readonly string[] Hosts = ["--host", "192.168.10.101=k8s-master", "--host", "192.168.10.102=k8s-node01", "--host", "192.168.10.103=k8s-node02"];

    private readonly TempDir _dir = new();

    private string Root => _dir["root"];

    public HostScriptsTests()
    {
        // A fresh EL8 host as it matters here: firewalld on, SELinux enforcing, swap on and in fstab.
        _dir.Write("root/etc/selinux/config", "# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n");
        _dir.Write("root/sys/fs/selinux/enforce", "1\n");
        _dir.Write("root/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n");
        _dir.Write("root/etc/fstab", "/dev/mapper/cl-root     /       xfs     defaults        0 0\nUUID=1234 /boot xfs defaults 0 0\n/dev/mapper/cl-swap     none    swap    defaults        0 0\n# /dev/sdb1 none swap sw 0 0\n");
        _dir.Write("root/etc/hosts", "127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain\n");
        _dir.Write("root/var/lib/offlinekit-standins/systemd/firewalld.enabled", string.Empty);
        _dir.Write("root/var/lib/offlinekit-standins/systemd/firewalld.active", string.Empty);
        // What the packages step leaves: docker and kubelet installed (their unit files).
        _dir.Write("root/usr/lib/systemd/system/docker.service", "[Unit]\n");
        _dir.Write("root/usr/lib/systemd/system/kubelet.service", "[Unit]\n");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Prepare_does_the_guides_host_set_up_then_a_second_run_says_done_and_changes_no_byte()
    {
        var first = Run("prepare-host.sh", ["--hostname", "k8s-node01", .. Hosts]);
        Assert.True(first.Code == 0, first.Output);
        Assert.Contains("prepare-host: OK: host k8s-node01 prepared", first.Stdout);

        Assert.Equal("127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain\n# BEGIN offlinekit (cluster hosts; rewritten by prepare-host.sh)\n192.168.10.101 k8s-master\n192.168.10.102 k8s-node01\n192.168.10.103 k8s-node02\n# END offlinekit\n", Read("etc/hosts"));
        Assert.Equal("/dev/mapper/cl-root     /       xfs     defaults        0 0\nUUID=1234 /boot xfs defaults 0 0\n#/dev/mapper/cl-swap     none    swap    defaults        0 0\n# /dev/sdb1 none swap sw 0 0\n", Read("etc/fstab"));
        Assert.Contains("\nSELINUX=permissive\n", Read("etc/selinux/config"));
        Assert.Equal("0\n", Read("sys/fs/selinux/enforce"));
        Assert.Equal("Filename\tType\tSize\tUsed\tPriority\n", Read("proc/swaps"));
        Assert.EndsWith("\noverlay\nbr_netfilter\n", Read("etc/modules-load.d/k8s.conf"));
        Assert.EndsWith("\nnet.ipv4.ip_forward=1\nnet.bridge.bridge-nf-call-iptables=1\nnet.bridge.bridge-nf-call-ip6tables=1\n", Read("etc/sysctl.d/k8s.conf"));
        Assert.All(new[] { "net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables" }, k => Assert.Equal("1\n", Read("proc/sys/" + k)));
        Assert.Equal("k8s-node01\n", Read("etc/hostname"));
        Assert.False(File.Exists(_dir["root/var/lib/offlinekit-standins/systemd/firewalld.active"]));
        Assert.False(File.Exists(_dir["root/var/lib/offlinekit-standins/systemd/firewalld.enabled"]));
        var asked = StandinLog();
        Assert.Equal(
            ["systemctl stop firewalld", "systemctl disable firewalld", "setenforce 0", "swapoff -a", "modprobe overlay", "modprobe br_netfilter", $"sysctl -p {Root}/etc/sysctl.d/k8s.conf", "hostnamectl set-hostname k8s-node01"],
            asked.Where(IsChange));

        var before = Snapshot();
        var second = Run("prepare-host.sh", ["--hostname", "k8s-node01", .. Hosts]);
        Assert.True(second.Code == 0, second.Output);
        Assert.Contains("prepare-host: already prepared; nothing to do", second.Stdout);
        Assert.Equal(before, Snapshot());
        Assert.DoesNotContain(StandinLog().Skip(asked.Count), IsChange);
    }

    [Fact]
    public void The_hosts_block_is_replaced_never_duplicated_and_the_rest_of_the_file_kept()
    {
        _dir.Write("root/etc/hosts", "127.0.0.1 localhost\n# BEGIN offlinekit (cluster hosts; rewritten by prepare-host.sh)\n10.0.0.9 old-master\n# END offlinekit\n10.1.1.1 nas.site\n");

        Assert.Equal(0, Run("prepare-host.sh", ["--hostname", "k8s-master", .. Hosts]).Code);
        Assert.Equal(0, Run("prepare-host.sh", ["--hostname", "k8s-master", "--host", "192.168.10.101=k8s-master", "--host", "192.168.10.104=k8s-node03"]).Code);

        Assert.Equal("127.0.0.1 localhost\n10.1.1.1 nas.site\n# BEGIN offlinekit (cluster hosts; rewritten by prepare-host.sh)\n192.168.10.101 k8s-master\n192.168.10.104 k8s-node03\n# END offlinekit\n", Read("etc/hosts"));
    }

    [Fact]
    public void A_hosts_file_gives_the_same_block_as_host_arguments_and_a_bad_line_in_it_is_refused()
    {
        _dir.Write("cluster-hosts", "192.168.10.101=k8s-master\n192.168.10.102=k8s-node01\n192.168.10.103=k8s-node02\n");
        Assert.Equal(0, Run("prepare-host.sh", ["--hostname", "k8s-node01", "--hosts-file", _dir["cluster-hosts"]]).Code);
        var fromFile = Read("etc/hosts");
        Assert.Equal(0, Run("prepare-host.sh", ["--hostname", "k8s-node01", .. Hosts]).Code);
        Assert.Equal(Read("etc/hosts"), fromFile);
        Assert.Contains("192.168.10.103 k8s-node02\n", fromFile, StringComparison.Ordinal);

        _dir.Write("cluster-hosts", "192.168.10.101 k8s-master\n");
        var bad = Run("prepare-host.sh", ["--hostname", "k8s-node01", "--hosts-file", _dir["cluster-hosts"]]);
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("is not ADDRESS=NAME", bad.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hosts_file_with_a_torn_block_is_refused_not_guessed_at()
    {
        _dir.Write("root/etc/hosts", "127.0.0.1 localhost\n# BEGIN offlinekit\n10.0.0.9 old-master\n");

        var result = Run("prepare-host.sh", ["--hostname", "k8s-master", .. Hosts]);

        Assert.Equal(1, result.Code);
        Assert.Contains("has 1 '# BEGIN offlinekit' and 0 '# END offlinekit' lines; fix it by hand", result.Stderr);
        Assert.Equal("127.0.0.1 localhost\n# BEGIN offlinekit\n10.0.0.9 old-master\n", Read("etc/hosts"));
    }

    [Fact]
    public void A_failing_tool_fails_the_script_with_its_message()
    {
        _dir.Write("root/var/lib/offlinekit-standins/fail/modprobe", "no br_netfilter in this kernel");

        var result = Run("prepare-host.sh", ["--hostname", "k8s-master", .. Hosts]);

        Assert.Equal(1, result.Code);
        Assert.EndsWith("prepare-host: modprobe overlay failed: the kernel has no overlay module\n", result.Stderr);
        Assert.Contains("told to fail: no br_netfilter in this kernel", result.Stderr);
    }

    [Theory]
    [InlineData(new[] { "--host", "192.168.10.101=k8s-master" }, "--hostname NAME is required")]
    [InlineData(new[] { "--hostname", "K8S_Master", "--host", "192.168.10.101=k8s-master" }, "is not a valid host name")]
    [InlineData(new[] { "--hostname", "k8s-master", "--host", "192.168.10.101" }, "is not ADDRESS=NAME")]
    [InlineData(new[] { "--hostname", "k8s-master", "--host", "master=k8s-master" }, "is not an IP address")]
    [InlineData(new[] { "--hostname", "k8s-master" }, "at least one --host ADDRESS=NAME is required")]
    public void Bad_arguments_are_refused_before_anything_changes(string[] arguments, string message)
    {
        var result = Run("prepare-host.sh", arguments);

        Assert.NotEqual(0, result.Code);
        Assert.Contains(message, result.Stderr);
        Assert.Empty(StandinLog());
    }

    [Fact]
    public void With_OFFLINEKIT_ROOT_set_a_tool_that_is_not_a_lab_stand_in_is_refused()
    {
        // Decoys that record being run: the real tools must not be reached, and neither must these.
        var decoys = _dir["decoys"];
        Directory.CreateDirectory(decoys);
        foreach (var tool in new[] { "systemctl", "setenforce", "getenforce", "modprobe", "sysctl", "swapoff", "hostnamectl" })
        {
            var path = Path.Combine(decoys, tool);
            File.WriteAllText(path, $"#!/bin/sh\necho {tool} >> {decoys}/ran\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var result = Run("prepare-host.sh", ["--hostname", "k8s-master", .. Hosts], path: decoys);

        Assert.Equal(1, result.Code);
        Assert.Contains($"{decoys}/systemctl is not an offlinekit lab stand-in; refusing to change this machine", result.Stderr);
        Assert.False(File.Exists(Path.Combine(decoys, "ran")));
    }

    [Fact]
    public void Runtime_merges_daemon_json_keeping_what_is_there_then_a_second_run_says_done()
    {
        _dir.Write("root/etc/docker/daemon.json", "{\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\"max-size\": \"100m\"},\n  \"exec-opts\": [\"native.cgroupdriver=cgroupfs\"],\n  \"registry-mirrors\": [\"https://docker.imgdb.de\"]\n}\n");
        string[] arguments = ["--registry-mirror", "https://docker.m.daocloud.io", "--registry-mirror", "https://docker.imgdb.de", "--insecure-registry", "192.168.10.100:5000"];

        var first = Run("configure-runtime.sh", arguments);

        Assert.True(first.Code == 0, first.Output);
        Assert.Equal(
            "{\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\n    \"max-size\": \"100m\"\n  },\n  \"exec-opts\": [\n    \"native.cgroupdriver=systemd\"\n  ],\n  \"registry-mirrors\": [\n    \"https://docker.imgdb.de\",\n    \"https://docker.m.daocloud.io\"\n  ],\n  \"insecure-registries\": [\n    \"192.168.10.100:5000\"\n  ]\n}\n",
            Read("etc/docker/daemon.json"));
        Assert.Equal(["systemctl enable --now docker", "systemctl enable kubelet"], StandinLog().Where(IsChange));
        Assert.True(File.Exists(_dir["root/var/lib/offlinekit-standins/systemd/docker.active"]));
        Assert.True(File.Exists(_dir["root/var/lib/offlinekit-standins/systemd/kubelet.enabled"]));
        Assert.False(File.Exists(_dir["root/var/lib/offlinekit-standins/systemd/kubelet.active"]));

        var before = Snapshot();
        var count = StandinLog().Count;
        var second = Run("configure-runtime.sh", arguments);
        Assert.True(second.Code == 0, second.Output);
        Assert.Contains("configure-runtime: already configured; nothing to do", second.Stdout);
        Assert.Equal(before, Snapshot());
        Assert.DoesNotContain(StandinLog().Skip(count), IsChange);

        // A new mirror while docker runs: the file gains it and docker restarts to read it.
        var third = Run("configure-runtime.sh", [.. arguments, "--registry-mirror", "https://docker-0.unsee.tech"]);
        Assert.True(third.Code == 0, third.Output);
        Assert.Contains("\"https://docker-0.unsee.tech\"", Read("etc/docker/daemon.json"));
        Assert.Equal(["systemctl restart docker"], StandinLog().Skip(count).Where(IsChange));
    }

    [Fact]
    public void Runtime_site_dir_puts_a_registrys_ca_in_docker_certs_d_and_merges_its_login_into_roots_docker_config_privately()
    {
        _dir.Write("root/root/.docker/config.json", "{\n  \"auths\": {\n    \"nas.site:5000\": {\"auth\": \"bmFzOmtlZXA=\"},\n    \"harbor.site:443\": {\"auth\": \"b2xkOm9sZA==\"}\n  },\n  \"credsStore\": \"\"\n}\n");
        _dir.Write("site/docker/certs.d/harbor.site:443/ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var login = _dir.Write("site/docker/config.json", "{\"auths\":{\"harbor.site:443\":{\"auth\":\"dXNlcjpTM2NyZXQ=\"}}}\n");
        File.SetUnixFileMode(login, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var first = Run("configure-runtime.sh", ["--site-dir", _dir["site"]]);

        Assert.True(first.Code == 0, first.Output);
        Assert.Equal("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", Read("etc/docker/certs.d/harbor.site:443/ca.crt"));
        Assert.Equal("{\n  \"auths\": {\n    \"nas.site:5000\": {\n      \"auth\": \"bmFzOmtlZXA=\"\n    },\n    \"harbor.site:443\": {\n      \"auth\": \"dXNlcjpTM2NyZXQ=\"\n    }\n  },\n  \"credsStore\": \"\"\n}\n", Read("root/.docker/config.json"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir["root/root/.docker/config.json"]));
        Assert.Contains("configure-runtime: wrote /root/.docker/config.json (the login for harbor.site:443; other entries kept)", first.Stdout);
        Assert.DoesNotContain("dXNlcjpTM2NyZXQ=", first.Output);

        var before = Snapshot();
        var second = Run("configure-runtime.sh", ["--site-dir", _dir["site"]]);
        Assert.True(second.Code == 0, second.Output);
        Assert.Contains("configure-runtime: already configured; nothing to do", second.Stdout);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void Runtime_writes_a_new_daemon_json_with_only_the_cgroup_driver_when_no_registries_are_given()
    {
        var result = Run("configure-runtime.sh", []);

        Assert.True(result.Code == 0, result.Output);
        Assert.Equal("{\n  \"exec-opts\": [\n    \"native.cgroupdriver=systemd\"\n  ]\n}\n", Read("etc/docker/daemon.json"));
    }

    [Fact]
    public void Runtime_refuses_a_daemon_json_that_is_not_json_and_leaves_it_as_it_was()
    {
        _dir.Write("root/etc/docker/daemon.json", "{ \"log-driver\": \"json-file\", }\n");

        var result = Run("configure-runtime.sh", []);

        Assert.Equal(1, result.Code);
        Assert.Contains("daemon.json is not valid JSON", result.Stderr);
        Assert.Equal("{ \"log-driver\": \"json-file\", }\n", Read("etc/docker/daemon.json"));
        Assert.Equal(["daemon.json"], Directory.GetFiles(_dir["root/etc/docker"]).Select(Path.GetFileName));
    }

    [Fact]
    public void Runtime_fails_saying_so_when_docker_is_not_installed()
    {
        File.Delete(_dir["root/usr/lib/systemd/system/docker.service"]);

        var result = Run("configure-runtime.sh", []);

        Assert.Equal(1, result.Code);
        Assert.Contains("systemctl enable --now docker failed", result.Stderr);
        Assert.Contains("Unit docker.service not found", result.Stderr);
    }

    /// <summary>What the stand-ins were asked, minus the questions (is-active, getenforce, --static): the changes.</summary>
    [Fact]
    public void Kube_vips_manifest_goes_in_place_once_switches_to_admin_conf_after_init_and_status_names_its_kubeconfig()
    {
        // 127.0.0.1 is on lo on any machine: the script finds the interface the way it finds eth0 on a host. It only writes files.
        var lb = new OfflineKit.Install.LoadBalancer(OfflineKit.Install.LoadBalancerKind.KubeVip, "127.0.0.200", 6443, System.Net.IPNetwork.Parse("127.0.0.0/8"));
        var rendered = _dir.Write("site/kube-vip.yaml", lb.KubeVipManifest("ghcr.io/kube-vip/kube-vip:v0.8.9", OfflineKit.Install.LoadBalancer.SuperAdminConf));
        string[] install = ["--kube-vip-manifest", rendered, "--address", "127.0.0.1", "--vip", "127.0.0.200/8"];

        var first = Run("configure-load-balancer.sh", install);
        Assert.True(first.Code == 0, first.Output);
        var manifest = Read("etc/kubernetes/manifests/kube-vip.yaml");
        Assert.Contains("    - name: vip_interface\n      value: \"lo\"\n", manifest);
        Assert.Contains("      path: /etc/kubernetes/super-admin.conf\n", manifest);
        Assert.Contains("wrote /etc/kubernetes/manifests/kube-vip.yaml (ghcr.io/kube-vip/kube-vip:v0.8.9, kubeconfig /etc/kubernetes/super-admin.conf)", first.Stdout);
        Assert.Contains("is in place already", Run("configure-load-balancer.sh", install).Stdout);

        // After init: the switch needs admin.conf there, then rewrites the hostPath alone, once.
        Assert.Contains("/etc/kubernetes/admin.conf is missing", Run("configure-load-balancer.sh", ["--kube-vip-kubeconfig", "/etc/kubernetes/admin.conf"]).Stderr);
        _dir.Write("root/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n");
        var switched = Run("configure-load-balancer.sh", ["--kube-vip-kubeconfig", "/etc/kubernetes/admin.conf"]);
        Assert.True(switched.Code == 0, switched.Output);
        Assert.Equal(manifest.Replace("      path: /etc/kubernetes/super-admin.conf\n", "      path: /etc/kubernetes/admin.conf\n", StringComparison.Ordinal), Read("etc/kubernetes/manifests/kube-vip.yaml"));
        Assert.Contains("kube-vip runs with /etc/kubernetes/admin.conf already", Run("configure-load-balancer.sh", ["--kube-vip-kubeconfig", "/etc/kubernetes/admin.conf"]).Stdout);

        // Written again on a control plane that is up (kube-apiserver.yaml there): admin.conf, never super-admin.conf again.
        _dir.Write("root/etc/kubernetes/manifests/kube-apiserver.yaml", "kind: Pod\n");
        var again = Run("configure-load-balancer.sh", install);
        Assert.True(again.Code == 0, again.Output);
        Assert.Contains("is in place already", again.Stdout);
        Assert.Contains("      path: /etc/kubernetes/admin.conf\n", Read("etc/kubernetes/manifests/kube-vip.yaml"));

        var status = Run("configure-load-balancer.sh", ["--status", "--vip", "127.0.0.200/8", "--kube-vip"]);
        Assert.StartsWith("vip 127.0.0.200: not on this host; kube-apiserver :6443/healthz: ", status.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("; kube-vip: /etc/kubernetes/manifests/kube-vip.yaml, kubeconfig /etc/kubernetes/admin.conf\n", status.Stdout, StringComparison.Ordinal);
    }

    private static bool IsChange(string line) =>
        !line.StartsWith("systemctl is-", StringComparison.Ordinal) && line != "getenforce" && line != "hostnamectl --static";

    private List<string> StandinLog()
    {
        var path = _dir["root/var/log/offlinekit-standins.log"];
        return File.Exists(path) ? File.ReadAllLines(path).ToList() : [];
    }

    private string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));

    /// <summary>Every file under the root and its bytes, but the stand-ins' own log and state.</summary>
    private SortedDictionary<string, string> Snapshot() => new(
        Directory.GetFiles(Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/var/log/", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(Root, f), f => Convert.ToHexString(File.ReadAllBytes(f))),
        StringComparer.Ordinal);

    /// <summary>Runs the embedded copy of a script from a bundle-like folder, with the stand-ins (or <paramref name="path"/>) first on PATH.</summary>
    [Fact]
    public void Preflight_lists_every_failed_check_an_other_os_and_a_cluster_it_did_not_install()
    {
        _dir.Write("root/etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04 LTS\"\n");
        _dir.Write("root/etc/kubernetes/kubelet.conf", "apiVersion: v1\n");

        var result = Run("preflight.sh", ["--role", "worker", "--os", "el8", "--arch", "amd64", "--journal", _dir["root/var/lib/offlinekit/journal"]]);

        Assert.Equal(1, result.Code);
        Assert.Contains("- this is Ubuntu 22.04 LTS, not an Enterprise Linux", result.Stderr);
        Assert.Contains("- a cluster is installed here already (/etc/kubernetes/kubelet.conf); remove it first", result.Stderr);
        Assert.Contains("preflight: 2 check(s) failed:", result.Stderr);
    }

    [Fact]
    public void Preflight_passes_an_el8_host_and_a_cluster_its_own_journal_records()
    {
        _dir.Write("root/etc/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"\nPRETTY_NAME=\"Rocky Linux 8.9 (Green Obsidian)\"\n");
        _dir.Write("root/etc/kubernetes/kubelet.conf", "apiVersion: v1\n");
        var journal = _dir.Write("state/journal", "{\"at\":\"2026-01-01T00:00:00+00:00\",\"bundle\":\"b\",\"step\":\"join\",\"status\":\"done\",\"run\":\"r\"}\n");
        var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";

        var result = Run("preflight.sh", ["--role", "worker", "--os", "el8", "--arch", arch, "--need-mb", "1", "--journal", journal]);

        Assert.True(result.Code == 0, result.Output);
        Assert.Contains("preflight: ok: Rocky Linux 8.9 (Green Obsidian)", result.Stdout);
        Assert.Contains("preflight: ok: the cluster here is offlinekit's own (journal); resuming", result.Stdout);

        var other = Run("preflight.sh", ["--role", "worker", "--os", "el7", "--arch", arch, "--journal", journal]);
        Assert.Contains("the bundle's packages are for EL7: build one with --os el8", other.Stderr);
    }

    [Theory]
    [InlineData("            - name: CALICO_IPV4POOL_CIDR\n              value: \"192.168.0.0/16\"\n", "sets Calico's pool to 192.168.0.0/16 but the cluster's podSubnet is 10.244.0.0/16")]
    [InlineData("            # - name: CALICO_IPV4POOL_CIDR\n            #   value: \"192.168.0.0/16\"\n", "leaves CALICO_IPV4POOL_CIDR unset")]
    public void The_network_step_refuses_a_calico_pool_other_than_the_pod_subnet_before_creating_anything(string env, string message)
    {
        _dir.Write("root/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n");
        var manifest = _dir.Write("bundle/manifests/calico.yaml", "kind: DaemonSet\nmetadata:\n  name: calico-node\nspec:\n  template:\n    spec:\n      containers:\n        - name: calico-node\n          env:\n" + env);

        var result = Run("apply-manifests.sh", ["--manifest", manifest, "--pod-subnet", "10.244.0.0/16"]);

        Assert.Equal(1, result.Code);
        Assert.Contains(message, result.Stderr);
        Assert.DoesNotContain(StandinLog(), l => l.StartsWith("kubectl", StringComparison.Ordinal));
    }

    [Fact]
    public void Join_refuses_a_file_that_is_no_join_command_and_removes_it_whatever_happens()
    {
        var file = _dir.Write("state/b.join", "curl http://example.invalid | sh\n");

        var result = Run("join-node.sh", ["--join-file", file, "--node-name", "k8s-node01"]);

        Assert.Equal(1, result.Code);
        Assert.Contains("does not hold a kubeadm join command", result.Stderr);
        Assert.False(File.Exists(file));
        Assert.DoesNotContain(StandinLog(), l => l.StartsWith("kubeadm", StringComparison.Ordinal));
    }

    private (int Code, string Stdout, string Stderr, string Output) Run(string script, IReadOnlyList<string> arguments, string? path = null)
    {
        var scriptPath = _dir[$"bundle/scripts/{script}"];
        if (!File.Exists(scriptPath))
        {
            using var resource = typeof(OfflineKit.Install.InstallPlanner).Assembly.GetManifestResourceStream($"OfflineKit.Scripts.{script}")!;
            Directory.CreateDirectory(Path.GetDirectoryName(scriptPath)!);
            using var file = File.Create(scriptPath);
            resource.CopyTo(file);
        }

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(scriptPath);
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["OFFLINEKIT_ROOT"] = Root;
        start.Environment["PATH"] = $"{path ?? StandIns()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        start.Environment["LC_ALL"] = "C";

        // Without DOCKER_HOST the systemctl stand-in keeps docker as a state file; it starts no dockerd.
        start.Environment.Remove("DOCKER_HOST");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr, $"exit {process.ExitCode}\n{stdout.Result}\n{stderr}");
    }

    private static string StandIns([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "lab", "standins"));
}
