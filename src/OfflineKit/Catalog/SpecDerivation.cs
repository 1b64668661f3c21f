using System.Text.Json.Nodes;
using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Catalog;

/// <summary>
/// The spec a command works on, with what the catalog knows about it: the kubeadm config API the
/// bundle is built for and the host limits of its OS release on its minor.
/// </summary>
public sealed record EffectiveSpec(BundleSpec Spec, string? KubeadmConfigApi, IReadOnlyList<HostLimit> HostLimits);

/// <summary>(Kubernetes version, os, arch, runtime) → the bundle spec, from the version catalog alone.</summary>
public static class SpecDerivation
{
    public static EffectiveSpec Derive(
        KubernetesVersion version, TargetOs? os = null, TargetArch? arch = null, ContainerRuntime? runtime = null) =>
        Derive(version, os, arch, runtime, ReleaseCatalog.Embedded, VersionCatalog.Embedded);

    public static EffectiveSpec Derive(
        KubernetesVersion version, TargetOs? os, TargetArch? arch, ContainerRuntime? runtime, ReleaseCatalog catalog, VersionCatalog images)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(images);

        // kubeadm's image table decides which releases exist; it refuses naming the nearest one.
        images.Resolve(version);
        var minor = catalog.MinorOf(version)
            ?? throw new BadInputException($"Kubernetes v{version}: the version catalog has no {version.Major}.{version.Minor} entry (catalog {catalog.Revision})");

        var target = new TargetPlatform(os ?? TargetOs.El8, arch ?? TargetArch.Amd64);
        var osRelease = catalog.OperatingSystems.FirstOrDefault(o => o.Os == target.Os)
            ?? throw new BadInputException(
                $"--os {target.OsName}: the version catalog has no base repositories for it (known: {string.Join(", ", catalog.OperatingSystems.Select(o => new TargetPlatform(o.Os, target.Arch).OsName))})");

        var chosen = runtime ?? minor.Runtimes[0];
        if (!minor.Runtimes.Contains(chosen))
        {
            var why = minor.Refused.TryGetValue(chosen, out var reason) ? reason : "the version catalog does not list it";
            throw new BadInputException(
                $"--runtime {chosen.Name()} is not available for Kubernetes {version}: {why}; use --runtime {string.Join(" or --runtime ", minor.Runtimes.Select(r => r.Name()))}");
        }

