using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Xml.Linq;
using OfflineKit.Rpm;
using OfflineKit.Tests.Rpm;

namespace OfflineKit.Lab;

/// <summary>
/// Metadata-only yum repositories at the default spec's URL paths: the real EL8 dependency graph of
/// the spec's packages plus generated packages to the size of BaseOS+AppStream, written with
/// offlinekit's own repodata writer, then shaped like a real EL8 repository's (see <see cref="RealShape"/>)
/// and, for AppStream, recompressed as <c>--compression</c> says (real EL repositories ship gzip, xz or
/// zstd metadata). For benchmarks of resolution against dnf (no RPM files exist).
/// </summary>
public static class GeneratedRpmRepos
{
    private static readonly Dictionary<string, string> Paths = new(StringComparer.Ordinal)
    {
        ["kubernetes"] = "aliyun/kubernetes/yum/repos/kubernetes-el7-x86_64/",
        ["docker-ce"] = "aliyun/docker-ce/linux/centos/8/x86_64/stable/",
        ["baseos"] = "aliyun/centos-vault/8.5.2111/BaseOS/x86_64/os/",
        ["appstream"] = "aliyun/centos-vault/8.5.2111/AppStream/x86_64/os/",
    };

    private static readonly XNamespace Common = "http://linux.duke.edu/metadata/common";
    private static readonly XNamespace RpmNs = "http://linux.duke.edu/metadata/rpm";
    private static readonly XNamespace RepoNs = "http://linux.duke.edu/metadata/repo";

    /// <param name="compression">AppStream's metadata compression: gz, xz or zst (BaseOS and the others stay gzip).</param>
    /// <param name="os">el8: the default spec's four repos (CentOS 8.5's BaseOS/AppStream split);
    /// el9: the repos a 1.30 EL9 x86_64 bundle reads (pkgs.k8s.io's v1.30, docker-ce's centos/9, Rocky 9's
    /// BaseOS/AppStream split).</param>
    public static int Write(string root, int extraPackages, string compression = "gz", string os = "el8")
    {
        var random = new Random(8);
        var generated = RpmWorld.Generate(random, names: Math.Max(1, extraPackages / 3), packages: extraPackages);
        var repos = os switch
        {
            "el8" => El8(generated),
            "el9" => El9(generated),
            _ => throw new ArgumentException($"unknown os '{os}' (el8 or el9)"),
        };
        foreach (var (path, packages, dataCompression) in repos)
        {
            var dir = Path.Combine(root, path);
            Directory.CreateDirectory(Path.Combine(dir, "repodata"));
            var files = RepodataWriter.Write(packages.Select(p => new CarriedRpm(p, p.LocationHref, p.Checksum!.Value, Math.Max(1, p.Size))).ToList());
            foreach (var (file, content) in RealShape(files, random, dataCompression ?? compression))
            {
                File.WriteAllBytes(Path.Combine(dir, file), content);
            }
        }

        return repos.Sum(r => r.Packages.Count);
    }

    /// <summary>Each repo: its path under the root, its packages, and its metadata compression (null: the one asked for, AppStream's).</summary>
    private static List<(string Path, List<RpmPackage> Packages, string? Compression)> El8(List<RpmPackage> generated)
    {
        var result = new List<(string, List<RpmPackage>, string?)>();
        foreach (var repo in RpmWorld.El8(withModules: false))
        {
            var name = repo.Name == "docker-ce-stable" ? "docker-ce" : repo.Name;
            var packages = repo.Packages.ToList();
            if (name == "baseos")
            {
                packages.Add(RpmWorld.Pkg("chrony-4.1-1.el8.x86_64", ["/bin/sh", "/usr/sbin/useradd"]));
                packages.AddRange(generated.Take(generated.Count * 2 / 9));
            }
            // CentOS 8.5's split: BaseOS ~2,200 packages, AppStream ~7,800.
            else if (name == "appstream")
            {
                packages.AddRange(generated.Skip(generated.Count * 2 / 9));
            }

            result.Add((Paths.GetValueOrDefault(name) ?? throw new InvalidOperationException($"no path for repo {repo.Name}"), packages, name == "appstream" ? null : "gz"));
        }

        return result;
    }

