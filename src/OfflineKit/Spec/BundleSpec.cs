using OfflineKit.Images;
using System.Net;
using System.Text.Json.Nodes;
using NuGet.Versioning;

namespace OfflineKit.Spec;

/// <summary>What goes into a bundle: the Kubernetes version, images, RPMs, addons, cluster defaults.</summary>
public sealed record BundleSpec(
    string Name,
    SemanticVersion Version,
    KubernetesVersion Kubernetes,
    string ImageRepository,
    TargetPlatform Target,
    RpmSpec Rpm,
    IReadOnlyList<AddonSpec> Addons,
    ClusterDefaults Cluster,
    JsonObject DockerDaemon,
    string SourceFile)
{
    /// <summary>The container runtime the cluster runs; a spec without `runtime:` is the guide's docker.</summary>
    public ContainerRuntime Runtime { get; init; } = ContainerRuntime.Docker;

    /// <summary>The version catalog revision this spec was derived from; null for a hand-written spec.</summary>
    public string? CatalogRevision { get; init; }

    /// <summary>
    /// Images the bundle carries beyond kubeadm's and the addons' (spec key <c>images:</c>): what a site's
    /// depot runs (`build --with depot`), or the site's own. They go to every node's part (images/common.tar).
    /// </summary>
    public IReadOnlyList<ImageReference> Images { get; init; } = [];
}

/// <summary>The container runtime a bundle is built for; its name is what bundle.json and the spec say.</summary>
public enum ContainerRuntime
{
    Docker,
    Containerd,
}

public static class ContainerRuntimes
{
    public static string Name(this ContainerRuntime runtime) => runtime == ContainerRuntime.Containerd ? "containerd" : "docker";

    public static ContainerRuntime Parse(string text) => text switch
    {
        "docker" => ContainerRuntime.Docker,
        "containerd" => ContainerRuntime.Containerd,
        _ => throw new FormatException($"unknown runtime '{text}' (expected containerd or docker)"),
    };
}

public enum TargetOs
{
    El7,
    El8,
    El9,
}

public enum TargetArch
{
    Amd64,
    Arm64,
}

public sealed record TargetPlatform(TargetOs Os, TargetArch Arch)
{
    public string OsName => Os switch { TargetOs.El7 => "el7", TargetOs.El9 => "el9", _ => "el8" };

    /// <summary>yum's $releasever for this OS release.</summary>
    public string ReleaseVersion => Os switch { TargetOs.El7 => "7", TargetOs.El9 => "9", _ => "8" };

    public string ArchName => Arch switch { TargetArch.Arm64 => "arm64", _ => "amd64" };

    /// <summary>The RPM architecture (yum's $basearch).</summary>
    public string RpmArch => Arch switch { TargetArch.Arm64 => "aarch64", _ => "x86_64" };

    /// <summary>The .NET runtime identifier of a self-contained offlinekit for this platform.</summary>
    public string RuntimeIdentifier => Arch switch { TargetArch.Arm64 => "linux-arm64", _ => "linux-x64" };

    public static TargetOs ParseOs(string text) => text switch
    {
        "el7" => TargetOs.El7,
        "el8" => TargetOs.El8,
        "el9" => TargetOs.El9,
        _ => throw new FormatException($"unknown os '{text}' (expected el8 or el9)"),
    };

    public static TargetArch ParseArch(string text) => text switch
    {
        "amd64" or "x86_64" => TargetArch.Amd64,
        "arm64" or "aarch64" => TargetArch.Arm64,
        _ => throw new FormatException($"unknown arch '{text}' (expected amd64 or arm64)"),
    };
}

/// <summary>A Kubernetes release version; accepts "1.23.0" and "v1.23.0".</summary>
public sealed record KubernetesVersion(int Major, int Minor, int Patch) : IComparable<KubernetesVersion>
{
    public static KubernetesVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException(
            $"'{text}' is not a Kubernetes release version (expected MAJOR.MINOR.PATCH such as 1.23.0 or v1.23.0)");

    public static bool TryParse(string? text, out KubernetesVersion version)
    {
        version = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim();
        if (t.StartsWith('v'))
        {
            t = t[1..];
        }

        var parts = t.Split('.');
        if (parts.Length != 3 || !parts.All(p => p.Length is > 0 and < 6 && p.All(char.IsAsciiDigit)))
        {
            return false;
        }

        version = new KubernetesVersion(int.Parse(parts[0]), int.Parse(parts[1]), int.Parse(parts[2]));
        return true;
    }

    /// <summary>"1.23.0", as the RPMs and file names spell it.</summary>
    public override string ToString() => $"{Major}.{Minor}.{Patch}";

    /// <summary>"v1.23.0", as image tags and kubeadm spell it.</summary>
    public string Tag => $"v{this}";

    public int CompareTo(KubernetesVersion? other) =>
        other is null ? 1 : (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public static bool operator <(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) < 0;

    public static bool operator <=(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) > 0;

    public static bool operator >=(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) >= 0;
}

public sealed record RpmRepository(string Name, Uri BaseUrl, IReadOnlyList<Uri> GpgKeys);

public sealed record RpmSpec(
    IReadOnlyList<RpmRepository> Repositories,
    IReadOnlyList<string> Packages,
    IReadOnlyList<string> Baseline);

public sealed record AddonSpec(string Name, string Version, Uri Url, IReadOnlyList<ManifestPatch> Patches);

public enum ManifestPatchOp
{
    /// <summary>Set (or add) an environment variable of a container.</summary>
    SetEnv,

    /// <summary>Append an argument to a container's args unless it is there already.</summary>
    AddArg,

    /// <summary>Replace a container's image.</summary>
    SetImage,
}

/// <summary>A structural change to one container of an addon's manifest.</summary>
public sealed record ManifestPatch(ManifestPatchOp Op, string Container, string? Name, string Value);

public sealed record ClusterDefaults(IPNetwork PodSubnet, IPNetwork ServiceSubnet, string DnsDomain);
