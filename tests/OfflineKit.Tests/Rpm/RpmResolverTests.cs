using OfflineKit.Rpm;
using OfflineKit.Spec;
using static OfflineKit.Tests.Rpm.RpmWorld;

namespace OfflineKit.Tests.Rpm;

public class RpmResolverTests
{
    [Fact]
    public void The_specs_requests_resolve_to_the_whole_closure_down_to_an_empty_root()
    {
        var result = new RpmResolver(El8()).Resolve(SpecRequests);

        Assert.Equal(
            [
                "bash-0:4.4.20-2.el8.x86_64",
                "conntrack-tools-0:1.4.4-10.el8.x86_64",
                "container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch",
                "containerd.io-0:1.6.20-3.1.el8.x86_64",
                "cri-tools-0:1.25.0-0.x86_64",
                "docker-ce-3:20.10.24-3.el8.x86_64",
                "docker-ce-cli-1:20.10.24-3.el8.x86_64",
                // Unpinned and required without a version: the newest, as dnf takes it too.
                "docker-ce-rootless-extras-0:23.0.1-1.el8.x86_64",
                "ethtool-2:5.8-7.el8.x86_64",
                "fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64",
                "iproute-0:5.12.0-4.el8.x86_64",
                "iptables-0:1.8.4-20.el8.x86_64",
                "iptables-ebtables-0:1.8.4-20.el8.x86_64",
                "iptables-libs-0:1.8.4-20.el8.x86_64",
                "kubeadm-0:1.23.0-0.x86_64",
                "kubectl-0:1.23.0-0.x86_64",
                "kubelet-0:1.23.0-0.x86_64",
                "kubernetes-cni-0:1.1.1-0.x86_64",
                "libcgroup-0:0.41-19.el8.x86_64",
                "libnetfilter_cthelper-0:1.0.0-15.el8.x86_64",
                "libseccomp-0:2.5.1-1.el8.x86_64",
                "policycoreutils-0:2.9-16.el8.x86_64",
                "selinux-policy-0:3.14.3-80.el8.noarch",
                "shadow-utils-2:4.6-14.el8.x86_64",
                "slirp4netns-0:1.1.8-1.module_el8.5.0+890+6b136101.x86_64",
                "socat-0:1.7.4.1-1.el8.x86_64",
                "systemd-0:239-51.el8.x86_64",
                "tar-2:1.30-5.el8.x86_64",
                "util-linux-0:2.32.1-28.el8.x86_64",
                "xz-0:5.2.4-3.el8.x86_64",
            ],
            result.Nevras);
        AssertClosed(result);
    }

