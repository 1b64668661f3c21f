using OfflineKit.Cli;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Cli;

public class ParserTests
{
    private static List<string> Errors(params string[] args) =>
        CliApp.CreateRoot(new CliConsole(TextWriter.Null, TextWriter.Null, interactive: false)).Parse(args).Errors.Select(e => e.Message).ToList();

    [Theory]
    [InlineData("verify", "bundle.tar")]
    [InlineData("verify", "bundle.tar", "--output", "json")]
    [InlineData("inspect", "bundle.tar", "-o", "json")]
    [InlineData("extract", "bundle.tar", "--to", "/tmp/x")]
    [InlineData("build", "--k8s", "1.23.0")]
    [InlineData("build", "--spec", "my.yaml", "--arch", "arm64", "--os", "el9", "--format", "tar.zst", "--without", "bin", "--without", "rpms")]
    [InlineData("build", "--k8s", "1.31.14", "--os", "el8", "--arch", "arm64", "--runtime", "containerd")]
    [InlineData("build", "--k8s", "1.23.0", "--runtime", "docker")]
    [InlineData("spec", "show", "--k8s", "1.30.2", "--os", "el9", "--arch", "amd64", "--runtime", "containerd")]
    [InlineData("spec", "show", "--spec", "my.yaml")]
    [InlineData("rpms", "resolve", "--k8s", "1.30.2", "--os", "el9", "--arch", "arm64", "--runtime", "containerd")]
    [InlineData("build", "--k8s", "1.23.0", "--registry-mirror", "docker.io=http://127.0.0.1:5000", "--registry-mirror", "quay.io=http://127.0.0.1:5001", "--parallel", "8")]
    [InlineData("images", "list", "--k8s", "v1.23.0", "--image-repository", "registry.aliyuncs.com/google_containers")]
    [InlineData("images", "load", "bundle.tar", "--role", "worker")]
    [InlineData("rpms", "resolve", "--k8s", "1.23.0", "--why", "conntrack-tools")]
    [InlineData("version")]
    public void Valid_command_lines_parse(params string[] args) => Assert.Empty(Errors(args));

    [Theory]
    [InlineData("verify")]
    [InlineData("verify", "a.tar", "--output", "yaml")]
    [InlineData("extract", "bundle.tar")]
    [InlineData("build")]
    [InlineData("build", "--k8s", "1.23.0", "--arch", "386")]
    [InlineData("build", "--k8s", "1.23.0", "--os", "el7")]
    [InlineData("build", "--k8s", "1.30.2", "--runtime", "cri-o")]
    [InlineData("spec", "show")]
    [InlineData("spec", "show", "--k8s", "1.30.2", "--os", "ubuntu")]
    [InlineData("rpms", "resolve", "--k8s", "1.30.2", "--runtime", "podman")]
    [InlineData("build", "--k8s", "1.23.0", "--format", "zip")]
    [InlineData("build", "--k8s", "1.23.0", "--parallel", "0")]
    [InlineData("build", "--k8s", "1.23.0", "--without", "kernel")]
    [InlineData("build", "--k8s", "1.23.0", "--image-source", "podman")]
    [InlineData("images", "list")]
    [InlineData("images", "load", "b.tar", "--role", "master")]
    [InlineData("install", "b.tar")]
    [InlineData("frobnicate")]
    public void Invalid_command_lines_are_errors(params string[] args) => Assert.NotEmpty(Errors(args));
}

