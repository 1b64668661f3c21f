using OfflineKit.Rpm;
using OfflineKit.Tests.Rpm;

namespace OfflineKit.Lab;

/// <summary>
/// Metadata-only yum repositories at the default spec's URL paths: the real EL8 dependency graph of
/// the spec's packages plus generated packages to the size of BaseOS+AppStream, written with
/// offlinekit's own repodata writer. For benchmarks of resolution against dnf (no RPM files exist).
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

    public static int Write(string root, int extraPackages)
    {
        var repos = RpmWorld.El8(withModules: false);
        var generated = RpmWorld.Generate(new Random(8), names: Math.Max(1, extraPackages / 3), packages: extraPackages);
        var total = 0;
        foreach (var repo in repos)
        {
            var name = repo.Name == "docker-ce-stable" ? "docker-ce" : repo.Name;
            var packages = repo.Packages.ToList();
            if (name == "baseos")
            {
                packages.Add(RpmWorld.Pkg("chrony-4.1-1.el8.x86_64", ["/bin/sh", "/usr/sbin/useradd"]));
                packages.AddRange(generated.Take(generated.Count / 2));
            }
            else if (name == "appstream")
            {
                packages.AddRange(generated.Skip(generated.Count / 2));
            }

            var dir = Path.Combine(root, Paths.GetValueOrDefault(name) ?? throw new InvalidOperationException($"no path for repo {repo.Name}"));
            Directory.CreateDirectory(Path.Combine(dir, "repodata"));
            foreach (var (path, content) in RepodataWriter.Write(packages.Select(p => new CarriedRpm(p, p.LocationHref, p.Checksum!.Value, Math.Max(1, p.Size))).ToList()))
            {
                File.WriteAllBytes(Path.Combine(dir, path), content);
            }

            total += packages.Count;
        }

        return total;
    }
}
