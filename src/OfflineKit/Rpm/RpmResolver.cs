namespace OfflineKit.Rpm;

/// <summary>
/// Resolves requests such as <c>kubelet-1.23.0</c> or <c>containerd.io</c> to the closure of RPMs
/// they need down to an empty root: every requirement of every chosen package is met inside the set.
/// Pure: parsed repositories in, the chosen set out.
/// </summary>
/// <remarks>
/// <para>
/// The choice among providers of a requirement, in order (what dnf does for a fresh installroot):
/// (1) a provider already chosen satisfies it and nothing is added; (2) providers that cannot go
/// with the chosen set are set aside: another version of a chosen name, a package that conflicts
/// with or obsoletes a chosen one or is conflicted/obsoleted by one, and (one level of look-ahead)
/// a package with a plain requirement that nothing eligible provides; (3) packages whose name equals
/// the required name win; (4) within a name the highest EVR wins, then the native arch over noarch,
/// then the repository listed first; (5) between different names, the alphabetically first name
/// (libsolv's own order once versions are pruned).
/// </para>
/// <para>
/// Where it deviates from libsolv (dnf's solver): this is not a SAT solver. It chooses greedily
/// with the one-level look-ahead above and never revisits a choice, so a conflict that only shows
/// two or more levels down is reported as an error where libsolv could have backtracked to another
/// provider. libsolv also weighs repository priorities and cost (not modelled: all repos are equal,
/// the highest version wins across them), prefers providers that something chosen recommends or
/// supplements (not modelled), and redirects a request for an obsoleted package to its obsoleter
/// (not modelled: requests name the packages wanted). Supplements are never followed.
/// </para>
/// <para>
/// Requests take dnf's forms, first match wins: name-[epoch:]version-release.arch, name.arch,
/// name, name-[epoch:]version-release, name-[epoch:]version; then a provide or a file path.
/// <c>kubelet-1.23.0</c> therefore means kubelet at version 1.23.0 (its newest release), never
/// 1.23.1. Requests naming the same package must agree, or that is an error.
/// </para>
/// <para>One instance may resolve many request sets, one at a time: its caches are not thread-safe.</para>
/// </remarks>
public sealed class RpmResolver
{
    private static readonly string[] KnownArches =
        ["x86_64", "aarch64", "noarch", "i686", "i586", "i386", "ppc64le", "s390x", "armv7hl", "src"];

    private readonly PackagePool _pool;
    private readonly ResolveOptions _options;
    private readonly Dictionary<string, RichNode> _richCache = new(StringComparer.Ordinal);

    public RpmResolver(IReadOnlyList<RpmRepo> repos, ResolveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(repos);
        _options = options ?? new ResolveOptions();
        _pool = new PackagePool(repos, _options);
    }

    /// <summary>
    /// Whether a resolution so far looked up a file path only filelists answers while some repository
    /// was read without them (<see cref="RpmRepo.FilelistsRead"/>): its outcome, result or error, may
    /// differ from the one with filelists, so read them and resolve again. False means every outcome
    /// so far is the one filelists would have given.
    /// </summary>
    public bool NeedsFilelists => _pool.FilelistsWanted;

    /// <summary>Resolves the requests; throws <see cref="ResolveException"/> listing every problem.</summary>
    public ResolveResult Resolve(IEnumerable<string> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var run = new Run(this);
        run.Start(requests.Select(r => r.Trim()).Where(r => r.Length > 0).Distinct(StringComparer.Ordinal).ToList());
        run.Close();
        run.Validate();
        if (run.Problems.Count > 0)
        {
            throw new ResolveException(run.Problems, _pool.Repos);
        }

        return new ResolveResult(run.Chosen, run.Reasons);
    }

    private RichNode Rich(RpmDependency dep)
    {
        if (!_richCache.TryGetValue(dep.Name, out var node))
        {
            try
            {
                node = RichDependency.Parse(dep.Name);
            }
            catch (FormatException)
            {
                // A dependency rpm itself would not have built: treat it as a plain name nothing provides.
                node = new RichTerm(dep);
            }

            _richCache[dep.Name] = node;
        }

        return node;
    }

