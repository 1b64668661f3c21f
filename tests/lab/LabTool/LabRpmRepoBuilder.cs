using System.Diagnostics;
using System.Text;
using OfflineKit.Rpm;
using OfflineKit.Spec;

namespace OfflineKit.Lab;

/// <summary>One lab repository, built.</summary>
/// <param name="Name">Unique in the lab; the guide's four keep the default spec's names (kubernetes, docker-ce-stable, baseos, appstream).</param>
/// <param name="BaseUrl">The origin URL (https://mirrors.aliyun.com/…) it stands in for.</param>
/// <param name="Dir">The local folder at that URL's path under <see cref="LabRpmRepoBuilder.Root"/>: Packages/ and repodata/.</param>
/// <param name="GpgKeys">The key URLs; the signer's public key lies at each one's path under Root.</param>
/// <param name="KeyFile">The signer's public key (ASCII-armored), which signed every RPM here.</param>
/// <param name="Snapshot">Null, or the name of the later state of the repo at BaseUrl this is (<see cref="LabRepoDefinition.Snapshot"/>).</param>
public sealed record LabRpmRepo(string Name, Uri BaseUrl, string Dir, IReadOnlyList<Uri> GpgKeys, string KeyFile, LabCompression Compression, string? Snapshot = null);

/// <summary>One built and signed RPM.</summary>
/// <param name="Nevra">name-epoch:version-release.arch, as `rpm -qa` prints it with the query format %{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}.</param>
/// <param name="Path">Absolute path: the repo's Dir/Packages/NAME-VERSION-RELEASE.ARCH.rpm.</param>
/// <param name="Href">The location href in the repo's primary.xml (Packages/…).</param>
public sealed record LabRpmFile(string Repo, string Name, string Nevra, string Arch, string Path, string Href);

/// <summary>A vendor's lab signing key: its public key file and rpm's 8-hex-digit id (gpg-pubkey-ID).</summary>
public sealed record LabSigningKey(string Signer, string Email, string File, string Id);

/// <summary>Which repositories a lab holds.</summary>
public enum LabRepoSet
{
    /// <summary>The default spec's four (kubernetes, docker-ce-stable, CentOS 8.5 BaseOS and AppStream).</summary>
    Guide,

    /// <summary>The guide's four plus per-minor Kubernetes, EL8/EL9 docker-ce on x86_64 and aarch64, Rocky 9 (<see cref="LabRepoCatalog.Versions"/>).</summary>
    Versions,
}

/// <summary>
/// Builds the lab's yum repositories (<see cref="LabRepoCatalog"/>) as real repos of tiny RPMs built
/// with rpmbuild that copy the real packages' names, epochs, versions and dependencies, signed with one
/// lab GPG key per vendor (Kubernetes, Docker, CentOS, Rocky, pkgs.k8s.io), with createrepo_c metadata
/// compressed as the repo asks (gz, xz, zstd), comps in BaseOS and modules.yaml in AppStream.
/// Laid out at the paths of the origin URLs under <see cref="Root"/>, so the mirrors-file line
/// <see cref="MirrorsEntry"/> with an HTTP server on Root makes the unchanged specs work in the lab.
/// Each closure goes down to an empty root. The one implementation: the integration tests'
/// LabRpmRepos fixture and `labtool rpm-repos` (the demo, the benchmarks) both build with it.
/// </summary>
/// <param name="dir">An empty folder for everything: root/ (the served tree), keys/, gnupg/, specs/, top/.</param>
public sealed class LabRpmRepoBuilder(string dir, LabRepoSet set = LabRepoSet.Guide)
{
    /// <summary>The origin the repo and key URLs share; mapped to Root/aliyun/.</summary>
    public const string Origin = LabRepoCatalog.Origin;

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

    /// <summary>The packages of the comps group `core` in the lab's BaseOS repos (mandatory and default ones).</summary>
    public static readonly string[] CorePackages = LabRepoCatalog.CorePackages;

    private readonly List<LabRpmRepo> _repos = [];
    private readonly List<LabRpmFile> _files = [];
    private readonly List<LabSigningKey> _keys = [];

    /// <summary>The folder everything is built in.</summary>
    public string Dir { get; } = Path.GetFullPath(dir);

    public LabRepoSet Set { get; } = set;

    /// <summary>The default spec (embedded k8s-1.23.0) whose repositories the guide's four are.</summary>
    public BundleSpec Spec { get; } = BundleSpecLoader.LoadEmbedded("1.23.0");

