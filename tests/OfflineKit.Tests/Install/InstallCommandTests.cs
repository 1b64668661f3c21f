using OfflineKit.Cli;
using OfflineKit.Install;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

public class InstallCommandTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.RunAsync(args);

    [Fact]
    public async Task Dry_run_prints_the_plan_without_secrets_or_connections()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteTarballAsync(dir["out"]);
        var inventory = dir.Write("inventory.yaml", InventoryLoader.ExampleText());

        // The example's hosts (192.168.10.x) are not reachable from here and K8S_SSH_PASSWORD is not set: a dry run needs neither.
        var (code, stdout, stderr) = await Run("install", bundle, "--inventory", inventory, "--dry-run");

        Assert.True(code == 0, stderr);
        Assert.StartsWith($"plan: install {Bundles.Name} on 3 hosts", stdout);
        Assert.Contains("k8s-node02 (root@192.168.10.103, worker; login: password)", stdout);
        Assert.Contains("8. join: kubeadm join k8s-master with a token fresh from it [waits for k8s-master/init]", stdout);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path, ".offlinekit", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_secret_missing_from_the_environment_is_bad_input_before_any_connection()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteTarballAsync(dir["out"]);
        var inventory = dir.Write("inventory.yaml", InventoryLoader.ExampleText().Replace("K8S_SSH_PASSWORD", "OFFLINEKIT_TEST_UNSET_PASSWORD", StringComparison.Ordinal));

        var (code, stdout, stderr) = await Run("install", bundle, "--inventory", inventory, "--runs-dir", dir["runs"]);

        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Contains($"{inventory}:20: defaults.auth.passwordEnv: environment variable OFFLINEKIT_TEST_UNSET_PASSWORD is not set", stderr);
        Assert.False(Directory.Exists(dir["runs"]));
    }
}
