namespace OfflineKit.Rpm;

/// <summary>Where one repository's metadata files come from: a name, a location for messages, and an opener.</summary>
/// <param name="Name">The repository's name in the spec.</param>
/// <param name="Location">Its base URL or directory, for messages.</param>
/// <param name="Open">Opens a file of the repository by its href ("repodata/repomd.xml", "repodata/…-primary.xml.gz").</param>
public sealed record RpmRepoSource(string Name, string Location, Func<string, Stream> Open);

/// <summary>
/// Reads the metadata of a set of repositories the way the resolver needs it: repomd.xml, primary,
/// modules.yaml, and from filelists only the file paths some package of any of them requires.
/// Fetching stays behind <see cref="RpmRepoSource.Open"/> (a cache directory, HTTP, a test folder).
/// </summary>
public static class RpmRepoLoader
{
    public static List<RpmRepo> Load(IReadOnlyList<RpmRepoSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var t = Timing.Start();
        var loaded = new (RpmRepoSource Source, Repomd Repomd, List<RpmPackage> Packages, ModuleMetadata Modules, Dictionary<string, List<string>> Groups)[sources.Count];
        Run(sources.Count, i => loaded[i] = LoadOne(sources[i]));

        Timing.Mark("metadata parsed (all repos)", t);
        t = Timing.Start();
        // A file dependency primary does not cover (see FilelistsReader.PrimaryCovers) is looked up in filelists, and only it.
        var required = FilelistsReader.PathsOnlyFilelistsAnswer(loaded.SelectMany(l => l.Packages).ToList());

        var result = new RpmRepo[loaded.Length];
        Run(loaded.Length, i =>
        {
            var (source, repomd, packages, modules, groups) = loaded[i];
            var withFiles = packages;
            if (required.Count > 0 && repomd.Filelists is { } f)
            {
                using var stream = source.Open(f.Href);
                var files = FilelistsReader.Read(stream, f, source.Location + f.Href, required);
                withFiles = FilelistsReader.AddFiles(packages, files);
            }

            result[i] = new RpmRepo(source.Name, source.Location, withFiles, modules) { Groups = groups };
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

    private static (RpmRepoSource, Repomd, List<RpmPackage>, ModuleMetadata, Dictionary<string, List<string>>) LoadOne(RpmRepoSource s)
    {
        Repomd repomd;
        using (var stream = s.Open("repodata/repomd.xml"))
        {
            repomd = Repomd.Parse(stream, $"{s.Location}repodata/repomd.xml");
        }

        var primary = repomd.Primary ?? throw new OperationFailedException($"{s.Location}repodata/repomd.xml lists no primary metadata");
        List<RpmPackage> packages;
        var t = Timing.Start();
        using (var stream = s.Open(primary.Href))
        {
            packages = PrimaryReader.Read(stream, primary, s.Location + primary.Href, s.Name);
        }

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

        return (s, repomd, packages, modules, groups);
    }

    /// <summary>comps, compressed or not: repos publish "group_gz", "group_xz" or plain "group".</summary>
    public static RepomdRecord? GroupRecord(Repomd repomd) =>
        repomd.Find("group_gz") ?? repomd.Find("group_xz") ?? repomd.Find("group_zst") ?? repomd.Find("group");
}