    /// <summary>The served tree: Root/aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/, Root/aliyun/centos/RPM-GPG-KEY-CentOS-Official, …</summary>
    public string Root => In("root");

    /// <summary>Every repository: the guide's four first, in the spec's order.</summary>
    public IReadOnlyList<LabRpmRepo> Repositories => _repos;

    /// <summary>Every RPM of every repo.</summary>
    public IReadOnlyList<LabRpmFile> Files => _files;

    /// <summary>The vendors' keys, one per signer.</summary>
    public IReadOnlyList<LabSigningKey> Keys => _keys;

    /// <summary>The guide's requested packages (kubelet-1.23.0, …, chrony).</summary>
    public IReadOnlyList<string> SpecPackages => Spec.Rpm.Packages;

    public LabRpmRepo this[string name] => _repos.Single(r => r.Name == name);

    /// <summary>The repository at <paramref name="baseUrl"/> (an origin URL), or null; in <paramref name="snapshot"/> where the lab has that state of it.</summary>
    public LabRpmRepo? At(Uri baseUrl, string? snapshot = null) =>
        _repos.SingleOrDefault(r => r.BaseUrl.AbsoluteUri == baseUrl.AbsoluteUri && snapshot is not null && r.Snapshot == snapshot)
        ?? _repos.SingleOrDefault(r => r.BaseUrl.AbsoluteUri == baseUrl.AbsoluteUri && r.Snapshot is null);

    /// <summary>
    /// The mirrors-file entries (under <c>urls:</c>) that send each repo of <paramref name="snapshot"/>
    /// to its folder: prefixes longer than <see cref="MirrorsEntry"/>'s, so they win for those repos only.
    /// </summary>
    public IEnumerable<string> SnapshotMirrorsEntries(Uri serverBase, string snapshot) =>
        _repos.Where(r => r.Snapshot == snapshot).Select(r => $"{r.BaseUrl}: {new Uri(serverBase, Path.GetRelativePath(Root, r.Dir).TrimEnd('/') + "/")}");

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
    /// The mirrors-file entry (under <c>urls:</c>) sending the origin, every repo base URL and
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
        var definitions = Set == LabRepoSet.Versions ? LabRepoCatalog.Versions(Spec) : LabRepoCatalog.Guide(Spec);
        var signers = definitions.Select(d => d.Signer).Distinct().ToList();
        foreach (var signer in signers)
        {
            _keys.Add(new LabSigningKey(signer, $"rpm-lab-{signer.Replace('.', '-')}@offlinekit.invalid", In($"keys/{signer}.asc"), string.Empty));
        }

        foreach (var d in definitions)
        {
            var dir = d.Snapshot is null ? LocalPath(d.BaseUrl) : Path.Combine(Root, "snapshots", d.Snapshot, Path.GetRelativePath(Path.Combine(Root, "aliyun"), LocalPath(d.BaseUrl)));
            _repos.Add(new LabRpmRepo(d.Name, d.BaseUrl, dir, d.GpgKeys, _keys.Single(k => k.Signer == d.Signer).File, d.Compression, d.Snapshot));
        }

