namespace OfflineKit.Rpm;

/// <summary>Where one repository's metadata files come from: a name, a location for messages, and an opener.</summary>
/// <param name="Name">The repository's name in the spec.</param>
/// <param name="Location">Its base URL or directory, for messages.</param>
/// <param name="Open">Opens a file of the repository by its href ("repodata/repomd.xml", "repodata/…-primary.xml.gz").</param>
public sealed record RpmRepoSource(string Name, string Location, Func<string, Stream> Open);

/// <summary>
/// Reads the metadata of a set of repositories the way the resolver needs it: repomd.xml, primary,
/// modules.yaml, comps, and from filelists only the file paths some package of any of them requires
/// that primary cannot answer — at once (<see cref="Load"/>) or when the resolver finds it needs them
/// (<see cref="LoadPrimary"/>, then <see cref="AddFilelists"/>).
/// Fetching stays behind <see cref="RpmRepoSource.Open"/> (a cache directory, HTTP, a test folder).
/// </summary>
public static class RpmRepoLoader
{
    /// <summary>Every repository's metadata, filelists read for the paths only it answers (see <see cref="AddFilelists"/>).</summary>
    public static List<RpmRepo> Load(IReadOnlyList<RpmRepoSource> sources) => AddFilelists(LoadPrimary(sources), sources);

    /// <summary>
    /// Every repository's metadata without filelists (<see cref="RpmRepo.FilelistsRead"/> false): the
    /// resolver asks for them only when a dependency names a path primary cannot answer.
    /// </summary>
    public static List<RpmRepo> LoadPrimary(IReadOnlyList<RpmRepoSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var t = Timing.Start();
        var result = new RpmRepo[sources.Count];
        Run(sources.Count, i => result[i] = LoadPrimary(sources[i]));
        Timing.Mark("metadata parsed (all repos)", t);
        return [.. result];
    }

    /// <summary>
    /// The repositories with what filelists adds for the file paths a dependency names and primary
    /// does not cover (see <see cref="FilelistsReader.PathsOnlyFilelistsAnswer"/>), and only those.
    /// <paramref name="sources"/> are the repositories' sources, in the same order.
    /// </summary>
    public static List<RpmRepo> AddFilelists(IReadOnlyList<RpmRepo> repos, IReadOnlyList<RpmRepoSource> sources)
    {
        ArgumentNullException.ThrowIfNull(repos);
        ArgumentNullException.ThrowIfNull(sources);
        var t = Timing.Start();
        var required = FilelistsReader.PathsOnlyFilelistsAnswer(repos.SelectMany(r => r.Packages).ToList());
        var result = new RpmRepo[repos.Count];
        Run(repos.Count, i =>
        {
            var repo = repos[i];
            var withFiles = repo.Packages;
            if (required.Count > 0 && !repo.FilelistsRead)
            {
                var source = sources[i];
                Repomd repomd;
                using (var stream = source.Open("repodata/repomd.xml"))
                {
                    repomd = Repomd.Parse(stream, $"{source.Location}repodata/repomd.xml");
                }

                if (repomd.Filelists is { } f)
                {
                    using var stream = source.Open(f.Href);
                    var files = FilelistsReader.Read(stream, f, source.Location + f.Href, required);
                    withFiles = FilelistsReader.AddFiles(repo.Packages, files);
                }
            }

            result[i] = repo with { Packages = withFiles, FilelistsRead = true };
        });

        Timing.Mark($"filelists ({required.Count} paths wanted)", t);
        return [.. result];
    }

    // Each repository on its own core: parsing is most of the time and they share nothing. The
    // first failure is thrown as a sequential run would have thrown it.
    private static void Run(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>One repository's metadata without filelists (see <see cref="LoadPrimary(IReadOnlyList{RpmRepoSource})"/>).</summary>
    public static RpmRepo LoadPrimary(RpmRepoSource s)
    {
        ArgumentNullException.ThrowIfNull(s);
        Repomd repomd;
        using (var stream = s.Open("repodata/repomd.xml"))
        {
            repomd = Repomd.Parse(stream, $"{s.Location}repodata/repomd.xml");
        }

        var primary = repomd.Primary ?? throw new OperationFailedException($"{s.Location}repodata/repomd.xml lists no primary metadata");
        List<RpmPackage> packages;
        var t = Timing.Start();
        packages = PrimaryReader.Read(() => s.Open(primary.Href), primary, s.Location + primary.Href, s.Name, PrimaryWorkers);

        Timing.Mark($"primary of {s.Name}: {packages.Count} packages", t);

        var modules = ModuleMetadata.Empty;
        if (repomd.Modules is { } m)
        {
            using var stream = s.Open(m.Href);
            modules = ModuleMetadata.Read(stream, m, s.Location + m.Href);
        }

        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (GroupRecord(repomd) is { } g)
        {
            using var stream = s.Open(g.Href);
            groups = MetadataFile.Read(stream, g, s.Location + g.Href, CompsReader.Read);
        }

        return new RpmRepo(s.Name, s.Location, packages, modules) { Groups = groups, FilelistsRead = false };
    }

    // Threads reading one big primary (AppStream's is ~100 MB of XML): the machine's cores, up to four.
    private static readonly int PrimaryWorkers = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>comps, compressed or not: repos publish "group_gz", "group_xz" or plain "group".</summary>
    public static RepomdRecord? GroupRecord(Repomd repomd) =>
        repomd.Find("group_gz") ?? repomd.Find("group_xz") ?? repomd.Find("group_zst") ?? repomd.Find("group");
}
