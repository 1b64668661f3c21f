using System.Diagnostics;
using System.Text;
using OfflineKit.Rpm;
using OfflineKit.Spec;

namespace OfflineKit.Lab;

/// <summary>One of the default spec's repositories, built in the lab.</summary>
/// <param name="Name">The spec's name for it (kubernetes, docker-ce-stable, baseos, appstream).</param>
/// <param name="BaseUrl">The spec's base URL (https://mirrors.aliyun.com/…).</param>
/// <param name="Dir">The local folder at that URL's path under <see cref="LabRpmRepoBuilder.Root"/>: Packages/ and repodata/.</param>
/// <param name="GpgKeys">The spec's gpgkey URLs; the lab key lies at each one's path under Root.</param>
public sealed record LabRpmRepo(string Name, Uri BaseUrl, string Dir, IReadOnlyList<Uri> GpgKeys);

/// <summary>One built and signed RPM.</summary>
/// <param name="Nevra">name-epoch:version-release.arch, as `rpm -qa` prints it with the query format %{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}.</param>
/// <param name="Path">Absolute path: the repo's Dir/Packages/NAME-VERSION-RELEASE.ARCH.rpm.</param>
/// <param name="Href">The location href in the repo's primary.xml (Packages/…).</param>
public sealed record LabRpmFile(string Repo, string Name, string Nevra, string Arch, string Path, string Href);

/// <summary>
/// Builds the default spec's four yum repositories (kubernetes, docker-ce-stable, CentOS 8.5 BaseOS and
/// AppStream) as real repos of tiny RPMs built with rpmbuild that copy the real packages' names,
/// epochs, versions and dependencies (/work/shared/testdata/el-dependency-facts.md), signed with a lab
/// GPG key, with createrepo_c metadata and, for AppStream, a modules.yaml (container-tools: a default
/// stream and a newer non-default one). Laid out at the paths of the spec's URLs under <see cref="Root"/>,
/// so the mirrors-file line <see cref="MirrorsEntry"/> with an HTTP server on Root makes the unchanged
/// spec work in the lab. The closure goes down to an empty root: every requirement is met inside the
/// four repos. The one implementation: the integration tests' LabRpmRepos fixture and
/// `labtool rpm-repos` (the demo, the benchmarks) both build with it.
/// </summary>
/// <param name="dir">An empty folder for everything: root/ (the served tree), the key, gnupg/, specs/, top/.</param>
public sealed class LabRpmRepoBuilder(string dir)
{
    /// <summary>The origin the spec's repo and key URLs share; mapped to Root/aliyun/.</summary>
    public const string Origin = "https://mirrors.aliyun.com/";

    public const string KeyUid = "offlinekit lab RPM signing key <rpm-lab@offlinekit.invalid>";

    /// <summary>The tools a build runs, with the Debian package of each.</summary>
    public static readonly IReadOnlyList<(string Tool, string DebianPackage)> RequiredTools =
    [
        ("rpmbuild", "rpm"),
        ("rpmsign", "rpm"),
        ("gpg", "gnupg"),
        // gpg makes and uses secret keys through its agent, which a --no-install-recommends machine may lack.
        ("gpg-agent", "gnupg"),
        ("gpgconf", "gnupg"),
        ("createrepo_c", "createrepo-c"),
        ("modifyrepo_c", "createrepo-c"),
    ];

    private readonly List<LabRpmRepo> _repos = [];
    private readonly List<LabRpmFile> _files = [];

    /// <summary>The folder everything is built in.</summary>
    public string Dir { get; } = Path.GetFullPath(dir);

    /// <summary>The default spec (embedded k8s-1.23.0) whose repositories these are.</summary>
    public BundleSpec Spec { get; } = BundleSpecLoader.LoadEmbedded("1.23.0");

    /// <summary>The served tree: Root/aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/, Root/aliyun/centos/RPM-GPG-KEY-CentOS-Official, …</summary>
    public string Root => In("root");

    /// <summary>The four repositories in the spec's order.</summary>
    public IReadOnlyList<LabRpmRepo> Repositories => _repos;

    /// <summary>Every RPM of every repo.</summary>
    public IReadOnlyList<LabRpmFile> Files => _files;

    /// <summary>The lab's public key (ASCII-armored), which signed every RPM; also at each spec gpgkey path.</summary>
    public string KeyFile => In("lab-rpm-key.asc");

