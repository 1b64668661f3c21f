using System.Runtime.CompilerServices;
using OfflineKit.Bundle;
using OfflineKit.Install;

namespace OfflineKit.Tests.Install;

public class InstallPlannerTests
{
    /// <summary>A bundle shaped like a real one: both image parts with their name lists, RPMs, manifests, scripts.</summary>
    internal const string Token = "abcdef.0123456789abcdef";

    internal static BundleContents GuideBundle() => new BundleContents(
        "offlinekit-k8s-1.23.0-el8-amd64",
        [
            new("SHA256SUMS", 900, new string('0', 64)),
            new("bundle.json", 4000, new string('1', 64)),
            new("images/common.images", 120, new string('2', 64)),
            new("images/common.tar", 150L << 20, new string('3', 64)),
            new("images/control-plane.images", 300, new string('4', 64)),
            new("images/control-plane.tar", 600L << 20, new string('5', 64)),
            new("manifests/calico.yaml", 230_000, new string('6', 64)),
            new("manifests/metrics-server.yaml", 4_000, new string('6', 64)),
            new("rpms/kubeadm-1.23.0-0.x86_64.rpm", 9_000_000, new string('7', 64)),
            new("scripts/apply-manifests.sh", 3000, new string('c', 64)),
            new("scripts/configure-runtime.sh", 3000, new string('a', 64)),
            new("scripts/configure-time.sh", 3000, new string('c', 64)),
            new("scripts/import-images.sh", 3000, new string('8', 64)),
            new("scripts/init-control-plane.sh", 3000, new string('c', 64)),
            new("scripts/install-packages.sh", 3000, new string('9', 64)),
            new("scripts/join-node.sh", 3000, new string('c', 64)),
            new("scripts/preflight.sh", 3000, new string('c', 64)),
            new("scripts/prepare-host.sh", 3000, new string('b', 64)),
        ])
    {
        KubernetesVersion = "1.23.0",
        Os = "el8",
        Arch = "amd64",
        Artifacts =
        [
            Artifact(ArtifactKind.Image, "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "images/control-plane.tar"),
            Artifact(ArtifactKind.Image, "docker.io/calico/node:v3.25.2", "images/common.tar"),
            Artifact(ArtifactKind.Manifest, "calico", "manifests/calico.yaml"),
            Artifact(ArtifactKind.Manifest, "metrics-server", "manifests/metrics-server.yaml"),
        ],
    };

    private static Artifact Artifact(ArtifactKind kind, string name, string path) =>
        new() { Kind = kind, Name = name, Digest = "sha256:" + new string('0', 64), Size = 1, Path = path };

    private static Inventory GuideInventory() => InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/");

    private static InstallPlan GuidePlan() => InstallPlanner.Plan(GuideInventory(), GuideBundle(), Token);

    [Fact]
    public void Workers_get_everything_but_the_control_plane_images()
    {
        var plan = GuidePlan();
        var worker = (PushFiles)plan.For("k8s-node01").Steps[0].Actions.OfType<PushFiles>().Single();
        var master = (PushFiles)plan.For("k8s-master").Steps[0].Actions.OfType<PushFiles>().Single();

        Assert.DoesNotContain(worker.Files, f => f.Path.StartsWith("images/control-plane", StringComparison.Ordinal));
        Assert.Equal(GuideBundle().Files.Count - 2, worker.Files.Count);
        Assert.Equal(GuideBundle().Files.Select(f => f.Path), master.Files.Select(f => f.Path));
    }

    [Fact]
    public void Push_and_verify_come_first_on_every_host_and_workers_join_after_the_control_plane_init()
    {
        var plan = GuidePlan();

        Assert.All(plan.Hosts, h => Assert.Equal(["push", "verify"], h.Steps.Take(2).Select(s => s.Id)));
        Assert.All(plan.Hosts, h => Assert.All(h.Steps.Take(2), s => Assert.True(s.RunsEveryRun)));
        var join = plan.For("k8s-node02").Steps.Single(s => s.Id == "join");
        Assert.Equal([new StepRef("k8s-master", "init")], join.Needs);
        Assert.DoesNotContain(plan.For("k8s-master").Steps.SelectMany(s => s.Needs), n => !n.AfterOnly);
        Assert.Contains(plan.For("k8s-master").Steps, s => s.Id == "init");
    }

    [Fact]
    public void Prepare_packages_runtime_and_images_run_the_bundles_scripts_as_root_in_the_guides_order()
    {
        var plan = GuidePlan();
        foreach (var host in plan.Hosts)
        {
            Assert.Equal(["prepare", "packages", "runtime", "images"], host.Steps.Skip(3).Take(4).Select(s => s.Id));
            var commands = host.Steps.Skip(3).Take(4).Select(s => s.Actions.OfType<RunCommand>().Last().Command).ToList();
            Assert.All(commands, c => Assert.True(c.AsRoot));
            var role = host.Host.IsControlPlane ? "control-plane" : "worker";
            Assert.Equal($"bash {host.BundleDirectory}/scripts/install-packages.sh --role {role}", commands[1].Script);
            Assert.Equal($"bash {host.BundleDirectory}/scripts/import-images.sh --role {role}", commands[3].Script);
        }

        var prepare = plan.For("k8s-node01").Steps.Single(s => s.Id == "prepare");
        Assert.Equal(
            "bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/prepare-host.sh --hostname k8s-node01 --hosts-file /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site/hosts",
            prepare.Actions.OfType<RunCommand>().Last().Command.Script);
        var hosts = prepare.Actions.OfType<WriteFile>().Single();
        Assert.Equal("192.168.10.101=k8s-master\n192.168.10.102=k8s-node01\n192.168.10.103=k8s-node02\n", hosts.Content);

        // One text for every host: the plan of a thousand hosts holds it once, not a thousand times.
        Assert.Same(hosts.Content, plan.For("k8s-master").Steps.Single(s => s.Id == "prepare").Actions.OfType<WriteFile>().Single().Content);
    }

    [Fact]
    public void The_runtime_step_passes_the_inventorys_registry_mirrors_and_insecure_registries()
    {
        var inventory = InventoryLoader.Parse(
            "apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], user: root, auth: {password: x}}\n"
            + "cluster:\n  docker:\n    registryMirrors: [https://docker.m.daocloud.io, https://docker.imgdb.de]\n    insecureRegistries: [10.0.0.1:5000]\n",
            "inv.yaml",
            "/");
        var runtime = InstallPlanner.Plan(inventory, GuideBundle(), Token).For("cp").Steps.Single(s => s.Id == "runtime");

        Assert.Equal(
            "bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/configure-runtime.sh --registry-mirror https://docker.m.daocloud.io --registry-mirror https://docker.imgdb.de --insecure-registry 10.0.0.1:5000",
            Assert.IsType<RunCommand>(Assert.Single(runtime.Actions)).Command.Script);
    }

    [Fact]
    public void A_bundle_without_a_steps_script_fails_that_step_saying_so()
    {
        var bundle = GuideBundle() with { Files = GuideBundle().Files.Where(f => f.Path != "scripts/install-packages.sh").ToList() };
        var plan = InstallPlanner.Plan(GuideInventory(), bundle, Token);

        var missing = Assert.IsType<MissingFromBundle>(Assert.Single(plan.For("k8s-master").Steps.Single(s => s.Id == "packages").Actions));
        Assert.Contains("the bundle has no scripts/install-packages.sh", missing.Message);
    }

    [Fact]
    public void Every_host_runs_the_guides_steps_in_order_and_the_control_plane_brings_up_the_cluster()
    {
        var plan = GuidePlan();

        Assert.Equal(
            ["push", "verify", "preflight", "prepare", "packages", "runtime", "images", "init", "network", "addons", "time"],
            plan.For("k8s-master").Steps.Select(s => s.Id));
        Assert.All(plan.Hosts.Where(h => !h.Host.IsControlPlane), h => Assert.Equal(
            ["push", "verify", "preflight", "prepare", "packages", "runtime", "images", "join", "time"],
            h.Steps.Select(s => s.Id)));
        Assert.All(plan.Hosts.SelectMany(h => h.Steps), s => Assert.DoesNotContain(s.Actions, a => a is MissingFromBundle));
    }

    [Fact]
    public void Init_sends_the_kubeadm_config_from_the_inventory_as_a_private_file_and_the_dry_run_never_shows_the_token()
    {
        var plan = GuidePlan();
        var init = plan.For("k8s-master").Steps.Single(s => s.Id == "init");

        var guarantee = Assert.IsType<ProveImagesPresent>(init.Actions[0]);
        Assert.Contains("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", guarantee.Images);
        Assert.Equal("registry.aliyuncs.com/google_containers/pause:3.6", guarantee.SandboxImage);
        var config = Assert.IsType<WriteFile>(init.Actions[1]);
        Assert.True(config.Secret);
        Assert.Equal(KubeadmConfig.Render(GuideInventory(), new OfflineKit.Spec.KubernetesVersion(1, 23, 0), "registry.aliyuncs.com/google_containers", Token), config.Content);
        Assert.Equal(
            $"bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/init-control-plane.sh --config {config.RemotePath} --user root",
            Assert.IsType<RunCommand>(init.Actions[2]).Command.Script);
        Assert.DoesNotContain(Token, plan.Describe());
    }

    [Fact]
    public void Workers_join_with_a_command_fetched_from_the_control_plane_and_addons_wait_for_every_join_to_end()
    {
        var plan = GuidePlan();
        var join = plan.For("k8s-node01").Steps.Single(s => s.Id == "join");
        Assert.DoesNotContain("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", Assert.IsType<ProveImagesPresent>(join.Actions[0]).Images);
        var fetch = Assert.IsType<FetchJoinCommand>(join.Actions[1]);
        Assert.Equal("k8s-master", fetch.ControlPlane);
        Assert.Equal(
            $"bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/join-node.sh --join-file {fetch.RemotePath} --node-name k8s-node01",
            Assert.IsType<RunCommand>(join.Actions[2]).Command.Script);

        var addons = plan.For("k8s-master").Steps.Single(s => s.Id == "addons");
        Assert.Equal([new StepRef("k8s-node01", "join", AfterOnly: true), new StepRef("k8s-node02", "join", AfterOnly: true)], addons.Needs);
        var script = Assert.IsType<RunCommand>(Assert.Single(addons.Actions)).Command.Script;
        Assert.Contains("--manifest /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/manifests/metrics-server.yaml --wait-ready --wait-metrics", script);
        Assert.DoesNotContain("calico", script);
        var network = Assert.IsType<RunCommand>(Assert.Single(plan.For("k8s-master").Steps.Single(s => s.Id == "network").Actions)).Command.Script;
        Assert.EndsWith("manifests/calico.yaml --pod-subnet 10.244.0.0/16", network);
    }

    [Fact]
    public void The_control_plane_serves_time_to_the_workers_which_follow_it()
    {
        var plan = GuidePlan();

        Assert.EndsWith("configure-time.sh --serve --allow 192.168.10.102 --allow 192.168.10.103", Assert.IsType<RunCommand>(Assert.Single(plan.For("k8s-master").Steps[^1].Actions)).Command.Script);
        Assert.EndsWith("configure-time.sh --server 192.168.10.101", Assert.IsType<RunCommand>(Assert.Single(plan.For("k8s-node02").Steps[^1].Actions)).Command.Script);
    }

    [Fact]
    public void Reset_sends_its_script_to_every_host_and_the_control_plane_goes_after_the_workers()
    {
        var plan = ResetPlanner.Plan(GuideInventory(), purge: true);

        var master = Assert.Single(plan.For("k8s-master").Steps);
        Assert.Equal([new StepRef("k8s-node01", "reset", AfterOnly: true), new StepRef("k8s-node02", "reset", AfterOnly: true)], master.Needs);
        Assert.Contains("reset-host.sh", Assert.IsType<WriteFile>(master.Actions[1]).Content);
        Assert.Equal("bash /var/lib/offlinekit/reset-host.sh --state-dir /var/lib/offlinekit --user root --purge", Assert.IsType<RunCommand>(master.Actions[2]).Command.Script);
        Assert.All(plan.Hosts, h => Assert.Null(h.JournalPath));
        Assert.StartsWith("plan: reset the cluster on 3 hosts", plan.Describe());
    }

    [Fact]
    public void Dry_run_shows_the_sudo_line_a_non_root_host_gets_and_never_the_password()
    {
        var inventory = InventoryLoader.Parse(
            "apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], user: ops, auth: {password: login-Secret-1}, sudo: {password: sudo-Secret-2}}\n",
            "inv.yaml",
            "/");
        var text = InstallPlanner.Plan(inventory, GuideBundle(), Token).Describe();

        Assert.Contains("$ sudo -k -S -p '' -- sh -c 'exec </dev/null; export LC_ALL=C; install -d -m 0755 -o ops -- /var/lib/offlinekit /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64'   # the sudo password goes to stdin", text);
        Assert.DoesNotContain("Secret", text);
    }

    [Fact]
    public void Dry_run_of_the_guides_three_hosts_matches_the_snapshot()
    {
        var actual = GuidePlan().Describe();
        var path = Path.Combine(Path.GetDirectoryName(ThisFile())!, "testdata", "dry-run-guide.txt");
        if (Environment.GetEnvironmentVariable("OFFLINEKIT_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.Equal(File.ReadAllText(path), actual);
    }

    /// <summary>The snapshot lives beside this file in the source tree, where a reviewer reads its diff.</summary>
    private static string ThisFile([CallerFilePath] string path = "") => path;
}
