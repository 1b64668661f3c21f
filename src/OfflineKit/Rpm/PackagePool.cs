using OfflineKit.Spec;

namespace OfflineKit.Rpm;

/// <summary>
/// The packages the resolver may choose from, with the indexes that keep it fast: by name, by
/// provide name, by file path. Ineligible packages (other arch, a module stream that is neither
/// default nor enabled) are kept aside only to explain a failure.
/// </summary>
internal sealed class PackagePool
{
    private static readonly IReadOnlyList<RpmPackage> None = [];
    private static readonly IReadOnlyList<(RpmPackage, RpmDependency)> NoProvides = [];

    private readonly ChainIndex<RpmPackage> _byName;

    // The provides of consecutive runs of the eligible packages, indexed on the cores at once; a name's
    // providers are each run's in turn (pool order), put together when the resolver first asks.
    private readonly ProvideIndex[] _provides;
    private readonly Dictionary<string, IReadOnlyList<(RpmPackage Package, RpmDependency Provide)>> _providesOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<RpmPackage>> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dependedPaths;
    private readonly List<RpmPackage> _eligible;
    private readonly Dictionary<RpmPackage, int> _repoOrder;

    // The same requirement (libc.so.6()(64bit), /bin/sh) comes from hundreds of packages, and its
    // providers never change: the pool is fixed once built.
    private readonly Dictionary<RpmDependency, List<RpmPackage>> _providersCache = [];

    // Repositories read without filelists: a depended path only filelists answers, once looked up,
    // makes the pool's answers incomplete (FilelistsWanted); the paths already judged.
    private readonly bool _filelistsMissing;
    private readonly HashSet<string> _judgedPaths = new(StringComparer.Ordinal);

