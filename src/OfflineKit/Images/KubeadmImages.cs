using OfflineKit.Spec;

namespace OfflineKit.Images;

/// <summary>
/// The images `kubeadm config images list --kubernetes-version vX [--image-repository R]` prints,
/// in kubeadm's order, computed from the version catalog instead of a kubeadm binary so that a
/// bundle can be planned on a machine without one.
/// </summary>
public static class KubeadmImages
{
    /// <summary>The image list for <paramref name="version"/> ("1.23.0" or "v1.23.0") from the built-in catalog.</summary>
    public static IReadOnlyList<string> List(string version, string? imageRepository = null) =>
        List(version, imageRepository, VersionCatalog.Embedded);

    public static IReadOnlyList<string> List(string version, string? imageRepository, VersionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!KubernetesVersion.TryParse(version, out var parsed))
        {
            throw new BadInputException(
                $"'{version}' is not a Kubernetes release version (expected MAJOR.MINOR.PATCH such as 1.23.0 or v1.23.0); " +
                $"supported are {catalog.SupportedRange}");
        }

        return List(catalog.Resolve(parsed), imageRepository);
    }

    /// <summary>The image list for a resolved release; an empty repository means kubeadm's default.</summary>
    public static IReadOnlyList<string> List(KubeadmRelease release, string? imageRepository)
    {
        ArgumentNullException.ThrowIfNull(release);
        var repository = string.IsNullOrEmpty(imageRepository) ? release.DefaultRegistry : imageRepository;
        return release.Order.Select(component => Image(component, release, repository)).ToList();
    }

    private static string Image(string component, KubeadmRelease release, string repository) => component switch
    {
        "pause" => $"{repository}/pause:{release.Pause}",
        "etcd" => $"{repository}/etcd:{release.Etcd}",

        // kubeadm's GetDNSImage: the official image moved to <default>/coredns/coredns, but mirrors
        // keep the flat name, so the extra segment goes in only when R is exactly that release's default.
        "coredns" => repository == release.DefaultRegistry
            ? $"{repository}/coredns/coredns:{release.CoreDns}"
            : $"{repository}/coredns:{release.CoreDns}",

        // The control plane and kube-proxy carry the Kubernetes version itself.
        _ => $"{repository}/{component}:{release.Version.Tag}",
    };
}
