namespace OfflineKit.Lab;

/// <summary>How a repo's metadata (primary, filelists, other, modules) is compressed: createrepo_c's gz, xz or zstd.</summary>
public enum LabCompression
{
    Gzip,
    Xz,
    Zstd,
}

/// <summary>A lab stand-in of a real package: its name, [epoch:]version-release, arch and dependencies.</summary>
/// <param name="Files">Empty files the package owns, where a file dependency needs an owner.</param>
public sealed record LabPackage(
    string Name,
    string Evr,
    string Arch = "noarch",
    string[]? Requires = null,
    string[]? Provides = null,
    string[]? Conflicts = null,
    string[]? Obsoletes = null,
    string[]? Recommends = null,
    string[]? Files = null);

/// <summary>One lab repository before it is built.</summary>
/// <param name="Name">Unique in a lab; the guide's four keep the default spec's names.</param>
/// <param name="BaseUrl">The origin URL (https://mirrors.aliyun.com/…) it is laid out at.</param>
/// <param name="GpgKeys">Key URLs; the signer's public key lies at each.</param>
/// <param name="Signer">The vendor whose lab key signs every RPM here (one key per vendor, as the real repos).</param>
/// <param name="Modules">modules.yaml to add (AppStream), or null.</param>
/// <param name="Comps">Add comps.xml with the group `core` (BaseOS).</param>
/// <param name="Snapshot">
/// A later state of a repo the lab also holds as it was: laid out under snapshots/NAME/ instead of at
/// its URL's path, reached through a longer mirrors-file prefix (<see cref="LabRpmRepoBuilder.SnapshotMirrorsEntries"/>).
/// </param>
public sealed record LabRepoDefinition(
    string Name,
    Uri BaseUrl,
    IReadOnlyList<Uri> GpgKeys,
    string Signer,
    IReadOnlyList<LabPackage> Packages,
    LabCompression Compression = LabCompression.Gzip,
    string? Modules = null,
    bool Comps = false,
    string? Snapshot = null);

/// <summary>
/// The lab's repositories as data. <see cref="Guide"/> is the default spec's four (unchanged: the
/// 1.23.0 bundle carries what it always carried); <see cref="Versions"/> adds the repos of newer
/// Kubernetes, EL9 and arm64 at the URLs the version catalog names (DESIGN.md "Default repositories").
/// Every package copies the real one's name, version and dependencies; the sources are cited per table.
/// </summary>
public static class LabRepoCatalog
{
    public const string Origin = "https://mirrors.aliyun.com/";

    /// <summary>The patch releases the per-minor Kubernetes repos carry. 1.X.1 beside 1.X.10: a pin kubelet-1.X.1 must not match 1.X.10.</summary>
    public static readonly IReadOnlyDictionary<int, string[]> KubernetesPatches = new Dictionary<int, string[]>
    {
        [30] = ["1.30.0", "1.30.1", "1.30.10"],
        [31] = ["1.31.0", "1.31.1", "1.31.2", "1.31.10"],  // 1.31.2: `make demo K8S=1.31.2`
    };

    /// <summary>The RPM arches of each lab EL9 repo and per-minor Kubernetes repo.</summary>
    public static readonly string[] El9Arches = ["x86_64", "aarch64"];