    /// <param name="indexRuns">How many runs the provides are indexed in (default: one per core, up to four).</param>
    public PackagePool(IReadOnlyList<RpmRepo> repos, ResolveOptions options, int? indexRuns = null)
    {
        Repos = repos;
        NativeArch = options.Arch == TargetArch.Arm64 ? "aarch64" : "x86_64";
        var modules = new ModuleFilter(repos, options.EnabledModules, NativeArch);
        _filelistsMissing = repos.Any(r => !r.FilelistsRead);

        // Sized for every package up front: no rehashing while they are added.
        var total = 0;
        foreach (var repo in repos)
        {
            total += repo.Packages.Count;
        }

        _byName = new(total);
        _eligible = new(total);
        _repoOrder = new(total);
        for (var r = 0; r < repos.Count; r++)
        {
            foreach (var p in repos[r].Packages)
            {
                if (p.Arch != NativeArch && p.Arch != "noarch")
                {
                    Excluded[p] = $"its arch {p.Arch} is not {NativeArch} or noarch";
                    continue;
                }

                if (modules.ExclusionReason(p) is { } why)
                {
                    Excluded[p] = why;
                    continue;
                }

                _repoOrder[p] = r;
                _eligible.Add(p);
            }
        }

        // The indexes on every core: a full EL set has ~10,000 packages and ~110,000 provides, and
        // building them one after the other was most of the time between the last metadata read and
        // the resolution (each index's memory is fresh, and under a hypervisor every new page faults).
        var runs = Math.Max(1, indexRuns ?? Math.Clamp(Environment.ProcessorCount, 1, 4));
        _provides = new ProvideIndex[runs];
        HashSet<string> depended = [];
        var build = new List<Action>(runs + 1)
        {
            // Only the paths some dependency names are indexed: primary lists ~40 files a package, and a
            // path nothing requires is looked up (by a request) far more rarely than it would be indexed.
            () =>
            {
                depended = FilelistsReader.RequiredPaths(repos.SelectMany(r => r.Packages));
                var lookup = new PathLookup(depended);
                foreach (var p in _eligible)
                {
                    _byName.Add(p.Name, p);
                    IndexFiles(p, depended, lookup);
                }
            },
        };
        for (var i = 0; i < runs; i++)
        {
            var (from, to) = (_eligible.Count * i / runs, _eligible.Count * (i + 1) / runs);
            var run = i;
            build.Add(() => _provides[run] = new ProvideIndex(_eligible, from, to));
        }

        try
        {
            Parallel.Invoke([.. build]);
        }
        catch (AggregateException e)
        {
            // What the serial build threw (a malformed rich dependency), as itself.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        _dependedPaths = depended;
    }

    public IReadOnlyList<RpmRepo> Repos { get; }

    public string NativeArch { get; }

    /// <summary>Packages no choice may take, and why (for error messages).</summary>
    public Dictionary<RpmPackage, string> Excluded { get; } = [];

    /// <summary>
    /// Whether some answer so far involved a file path only filelists answers (a dependency names it,
    /// primary does not cover it, no package's primary lists it) while some repository was read
    /// without filelists: then the answers may be incomplete, and the resolution must be redone with
    /// filelists read (<see cref="RpmRepoLoader.AddFilelists"/>). Until then, every answer is the one
    /// a pool with filelists read would give.
    /// </summary>
    public bool FilelistsWanted { get; private set; }

    public IReadOnlyList<RpmPackage> ByName(string name) => _byName.Get(name) ?? None;

    public IReadOnlyList<(RpmPackage Package, RpmDependency Provide)> ProvidesNamed(string name)
    {
        if (_providesOf.TryGetValue(name, out var known))
        {
            return known;
        }

        List<(RpmPackage, RpmDependency)>? found = null;
        foreach (var run in _provides)
        {
            run.AppendTo(name, ref found);
        }

        IReadOnlyList<(RpmPackage, RpmDependency)> list = found is null ? NoProvides : found;
        _providesOf[name] = list;
        return list;
    }

    public IReadOnlyList<RpmPackage> OwnersOf(string path)
    {
        Judge(path);
        if (_files.TryGetValue(path, out var list))
        {
            return list;
        }

        if (_dependedPaths.Contains(path))
        {
            return None;
        }

        // A path no dependency names (a request for a file): found once by going through every package.
        list = [.. _eligible.Where(p => p.Files.Contains(path))];
        _files[path] = list;
        return list;
    }

    public int RepoOrder(RpmPackage p) => _repoOrder[p];

    /// <summary>Every eligible package that satisfies <paramref name="dep"/>: by provides, and by files for a path.</summary>
    public IReadOnlyList<RpmPackage> Providers(RpmDependency dep)
    {
        if (!_providersCache.TryGetValue(dep, out var cached))
        {
            _providersCache[dep] = cached = FindProviders(dep);
        }

        return cached;
    }

    private List<RpmPackage> FindProviders(RpmDependency dep)
    {
        var result = new List<RpmPackage>();
        foreach (var (p, provide) in ProvidesNamed(dep.Name))
        {
            if (dep.IsSatisfiedBy(provide) && !result.Contains(p))
            {
                result.Add(p);
            }
        }

        if (dep.IsFile)
        {
            foreach (var p in OwnersOf(dep.Name))
            {
                if (!result.Contains(p))
                {
                    result.Add(p);
                }
            }
        }

        return result;
    }

    /// <summary>Whether <paramref name="p"/> itself satisfies <paramref name="dep"/> (provides or owns it).</summary>
    public bool Satisfies(RpmPackage p, RpmDependency dep)
    {
        if (dep.IsFile)
        {
            Judge(dep.Name);
        }

        if (string.Equals(p.Name, dep.Name, StringComparison.Ordinal) && dep.IsSatisfiedBy(p.Evr))
        {
            return true;
        }

        foreach (var provide in p.Provides)
        {
            if (dep.IsSatisfiedBy(provide))
            {
                return true;
            }
        }

        return dep.IsFile && p.Files.Contains(dep.Name);
    }

    // The paths filelists would be read for (FilelistsReader.PathsOnlyFilelistsAnswer): depended,
    // not covered by primary, listed by no package's primary entry (eligible or not).
    private void Judge(string path)
    {
        if (!_filelistsMissing || FilelistsWanted || !_judgedPaths.Add(path))
        {
            return;
        }

        FilelistsWanted = _dependedPaths.Contains(path)
            && !FilelistsReader.PrimaryCovers(path)
            && !_files.ContainsKey(path)
            && !Excluded.Keys.Any(p => p.Files.Contains(path));
    }

    private void IndexFiles(RpmPackage p, HashSet<string> depended, PathLookup lookup)
    {
        if (p.Files is PackedPaths packed)
        {
            // Looked up as spans: only the few depended paths become strings (the set's own).
            foreach (var f in packed.Segments)
            {
                if (lookup.Find(f) is { } path)
                {
                    AddOwner(path, p);
                }
            }

            return;
        }

        foreach (var f in p.Files)
        {
            if (depended.Contains(f))
            {
                AddOwner(f, p);
            }
        }
    }

    private void AddOwner(string path, RpmPackage p)
    {
        var owners = AddTo(_files, path, p);
        // A file listed twice (primary and filelists) must not make the package its owner twice.
        if (owners.Count > 1 && ReferenceEquals(owners[^2], p))
        {
            owners.RemoveAt(owners.Count - 1);
        }
    }

    /// <summary>
    /// A fixed set of paths looked up by their UTF-8 bytes, as <see cref="PackedPaths"/> holds them: no
    /// path of a package is decoded unless it is one of these.
    /// </summary>
    private sealed class PathLookup
    {
        private readonly string[] _paths;
        private readonly byte[][] _utf8;
        private readonly int[] _buckets; // index + 1 into _paths; 0 = empty
        private readonly int[] _next;    // index + 1 of the next path in the same bucket

        public PathLookup(IReadOnlyCollection<string> paths)
        {
            _paths = [.. paths];
            _utf8 = [.. _paths.Select(System.Text.Encoding.UTF8.GetBytes)];
            _buckets = new int[Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_paths.Length * 2))];
            _next = new int[_paths.Length];
            for (var i = 0; i < _paths.Length; i++)
            {
                ref var bucket = ref _buckets[Bucket(_utf8[i])];
                _next[i] = bucket;
                bucket = i + 1;
            }
        }