    /// <summary>The state of one resolution.</summary>
    private sealed class Run(RpmResolver resolver)
    {
        private readonly PackagePool _pool = resolver._pool;
        private readonly Dictionary<string, RpmPackage> _chosenByName = new(StringComparer.Ordinal);
        private readonly Queue<RpmPackage> _queue = new();
        private readonly List<(RpmPackage Owner, RpmDependency Dep, bool Weak)> _conditional = [];
        private readonly Dictionary<string, List<(RpmPackage Owner, RpmDependency Dep)>> _chosenConflicts = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<(RpmPackage Owner, RpmDependency Dep)>> _chosenObsoletes = new(StringComparer.Ordinal);
        private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

        public HashSet<RpmPackage> Chosen { get; } = [];

        public Dictionary<RpmPackage, WhyStep> Reasons { get; } = [];

        public List<ResolveProblem> Problems { get; } = [];

        public void Start(List<string> requests)
        {
            // Requests by package name first, all together, so that pins agree and are in place
            // before any dependency looks for a provider ("prefer what is already chosen").
            var byName = new Dictionary<string, (List<string> Requests, List<RpmPackage> Candidates)>(StringComparer.Ordinal);
            var other = new List<string>();
            foreach (var request in requests)
            {
                var matched = MatchByName(request);
                if (matched is null)
                {
                    other.Add(request);
                    continue;
                }

                foreach (var group in matched.GroupBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (byName.TryGetValue(group.Key, out var existing))
                    {
                        var both = existing.Candidates.Intersect(group).ToList();
                        existing.Requests.Add(request);
                        if (both.Count == 0)
                        {
                            Problem(
                                $"conflicting requests for {group.Key}: {string.Join(" and ", existing.Requests.Select(r => $"'{r}'"))} match no version in common "
                                + $"({Versions(existing.Candidates)} vs {Versions(group)})",
                                [.. existing.Requests],
                                badRequest: true);
                        }

                        byName[group.Key] = (existing.Requests, both);
                    }
                    else
                    {
                        byName[group.Key] = ([request], group.ToList());
                    }
                }
            }

            // Pinned names first, so that an unpinned request can pass over its newest version when
            // that one needs another version of something pinned (kubeadm vs kubelet-1.23.0).
            var ordered = byName
                .OrderBy(kv => kv.Value.Candidates.Select(p => p.Evr.Version).Distinct(StringComparer.Ordinal).Count())
                .ThenBy(kv => kv.Key, StringComparer.Ordinal);
            foreach (var (_, (reqs, candidates)) in ordered)
            {
                if (candidates.Count > 0)
                {
                    var viable = candidates.Where(c => WhyNot(c) is null && LooksInstallable(c)).ToList();
                    Add(Best(viable.Count > 0 ? viable : candidates), null, "requested as " + string.Join(", ", reqs));
                }
            }

            foreach (var request in other)
            {
                RequestByProvide(request);
            }
        }

        /// <summary>Expands the queue to a fixpoint, then re-checks conditional (if/unless) dependencies.</summary>
        public void Close()
        {
            while (true)
            {
                while (_queue.TryDequeue(out var p))
                {
                    foreach (var dep in p.Requires)
                    {
                        Require(p, dep, weak: false);
                    }

                    if (resolver._options.IncludeWeakDependencies)
                    {
                        foreach (var dep in p.Recommends)
                        {
                            Require(p, dep, weak: true);
                        }
                    }
                }

                // A condition may have become true because of a package chosen after it was first seen.
                foreach (var (owner, dep, weak) in _conditional.ToList())
                {
                    var node = resolver.Rich(dep);
                    if (!Satisfied(node))
                    {
                        Fulfil(owner, dep, node, weak);
                    }
                }

                if (_queue.Count == 0)
                {
                    return;
                }
            }
        }