    [Fact]
    public void An_exact_pin_is_never_met_by_a_newer_version()
    {
        var result = new RpmResolver(El8()).Resolve(["kubelet-1.23.0"]);

        Assert.Contains("kubelet-0:1.23.0-0.x86_64", result.Nevras);
        Assert.DoesNotContain(result.Nevras, n => n.StartsWith("kubelet-0:1.23.1", StringComparison.Ordinal) || n.StartsWith("kubelet-0:1.24", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kubelet", "kubelet-0:1.24.0-0.x86_64")]
    [InlineData("kubelet-1.23.1", "kubelet-0:1.23.1-0.x86_64")]
    [InlineData("kubelet-1.23.1-0", "kubelet-0:1.23.1-0.x86_64")]
    [InlineData("kubelet-0:1.23.1-0.x86_64", "kubelet-0:1.23.1-0.x86_64")]
    [InlineData("kubelet.x86_64", "kubelet-0:1.24.0-0.x86_64")]
    [InlineData("docker-ce-3:20.10.24", "docker-ce-3:20.10.24-3.el8.x86_64")]
    [InlineData("docker-ce-20.10.24-3.el8", "docker-ce-3:20.10.24-3.el8.x86_64")]
    [InlineData("conntrack", "conntrack-tools-0:1.4.4-10.el8.x86_64")]
    [InlineData("/usr/sbin/groupadd", "shadow-utils-2:4.6-14.el8.x86_64")]
    [InlineData("kubernetes-cni >= 0.8.7", "kubernetes-cni-0:1.1.1-0.x86_64")]
    public void Requests_take_dnfs_forms(string request, string expected) =>
        Assert.Contains(expected, new RpmResolver(El8()).Resolve([request]).Nevras);

    [Fact]
    public void A_versioned_requirement_takes_the_newest_match_and_a_pin_wins_over_newer()
    {
        var result = new RpmResolver(El8()).Resolve(["kubelet-1.23.0", "kubernetes-cni-0.8.7"]);

        Assert.Contains("kubernetes-cni-0:0.8.7-0.x86_64", result.Nevras);
        Assert.DoesNotContain("kubernetes-cni-0:1.1.1-0.x86_64", result.Nevras);
        Assert.Contains("kubernetes-cni-0:1.1.1-0.x86_64", new RpmResolver(El8()).Resolve(["kubelet-1.23.0"]).Nevras);
    }

    [Fact]
    public void File_dependencies_resolve_through_file_provides()
    {
        var result = new RpmResolver(El8()).Resolve(["docker-ce-cli-20.10.24"]);

        Assert.Equal(["bash-0:4.4.20-2.el8.x86_64", "docker-ce-cli-1:20.10.24-3.el8.x86_64", "shadow-utils-2:4.6-14.el8.x86_64"], result.Nevras);
        Assert.Equal("requires /usr/sbin/groupadd", result.Why("shadow-utils")![^1].Because);
        Assert.Equal("requires /bin/sh", result.Why("bash")![^1].Because);
    }

    [Fact]
    public void The_default_module_stream_is_eligible_and_a_newer_build_of_another_stream_is_not()
    {
        var result = new RpmResolver(El8()).Resolve(["container-selinux"]);

        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", result.Nevras);
        Assert.DoesNotContain(result.Nevras, n => n.Contains("2.189.0", StringComparison.Ordinal));
    }

    [Fact]
    public void An_enabled_stream_replaces_the_default()
    {
        var options = new ResolveOptions { EnabledModules = new Dictionary<string, string> { ["container-tools"] = "3.0" } };

        var result = new RpmResolver(El8(), options).Resolve(["docker-ce-20.10.24"]);

        Assert.Contains("container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch", result.Nevras);
        Assert.Contains("slirp4netns-0:1.2.0-2.module_el8.7.0+1216+b022c01d.x86_64", result.Nevras);
        Assert.DoesNotContain(result.Nevras, n => n.Contains("module_el8.5.0", StringComparison.Ordinal));
    }

    [Fact]
    public void A_package_only_in_an_inactive_stream_is_reported_with_the_stream()
    {
        var repos = El8();
        repos.Add(new RpmRepo(
            "extra",
            "http://127.0.0.1/extra/",
            [Pkg("podman-4.0.2-1.module_el8.7.0+1216+b022c01d.x86_64")],
            new ModuleMetadata(
                [new ModuleBuild("container-tools", "3.0", "1", "c", "x86_64", new HashSet<string> { "podman-0:4.0.2-1.module_el8.7.0+1216+b022c01d.x86_64" })],
                new Dictionary<string, string>())));

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["podman"]));

        Assert.Contains("container-tools:3.0, which is neither default nor enabled", e.Message);
    }

    [Fact]
    public void A_non_modular_package_of_the_same_name_as_an_active_streams_is_hidden()
    {
        var repos = El8();
        repos.Add(Repo("third-party", Pkg("container-selinux-2:2.999-1.el8.noarch")));

        var result = new RpmResolver(repos).Resolve(["container-selinux"]);

        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", result.Nevras);
    }

    [Fact]
    public void Without_module_metadata_the_newest_build_wins()
    {
        var result = new RpmResolver(El8(withModules: false)).Resolve(["container-selinux"]);

        Assert.Contains("container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch", result.Nevras);
    }

    [Fact]
    public void I686_is_never_chosen_even_when_newer()
    {
        var result = new RpmResolver(El8()).Resolve(SpecRequests);

        Assert.DoesNotContain(result.Nevras, n => n.EndsWith(".i686", StringComparison.Ordinal));
        Assert.Contains("libseccomp-0:2.5.1-1.el8.x86_64", result.Nevras);
    }

    [Fact]
    public void Arm64_takes_aarch64_and_noarch()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("containerd.io-1.6.20-3.1.el8.x86_64", ["libseccomp"]),
                Pkg("containerd.io-1.6.20-3.1.el8.aarch64", ["libseccomp"]),
                Pkg("libseccomp-2.5.1-1.el8.aarch64"),
                Pkg("libseccomp-2.5.1-1.el8.x86_64"),
                Pkg("libseccomp-2.5.2-1.el8.i686")),
        };

        var result = new RpmResolver(repos, new ResolveOptions { Arch = TargetArch.Arm64 }).Resolve(["containerd.io"]);

        Assert.Equal(["containerd.io-0:1.6.20-3.1.el8.aarch64", "libseccomp-0:2.5.1-1.el8.aarch64"], result.Nevras);
    }

    [Fact]
    public void Only_i686_available_is_reported_as_such()
    {
        var repos = new List<RpmRepo> { Repo("r", Pkg("a-1-1.x86_64", ["libfoo"]), Pkg("libfoo-1-1.i686")) };

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["a"]));

        Assert.Contains("libfoo-0:1-1.i686 is not eligible: its arch i686 is not x86_64 or noarch", e.Message);
    }

    [Fact]
    public void Recommends_are_left_out_unless_asked_for()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("containerd.io-1.6.20-3.1.el8.x86_64", recommends: ["container-helper", "not-anywhere"]),
                Pkg("container-helper-1.0-1.el8.x86_64", ["libhelper"]),
                Pkg("libhelper-1.0-1.el8.x86_64")),
        };

        Assert.Equal(["containerd.io-0:1.6.20-3.1.el8.x86_64"], new RpmResolver(repos).Resolve(["containerd.io"]).Nevras);
        Assert.Equal(
            ["container-helper-0:1.0-1.el8.x86_64", "containerd.io-0:1.6.20-3.1.el8.x86_64", "libhelper-0:1.0-1.el8.x86_64"],
            new RpmResolver(repos, new ResolveOptions { IncludeWeakDependencies = true }).Resolve(["containerd.io"]).Nevras);
    }

    [Fact]
    public void Conflicting_pins_are_a_clear_bad_input_error()
    {
        var e = Assert.Throws<ResolveException>(() => new RpmResolver(El8()).Resolve(["kubelet-1.23.0", "kubelet-1.24.0"]));

        Assert.Equal(ExitCode.BadInput, e.ExitCode);
        var problem = Assert.Single(e.Problems);
        Assert.Contains("conflicting requests for kubelet: 'kubelet-1.23.0' and 'kubelet-1.24.0'", problem.Message);
        Assert.Contains("1.23.0-0 vs 1.24.0-0", problem.Message);
    }

    [Fact]
    public void A_pin_against_a_dependencys_version_is_reported_with_the_chain()
    {
        var repos = El8();
        repos.Add(Repo("new", Pkg("kubeadm-1.25.0-0.x86_64", ["kubelet >= 1.25.0"])));

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["kubelet-1.23.0", "kubeadm-1.25.0"]));

        Assert.Equal(ExitCode.Failed, e.ExitCode);
        var problem = Assert.Single(e.Problems);
        Assert.Equal(["kubeadm-1.25.0", "kubeadm-0:1.25.0-0.x86_64", "requires kubelet >= 1.25.0"], problem.Chain);
        Assert.Contains("nothing provides it", problem.Message);
    }

    [Fact]
    public void An_unpinned_request_passes_over_a_newest_version_that_needs_something_else_than_a_pin()
    {
        var repos = El8();
        repos.Add(Repo("new", Pkg("kubeadm-1.25.0-0.x86_64", ["kubelet >= 1.25.0"]), Pkg("kubelet-1.25.0-0.x86_64", ["conntrack"])));

        var result = new RpmResolver(repos).Resolve(["kubeadm", "kubelet-1.23.0"]);

        Assert.Contains("kubeadm-0:1.24.0-0.x86_64", result.Nevras);
        Assert.Contains("kubelet-0:1.23.0-0.x86_64", result.Nevras);
    }

    [Fact]
    public void A_dependency_on_another_version_of_a_pinned_name_says_what_is_chosen()
    {
        var repos = El8();
        repos.Add(Repo("new", Pkg("kube-extra-1.0-1.x86_64", ["kubelet >= 1.24.0"])));

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["kubelet-1.23.0", "kube-extra"]));

        Assert.Contains(
            "kube-extra-0:1.0-1.x86_64 requires kubelet >= 1.24.0: every candidate is ruled out: kubelet-0:1.24.0-0.x86_64 (kubelet-0:1.23.0-0.x86_64 is already chosen)",
            e.Message);
    }

    [Fact]
    public void An_unsatisfiable_requirement_carries_the_chain_and_the_repos_searched()
    {
        var repos = El8();
        repos[2] = Repo("baseos", repos[2].Packages.Where(p => p.Name != "conntrack-tools").ToArray());

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["kubelet-1.23.0"]));

        var problem = Assert.Single(e.Problems);
        Assert.Equal(["kubelet-1.23.0", "kubelet-0:1.23.0-0.x86_64", "requires conntrack"], problem.Chain);
        Assert.Contains("kubelet-0:1.23.0-0.x86_64 requires conntrack: nothing provides it", e.Message);
        Assert.Contains("chain: kubelet-1.23.0 → kubelet-0:1.23.0-0.x86_64 → requires conntrack", e.Message);
        Assert.Contains("repositories searched: kubernetes (http://127.0.0.1/kubernetes/), docker-ce (http://127.0.0.1/docker-ce/), baseos (http://127.0.0.1/baseos/), appstream (http://127.0.0.1/appstream/)", e.Message);
    }

    [Fact]
    public void A_deeper_failure_names_every_link()
    {
        var repos = El8();
        repos[2] = Repo("baseos", repos[2].Packages.Where(p => p.Name != "libnetfilter_cthelper").ToArray());

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["kubelet-1.23.0"]));

        Assert.Equal(
            ["kubelet-1.23.0", "kubelet-0:1.23.0-0.x86_64", "requires conntrack", "conntrack-tools-0:1.4.4-10.el8.x86_64", "requires libnetfilter_cthelper.so.0()(64bit)"],
            Assert.Single(e.Problems).Chain);
    }

    [Fact]
    public void A_package_no_repo_has_is_named_with_the_repos()
    {
        var e = Assert.Throws<ResolveException>(() => new RpmResolver(El8()).Resolve(["chrony", "kubelet-1.99.0"]));

        Assert.Equal(ExitCode.BadInput, e.ExitCode);
        Assert.Equal(2, e.Problems.Count);
        Assert.Contains("no package matches 'chrony' in any repository", e.Message);
        Assert.Contains("no package matches 'kubelet-1.99.0': kubelet exists in versions 1.23.0-0, 1.23.1-0, 1.24.0-0", e.Message);
        Assert.Contains("repositories searched: kubernetes (http://127.0.0.1/kubernetes/)", e.Message);
    }

    [Fact]
    public void Conflicts_inside_the_set_are_errors()
    {
        var repos = El8();
        repos.Add(Repo("other", Pkg("docker-1.13.1-1.el8.x86_64"), Pkg("runc-1.0.0-1.el8.x86_64")));

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["docker-ce-20.10.24", "docker"]));

        Assert.Contains(e.Problems, p => p.Message.Contains("docker-ce-3:20.10.24-3.el8.x86_64 conflicts with docker, which docker-0:1.13.1-1.el8.x86_64 provides", StringComparison.Ordinal));
        var obsolete = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["containerd.io", "runc"]));
        Assert.Contains(obsolete.Problems, p => p.Message.Contains("containerd.io-0:1.6.20-3.1.el8.x86_64", StringComparison.Ordinal) && p.Message.Contains("runc", StringComparison.Ordinal));
    }

    [Fact]
    public void A_provider_that_conflicts_with_the_chosen_set_is_passed_over()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("app-1-1.x86_64", ["runtime"]),
                Pkg("runc-2.0-1.x86_64", provides: ["runtime"]),
                Pkg("crun-1.0-1.x86_64", provides: ["runtime"]),
                Pkg("containerd.io-1.6.20-1.x86_64", conflicts: ["runc"])),
        };

        var result = new RpmResolver(repos).Resolve(["containerd.io", "app"]);

        Assert.Equal(["app-0:1-1.x86_64", "containerd.io-0:1.6.20-1.x86_64", "crun-0:1.0-1.x86_64"], result.Nevras);
    }

    [Fact]
    public void A_provider_is_preferred_when_already_chosen_then_by_name_then_newest()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("a-1-1.noarch", ["mta"]),
                Pkg("b-1-1.noarch", ["webserver"]),
                Pkg("sendmail-9-1.noarch", provides: ["mta"]),
                Pkg("postfix-3-1.noarch", provides: ["mta"]),
                Pkg("mta-1-1.noarch"),
                Pkg("nginx-1.20-1.noarch", provides: ["webserver"]),
                Pkg("httpd-2.4-1.noarch", provides: ["webserver"]),
                Pkg("httpd-2.4-2.noarch", provides: ["webserver"])),
        };

        Assert.Contains("mta-0:1-1.noarch", new RpmResolver(repos).Resolve(["a"]).Nevras);
        Assert.Equal(["a-0:1-1.noarch", "postfix-0:3-1.noarch"], new RpmResolver(repos).Resolve(["postfix", "a"]).Nevras);
        Assert.Equal(["b-0:1-1.noarch", "httpd-0:2.4-2.noarch"], new RpmResolver(repos).Resolve(["b"]).Nevras);
    }

    [Fact]
    public void A_provider_whose_own_requirements_cannot_be_met_is_passed_over()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("kubelet-1.23.0-0.x86_64", ["kubernetes-cni >= 0.8.7"]),
                Pkg("kubernetes-cni-0.8.7-0.x86_64", ["kubelet"]),
                Pkg("kubernetes-cni-1.2.0-0.x86_64", ["kubelet >= 1.25.0"])),
        };

        Assert.Equal(
            ["kubelet-0:1.23.0-0.x86_64", "kubernetes-cni-0:0.8.7-0.x86_64"],
            new RpmResolver(repos).Resolve(["kubelet-1.23.0"]).Nevras);
    }

    [Fact]
    public void Rich_dependencies_are_evaluated()
    {
        var repos = new List<RpmRepo>
        {
            Repo(
                "r",
                Pkg("app-1-1.x86_64", ["(iptables-nft or iptables-legacy)", "(app-selinux if selinux-policy)", "(python3 with python3 >= 3.9)", "(libssl without libssl-compat)", "(runtime-a unless runtime-b)"]),
                Pkg("iptables-legacy-1-1.x86_64"),
                Pkg("iptables-nft-1-1.x86_64", ["not-available"]),
                Pkg("app-selinux-1-1.noarch"),
                Pkg("selinux-policy-1-1.noarch"),
                Pkg("python3-3.6-1.x86_64"),
                Pkg("python39-3.9-1.x86_64", provides: ["python3 = 3.9-1"]),
                Pkg("libssl-compat-1-1.x86_64", provides: ["libssl"]),
                Pkg("openssl-libs-1-1.x86_64", provides: ["libssl"]),
                Pkg("runtime-a-1-1.x86_64"),
                Pkg("runtime-b-1-1.x86_64")),
        };

        var plain = new RpmResolver(repos).Resolve(["app"]);
        Assert.Equal(
            ["app-0:1-1.x86_64", "iptables-legacy-0:1-1.x86_64", "openssl-libs-0:1-1.x86_64", "python39-0:3.9-1.x86_64", "runtime-a-0:1-1.x86_64"],
            plain.Nevras);

        // The condition comes true through a package chosen later: the if-branch follows.
        var withPolicy = new RpmResolver(repos).Resolve(["app", "selinux-policy", "runtime-b"]);
        Assert.Contains("app-selinux-0:1-1.noarch", withPolicy.Nevras);
        Assert.DoesNotContain("runtime-a-0:1-1.x86_64", withPolicy.Nevras);
        AssertClosed(plain);
    }

    [Fact]
    public void A_rich_dependency_nothing_meets_is_an_error()
    {
        var repos = new List<RpmRepo> { Repo("r", Pkg("app-1-1.x86_64", ["(a or b)"])) };

        var e = Assert.Throws<ResolveException>(() => new RpmResolver(repos).Resolve(["app"]));

        Assert.Contains("app-0:1-1.x86_64 requires (a or b): no alternative can be installed", e.Message);
    }

    [Fact]
    public void Why_gives_the_chain_from_the_request()
    {
        var result = new RpmResolver(El8()).Resolve(SpecRequests);

        var why = result.Why("libnetfilter_cthelper")!;

        Assert.Equal(
            [
                "kubelet-0:1.23.0-0.x86_64 (requested as kubelet-1.23.0)",
                "kubelet-0:1.23.0-0.x86_64 requires conntrack → conntrack-tools-0:1.4.4-10.el8.x86_64",
                "conntrack-tools-0:1.4.4-10.el8.x86_64 requires libnetfilter_cthelper.so.0()(64bit) → libnetfilter_cthelper-0:1.0.0-15.el8.x86_64",
            ],
            why.Select(s => s.ToString()));
        Assert.Null(result.Why("chrony"));
    }

    [Fact]
    public void Files_from_filelists_meet_file_dependencies_primary_does_not_list()
    {
        var app = Pkg("app-1-1.x86_64", ["/usr/share/app/data"]);
        var data = Pkg("app-data-1-1.noarch");
        var filelists = new Dictionary<string, List<string>> { [data.Checksum!.Value] = ["/usr/share/app/data", "/usr/share/app"] };
        var packages = FilelistsReader.AddFiles([app, data], filelists);

        var result = new RpmResolver([new RpmRepo("r", "http://127.0.0.1/r/", packages)]).Resolve(["app"]);

        Assert.Equal(["app-0:1-1.x86_64", "app-data-0:1-1.noarch"], result.Nevras);
    }

    [Fact]
    public void Read_without_filelists_the_resolver_asks_for_them_only_when_a_path_only_they_answer_is_looked_up()
    {
        // Primary covers /etc/*, *bin/* and /usr/lib/sendmail: /bin/sh is answered, and a path no dependency
        // of the closure names (/usr/share/other/data, required by a package not chosen) is never looked up.
        var shell = Pkg("bash-4-1.x86_64", files: ["/usr/bin/bash", "/bin/sh"]);
        var tool = Pkg("tool-1-1.x86_64", ["/bin/sh"]);
        var other = Pkg("other-1-1.x86_64", ["/usr/share/other/data"]);
        var primaryOnly = new RpmRepo("r", "http://127.0.0.1/r/", [shell, tool, other]) { FilelistsRead = false };

        var resolver = new RpmResolver([primaryOnly]);
        var result = resolver.Resolve(["tool"]);

        Assert.Equal(["bash-0:4-1.x86_64", "tool-0:1-1.x86_64"], result.Nevras);
        Assert.False(resolver.NeedsFilelists);

        // Asked for the package that names a path only filelists answers, it fails for want of them, and says so.
        Assert.Throws<ResolveException>(() => resolver.Resolve(["other"]));
        Assert.True(resolver.NeedsFilelists);

        // Read with filelists (nothing owns it in primary), the same request is not flagged.
        var withFilelists = new RpmResolver([primaryOnly with { FilelistsRead = true }]);
        Assert.Throws<ResolveException>(() => withFilelists.Resolve(["other"]));
        Assert.False(withFilelists.NeedsFilelists);
    }

    [Theory]
    [InlineData("/etc/passwd", true)]
    [InlineData("/bin/sh", true)]
    [InlineData("/usr/sbin/groupadd", true)]
    [InlineData("/usr/lib/sendmail", true)]
    [InlineData("/usr/lib/tc/pareto.dist", false)]
    [InlineData("/usr/share/app/data", false)]
    [InlineData("/etc", false)]
    public void Primary_covers_what_createrepo_puts_in_it(string path, bool covered) =>
        Assert.Equal(covered, FilelistsReader.PrimaryCovers(path));

    // The closure property itself, checked independently of the resolver's bookkeeping.
    private static void AssertClosed(ResolveResult result)
    {
        var set = result.Packages;
        foreach (var p in set)
        {
            foreach (var r in p.Requires.Where(r => !r.IsRich))
            {
                Assert.True(
                    set.Any(q => (q.Name == r.Name && r.IsSatisfiedBy(q.Evr)) || q.Provides.Any(r.IsSatisfiedBy) || q.Files.Contains(r.Name)),
                    $"{p.Nevra} requires {r}, unmet in the set");
            }
        }

        Assert.Equal(set.Count, set.Select(p => p.Name).Distinct().Count());
    }
}