    /// <summary>
    /// The lab's EL9 x86_64 repos (<see cref="LabRepoCatalog.Versions"/>, their real packages' names,
    /// versions and dependencies) at their URL paths, with the generated packages split as Rocky 9.4's
    /// x86_64 BaseOS (~1,100 packages) and AppStream (~5,700) are: one sixth to BaseOS. pkgs.k8s.io's
    /// repo keeps its zstd metadata (createrepo_c's default there), the others gzip, AppStream as asked.
    /// Modular builds are left out: this set has no modules.yaml, and the closure needs none.
    /// </summary>
    private static List<(string Path, List<RpmPackage> Packages, string? Compression)> El9(List<RpmPackage> generated)
    {
        string[] names = ["kubernetes-v1.30", "docker-ce-el9-x86_64", "rocky9-baseos-x86_64", "rocky9-appstream-x86_64"];
        var definitions = LabRepoCatalog.Versions(OfflineKit.Spec.BundleSpecLoader.LoadEmbedded("1.23.0"));
        var result = new List<(string, List<RpmPackage>, string?)>();
        foreach (var name in names)
        {
            var definition = definitions.Single(d => d.Name == name);
            var packages = definition.Packages
                .Where(p => !p.Evr.Contains(".module+", StringComparison.Ordinal))
                .Select(p => RpmWorld.Pkg($"{p.Name}-{p.Evr}.{p.Arch}", p.Requires, p.Provides, p.Conflicts, p.Obsoletes, p.Recommends, p.Files))
                .ToList();
            if (name.StartsWith("rocky9-baseos", StringComparison.Ordinal))
            {
                packages.AddRange(generated.Take(generated.Count / 6));
            }
            else if (name.StartsWith("rocky9-appstream", StringComparison.Ordinal))
            {
                packages.AddRange(generated.Skip(generated.Count / 6));
            }

            var path = "aliyun/" + definition.BaseUrl.AbsoluteUri[LabRepoCatalog.Origin.Length..];
            var compression = name switch
            {
                "kubernetes-v1.30" => "zst",
                "rocky9-appstream-x86_64" => null,
                _ => "gz",
            };
            result.Add((path, packages, compression));
        }

        return result;
    }

    /// <summary>
    /// The repository's files shaped like a real EL8 repository's: in primary, each package gets the
    /// text a real one has (summary, description, packager, URL, license, vendor, group, build host,
    /// source RPM, header range: ~3 KB of XML a package, ~0.6 KB gzip'd, as in CentOS 8's BaseOS and
    /// AppStream) and only the files createrepo puts there (under /etc/, with bin/ in the path,
    /// /usr/lib/sendmail), a few more of them (0-8 a package) as real packages ship; every file stays
    /// in filelists. Nothing that changes a resolution is added. Each data file is then compressed as
    /// <paramref name="compression"/> says (xz and zstd by the system's xz and zstd tools, their default
    /// levels as createrepo_c's) and repomd.xml rewritten to match.
    /// </summary>
    private static List<(string Path, byte[] Content)> RealShape(IReadOnlyList<(string Path, byte[] Content)> files, Random random, string compression)
    {
        var repomd = XDocument.Parse(System.Text.Encoding.UTF8.GetString(files.Single(f => f.Path == "repodata/repomd.xml").Content));
        var result = new List<(string, byte[])>();
        var extraFiles = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var data in repomd.Root!.Elements(RepoNs + "data"))
        {
            var location = data.Element(RepoNs + "location")!;
            var href = location.Attribute("href")!.Value;
            var xml = Gunzip(files.Single(f => f.Path == href).Content);
            var type = data.Attribute("type")!.Value;
            if (type is "primary" or "filelists")
            {
                xml = Reshape(xml, type, random, extraFiles);
            }

            var packed = Compress(xml, compression);
            var sha = Convert.ToHexStringLower(SHA256.HashData(packed));
            var newHref = $"repodata/{sha}-{type}.xml.{compression}";
            location.SetAttributeValue("href", newHref);
            data.Element(RepoNs + "checksum")!.Value = sha;
            data.Element(RepoNs + "open-checksum")!.Value = Convert.ToHexStringLower(SHA256.HashData(xml));
            data.Element(RepoNs + "size")!.Value = packed.LongLength.ToString(CultureInfo.InvariantCulture);
            data.Element(RepoNs + "open-size")!.Value = xml.LongLength.ToString(CultureInfo.InvariantCulture);
            result.Add((newHref, packed));
        }

