using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Trust;

public class InstallKeyTests
{
    [Fact]
    public async Task Under_key_each_host_gets_the_signature_and_the_key_and_checks_them_with_verify_sh_first()
    {
        using var dir = new TempDir();
        var (key, pub) = await SigningTests.KeysAsync(dir.Path, "a");
        var bundle = await SigningTests.WriteSignedAsync(dir.Path, key);
        var inventory = dir.Write("inventory.yaml", InventoryLoader.ExampleText());

        var plain = await CliRunner.RunAsync("install", bundle, "--inventory", inventory, "--dry-run");
        Assert.DoesNotContain("bundle.json.sig", plain.Out, StringComparison.Ordinal);

        var (code, stdout, stderr) = await CliRunner.RunAsync("install", bundle, "--inventory", inventory, "--dry-run", "--key", pub);
        Assert.True(code == 0, stderr);
        Assert.Contains("sftp put bundle.json.sig", stdout, StringComparison.Ordinal);
        Assert.Contains($"/var/lib/offlinekit/{Bundles.Name}.pub.pem", stdout, StringComparison.Ordinal);
        Assert.Contains($"bash scripts/verify.sh --key /var/lib/offlinekit/{Bundles.Name}.pub.pem --sums /var/lib/offlinekit/{Bundles.Name}.worker.sha256", stdout, StringComparison.Ordinal);

        // The host's check list stays the bundle's SHA256SUMS lines: the signature is checked by openssl, not listed.
        var plan = await Installer.PlanAsync(bundle, inventory, pub);
        var write = plan.For("k8s-node01").Steps[0].Actions.OfType<WriteFile>().First(w => w.RemotePath.EndsWith(".worker.sha256", StringComparison.Ordinal));
        Assert.DoesNotContain("bundle.json.sig", write.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_under_a_key_that_does_not_verify_the_bundle_stops_before_any_connection()
    {
        using var dir = new TempDir();
        var (key, _) = await SigningTests.KeysAsync(dir.Path, "a");
        var (_, otherPub) = await SigningTests.KeysAsync(dir.Path, "b");
        var bundle = await SigningTests.WriteSignedAsync(dir.Path, key);
        var unsigned = await Bundles.WriteTarballAsync(dir["unsigned"]);
        // The example's hosts are not reachable from here: a connection attempt would show as another error.
        var inventory = dir.Write("inventory.yaml", InventoryLoader.ExampleText());

        foreach (var b in new[] { bundle, unsigned })
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("install", b, "--inventory", inventory, "--key", otherPub, "--runs-dir", dir["runs"]);
            Assert.Equal(1, code);
            Assert.Empty(stdout);
            Assert.Contains("nothing was pushed", stderr, StringComparison.Ordinal);
            Assert.Contains("bundle.json.sig", stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(dir["runs"]));
        }
    }
}