        var runtimePackages = catalog.Runtimes.First(r => r.Runtime == chosen);
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["$basearch"] = target.RpmArch,
            ["$releasever"] = osRelease.ReleaseVersion,
            ["$minor"] = minor.Name,
        };
        RpmRepository Fill(RpmRepository repo) => repo with
        {
            BaseUrl = new Uri(Substitute(repo.BaseUrl.OriginalString, values)),
            GpgKeys = repo.GpgKeys.Select(k => new Uri(Substitute(k.OriginalString, values))).ToList(),
        };

        var repositories = new List<RpmRepository> { Fill(catalog.KubernetesRepositories[minor.KubernetesRepository]), Fill(runtimePackages.Repository) };
        repositories.AddRange(osRelease.Repositories.Select(Fill));

        // Exact pins: kubelet-1.30.2 matches 1.30.2-150500.1.1 and never 1.30.20 (the resolver compares versions, not prefixes).
        var packages = new List<string> { $"kubelet-{version}", $"kubeadm-{version}", $"kubectl-{version}" };
        packages.AddRange(runtimePackages.Packages);
        packages.AddRange(catalog.HostPackages);
        if (catalog.LoadBalancer.CarriedBy(version))
        {
            packages.AddRange(catalog.LoadBalancer.Packages);
        }

        var addons = catalog.Addons.Select(a => Addon(a, minor)).ToList();
        var spec = new BundleSpec(
            $"k8s-{version}",
            catalog.SpecVersion,
            version,
            catalog.ImageRepository,
            target,
            new RpmSpec(repositories, packages, []),
            addons,
            catalog.Cluster,
            (JsonObject)runtimePackages.Daemon.DeepClone(),
            catalog.SourceFile)
        {
            Runtime = chosen,
            CatalogRevision = catalog.Revision,
        };
        return new EffectiveSpec(spec, minor.KubeadmConfigApi, catalog.LimitsFor(version, target.Os));
    }

    /// <summary>The parts `build --with` adds: what a site's depot runs, and a highly available control plane's load balancer (keepalived-haproxy or kube-vip).</summary>
    public static readonly IReadOnlyList<string> AddableParts = [DepotPart, LoadBalancerPart, KubeVipPart];

    public const string DepotPart = "depot";
    public const string LoadBalancerPart = "load-balancer";
    public const string KubeVipPart = "kube-vip";

    /// <summary>
    /// The spec with the parts `build --with` names, each package and image once: <c>depot</c>, what a
    /// site's depot runs for `cluster.sources: site` (nginx among the RPMs, the registry image among the
    /// images); <c>load-balancer</c>, haproxy and keepalived for a 1.23 bundle (later ones carry them);
    /// <c>kube-vip</c>, kube-vip's image at the tag the catalog names for the spec's minor.
    /// </summary>
    public static EffectiveSpec With(EffectiveSpec effective, IEnumerable<string> parts)
    {
        ArgumentNullException.ThrowIfNull(effective);
        ArgumentNullException.ThrowIfNull(parts);
        var catalog = ReleaseCatalog.Embedded;
        var spec = effective.Spec;
        var packages = spec.Rpm.Packages.ToList();
        var images = spec.Images.ToList();
        foreach (var part in parts.Distinct(StringComparer.Ordinal))
        {
            var (addPackages, addImages) = part switch
            {
                DepotPart => (catalog.Depot.Packages, catalog.Depot.Images),
                LoadBalancerPart => (catalog.LoadBalancer.Packages, (IReadOnlyList<string>)[]),
                KubeVipPart => ((IReadOnlyList<string>)[], (IReadOnlyList<string>)[catalog.KubeVip.ImageFor(catalog.MinorOf(spec.Kubernetes)
                    ?? throw new BadInputException($"--with {KubeVipPart}: the version catalog has no {spec.Kubernetes.Major}.{spec.Kubernetes.Minor} entry, so no kube-vip version for Kubernetes {spec.Kubernetes}"))]),
                _ => throw new BadInputException($"--with: '{part}' is not a part that can be added ({string.Join(", ", AddableParts)})"),
            };
            packages.AddRange(addPackages.Where(p => !packages.Contains(p, StringComparer.Ordinal)));
            images.AddRange(addImages.Select(ImageReference.Parse).Where(i => !images.Contains(i)));
        }

        return effective with { Spec = spec with { Rpm = spec.Rpm with { Packages = packages }, Images = images } };
    }

    private static AddonSpec Addon(AddonTemplate template, MinorFacts minor)
    {
        var version = minor.AddonVersions[template.Name];
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["{version}"] = version };
        return new AddonSpec(
            template.Name,
            version,
            new Uri(Substitute(template.Url, values)),
            template.Patches.Select(p => p with { Value = Substitute(p.Value, values) }).ToList());
    }

    private static string Substitute(string text, Dictionary<string, string> values) =>
        values.Aggregate(text, (t, kv) => t.Replace(kv.Key, kv.Value, StringComparison.Ordinal));
}

/// <summary>Turns what the user asked for (--k8s, --spec, --os, --arch, --runtime) into the one spec a command works on.</summary>
public static class SpecResolver
{
    public static BundleSpec Resolve(string? kubernetes, string? specFile, string? os = null, string? arch = null, string? runtime = null) =>
        ResolveEffective(kubernetes, specFile, os, arch, runtime).Spec;

    public static EffectiveSpec ResolveEffective(string? kubernetes, string? specFile, string? os = null, string? arch = null, string? runtime = null)
    {
        TargetOs? askedOs;
        TargetArch? askedArch;
        ContainerRuntime? askedRuntime;
        try
        {
            askedOs = os is null ? null : TargetPlatform.ParseOs(os);
            askedArch = arch is null ? null : TargetPlatform.ParseArch(arch);
            askedRuntime = runtime is null ? null : ContainerRuntimes.Parse(runtime);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message, e);
        }