public class CliProcessTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.RunAsync(args);

    [Fact]
    public async Task Parse_errors_exit_2_with_a_hint()
    {
        var (code, _, err) = await Run("build", "--k8s", "1.23.0", "--format", "zip");
        Assert.Equal(2, code);
        Assert.Contains("Run 'offlinekit build --help' for usage.", err);
    }

    [Fact]
    public async Task A_missing_bundle_exits_2_with_one_line_and_no_stack_trace()
    {
        var (code, _, err) = await Run("verify", "/nonexistent/b.tar");
        Assert.Equal(2, code);
        Assert.Equal("offlinekit: /nonexistent/b.tar: no such bundle (expected a bundle tarball or an extracted bundle directory)", err.Trim());
    }

    [Fact]
    public async Task Verbose_adds_the_trace()
    {
        var (_, _, err) = await Run("verify", "/nonexistent/b.tar", "--verbose");
        Assert.Contains("at OfflineKit.", err);
    }

    [Fact]
    public async Task Reset_dry_run_prints_what_each_host_would_run_and_connects_to_nothing()
    {
        using var dir = new TempDir();
        var inventory = dir.Write("inventory.yaml", OfflineKit.Install.InventoryLoader.ExampleText());

        var (code, stdout, err) = await Run("reset", "--inventory", inventory, "--dry-run", "--purge");

        Assert.True(code == 0, err);
        Assert.StartsWith("plan: reset the cluster on 3 hosts", stdout);
        Assert.Contains("$ bash /var/lib/offlinekit/reset-host.sh --state-dir /var/lib/offlinekit --user root --purge", stdout);
        Assert.Contains("[after k8s-node01/reset, k8s-node02/reset, done or not]", stdout);
    }

    [Fact]
    public async Task Build_with_a_bad_mirrors_file_writes_nothing()
    {
        using var dir = new TempDir();
        var mirrors = dir.Write("mirrors.yaml", "registries:\n  registry.aliyuncs.com: not-a-url\n");
        var (code, _, err) = await Run("build", "--k8s", "1.23.0", "--mirrors", mirrors, "-o", dir["out"]);
        Assert.Equal(2, code);
        Assert.Contains("mirrors.yaml:2:", err);
        Assert.False(Directory.Exists(dir["out"]));
    }

    [Fact]
    public async Task Build_dry_run_shows_the_bundle_it_would_write_and_where_each_part_comes_from_and_writes_nothing()
    {
        using var dir = new TempDir();
        var (code, stdout, err) = await Run(
            "build", "--k8s", "1.31.2", "--os", "el9", "--arch", "arm64", "--runtime", "containerd", "--dry-run", "-o", dir["out"],
            "--url-mirror", "https://mirrors.aliyun.com/=http://127.0.0.1:9/aliyun/", "--registry-mirror", "registry.aliyuncs.com=http://127.0.0.1:9");

        Assert.True(code == 0, err);
        Assert.Contains($"a build would write {Path.Combine(dir["out"], "offlinekit-k8s-1.31.2-el9-arm64.tar")}", stdout);
        Assert.Contains("Kubernetes 1.31.2 for el9/arm64 with containerd", stdout);
        Assert.Contains("kubeadm config kubeadm.k8s.io/v1beta4", stdout);
        Assert.Contains("  common  registry.aliyuncs.com/google_containers/pause:3.10 (from http://127.0.0.1:9/)", stdout);
        Assert.Contains("images, linux/arm64", stdout);
        Assert.Contains("  kubernetes  https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/rpm/ (from http://127.0.0.1:9/aliyun/kubernetes-new/core/stable/v1.31/rpm/)", stdout);
        Assert.Contains("https://mirrors.aliyun.com/rockylinux/9/BaseOS/aarch64/os/", stdout);
        Assert.Contains("RPMs: kubelet-1.31.2 kubeadm-1.31.2 kubectl-1.31.2 containerd.io cri-tools chrony", stdout);
        Assert.Contains("bin/offlinekit: this offlinekit for linux-arm64", stdout);
        Assert.False(Directory.Exists(dir["out"]));

        // 1.23.0 with containerd is not the version's default runtime: its name says so, never the guide's docker bundle's.
        var containerd = await Run("build", "--k8s", "1.23.0", "--runtime", "containerd", "--dry-run", "-o", dir["out"]);
        Assert.Contains($"a build would write {Path.Combine(dir["out"], "offlinekit-k8s-1.23.0-el8-amd64-containerd.tar")}", containerd.Out);
        // --with depot: what a site-mode depot runs is carried too.
        var depot = await Run("build", "--k8s", "1.31.2", "--os", "el9", "--with", "depot", "--dry-run", "-o", dir["out"]);
        Assert.True(depot.Code == 0, depot.Err);
        Assert.Contains("  common  docker.io/library/registry:2.8.3", depot.Out);
        Assert.Contains(" chrony haproxy keepalived nginx,", depot.Out);
        Assert.DoesNotContain("registry:2.8.3", stdout);
        Assert.Equal(2, (await Run("build", "--k8s", "1.31.2", "--with", "nothing", "--dry-run")).Code);
        var docker = await Run("build", "--k8s", "1.24.0", "--runtime", "docker", "--dry-run");
        Assert.Equal(2, docker.Code);
        Assert.Contains("dockershim", docker.Err);
    }

    [Fact]
    public async Task Build_of_what_exists_then_verify_and_inspect()
    {
        using var dir = new TempDir();
        var (code, stdout, _) = await Run("build", "--k8s", "1.23.0", "-o", dir.Path, "--without", "images", "--without", "rpms", "--without", "manifests", "--without", "bin");
        Assert.Equal(0, code);
        var tarball = stdout.Trim();
        Assert.Equal(Path.Combine(dir.Path, "offlinekit-k8s-1.23.0-el8-amd64.tar"), tarball);

        var verify = await Run("verify", tarball, "--output", "json");
        Assert.Equal(0, verify.Code);
        Assert.Contains("\"ok\": true", verify.Out);

        var inspect = await Run("inspect", tarball);
        Assert.Equal(0, inspect.Code);
        Assert.Contains("verify.sh", inspect.Out);
        Assert.Contains("1.23.0", inspect.Out);
        Assert.Matches("runtime +docker", inspect.Out);
        Assert.Matches("kubeadm config +kubeadm.k8s.io/v1beta3", inspect.Out);
        Assert.Matches("version catalog +revision [0-9]", inspect.Out);
    }

    [Fact]
    public async Task Verify_of_a_tampered_bundle_exits_1_and_names_the_file()
    {
        using var dir = new TempDir();
        var bundle = await Bundles.WriteDirectoryAsync(dir.Path);
        File.Delete(Path.Combine(bundle, "manifests/calico.yaml"));

        var (code, stdout, _) = await Run("verify", bundle);

        Assert.Equal(1, code);
        Assert.Contains("missing", stdout);
        Assert.Contains("manifests/calico.yaml", stdout);
        Assert.Contains("verification FAILED", stdout);
    }

    [Fact]
    public async Task Extract_prints_the_bundle_folder()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir["out"]);
        var (code, stdout, _) = await Run("extract", tarball, "--to", dir["to"]);
        Assert.Equal(0, code);
        Assert.Equal(dir[$"to/{Bundles.Name}"], stdout.Trim());
    }

    [Fact]
    public async Task Version_prints_the_version_and_built_in_specs()
    {
        var (code, stdout, _) = await Run("version");
        Assert.Equal(0, code);
        Assert.StartsWith("offlinekit ", stdout);
        Assert.Contains("built-in specs: 1.23.0", stdout);
        Assert.Contains("kubernetes: v1.23.0–v1.37.1 (", stdout);
        Assert.Contains("version catalog: revision ", stdout);
    }
}

public class RpmArchTests
{
    [Fact]
    public async Task An_arm64_build_of_a_spec_with_x86_64_repositories_is_refused_before_any_download()
    {
        var spec = Path.Combine(OfflineKit.Tests.Images.KubeadmCatalogTests.RepoRoot(), "manifests", "k8s-1.23.0.yaml");
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["rpms", "resolve", "--spec", spec, "--arch", "arm64"], new CliConsole(new StringWriter(), stderr, interactive: false));
        Assert.Equal(2, code);
        Assert.Contains("is for x86_64, not arm64; write $basearch in its baseurl", stderr.ToString());
    }
}