        /// <summary>Conflicts and obsoletes inside the chosen set, and any requirement left unmet.</summary>
        public void Validate()
        {
            foreach (var p in Chosen.OrderBy(p => p.Nevra, StringComparer.Ordinal))
            {
                foreach (var c in p.Conflicts)
                {
                    foreach (var q in ChosenSatisfying(c))
                    {
                        if (!ReferenceEquals(q, p))
                        {
                            Problem($"{p.Nevra} conflicts with {c}, which {q.Nevra} provides", [.. Chain(p), $"conflicts with {c}", q.Nevra]);
                        }
                    }
                }

                foreach (var o in p.Obsoletes)
                {
                    if (_chosenByName.TryGetValue(o.Name, out var q) && !ReferenceEquals(q, p) && o.IsSatisfiedBy(q.Evr))
                    {
                        Problem($"{p.Nevra} obsoletes {o}, and {q.Nevra} is also needed", [.. Chain(p), $"obsoletes {o}", q.Nevra]);
                    }
                }

                foreach (var r in p.Requires)
                {
                    if (!(r.IsRich ? Satisfied(resolver.Rich(r)) : IsChosenSatisfied(r)) && !_reported.Contains(Key(p, r)))
                    {
                        Problem($"{p.Nevra} requires {r}, which the chosen set does not meet", [.. Chain(p), "requires " + r]);
                    }
                }
            }
        }

        private void Require(RpmPackage owner, RpmDependency dep, bool weak)
        {
            if (dep.IsRich)
            {
                var node = resolver.Rich(dep);
                if (HasCondition(node))
                {
                    _conditional.Add((owner, dep, weak));
                }

                if (!Satisfied(node))
                {
                    Fulfil(owner, dep, node, weak);
                }

                return;
            }

            if (IsChosenSatisfied(dep))
            {
                return;
            }

            var candidates = _pool.Providers(dep);
            Choose(owner, dep, dep.Name, candidates, "requires " + dep, weak);
        }

        // Makes a rich dependency true by choosing packages; what cannot be met is a problem.
        private bool Fulfil(RpmPackage owner, RpmDependency whole, RichNode node, bool weak)
        {
            if (Satisfied(node))
            {
                return true;
            }

            switch (node)
            {
                case RichTerm t:
                    return Choose(owner, whole, t.Dependency.Name, _pool.Providers(t.Dependency), $"requires {whole}", weak);
                case RichExpression { Operator: RichOperator.And } e:
                    return e.Operands.Select(o => Fulfil(owner, whole, o, weak)).ToList().TrueForAll(x => x);
                case RichExpression { Operator: RichOperator.Or } e:
                    // The first alternative that can be installed, in the order written (as libsolv tries them).
                    // An alternative that passes the look-ahead first; else one that may fail deeper, so
                    // that the error names the real cause.
                    foreach (var lookAhead in new[] { true, false })
                    {
                        foreach (var o in e.Operands)
                        {
                            if (CanFulfil(o, lookAhead))
                            {
                                return Fulfil(owner, whole, o, weak);
                            }
                        }
                    }

                    return Unmet(owner, whole, weak, "no alternative can be installed");
                case RichExpression { Operator: RichOperator.If } e:
                    // Only the true branch is needed now; if the condition comes true later, Close() returns here.
                    return Satisfied(e.Operands[1])
                        ? Fulfil(owner, whole, e.Operands[0], weak)
                        : e.Else is null || Fulfil(owner, whole, e.Else, weak);
                case RichExpression { Operator: RichOperator.Unless } e:
                    return Satisfied(e.Operands[1])
                        ? e.Else is null || Fulfil(owner, whole, e.Else, weak)
                        : Fulfil(owner, whole, e.Operands[0], weak);
                case RichExpression e:
                    // with / without: one package must meet the whole expression.
                    return Choose(owner, whole, NameHint(e), ProvidersOf(e).ToList(), $"requires {whole}", weak);
                default:
                    return false;
            }
        }

        private bool Choose(RpmPackage? owner, RpmDependency dep, string wantedName, IReadOnlyList<RpmPackage> candidates, string because, bool weak)
        {
            if (candidates.Any(Chosen.Contains))
            {
                return true;
            }

            var allowed = candidates.Where(c => WhyNot(c) is null).ToList();
            var viable = allowed.Where(LooksInstallable).ToList();
            if (viable.Count == 0 && !weak)
            {
                // Take one anyway so that the error names the deeper cause with its whole chain.
                viable = allowed;
            }

            if (viable.Count == 0)
            {
                if (weak)
                {
                    return false;
                }

                var why = candidates.Count == 0
                    ? NothingProvides(dep)
                    : "every candidate is ruled out: " + string.Join("; ", candidates.Take(5).Select(c => $"{c.Nevra} ({WhyNot(c)})"));
                return Unmet(owner, dep, weak, why);
            }

            var named = viable.Where(c => c.Name == wantedName).ToList();
            var pick = Best(named.Count > 0 ? named : viable);
            Add(pick, owner, because);
            return true;
        }

