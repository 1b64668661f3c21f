using System.Text.Json.Nodes;
using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Catalog;

/// <summary>The base repositories of one OS release (el8, el9).</summary>
public sealed record OsRelease(TargetOs Os, string ReleaseVersion, IReadOnlyList<RpmRepository> Repositories);

/// <summary>A container runtime's repository, packages and (docker only) daemon.json.</summary>
public sealed record RuntimePackages(ContainerRuntime Runtime, RpmRepository Repository, IReadOnlyList<string> Packages, JsonObject Daemon);

/// <summary>An addon whose URL and patches hold "{version}", filled in per minor.</summary>
/// <summary>What a site's depot runs (catalog key <c>depot:</c>): nginx for the bundle's rpms/, the distribution registry's image.</summary>
public sealed record DepotContent(IReadOnlyList<string> Packages, IReadOnlyList<string> Images);

/// <summary>The packages of a highly available control plane's load balancer (catalog key <c>loadBalancer:</c>), carried from Major.Minor on.</summary>
public sealed record LoadBalancerContent(IReadOnlyList<string> Packages, int FromMajor, int FromMinor)
{
    public bool CarriedBy(KubernetesVersion version) =>
        version.Major > FromMajor || (version.Major == FromMajor && version.Minor >= FromMinor);
}

/// <summary>kube-vip's image repository (catalog key <c>kubeVip:</c>); each minor names the tag (<see cref="MinorFacts.KubeVip"/>).</summary>
public sealed record KubeVipContent(string Image)
{
    /// <summary>The image a bundle of <paramref name="minor"/> carries for `cluster.loadBalancer: kube-vip`.</summary>
    public string ImageFor(MinorFacts minor) => $"{Image}:{minor.KubeVip}";
}

public sealed record AddonTemplate(string Name, string Url, IReadOnlyList<ManifestPatch> Patches);

/// <summary>What the catalog says about one Kubernetes minor.</summary>
public sealed record MinorFacts(
    int Major,
    int Minor,
    string KubernetesRepository,
    IReadOnlyList<ContainerRuntime> Runtimes,
    IReadOnlyDictionary<ContainerRuntime, string> Refused,
    string ContainerdMinimum,
    string KubeadmConfigApi,
    IReadOnlyDictionary<string, string> AddonVersions,
    string KubeVip)
{
    public string Name => $"{Major}.{Minor}";
}

/// <summary>Something hosts of one OS release meet on some minors, shown when such a spec is derived.</summary>
public sealed record HostLimit(TargetOs Os, int FromMinor, int ToMinor, string Check, string Message)
{
    public bool Applies(KubernetesVersion version, TargetOs os) =>
        os == Os && version.Major == 1 && version.Minor >= FromMinor && version.Minor <= ToMinor;
}

/// <summary>
/// The version catalog's facts beside kubeadm's images (manifests/version-catalog.yaml, carried as code):
/// repositories per OS and minor, runtimes, addons, kubeadm config API and host limits.
/// </summary>
public sealed partial class ReleaseCatalog
{
    /// <summary>The file name errors and <see cref="SourceFile"/> give for the catalog the binary carries.</summary>
    internal const string BuiltInName = "manifests/version-catalog.yaml (built in)";

    // The catalog as code (BuiltInCatalogs.g.cs, written from the YAML file by `make catalogs`): built, not parsed, on each start.
    private static readonly Lazy<ReleaseCatalog> EmbeddedCatalog = new(BuiltIn);

    private ReleaseCatalog()
    {
    }

    public static ReleaseCatalog Embedded => EmbeddedCatalog.Value;

    /// <summary>Recorded in bundle.json as catalogRevision; bumped with every data change.</summary>
    public required string Revision { get; init; }

    public required string SourceFile { get; init; }

    public required NuGet.Versioning.SemanticVersion SpecVersion { get; init; }

    public required string ImageRepository { get; init; }

    public required ClusterDefaults Cluster { get; init; }

    public required IReadOnlyList<OsRelease> OperatingSystems { get; init; }

    public required IReadOnlyDictionary<string, RpmRepository> KubernetesRepositories { get; init; }

    public required IReadOnlyList<RuntimePackages> Runtimes { get; init; }

    public required IReadOnlyList<string> HostPackages { get; init; }

    /// <summary>What a site's depot runs (`build --with depot`): its packages and images.</summary>
    public required DepotContent Depot { get; init; }

    /// <summary>haproxy and keepalived: carried from a minor on, and by `build --with load-balancer`.</summary>
    public required LoadBalancerContent LoadBalancer { get; init; }

    /// <summary>kube-vip's image repository; the tag is the minor's (`build --with kube-vip`).</summary>
    public required KubeVipContent KubeVip { get; init; }

    public required IReadOnlyList<AddonTemplate> Addons { get; init; }

    public required IReadOnlyList<MinorFacts> Minors { get; init; }

