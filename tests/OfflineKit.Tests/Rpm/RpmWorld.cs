using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>Packages and repositories written the way a spec file reads, for resolver tests.</summary>
internal static class RpmWorld
{
    /// <summary>"name-[epoch:]version-release.arch", then dependencies as a spec file writes them.</summary>
    public static RpmPackage Pkg(
        string nevra,
        string[]? requires = null,
        string[]? provides = null,
        string[]? conflicts = null,
        string[]? obsoletes = null,
        string[]? recommends = null,
        string[]? files = null,
        string repo = "")
    {
        var dot = nevra.LastIndexOf('.');
        var arch = nevra[(dot + 1)..];
        var rest = nevra[..dot];
        var release = rest[(rest.LastIndexOf('-') + 1)..];
        rest = rest[..rest.LastIndexOf('-')];
        var version = rest[(rest.LastIndexOf('-') + 1)..];
        var name = rest[..rest.LastIndexOf('-')];
        var evr = Evr.Parse(version + "-" + release);
        return new RpmPackage
        {
            Name = name,
            Arch = arch,
            Evr = evr,
            Checksum = new RpmChecksum("sha256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(nevra)))),
            LocationHref = $"Packages/{name}-{evr.Version}-{evr.Release}.{arch}.rpm",
            Repo = repo,
            Requires = Deps(requires),
            Provides = [new RpmDependency(name, DepRelation.Eq, evr), .. Deps(provides)],
            Conflicts = Deps(conflicts),
            Obsoletes = Deps(obsoletes),
            Recommends = Deps(recommends),
            Files = files ?? [],
        };
    }

    public static RpmRepo Repo(string name, params RpmPackage[] packages) =>
        new(name, $"http://127.0.0.1/{name}/", packages);

    private static List<RpmDependency> Deps(string[]? texts) => (texts ?? []).Select(RpmDependency.Parse).ToList();

    /// <summary>
    /// The graph of /work/shared/testdata/el-dependency-facts.md: the Kubernetes and docker-ce repos,
    /// BaseOS and a modular AppStream, with the newer versions and other arches a real repo has.
    /// </summary>
    public static List<RpmRepo> El8(bool withModules = true, string[]? extraDefaults = null)
    {
        var kubernetes = Repo(
            "kubernetes",
            Pkg("kubelet-1.23.0-0.x86_64", ["iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "socat", "util-linux", "ethtool", "iproute", "ebtables", "conntrack"]),
            Pkg("kubelet-1.23.1-0.x86_64", ["iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "socat", "util-linux", "ethtool", "iproute", "ebtables", "conntrack"]),
            Pkg("kubelet-1.24.0-0.x86_64", ["iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "socat", "util-linux", "ethtool", "iproute", "ebtables", "conntrack"]),
            Pkg("kubeadm-1.23.0-0.x86_64", ["kubelet >= 1.19.0", "kubectl >= 1.19.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.19.0"]),
            Pkg("kubeadm-1.24.0-0.x86_64", ["kubelet >= 1.19.0", "kubectl >= 1.19.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.19.0"]),
            Pkg("kubectl-1.23.0-0.x86_64"),
            Pkg("kubectl-1.24.0-0.x86_64"),
            Pkg("kubernetes-cni-0.8.6-0.x86_64", ["kubelet"]),
            Pkg("kubernetes-cni-0.8.7-0.x86_64", ["kubelet"]),
            Pkg("kubernetes-cni-1.1.1-0.x86_64", ["kubelet"]),
            Pkg("cri-tools-1.19.0-0.x86_64"),
            Pkg("cri-tools-1.23.0-0.x86_64"),
            Pkg("cri-tools-1.25.0-0.x86_64"));

        var dockerCe = Repo(
            "docker-ce",
            Pkg(
                "docker-ce-3:20.10.24-3.el8.x86_64",
                ["/usr/sbin/groupadd", "docker-ce-cli", "docker-ce-rootless-extras", "container-selinux >= 2:2.74", "libseccomp >= 2.3", "systemd", "iptables", "libcgroup", "containerd.io >= 1.4.1", "tar", "xz"],
                conflicts: ["docker", "docker-io", "docker-engine-cs", "docker-ee"],
                obsoletes: ["docker-engine"]),
            Pkg(
                "docker-ce-3:23.0.1-1.el8.x86_64",
                ["/usr/sbin/groupadd", "docker-ce-cli", "docker-ce-rootless-extras", "container-selinux >= 2:2.74", "libseccomp >= 2.3", "systemd", "iptables", "libcgroup", "containerd.io >= 1.6.4", "tar", "xz"],
                conflicts: ["docker", "docker-io", "docker-engine-cs", "docker-ee"],
                obsoletes: ["docker-engine"]),
            Pkg("docker-ce-cli-1:20.10.24-3.el8.x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
            Pkg("docker-ce-cli-1:23.0.1-1.el8.x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
            Pkg("docker-ce-rootless-extras-20.10.24-3.el8.x86_64", ["docker-ce", "slirp4netns >= 0.4", "fuse-overlayfs >= 0.7"], conflicts: ["rootlesskit"]),
            Pkg("docker-ce-rootless-extras-23.0.1-1.el8.x86_64", ["docker-ce", "slirp4netns >= 0.4", "fuse-overlayfs >= 0.7"], conflicts: ["rootlesskit"]),
            Pkg("containerd.io-1.6.9-3.1.el8.x86_64", ["container-selinux >= 2:2.74", "libseccomp"], conflicts: ["containerd", "runc"], obsoletes: ["containerd", "runc"]),
            Pkg("containerd.io-1.6.20-3.1.el8.x86_64", ["container-selinux >= 2:2.74", "libseccomp"], conflicts: ["containerd", "runc"], obsoletes: ["containerd", "runc"]),
            Pkg("containerd.io-1.6.20-3.1.el8.aarch64", ["container-selinux >= 2:2.74", "libseccomp"], conflicts: ["containerd", "runc"], obsoletes: ["containerd", "runc"]));

        var baseos = Repo(
            "baseos",
            Pkg("iptables-1.8.4-20.el8.x86_64", ["iptables-libs = 1.8.4-20.el8", "/bin/sh"], files: ["/usr/sbin/iptables"]),
            Pkg("iptables-libs-1.8.4-20.el8.x86_64", provides: ["libip4tc.so.2()(64bit)"]),
            Pkg("iptables-libs-1.8.4-20.el8.i686", provides: ["libip4tc.so.2"]),
            Pkg("iptables-ebtables-1.8.4-20.el8.x86_64", ["iptables = 1.8.4-20.el8"], provides: ["ebtables"], files: ["/usr/sbin/ebtables"]),
            Pkg("conntrack-tools-1.4.4-10.el8.x86_64", ["libnetfilter_cthelper.so.0()(64bit)"], provides: ["conntrack"], files: ["/usr/sbin/conntrack"]),
            Pkg("libnetfilter_cthelper-1.0.0-15.el8.x86_64", provides: ["libnetfilter_cthelper.so.0()(64bit)"]),
            Pkg("libnetfilter_cthelper-1.0.0-16.el8.i686", provides: ["libnetfilter_cthelper.so.0"]),
            Pkg("socat-1.7.4.1-1.el8.x86_64"),
            Pkg("util-linux-2.32.1-28.el8.x86_64", ["/bin/sh"]),
            Pkg("ethtool-2:5.8-7.el8.x86_64"),
            Pkg("iproute-5.12.0-4.el8.x86_64"),
            Pkg("libseccomp-2.5.1-1.el8.x86_64"),
            Pkg("libseccomp-2.5.2-1.el8.i686"),
            Pkg("libcgroup-0.41-19.el8.x86_64", ["/usr/sbin/groupadd"]),
            Pkg("tar-2:1.30-5.el8.x86_64"),
            Pkg("xz-5.2.4-3.el8.x86_64"),
            Pkg("shadow-utils-2:4.6-14.el8.x86_64", files: ["/usr/sbin/groupadd", "/usr/sbin/useradd"]),
            Pkg("bash-4.4.20-2.el8.x86_64", provides: ["/bin/sh"], files: ["/usr/bin/bash", "/usr/bin/sh"]),
            Pkg("systemd-239-51.el8.x86_64", ["/bin/sh"]),
            Pkg("systemd-239-51.el8.i686"));

        var container = new ModuleBuild("container-tools", "rhel8", "8050020211112043353", "20125149", "x86_64", new HashSet<string>
        {
            "container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch",
            "fuse-overlayfs-0:1.7.1-1.module_el8.5.0+890+6b136101.x86_64",
            "slirp4netns-0:1.1.8-1.module_el8.5.0+890+6b136101.x86_64",
        });
        var container30 = new ModuleBuild("container-tools", "3.0", "8050020211112043353", "d7b5bd74", "x86_64", new HashSet<string>
        {
            "container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch",
            "fuse-overlayfs-0:1.9-1.module_el8.7.0+1216+b022c01d.x86_64",
            "slirp4netns-0:1.2.0-2.module_el8.7.0+1216+b022c01d.x86_64",
        });
        var defaults = new Dictionary<string, string> { ["container-tools"] = "rhel8" };
        foreach (var d in extraDefaults ?? [])
        {
            defaults[d.Split(':')[0]] = d.Split(':')[1];
        }

        var appstreamPackages = new[]
        {
            Pkg("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
            Pkg("container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
            Pkg("fuse-overlayfs-1.7.1-1.module_el8.5.0+890+6b136101.x86_64"),
            Pkg("fuse-overlayfs-1.9-1.module_el8.7.0+1216+b022c01d.x86_64"),
            Pkg("slirp4netns-1.1.8-1.module_el8.5.0+890+6b136101.x86_64"),
            Pkg("slirp4netns-1.2.0-2.module_el8.7.0+1216+b022c01d.x86_64"),
            Pkg("selinux-policy-3.14.3-80.el8.noarch", ["policycoreutils >= 2.9"]),
            Pkg("policycoreutils-2.9-16.el8.x86_64", ["/bin/sh"]),
        };
        var appstream = new RpmRepo(
            "appstream",
            "http://127.0.0.1/appstream/",
            appstreamPackages,
            withModules ? new ModuleMetadata([container, container30], defaults) : ModuleMetadata.Empty);

        return [kubernetes, dockerCe, baseos, appstream];
    }

    /// <summary>The spec's requests (manifests/k8s-1.23.0.yaml) without chrony.</summary>
    public static readonly string[] SpecRequests =
        ["kubelet-1.23.0", "kubeadm-1.23.0", "kubectl-1.23.0", "docker-ce-20.10.24", "docker-ce-cli-20.10.24", "containerd.io"];

    // Names pkgN depend only on lower N (plus a few cycles back up), so every request has a closure
    // of real depth. Each name has one to four versions; each package provides sonames and files.
    public static List<RpmPackage> Generate(Random random, int names, int packages)
    {
        var result = new List<RpmPackage>();
        var versionsOf = new int[names];
        for (var i = 0; i < packages; i++)
        {
            versionsOf[i < names ? i : random.Next(names)]++;
        }

        for (var n = 0; n < names; n++)
        {
            for (var v = 1; v <= versionsOf[n]; v++)
            {
                var requires = new List<string>();
                var count = n == 0 ? 0 : random.Next(0, 8);
                for (var k = 0; k < count; k++)
                {
                    var target = random.Next(Math.Max(0, n - 400), n);
                    requires.Add(random.Next(4) switch
                    {
                        0 => $"libpkg{target}.so.{versionsOf[target]}()(64bit)",
                        1 => $"/usr/bin/pkg{target}",
                        2 => $"pkg{target} >= 1.{random.Next(1, versionsOf[target] + 1)}",
                        _ => $"pkg{target}",
                    });
                }

                if (n > 10 && random.Next(50) == 0)
                {
                    requires.Add($"(pkg{n - 1} or pkg{n - 2})");
                }

                var files = Enumerable.Range(0, 40).Select(f => $"/usr/share/pkg{n}/file{f}").Append($"/usr/bin/pkg{n}").Append($"/etc/pkg{n}.conf").ToArray();
                result.Add(Pkg(
                    $"pkg{n}-1.{v}-{random.Next(1, 30)}.el8.{(random.Next(5) == 0 ? "noarch" : "x86_64")}",
                    [.. requires],
                    provides: [$"libpkg{n}.so.{v}()(64bit)", $"pkg{n}(x86-64) = 1.{v}", $"config(pkg{n}) = 1.{v}"],
                    files: files));
            }
        }

        return result;
    }

}
