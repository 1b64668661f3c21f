using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Lab;

/// <summary>
/// What a build of a version the catalog derives reads from the internet besides its yum repos, in the
/// lab: every image its spec names (kubeadm's list, the spec's own images such as `build --with`
/// adds, the images the addon manifests name or their patches set) as multi-arch indexes (<see cref="MultiArchImages"/>), and each addon manifest at its
/// URL's path under a folder (DIR/HOST/PATH, for a `https://HOST/: file://DIR/HOST/` URL mirror).
/// One implementation: the integration tests' VersionLab and `labtool seed --k8s` (`make demo K8S=…`).
/// </summary>
public static class VersionSources
{
    /// <summary>Writes the addon manifests of every spec under <paramref name="dir"/>; returns every image name the specs' bundles carry.</summary>
    /// <param name="testdata">tests/OfflineKit.Tests/Manifests/testdata: the real upstream manifests.</param>
    public static async Task<IReadOnlyList<string>> WriteAsync(IEnumerable<BundleSpec> specs, string dir, string testdata)
    {
        var names = new List<string>();
        foreach (var spec in specs)
        {
            names.AddRange(KubeadmImages.List(spec.Kubernetes.ToString(), spec.ImageRepository));
            names.AddRange(spec.Images.Select(i => i.ToString()));
            foreach (var addon in spec.Addons)
            {
                var manifest = AddonManifest(addon, testdata);
                var to = Path.Combine(dir, addon.Url.Host, addon.Url.AbsolutePath.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                await File.WriteAllTextAsync(to, manifest);
                var setImage = addon.Patches.Where(p => p.Op == ManifestPatchOp.SetImage).ToList();
                names.AddRange(setImage.Select(p => p.Value));
                if (setImage.Count == 0)
                {
                    names.AddRange(manifest.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("image: ", StringComparison.Ordinal)).Select(l => l["image: ".Length..].Trim()));
                }
            }
        }

        return [.. names.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Pushes each name as a multi-arch index (amd64 and arm64) of synthetic images.</summary>
    public static async Task PushAsync(RegistryPusher registry, IEnumerable<string> names)
    {
        foreach (var image in MultiArchImages.Make(names))
        {
            await registry.PushIndexAsync(image.Repository, image.Tag, [.. image.Images]);
        }
    }

    // The real manifest of that version when the repo's testdata has it; otherwise a lab stand-in: the
    // newest real one of the same addon with its version moved (same workloads, containers and image
    // names; the catalog's choice of version is what the bundle must follow).
    private static string AddonManifest(AddonSpec addon, string testdata)
    {
        var (real, realVersion) = addon.Name == "calico"
            ? (Path.Combine(testdata, $"calico-{addon.Version}.yaml"), "v3.26.5")
            : (Path.Combine(testdata, $"metrics-server-{addon.Version}-components.yaml"), "v0.6.3");
        if (File.Exists(real))
        {
            return File.ReadAllText(real);
        }

        var newest = addon.Name == "calico" ? Path.Combine(testdata, "calico-v3.26.5.yaml") : Path.Combine(testdata, "metrics-server-v0.6.3-components.yaml");
        return File.ReadAllText(newest).Replace(realVersion, addon.Version, StringComparison.Ordinal);
    }
}