        if (specFile is null)
        {
            if (kubernetes is null)
            {
                throw new BadInputException("give --k8s VERSION (derived from the version catalog) or --spec FILE");
            }

            if (!KubernetesVersion.TryParse(kubernetes, out var version))
            {
                throw new BadInputException(
                    $"--k8s: '{kubernetes}' is not a Kubernetes release version (expected MAJOR.MINOR.PATCH such as 1.23.0); supported are {VersionCatalog.Embedded.SupportedRange}");
            }

            return SpecDerivation.Derive(version, askedOs, askedArch, askedRuntime);
        }

        var spec = BundleSpecLoader.LoadFile(specFile);
        if (kubernetes is not null && (!KubernetesVersion.TryParse(kubernetes, out var asked) || asked != spec.Kubernetes))
        {
            throw new BadInputException($"--k8s {kubernetes} does not match {specFile}, which is for Kubernetes {spec.Kubernetes}");
        }

        if (askedRuntime is { } r && r != spec.Runtime)
        {
            throw new BadInputException($"--runtime {r.Name()} does not match {specFile}, which is for {spec.Runtime.Name()}");
        }

        var target = new TargetPlatform(askedOs ?? spec.Target.Os, askedArch ?? spec.Target.Arch);
        spec = spec with { Target = target, Rpm = spec.Rpm with { Repositories = spec.Rpm.Repositories.Select(repo => ForTarget(repo, target)).ToList() } };
        var catalog = ReleaseCatalog.Embedded;
        return new EffectiveSpec(spec, catalog.MinorOf(spec.Kubernetes)?.KubeadmConfigApi, catalog.LimitsFor(spec.Kubernetes, target.Os));
    }

    /// <summary>A hand-written repository's URLs for the target: yum's $basearch and $releasever filled in.</summary>
    private static RpmRepository ForTarget(RpmRepository repo, TargetPlatform target)
    {
        Uri Fill(Uri url) => new(url.OriginalString.Replace("$basearch", target.RpmArch, StringComparison.Ordinal).Replace("$releasever", target.ReleaseVersion, StringComparison.Ordinal));
        return repo with { BaseUrl = Fill(repo.BaseUrl), GpgKeys = repo.GpgKeys.Select(Fill).ToList() };
    }
}

/// <summary>What the catalog asks of the resolved packages, checked before anything is downloaded.</summary>
public static class RuntimeRequirement
{
    /// <summary>
    /// A containerd bundle must carry containerd.io and cri-tools (crictl): without them the hosts
    /// cannot run the cluster, so their absence fails. A containerd.io older than containerd's own
    /// Kubernetes support table recommends for the minor is returned as a warning: the table is a
    /// recommendation (what is tested), and CRI v1 works from containerd 1.6 on.
    /// </summary>
    public static IReadOnlyList<string> Check(BundleSpec spec, IEnumerable<Rpm.RpmPackage> carried, ReleaseCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(carried);
        if (spec.Runtime != ContainerRuntime.Containerd)
        {
            return [];
        }

        var packages = carried.ToList();
        var containerd = packages.FirstOrDefault(p => p.Name == "containerd.io")
            ?? throw new OperationFailedException($"a containerd bundle for Kubernetes {spec.Kubernetes} must carry containerd.io, and the closure has none: add it to rpm.packages");
        if (packages.All(p => p.Name != "cri-tools"))
        {
            throw new OperationFailedException($"a containerd bundle for Kubernetes {spec.Kubernetes} must carry cri-tools (crictl), and the closure has none: add it to rpm.packages");
        }

        var minimum = (catalog ?? ReleaseCatalog.Embedded).MinorOf(spec.Kubernetes)?.ContainerdMinimum;
        return minimum is not null && Rpm.RpmVersion.Compare(containerd.Evr.Version, minimum) < 0
            ? [$"containerd.io {containerd.Evr.Version} ({containerd.Repo}) is older than containerd's Kubernetes support table recommends for {spec.Kubernetes.Major}.{spec.Kubernetes.Minor} ({minimum} or newer): pin a newer containerd.io if the repository has one"]
            : [];
    }
}
