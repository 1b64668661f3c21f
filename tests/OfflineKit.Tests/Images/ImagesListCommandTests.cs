using OfflineKit.Cli;

namespace OfflineKit.Tests.Images;

public class ImagesListCommandTests
{
    [Fact]
    public async Task Images_list_prints_kubeadm_list_for_the_guide_mirror()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr, interactive: false);

        var code = await CliApp.RunAsync(
            ["images", "list", "--k8s", "1.23.0", "--image-repository", "registry.aliyuncs.com/google_containers"],
            console);

        Assert.Equal(0, code);
        Assert.Equal(
            """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.23.0
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.23.0
            registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0
            registry.aliyuncs.com/google_containers/pause:3.6
            registry.aliyuncs.com/google_containers/etcd:3.5.1-0
            registry.aliyuncs.com/google_containers/coredns:v1.8.6

            """,
            stdout.ToString());
        Assert.Equal(string.Empty, stderr.ToString());
    }

    [Theory]
    [InlineData("1.40.0")]
    [InlineData("1.22.17")]
    [InlineData("abc")]
    public async Task Images_list_exits_2_for_a_version_outside_the_catalog(string version)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr, interactive: false);

        var code = await CliApp.RunAsync(["images", "list", "--k8s", version], console);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout.ToString());
        Assert.StartsWith("offlinekit: ", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("v1.23.0–v1.37.1", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Images_list_without_a_version_is_a_usage_error()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await CliApp.RunAsync(["images", "list"], new CliConsole(stdout, stderr, interactive: false));

        Assert.Equal(2, code);
        Assert.Contains("--k8s", stderr.ToString(), StringComparison.Ordinal);
    }
}