        var gnupg = In("gnupg");
        Directory.CreateDirectory(gnupg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(In("keys"));
        var script = new StringBuilder($$"""
            set -euo pipefail
            export GNUPGHOME='{{gnupg}}'
            # gpg starts an agent for this home; stop it however the script ends.
            trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true' EXIT

            """);
        // One key per vendor, as the real repos have (a host trusting Docker's key does not trust Rocky's RPMs).
        script.Append("gpg --batch --quiet --gen-key <<'EOF'\n");
        foreach (var k in _keys)
        {
            script.Append($"%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nName-Real: offlinekit lab {k.Signer} RPM signing key\nName-Email: {k.Email}\nExpire-Date: 0\n%commit\n");
        }

        script.Append("EOF\n");
        foreach (var k in _keys)
        {
            script.Append($"gpg --batch --armor --export {k.Email} > '{k.File}'\n")
                .Append($"gpg --batch --with-colons --list-keys {k.Email} | awk -F: '$1 == \"pub\" {{ print tolower(substr($5, 9)) }}' > '{k.File}.id'\n");
        }

        var comps = Write("comps.xml", CompsXml);
        foreach (var d in definitions)
        {
            var repo = this[d.Name];
            // One rpmbuild per batch of subpackages (each with its own name, epoch, version, release and
            // arch) instead of one per package: rpmbuild's start-up dominates, a batch takes the same time.
            foreach (var batch in Batches(d))
            {
                foreach (var p in batch.Packages)
                {
                    var evr = Evr.Parse(p.Evr);
                    var fileName = $"{p.Name}-{evr.Version}-{evr.Release}.{p.Arch}.rpm";
                    _files.Add(new LabRpmFile(d.Name, p.Name, $"{p.Name}-{evr.Epoch}:{evr.Version}-{evr.Release}.{p.Arch}", p.Arch, Path.Combine(repo.Dir, "Packages", fileName), "Packages/" + fileName));
                }

                var spec = Write($"specs/{d.Name}/{batch.Name}.spec", SpecFile(batch.Name, batch.Packages));
                script.Append($"{rpmbuild} -bb --quiet {(batch.Target is { } t ? "--target " + t : string.Empty)} --define '_topdir {In("top")}' --define '_rpmdir {repo.Dir}/Packages' ")
                    .Append("--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' ")
                    .Append($"'{spec}' >/dev/null 2>&1 || {rpmbuild} -bb '{spec}'\n");
            }
        }

        foreach (var k in _keys)
        {
            var signed = _repos.Where(r => r.KeyFile == k.File).Select(r => r.Name).ToHashSet();
            // Debian's rpm names /usr/bin/gpg2 as %__gpg, which Debian does not ship: name gpg itself.
            script.Append($"rpmsign --addsign --define '__gpg {gpg}' --define '_gpg_path {gnupg}' --define '_gpg_name {k.Email}' ")
                .Append(string.Join(' ', _files.Where(f => signed.Contains(f.Repo)).Select(f => $"'{f.Path}'"))).Append(" </dev/null >/dev/null\n");
        }

        foreach (var d in definitions)
        {
            var repo = this[d.Name];
            var compression = d.Compression == LabCompression.Xz ? "xz" : "gz";
            // BaseOS carries comps with the group `core`, as the real one does, for specs with a baseline.
            script.Append($"createrepo_c --quiet --general-compress-type={compression} {(d.Comps ? $"--groupfile '{comps}' " : string.Empty)}'{repo.Dir}'\n");
            if (d.Modules is { } modules)
            {
                script.Append($"modifyrepo_c --mdtype=modules --compress-type={compression} '{Write($"modules/{d.Name}/modules.yaml", modules)}' '{repo.Dir}/repodata' >/dev/null\n");
            }

            foreach (var key in d.GpgKeys)
            {
                var path = LocalPath(key);
                script.Append($"mkdir -p '{Path.GetDirectoryName(path)}' && cp '{repo.KeyFile}' '{path}'\n");
            }
        }

        var (exitCode, output) = await BashAsync(Write("build.sh", script.ToString()), cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException("building the lab RPM repos failed:\n" + output);
        }

        foreach (var d in definitions.Where(d => d.Compression == LabCompression.Zstd))
        {
            await RecompressAsZstdAsync(this[d.Name].Dir, cancellationToken);
        }

        for (var i = 0; i < _keys.Count; i++)
        {
            var id = (await File.ReadAllTextAsync(_keys[i].File + ".id", cancellationToken)).Trim();
            if (id.Length != 8 || !id.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidOperationException($"the lab key {_keys[i].Signer}'s id '{id}' is not 8 lower-case hex digits");
            }

            _keys[i] = _keys[i] with { Id = id };
        }
    }

    // Debian's createrepo_c (0.17) writes no zstd, which createrepo_c 1.0 makes its default: write
    // the gzip metadata again as zstd, renamed as createrepo_c names it (<checksum>-primary.xml.zst,
    // group_zst), and repomd.xml's checksum, size and location to match.
    private static async Task RecompressAsZstdAsync(string repoDir, CancellationToken cancellationToken)
    {
        var repomdPath = Path.Combine(repoDir, "repodata", "repomd.xml");
        var repomd = System.Xml.Linq.XDocument.Load(repomdPath);
        System.Xml.Linq.XNamespace ns = "http://linux.duke.edu/metadata/repo";
        foreach (var data in repomd.Root!.Elements(ns + "data").ToList())
        {
            var location = data.Element(ns + "location")!;
            var href = location.Attribute("href")!.Value;
            if (!href.EndsWith(".gz", StringComparison.Ordinal))
            {
                continue;
            }

            var gz = Path.Combine(repoDir, href);
            var plain = gz[..^3];
            await using (var input = new System.IO.Compression.GZipStream(File.OpenRead(gz), System.IO.Compression.CompressionMode.Decompress))
            await using (var output = File.Create(plain))
            {
                await input.CopyToAsync(output, cancellationToken);
            }

            var (exitCode, log) = await RunAsync("zstd", ["-q", "-f", "--rm", plain, "-o", plain + ".zst"], cancellationToken);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"zstd {plain}: {log}");
            }

