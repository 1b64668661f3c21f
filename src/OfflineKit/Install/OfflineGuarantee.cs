using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;
using OfflineKit.Manifests;

namespace OfflineKit.Install;

/// <summary>
/// The offline guarantee: before kubeadm runs on a host, every image it will need is already in the
/// host's runtime (kubeadm's exact list for the version and imageRepository, every image of the bundle's
/// manifests, the sandbox image), and containerd's configured sandbox image is exactly kubeadm's pause
/// image. A missing one fails the step naming it, so no host ever reaches for the internet.
/// </summary>
public static class OfflineGuarantee
{
    /// <summary>Images only the control plane runs (kubeadm's static pods); every other image goes to every node.</summary>
    private static readonly string[] ControlPlaneOnly = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"];

    /// <summary>What <paramref name="kind"/> of host needs present, sorted, each once: kubeadm's images for it and those of the manifests the site applies.</summary>
    public static IReadOnlyList<string> RequiredImages(BundleContents bundle, KubeadmOptions kubeadm, HostKind kind, IReadOnlyList<(string Path, string? Text)> manifests)
    {
        IEnumerable<string> kubeadmImages;
        try
        {
            kubeadmImages = KubeadmImages.List(kubeadm.Version.ToString(), kubeadm.ImageRepository);
        }
        catch (BadInputException)
        {
            // A version the embedded catalog does not know: the bundle's own images under the repository stand in for kubeadm's list.
            kubeadmImages = bundle.Artifacts.Where(a => a.Kind == ArtifactKind.Image && a.Name.StartsWith(kubeadm.ImageRepository + "/", StringComparison.Ordinal)).Select(a => a.Name);
        }

        var images = kubeadmImages.Where(i => kind != HostKind.Worker || !ControlPlaneOnly.Contains(Component(i), StringComparer.Ordinal)).ToList();
        foreach (var (path, text) in manifests.Where(m => m.Text is not null))
        {
            images.AddRange(ImageExtractor.Extract(YamlManifest.Parse(text!, path)).Select(i => i.ToString()));
        }

        return [.. images.Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>kubeadm's pause image for these options: the sandbox image the kubelet and containerd must agree on.</summary>
    public static string? PauseImage(IEnumerable<string> images) => images.FirstOrDefault(i => Component(i) == "pause");

    private static string Component(string image)
    {
        var name = image.Split(':')[0];
        if (image.LastIndexOf(':') > image.LastIndexOf('/'))
        {
            name = image[..image.LastIndexOf(':')];
        }

        return name[(name.LastIndexOf('/') + 1)..];
    }
}

/// <summary>
/// The offline guarantee on one host (<see cref="OfflineGuarantee"/>): <see cref="Check"/> prints
/// "present NAME" or "missing NAME" per image; <see cref="ShowRuntimeConfig"/>, for containerd, prints
/// the config.toml whose sandbox image must be <see cref="SandboxImage"/>.
/// </summary>
public sealed record ProveImagesPresent(RemoteCommand Check, IReadOnlyList<string> Images, string SandboxImage, RemoteCommand? ShowRuntimeConfig) : HostAction
{
    public override IEnumerable<string> Describe(InventoryHost host) =>
    [
        $"offline guarantee: these {Images.Count} images must be in the runtime already, or the step fails naming them (no host reaches for the internet):",
        .. Images.Select(i => "  - " + i),
        $"$ {Check.Script.Split(" --check ")[0]} --check IMAGE...",
        .. ShowRuntimeConfig is null
            ? [$"  sandbox image: {SandboxImage} (kubeadm's pause image)"]
            : new[] { $"$ {ShowRuntimeConfig.Script}   # the sandbox image containerd is configured with must be {SandboxImage}" },
    ];
}
