using System.Globalization;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Scripts;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// The configs keepalived-haproxy control planes get, checked where they are written: the bundle's
/// configure-load-balancer.sh runs on each of the lab's three hosts (network namespaces, each with its own
/// interface), made the control planes of one cluster with a VIP on the lab's /24, and validates what offlinekit
/// rendered for that host with Debian's real haproxy (-c) and keepalived (--config-test) before it replaces
/// anything under /etc. systemctl is the lab's stand-in: nothing starts for real.
/// </summary>
[Collection("lab hosts")]
public sealed class LoadBalancerConfigTests(LabHosts lab) : IDisposable
{
    private const string Vip = "10.231.0.200";

    private readonly TempDir _dir = new();

    /// <summary>The lab hosts are shared: what this class put in their roots goes, so later tests find them as before.</summary>
    public void Dispose()
    {
        foreach (var host in lab.Hosts)
        {
            var root = Path.Combine(host.Directory, "root");
            foreach (var folder in new[] { "etc/haproxy", "etc/keepalived" })
            {
                if (Directory.Exists(Path.Combine(root, folder)))
                {
                    Directory.Delete(Path.Combine(root, folder), recursive: true);
                }
            }

            foreach (var unit in new[] { "haproxy", "keepalived" })
            {
                File.Delete(Path.Combine(root, "usr/lib/systemd/system", unit + ".service"));
                foreach (var state in new[] { "enabled", "active" })
                {
                    File.Delete(Path.Combine(root, "var/lib/offlinekit-standins/systemd", $"{unit}.{state}"));
                }
            }
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task Every_control_planes_configs_pass_the_real_haproxy_and_keepalived_checks_and_a_rerun_changes_nothing()
    {
        Tools.Require("haproxy", "haproxy");
        Tools.Require("keepalived", "keepalived");
        Assert.True(lab.Mode == "netns", $"keepalived needs a real interface: the lab runs in {lab.Mode} mode, not netns");
        var inventory = HaInventory();
        var lb = inventory.Cluster.LoadBalancer!;
        Assert.Equal(LoadBalancerKind.KeepalivedHaproxy, lb.Kind);

        foreach (var host in lab.Hosts)
        {
            var first = await ConfigureAsync(host, inventory);
            Assert.True(first.ExitCode == 0, $"{host.Name}: {first.Stdout}{first.Stderr}");
            Assert.Contains("configure-load-balancer: haproxy -c: the config is valid", first.Stdout);
            Assert.Contains("configure-load-balancer: keepalived --config-test: the config is valid", first.Stdout);
            Assert.Contains($"configure-load-balancer: the VIP {Vip}/24 goes on eth0", first.Stdout);

            var root = Path.Combine(host.Directory, "root");
            var haproxy = await File.ReadAllTextAsync(Path.Combine(root, "etc/haproxy/haproxy.cfg"));
            Assert.All(lab.Hosts, h => Assert.Contains($"    server {h.Name} {h.Address}:6443 check", haproxy));
            var keepalived = await File.ReadAllTextAsync(Path.Combine(root, "etc/keepalived/keepalived.conf"));
            Assert.Contains("    interface eth0\n", keepalived);
            Assert.Contains($"    unicast_src_ip {host.Address}\n", keepalived);
            Assert.Equal("0755", Convert.ToString((int)File.GetUnixFileMode(Path.Combine(root, "etc/keepalived/offlinekit-check-apiserver.sh")), 8).PadLeft(4, '0'));
            var asked = await StandinLogAsync(host);
            Assert.Contains("systemctl enable haproxy", asked);
            Assert.Contains("systemctl restart keepalived", asked);

            var again = await ConfigureAsync(host, inventory);
            Assert.True(again.ExitCode == 0, $"{host.Name}: {again.Stdout}{again.Stderr}");
            Assert.DoesNotContain("wrote", again.Stdout);
            Assert.Equal(asked.Count(l => l.StartsWith("systemctl restart", StringComparison.Ordinal)), (await StandinLogAsync(host)).Count(l => l.StartsWith("systemctl restart", StringComparison.Ordinal)));
        }
    }

    [Theory]
    [InlineData("haproxy.cfg", "    balance roundrobin\n", "    balance roundrobinn\n", "haproxy -c rejects the haproxy config", "balance only supports 'roundrobin'")]
    [InlineData("keepalived.conf", "    advert_int 1\n", "    advert_intt 1\n", "keepalived --config-test rejects the keepalived config", "Unknown keyword 'advert_intt'")]
    [InlineData("keepalived.conf", $"{LoadBalancer.CheckScriptPath}", "/nonexistent/check.sh", "keepalived --config-test rejects the keepalived config", "Disabling track script check_apiserver since not found/accessible")]
    public async Task A_config_the_real_tool_rejects_fails_the_step_with_its_words_and_leaves_etc_as_it_was(string file, string from, string to, string expected, string toolSays)
    {
        Assert.True(lab.Mode == "netns", $"keepalived needs a real interface: the lab runs in {lab.Mode} mode, not netns");
        var host = lab.Hosts[1];
        var root = Path.Combine(host.Directory, "root");
        var target = Path.Combine(root, file == "haproxy.cfg" ? "etc/haproxy/haproxy.cfg" : "etc/keepalived/keepalived.conf");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllTextAsync(target, "# the site's own config\n");

        var result = await ConfigureAsync(host, HaInventory(), (file, from, to));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Contains(toolSays, result.Stderr);
        Assert.Equal("# the site's own config\n", await File.ReadAllTextAsync(target));
    }

    /// <summary>The lab's three hosts as three control planes behind a VIP on the lab's /24.</summary>
    private Inventory HaInventory()
    {
        var path = lab.WriteInventory(_dir.Path, "lb", (_, lines) => lines.Replace("roles: [worker]", "roles: [control-plane]", StringComparison.Ordinal));
        File.AppendAllText(path, $"cluster:\n  controlPlaneEndpoint: {Vip}:8443\n  vipSubnet: 10.231.0.0/24\n");
        return InventoryLoader.LoadFile(path);
    }

    /// <summary>Writes what the plan's loadbalancer step writes for <paramref name="host"/> and runs the bundle's script there, as root.</summary>
    private async Task<ProcessResult> ConfigureAsync(LabHost host, Inventory inventory, (string File, string From, string To)? spoil = null)
    {
        var lb = inventory.Cluster.LoadBalancer!;
        var controlPlanes = HostTopology.From(inventory).ControlPlanes;
        var me = controlPlanes.Single(c => c.Name == host.Name);
        var folder = Path.Combine(_dir.Path, host.Name);
        Directory.CreateDirectory(folder);
        var files = new Dictionary<string, string>
        {
            ["haproxy.cfg"] = lb.HaproxyConfig(controlPlanes),
            ["keepalived.conf"] = lb.KeepalivedConfig(me, controlPlanes),
            ["check-apiserver.sh"] = lb.CheckScript(),
        };
        if (spoil is { } s)
        {
            Assert.Contains(s.From, files[s.File]);
            files[s.File] = files[s.File].Replace(s.From, s.To, StringComparison.Ordinal);
        }

        foreach (var (name, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, name), text);
        }

        var script = Path.Combine(folder, "configure-load-balancer.sh");
        await File.WriteAllBytesAsync(script, EmbeddedScripts.Read(Path.GetFileName(BundleLayout.ConfigureLoadBalancerScript)));

        // What the packages step leaves from the bundle's RPMs: the two services' unit files.
        foreach (var unit in new[] { "haproxy", "keepalived" })
        {
            var path = Path.Combine(host.Directory, "root", "usr/lib/systemd/system", unit + ".service");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, "[Unit]\n");
        }

        return await lab.SshAsync(host, string.Join(' ', new[]
        {
            "bash", script, "--haproxy-config", Path.Combine(folder, "haproxy.cfg"), "--keepalived-config", Path.Combine(folder, "keepalived.conf"),
            "--check-script", Path.Combine(folder, "check-apiserver.sh"), "--address", me.Address, "--vip", $"{lb.Host}/{lb.VipSubnet!.Value.PrefixLength.ToString(CultureInfo.InvariantCulture)}",
        }));
    }

    private static async Task<List<string>> StandinLogAsync(LabHost host)
    {
        var path = Path.Combine(host.Directory, "root", "var/log/offlinekit-standins.log");
        return File.Exists(path) ? [.. await File.ReadAllLinesAsync(path)] : [];
    }
}
