using System.Globalization;
using OfflineKit.Spec;

namespace OfflineKit.Images;

/// <summary>The images kubeadm's own release vX pins, as manifests/kubeadm-images.yaml records them.</summary>
public sealed record KubeadmRelease(
    KubernetesVersion Version,
    string DefaultRegistry,
    string Etcd,
    string Pause,
    string CoreDns,
    IReadOnlyList<string> Order);

/// <summary>A value that holds for the patch releases From..To (inclusive) of one minor.</summary>
public sealed record PatchRange(int From, int To, string Value);

/// <summary>What the catalog records for one minor release line.</summary>
public sealed record MinorRelease(
    int Major,
    int Minor,
    int LastPatch,
    IReadOnlyList<string> Order,
    IReadOnlyList<PatchRange> DefaultRegistry,
    IReadOnlyList<PatchRange> Etcd,
    IReadOnlyList<PatchRange> Pause,
    IReadOnlyList<PatchRange> CoreDns)
{
    public KubernetesVersion First => new(Major, Minor, 0);

    public KubernetesVersion Last => new(Major, Minor, LastPatch);
}

/// <summary>
/// The version catalog: kubeadm's image facts per Kubernetes release, loaded from
/// manifests/kubeadm-images.yaml (carried in the binary as the code `make catalogs` writes from it) so that
/// no version fact lives in hand-written code.
/// </summary>
public sealed partial class VersionCatalog
{
    /// <summary>The image names a layout must order, each exactly once.</summary>
    public static readonly IReadOnlyList<string> Components =
        ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "pause", "etcd", "coredns"];

    /// <summary>The file name errors give for the catalog the binary carries.</summary>
    internal const string BuiltInName = "manifests/kubeadm-images.yaml (built in)";

    // The catalog as code (BuiltInCatalogs.g.cs, written from the YAML file by `make catalogs`): built, not parsed, on each start.
    private static readonly Lazy<VersionCatalog> EmbeddedCatalog = new(BuiltIn);

    private VersionCatalog(IReadOnlyList<MinorRelease> releases) => Releases = releases;

    /// <summary>The catalog that ships inside the binary.</summary>
    public static VersionCatalog Embedded => EmbeddedCatalog.Value;

    /// <summary>The minors, oldest first, with no gap between them.</summary>
    public IReadOnlyList<MinorRelease> Releases { get; }

    public KubernetesVersion First => Releases[0].First;

    public KubernetesVersion Last => Releases[^1].Last;

    /// <summary>"v1.23.0–v1.31.2 (1.23.0–1.23.17, …)": what an error about an unknown version shows.</summary>
    public string SupportedRange =>
        $"v{First}–v{Last} ({string.Join(", ", Releases.Select(r => $"{r.First}–{r.Last}"))})";

    /// <summary>The facts for one release; a version the catalog does not cover is bad input.</summary>
    public KubeadmRelease Resolve(KubernetesVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var minor = Releases.FirstOrDefault(r => r.Major == version.Major && r.Minor == version.Minor);
        if (minor is null || version.Patch > minor.LastPatch)
        {
            var why = minor is null
                ? "is outside the releases offlinekit knows kubeadm's images for"
                : $"is newer than the last {minor.Major}.{minor.Minor} patch offlinekit has confirmed kubeadm's images for";
            throw new BadInputException($"Kubernetes v{version} {why}; the nearest supported is {Nearest(version)} (supported are {SupportedRange})");
        }

        return new KubeadmRelease(
            version,
            Pick(minor.DefaultRegistry, version.Patch),
            Pick(minor.Etcd, version.Patch),
            Pick(minor.Pause, version.Patch),
            Pick(minor.CoreDns, version.Patch),
            minor.Order);
    }

    /// <summary>The supported release closest to <paramref name="version"/>: its minor's last patch, else the first or last release.</summary>
    public KubernetesVersion Nearest(KubernetesVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var minor = Releases.FirstOrDefault(r => r.Major == version.Major && r.Minor == version.Minor);
        if (minor is not null)
        {
            return version.Patch > minor.LastPatch ? minor.Last : version;
        }

        return version < First ? First : Last;
    }

    /// <summary>Parses and checks a catalog; every error names file:line.</summary>
    public static VersionCatalog Parse(string text, string file)
    {
        var root = YamlMapReader.Load(text, file, "catalog");
        root.RequireHeader("KubeadmImageCatalog", "a kubeadm image catalog");

        var layouts = ReadLayouts(root.RequiredMap("layouts"));
        var releases = root.MapList("releases", required: true).Select(r => ReadRelease(r, layouts)).ToList();
        root.EnsureNoUnknownKeys();

        for (var i = 1; i < releases.Count; i++)
        {
            var (previous, next) = (releases[i - 1], releases[i]);
            if (next.Major != previous.Major || next.Minor != previous.Minor + 1)
            {
                throw root.ErrorAt(
                    "releases",
                    $"releases must be consecutive minors, oldest first: {next.Major}.{next.Minor} follows {previous.Major}.{previous.Minor}");
            }
        }

        return new VersionCatalog(releases);
    }

    private static Dictionary<string, IReadOnlyList<string>> ReadLayouts(YamlMapReader map)
    {
        var layouts = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var name in map.Keys())
        {
            var order = map.StringList(name, required: true);
            if (order.Count != Components.Count || !Components.All(order.Contains))
            {
                throw map.ErrorAt(name, $"{map.Field(name)} must name each of {string.Join(", ", Components)} exactly once");
            }

            layouts[name] = order;
        }

        map.EnsureNoUnknownKeys();
        return layouts;
    }

    private static MinorRelease ReadRelease(YamlMapReader map, Dictionary<string, IReadOnlyList<string>> layouts)
    {
        var minorText = map.RequiredString("minor");
        if (!TryParseMinor(minorText, out var major, out var minor))
        {
            throw map.ErrorAt("minor", $"{map.Field("minor")} must be MAJOR.MINOR such as \"1.23\", found '{minorText}'");
        }

        var patches = ReadRange(map, "patches", map.RequiredString("patches"));
        if (patches.From != 0)
        {
            throw map.ErrorAt("patches", $"{map.Field("patches")} must start at patch 0");
        }

        var orderName = map.RequiredString("order");
        if (!layouts.TryGetValue(orderName, out var order))
        {
            throw map.ErrorAt("order", $"{map.Field("order")}: no layout '{orderName}' (known: {string.Join(", ", layouts.Keys)})");
        }

        var release = new MinorRelease(
            major,
            minor,
            patches.To,
            order,
            ReadRanges(map, "defaultRegistry", patches.To),
            ReadRanges(map, "etcd", patches.To),
            ReadRanges(map, "pause", patches.To),
            ReadRanges(map, "coredns", patches.To));
        map.EnsureNoUnknownKeys();
        return release;
    }

    /// <summary>A value per patch range; the ranges must cover 0..lastPatch in order, without gap or overlap.</summary>
    private static List<PatchRange> ReadRanges(YamlMapReader map, string key, int lastPatch)
    {
        var ranges = new List<PatchRange>();
        foreach (var item in map.MapList(key, required: true))
        {
            var range = ReadRange(item, "patches", item.RequiredString("patches"));
            var expectedFrom = ranges.Count == 0 ? 0 : ranges[^1].To + 1;
            if (range.From != expectedFrom)
            {
                throw item.ErrorAt("patches", $"{item.Field("patches")} must start at patch {expectedFrom} (ranges are in order, without gap or overlap)");
            }

            ranges.Add(range with { Value = item.RequiredString("value") });
            item.EnsureNoUnknownKeys();
        }

        if (ranges.Count == 0)
        {
            throw map.ErrorAt(key, $"{map.Field(key)} must not be empty");
        }

        if (ranges[^1].To != lastPatch)
        {
            throw map.ErrorAt(key, $"{map.Field(key)} must cover patches 0-{lastPatch}, but ends at {ranges[^1].To}");
        }

        return ranges;
    }

    private static PatchRange ReadRange(YamlMapReader map, string key, string text)
    {
        var parts = text.Split('-');
        if (parts.Length != 2 || !TryParseNumber(parts[0], out var from) || !TryParseNumber(parts[1], out var to) || to < from)
        {
            throw map.ErrorAt(key, $"{map.Field(key)} must be a patch range FROM-TO such as 0-13, found '{text}'");
        }

        return new PatchRange(from, to, string.Empty);
    }

    /// <summary>"1.23" as (1, 23); the catalogs write minors this way.</summary>
    internal static bool TryParseMinor(string text, out int major, out int minor)
    {
        major = minor = 0;
        var parts = text.Split('.');
        return parts.Length == 2 && TryParseNumber(parts[0], out major) && TryParseNumber(parts[1], out minor);
    }

    internal static bool TryParseNumber(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value < 100_000;

    private static string Pick(IReadOnlyList<PatchRange> ranges, int patch) =>
        ranges.First(r => patch >= r.From && patch <= r.To).Value;
}
