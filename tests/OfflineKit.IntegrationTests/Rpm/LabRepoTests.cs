using System.Text;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Rpm;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Rpm;

/// <summary>
/// Tiny real RPMs (rpmbuild) copying the real dependency graph, real createrepo_c metadata with a
/// real modules.yaml, and the real dnf installing into an empty root: our parser and resolver must
/// choose exactly the set dnf installs.
/// </summary>
public class LabRepoTests(LabRepoTests.LabRepos lab) : IClassFixture<LabRepoTests.LabRepos>
{
    /// <summary>The lab repositories, built once for the class: rpmbuild and createrepo_c take seconds.</summary>
    public sealed class LabRepos : IAsyncLifetime
    {
        public TempDir Dir { get; } = new();

        public Task InitializeAsync() => BuildRepos(Dir);

        public Task DisposeAsync()
        {
            Dir.Dispose();
            return Task.CompletedTask;
        }
    }

    private sealed record LabPackage(
        string Repo,
        string Name,
        string Evr,
        string Arch = "noarch",
        string[]? Requires = null,
        string[]? Provides = null,
        string[]? Conflicts = null,
        string[]? Obsoletes = null,
        string[]? Recommends = null,
        string[]? Files = null);

    private static readonly string[] KubeletRequires =
        ["iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "socat", "util-linux", "ethtool", "iproute", "ebtables", "conntrack"];

    private static readonly string[] DockerRequires =
        ["/usr/sbin/groupadd", "docker-ce-cli", "docker-ce-rootless-extras", "container-selinux >= 2:2.74", "libseccomp >= 2.3", "systemd", "iptables", "libcgroup", "containerd.io >= 1.4.1", "tar", "xz"];

    private static readonly string[] DockerConflicts = ["docker", "docker-io", "docker-engine-cs", "docker-ee"];

    // The graph of /work/shared/testdata/el-dependency-facts.md, with the newer versions real repos hold.
    // Lab-only additions say so: a rich "or" and "if", a Recommends, an i686 build newer than x86_64.
    private static readonly LabPackage[] Packages =
    [
        new("kubernetes", "kubelet", "1.23.0-0", "x86_64", KubeletRequires),
        new("kubernetes", "kubelet", "1.23.1-0", "x86_64", KubeletRequires),
        new("kubernetes", "kubelet", "1.24.0-0", "x86_64", KubeletRequires),
        new("kubernetes", "kubeadm", "1.23.0-0", "x86_64", ["kubelet >= 1.19.0", "kubectl >= 1.19.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.19.0"]),
        new("kubernetes", "kubectl", "1.23.0-0", "x86_64"),
        new("kubernetes", "kubectl", "1.24.0-0", "x86_64"),
        new("kubernetes", "kubernetes-cni", "0.8.7-0", "x86_64", ["kubelet"]),
        new("kubernetes", "kubernetes-cni", "1.1.1-0", "x86_64", ["kubelet"]),
        new("kubernetes", "cri-tools", "1.19.0-0", "x86_64"),
        new("kubernetes", "cri-tools", "1.25.0-0", "x86_64"),
        new("docker-ce", "docker-ce", "3:20.10.24-3.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"]),
        new("docker-ce", "docker-ce", "3:23.0.1-1.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"]),
        new("docker-ce", "docker-ce-cli", "1:20.10.24-3.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce", "docker-ce-cli", "1:23.0.1-1.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce", "docker-ce-rootless-extras", "20.10.24-3.el8", "x86_64", ["docker-ce", "slirp4netns >= 0.4", "(fuse-overlayfs >= 0.7 or fuse3)"], Conflicts: ["rootlesskit"]),
        new("docker-ce", "docker-ce-rootless-extras", "23.0.1-1.el8", "x86_64", ["docker-ce", "slirp4netns >= 0.4", "(fuse-overlayfs >= 0.7 or fuse3)"], Conflicts: ["rootlesskit"]),
        new("docker-ce", "containerd.io", "1.6.9-3.1.el8", "x86_64", ["container-selinux >= 2:2.74", "libseccomp"], Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("docker-ce", "containerd.io", "1.6.20-3.1.el8", "x86_64", ["container-selinux >= 2:2.74", "libseccomp"], Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("docker-ce", "docker-compose-plugin", "2.17.2-3.el8", "x86_64"),
        new("baseos", "iptables", "1.8.4-20.el8", "x86_64", ["iptables-libs = 1.8.4-20.el8", "/bin/sh"], Files: ["/usr/sbin/iptables"]),
        new("baseos", "iptables-libs", "1.8.4-20.el8", "x86_64", Provides: ["libip4tc.so.2()(64bit)"]),
        new("baseos", "iptables-ebtables", "1.8.4-20.el8", "x86_64", ["iptables = 1.8.4-20.el8"], Provides: ["ebtables"], Files: ["/usr/sbin/ebtables"]),
        new("baseos", "conntrack-tools", "1.4.4-10.el8", "x86_64", ["libnetfilter_cthelper.so.0()(64bit)"], Provides: ["conntrack"]),
        new("baseos", "libnetfilter_cthelper", "1.0.0-15.el8", "x86_64", Provides: ["libnetfilter_cthelper.so.0()(64bit)"]),
        new("baseos", "socat", "1.7.4.1-1.el8", "x86_64"),
        new("baseos", "util-linux", "2.32.1-28.el8", "x86_64", ["/bin/sh"]),
        new("baseos", "ethtool", "2:5.8-7.el8", "x86_64"),
        // Lab-only: a file dependency only filelists can answer (primary lists /etc/*, *bin/* and /usr/lib/sendmail).
        new("baseos", "iproute", "5.12.0-4.el8", "x86_64", ["/usr/lib/tc/pareto.dist"]),
        new("baseos", "iproute-tc", "5.12.0-4.el8", "x86_64", Files: ["/usr/lib/tc/pareto.dist"]),
        new("baseos", "libseccomp", "2.5.1-1.el8", "x86_64"),
        new("baseos", "libseccomp", "2.5.2-1.el8", "i686"),
        new("baseos", "libcgroup", "0.41-19.el8", "x86_64", ["/usr/sbin/groupadd"]),
        new("baseos", "tar", "2:1.30-5.el8", "x86_64"),
        new("baseos", "xz", "5.2.4-3.el8", "x86_64"),
        new("baseos", "shadow-utils", "2:4.6-14.el8", "x86_64", Files: ["/usr/sbin/groupadd", "/usr/sbin/useradd"]),
        new("baseos", "bash", "4.4.20-2.el8", "x86_64", Files: ["/bin/sh", "/usr/bin/bash"]),
        new("baseos", "systemd", "239-51.el8", "x86_64", ["/bin/sh", "(systemd-selinux-helper if selinux-policy)"]),
        new("baseos", "systemd-selinux-helper", "239-51.el8", "x86_64"),
        new("appstream", "container-selinux", "2:2.167.0-1.module_el8.5.0+911+f19012f9", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("appstream", "container-selinux", "2:2.189.0-1.module_el8.7.0+1216+b022c01d", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("appstream", "fuse-overlayfs", "1.7.1-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("appstream", "fuse-overlayfs", "1.9-1.module_el8.7.0+1216+b022c01d", "x86_64"),
        new("appstream", "slirp4netns", "1.1.8-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("appstream", "slirp4netns", "1.2.0-2.module_el8.7.0+1216+b022c01d", "x86_64"),
        new("appstream", "selinux-policy", "3.14.3-80.el8", "noarch", ["policycoreutils >= 2.9"]),
        new("appstream", "policycoreutils", "2.9-16.el8", "x86_64", ["/bin/sh"]),
    ];

    private const string ModulesYaml = """
        ---
        document: modulemd
        version: 2
        data:
          name: container-tools
          stream: "rhel8"
          version: 8050020211112043353
          context: 20125149
          arch: x86_64
          summary: lab stand-in of the container-tools module
          description: lab stand-in
          license:
            module: [MIT]
          artifacts:
            rpms:
            - container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch
            - fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64
            - slirp4netns-0:1.1.8-1.module_el8.5.0+890+6b136101.x86_64
        ...
        ---
        document: modulemd
        version: 2
        data:
          name: container-tools
          stream: "3.0"
          version: 8070020220812043354
          context: d7b5bd74
          arch: x86_64
          summary: lab stand-in of the container-tools module
          description: lab stand-in
          license:
            module: [MIT]
          artifacts:
            rpms:
            - container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch
            - fuse-overlayfs-0:1.9-1.module_el8.7.0+1216+b022c01d.x86_64
            - slirp4netns-0:1.2.0-2.module_el8.7.0+1216+b022c01d.x86_64
        ...
        ---
        document: modulemd-defaults
        version: 1
        data:
          module: container-tools
          stream: rhel8
        ...
        """;

    private static readonly string[] Repos = ["kubernetes", "docker-ce", "baseos", "appstream"];

    private static readonly string[] Requests =
        ["kubelet-1.23.0", "kubeadm-1.23.0", "kubectl-1.23.0", "docker-ce-20.10.24", "docker-ce-cli-20.10.24", "containerd.io"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resolver_chooses_what_real_dnf_installs_from_createrepo_c_metadata(bool weakDependencies)
    {
        var dnf = Tools.Require("dnf", "dnf");
        var rpm = Tools.Require("rpm", "rpm");
        var repoDir = lab.Dir;
        using var dir = new TempDir();

        var repos = RpmRepoLoader.Load(Repos.Select(r => new RpmRepoSource(
            r, repoDir[r] + "/", href => File.OpenRead(Path.Combine(repoDir[r], href)))).ToList());
        var ours = new RpmResolver(repos, new ResolveOptions { IncludeWeakDependencies = weakDependencies }).Resolve(Requests);

        var root = dir["root"];
        Directory.CreateDirectory(root);
        // --noplugins: Debian's dnf runs its "local" plugin otherwise, which keeps copies of what it
        // installed as a repo for every later run and would hide a missing package.
        var install = await Tools.RunAsync(dnf, [
            "--noplugins", $"--installroot={root}", "--disablerepo=*",
            .. Repos.Select(r => $"--repofrompath={r},{repoDir[r]}"),
            $"--setopt=install_weak_deps={weakDependencies}", $"--setopt=cachedir={root}/var/cache/dnf",
            "--releasever=8", "--nogpgcheck", "--assumeyes", "install", .. Requests]);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        var query = await Tools.RunAsync(rpm, ["--root", root, "-qa", "--qf", "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n"]);
        Assert.True(query.ExitCode == 0, query.Stderr);
        var installed = query.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(installed, ours.Nevras);
        // What makes the comparison worth having: the pins, the module's default stream, the rich
        // dependencies, the file provides and the arch rule all showed in the result.
        Assert.Contains("kubelet-0:1.23.0-0.x86_64", installed);
        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", installed);
        Assert.Contains("fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64", installed);
        Assert.Contains("systemd-selinux-helper-0:239-51.el8.x86_64", installed);
        Assert.Contains("shadow-utils-2:4.6-14.el8.x86_64", installed);
        Assert.Contains("libseccomp-0:2.5.1-1.el8.x86_64", installed);
        Assert.Contains("iproute-tc-0:5.12.0-4.el8.x86_64", installed);
        Assert.Equal("requires /usr/lib/tc/pareto.dist", ours.Why("iproute-tc")![^1].Because);
        Assert.Equal(weakDependencies, installed.Contains("docker-compose-plugin-0:2.17.2-3.el8.x86_64"));
    }

    private static async Task BuildRepos(TempDir dir)
    {
        Tools.Require("rpmbuild", "rpm");
        Tools.Require("createrepo_c", "createrepo-c");
        Tools.Require("modifyrepo_c", "createrepo-c");
        var script = new StringBuilder("set -euo pipefail\n");
        foreach (var p in Packages)
        {
            var spec = dir.Write($"specs/{p.Name}-{p.Evr.Replace(':', '_')}.{p.Arch}.spec", Spec(p));
            // One bash for all packages: rpmbuild starts fast, a process per package from .NET would not.
            script.Append($"rpmbuild -bb --quiet {(p.Arch == "noarch" ? string.Empty : "--target " + p.Arch)} --define '_topdir {dir["top"]}' --define '_rpmdir {dir[p.Repo]}' ")
                .Append("--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' ")
                .Append($"'{spec}' >/dev/null 2>&1 || rpmbuild -bb '{spec}'\n");
        }

        foreach (var r in Repos)
        {
            script.Append($"createrepo_c --quiet '{dir[r]}'\n");
        }

        var modules = dir.Write("modules.yaml", ModulesYaml);
        script.Append($"modifyrepo_c --mdtype=modules '{modules}' '{dir["appstream"]}/repodata' >/dev/null\n");
        var result = await Tools.Bash(script.ToString());
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
    }

    // A lab stand-in: no scripts, no automatic dependencies on the host, empty files where a file
    // dependency needs an owner.
    private static string Spec(LabPackage p)
    {
        var evr = Evr.Parse(p.Evr);
        var sb = new StringBuilder();
        sb.Append($"Name: {p.Name}\n");
        if (evr.Epoch != 0)
        {
            sb.Append($"Epoch: {evr.Epoch}\n");
        }

        sb.Append($"Version: {evr.Version}\nRelease: {evr.Release}\nSummary: offlinekit lab stand-in of {p.Name}\nLicense: MIT\n")
            .Append(p.Arch == "noarch" ? "BuildArch: noarch\n" : string.Empty)
            .Append("AutoReqProv: no\n");
        foreach (var (tag, deps) in new[] { ("Requires", p.Requires), ("Provides", p.Provides), ("Conflicts", p.Conflicts), ("Obsoletes", p.Obsoletes), ("Recommends", p.Recommends) })
        {
            foreach (var d in deps ?? [])
            {
                sb.Append($"{tag}: {d}\n");
            }
        }

        sb.Append("%description\nofflinekit lab stand-in: copies the name, version and dependencies of the real package.\n");
        sb.Append("%install\n");
        foreach (var f in p.Files ?? [])
        {
            sb.Append($"mkdir -p %{{buildroot}}{Path.GetDirectoryName(f)}\ntouch %{{buildroot}}{f}\n");
        }

        sb.Append("%files\n");
        foreach (var f in p.Files ?? [])
        {
            sb.Append(f).Append('\n');
        }

        return sb.ToString();
    }
}