        private bool Unmet(RpmPackage? owner, RpmDependency dep, bool weak, string why)
        {
            if (weak)
            {
                return false;
            }

            var chain = owner is null ? new List<string>() : Chain(owner);
            chain.Add("requires " + dep);
            var key = owner is null ? "request " + dep : Key(owner, dep);
            if (_reported.Add(key))
            {
                var who = owner is null ? $"the request '{dep.Name}'" : owner.Nevra;
                Problem($"{who} requires {dep}: {why} (chain: {string.Join(" → ", chain)})", chain, badRequest: owner is null);
            }

            return false;
        }

        private string NothingProvides(RpmDependency dep)
        {
            // Say so when the provider exists but was ruled out (wrong arch, inactive module stream).
            var excluded = _pool.Excluded
                .Where(kv => _pool.Satisfies(kv.Key, dep))
                .Select(kv => $"{kv.Key.Nevra} is not eligible: {kv.Value}")
                .Take(3)
                .ToList();
            return excluded.Count == 0 ? "nothing provides it" : "nothing eligible provides it (" + string.Join("; ", excluded) + ")";
        }

        private void Add(RpmPackage p, RpmPackage? parent, string because)
        {
            if (!Chosen.Add(p))
            {
                return;
            }

            _chosenByName[p.Name] = p;
            Reasons[p] = new WhyStep(p, parent, because);
            foreach (var c in p.Conflicts)
            {
                AddTo(_chosenConflicts, c.Name, (p, c));
            }

            foreach (var o in p.Obsoletes)
            {
                AddTo(_chosenObsoletes, o.Name, (p, o));
            }

            _queue.Enqueue(p);
        }

        // Null when the package can join the chosen set as far as names, conflicts and obsoletes go.
        private string? WhyNot(RpmPackage c)
        {
            if (_chosenByName.TryGetValue(c.Name, out var same) && !ReferenceEquals(same, c))
            {
                return $"{same.Nevra} is already chosen";
            }

            foreach (var conflict in c.Conflicts)
            {
                foreach (var q in ChosenSatisfying(conflict))
                {
                    return $"it conflicts with {conflict}, which the chosen {q.Nevra} provides";
                }
            }

            foreach (var o in c.Obsoletes)
            {
                if (_chosenByName.TryGetValue(o.Name, out var q) && o.IsSatisfiedBy(q.Evr))
                {
                    return $"it obsoletes the chosen {q.Nevra}";
                }
            }

            foreach (var provide in c.Provides.Append(new RpmDependency(c.Name, DepRelation.Eq, c.Evr)))
            {
                if (_chosenConflicts.TryGetValue(provide.Name, out var list))
                {
                    foreach (var (owner, conflict) in list)
                    {
                        if (conflict.IsSatisfiedBy(provide))
                        {
                            return $"the chosen {owner.Nevra} conflicts with {conflict}";
                        }
                    }
                }
            }

            if (_chosenObsoletes.TryGetValue(c.Name, out var obs))
            {
                foreach (var (owner, o) in obs)
                {
                    if (o.IsSatisfiedBy(c.Evr))
                    {
                        return $"the chosen {owner.Nevra} obsoletes {o}";
                    }
                }
            }

            return null;
        }

        // One level of look-ahead: every plain requirement has some provider that could join.
        private bool LooksInstallable(RpmPackage c)
        {
            foreach (var r in c.Requires)
            {
                if (r.IsRich || _pool.Satisfies(c, r) || IsChosenSatisfied(r))
                {
                    continue;
                }

                if (!_pool.Providers(r).Any(p => WhyNot(p) is null))
                {
                    return false;
                }
            }

            return true;
        }

