using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.Install.Ssh;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

/// <summary>
/// cluster.sources: site, read as --dry-run prints it: the bundle pushed once, to the depot, which checks
/// and serves it; every other host fetching its scripts from the depot, installing packages from its
/// repository and pulling its images through the runtime's mirror configuration, names unchanged.
/// </summary>
public class SitePlanTests
{
    private const string Head = "apiVersion: offlinekit/v1\nkind: Inventory\n";
    private const string Auth = "defaults:\n  auth: {passwordEnv: PW}\n";

    /// <summary>A site of <paramref name="count"/> hosts: a depot of its own (unless <paramref name="depot"/> is false), a control plane, the rest workers.</summary>
    internal static string SiteInventory(int count, bool depot = true, string site = "")
    {
        var sb = new StringBuilder(Head).Append(Auth).Append("hosts:\n");
        var first = 1;
        if (depot)
        {
            sb.Append("  - {name: depot, address: 10.0.0.250, roles: [depot]}\n");
            first = 2;
        }

        sb.Append("  - {name: cp, address: 10.0.1.1, roles: [control-plane]}\n");
        for (var i = first; i < count; i++)
        {
            sb.Append($"  - {{name: w{i:000}, address: 10.0.2.{i}, roles: [worker]}}\n");
        }

        return sb.Append("cluster:\n  sources: site\n").Append(site).ToString();
    }

    private static Inventory Parse(string yaml) => InventoryLoader.Parse(yaml, "inv.yaml", "/nonexistent");

    private static InstallPlan Plan(string yaml, BundleContents? bundle = null) =>
        InstallPlanner.Plan(Parse(yaml), bundle ?? WithDepotScript(InstallPlannerTests.GuideBundle()), InstallPlannerTests.Token);

    /// <summary>The bundle with the depot's script, and SHA256SUMS and bundle.json as every real bundle has (a node's fetch is checked through them).</summary>
    private static BundleContents WithDepotScript(BundleContents bundle) => bundle with
    {
        Files =
        [
            .. new[] { BundleLayout.SumsFile, BundleLayout.ManifestFile }.Where(p => !bundle.Has(p)).Select(p => new BundleFileEntry(p, 900, new string('e', 64))),
            .. bundle.Files,
            new BundleFileEntry(BundleLayout.ServeDepotScript, 3000, new string('d', 64)),
        ],
    };

    private static string Command(HostStep step) => string.Join("\n", step.Actions.OfType<RunCommand>().Select(a => a.Command.Script));

