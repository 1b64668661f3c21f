using OfflineKit.Install;
using OfflineKit.IO;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Hostile;

/// <summary>
/// Careless and hostile inputs a user names (issue #17): files that are not files or are too big, and
/// names that are data with a grammar. Each is a one-line bad-input error, and nothing hangs or grows.
/// </summary>
public class HostileInputTests
{
    private const string Inventory = "apiVersion: offlinekit/v1\nkind: Inventory\nhosts:\n  - {name: cp, address: 10.0.0.1, roles: [control-plane], auth: {passwordEnv: PW}}\n";

    public static TheoryData<string> Loaders => new() { "spec", "inventory", "mirrors" };

    private static void Load(string loader, string path)
    {
        _ = loader switch
        {
            "spec" => (object)BundleSpecLoader.LoadFile(path),
            "inventory" => InventoryLoader.LoadFile(path),
            _ => MirrorConfig.LoadFile(path),
        };
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void A_character_device_is_refused_before_it_is_read(string loader)
    {
        var e = Assert.Throws<BadInputException>(() => Load(loader, "/dev/zero"));
        Assert.Contains("must be a regular file, not a character device", e.Message);
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void A_fifo_is_refused_without_waiting_for_a_writer(string loader)
    {
        using var dir = new TempDir();
        var fifo = Fifo(dir["input.fifo"]);

        var e = Assert.Throws<BadInputException>(() => Load(loader, fifo));

        Assert.Contains("must be a regular file, not a fifo", e.Message);
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void A_file_over_the_cap_is_refused_and_the_message_names_the_cap(string loader)
    {
        using var dir = new TempDir();
        var big = dir["big.yaml"];
        using (var f = File.Create(big))
        {
            f.SetLength(InputFile.YamlCap + 1);
        }

        var e = Assert.Throws<BadInputException>(() => Load(loader, big));

        Assert.Contains("over the 4 MiB cap", e.Message);
    }

    [Theory]
    [InlineData("/dev/zero", "must be a regular file, not a character device")]
    [InlineData("FIFO", "must be a regular file, not a fifo")]
    [InlineData("BIG", "over the 1 MiB cap")]
    public void A_private_key_that_is_no_small_regular_file_is_refused(string key, string expected)
    {
        using var dir = new TempDir();
        key = key switch
        {
            "FIFO" => Fifo(dir["key.fifo"]),
            "BIG" => dir.Write("id_big", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + new string('A', 2 << 20)),
            _ => key,
        };
        var yaml = Inventory.Replace("passwordEnv: PW", $"privateKey: {key}", StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => InventoryLoader.Parse(yaml, "inv.yaml", dir.Path));

        Assert.StartsWith("inv.yaml:4: hosts[0].auth.privateKey: cannot read ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("/var/lib/../../etc")]
    [InlineData("/var/./lib")]
    [InlineData("/var//lib")]
    [InlineData("var/lib")]
    [InlineData("/var/lib/offline kit")]
    [InlineData("/var/lib/$(id)")]
    [InlineData("/var/lib/a;b")]
    [InlineData("/var/lib/\u001b[31m")]
    public void A_state_dir_that_is_not_an_absolute_normalised_path_is_refused(string stateDir)
    {
        var yaml = Inventory + $"defaults:\n  stateDir: \"{stateDir.Replace("\u001b", "\\e", StringComparison.Ordinal)}\"\n";
        var e = Assert.Throws<BadInputException>(() => InventoryLoader.Parse(yaml, "inv.yaml", "/tmp"));
        Assert.Contains("must be an absolute path, normalised", e.Message);
    }

    [Theory]
    [InlineData("/var/lib/offlinekit", "/var/lib/offlinekit")]
    [InlineData("/srv/offlinekit/", "/srv/offlinekit")]
    [InlineData("/opt/k8s_1.23+x@site", "/opt/k8s_1.23+x@site")]
    public void A_good_state_dir_is_kept(string stateDir, string expected)
    {
        var inventory = InventoryLoader.Parse(Inventory + $"defaults:\n  stateDir: {stateDir}\n", "inv.yaml", "/tmp");
        Assert.Equal(expected, inventory.Hosts[0].StateDirectory);
    }

    [Theory]
    [InlineData("chrony; touch x")]
    [InlineData("$(reboot)")]
    [InlineData("`id`")]
    [InlineData("-y")]
    [InlineData("kubelet > /etc/passwd")]
    [InlineData("a b")]
    [InlineData("../../x")]
    [InlineData("chrony\u001b]0;x\u0007")]
    public void A_spec_package_outside_the_rpm_name_grammar_is_refused(string package)
    {
        var text = BundleSpecLoader.EmbeddedText(new KubernetesVersion(1, 23, 0));
        var yaml = text.Replace("    - chrony\n", $"    - \"{package.Replace("\u001b", "\\e", StringComparison.Ordinal).Replace("\u0007", "\\a", StringComparison.Ordinal)}\"\n", StringComparison.Ordinal);
        Assert.NotEqual(text, yaml);

        var e = Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse(yaml, "spec.yaml"));

        Assert.Contains("is not a package name", e.Message);
    }

    [Theory]
    [InlineData("chrony")]
    [InlineData("containerd.io")]
    [InlineData("docker-ce-3:20.10.24-3.el8.x86_64")]
    [InlineData("libstdc++")]
    [InlineData("python3-dnf-plugin-versionlock-4.0.21-1.el8~rc1^post")]
    public void A_spec_package_by_the_rpm_name_grammar_is_accepted(string package) =>
        Assert.True(BundleSpecLoader.IsPackageRequest(package));

    [Theory]
    [InlineData("http://127.0.0.1:5000 ")]
    [InlineData("http://user:secret@127.0.0.1:5000")]
    [InlineData("http://127.0.0.1:5000/?x=1")]
    [InlineData("http://127.0.0.1:5000/#x")]
    [InlineData("ftp://127.0.0.1/")]
    [InlineData("http:///path")]
    [InlineData("http://127.0.0.1:5000/$(id)")]
    [InlineData("http://127.0.0.1:5000/a\u001b[2J")]
    public void A_registry_mirror_that_is_not_a_plain_url_is_refused(string url)
    {
        var yaml = $"registries:\n  docker.io: \"{url.Replace("\u001b", "\\e", StringComparison.Ordinal)}\"\n";
        var e = Assert.Throws<BadInputException>(() => MirrorConfig.Parse(yaml, "mirrors.yaml"));
        Assert.StartsWith("mirrors.yaml:2: registries.docker.io:", e.Message);
    }

    [Theory]
    [InlineData("https://mirror.example/v2-proxy/")]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://[::1]:5000")]
    public void A_plain_mirror_url_is_accepted(string url) =>
        Assert.NotNull(PlainUrl.TryParse(url));

    [Fact]
    public void A_daemon_registry_mirror_in_the_inventory_is_a_plain_url()
    {
        var yaml = Inventory + "cluster:\n  docker:\n    registryMirrors: [\"http://user:pw@mirror.example\"]\n";
        var e = Assert.Throws<BadInputException>(() => InventoryLoader.Parse(yaml, "inv.yaml", "/tmp"));
        Assert.Contains("is not an http:// or https:// URL", e.Message);
    }

    private static string Fifo(string path)
    {
        using var process = System.Diagnostics.Process.Start("mkfifo", [path]);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return path;
    }
}