        private bool CanFulfil(RichNode node, bool lookAhead) => node switch
        {
            RichTerm t => IsChosenSatisfied(t.Dependency) || _pool.Providers(t.Dependency).Any(p => CanJoin(p, lookAhead)),
            RichExpression { Operator: RichOperator.And } e => e.Operands.All(o => CanFulfil(o, lookAhead)),
            RichExpression { Operator: RichOperator.Or } e => e.Operands.Any(o => CanFulfil(o, lookAhead)),
            RichExpression { Operator: RichOperator.If or RichOperator.Unless } => true,
            RichExpression e => ProvidersOf(e).Any(p => Chosen.Contains(p) || CanJoin(p, lookAhead)),
            _ => false,
        };

        private bool CanJoin(RpmPackage p, bool lookAhead) => WhyNot(p) is null && (!lookAhead || LooksInstallable(p));

        private bool Satisfied(RichNode node) => node switch
        {
            RichTerm t => IsChosenSatisfied(t.Dependency),
            RichExpression { Operator: RichOperator.And } e => e.Operands.All(Satisfied),
            RichExpression { Operator: RichOperator.Or } e => e.Operands.Any(Satisfied),
            RichExpression { Operator: RichOperator.If } e =>
                Satisfied(e.Operands[1]) ? Satisfied(e.Operands[0]) : e.Else is null || Satisfied(e.Else),
            RichExpression { Operator: RichOperator.Unless } e =>
                Satisfied(e.Operands[1]) ? e.Else is null || Satisfied(e.Else) : Satisfied(e.Operands[0]),
            RichExpression e => ProvidersOf(e).Any(Chosen.Contains),
            _ => false,
        };

        // The packages that meet a node on their own (for with/without, one package meets both sides).
        private IEnumerable<RpmPackage> ProvidersOf(RichNode node) => node switch
        {
            RichTerm t => _pool.Providers(t.Dependency),
            RichExpression { Operator: RichOperator.With or RichOperator.And } e =>
                e.Operands.Skip(1).Aggregate(ProvidersOf(e.Operands[0]).ToHashSet(), (set, o) =>
                {
                    set.IntersectWith(ProvidersOf(o));
                    return set;
                }),
            RichExpression { Operator: RichOperator.Without } e => ProvidersOf(e.Operands[0]).Except(ProvidersOf(e.Operands[1])),
            RichExpression { Operator: RichOperator.Or } e => e.Operands.SelectMany(ProvidersOf).Distinct(),
            _ => [],
        };

        private static string NameHint(RichNode node) => node switch
        {
            RichTerm t => t.Dependency.Name,
            RichExpression e => NameHint(e.Operands[0]),
            _ => string.Empty,
        };

        private static bool HasCondition(RichNode node) =>
            node is RichExpression e
            && (e.Operator is RichOperator.If or RichOperator.Unless || e.Operands.Any(HasCondition) || (e.Else is not null && HasCondition(e.Else)));

        private bool IsChosenSatisfied(RpmDependency dep) => ChosenSatisfying(dep).Any();

        private IEnumerable<RpmPackage> ChosenSatisfying(RpmDependency dep)
        {
            foreach (var (p, provide) in _pool.ProvidesNamed(dep.Name))
            {
                if (Chosen.Contains(p) && dep.IsSatisfiedBy(provide))
                {
                    yield return p;
                }
            }

            if (dep.IsFile)
            {
                foreach (var p in _pool.OwnersOf(dep.Name))
                {
                    if (Chosen.Contains(p))
                    {
                        yield return p;
                    }
                }
            }
        }

        /// <summary>Highest EVR, then native arch over noarch, then the repository listed first, then the name.</summary>
        private RpmPackage Best(IEnumerable<RpmPackage> candidates) =>
            candidates
                .OrderBy(p => p.Name, StringComparer.Ordinal)
                .ThenByDescending(p => p.Evr)
                .ThenBy(p => p.Arch == "noarch" ? 1 : 0)
                .ThenBy(_pool.RepoOrder)
                .First();

        private List<string> Chain(RpmPackage p)
        {
            var steps = new List<string>();
            var seen = new HashSet<RpmPackage>();
            for (RpmPackage? q = p; q is not null && seen.Add(q); q = Reasons[q].RequiredBy)
            {
                var reason = Reasons[q];
                steps.Add(q.Nevra);
                steps.Add(reason.RequiredBy is null ? reason.Because.Replace("requested as ", string.Empty, StringComparison.Ordinal) : reason.Because);
            }

            steps.Reverse();
            return steps;
        }