        using var buffer = new MemoryStream();
        repomd.Save(buffer);
        result.Insert(0, ("repodata/repomd.xml", buffer.ToArray()));
        return result;
    }

    private static readonly string[] Words =
        ("the a of to and for with in on is this package contains provides library libraries tool tools utility utilities " +
         "command line interface support files data development headers runtime shared system service daemon network " +
         "configuration client server module modules plugin plugins documentation manual pages python perl java " +
         "applications program programs used by other which allows users access protocol format version compatibility " +
         "implementation standard functions routines graphical desktop kernel device devices storage security " +
         "authentication encryption compression database management monitoring performance debugging testing").Split(' ');

    private static string Text(Random random, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));

    private static bool InPrimary(string path) =>
        path.StartsWith("/etc/", StringComparison.Ordinal) || path.Contains("bin/", StringComparison.Ordinal) || path == "/usr/lib/sendmail";

    private static byte[] Reshape(byte[] xml, string type, Random random, Dictionary<string, string[]> extraFiles)
    {
        var doc = XDocument.Parse(System.Text.Encoding.UTF8.GetString(xml));
        var ns = doc.Root!.Name.Namespace;
        foreach (var package in doc.Root.Elements(ns + "package"))
        {
            string name, arch, key;
            XElement fileParent;
            if (type == "primary")
            {
                name = package.Element(ns + "name")!.Value;
                arch = package.Element(ns + "arch")!.Value;
                var version = package.Element(ns + "version")!;
                key = $"{name}-{version.Attribute("ver")!.Value}-{version.Attribute("rel")!.Value}.{arch}";
                package.Element(ns + "summary")!.Value = Text(random, random.Next(4, 9));
                package.Element(ns + "description")!.Value = Text(random, random.Next(40, 160));
                package.Element(ns + "packager")!.Value = "CentOS Buildsys <bugs@centos.org>";
                package.Element(ns + "url")!.Value = $"https://www.example.org/projects/{name}";
                package.Element(ns + "size")!.SetAttributeValue("installed", random.Next(10_000, 5_000_000).ToString(CultureInfo.InvariantCulture));
                package.Element(ns + "size")!.SetAttributeValue("archive", random.Next(10_000, 5_000_000).ToString(CultureInfo.InvariantCulture));
                fileParent = package.Element(ns + "format")!;
                var version2 = version.Attribute("ver")!.Value + "-" + version.Attribute("rel")!.Value;
                fileParent.AddFirst(
                    new XElement(RpmNs + "license", random.Next(3) switch { 0 => "GPLv2+", 1 => "LGPLv2+ and MIT", _ => "ASL 2.0" }),
                    new XElement(RpmNs + "vendor", "CentOS"),
                    new XElement(RpmNs + "group", "Unspecified"),
                    new XElement(RpmNs + "buildhost", $"x86-0{random.Next(1, 9)}.mbox.centos.org"),
                    new XElement(RpmNs + "sourcerpm", $"{name}-{version2}.src.rpm"),
                    new XElement(RpmNs + "header-range", new XAttribute("start", "4504"), new XAttribute("end", random.Next(8_000, 60_000).ToString(CultureInfo.InvariantCulture))));
                // Provides a real package has beside its name (arch-qualified name, sonames with symbol
                // versions, metainfo): names nothing else asks for.
                // Requires as many as a real package has (~15): the rest are on its own sonames, which
                // it provides itself.
                var provides = fileParent.Element(RpmNs + "provides");
                if (provides is not null)
                {
                    var requires = fileParent.Element(RpmNs + "requires");
                    if (requires is null)
                    {
                        requires = new XElement(RpmNs + "requires");
                        provides.AddAfterSelf(requires);
                    }

                    for (var i = random.Next(2, 12); i > 0; i--)
                    {
                        var soname = $"lib{name}-{Text(random, 1)}.so.{i}({name.ToUpperInvariant()}_{i}.0)(64bit)";
                        provides.Add(new XElement(RpmNs + "entry", new XAttribute("name", soname)));
                        requires.Add(new XElement(RpmNs + "entry", new XAttribute("name", soname)));
                    }
                }

                // Primary carries only the files createrepo puts there; filelists keeps them all.
                foreach (var file in fileParent.Elements(ns + "file").Where(f => !InPrimary(f.Value)).ToList())
                {
                    file.Remove();
                }
            }
            else
            {
                name = package.Attribute("name")!.Value;
                arch = package.Attribute("arch")!.Value;
                var version = package.Element(ns + "version")!;
                key = $"{name}-{version.Attribute("ver")!.Value}-{version.Attribute("rel")!.Value}.{arch}";
                fileParent = package;
            }

            if (!extraFiles.TryGetValue(key, out var extra))
            {
                extra = Enumerable.Range(0, random.Next(0, 9))
                    .Select(i => random.Next(3) switch { 0 => $"/usr/bin/{name}-{Text(random, 1)}{i}", 1 => $"/usr/sbin/{name}d{i}", _ => $"/etc/{name}/{Text(random, 1)}{i}.conf" })
                    .ToArray();
                extraFiles[key] = extra;
            }

            foreach (var file in extra)
            {
                fileParent.Add(new XElement(ns + "file", file));
            }
        }

        using var buffer = new MemoryStream();
        doc.Save(buffer);
        return buffer.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gz.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static byte[] Compress(byte[] data, string compression)
    {
        if (compression == "gz")
        {
            using var buffer = new MemoryStream();
            using (var gz = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            {
                gz.Write(data);
            }

            return buffer.ToArray();
        }

        var tool = compression switch
        {
            "xz" => "xz",
            "zst" => "zstd",
            _ => throw new ArgumentException($"unknown compression '{compression}' (gz, xz or zst)"),
        };
        var start = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("-q");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var output = new MemoryStream();
        var read = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.BaseStream.Write(data);
        process.StandardInput.Close();
        read.GetAwaiter().GetResult();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}");
        }

        return output.ToArray();
    }
}
