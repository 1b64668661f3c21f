using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Lab;

/// <summary>The images of the default spec (kubeadm's set for 1.23.0, Calico v3.25.2, metrics-server v0.6.3), as synthetic images.</summary>
public static class DefaultSpecImages
{
    /// <summary>Compressed sizes in MB close to the real images', for benchmarks.</summary>
    private static readonly Dictionary<string, double> RealMegabytes = new(StringComparer.Ordinal)
    {
        ["kube-apiserver"] = 33,
        ["kube-controller-manager"] = 30,
        ["kube-scheduler"] = 15,
        ["kube-proxy"] = 39,
        ["pause"] = 0.3,
        ["etcd"] = 99,
        ["coredns"] = 14,
        ["node"] = 88,
        ["cni"] = 88,
        ["kube-controllers"] = 31,
        ["metrics-server"] = 28,
    };

    public static IReadOnlyList<string> Names()
    {
        var spec = BundleSpecLoader.LoadEmbedded("1.23.0");
        return
        [
            .. KubeadmImages.List("1.23.0", spec.ImageRepository),
            "docker.io/calico/cni:v3.25.2",
            "docker.io/calico/node:v3.25.2",
            "docker.io/calico/kube-controllers:v3.25.2",
            "registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3",
        ];
    }

    /// <summary>
    /// The images, small (a few KiB each, for tests and the demo) or sized like the real ones times
    /// <paramref name="scale"/> (for benchmarks). Kubernetes images share one base layer and Calico's
    /// another, as the real ones share theirs.
    /// </summary>
    public static IEnumerable<SyntheticImage> Make(double scale) => Make(Names(), scale);

    /// <summary>The named images (each name's last path segment one of the real images above) made as <see cref="Make(double)"/> makes the default spec's.</summary>
    public static IEnumerable<SyntheticImage> Make(IEnumerable<string> names, double scale)
    {
        // Sized for benchmarks: content compresses about 3:1, so 3x the real compressed size gives about the real one.
        var compressible = scale > 0;
        var k8sBase = SyntheticImages.Layer("distroless-base", scale > 0 ? (int)(3 * 2_000_000 * scale) : 48 * 1024, seed: 11, compressible);
        var calicoBase = SyntheticImages.Layer("calico-base", scale > 0 ? (int)(3 * 8_000_000 * scale) : 48 * 1024, seed: 12, compressible);
        foreach (var name in names)
        {
            var reference = ImageReference.Parse(name);
            var shortName = reference.Repository[(reference.Repository.LastIndexOf('/') + 1)..];
            var megabytes = RealMegabytes.TryGetValue(shortName, out var m) ? m : throw new ArgumentException($"no real size known for {name} (known: {string.Join(", ", RealMegabytes.Keys)})");
            var bytes = scale > 0 ? (int)(3 * megabytes * 1_000_000 * scale) : 16 * 1024;
            var baseLayer = reference.Repository.StartsWith("calico/", StringComparison.Ordinal) ? calicoBase : k8sBase;
            yield return SyntheticImages.Make(reference.Repository, reference.Tag!, "amd64", bytes, baseLayer, compressible);
        }
    }
}