        // name-[e:]v-r.a, name.a, name, name-[e:]v-r, name-[e:]v: the first form that names a package wins.
        private List<RpmPackage>? MatchByName(string request)
        {
            foreach (var (name, evr, arch) in Forms(request))
            {
                var found = _pool.ByName(name)
                    .Where(p => arch is null || p.Arch == arch)
                    .Where(p => evr is null || Matches(evr, p.Evr))
                    .ToList();
                if (found.Count > 0)
                {
                    return found;
                }
            }

            return null;
        }

        private static bool Matches(Evr wanted, Evr have) =>
            (wanted.Epoch == have.Epoch || !wanted.HasExplicitEpoch)
            && RpmVersion.Compare(wanted.Version, have.Version) == 0
            && (wanted.Release is null || RpmVersion.Compare(wanted.Release, have.Release!) == 0);

        private static IEnumerable<(string Name, Evr? Evr, string? Arch)> Forms(string s)
        {
            var dot = s.LastIndexOf('.');
            var arch = dot > 0 && KnownArches.Contains(s[(dot + 1)..]) ? s[(dot + 1)..] : null;
            var withoutArch = arch is null ? null : s[..dot];
            if (withoutArch is not null && SplitNevr(withoutArch, withRelease: true) is { } nevra)
            {
                yield return (nevra.Name, nevra.Evr, arch);
            }

            if (withoutArch is not null)
            {
                yield return (withoutArch, null, arch);
            }

            yield return (s, null, null);
            if (SplitNevr(s, withRelease: true) is { } nevr)
            {
                yield return (nevr.Name, nevr.Evr, null);
            }

            if (SplitNevr(s, withRelease: false) is { } nev)
            {
                yield return (nev.Name, nev.Evr, null);
            }
        }

        private static (string Name, Evr Evr)? SplitNevr(string s, bool withRelease)
        {
            var dash = s.LastIndexOf('-');
            if (dash <= 0)
            {
                return null;
            }

            if (withRelease)
            {
                dash = s.LastIndexOf('-', dash - 1);
                if (dash <= 0)
                {
                    return null;
                }
            }

            return Evr.TryParse(s[(dash + 1)..], out var evr) ? (s[..dash], evr) : null;
        }

        private void RequestByProvide(string request)
        {
            RpmDependency dep;
            try
            {
                dep = RpmDependency.Parse(request);
            }
            catch (FormatException)
            {
                dep = new RpmDependency(request);
            }

            IReadOnlyList<RpmPackage> candidates = dep.IsRich ? ProvidersOf(resolver.Rich(dep)).ToList() : _pool.Providers(dep);
            if (candidates.Count == 0)
            {
                Problem(NoSuchPackage(request), [request], badRequest: true);
                return;
            }

            Choose(null, dep, dep.Name, candidates, "requested as " + request, weak: false);
        }

        private string NoSuchPackage(string request)
        {
            // Name the versions that do exist when the name is known and only the version is not.
            foreach (var (name, _, _) in Forms(request).Reverse())
            {
                var versions = _pool.ByName(name);
                if (versions.Count > 0)
                {
                    return $"no package matches '{request}': {name} exists in versions {Versions(versions)}";
                }
            }

            var excluded = _pool.Excluded.Keys.Where(p => Forms(request).Any(f => f.Name == p.Name)).Take(3).ToList();
            return excluded.Count > 0
                ? $"no eligible package matches '{request}': " + string.Join("; ", excluded.Select(p => $"{p.Nevra} is not eligible: {_pool.Excluded[p]}"))
                : $"no package matches '{request}' in any repository";
        }

        private static string Versions(IEnumerable<RpmPackage> packages) =>
            string.Join(", ", packages.Select(p => p.Evr).Distinct().Order().Select(e => e.ToString()));

        private void Problem(string message, IReadOnlyList<string> chain, bool badRequest = false) =>
            Problems.Add(new ResolveProblem(message, chain, badRequest));

        private static string Key(RpmPackage p, RpmDependency d) => p.Nevra + "\n" + d;

        private static void AddTo<T>(Dictionary<string, List<T>> index, string key, T value)
        {
            if (!index.TryGetValue(key, out var list))
            {
                index[key] = list = [];
            }

            list.Add(value);
        }
    }
}