    [Fact]
    public void A_site_dry_run_of_30_hosts_pushes_the_bundle_once_to_the_depot_which_serves_it_and_every_node_pulls_from_the_depot()
    {
        var bundle = WithDepotScript(InstallPlannerTests.GuideBundle());
        var plan = Plan(SiteInventory(30), bundle);

        Assert.Equal(30, plan.Hosts.Count);
        var depot = plan.For("depot");
        Assert.Equal(["push", "verify", "serve"], depot.Steps.Select(s => s.Id));
        var pushed = plan.Hosts.SelectMany(h => h.Steps).SelectMany(s => s.Actions).OfType<PushFiles>().ToList();
        Assert.Equal([bundle.Files.Sum(f => f.Size)], pushed.Select(p => p.TotalSize));
        var serve = Command(depot.Steps[2]);
        Assert.Contains("scripts/serve-depot.sh --http-port 8080 --registry-port 5000 --path k8s", serve, StringComparison.Ordinal);

        foreach (var node in plan.Hosts.Where(h => h.Host.Name != "depot"))
        {
            var ids = node.Steps.Select(s => s.Id).ToList();
            Assert.Equal(["fetch", "verify", "preflight", "prepare", "packages", "runtime", "images"], ids.Take(7));
            var fetch = node.Steps[0];
            Assert.Equal([new StepRef("depot", "serve")], fetch.Needs);
            var curl = Command(fetch);
            Assert.Contains("curl -fsS", curl, StringComparison.Ordinal);
            Assert.Contains("http://10.0.0.250:8080/scripts/install-packages.sh", curl, StringComparison.Ordinal);
            Assert.DoesNotContain(".tar", curl, StringComparison.Ordinal);
            Assert.DoesNotContain(".rpm", curl, StringComparison.Ordinal);
            Assert.Contains("--repo-url http://10.0.0.250:8080/rpms", Command(node.Steps.Single(s => s.Id == "packages")), StringComparison.Ordinal);
            var images = node.Steps.Single(s => s.Id == "images");
            Assert.Contains("--pull-list /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site/images.pull --plain-http", Command(images), StringComparison.Ordinal);
            var list = images.Actions.OfType<WriteFile>().Single().Content;
            Assert.Contains("docker.io/calico/node:v3.25.2 10.0.0.250:5000/k8s/calico/node@sha256:", list, StringComparison.Ordinal);

            // Docker reaches the depot's plain-HTTP registry as an insecure registry; the cluster keeps the origin names.
            Assert.Contains("--insecure-registry 10.0.0.250:5000", Command(node.Steps.Single(s => s.Id == "runtime")), StringComparison.Ordinal);
        }

        // Only the control plane pulls the control-plane images; only it fetches the manifests.
        Assert.Contains("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0 10.0.0.250:5000/k8s/google_containers/kube-apiserver@sha256:", plan.For("cp").Steps.Single(s => s.Id == "images").Actions.OfType<WriteFile>().Single().Content, StringComparison.Ordinal);
        Assert.DoesNotContain("kube-apiserver", plan.For("w017").Steps.Single(s => s.Id == "images").Actions.OfType<WriteFile>().Single().Content, StringComparison.Ordinal);
        Assert.Contains("manifests/calico.yaml", Command(plan.For("cp").Steps[0]), StringComparison.Ordinal);
        Assert.DoesNotContain("manifests/", Command(plan.For("w017").Steps[0]), StringComparison.Ordinal);

        // The depot is no node: the addons step expects the 29 nodes, not it.
        var addons = Command(plan.For("cp").Steps.Single(s => s.Id == "addons"));
        Assert.DoesNotContain("--expect-node depot", addons, StringComparison.Ordinal);
        Assert.Contains("--expect-node w029", addons, StringComparison.Ordinal);

        var text = plan.Describe();
        Assert.Contains("depot (root@10.0.0.250, depot;", text, StringComparison.Ordinal);
        Assert.Contains("3. serve: serve /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64/ with nginx on :8080", text, StringComparison.Ordinal);
        Assert.Contains("1. fetch: fetch ", text, StringComparison.Ordinal);
        Assert.Contains("[waits for depot/serve]", text, StringComparison.Ordinal);
    }

    /// <summary>What the plan has the operator's machine send a host: command lines, written files, pushed files, and what --dry-run shows of any other action.</summary>
    private static long Sent(HostPlan host) => host.Steps.SelectMany(s => s.Actions).Sum(a => a switch
    {
        RunCommand r => Encoding.UTF8.GetByteCount(r.Command.Script),
        WriteFile w => Encoding.UTF8.GetByteCount(w.Content),
        PushFiles p => p.TotalSize,
        _ => a.Describe(host.Host).Sum(l => (long)Encoding.UTF8.GetByteCount(l)),
    });

    [Fact]
    public void What_a_node_is_sent_in_site_mode_does_not_grow_with_the_host_count()
    {
        long Node(int count, bool site) => Sent(Plan(site
            ? SiteInventory(count)
            : SiteInventory(count, depot: false).Replace("  sources: site\n", string.Empty, StringComparison.Ordinal)).For("w002"));

        Assert.Equal(Node(10, site: true), Node(250, site: true));
        Assert.True(Node(10, site: true) < 16 * 1024, $"a node is sent {Node(10, site: true)} bytes");

        // The measure sees the host list: pushed mode writes it to every host.
        Assert.True(Node(250, site: false) > Node(10, site: false) + (240 * 15));
    }

