using OfflineKit.Install;
using Tomlyn;
using Tomlyn.Model;

namespace OfflineKit.Tests.Install;

/// <summary>config.toml merged from `containerd config default` (the real output of Debian's containerd 1.6.20, in testdata), the host's file and offlinekit's settings.</summary>
public class ContainerdConfigTests
{
    private const string Pause = "registry.k8s.io/pause:3.10";

    private static readonly string Defaults16 = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Install", "testdata", "containerd-1.6-config-default.toml"));

    /// <summary>The shape of containerd 2.x's `config default` (version 3), cut to the tables offlinekit touches.</summary>
    private const string Defaults20 = """
        version = 3
        root = '/var/lib/containerd'
        disabled_plugins = []

        [plugins]
          [plugins.'io.containerd.cri.v1.images']
            snapshotter = 'overlayfs'
            [plugins.'io.containerd.cri.v1.images'.pinned_images]
              sandbox = 'registry.k8s.io/pause:3.10'
            [plugins.'io.containerd.cri.v1.images'.registry]
              config_path = ''
          [plugins.'io.containerd.cri.v1.runtime']
            [plugins.'io.containerd.cri.v1.runtime'.containerd]
              default_runtime_name = 'runc'
              [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
                [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
                  runtime_type = 'io.containerd.runc.v2'
                  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
                    SystemdCgroup = false
        """;

    private static object? At(string toml, params string[] path)
    {
        object? node = TomlSerializer.Deserialize<TomlTable>(toml);
        foreach (var key in path)
        {
            node = ((TomlTable)node!)[key];
        }

        return node;
    }

    [Fact]
    public void Containerd_1_x_gets_systemd_cgroups_the_pinned_pause_image_and_config_path()
    {
        var merged = ContainerdConfig.Merge(Defaults16, null, Pause);

        Assert.Equal(true, At(merged, "plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options", "SystemdCgroup"));
        Assert.Equal(Pause, At(merged, "plugins", "io.containerd.grpc.v1.cri", "sandbox_image"));
        Assert.Equal("/etc/containerd/certs.d", At(merged, "plugins", "io.containerd.grpc.v1.cri", "registry", "config_path"));
        Assert.Equal("/var/lib/containerd", At(merged, "root"));
        Assert.Equal(Pause, ContainerdConfig.SandboxImage(merged));
    }

    [Fact]
    public void Containerd_2_x_pins_the_sandbox_under_the_images_plugin()
    {
        var merged = ContainerdConfig.Merge(Defaults20, null, "registry.aliyuncs.com/google_containers/pause:3.10");

        Assert.Equal("registry.aliyuncs.com/google_containers/pause:3.10", At(merged, "plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"));
        Assert.Equal(true, At(merged, "plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc", "options", "SystemdCgroup"));
        Assert.Equal("/etc/containerd/certs.d", At(merged, "plugins", "io.containerd.cri.v1.images", "registry", "config_path"));
        Assert.Equal("registry.aliyuncs.com/google_containers/pause:3.10", ContainerdConfig.SandboxImage(merged));
    }

    [Fact]
    public void The_hosts_own_keys_are_kept_and_the_packages_cri_switch_off_is_undone()
    {
        const string current = """
            version = 2
            root = "/data/containerd"
            disabled_plugins = ["cri", "io.containerd.snapshotter.v1.btrfs"]

            [plugins."io.containerd.grpc.v1.cri"]
              max_container_log_line_size = 4096
            """;

        var merged = ContainerdConfig.Merge(Defaults16, current, Pause);

        Assert.Equal("/data/containerd", At(merged, "root"));
        Assert.Equal(4096L, At(merged, "plugins", "io.containerd.grpc.v1.cri", "max_container_log_line_size"));
        Assert.Equal(["io.containerd.snapshotter.v1.btrfs"], ((TomlArray)At(merged, "disabled_plugins")!).Cast<string>());
        Assert.Equal(Pause, At(merged, "plugins", "io.containerd.grpc.v1.cri", "sandbox_image"));
    }

    [Fact]
    public void Merging_again_changes_nothing()
    {
        var once = ContainerdConfig.Merge(Defaults16, "version = 2\nroot = \"/data/containerd\"\n", Pause);

        Assert.Equal(once, ContainerdConfig.Merge(Defaults16, once, Pause));
    }

    [Fact]
    public void A_file_of_another_config_version_or_not_toml_is_refused_with_a_message()
    {
        Assert.Contains("config version 3", Assert.Throws<OperationFailedException>(() => ContainerdConfig.Merge(Defaults16, "version = 3\n", Pause)).Message);
        Assert.Contains("/etc/containerd/config.toml is not valid TOML", Assert.Throws<OperationFailedException>(() => ContainerdConfig.Merge(Defaults16, "version = = 2", Pause)).Message);
    }

    [Fact]
    public void Hosts_toml_lists_the_mirrors_then_the_registry_with_its_ca_and_skip_verify_only_when_asked()
    {
        var mirrors = HostsToml.Render(new RegistrySettings("docker.io", ["https://mirror.site:5000/"]));
        Assert.Equal("https://registry-1.docker.io", At(mirrors, "server"));
        Assert.Equal(new object[] { "pull", "resolve" }, ((TomlArray)At(mirrors, "host", "https://mirror.site:5000", "capabilities")!).ToArray());
        Assert.DoesNotContain("skip_verify", mirrors);

        var site = HostsToml.Render(new RegistrySettings("harbor.site:8443", [], SkipVerify: true) { CaCertificate = "PEM", CaFile = "ca.crt" });
        Assert.Equal("https://harbor.site:8443", At(site, "server"));
        // Relative: containerd reads it from the hosts.toml's own folder, certs.d/harbor.site:8443/.
        Assert.Equal("ca.crt", At(site, "host", "https://harbor.site:8443", "ca"));
        Assert.Equal(true, At(site, "host", "https://harbor.site:8443", "skip_verify"));

        var plain = HostsToml.Render(new RegistrySettings("10.0.0.5:5000", [], Insecure: true));
        Assert.Equal("http://10.0.0.5:5000", At(plain, "server"));
    }

    [Fact]
    public void A_site_registry_that_wants_a_login_gets_its_token_as_an_authorization_header_on_its_own_hosts_only()
    {
        var origin = new RegistrySettings("registry.k8s.io", ["https://harbor.site:443/v2/k8s"]) { CredentialOf = "harbor.site:443", CaCertificate = "PEM" };
        var toml = HostsToml.Render(origin, "dXNlcjpwYXNz");

        Assert.Equal(new object[] { "Basic dXNlcjpwYXNz" }, ((TomlArray)At(toml, "host", "https://harbor.site:443/v2/k8s", "header", "Authorization")!).ToArray());
        Assert.Equal(true, At(toml, "host", "https://harbor.site:443/v2/k8s", "override_path"));
        Assert.False(((TomlTable)At(toml, "host", "https://registry.k8s.io")!).ContainsKey("header"));
        Assert.DoesNotContain("Authorization", HostsToml.Render(origin), StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization", HostsToml.Render(origin with { CredentialOf = null }, "dXNlcjpwYXNz"), StringComparison.Ordinal);

        // The registry itself: its own server entry carries the header, even with no CA of its own to name.
        var own = HostsToml.Render(new RegistrySettings("harbor.site:443", []) { CredentialOf = "harbor.site:443" }, "dXNlcjpwYXNz");
        Assert.Equal(new object[] { "Basic dXNlcjpwYXNz" }, ((TomlArray)At(own, "host", "https://harbor.site:443", "header", "Authorization")!).ToArray());
    }
}
