using System.Text.RegularExpressions;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

/// <summary>The dry-run plan of three control planes behind keepalived + haproxy and two workers (`inventory init --ha`).</summary>
public partial class HighAvailabilityPlanTests
{
    private static readonly string[] ControlPlanes = ["k8s-master01", "k8s-master02", "k8s-master03"];

    internal static BundleContents Bundle() => InstallPlannerTests.GuideBundle() with
    {
        Files = [.. InstallPlannerTests.GuideBundle().Files, new BundleFileEntry(BundleLayout.ConfigureLoadBalancerScript, 3000, new string('d', 64))],
    };

    internal static Inventory Ha(string? replace = null, string? with = null)
    {
        var text = InventoryLoader.ExampleText(ha: true);
        return InventoryLoader.Parse(replace is null ? text : text.Replace(replace, with, StringComparison.Ordinal), "inventory.yaml", "/");
    }

    private static InstallPlan Plan(Inventory? inventory = null) => InstallPlanner.Plan(inventory ?? Ha(), Bundle(), InstallPlannerTests.Token);

    private static HostStep Step(InstallPlan plan, string host, string id) => plan.For(host).Steps.Single(s => s.Id == id);

    [Fact]
    public void Only_the_control_planes_behind_keepalived_haproxy_install_them_and_no_node_installs_the_depots_nginx()
    {
        Artifact Rpm(string name) => new() { Kind = ArtifactKind.Rpm, Name = name, Digest = "sha256:" + new string('0', 64), Size = 1, Path = $"rpms/{name}.rpm" };
        var bundle = Bundle() with { Artifacts = [.. Bundle().Artifacts, Rpm("haproxy"), Rpm("keepalived"), Rpm("nginx"), Rpm("chrony")] };
        string Packages(InstallPlan plan, string host) =>
            plan.For(host).Steps.Single(s => s.Id == InstallPlanner.PackagesStep).Actions.OfType<RunCommand>().Single().Command.Script;

        var ha = InstallPlanner.Plan(Ha(), bundle, InstallPlannerTests.Token);
        foreach (var cp in ControlPlanes)
        {
            Assert.EndsWith("--role control-plane --skip nginx", Packages(ha, cp), StringComparison.Ordinal);
        }

        Assert.EndsWith("--role worker --skip haproxy --skip keepalived --skip nginx", Packages(ha, "k8s-node01"));
        var guide = InstallPlanner.Plan(InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/"), bundle, InstallPlannerTests.Token);
        Assert.EndsWith("--role control-plane --skip haproxy --skip keepalived --skip nginx", Packages(guide, "k8s-master"));

        // A bundle that does not carry them (an older one) is never asked to skip them: its script would not know --skip.
        Assert.DoesNotContain("--skip", Packages(InstallPlanner.Plan(Ha(), Bundle(), InstallPlannerTests.Token), "k8s-node01"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_control_plane_inits_with_upload_certs_and_the_vip_endpoint()
    {
        var plan = Plan();
        var init = Step(plan, "k8s-master01", InstallPlanner.InitStep);
        var command = init.Actions.OfType<RunCommand>().Single().Command.Script;

        Assert.EndsWith("--upload-certs", command, StringComparison.Ordinal);
        Assert.Contains("kubeadm init --config --upload-certs", init.Title, StringComparison.Ordinal);
        var config = init.Actions.OfType<WriteFile>().Single().Content;
        Assert.Contains("controlPlaneEndpoint: 192.168.10.100:8443", config, StringComparison.Ordinal);
        Assert.Contains("advertiseAddress: 192.168.10.101", config, StringComparison.Ordinal);
        Assert.DoesNotContain(InstallPlanner.InitStep, plan.Hosts.Where(h => h.Host.Name != "k8s-master01").SelectMany(h => h.Steps).Select(s => s.Id));
    }

    [Fact]
    public void The_other_control_planes_join_one_at_a_time_and_the_workers_after_them_done_or_not()
    {
        var plan = Plan();

        Assert.Equal([new StepRef("k8s-master01", "init")], Step(plan, "k8s-master02", "join").Needs);
        Assert.Equal([new StepRef("k8s-master01", "init"), new StepRef("k8s-master02", "join")], Step(plan, "k8s-master03", "join").Needs);
        foreach (var worker in new[] { "k8s-node01", "k8s-node02" })
        {
            Assert.Equal(
                [new StepRef("k8s-master01", "init"), new StepRef("k8s-master02", "join", AfterOnly: true), new StepRef("k8s-master03", "join", AfterOnly: true)],
                Step(plan, worker, "join").Needs);
        }

        var text = plan.Describe();
        Assert.Contains("join: kubeadm join --config --control-plane (a token and certificate key fresh from k8s-master01), after k8s-master02: a new etcd member [waits for k8s-master01/init, k8s-master02/join]", text, StringComparison.Ordinal);
        Assert.Contains("[waits for k8s-master01/init] [after k8s-master02/join, k8s-master03/join, done or not]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_control_planes_join_configuration_asks_for_a_control_plane_with_its_own_address_and_the_certificate_key()
    {
        var plan = Plan();
        var fetch = Step(plan, "k8s-master03", "join").Actions.OfType<FetchJoinCommand>().Single();

        Assert.True(fetch.CertificateKey);
        Assert.Equal("k8s-master01", fetch.ControlPlane);
        Assert.Contains("controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: 192.168.10.103\n    bindPort: 6443\n  certificateKey: <certificate-key>\n", fetch.JoinConfiguration, StringComparison.Ordinal);
        Assert.Contains("name: k8s-master03", fetch.JoinConfiguration, StringComparison.Ordinal);
        Assert.Contains(FetchJoinCommand.UploadCertsCommand.Script + "   # once a run; prints the certificate key (valid 2 h): kept in memory, never logged", plan.Describe(), StringComparison.Ordinal);

        var worker = Step(plan, "k8s-node01", "join").Actions.OfType<FetchJoinCommand>().Single();
        Assert.False(worker.CertificateKey);
    }

    [Fact]
    public void Every_control_plane_gets_haproxy_and_keepalived_configs_naming_all_three_api_servers_before_kubeadm_runs()
    {
        var plan = Plan();
        for (var i = 0; i < ControlPlanes.Length; i++)
        {
            var host = plan.For(ControlPlanes[i]);
            var ids = host.Steps.Select(s => s.Id).ToList();
            Assert.True(ids.IndexOf(LoadBalancerRecipe.LoadBalancerStep) == ids.IndexOf(InstallPlanner.ImagesStep) + 1, string.Join(", ", ids));
            Assert.True(ids.IndexOf(LoadBalancerRecipe.LoadBalancerStep) < ids.IndexOf(i == 0 ? InstallPlanner.InitStep : InstallPlanner.JoinStep));

            var step = Step(plan, ControlPlanes[i], LoadBalancerRecipe.LoadBalancerStep);
            var files = step.Actions.OfType<WriteFile>().ToDictionary(f => Path.GetFileName(f.RemotePath), f => f.Content);
            Assert.Equal(["haproxy.cfg", "keepalived.conf", "check-apiserver.sh"], files.Keys);
            Assert.Contains("    bind *:8443\n", files["haproxy.cfg"], StringComparison.Ordinal);
            Assert.Contains("    server k8s-master01 192.168.10.101:6443 check check-ssl verify none\n    server k8s-master02 192.168.10.102:6443 check check-ssl verify none\n    server k8s-master03 192.168.10.103:6443 check check-ssl verify none\n", files["haproxy.cfg"], StringComparison.Ordinal);
            Assert.DoesNotContain("6443\n    bind", files["haproxy.cfg"], StringComparison.Ordinal);

            var keepalived = files["keepalived.conf"];
            Assert.Contains($"    priority {150 - i}\n", keepalived, StringComparison.Ordinal);
            Assert.Contains($"    unicast_src_ip 192.168.10.10{i + 1}\n", keepalived, StringComparison.Ordinal);
            Assert.Equal(
                ControlPlanes.Select((_, j) => $"192.168.10.10{j + 1}").Where((_, j) => j != i),
                PeersOf(keepalived));
            Assert.Contains("    virtual_ipaddress {\n        192.168.10.100/24\n    }\n", keepalived, StringComparison.Ordinal);
            Assert.Contains("    virtual_router_id 100\n", keepalived, StringComparison.Ordinal);
            Assert.Contains("    weight -50\n", keepalived, StringComparison.Ordinal);
            Assert.Contains("curl -sfk --max-time 2 https://127.0.0.1:6443/healthz", files["check-apiserver.sh"], StringComparison.Ordinal);

            var command = step.Actions.OfType<RunCommand>().Last().Command;
            Assert.True(command.AsRoot);
            Assert.Contains("scripts/configure-load-balancer.sh --haproxy-config ", command.Script, StringComparison.Ordinal);
            Assert.EndsWith($"--address 192.168.10.10{i + 1} --vip 192.168.10.100/24", command.Script, StringComparison.Ordinal);
            Assert.Equal(i == 0 ? [] : [new StepRef("k8s-master01", LoadBalancerRecipe.LoadBalancerStep)], step.Needs);
        }

        Assert.All(new[] { "k8s-node01", "k8s-node02" }, w => Assert.DoesNotContain(plan.For(w).Steps, s => s.Id == LoadBalancerRecipe.LoadBalancerStep));
        var text = plan.Describe();
        Assert.Contains("  | backend kube-apiserver", text, StringComparison.Ordinal);
        Assert.Contains("  |     server k8s-master03 192.168.10.103:6443 check check-ssl verify none", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bundle_without_the_load_balancer_script_still_shows_the_configs_and_fails_that_step_saying_so()
    {
        var plan = InstallPlanner.Plan(Ha(), InstallPlannerTests.GuideBundle(), InstallPlannerTests.Token);
        var step = Step(plan, "k8s-master01", LoadBalancerRecipe.LoadBalancerStep);

        Assert.Equal(3, step.Actions.OfType<WriteFile>().Count());
        Assert.Equal("scripts/configure-load-balancer.sh", Assert.IsType<MissingFromBundle>(step.Actions[^1]).Path);
    }

    [Fact]
    public void Preflight_checks_the_vip_subnet_on_every_control_plane_and_that_the_vip_is_unused_on_the_first()
    {
        var plan = Plan();
        string Preflight(string host) => Step(plan, host, InstallPlanner.PreflightStep).Actions.OfType<RunCommand>().Single().Command.Script;

        Assert.EndsWith("--address 192.168.10.101 --vip 192.168.10.100/24 --lb-port 8443 --vip-unused", Preflight("k8s-master01"), StringComparison.Ordinal);
        Assert.EndsWith("--address 192.168.10.102 --vip 192.168.10.100/24 --lb-port 8443", Preflight("k8s-master02"), StringComparison.Ordinal);
        Assert.DoesNotContain("--vip", Preflight("k8s-node01"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_control_plane_serves_time_to_every_other_host()
    {
        var plan = Plan();
        string Time(string host) => Step(plan, host, InstallPlanner.TimeStep).Actions.OfType<RunCommand>().Single().Command.Script;

        Assert.Contains("--serve --allow 192.168.10.102 --allow 192.168.10.103 --allow 192.168.10.111 --allow 192.168.10.112", Time("k8s-master01"), StringComparison.Ordinal);
        Assert.EndsWith("--server 192.168.10.101", Time("k8s-master03"), StringComparison.Ordinal);
        Assert.EndsWith("--server 192.168.10.101", Time("k8s-node02"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_dry_run_shows_no_secret()
    {
        var text = Plan().Describe();

        Assert.DoesNotContain(InstallPlannerTests.Token, text, StringComparison.Ordinal);
        Assert.DoesNotMatch(SecretLike(), text);
    }

    [Fact]
    public void An_external_load_balancer_is_only_checked_to_answer_before_init()
    {
        var text = InventoryLoader.ExampleText(ha: true)
            .Replace("controlPlaneEndpoint: 192.168.10.100:8443", "controlPlaneEndpoint: f5.site:6443", StringComparison.Ordinal)
            .Replace("  loadBalancer: keepalived-haproxy\n", "  loadBalancer: external\n", StringComparison.Ordinal)
            .Replace("  vipSubnet: 192.168.10.0/24\n", string.Empty, StringComparison.Ordinal);
        var plan = Plan(InventoryLoader.Parse(text, "inventory.yaml", "/"));

        var step = Step(plan, "k8s-master01", LoadBalancerRecipe.LoadBalancerStep);
        Assert.Equal("$ timeout 5 bash -c 'exec 3<>/dev/tcp/f5.site/6443'", Assert.Single(step.Actions).Describe(plan.For("k8s-master01").Host).Single());
        Assert.DoesNotContain(plan.For("k8s-master02").Steps, s => s.Id == LoadBalancerRecipe.LoadBalancerStep);
        Assert.Contains("controlPlaneEndpoint: f5.site:6443", Step(plan, "k8s-master01", "init").Actions.OfType<WriteFile>().Single().Content, StringComparison.Ordinal);
        Assert.Equal([new StepRef("k8s-master01", "init"), new StepRef("k8s-master02", "join")], Step(plan, "k8s-master03", "join").Needs);
    }

    [Fact]
    public void One_control_plane_plans_as_before_no_load_balancer_no_upload()
    {
        var plan = InstallPlanner.Plan(InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/"), Bundle(), InstallPlannerTests.Token);

        Assert.DoesNotContain(plan.Hosts.SelectMany(h => h.Steps), s => s.Id == LoadBalancerRecipe.LoadBalancerStep);
        Assert.DoesNotContain("--upload-certs", Step(plan, "k8s-master", "init").Actions.OfType<RunCommand>().Single().Command.Script, StringComparison.Ordinal);
        Assert.Equal([new StepRef("k8s-master", "init")], Step(plan, "k8s-node01", "join").Needs);
    }

    [Fact]
    public void Reset_takes_the_workers_first_then_the_control_planes_in_reverse_order()
    {
        var plan = ResetPlanner.Plan(Ha(), purge: false);

        Assert.Empty(Step(plan, "k8s-node01", ResetPlanner.ResetStep).Needs);
        Assert.Equal([new StepRef("k8s-node01", "reset", true), new StepRef("k8s-node02", "reset", true)], Step(plan, "k8s-master03", ResetPlanner.ResetStep).Needs);
        Assert.Equal([new StepRef("k8s-master03", "reset", true)], Step(plan, "k8s-master02", ResetPlanner.ResetStep).Needs);
        Assert.Equal([new StepRef("k8s-master02", "reset", true)], Step(plan, "k8s-master01", ResetPlanner.ResetStep).Needs);
    }

    [Fact]
    public void The_certificate_key_fills_a_control_planes_join_configuration_and_is_redacted_everywhere()
    {
        const string Key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        const string Join = "kubeadm join 192.168.10.100:8443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        var template = Step(Plan(), "k8s-master02", "join").Actions.OfType<FetchJoinCommand>().Single().JoinConfiguration!;

        var filled = KubeadmConfig.FillJoin(template, Join, Key);
        Assert.Contains($"certificateKey: {Key}", filled, StringComparison.Ordinal);
        Assert.Contains("apiServerEndpoint: 192.168.10.100:8443", filled, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => KubeadmConfig.FillJoin(template, Join));

        var redacted = KubeadmConfig.RedactSecrets(filled + "\n[upload-certs] Using certificate key:\n" + Key + "\n" + Join);
        Assert.DoesNotContain(Key, redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("abcdef.0123456789abcdef", redacted, StringComparison.Ordinal);
        Assert.Contains("sha256:fedcba9876543210", redacted, StringComparison.Ordinal);
        Assert.Contains("certificateKey: <certificate-key>", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_asks_every_control_plane_about_the_vip_and_the_first_about_etcd_members()
    {
        var inventory = Ha();
        string? Lb(string host) => LoadBalancerRecipe.StatusCommand(inventory, inventory.Hosts.Single(h => h.Name == host), "/b")?.Script;
        string? Etcd(string host) => LoadBalancerRecipe.EtcdMembersCommand(inventory, inventory.Hosts.Single(h => h.Name == host), "/b")?.Script;

        Assert.Equal("bash /b/scripts/configure-load-balancer.sh --status --vip 192.168.10.100/24 --lb-port 8443", Lb("k8s-master02"));
        Assert.Null(Lb("k8s-node01"));
        Assert.Equal("bash /b/scripts/apply-manifests.sh --show-etcd-members k8s-master01", Etcd("k8s-master01"));
        Assert.Null(Etcd("k8s-master02"));
        var single = InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/");
        Assert.Null(LoadBalancerRecipe.EtcdMembersCommand(single, single.ControlPlane, "/b"));
        Assert.Null(LoadBalancerRecipe.StatusCommand(single, single.ControlPlane, "/b"));
    }

    [Fact]
    public async Task Install_dry_run_of_the_ha_example_shows_init_upload_certs_serial_joins_workers_after_and_the_configs()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteTarballAsync(dir["out"], files: DryRunFiles());
        var inventory = dir.Write("inventory.yaml", InventoryLoader.ExampleText(ha: true));

        // 192.168.10.x is not reachable from here and no secret is set: a dry run needs neither.
        var (code, stdout, stderr) = await CliRunner.RunAsync(["install", bundle, "--inventory", inventory, "--dry-run"]);

        Assert.True(code == 0, stderr);
        Assert.Contains("init: kubeadm init --config --upload-certs", stdout, StringComparison.Ordinal);
        Assert.Contains("  | controlPlaneEndpoint: 192.168.10.100:8443", stdout, StringComparison.Ordinal);
        Assert.Contains("after k8s-master01: a new etcd member [waits for k8s-master01/init]", stdout, StringComparison.Ordinal);
        Assert.Contains("after k8s-master02: a new etcd member [waits for k8s-master01/init, k8s-master02/join]", stdout, StringComparison.Ordinal);
        Assert.Equal(2, stdout.Split('\n').Count(l => l.Contains("[after k8s-master02/join, k8s-master03/join, done or not]", StringComparison.Ordinal) && l.Contains("join: kubeadm join", StringComparison.Ordinal)));
        foreach (var cp in new[] { "k8s-master01 192.168.10.101", "k8s-master02 192.168.10.102", "k8s-master03 192.168.10.103" })
        {
            Assert.Equal(3, stdout.Split('\n').Count(l => l.EndsWith($"  |     server {cp}:6443 check check-ssl verify none", StringComparison.Ordinal)));
        }

        Assert.Equal(3, stdout.Split('\n').Count(l => l.EndsWith("  |         192.168.10.100/24", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path, ".offlinekit", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("  - name: k8s-node01            # workers join once the control planes have\n    address: 192.168.10.111\n    roles: [worker]", "  - name: k8s-node01\n    address: 192.168.10.111\n    roles: [control-plane]", ":36: k8s-node01 makes 4 control-plane hosts; give an odd number (1, 3 or 5)")]
    [InlineData("controlPlaneEndpoint: 192.168.10.100:8443", "controlPlaneEndpoint: 192.168.20.100:8443", ":50: cluster.controlPlaneEndpoint's VIP 192.168.20.100 is outside cluster.vipSubnet 192.168.10.0/24")]
    public async Task Install_refuses_an_even_count_and_a_vip_outside_the_subnet_with_file_line(string from, string to, string expected)
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteTarballAsync(dir["out"]);
        var text = InventoryLoader.ExampleText(ha: true);
        Assert.Contains(from, text, StringComparison.Ordinal);
        var inventory = dir.Write("inventory.yaml", text.Replace(from, to, StringComparison.Ordinal));

        var (code, _, stderr) = await CliRunner.RunAsync(["install", bundle, "--inventory", inventory, "--dry-run"]);

        Assert.Equal(2, code);
        Assert.Contains(inventory + expected, stderr, StringComparison.Ordinal);
    }

    /// <summary>A small real bundle with the control-plane image (the kubeadm config's repository) and the scripts the steps run.</summary>
    private static List<BundleFile> DryRunFiles() =>
    [
        .. Bundles.SampleFiles(),
        Bundles.File("images/control-plane.tar", new string('c', 4000), ArtifactKind.Image) with
        {
            Artifact = new ArtifactInfo(ArtifactKind.Image, "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "v1.23.0", "https://example.invalid/kube-apiserver"),
        },
        .. new[] { BundleLayout.PreflightScript, BundleLayout.InitControlPlaneScript, BundleLayout.JoinNodeScript, BundleLayout.ConfigureLoadBalancerScript }
            .Select(p => Bundles.File(p, System.Text.Encoding.UTF8.GetString(OfflineKit.Scripts.EmbeddedScripts.Read(Path.GetFileName(p))), ArtifactKind.Script) with { Executable = true }),
    ];

    private static IEnumerable<string> PeersOf(string keepalived)
    {
        var block = keepalived[(keepalived.IndexOf("unicast_peer {", StringComparison.Ordinal) + "unicast_peer {".Length)..];
        return block[..block.IndexOf('}', StringComparison.Ordinal)].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [GeneratedRegex("(?<![0-9a-f:])[0-9a-f]{64}(?![0-9a-f])")]
    private static partial Regex SecretLike();
}