    [Fact]
    public void The_depot_serves_the_hosts_list_and_every_other_host_fetches_it_and_checks_its_sha256()
    {
        var inventory = Parse(SiteInventory(30));
        var plan = InstallPlanner.Plan(inventory, WithDepotScript(InstallPlannerTests.GuideBundle()), InstallPlannerTests.Token);
        var hosts = SharedFiles.For(inventory).Hosts;
        Assert.Contains("10.0.2.29=w029\n", hosts.Content, StringComparison.Ordinal);

        var serve = plan.For("depot").Steps.Single(s => s.Id == "serve");
        var written = serve.Actions.OfType<WriteFile>().Single();
        Assert.Equal("/var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.shared/hosts", written.RemotePath);
        Assert.Equal(hosts.Content, written.Content);
        Assert.EndsWith("--shared-dir /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.shared", Command(serve), StringComparison.Ordinal);

        foreach (var node in plan.Hosts.Where(h => h.Host.Name != "depot"))
        {
            var prepare = node.Steps.Single(s => s.Id == "prepare");
            Assert.Empty(prepare.Actions.OfType<WriteFile>());
            var fetch = Command(prepare);
            Assert.Contains("curl -fsS --retry 5 --retry-connrefused -o /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site/hosts http://10.0.0.250:8080/shared/hosts", fetch, StringComparison.Ordinal);
            Assert.Contains($"= '{hosts.Sha256}  -' ]", fetch, StringComparison.Ordinal);
            Assert.Contains("--hosts-file /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site/hosts", fetch, StringComparison.Ordinal);
        }
    }

