using OfflineKit.Bundle;
using OfflineKit.Spec;

namespace OfflineKit.Build;

/// <summary>The parts of a bundle that `build --without` can leave out.</summary>
public enum BuildStage
{
    Images,
    Rpms,
    Manifests,

    /// <summary>The self-contained offlinekit under bin/ (the air-gapped side has no .NET).</summary>
    Bin,
}

public enum ImageSource
{
    Registry,
    Docker,
}

/// <summary>One build, fully described: the spec after --os/--arch, where bytes come from, where the bundle goes.</summary>
public sealed record BuildOptions(BundleSpec Spec, MirrorConfig Mirrors, string OutputDirectory)
{
    public BundleFormat Format { get; init; } = BundleFormat.Tar;

    public IReadOnlySet<BuildStage> Without { get; init; } = new HashSet<BuildStage>();

    public string? CacheDirectory { get; init; }

    /// <summary>Docker's config.json with registry credentials (default ~/.docker/config.json).</summary>
    public string? DockerConfig { get; init; }

    public int Parallel { get; init; } = 4;

    public ImageSource ImageSource { get; init; } = ImageSource.Registry;

    /// <summary>Told what the build finds questionable but carries on with (a warning a line).</summary>
    public IProgress<string>? Warnings { get; init; }

    /// <summary>Where self-contained offlinekit binaries are found (make publish's dist/), tried first.</summary>
    public string? DistDirectory { get; init; }

    /// <summary>`build --lock`: fetch exactly what this lock pins (by digest), failing on anything not to be had at it.</summary>
    public Trust.BundleLock? Lock { get; init; }

    /// <summary>Where <see cref="Lock"/> came from, for messages.</summary>
    public string? LockSource { get; init; }

    /// <summary>`build --sign-key`: signs bundle.json, writing bundle.json.sig (see Trust.BundleSignature).</summary>
    public System.Security.Cryptography.ECDsa? SignKey { get; init; }
}
