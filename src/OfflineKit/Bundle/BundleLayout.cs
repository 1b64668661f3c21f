using OfflineKit.Spec;

namespace OfflineKit.Bundle;

/// <summary>Bundle format v1: every name and constant of the layout, in one place.</summary>
public static class BundleLayout
{
    public const int SchemaVersion = 1;

    public const string ManifestFile = "bundle.json";
    public const string SumsFile = "SHA256SUMS";

    /// <summary>
    /// The optional signature over bundle.json (base64 DER ECDSA P-256, cosign sign-blob's format):
    /// the one file SHA256SUMS and bundle.json do not list, since it signs bundle.json itself.
    /// </summary>
    public const string SignatureFile = "bundle.json.sig";

    /// <summary>The bill of materials, CycloneDX 1.6 JSON; listed like any file.</summary>
    public const string SbomFile = "sbom.cdx.json";

    /// <summary>NAME.lock.json: every resolved input by digest; `build --lock` rebuilds the bundle from it.</summary>
    public static string LockFile(string bundleName) => bundleName + ".lock.json";

    /// <summary>
    /// Files written right after bundle.json, its signature and SHA256SUMS, so inspect and diff find
    /// them reading only the head of a tarball.
    /// </summary>
    public static bool IsHeadFile(string path) =>
        path == SbomFile || (path.EndsWith(".lock.json", StringComparison.Ordinal) && !path.Contains('/', StringComparison.Ordinal));

    public const string ImagesDir = "images";
    public const string RpmsDir = "rpms";
    public const string ManifestsDir = "manifests";
    public const string ScriptsDir = "scripts";
    public const string BinDir = "bin";

    public const string VerifyScript = "scripts/verify.sh";
    public const string ImportImagesScript = "scripts/import-images.sh";
    public const string InstallPackagesScript = "scripts/install-packages.sh";
    public const string PrepareHostScript = "scripts/prepare-host.sh";
    public const string ConfigureRuntimeScript = "scripts/configure-runtime.sh";
    public const string PreflightScript = "scripts/preflight.sh";
    public const string InitControlPlaneScript = "scripts/init-control-plane.sh";
    public const string JoinNodeScript = "scripts/join-node.sh";
    public const string ApplyManifestsScript = "scripts/apply-manifests.sh";
    public const string ConfigureTimeScript = "scripts/configure-time.sh";
    public const string ConfigureLoadBalancerScript = "scripts/configure-load-balancer.sh";

    /// <summary>Site mode: the depot serves the bundle with nginx and its images with a registry (see SiteSupply).</summary>
    public const string ServeDepotScript = "scripts/serve-depot.sh";

    /// <summary>Not in the bundle: `offlinekit reset` sends it from the binary, so it works on a host whose bundle is gone.</summary>
    public const string ResetHostScript = "reset-host.sh";

    /// <summary>What install-packages.sh installs: the requested package specs (kubelet-1.23.0, …), one a line.</summary>
    public const string PackagesList = "rpms/packages.txt";

    /// <summary>The repos' GPG public keys, *.gpg; install-packages.sh sets gpgcheck=1 when there is one.</summary>
    public const string RpmKeysDir = "rpms/keys";

    /// <summary>The bundle's repo file for /etc/yum.repos.d (install-packages.sh writes one for wherever the bundle lies).</summary>
    public const string RpmRepoFile = "rpms/offlinekit.repo";

    public const string Binary = "bin/offlinekit";

    /// <summary>Suffix of the file beside the tarball that covers it whole (sha256sum format).</summary>
    public const string TarballChecksumSuffix = ".sha256";

    /// <summary>
    /// Every entry's mtime: the same inputs give a byte-identical tarball. Not the epoch itself,
    /// which some tar versions warn about as implausibly old.
    /// </summary>
    public static readonly DateTimeOffset FixedMtime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public const int FileMode = 0b110_100_100; // 0644
    public const int ExecutableMode = 0b111_101_101; // 0755

    /// <summary>
    /// offlinekit-k8s-1.23.0-el8-amd64: the tarball's name and its one top folder. A runtime other than
    /// the version's default (the version catalog's first; docker where the catalog has no entry) is
    /// named too, so two bundles of one version never share a file: offlinekit-k8s-1.23.0-el8-amd64-containerd.
    /// </summary>
    public static string BundleName(KubernetesVersion kubernetes, TargetPlatform target, ContainerRuntime runtime)
    {
        var name = $"offlinekit-k8s-{kubernetes}-{target.OsName}-{target.ArchName}";
        var standard = OfflineKit.Catalog.ReleaseCatalog.Embedded.MinorOf(kubernetes)?.Runtimes[0] ?? ContainerRuntime.Docker;
        return runtime == standard ? name : $"{name}-{runtime.Name()}";
    }

    public static string Extension(BundleFormat format) => format switch
    {
        BundleFormat.TarGz => ".tar.gz",
        BundleFormat.TarZst => ".tar.zst",
        _ => ".tar",
    };

    public static BundleFormat ParseFormat(string text) => text switch
    {
        "tar" => BundleFormat.Tar,
        "tar.gz" or "tgz" => BundleFormat.TarGz,
        "tar.zst" => BundleFormat.TarZst,
        _ => throw new BadInputException($"--format {text}: expected tar, tar.gz or tar.zst"),
    };

    /// <summary>
    /// A path inside the bundle as SHA256SUMS and bundle.json spell it: relative, '/'-separated,
    /// no '.', '..' or empty segments, and nothing sha256sum would have to escape.
    /// </summary>
    public static bool IsValidRelativePath(string path) =>
        path.Length is > 0 and <= MaxPathLength
        && !path.StartsWith('/')
        && !path.Contains('\\')
        && !path.Contains('\uFFFD')
        && !path.Any(char.IsControl)
        && path.Split('/').All(s => s.Length > 0 && s != "." && s != "..");

    public const int MaxPathLength = 1024;

    public const int MaxNameLength = 128;

    /// <summary>
    /// A bundle's name (bundle.json's name, the tarball's top folder, a part of host paths): one plain
    /// path segment, offlinekit-k8s-1.23.0-el8-amd64.
    /// </summary>
    public static bool IsValidBundleName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength }
        && name[0] is not ('.' or '-')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-');
}

public enum BundleFormat
{
    Tar,
    TarGz,
    TarZst,
}