    /// <summary>A command as SSH runs it (sh -c), with the depot's URL pointing at a folder on this machine instead.</summary>
    private static (int Code, string Stderr) RunAgainst(string depotFolder, RemoteCommand command)
    {
        var start = new System.Diagnostics.ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("export LC_ALL=C; " + command.Script.Replace("http://10.0.0.250:8080", "file://" + depotFolder, StringComparison.Ordinal));
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stderr.Result);
    }

    [Fact]
    public async Task A_node_takes_its_sums_from_the_depots_SHA256SUMS_once_that_checks_and_refuses_another()
    {
        using var dir = new TempDir();
        var depot = await Bundles.WriteDirectoryAsync(dir["depot"]);
        var bundle = (await LocalBundle.OpenAsync(depot)).Contents;
        var inventory = Parse(SiteInventory(3).Replace("defaults:\n", $"defaults:\n  stateDir: {dir.Path}/node\n", StringComparison.Ordinal));
        var node = InstallPlanner.Plan(inventory, bundle, InstallPlannerTests.Token).For("w002");
        var fetch = node.Steps[0].Actions.OfType<RunCommand>().Single().Command;
        var verify = node.Steps[1].Actions.OfType<CheckSums>().Single().Command;
        Assert.Empty(node.Steps[0].Actions.OfType<WriteFile>());

        Assert.Equal((0, string.Empty), RunAgainst(depot, fetch));
        Assert.Equal((0, string.Empty), RunAgainst(depot, verify));
        var sums = await File.ReadAllLinesAsync($"{dir.Path}/node/{bundle.Name}.worker.sha256");
        Assert.Equal(SiteSupply.FetchedFiles(inventory.Hosts.Single(h => h.Name == "w002"), bundle).Select(f => f.Path).Order(StringComparer.Ordinal), sums.Select(l => l[66..]).Order(StringComparer.Ordinal));

        // A fetched file that differs from the bundle's: the verify step says which.
        await File.AppendAllTextAsync(Path.Combine(depot, "scripts/import-images.sh"), "echo changed\n");
        Assert.Equal(0, RunAgainst(depot, fetch).Code);
        var (code, _) = RunAgainst(depot, verify);
        Assert.NotEqual(0, code);

        // Another bundle's SHA256SUMS: the fetch refuses it before taking any line from it.
        await File.AppendAllTextAsync(Path.Combine(depot, "SHA256SUMS"), new string('0', 64) + "  scripts/other.sh\n");
        var refused = RunAgainst(depot, fetch);
        Assert.NotEqual(0, refused.Code);
        Assert.Contains("SHA256SUMS fetched from the depot depot is not this bundle's", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_depot_that_is_a_node_too_is_written_the_hosts_list_as_a_pushed_host_is()
    {
        var inventory = Parse(SiteInventory(5, depot: false));
        var plan = InstallPlanner.Plan(inventory, WithDepotScript(InstallPlannerTests.GuideBundle()), InstallPlannerTests.Token);

        var prepare = plan.For("cp").Steps.Single(s => s.Id == "prepare");
        Assert.Equal(SharedFiles.For(inventory).Hosts.Content, prepare.Actions.OfType<WriteFile>().Single().Content);
        Assert.DoesNotContain("curl", Command(prepare), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_depot_role_the_first_control_plane_is_the_depot_and_installs_from_its_own_copy()
    {
        var plan = Plan(SiteInventory(5, depot: false));

        var cp = plan.For("cp");
        Assert.Equal(["push", "verify", "serve"], cp.Steps.Take(3).Select(s => s.Id));
        Assert.DoesNotContain("--repo-url", Command(cp.Steps.Single(s => s.Id == "packages")), StringComparison.Ordinal);
        Assert.DoesNotContain("--pull-list", Command(cp.Steps.Single(s => s.Id == "images")), StringComparison.Ordinal);
        Assert.Equal([new StepRef("cp", "serve")], plan.For("w001").Steps[0].Needs);
        Assert.Contains("--repo-url http://10.0.1.1:8080/rpms", Command(plan.For("w004").Steps.Single(s => s.Id == "packages")), StringComparison.Ordinal);
    }

    [Fact]
    public void Containerd_nodes_get_a_hosts_toml_per_origin_registry_with_the_depot_as_a_path_mirror()
    {
        var bundle = WithDepotScript(ContainerdPlanTests.Bundle("1.28.2", "registry.aliyuncs.com/google_containers/pause:3.9"));
        var plan = Plan(SiteInventory(4), bundle);

        var runtime = plan.For("w002").Steps.Single(s => s.Id == "runtime");
        var toml = runtime.Actions.OfType<WriteFile>().Single(w => w.RemotePath.EndsWith("certs.d/registry.aliyuncs.com/hosts.toml", StringComparison.Ordinal)).Content;
        Assert.Contains("server = \"https://registry.aliyuncs.com\"", toml, StringComparison.Ordinal);
        Assert.Contains("[host.\"http://10.0.0.250:5000/v2/k8s\"]", toml, StringComparison.Ordinal);
        Assert.Contains("override_path = true", toml, StringComparison.Ordinal);
        var own = runtime.Actions.OfType<WriteFile>().Single(w => w.RemotePath.EndsWith("certs.d/10.0.0.250:5000/hosts.toml", StringComparison.Ordinal)).Content;
        Assert.Contains("server = \"http://10.0.0.250:5000\"", own, StringComparison.Ordinal);
        Assert.Contains("--runtime containerd --pull-list", Command(plan.For("w002").Steps.Single(s => s.Id == "images")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_sites_own_registry_is_seeded_by_the_depot_and_nodes_pull_from_it_over_tls()
    {
        var plan = Plan(SiteInventory(4, site: "  site:\n    registry: harbor.site:443/k8s\n"));

        Assert.Contains("--http-port 8080 --site-registry harbor.site:443/k8s", Command(plan.For("depot").Steps.Single(s => s.Id == "serve")), StringComparison.Ordinal);
        var images = plan.For("w002").Steps.Single(s => s.Id == "images");
        Assert.DoesNotContain("--plain-http", Command(images), StringComparison.Ordinal);
        Assert.Contains("docker.io/calico/node:v3.25.2 harbor.site:443/k8s/calico/node@sha256:", images.Actions.OfType<WriteFile>().Single().Content, StringComparison.Ordinal);
        var runtime = plan.For("w002").Steps.Single(s => s.Id == "runtime");
        Assert.DoesNotContain("--insecure-registry", Command(runtime), StringComparison.Ordinal);

        // docker pulls as root with the operator's login for the site's registry merged into root's docker config.
        Assert.Contains("--site-dir /var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site", Command(runtime), StringComparison.Ordinal);
        var login = Assert.Single(runtime.Actions.OfType<WriteRegistryCredential>());
        Assert.Equal(("harbor.site:443", "/var/lib/offlinekit/offlinekit-k8s-1.23.0-el8-amd64.site/docker/config.json"), (login.Registry, login.RemotePath));
        Assert.Contains("the login for harbor.site:443 in root's docker config", runtime.Title, StringComparison.Ordinal);
        Assert.DoesNotContain(runtime.Actions.OfType<WriteFile>(), w => w.RemotePath.Contains("certs.d", StringComparison.Ordinal));
    }

    [Fact]
    public void Docker_nodes_trust_the_sites_registry_by_its_ca_in_docker_certs_d()
    {
        using var dir = new TempDir();
        var ca = dir.Write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var plan = Plan(SiteInventory(3, site: $"  site:\n    registry: 10.0.0.9:5443/k8s\n    caFile: {ca}\n"));

        var runtime = plan.For("w002").Steps.Single(s => s.Id == "runtime");
        var written = runtime.Actions.OfType<WriteFile>().Single(w => w.RemotePath.EndsWith("/docker/certs.d/10.0.0.9:5443/ca.crt", StringComparison.Ordinal));
        Assert.Contains("BEGIN CERTIFICATE", written.Content, StringComparison.Ordinal);
        Assert.Contains("registries' CAs in /etc/docker/certs.d", runtime.Title, StringComparison.Ordinal);
        Assert.DoesNotContain(runtime.Actions.OfType<WriteFile>(), w => w.RemotePath.Contains("certs.d/docker.io", StringComparison.Ordinal) || w.RemotePath.Contains("certs.d/registry.aliyuncs.com", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dry_run_of_30_containerd_hosts_with_the_sites_own_registry_seeds_it_from_the_depot_and_every_node_pulls_from_it_logged_in()
    {
        using var dir = new TempDir();
        var ca = dir.Write("harbor-ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        var bundle = WithDepotScript(ContainerdPlanTests.Bundle("1.31.2", "registry.aliyuncs.com/google_containers/pause:3.10"));
        var plan = Plan(SiteInventory(30, site: $"  site:\n    registry: harbor.site:443/k8s\n    caFile: {ca}\n"), bundle);
        var text = plan.Describe();

        // The depot seeds the site's registry: the bundle's images push, with its CA and the operator's login for it alone.
        var serve = plan.For("depot").Steps.Single(s => s.Id == "serve");
        Assert.Contains("--http-port 8080 --site-registry harbor.site:443/k8s --ca-file /var/lib/offlinekit/offlinekit-k8s-1.31.2-el9-amd64.site-ca.crt --docker-config /var/lib/offlinekit/offlinekit-k8s-1.31.2-el9-amd64.site-auth", Command(serve), StringComparison.Ordinal);
        Assert.DoesNotContain("--registry-port", Command(serve), StringComparison.Ordinal);
        var login = Assert.Single(serve.Actions.OfType<WriteRegistryCredential>());
        Assert.Equal(("harbor.site:443", "/var/lib/offlinekit/offlinekit-k8s-1.31.2-el9-amd64.site-auth/config.json"), (login.Registry, login.RemotePath));
        Assert.Equal("{\"auths\":{\"harbor.site:443\":{\"auth\":\"T0K\"}}}\n", login.Render("T0K"));
        Assert.Contains("the bundle's images pushed into the site's registry harbor.site:443/k8s by bin/offlinekit images push", text, StringComparison.Ordinal);
        Assert.Contains("  | {\"auths\":{\"harbor.site:443\":{\"auth\":\"<harbor.site:443's credential from the operator's docker config>\"}}}", text, StringComparison.Ordinal);

        foreach (var node in plan.Hosts.Where(h => h.Host.Name != "depot"))
        {
            Assert.Equal([new StepRef("depot", "serve")], node.Steps[0].Needs);
            var images = node.Steps.Single(s => s.Id == "images");
            Assert.Contains("--runtime containerd --pull-list", Command(images), StringComparison.Ordinal);
            Assert.DoesNotContain("--plain-http", Command(images), StringComparison.Ordinal);
            Assert.Contains("docker.io/calico/node:v3.25.2 harbor.site:443/k8s/calico/node@sha256:", images.Actions.OfType<WriteFile>().Single().Content, StringComparison.Ordinal);

            // containerd: the origin registry mirrored to the project path (override_path), the site's CA beside it, the login as a header
            // rendered when the step runs; the plan holds no secret.
            var runtime = node.Steps.Single(s => s.Id == "runtime");
            var origin = runtime.Actions.OfType<WriteRegistryCredential>().Single(w => w.RemotePath.EndsWith("certs.d/registry.aliyuncs.com/hosts.toml", StringComparison.Ordinal));
            var toml = origin.Render("T0K");
            Assert.Contains("[host.\"https://harbor.site:443/v2/k8s\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n  ca = \"ca.crt\"\n  [host.\"https://harbor.site:443/v2/k8s\".header]\n    Authorization = [\"Basic T0K\"]\n", toml, StringComparison.Ordinal);
            Assert.Contains("server = \"https://registry.aliyuncs.com\"", toml, StringComparison.Ordinal);
            Assert.Contains("Basic T0K", runtime.Actions.OfType<WriteRegistryCredential>().Single(w => w.RemotePath.EndsWith("certs.d/harbor.site:443/hosts.toml", StringComparison.Ordinal)).Render("T0K"), StringComparison.Ordinal);
            Assert.Contains(runtime.Actions.OfType<WriteFile>(), w => w.RemotePath.EndsWith("certs.d/registry.aliyuncs.com/ca.crt", StringComparison.Ordinal) && w.Content.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal));
        }

        // Each node: the site's registry's own hosts.toml and one per origin registry (registry.aliyuncs.com, docker.io).
        Assert.Equal(29 * 3, Count(text, "Authorization = [\"Basic <harbor.site:443's credential from the operator's docker config>\"]"));
        Assert.Equal(29, Count(text, "certs.d/docker.io/hosts.toml (containerd's hosts.toml for docker.io, an Authorization header for harbor.site:443; the credential for harbor.site:443 from the operator's docker config, if it has one; the secret in it is never shown or logged):"));
    }

    [Fact]
    public void A_bundle_without_the_depot_script_fails_the_serve_step_saying_so()
    {
        var plan = Plan(SiteInventory(3), InstallPlannerTests.GuideBundle());

        var serve = plan.For("depot").Steps.Single(s => s.Id == "serve");
        Assert.Contains("scripts/serve-depot.sh", Assert.IsType<MissingFromBundle>(Assert.Single(serve.Actions)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pushed_mode_is_the_default_and_unchanged()
    {
        var yaml = SiteInventory(3, depot: false).Replace("  sources: site\n", string.Empty, StringComparison.Ordinal);
        var inventory = Parse(yaml);

        Assert.Equal(HostSources.Pushed, inventory.Cluster.Sources);
        Assert.IsType<PushedBundle>(IHostSupply.For(inventory));
        Assert.All(InstallPlanner.Plan(inventory, InstallPlannerTests.GuideBundle(), InstallPlannerTests.Token).Hosts, h => Assert.Equal("push", h.Steps[0].Id));
    }

    [Fact]
    public async Task Install_dry_run_of_a_30_host_site_prints_the_depots_steps_and_every_node_fetching_from_it()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteTarballAsync(dir["out"]);
        var inventory = dir.Write("inventory.yaml", SiteInventory(30));

        var (code, stdout, stderr) = await CliRunner.RunAsync("install", bundle, "--inventory", inventory, "--dry-run");

        Assert.True(code == 0, stderr);
        Assert.StartsWith($"plan: install {Bundles.Name} on 30 hosts", stdout, StringComparison.Ordinal);
        Assert.Contains("depot (root@10.0.0.250, depot; login: password)\n", stdout, StringComparison.Ordinal);
        Assert.Contains("  3. serve: ", stdout, StringComparison.Ordinal);
        Assert.Equal(1, Count(stdout, "  1. push: "));
        Assert.Equal(29, Count(stdout, "  1. fetch: fetch "));
        Assert.Equal(29, Count(stdout, "[waits for depot/serve] [every run]"));
    }

    [Fact]
    public void Supply_only_keeps_the_supply_steps_of_each_host_in_either_mode()
    {
        var bundle = WithDepotScript(InstallPlannerTests.GuideBundle());
        var site = Parse(SiteInventory(5));
        var pushed = Parse(SiteInventory(5, depot: false).Replace("  sources: site\n", string.Empty, StringComparison.Ordinal));

        var sitePlan = Installer.SupplyOnly(InstallPlanner.Plan(site, bundle, InstallPlannerTests.Token), site, bundle);
        var pushedPlan = Installer.SupplyOnly(InstallPlanner.Plan(pushed, bundle, InstallPlannerTests.Token), pushed, bundle);

        Assert.Equal(["push", "verify", "serve"], sitePlan.For("depot").Steps.Select(s => s.Id));
        Assert.All(sitePlan.Hosts.Where(h => h.Host.Name != "depot"), h => Assert.Equal(["fetch", "verify"], h.Steps.Select(s => s.Id)));
        Assert.All(pushedPlan.Hosts, h => Assert.Equal(["push", "verify"], h.Steps.Select(s => s.Id)));
    }

    [Theory]
    [InlineData("--wave-size", "0", "--wave-size must be 1 or more, got 0")]
    [InlineData("--max-failed", "-1", "--max-failed must be 0 or more, got -1")]
    public async Task Wave_options_out_of_range_are_bad_input(string option, string value, string message)
    {
        using var dir = new TempDir();
        var inventory = dir.Write("inventory.yaml", SiteInventory(3));

        var (code, _, stderr) = await CliRunner.RunAsync("install", dir["none.tar"], "--inventory", inventory, option, value);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    private static int Count(string text, string what) => (text.Length - text.Replace(what, string.Empty, StringComparison.Ordinal).Length) / what.Length;

    private const string Cp = "hosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], auth: {passwordEnv: PW}}\n";

    public static TheoryData<string, string> BadSites => new()
    {
        { Head + Cp + "cluster:\n  sources: depot\n", "inv.yaml:6: cluster.sources 'depot' is not known (pushed: the bundle to every host, the default; site:" },
        { Head + Cp + "cluster:\n  site:\n    httpPort: 8080\n", "inv.yaml:7: cluster.site is for cluster.sources: site" },
        { Head + Cp + "cluster:\n  sources: site\n  site:\n    httpPort: 5000\n", "inv.yaml:8: cluster.site.registryPort 5000 is also the httpPort" },
        { Head + Cp + "cluster:\n  sources: site\n  site:\n    registry: https://harbor.site/k8s\n", "inv.yaml:8: cluster.site.registry: https://harbor.site/k8s: give HOST:PORT[/PATH] without a scheme" },
        { Head + Cp + "cluster:\n  sources: site\n  site:\n    insecure: true\n", "inv.yaml:8: cluster.site.caFile and insecure describe the site's registry" },
        { Head + Cp + "cluster:\n  sources: site\n  site:\n    rpmPort: 1\n", "inv.yaml:8: unknown key 'rpmPort' in cluster.site" },
        { Head + Cp + "  - {name: d, address: 10.0.0.9, roles: [depot], auth: {passwordEnv: PW}}\n", "inv.yaml:5: d has the role depot, which serves the others in site mode; add cluster.sources: site" },
        { Head + Cp + "  - {name: d, address: 10.0.0.9, roles: [depot], auth: {passwordEnv: PW}}\n  - {name: e, address: 10.0.0.8, roles: [depot], auth: {passwordEnv: PW}}\ncluster:\n  sources: site\n", "inv.yaml:6: e is a second depot (d at line 5 is one)" },
    };

    [Theory]
    [MemberData(nameof(BadSites))]
    public void Bad_site_settings_are_reported_as_file_line_message(string yaml, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => Parse(yaml));
        Assert.StartsWith(expected, e.Message);
    }
}