    public static IReadOnlyList<LabRepoDefinition> Guide(OfflineKit.Spec.BundleSpec spec)
    {
        var tables = new Dictionary<string, (string Signer, LabPackage[] Packages, LabCompression Compression, string? Modules, bool Comps)>(StringComparer.Ordinal)
        {
            ["kubernetes"] = ("kubernetes-el7", GuideKubernetes, LabCompression.Gzip, null, false),
            ["docker-ce-stable"] = ("docker", GuideDockerCe, LabCompression.Gzip, null, false),
            ["baseos"] = ("centos", El8BaseOs, LabCompression.Gzip, null, true),
            // Real EL AppStream repos publish xz metadata, modules.yaml among it.
            ["appstream"] = ("centos", El8AppStream, LabCompression.Xz, El8Modules, false),
        };
        var repos = spec.Rpm.Repositories.Select(r => tables.TryGetValue(r.Name, out var t)
            ? new LabRepoDefinition(r.Name, r.BaseUrl, r.GpgKeys, t.Signer, t.Packages, t.Compression, t.Modules, t.Comps)
            : throw new InvalidOperationException($"the default spec's repository '{r.Name}' has no lab table (the lab has {string.Join(", ", tables.Keys)})")).ToList();
        if (repos.Count != tables.Count)
        {
            throw new InvalidOperationException($"the default spec's repositories changed ({string.Join(", ", repos.Select(r => r.Name))}); the lab has {string.Join(", ", tables.Keys)}");
        }

        return repos;
    }

    /// <summary>The guide's four plus per-minor Kubernetes repos, docker-ce for EL8/EL9 on both arches, and Rocky 9.</summary>
    /// <summary>
    /// The snapshot of today's repos: docker-ce's centos/8/x86_64 as it is now, with the containerd.io
    /// releases newer Kubernetes needs (the guide's own snapshot stops at 1.6.20, which its bundle carries).
    /// </summary>
    public const string Current = "current";

    public static IReadOnlyList<LabRepoDefinition> Versions(OfflineKit.Spec.BundleSpec spec)
    {
        var repos = Guide(spec).ToList();
        var guideDocker = repos.Single(r => r.Name == "docker-ce-stable");
        repos.Add(guideDocker with { Name = "docker-ce-stable-" + Current, Packages = [.. guideDocker.Packages, .. Containerd("el8", "x86_64")], Snapshot = Current });
        foreach (var (minor, patches) in KubernetesPatches)
        {
            var baseUrl = Url($"kubernetes-new/core/stable/v1.{minor}/rpm/");
            // pkgs.k8s.io publishes one repo per minor with every arch in it, its key beside repomd.xml.
            // zstd: what createrepo_c writes by default since 1.0.
            repos.Add(new LabRepoDefinition($"kubernetes-v1.{minor}", baseUrl, [new Uri(baseUrl, "repodata/repomd.xml.key")], "pkgs.k8s.io",
                [.. El9Arches.SelectMany(a => KubernetesNew(minor, patches, a))], LabCompression.Zstd));
        }

        foreach (var arch in El9Arches)
        {
            if (arch != "x86_64")
            {
                // centos/8/x86_64 is the guide's repo (above) and stays exactly as it is.
                repos.Add(new LabRepoDefinition($"docker-ce-el8-{arch}", Url($"docker-ce/linux/centos/8/{arch}/stable/"), [Url("docker-ce/linux/centos/gpg")], "docker", Containerd("el8", arch)));
            }

            repos.Add(new LabRepoDefinition($"docker-ce-el9-{arch}", Url($"docker-ce/linux/centos/9/{arch}/stable/"), [Url("docker-ce/linux/centos/gpg")], "docker", Containerd("el9", arch)));
            repos.Add(new LabRepoDefinition($"rocky9-baseos-{arch}", Url($"rockylinux/9/BaseOS/{arch}/os/"), [Url("rockylinux/RPM-GPG-KEY-Rocky-9")], "rocky", El9BaseOs(arch), LabCompression.Gzip, Comps: true));
            repos.Add(new LabRepoDefinition($"rocky9-appstream-{arch}", Url($"rockylinux/9/AppStream/{arch}/os/"), [Url("rockylinux/RPM-GPG-KEY-Rocky-9")], "rocky", El9AppStream(arch), LabCompression.Xz, El9Modules(arch)));
        }

        return repos;
    }

    private static Uri Url(string path) => new(Origin + path);

    /// <summary>The packages of the comps group `core` in every lab BaseOS (mandatory and default ones).</summary>
    public static readonly string[] CorePackages = ["basesystem", "bash", "filesystem", "glibc", "setup", "util-linux", "tar", "xz", "iproute", "shadow-utils", "systemd"];