            var bytes = await File.ReadAllBytesAsync(plain + ".zst", cancellationToken);
            var checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            var name = Path.GetFileName(plain);
            var target = $"repodata/{checksum}-{name[(name.IndexOf('-', StringComparison.Ordinal) + 1)..]}.zst";
            File.Move(plain + ".zst", Path.Combine(repoDir, target));
            File.Delete(gz);
            location.SetAttributeValue("href", target);
            data.Element(ns + "checksum")!.Value = checksum;
            data.Element(ns + "checksum")!.SetAttributeValue("type", "sha256");
            data.Element(ns + "size")!.Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (data.Attribute("type")!.Value == "group_gz")
            {
                data.SetAttributeValue("type", "group_zst");
            }
        }

        // No byte-order mark: repomd.xml is hashed and parsed by tools that do not expect one.
        using var writer = System.Xml.XmlWriter.Create(repomdPath, new System.Xml.XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true });
        repomd.Save(writer);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private sealed record Batch(string Name, string? Target, IReadOnlyList<LabPackage> Packages);

    // A batch holds each name once (rpmbuild makes one package per name) and one build arch; noarch
    // subpackages ride along with the repo's first arch.
    private static IEnumerable<Batch> Batches(LabRepoDefinition d)
    {
        var mainArch = d.Packages.Select(p => p.Arch).FirstOrDefault(a => a != "noarch");
        var groups = d.Packages
            .GroupBy(p => p.Arch == "noarch" ? mainArch : p.Arch)
            .SelectMany(byArch => byArch.GroupBy(p => p.Name).SelectMany(byName => byName.Select((p, generation) => (Arch: byArch.Key, Generation: generation, Package: p))))
            .GroupBy(x => (x.Arch, x.Generation));
        foreach (var g in groups.OrderBy(g => g.Key.Arch, StringComparer.Ordinal).ThenBy(g => g.Key.Generation))
        {
            yield return new Batch($"lab-{d.Name}-{g.Key.Arch ?? "noarch"}-{g.Key.Generation}", g.Key.Arch, [.. g.Select(x => x.Package)]);
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

    private static Task<(int ExitCode, string Output)> BashAsync(string scriptFile, CancellationToken cancellationToken) =>
        RunAsync("/bin/bash", [scriptFile], cancellationToken);

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

    // A lab stand-in: no scriptlets, no automatic dependencies on the host, empty files where a file
    // dependency needs an owner. One spec, one subpackage per package, each with its own EVR and arch.
    private static string SpecFile(string name, IReadOnlyList<LabPackage> packages)
    {
        var sb = new StringBuilder($"Name: {name}\nVersion: 1\nRelease: 1\nSummary: offlinekit lab batch\nLicense: MIT\nAutoReqProv: no\n%description\nofflinekit lab batch.\n");
        foreach (var p in packages)
        {
            var evr = Evr.Parse(p.Evr);
            sb.Append($"%package -n {p.Name}\n");
            if (evr.Epoch != 0)
            {
                sb.Append($"Epoch: {evr.Epoch}\n");
            }

            sb.Append($"Version: {evr.Version}\nRelease: {evr.Release}\nSummary: offlinekit lab stand-in of {p.Name}\n")
                .Append(p.Arch == "noarch" ? "BuildArch: noarch\n" : string.Empty);
            foreach (var (tag, deps) in new[] { ("Requires", p.Requires), ("Provides", p.Provides), ("Conflicts", p.Conflicts), ("Obsoletes", p.Obsoletes), ("Recommends", p.Recommends) })
            {
                foreach (var d in deps ?? [])
                {
                    sb.Append($"{tag}: {d}\n");
                }
            }

            sb.Append($"%description -n {p.Name}\nofflinekit lab stand-in: copies the name, version and dependencies of the real package.\n");
        }

        sb.Append("%install\n");
        foreach (var f in packages.SelectMany(p => p.Files ?? []))
        {
            sb.Append($"mkdir -p %{{buildroot}}{Path.GetDirectoryName(f)}\ntouch %{{buildroot}}{f}\n");
        }

        foreach (var p in packages)
        {
            sb.Append($"%files -n {p.Name}\n");
            foreach (var f in p.Files ?? [])
            {
                sb.Append(f).Append('\n');
            }
        }

        return sb.ToString();
    }
}
