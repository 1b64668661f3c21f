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
            new("scripts/import-images.sh", 3000, new string('8', 64)),
        ]);

    private static InstallPlan GuidePlan() => InstallPlanner.Plan(InventoryLoader.Parse(InventoryLoader.ExampleText(), "inventory.yaml", "/"), GuideBundle());

    [Fact]
    public void Workers_get_everything_but_the_control_plane_images()
    {
        var plan = GuidePlan();
        var worker = (PushFiles)plan.For("k8s-node01").Steps[0].Actions.OfType<PushFiles>().Single();
        var master = (PushFiles)plan.For("k8s-master").Steps[0].Actions.OfType<PushFiles>().Single();

        Assert.DoesNotContain(worker.Files, f => f.Path.StartsWith("images/control-plane", StringComparison.Ordinal));
        Assert.Equal(7, worker.Files.Count);
        Assert.Equal(GuideBundle().Files.Select(f => f.Path), master.Files.Select(f => f.Path));
    }

    [Fact]
    public void Push_and_verify_come_first_on_every_host_and_workers_join_after_the_control_plane_init()
    {
        var plan = GuidePlan();

        Assert.All(plan.Hosts, h => Assert.Equal(["push", "verify"], h.Steps.Take(2).Select(s => s.Id)));
        Assert.All(plan.Hosts, h => Assert.All(h.Steps.Take(2), s => Assert.True(s.RunsEveryRun)));
        var join = plan.For("k8s-node02").Steps.Single(s => s.Id == "kubeadm-join");
        Assert.Equal([new StepRef("k8s-master", "kubeadm-init")], join.Needs);
        Assert.Empty(plan.For("k8s-master").Steps.SelectMany(s => s.Needs));
        Assert.Contains(plan.For("k8s-master").Steps, s => s.Id == "kubeadm-init");
    }

    [Fact]
    public void Steps_without_a_script_yet_say_so_in_the_plan()
    {
        var steps = GuidePlan().Hosts.SelectMany(h => h.Steps).Where(s => s.Id is not ("push" or "verify")).ToList();
        Assert.NotEmpty(steps);
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
