namespace OfflineKit.Rpm;

/// <summary>A repository's parsed metadata: what the resolver searches.</summary>
/// <param name="Name">The repository's name in the spec (stamped on its packages).</param>
/// <param name="Location">Where it was read from, for messages (its base URL).</param>
public sealed record RpmRepo(string Name, string Location, IReadOnlyList<RpmPackage> Packages, ModuleMetadata Modules)
{
    public RpmRepo(string name, string location, IReadOnlyList<RpmPackage> packages)
        : this(name, location, packages, ModuleMetadata.Empty)
    {
    }

    /// <summary>comps groups (id to the packages a group installs by default), for a spec's baseline.</summary>
    public IReadOnlyDictionary<string, List<string>> Groups { get; init; } = new Dictionary<string, List<string>>();

    /// <summary>
    /// Whether <see cref="RpmPackage.Files"/> already hold what filelists adds for the paths only it
    /// answers; false when only primary was read (the resolver then says when it needs filelists).
    /// </summary>
    public bool FilelistsRead { get; init; } = true;

    public override string ToString() => $"{Name} ({Location})";
}