        public string? Find(ReadOnlySpan<byte> path)
        {
            for (var i = _buckets[Bucket(path)]; i > 0; i = _next[i - 1])
            {
                if (path.SequenceEqual(_utf8[i - 1]))
                {
                    return _paths[i - 1];
                }
            }

            return null;
        }

        private int Bucket(ReadOnlySpan<byte> path) => Utf8Hash(path) & (_buckets.Length - 1);
    }

    /// <summary>
    /// The provides of a run of the pool's packages, by name, in one flat table: per provide 12 bytes
    /// (the chain's next, the package, and where the provide starts in the package's
    /// <see cref="DependencyBlob"/>) and a share of a bucket. Indexed from the blobs' bytes: no provide is decoded
    /// until the resolver asks for its name (a 30,000-package set has ~330,000 provides, nearly each under
    /// a name of its own; the resolver asks for a few hundred). Every package provides its own name at
    /// its EVR, whether or not the metadata says so (a provide at offset -1, made when asked for).
    /// </summary>
    private sealed class ProvideIndex
    {
        private readonly List<RpmPackage> _packages;
        private readonly int[] _buckets; // index + 1 of the bucket's last entry; 0 = empty
        private readonly Entry[] _entries;

        public ProvideIndex(List<RpmPackage> packages, int from, int to)
        {
            _packages = packages;
            var total = 0;
            for (var i = from; i < to; i++)
            {
                total += DependencyBlob.Count(packages[i].Dependencies, DependencyBlob.ProvidesList) + 1;
            }

            _entries = new Entry[total];
            // A bucket for every two to four provides: the resolver looks up a few hundred names, and a
            // chain a few entries long costs those lookups nothing measurable.
            _buckets = new int[Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)total) / 4)];
            var count = 0;
            var own = new byte[256];
            for (var i = from; i < to; i++)
            {
                var p = packages[i];
                var blob = p.Dependencies;
                var ownName = Utf8(p.Name, ref own);
                var hasSelf = false;
                foreach (var e in DependencyBlob.Entries(blob, DependencyBlob.ProvidesList))
                {
                    hasSelf = hasSelf || (e.Relation == DepRelation.Eq && e.Name.SequenceEqual(ownName)
                        && (e.OwnEvr || DependencyBlob.DecodeAt(blob, e.Offset, p.Evr).Evr == p.Evr));
                    Add(ref count, Utf8Hash(e.Name), i, e.Offset);
                }

                if (!hasSelf)
                {
                    Add(ref count, Utf8Hash(ownName), i, -1);
                }
            }
        }

        /// <summary>Appends the providers of <paramref name="name"/>, in the order indexed, to <paramref name="into"/> (made when there are some).</summary>
        public void AppendTo(string name, ref List<(RpmPackage, RpmDependency)>? into)
        {
            // A few hundred names in a resolution, each looked up once (ProvidesNamed keeps the answer).
            var scratch = Array.Empty<byte>();
            var bytes = Utf8(name, ref scratch);
            var hash = Utf8Hash(bytes);
            // A bucket's chain runs from its last entry back: the matches are put in order after.
            var at = into?.Count ?? 0;
            for (var i = _buckets[hash & (_buckets.Length - 1)] - 1; i >= 0; i = _entries[i].Next)
            {
                ref readonly var e = ref _entries[i];
                var p = _packages[e.Package];
                if (e.Offset < 0 ? p.Name == name : DependencyBlob.NameAt(p.Dependencies, e.Offset).SequenceEqual(bytes))
                {
                    into ??= [];
                    into.Add((p, e.Offset < 0 ? new RpmDependency(p.Name, DepRelation.Eq, p.Evr) : DependencyBlob.DecodeAt(p.Dependencies, e.Offset, p.Evr)));
                }
            }

            if (into is not null)
            {
                into.Reverse(at, into.Count - at);
            }
        }

        private static ReadOnlySpan<byte> Utf8(string s, ref byte[] scratch)
        {
            var length = System.Text.Encoding.UTF8.GetMaxByteCount(s.Length);
            if (length > scratch.Length)
            {
                scratch = new byte[length];
            }

            return scratch.AsSpan(0, System.Text.Encoding.UTF8.GetBytes(s, scratch));
        }

        private void Add(ref int count, int hash, int package, int offset)
        {
            ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
            _entries[count] = new Entry { Next = bucket - 1, Package = package, Offset = offset };
            bucket = ++count;
        }

        private struct Entry
        {
            public int Next;
            public int Package;
            public int Offset;
        }
    }

    /// <summary>
    /// Names to the values added under each, in the order added, without a list per name while the pool
    /// is built: one array of values chained by index. A name's list is made the first time it is asked
    /// for; the resolver asks for a few hundred.
    /// </summary>
    private sealed class ChainIndex<T>(int capacity)
    {
        private readonly Dictionary<string, (int First, int Last)> _chains = new(capacity, StringComparer.Ordinal);
        private readonly Dictionary<string, IReadOnlyList<T>> _lists = new(StringComparer.Ordinal);
        private T[] _values = new T[Math.Max(16, capacity)];
        private int[] _next = new int[Math.Max(16, capacity)];
        private int _count;

        public void Add(string key, T value)
        {
            if (_count == _values.Length)
            {
                Array.Resize(ref _values, _values.Length * 2);
                Array.Resize(ref _next, _next.Length * 2);
            }

            var i = _count++;
            _values[i] = value;
            _next[i] = -1;
            ref var chain = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_chains, key, out var exists);
            if (exists)
            {
                _next[chain.Last] = i;
                chain.Last = i;
            }
            else
            {
                chain = (i, i);
            }
        }

        /// <summary>The values under <paramref name="key"/> in the order added; null when there are none.</summary>
        public IReadOnlyList<T>? Get(string key)
        {
            if (_lists.TryGetValue(key, out var list))
            {
                return list;
            }

            if (!_chains.TryGetValue(key, out var chain))
            {
                return null;
            }

            var values = new List<T>();
            for (var i = chain.First; i >= 0; i = _next[i])
            {
                values.Add(_values[i]);
            }

            _lists[key] = values;
            return values;
        }
    }

    // The hash the pool's byte-keyed tables share (paths, provide names): this process's, as strings' are.
    private static int Utf8Hash(ReadOnlySpan<byte> text)
    {
        var hash = default(HashCode);
        hash.AddBytes(text);
        return hash.ToHashCode();
    }

    private static List<T> AddTo<T>(Dictionary<string, List<T>> index, string key, T value)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        list.Add(value);
        return list;
    }

    /// <summary>
    /// dnf's modular filtering: a package that is an artifact of some module stream is eligible only
    /// when that stream is active (enabled, or the module's default); a non-modular package is
    /// eligible unless an active stream ships a package of the same name (then the stream's wins).
    /// </summary>
    private sealed class ModuleFilter
    {
        private readonly Dictionary<string, List<string>> _streamsOfNevra = new(StringComparer.Ordinal);
        private readonly HashSet<string> _active = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _activeNames = new(StringComparer.Ordinal);

        public ModuleFilter(IReadOnlyList<RpmRepo> repos, IReadOnlyDictionary<string, string> enabled, string nativeArch)
        {
            var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var repo in repos)
            {
                foreach (var (module, stream) in repo.Modules.Defaults)
                {
                    defaults.TryAdd(module, stream);
                }
            }

            foreach (var repo in repos)
            {
                foreach (var build in repo.Modules.Builds)
                {
                    if (build.Arch.Length > 0 && build.Arch != nativeArch && build.Arch != "noarch")
                    {
                        continue;
                    }

                    var activeStream = enabled.TryGetValue(build.Name, out var e) ? e : defaults.GetValueOrDefault(build.Name);
                    var isActive = activeStream == build.Stream;
                    foreach (var nevra in build.Artifacts)
                    {
                        AddTo(_streamsOfNevra, nevra, build.Id);
                        if (isActive)
                        {
                            _active.Add(nevra);
                            if (!nevra.EndsWith(".src", StringComparison.Ordinal) && NameOf(nevra) is { } name)
                            {
                                _activeNames[name] = build.Id;
                            }
                        }
                    }
                }
            }
        }

        public string? ExclusionReason(RpmPackage p)
        {
            if (_streamsOfNevra.Count == 0 && _activeNames.Count == 0)
            {
                return null;
            }

            var nevra = p.Nevra;
            if (_streamsOfNevra.TryGetValue(nevra, out var streams))
            {
                return _active.Contains(nevra)
                    ? null
                    : $"it belongs to module stream {string.Join(", ", streams.Distinct())}, which is neither default nor enabled";
            }

            return _activeNames.TryGetValue(p.Name, out var stream)
                ? $"it is not modular and the active module stream {stream} ships a package of that name"
                : null;
        }

        // name-epoch:version-release.arch → name
        private static string? NameOf(string nevra)
        {
            var dot = nevra.LastIndexOf('.');
            var rest = dot > 0 ? nevra[..dot] : nevra;
            var dash = rest.LastIndexOf('-');
            if (dash <= 0)
            {
                return null;
            }

            dash = rest.LastIndexOf('-', dash - 1);
            return dash <= 0 ? null : rest[..dash];
        }
    }
}