    /// <summary>The key's 8 lower-case hex digits: rpm's gpg-pubkey-KEYID after an import.</summary>
    public string KeyId { get; private set; } = string.Empty;

    /// <summary>The spec's requested packages (kubelet-1.23.0, …, chrony).</summary>
    public IReadOnlyList<string> SpecPackages => Spec.Rpm.Packages;

    public LabRpmRepo this[string name] => _repos.Single(r => r.Name == name);

    /// <summary>The local path of an origin URL under <see cref="Root"/>.</summary>
    public string LocalPath(Uri url)
    {
        var text = url.AbsoluteUri;
        if (!text.StartsWith(Origin, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{url} is not under {Origin}: the lab serves that origin only");
        }

        return Path.Combine(Root, "aliyun", Uri.UnescapeDataString(text[Origin.Length..]));
    }

    /// <summary>
    /// The mirrors-file entry (under <c>urls:</c>) sending the spec's origin, every repo base URL and
    /// gpgkey URL, to an HTTP server serving <see cref="Root"/> at <paramref name="serverBase"/>.
    /// </summary>
    public static string MirrorsEntry(Uri serverBase) => $"{Origin}: {new Uri(serverBase, "aliyun/")}";

    /// <summary>The URL under which an HTTP server at <paramref name="serverBase"/> serving <see cref="Root"/> has <paramref name="origin"/>.</summary>
    public static Uri Served(Uri serverBase, Uri origin) => new(serverBase, "aliyun/" + origin.AbsoluteUri[Origin.Length..]);

    /// <summary>Builds the repos (rpmbuild takes seconds). Throws with the tools' output when a step fails.</summary>
    public async Task BuildAsync(CancellationToken cancellationToken = default)
    {
        var tools = RequiredTools.ToDictionary(t => t.Tool, t => Which(t.Tool) ?? throw new InvalidOperationException($"'{t.Tool}' is not installed: apt-get install {t.DebianPackage}"), StringComparer.Ordinal);
        var rpmbuild = tools["rpmbuild"];
        var gpg = tools["gpg"];
        foreach (var repo in Spec.Rpm.Repositories)
        {
            _repos.Add(new LabRpmRepo(repo.Name, repo.BaseUrl, LocalPath(repo.BaseUrl), repo.GpgKeys));
        }

        var missing = Packages.Select(p => p.Repo).Distinct().Except(_repos.Select(r => r.Name)).ToList();
        if (missing.Count > 0 || _repos.Count != 4)
        {
            throw new InvalidOperationException($"the default spec's repositories changed ({string.Join(", ", _repos.Select(r => r.Name))}); the lab table names {string.Join(", ", Packages.Select(p => p.Repo).Distinct())}");
        }

        var gnupg = In("gnupg");
        Directory.CreateDirectory(gnupg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var script = new StringBuilder($$"""
            set -euo pipefail
            export GNUPGHOME='{{gnupg}}'
            # gpg starts an agent for this home; stop it however the script ends.
            trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true' EXIT
            gpg --batch --quiet --gen-key <<'EOF'
            %no-protection
            Key-Type: RSA
            Key-Length: 2048
            Key-Usage: sign
            Name-Real: offlinekit lab RPM signing key
            Name-Email: rpm-lab@offlinekit.invalid
            Expire-Date: 0
            %commit
            EOF
            gpg --batch --armor --export rpm-lab@offlinekit.invalid > '{{KeyFile}}'
            gpg --batch --with-colons --list-keys rpm-lab@offlinekit.invalid | awk -F: '$1 == "pub" { print tolower(substr($5, 9)) }' > '{{In("keyid")}}'

            """);
        foreach (var p in Packages)
        {
            var repo = this[p.Repo];
            var evr = Evr.Parse(p.Evr);
            var fileName = $"{p.Name}-{evr.Version}-{evr.Release}.{p.Arch}.rpm";
            _files.Add(new LabRpmFile(p.Repo, p.Name, $"{p.Name}-{evr.Epoch}:{evr.Version}-{evr.Release}.{p.Arch}", p.Arch, Path.Combine(repo.Dir, "Packages", fileName), "Packages/" + fileName));
            var spec = Write($"specs/{p.Repo}/{p.Name}-{p.Evr.Replace(':', '_')}.{p.Arch}.spec", SpecFile(p));
            // One bash for all packages: rpmbuild starts fast, a process per package from .NET would not.
            script.Append($"{rpmbuild} -bb --quiet {(p.Arch == "noarch" ? string.Empty : "--target " + p.Arch)} --define '_topdir {In("top")}' --define '_rpmdir {repo.Dir}/Packages' ")
                .Append("--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' ")
                .Append($"'{spec}' >/dev/null 2>&1 || {rpmbuild} -bb '{spec}'\n");
        }

        // Debian's rpm names /usr/bin/gpg2 as %__gpg, which Debian does not ship: name gpg itself.
        script.Append($"rpmsign --addsign --define '__gpg {gpg}' --define '_gpg_path {gnupg}' --define '_gpg_name rpm-lab@offlinekit.invalid' ")
            .Append(string.Join(' ', _files.Select(f => $"'{f.Path}'"))).Append(" </dev/null >/dev/null\n");
        // BaseOS carries comps with the group `core`, as the real one does, for specs with a baseline.
        var comps = Write("comps.xml", CompsXml);
        foreach (var r in _repos)
        {
            script.Append($"createrepo_c --quiet {(r.Name == "baseos" ? $"--groupfile '{comps}' " : string.Empty)}'{r.Dir}'\n");
            foreach (var key in r.GpgKeys)
            {
                var path = LocalPath(key);
                script.Append($"mkdir -p '{Path.GetDirectoryName(path)}' && cp '{KeyFile}' '{path}'\n");
            }
        }

        var modules = Write("modules.yaml", ModulesYaml);
        script.Append($"modifyrepo_c --mdtype=modules '{modules}' '{this["appstream"].Dir}/repodata' >/dev/null\n");
        var (exitCode, output) = await BashAsync(Write("build.sh", script.ToString()), cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException("building the lab RPM repos failed:\n" + output);
        }

        KeyId = (await File.ReadAllTextAsync(In("keyid"), cancellationToken)).Trim();
        if (KeyId.Length != 8 || !KeyId.All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidOperationException($"the lab key's id '{KeyId}' is not 8 lower-case hex digits");
        }
    }

    private string In(string relative) => Path.Combine(Dir, relative);

    private string Write(string relative, string content)
    {
        var full = In(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static async Task<(int ExitCode, string Output)> BashAsync(string scriptFile, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(scriptFile);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The packages of the comps group `core` in the lab's BaseOS (mandatory and default ones).</summary>
    public static readonly string[] CorePackages = ["basesystem", "bash", "filesystem", "glibc", "setup", "util-linux", "tar", "xz", "iproute", "shadow-utils", "systemd"];

    private static string CompsXml => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE comps PUBLIC "-//CentOS//DTD Comps info//EN" "comps.dtd">
        <comps>
          <group>
            <id>core</id>
            <name>Core</name>
            <description>Smallest possible installation</description>
            <default>false</default>
            <uservisible>false</uservisible>
            <packagelist>
        {string.Concat(CorePackages.Select((p, i) => $"      <packagereq type=\"{(i % 3 == 0 ? "default" : "mandatory")}\">{p}</packagereq>\n"))}      <packagereq type="optional">chrony</packagereq>
            </packagelist>
          </group>
        </comps>
        """;

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

    private static readonly string[] KubeadmRequires = ["kubelet >= 1.19.0", "kubectl >= 1.19.0", "kubernetes-cni >= 0.8.6", "cri-tools >= 1.19.0"];

    private static readonly string[] DockerRequires =
        ["/usr/sbin/groupadd", "docker-ce-cli", "docker-ce-rootless-extras", "container-selinux >= 2:2.74", "libseccomp >= 2.3", "systemd", "iptables", "libcgroup", "containerd.io >= 1.4.1", "tar", "xz"];

    private static readonly string[] DockerConflicts = ["docker", "docker-io", "docker-engine-cs", "docker-ee"];

    private static readonly string[] RootlessRequires = ["docker-ce", "slirp4netns >= 0.4", "(fuse-overlayfs >= 0.7 or fuse3)"];

    private static readonly string[] ContainerdRequires = ["container-selinux >= 2:2.74", "libseccomp"];

    private static readonly string[] ChronyRequires =
        ["/bin/sh", "shadow-utils", "systemd", "timedatex", "libseccomp.so.2()(64bit)", "libedit.so.0()(64bit)", "libc.so.6()(64bit)"];

    // The graph of /work/shared/testdata/el-dependency-facts.md with the newer versions real repos
    // hold, plus chrony (the spec asks for it) and the bottom of the base (glibc, filesystem, setup)
    // so the closure reaches an empty root. Lab-only shapes say so: a rich "or" and "if", a
    // Recommends, a file dependency only filelists answers, i686 builds newer than x86_64 ones.
    private static readonly LabPackage[] Packages =
    [
        new("kubernetes", "kubelet", "1.23.0-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubernetes", "kubelet", "1.23.1-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubernetes", "kubelet", "1.24.0-0", "x86_64", KubeletRequires, Files: ["/usr/lib/systemd/system/kubelet.service"]),
        new("kubernetes", "kubeadm", "1.23.0-0", "x86_64", KubeadmRequires),
        new("kubernetes", "kubeadm", "1.23.1-0", "x86_64", KubeadmRequires),
        new("kubernetes", "kubeadm", "1.24.0-0", "x86_64", KubeadmRequires),
        new("kubernetes", "kubectl", "1.23.0-0", "x86_64"),
        new("kubernetes", "kubectl", "1.23.1-0", "x86_64"),
        new("kubernetes", "kubectl", "1.24.0-0", "x86_64"),
        new("kubernetes", "kubernetes-cni", "0.8.7-0", "x86_64", ["kubelet"]),
        new("kubernetes", "kubernetes-cni", "1.1.1-0", "x86_64", ["kubelet"]),
        new("kubernetes", "cri-tools", "1.19.0-0", "x86_64"),
        new("kubernetes", "cri-tools", "1.23.0-0", "x86_64"),
        new("kubernetes", "cri-tools", "1.25.0-0", "x86_64"),
        new("docker-ce-stable", "docker-ce", "3:20.10.24-3.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce-stable", "docker-ce", "3:20.10.25-3.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce-stable", "docker-ce", "3:23.0.1-1.el8", "x86_64", DockerRequires, Conflicts: DockerConflicts, Obsoletes: ["docker-engine"], Recommends: ["docker-compose-plugin"], Files: ["/usr/lib/systemd/system/docker.service"]),
        new("docker-ce-stable", "docker-ce-cli", "1:20.10.24-3.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-stable", "docker-ce-cli", "1:20.10.25-3.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-stable", "docker-ce-cli", "1:23.0.1-1.el8", "x86_64", ["/bin/sh", "/usr/sbin/groupadd"]),
        new("docker-ce-stable", "docker-ce-rootless-extras", "20.10.24-3.el8", "x86_64", RootlessRequires, Conflicts: ["rootlesskit"]),
        new("docker-ce-stable", "docker-ce-rootless-extras", "20.10.25-3.el8", "x86_64", RootlessRequires, Conflicts: ["rootlesskit"]),
        new("docker-ce-stable", "containerd.io", "1.6.9-3.1.el8", "x86_64", ContainerdRequires, Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("docker-ce-stable", "containerd.io", "1.6.20-3.1.el8", "x86_64", ContainerdRequires, Conflicts: ["containerd", "runc"], Obsoletes: ["containerd", "runc"]),
        new("docker-ce-stable", "docker-compose-plugin", "2.17.2-3.el8", "x86_64"),
        new("baseos", "iptables", "1.8.4-20.el8", "x86_64", ["iptables-libs = 1.8.4-20.el8", "/bin/sh"], Files: ["/usr/sbin/iptables"]),
        new("baseos", "iptables-libs", "1.8.4-20.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libip4tc.so.2()(64bit)"]),
        new("baseos", "iptables-ebtables", "1.8.4-20.el8", "x86_64", ["iptables = 1.8.4-20.el8"], Provides: ["ebtables"], Files: ["/usr/sbin/ebtables"]),
        new("baseos", "conntrack-tools", "1.4.4-10.el8", "x86_64", ["libnetfilter_cthelper.so.0()(64bit)"], Provides: ["conntrack"]),
        new("baseos", "libnetfilter_cthelper", "1.0.0-15.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libnetfilter_cthelper.so.0()(64bit)"]),
        new("baseos", "socat", "1.7.4.1-1.el8", "x86_64", ["libc.so.6()(64bit)"]),
        new("baseos", "util-linux", "2.32.1-28.el8", "x86_64", ["/bin/sh", "libc.so.6()(64bit)"]),
        new("baseos", "ethtool", "2:5.8-7.el8", "x86_64", ["libc.so.6()(64bit)"]),
        // Lab-only: a file dependency only filelists can answer (primary lists /etc/*, *bin/* and /usr/lib/sendmail).
        new("baseos", "iproute", "5.12.0-4.el8", "x86_64", ["/usr/lib/tc/pareto.dist"]),
        new("baseos", "iproute-tc", "5.12.0-4.el8", "x86_64", Files: ["/usr/lib/tc/pareto.dist"]),
        new("baseos", "libseccomp", "2.5.1-1.el8", "x86_64", Provides: ["libseccomp.so.2()(64bit)"]),
        new("baseos", "libseccomp", "2.5.2-1.el8", "i686", Provides: ["libseccomp.so.2"]),
        new("baseos", "libcgroup", "0.41-19.el8", "x86_64", ["/usr/sbin/groupadd"]),
        new("baseos", "tar", "2:1.30-5.el8", "x86_64"),
        new("baseos", "xz", "5.2.4-3.el8", "x86_64"),
        new("baseos", "shadow-utils", "2:4.6-14.el8", "x86_64", ["libc.so.6()(64bit)"], Files: ["/usr/sbin/groupadd", "/usr/sbin/useradd"]),
        new("baseos", "bash", "4.4.20-2.el8", "x86_64", ["filesystem >= 3", "libc.so.6()(64bit)", "libtinfo.so.6()(64bit)"], Files: ["/bin/sh", "/usr/bin/bash"]),
        new("baseos", "ncurses-libs", "6.1-9.20180224.el8", "x86_64", ["libc.so.6()(64bit)"], Provides: ["libtinfo.so.6()(64bit)"]),
        new("baseos", "glibc", "2.28-164.el8", "x86_64", ["basesystem"], Provides: ["libc.so.6()(64bit)"]),
        new("baseos", "glibc", "2.28-164.el8", "i686", ["basesystem"], Provides: ["libc.so.6"]),
        new("baseos", "basesystem", "11-5.el8", "noarch", ["filesystem", "setup"]),
        new("baseos", "filesystem", "3.8-6.el8", "x86_64", ["setup"]),
        new("baseos", "setup", "2.12.2-6.el8", "noarch"),
        new("baseos", "systemd", "239-51.el8", "x86_64", ["/bin/sh", "(systemd-selinux-helper if selinux-policy)", "libc.so.6()(64bit)"]),
        new("baseos", "systemd-selinux-helper", "239-51.el8", "x86_64"),
        new("baseos", "selinux-policy", "3.14.3-80.el8", "noarch", ["policycoreutils >= 2.9"]),
        new("baseos", "policycoreutils", "2.9-16.el8", "x86_64", ["/bin/sh"]),
        new("baseos", "chrony", "3.5-2.el8", "x86_64", ChronyRequires, Files: ["/usr/lib/systemd/system/chronyd.service"]),
        new("baseos", "chrony", "4.1-1.el8", "x86_64", ChronyRequires, Files: ["/usr/lib/systemd/system/chronyd.service"]),
        new("baseos", "timedatex", "0.5-3.el8", "x86_64", ["systemd"]),
        new("baseos", "libedit", "3.1-23.20170329cvs.el8", "x86_64", ["libtinfo.so.6()(64bit)"], Provides: ["libedit.so.0()(64bit)"]),
        new("appstream", "container-selinux", "2:2.167.0-1.module_el8.5.0+911+f19012f9", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("appstream", "container-selinux", "2:2.189.0-1.module_el8.7.0+1216+b022c01d", "noarch", ["selinux-policy >= 3.14.3", "policycoreutils"]),
        new("appstream", "fuse-overlayfs", "1.7.1-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("appstream", "fuse-overlayfs", "1.9-1.module_el8.7.0+1216+b022c01d", "x86_64"),
        new("appstream", "slirp4netns", "1.1.8-1.module_el8.5.0+890+6b136101", "x86_64"),
        new("appstream", "slirp4netns", "1.2.0-2.module_el8.7.0+1216+b022c01d", "x86_64"),
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

    // A lab stand-in: no scriptlets, no automatic dependencies on the host, empty files where a file
    // dependency needs an owner.
    private static string SpecFile(LabPackage p)
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
