using System.Globalization;

namespace OfflineKit.Rpm;

/// <summary>A checksum as repodata gives it: the algorithm (sha256, sha1, sha512, …) and lower-case hex.</summary>
public sealed record RpmChecksum(string Type, string Value)
{
    public override string ToString() => $"{Type}:{Value}";
}

/// <summary>One package of a repository's primary metadata. Compared by reference: the resolver keeps sets of them.</summary>
public sealed class RpmPackage
{
    public required string Name { get; init; }

    public required string Arch { get; init; }

    public required Evr Evr { get; init; }

    /// <summary>The package file's checksum; its value is also the pkgid that filelists refer to.</summary>
    public RpmChecksum? Checksum { get; init; }

    /// <summary>The package file relative to the repository (or to <see cref="LocationBase"/>).</summary>
    public string LocationHref { get; init; } = string.Empty;

    /// <summary>The <c>xml:base</c> of the location, when the files live elsewhere than the metadata.</summary>
    public string? LocationBase { get; init; }

    /// <summary>Size of the .rpm file in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The repository it came from (its name in the spec).</summary>
    public string Repo { get; init; } = string.Empty;

    public IReadOnlyList<RpmDependency> Provides { get; init; } = [];

    /// <summary>Requires, the <c>pre="1"</c> ones (Requires(pre)) included.</summary>
    public IReadOnlyList<RpmDependency> Requires { get; init; } = [];

    public IReadOnlyList<RpmDependency> Conflicts { get; init; } = [];

    public IReadOnlyList<RpmDependency> Obsoletes { get; init; } = [];

    public IReadOnlyList<RpmDependency> Recommends { get; init; } = [];

    /// <summary>
    /// File paths the metadata lists: primary's subset (/etc/*, *bin/*, /usr/lib/sendmail), plus
    /// what filelists added for the paths someone requires.
    /// </summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>name-epoch:version-release.arch, as <c>dnf repoquery</c> prints it (epoch always printed).</summary>
    public string Nevra => $"{Name}-{Evr.Epoch.ToString(CultureInfo.InvariantCulture)}:{Evr.Version}-{Evr.Release}.{Arch}";

    public override string ToString() => Nevra;

    /// <summary>The same package with another file list (primary's plus what filelists adds).</summary>
    public RpmPackage WithFiles(IReadOnlyList<string> files) => new()
    {
        Name = Name,
        Arch = Arch,
        Evr = Evr,
        Checksum = Checksum,
        LocationHref = LocationHref,
        LocationBase = LocationBase,
        Size = Size,
        Repo = Repo,
        Provides = Provides,
        Requires = Requires,
        Conflicts = Conflicts,
        Obsoletes = Obsoletes,
        Recommends = Recommends,
        Files = files,
    };
}
