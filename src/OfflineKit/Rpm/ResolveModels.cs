using OfflineKit.Spec;

namespace OfflineKit.Rpm;

/// <summary>What the resolver may choose and how far it goes.</summary>
public sealed record ResolveOptions
{
    /// <summary>The target: x86_64 + noarch for amd64, aarch64 + noarch for arm64; never i686.</summary>
    public TargetArch Arch { get; init; } = TargetArch.Amd64;

    /// <summary>Also take Recommends (dnf's install_weak_deps=True). Off by default, as the bundle wants the minimum.</summary>
    public bool IncludeWeakDependencies { get; init; }

    /// <summary>
    /// Module streams enabled beyond the repos' defaults (module name → stream), like
    /// <c>dnf module enable container-tools:3.0</c>. An enabled stream replaces the default one.
    /// </summary>
    public IReadOnlyDictionary<string, string> EnabledModules { get; init; } = new Dictionary<string, string>();
}

/// <summary>One link of the chain that pulled a package in: the package and why it is there.</summary>
/// <param name="Package">The package this step brought in.</param>
/// <param name="RequiredBy">The package whose dependency brought it, or null for a requested package.</param>
/// <param name="Because">"requested as kubelet-1.23.0", or the dependency: "requires conntrack".</param>
public sealed record WhyStep(RpmPackage Package, RpmPackage? RequiredBy, string Because)
{
    public override string ToString() =>
        RequiredBy is null ? $"{Package.Nevra} ({Because})" : $"{RequiredBy.Nevra} {Because} → {Package.Nevra}";
}

/// <summary>The chosen set: every dependency of every package in it is satisfied inside it.</summary>
public sealed class ResolveResult
{
    private readonly IReadOnlyDictionary<RpmPackage, WhyStep> _reasons;

    internal ResolveResult(IEnumerable<RpmPackage> packages, IReadOnlyDictionary<RpmPackage, WhyStep> reasons)
    {
        Packages = packages.OrderBy(p => p.Nevra, StringComparer.Ordinal).ToList();
        _reasons = reasons;
    }

    /// <summary>Sorted by NEVRA.</summary>
    public IReadOnlyList<RpmPackage> Packages { get; }

    /// <summary>One NEVRA per package, sorted, as <c>dnf repoquery</c> prints them.</summary>
    public IReadOnlyList<string> Nevras => Packages.Select(p => p.Nevra).ToList();

    /// <summary>
    /// The chain that pulled <paramref name="package"/> (a name or a NEVRA) in, from the request
    /// down to it; null when it is not in the set.
    /// </summary>
    public IReadOnlyList<WhyStep>? Why(string package)
    {
        ArgumentNullException.ThrowIfNull(package);
        var target = Packages.FirstOrDefault(p => p.Name == package || p.Nevra == package);
        if (target is null)
        {
            return null;
        }

        var chain = new List<WhyStep>();
        var seen = new HashSet<RpmPackage>();
        for (var p = target; p is not null && seen.Add(p); p = _reasons[p].RequiredBy)
        {
            chain.Add(_reasons[p]);
        }

        chain.Reverse();
        return chain;
    }
}

/// <summary>One reason the closure cannot be made.</summary>
/// <param name="Message">What is wrong, with the chain from the request and the repositories searched.</param>
/// <param name="Chain">From the request down to the failing dependency: "kubelet-1.23.0", "kubelet-0:1.23.0-0.x86_64", "requires conntrack".</param>
/// <param name="IsBadRequest">The request itself is wrong (no such package, conflicting pins) rather than the repositories.</param>
public sealed record ResolveProblem(string Message, IReadOnlyList<string> Chain, bool IsBadRequest);

/// <summary>
/// Resolution failed; every problem found is listed, not only the first. Exit 2 when all of them are
/// about the request (no such package or version, conflicting pins), else exit 1.
/// </summary>
public sealed class ResolveException : OfflineKitException
{
    public ResolveException(IReadOnlyList<ResolveProblem> problems, IReadOnlyList<RpmRepo> repos)
        : base(
            problems.All(p => p.IsBadRequest) ? ExitCode.BadInput : ExitCode.Failed,
            FormatMessage(problems, repos))
    {
        Problems = problems;
    }

    public IReadOnlyList<ResolveProblem> Problems { get; }

    private static string FormatMessage(IReadOnlyList<ResolveProblem> problems, IReadOnlyList<RpmRepo> repos)
    {
        var head = problems.Count == 1 ? "cannot resolve the RPMs: " : $"cannot resolve the RPMs ({problems.Count} problems):\n  ";
        return head + string.Join("\n  ", problems.Select(p => p.Message))
            + "\n  repositories searched: " + (repos.Count == 0 ? "none" : string.Join(", ", repos));
    }
}