    public required IReadOnlyList<HostLimit> HostLimits { get; init; }

    /// <summary>The facts for the version's minor, or null when the catalog has none.</summary>
    public MinorFacts? MinorOf(KubernetesVersion version) =>
        Minors.FirstOrDefault(m => m.Major == version.Major && m.Minor == version.Minor);

    public IReadOnlyList<HostLimit> LimitsFor(KubernetesVersion version, TargetOs os) =>
        HostLimits.Where(l => l.Applies(version, os)).ToList();

    public static ReleaseCatalog Parse(string text, string file)
    {
        var root = YamlMapReader.Load(text, file, "catalog");
        root.RequireHeader("VersionCatalog", "a version catalog");

        var revision = root.RequiredString("catalogRevision");
        var specVersionText = root.RequiredString("specVersion");
        if (!NuGet.Versioning.SemanticVersion.TryParse(specVersionText, out var specVersion))
        {
            throw root.ErrorAt("specVersion", $"specVersion '{specVersionText}' is not a SemVer version");
        }

        var operatingSystems = root.MapList("operatingSystems", required: true).Select(ReadOs).ToList();
        var kubernetesRepositories = new Dictionary<string, RpmRepository>(StringComparer.Ordinal);
        foreach (var r in root.MapList("kubernetesRepositories", required: true))
        {
            var name = r.RequiredString("name");
            kubernetesRepositories[name] = BundleSpecLoader.ReadRepository(r.RequiredMap("repository"), [.. BundleSpecLoader.YumVariables, "$minor"]);
            r.EnsureNoUnknownKeys();
        }

        var runtimes = root.MapList("runtimes", required: true).Select(r => ReadRuntime(r, file)).ToList();
        var hostPackages = root.StringList("hostPackages", required: true);
        var depotMap = root.RequiredMap("depot");
        var depot = new DepotContent(depotMap.StringList("packages", required: true), depotMap.StringList("images", required: true));
        depotMap.EnsureNoUnknownKeys();
        var lbMap = root.RequiredMap("loadBalancer");
        var lbFrom = lbMap.RequiredString("from");
        if (!Version.TryParse(lbFrom, out var lbVersion))
        {
            throw lbMap.ErrorAt("from", $"loadBalancer.from '{lbFrom}' is not a MAJOR.MINOR version");
        }

        var loadBalancer = new LoadBalancerContent(lbMap.StringList("packages", required: true), lbVersion.Major, lbVersion.Minor);
        lbMap.EnsureNoUnknownKeys();
        var kubeVipMap = root.RequiredMap("kubeVip");
        var kubeVip = new KubeVipContent(kubeVipMap.RequiredString("image"));
        if (!ImageReference.TryParse(kubeVip.Image + ":v0", out var kubeVipImage) || kubeVipImage.Tag != "v0")
        {
            throw kubeVipMap.ErrorAt("image", $"kubeVip.image '{kubeVip.Image}' is not an image repository such as ghcr.io/kube-vip/kube-vip (no tag: each minor names it)");
        }

        kubeVipMap.EnsureNoUnknownKeys();
        var addons = root.MapList("addons", required: true).Select(ReadAddon).ToList();
        var minors = root.MapList("minors", required: true).Select(m => ReadMinor(m, kubernetesRepositories, runtimes, addons)).ToList();
        for (var i = 1; i < minors.Count; i++)
        {
            if (minors[i].Major != minors[i - 1].Major || minors[i].Minor != minors[i - 1].Minor + 1)
            {
                throw root.ErrorAt("minors", $"minors must be consecutive, oldest first: {minors[i].Name} follows {minors[i - 1].Name}");
            }
        }

        var limits = root.MapList("hostLimits").Select(l => ReadLimit(l, operatingSystems)).ToList();
        var catalog = new ReleaseCatalog
        {
            Revision = revision,
            SourceFile = file,
            SpecVersion = specVersion,
            ImageRepository = root.RequiredString("imageRepository"),
            Cluster = BundleSpecLoader.ReadCluster(root.RequiredMap("cluster")),
            OperatingSystems = operatingSystems,
            KubernetesRepositories = kubernetesRepositories,
            Runtimes = runtimes,
            HostPackages = hostPackages,
            Depot = depot,
            LoadBalancer = loadBalancer,
            KubeVip = kubeVip,
            Addons = addons,
            Minors = minors,
            HostLimits = limits,
        };
        root.EnsureNoUnknownKeys();
        return catalog;
    }

    private static OsRelease ReadOs(YamlMapReader map)
    {
        var os = BundleSpecLoader.Enum(map, "name", TargetPlatform.ParseOs);
        var release = new OsRelease(os, map.RequiredString("releasever"), map.MapList("repositories", required: true).Select(BundleSpecLoader.ReadRepository).ToList());
        map.EnsureNoUnknownKeys();
        return release;
    }