    // ---- The guide: /work/shared/testdata/el-dependency-facts.md (kubernetes/release
    // packages/rpm/kubelet.spec of 2021-10, docker/docker-ce-packaging 20.10 specs,
    // docker/containerd-packaging rpm/containerd.spec) with the newer versions real repos hold.
    // Lab-only shapes say so: a rich "or" and "if", a Recommends, a file dependency only filelists
    // answers, i686 builds newer than x86_64 ones.
    private static readonly string[] KubeletRequires =
        ["iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "socat", "util-linux", "ethtool", "iproute", "ebtables", "conntrack"];

    private static readonly string[] KubeadmRequires = ["kubelet >= 1.19.0", "kubectl >= 1.19.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.19.0"];

    private static readonly string[] DockerRequires =
        ["/usr/sbin/groupadd", "docker-ce-cli", "docker-ce-rootless-extras", "container-selinux >= 2:2.74", "libseccomp >= 2.3", "systemd", "iptables", "libcgroup", "containerd.io >= 1.4.1", "tar", "xz"];

    private static readonly string[] DockerConflicts = ["docker", "docker-io", "docker-engine-cs", "docker-ee"];

    private static readonly string[] RootlessRequires = ["docker-ce", "slirp4netns >= 0.4", "(fuse-overlayfs >= 0.7 or fuse3)"];

    // docker/containerd-packaging rpm/containerd.spec: container-selinux and libseccomp; it obsoletes
    // and conflicts with containerd and runc (provides runc only on EL7).
    private static readonly string[] ContainerdRequires = ["container-selinux >= 2:2.74", "libseccomp"];

    private static readonly string[] ChronyRequires =
        ["/bin/sh", "shadow-utils", "systemd", "timedatex", "libseccomp.so.2()(64bit)", "libedit.so.0()(64bit)", "libc.so.6()(64bit)"];

    // haproxy and keepalived as CentOS 8.5 and Rocky 9 AppStream carry them (a highly available control
    // plane's load balancer); their library dependencies trimmed to those the lab's BaseOS has (lab-only).
    private static readonly string[] HaproxyRequires = ["/bin/sh", "shadow-utils", "systemd", "libc.so.6()(64bit)"];

    private static readonly string[] KeepalivedRequires = ["/bin/sh", "systemd", "libip4tc.so.2()(64bit)", "libc.so.6()(64bit)"];

    private static readonly LabPackage[] GuideKubernetes =
    [
        new("kubelet", "1.23.0-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubelet", "1.23.1-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubelet", "1.24.0-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubeadm", "1.23.0-0", "x86_64", KubeadmRequires),
        new("kubeadm", "1.23.1-0", "x86_64", KubeadmRequires),
        new("kubeadm", "1.24.0-0", "x86_64", KubeadmRequires),
        new("kubectl", "1.23.0-0", "x86_64"),
        new("kubectl", "1.23.1-0", "x86_64"),
        new("kubectl", "1.24.0-0", "x86_64"),
        new("kubernetes-cni", "0.8.7-0", "x86_64", ["kubelet"]),
        new("kubernetes-cni", "1.1.1-0", "x86_64", ["kubelet"]),
        new("cri-tools", "1.19.0-0", "x86_64"),
        new("cri-tools", "1.23.0-0", "x86_64"),
        new("cri-tools", "1.25.0-0", "x86_64"),
    ];

    private static readonly LabPackage[] GuideDockerCe =
    [
        new("docker-ce", "3:20.10.24-3.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce", "3:20.10.25-3.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce", "3:23.0.1-1.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce-cli", "1:20.10.24-3.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-cli", "1:20.10.25-3.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-cli", "1:23.0.1-1.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-rootless-extras", "20.10.24-3.el8", "x86_64", RootlessRequires, Conflicts: ["rootlesskit"]),
        new("docker-ce-rootless-extras", "20.10.25-3.el8", "x86_64", RootlessRequires, Conflicts: ["rootlesskit"]),
        new("containerd.io", "1.6.9-3.1.el8", "x86_64", ContainerdRequires, Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("containerd.io", "1.6.20-3.1.el8", "x86_64", ContainerdRequires, Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("docker-compose-plugin", "2.17.2-3.el8", "x86_64"),
    ];

    private static readonly LabPackage[] El8BaseOs =
    [
        new("iptables", "1.8.4-20.el8", "x86_64", ["iptables-libs = 1.8.4-20.el8", "/bin/sh"], Files: ["/usr/sbin/iptables"]),
        new("iptables-libs", "1.8.4-20.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libip4tc.so.2()(64bit)"]),
        new("iptables-ebtables", "1.8.4-20.el8", "x86_64", ["iptables = 1.8.4-20.el8"], Provides: ["ebtables"], Files: ["/usr/sbin/ebtables"]),
        new("conntrack-tools", "1.4.4-10.el8", "x86_64", ["libnetfilter_cthelper.so.0()(64bit)"], Provides: ["conntrack"]),
        new("libnetfilter_cthelper", "1.0.0-15.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libnetfilter_cthelper.so.0()(64bit)"]),
        new("socat", "1.7.4.1-1.el8", "x86_64", ["libc.so.6()(64bit)"]),
        new("util-linux", "2.32.1-28.el8", "x86_64", ["/bin/sh", "libc.so.6()(64bit)"]),
        new("ethtool", "2:5.8-7.el8", "x86_64", ["libc.so.6()(64bit)"]),
        // Lab-only: a file dependency only filelists can answer (primary lists /etc/*, *bin/* and /usr/lib/sendmail).
        new("iproute", "5.12.0-4.el8", "x86_64", ["/usr/lib/tc/pareto.dist"]),
        new("iproute-tc", "5.12.0-4.el8", "x86_64", Files: ["/usr/lib/tc/pareto.dist"]),
        new("libseccomp", "2.5.1-1.el8", "x86_64", Provides: ["libseccomp.so.2()(64bit)"]),
        new("libseccomp", "2.5.2-1.el8", "i686", Provides: ["libseccomp.so.2"]),
        new("libcgroup", "0.41-19.el8", "x86_64", ["/usr/sbin/groupadd"]),
        new("tar", "2:1.30-5.el8", "x86_64"),
        new("xz", "5.2.4-3.el8", "x86_64"),
        new("shadow-utils", "2:4.6-14.el8", "x86_64", ["libc.so.6()(64bit)"], Files: ["/usr/sbin/groupadd", "/usr/sbin/useradd"]),
        new("bash", "4.4.20-2.el8", "x86_64", ["filesystem >= 3", "libc.so.6()(64bit)", "libtinfo.so.6()(64bit)"], Files: ["/bin/sh", "/usr/bin/bash"]),
        new("ncurses-libs", "6.1-9.20180224.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libtinfo.so.6()(64bit)"]),
        new("glibc", "2.28-164.el8", "x86_64", ["basesystem"], Provides: ["libc.so.6()(64bit)"]),
        new("glibc", "2.28-164.el8", "i686", ["basesystem"], Provides: ["libc.so.6"]),
        new("basesystem", "11-5.el8", "noarch", ["filesystem", "setup"]),
        new("filesystem", "3.8-6.el8", "x86_64", ["setup"]),
        new("setup", "2.12.2-6.el8", "noarch"),
        new("systemd", "239-51.el8", "x86_64", ["/bin/sh", "(systemd-selinux-helper if selinux-policy)", "libc.so.6()(64bit)"]),
        new("systemd-selinux-helper", "239-51.el8", "x86_64"),
        new("selinux-policy", "3.14.3-80.el8", "noarch", ["policycoreutils >= 2.9"]),
        new("policycoreutils", "2.9-16.el8", "x86_64", ["/bin/sh"]),
        new("chrony", "3.5-2.el8", "x86_64", ChronyRequires, Files: ["/usr/lib/systemd/system/chronyd.service"]),
        new("chrony", "4.1-1.el8", "x86_64", ChronyRequires, Files: ["/usr/lib/systemd/system/chronyd.service"]),
        new("timedatex", "0.5-3.el8", "x86_64", ["systemd"]),
        new("libedit", "3.1-23.20170329cvs.el8", "x86_64", ["libtinfo.so.6()(64bit)"], Provides: ["libedit.so.0()(64bit)"]),
    ];

