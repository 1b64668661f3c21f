using System.Runtime.CompilerServices;
using OfflineKit.Install;

namespace OfflineKit.Tests.Install;

public class InstallPlannerTests
{
    /// <summary>A bundle shaped like a real one: both image parts with their name lists, RPMs, manifests, scripts.</summary>
    internal static BundleContents GuideBundle() => new(
        "offlinekit-k8s-1.23.0-el8-amd64",
        [
            new("SHA256SUMS", 900, new string('0', 64)),
            new("bundle.json", 4000, new string('1', 64)),
            new("images/common.images", 120, new string('2', 64)),
            new("images/common.tar", 150L << 20, new string('3', 64)),
            new("images/control-plane.images", 300, new string('4', 64)),
            new("images/control-plane.tar", 600L << 20, new string('5', 64)),
            new("manifests/calico.yaml", 230_000, new string('6', 64)),
            new("rpms/kubeadm-1.23.0-0.x86_64.rpm", 9_000_000, new string('7', 64)),
            new("scripts/configure-runtime.sh", 3000, new string('a', 64)),
            new("scripts/import-images.sh", 3000, new string('8', 64)),
            new("scripts/install-packages.sh", 3000, new string('9', 64)),
            new("scripts/prepare-host.sh", 3000, new string('b', 64)),
        ]);

    private static InstallPlan GuidePlan() => InstallPlanner.Plan(InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/"), GuideBundle());

    [Fact]
    public void Workers_get_everything_but_the_control_plane_images()
    {
        var plan = GuidePlan();
        var worker = (PushFiles)plan.For("k8s-node01").Steps[0].Actions.OfType<PushFiles>().Single();
        var master = (PushFiles)plan.For("k8s-master").Steps[0].Actions.OfType<PushFiles>().Single();

        Assert.DoesNotContain(worker.Files, f => f.Path.StartsWith("images/control-plane", StringComparison.Ordinal));
        Assert.Equal(10, worker.Files.Count);
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
        Assert.Empty(plan.For("k8s-master").Steps.SelectMany(s => s.Needs));
        Assert.Contains(plan.For("k8s-master").Steps, s => s.Id == "init");
    }

    [Fact]
    public void Prepare_packages_runtime_and_images_run_the_bundles_scripts_as_root_in_the_guides_order()
    {
        var plan = GuidePlan();
        foreach (var host in plan.Hosts)
        {
            Assert.Equal(["prepare", "packages", "runtime", "images"], host.Steps.Skip(2).Take(4).Select(s => s.Id));
            var commands = host.Steps.Skip(2).Take(4).Select(s => Assert.IsType<RunCommand>(Assert.Single(s.Actions)).Command).ToList();
            Assert.All(commands, c => Assert.True(c.AsRoot));
            var role = host.Host.IsControlPlane ? "control-plane" : "worker";
            Assert.Equal($"bash {host.BundleDirectory}/scripts/install-packages.sh --role {role}", commands[1].Script);
            Assert.Equal($"bash {host.BundleDirectory}/scripts/import-images.sh --role {role}", commands[3].Script);
        }

        var prepare = plan.For("k8s-node01").Steps.Single(s => s.Id == "prepare").Actions.OfType<RunCommand>().Single().Command.Script;
        Assert.Equal(
            "bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/prepare-host.sh --hostname k8s-node01 --host 192.168.10.101=k8s-master --host 192.168.10.102=k8s-node01 --host 192.168.10.103=k8s-node02",
            prepare);
    }

    [Fact]
    public void The_runtime_step_passes_the_inventorys_registry_mirrors_and_insecure_registries()
    {
        var inventory = InventoryLoader.Parse(
            "apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], user: root, auth: {password: x}}\n"
            + "cluster:\n  docker:\n    registryMirrors: [https://docker.m.daocloud.io, https://docker.imgdb.de]\n    insecureRegistries: [10.0.0.1:5000]\n",
            "inv.yaml",
            "/");
        var runtime = InstallPlanner.Plan(inventory, GuideBundle()).For("cp").Steps.Single(s => s.Id == "runtime");

        Assert.Equal(
            "bash /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/scripts/configure-runtime.sh --registry-mirror https://docker.m.daocloud.io --registry-mirror https://docker.imgdb.de --insecure-registry 10.0.0.1:5000",
            Assert.IsType<RunCommand>(Assert.Single(runtime.Actions)).Command.Script);
    }

    [Fact]
    public void A_bundle_without_a_steps_script_fails_that_step_saying_so()
    {
        var bundle = GuideBundle() with { Files = GuideBundle().Files.Where(f => f.Path != "scripts/install-packages.sh").ToList() };
        var plan = InstallPlanner.Plan(InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/"), bundle);

        var missing = Assert.IsType<MissingFromBundle>(Assert.Single(plan.For("k8s-master").Steps.Single(s => s.Id == "packages").Actions));
        Assert.Contains("the bundle has no scripts/install-packages.sh", missing.Message);
    }

    [Fact]
    public void Steps_without_a_script_yet_say_so_in_the_plan()
    {
        var steps = GuidePlan().Hosts.SelectMany(h => h.Steps).Where(s => s.Id is "init" or "network" or "join" or "addons" or "time").ToList();
        Assert.Equal(3 + 2 + 3, steps.Count);
        Assert.All(steps, s => Assert.IsType<NotImplementedYet>(Assert.Single(s.Actions)));
    }

    [Fact]
    public void Dry_run_shows_the_sudo_line_a_non_root_host_gets_and_never_the_password()
    {
        var inventory = InventoryLoader.Parse(
            "apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], user: ops, auth: {password: login-Secret-1}, sudo: {password: sudo-Secret-2}}\n",
            "inv.yaml",
            "/");
        var text = InstallPlanner.Plan(inventory, GuideBundle()).Describe();

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