    private static RuntimePackages ReadRuntime(YamlMapReader map, string file)
    {
        var runtime = BundleSpecLoader.Enum(map, "name", ContainerRuntimes.Parse);
        var repository = BundleSpecLoader.ReadRepository(map.RequiredMap("repository"));
        var packages = map.StringList("packages", required: true);
        var daemon = new JsonObject();
        if (map.RawNode("daemon") is { } node)
        {
            daemon = BundleSpecLoader.ToJson(node, file) as JsonObject
                ?? throw map.ErrorAt("daemon", $"{map.Field("daemon")} must be a mapping (the keys of /etc/docker/daemon.json)");
        }

        map.EnsureNoUnknownKeys();
        return new RuntimePackages(runtime, repository, packages, daemon);
    }

    private static AddonTemplate ReadAddon(YamlMapReader map)
    {
        var addon = new AddonTemplate(
            map.RequiredString("name"),
            map.RequiredString("url"),
            map.MapList("patches").Select(BundleSpecLoader.ReadPatch).ToList());
        map.EnsureNoUnknownKeys();
        return addon;
    }

    private static MinorFacts ReadMinor(YamlMapReader map, Dictionary<string, RpmRepository> repositories, List<RuntimePackages> runtimes, List<AddonTemplate> addons)
    {
        var text = map.RequiredString("minor");
        if (!VersionCatalog.TryParseMinor(text, out var major, out var minor))
        {
            throw map.ErrorAt("minor", $"{map.Field("minor")} must be MAJOR.MINOR such as \"1.23\", found '{text}'");
        }

        var repository = map.RequiredString("kubernetesRepository");
        if (!repositories.ContainsKey(repository))
        {
            throw map.ErrorAt("kubernetesRepository", $"{map.Field("kubernetesRepository")}: no kubernetesRepositories entry '{repository}'");
        }

        var supported = new List<ContainerRuntime>();
        foreach (var name in map.StringList("runtimes", required: true))
        {
            var runtime = BundleSpecLoader.Enum(map, "runtimes", name, ContainerRuntimes.Parse);
            if (runtimes.All(r => r.Runtime != runtime))
            {
                throw map.ErrorAt("runtimes", $"{map.Field("runtimes")}: runtime '{name}' has no entry under runtimes");
            }

            supported.Add(runtime);
        }

        var refused = new Dictionary<ContainerRuntime, string>();
        if (map.OptionalMap("refused") is { } refusedMap)
        {
            foreach (var key in refusedMap.Keys())
            {
                refused[BundleSpecLoader.Enum(refusedMap, key, key, ContainerRuntimes.Parse)] = refusedMap.RequiredString(key);
            }

            refusedMap.EnsureNoUnknownKeys();
        }

        var configApi = map.RequiredString("kubeadmConfigApi");
        if (configApi is not ("kubeadm.k8s.io/v1beta3" or "kubeadm.k8s.io/v1beta4"))
        {
            throw map.ErrorAt("kubeadmConfigApi", $"{map.Field("kubeadmConfigApi")}: '{configApi}' is not a kubeadm config API offlinekit writes (kubeadm.k8s.io/v1beta3 or v1beta4)");
        }

        // Every addon gets a version on every minor: a derived spec never lacks one.
        var addonMap = map.RequiredMap("addons");
        var addonVersions = addons.ToDictionary(a => a.Name, a => addonMap.RequiredString(a.Name), StringComparer.Ordinal);
        addonMap.EnsureNoUnknownKeys();

        var facts = new MinorFacts(
            major,
            minor,
            repository,
            supported,
            refused,
            map.RequiredString("containerdMinimum"),
            configApi,
            addonVersions,
            map.RequiredString("kubeVip"));
        map.EnsureNoUnknownKeys();
        return facts;
    }

    private static HostLimit ReadLimit(YamlMapReader map, List<OsRelease> operatingSystems)
    {
        var os = BundleSpecLoader.Enum(map, "os", TargetPlatform.ParseOs);
        var range = map.RequiredString("minors");
        var ends = range.Split('-');
        int fromMajor = 0, from = 0, toMajor = 0, to = 0;
        if (ends.Length != 2 || !VersionCatalog.TryParseMinor(ends[0], out fromMajor, out from) || !VersionCatalog.TryParseMinor(ends[1], out toMajor, out to)
            || fromMajor != 1 || toMajor != 1 || to < from)
        {
            throw map.ErrorAt("minors", $"{map.Field("minors")} must be a range of minors such as 1.32-1.33, found '{range}'");
        }

        if (operatingSystems.All(o => o.Os != os))
        {
            throw map.ErrorAt("os", $"{map.Field("os")}: no operatingSystems entry for it");
        }

        var limit = new HostLimit(os, from, to, map.RequiredString("check"), map.RequiredString("message"));
        map.EnsureNoUnknownKeys();
        return limit;
    }
}