    private static readonly LabPackage[] El8AppStream =
    [
        new("container-selinux", "2:2.167.0-1.module_el8.5.0+911+f19012f9", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("container-selinux", "2:2.189.0-1.module_el8.7.0+1216+b022c01d", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("fuse-overlayfs", "1.7.1-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("fuse-overlayfs", "1.9-1.module_el8.7.0+1216+b022c01d", "x86_64"),
        new("slirp4netns", "1.1.8-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("slirp4netns", "1.2.0-2.module_el8.7.0+1216+b022c01d", "x86_64"),
        new("haproxy", "1.8.27-2.el8", "x86_64", HaproxyRequires, Files: ["/usr/lib/systemd/system/haproxy.service"]),
        new("keepalived", "2.1.5-6.el8", "x86_64", KeepalivedRequires, Files: ["/usr/lib/systemd/system/keepalived.service"]),

        // What a site-mode bundle adds for its depot (cluster.sources: site). EL8 ships nginx 1.14 in
        // AppStream; the lab's build is a plain (not modular) package with its binary's path.
        new("nginx", "1:1.14.1-9.el8", "x86_64", ["/bin/sh", "systemd", "libc.so.6()(64bit)"], Files: ["/usr/sbin/nginx"]),
    ];

    private const string El8Modules = """
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

    // ---- pkgs.k8s.io (kubernetes-new), per minor. Dependencies: kubernetes/release
    // cmd/krel/templates/latest/rpm/kubelet/kubelet.spec (commit 1c0c67e7e8fbcf3f230fede39bf4888639b7f721:
    // iptables >= 1.4.21, kubernetes-cni, iproute, socat, util-linux, ethtool, ebtables, conntrack),
    // rpm/kubeadm/kubeadm.spec and rpm/kubernetes-cni/kubernetes-cni.spec (kubernetes-cni requires
    // kubelet), with the versions of cmd/krel/templates/latest/metadata.yaml (commit
    // 158b73501ef626f98f80361a1493a923a6a22f4a): kubelet >= 1.28 needs kubernetes-cni >= 1.2.0;
    // kubeadm 1.30-1.31 needs cri-tools >= 1.30.0. Releases carry OBS's "-150500.1.1". cri-tools and
    // kubernetes-cni versions as those minors' repos hold them (1.30: cri-tools 1.30.x, cni 1.4.0;
    // 1.31: cri-tools 1.31.x, cni 1.5.x).
    private static IEnumerable<LabPackage> KubernetesNew(int minor, string[] patches, string arch)
    {
        string[] kubelet = ["iptables >= 1.4.21", "kubernetes-cni >= 1.2.0", "iproute", "socat", "util-linux", "ethtool", "ebtables", "conntrack"];
        const string release = "150500.1.1";
        foreach (var patch in patches)
        {
            yield return new LabPackage("kubelet", $"{patch}-{release}", arch, kubelet, Files: ["/usr/lib/systemd/system/kubelet.service"]);
            yield return new LabPackage("kubeadm", $"{patch}-{release}", arch, ["cri-tools >= 1.30.0"], Files: ["/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"]);
            yield return new LabPackage("kubectl", $"{patch}-{release}", arch);
        }

        var (criTools, cni) = minor == 30 ? (new[] { "1.30.0", "1.30.1" }, new[] { "1.4.0" }) : (new[] { "1.31.0", "1.31.1" }, new[] { "1.5.0", "1.5.1" });
        foreach (var v in criTools)
        {
            yield return new LabPackage("cri-tools", $"{v}-{release}", arch, Files: ["/usr/bin/crictl"]);
        }

        foreach (var v in cni)
        {
            yield return new LabPackage("kubernetes-cni", $"{v}-{release}", arch, ["kubelet"]);
        }
    }

    // ---- docker-ce repos for EL8 (aarch64) and EL9: containerd.io only, the runtime from 1.24 on
    // (docker/containerd-packaging rpm/containerd.spec; versions as download.docker.com lists them).
    private static LabPackage[] Containerd(string dist, string arch) =>
    [
        .. new[] { "1.6.32-3.1", "1.7.22-3.1", "1.7.25-3.1" }.Select(v =>
            new LabPackage("containerd.io", $"{v}.{dist}", arch, ContainerdRequires, Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"], Files: ["/usr/bin/ctr"])),
    ];

    // ---- Rocky Linux 9 (9.4 versions). Facts differing from EL8: no `iptables` package — iptables-nft
    // provides iptables and ebtables (Fedora/CentOS Stream 9 rpms/iptables iptables.spec, %package nft);
    // conntrack-tools and socat live in AppStream; container-selinux is epoch 3 and not modular;
    // chrony 4.x needs no timedatex. x86_64 repos also hold i686 multilib builds.
    private static LabPackage[] El9BaseOs(string arch)
    {
        var lib = "()(64bit)";
        List<LabPackage> packages =
        [
            new("iptables-libs", "1.8.10-4.el9_4", arch, ["libc.so.6" + lib], Provides: ["libip4tc.so.2" + lib]),
            new("iptables-nft", "1.8.10-4.el9_4", arch, ["iptables-libs = 1.8.10-4.el9_4", "libnftnl.so.11" + lib, "/bin/sh"], Provides: ["iptables = 1.8.10-4.el9_4", "ebtables = 1.8.10-4.el9_4", "arptables"], Files: ["/usr/sbin/iptables-nft", "/usr/sbin/ebtables-nft"]),
            new("libnftnl", "1.2.6-4.el9_4", arch, ["libmnl.so.0" + lib], Provides: ["libnftnl.so.11" + lib]),
            new("libmnl", "1.0.4-16.el9_4", arch, ["libc.so.6" + lib], Provides: ["libmnl.so.0" + lib]),
            new("libnetfilter_conntrack", "1.0.9-1.el9", arch, ["libmnl.so.0" + lib], Provides: ["libnetfilter_conntrack.so.3" + lib]),
            new("util-linux", "2.37.4-18.el9", arch, ["/bin/sh", "libc.so.6" + lib]),
            new("ethtool", "2:6.2-1.el9", arch, ["libmnl.so.0" + lib]),
            new("iproute", "6.2.0-6.el9_4", arch, ["libmnl.so.0" + lib]),
            new("libseccomp", "2.5.2-2.el9", arch, Provides: ["libseccomp.so.2" + lib]),
            new("tar", "2:1.34-6.el9_4", arch),
            new("xz", "5.2.5-8.el9_0", arch),
            new("shadow-utils", "2:4.9-8.el9", arch, ["libc.so.6" + lib], Files: ["/usr/sbin/groupadd", "/usr/sbin/useradd"]),
            new("bash", "5.1.8-9.el9", arch, ["filesystem >= 3", "libc.so.6" + lib, "libtinfo.so.6" + lib], Files: ["/bin/sh", "/usr/bin/bash"]),
            new("ncurses-libs", "6.2-10.20210508.el9", arch, ["libc.so.6" + lib], Provides: ["libtinfo.so.6" + lib]),
            new("glibc", "2.34-100.el9_4.2", arch, ["basesystem"], Provides: ["libc.so.6" + lib]),
            new("basesystem", "11-13.el9", "noarch", ["filesystem", "setup"]),
            new("filesystem", "3.16-2.el9", arch, ["setup"]),
            new("setup", "2.13.7-10.el9", "noarch"),
            new("systemd", "252-32.el9_4", arch, ["/bin/sh", "libseccomp.so.2" + lib, "libc.so.6" + lib]),
            new("selinux-policy", "38.1.35-2.el9_4", "noarch", ["policycoreutils >= 3.6"]),
            new("selinux-policy-targeted", "38.1.35-2.el9_4", "noarch", ["selinux-policy = 38.1.35-2.el9_4"]),
            new("policycoreutils", "3.6-2.1.el9", arch, ["/bin/sh"]),
            new("gnutls", "3.8.3-4.el9_4", arch, ["libc.so.6" + lib], Provides: ["libgnutls.so.30" + lib]),
            new("chrony", "4.5-1.el9", arch, ["/bin/sh", "shadow-utils", "systemd", "libseccomp.so.2" + lib, "libgnutls.so.30" + lib, "libc.so.6" + lib], Files: ["/usr/lib/systemd/system/chronyd.service"]),
            new("chrony", "4.5-3.el9", arch, ["/bin/sh", "shadow-utils", "systemd", "libseccomp.so.2" + lib, "libgnutls.so.30" + lib, "libc.so.6" + lib], Files: ["/usr/lib/systemd/system/chronyd.service"]),
        ];
        if (arch == "x86_64")
        {
            // Multilib: i686 builds in the x86_64 repo, never wanted by a 64-bit closure.
            packages.Add(new("glibc", "2.34-100.el9_4.2", "i686", ["basesystem"], Provides: ["libc.so.6"]));
            packages.Add(new("libseccomp", "2.5.2-2.el9", "i686", Provides: ["libseccomp.so.2"]));
        }

        return [.. packages];
    }

    private static LabPackage[] El9AppStream(string arch) =>
    [
        new("conntrack-tools", "1.4.7-2.el9", arch, ["libnetfilter_conntrack.so.3()(64bit)", "systemd"], Provides: ["conntrack"], Files: ["/usr/sbin/conntrack"]),
        new("socat", "1.7.4.1-5.el9_4.2", arch, ["libc.so.6()(64bit)"]),
        new("container-selinux", "3:2.229.0-1.el9", "noarch", ["selinux-policy >= 38.1.35", "selinux-policy-targeted >= 38.1.35", "policycoreutils"]),
        new("container-selinux", "3:2.232.1-1.el9", "noarch", ["selinux-policy >= 38.1.35", "selinux-policy-targeted >= 38.1.35", "policycoreutils"]),
        // A module's RPM: hidden unless its stream is enabled (EL9 modules have no default streams).
        new("nodejs", "1:20.12.2-2.module+el9.4.0+21731+46b5c3a9", arch, ["libc.so.6()(64bit)"]),
        new("nodejs", "1:16.20.2-8.el9_4", arch, ["libc.so.6()(64bit)"]),
        new("haproxy", "2.4.22-3.el9_3", arch, HaproxyRequires, Files: ["/usr/lib/systemd/system/haproxy.service"]),
        new("keepalived", "2.2.8-3.el9", arch, KeepalivedRequires, Files: ["/usr/lib/systemd/system/keepalived.service"]),
    ];

    private static string El9Modules(string arch) => $$"""
        ---
        document: modulemd
        version: 2
        data:
          name: nodejs
          stream: "20"
          version: 9040020240415012345
          context: rhel9
          arch: {{arch}}
          summary: lab stand-in of the nodejs module
          description: lab stand-in
          license:
            module: [MIT]
          artifacts:
            rpms:
            - nodejs-1:20.12.2-2.module+el9.4.0+21731+46b5c3a9.{{arch}}
        ...
        """;
}
