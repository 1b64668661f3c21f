using System.Net;
using OfflineKit.Spec;
using YamlDotNet.Serialization;

namespace OfflineKit.Manifests;

/// <summary>
/// manifests/addons.yaml in a bundle: each addon as the build fetched it (its upstream bytes at
/// <see cref="UpstreamPath"/>) and the patches the spec records, with their <c>${cluster.*}</c>
/// variables unfilled. install renders each addon from these and the inventory's cluster values
/// (<see cref="Render"/>), so one bundle serves sites with different pod CIDRs; the build renders the
/// same way with the spec's defaults, so the bundle's manifests/NAME.yaml is what a site with those
/// values gets, byte for byte.
/// </summary>
public static class AddonRecipes
{
    public const string File = "manifests/addons.yaml";

    public static string UpstreamPath(string addonName) => $"manifests/upstream/{addonName}.yaml";

    /// <summary>One addon's recipe: the spec's addon (name, version, origin URL, patches).</summary>
    public static string ToYaml(IEnumerable<AddonSpec> addons)
    {
        var doc = new Dictionary<string, object?>
        {
            ["apiVersion"] = "offlinekit/v1",
            ["kind"] = "AddonRecipes",
            ["addons"] = addons.Select(a => new Dictionary<string, object?>
            {
                ["name"] = a.Name,
                ["version"] = a.Version,
                ["url"] = a.Url.AbsoluteUri,
                ["upstream"] = UpstreamPath(a.Name),
                ["patches"] = a.Patches.Select(BundleSpecWriter.Patch).ToList(),
            }).ToList(),
        };
        return "# offlinekit: each addon's upstream manifest and the patches install applies with the inventory's cluster values\n"
            + new SerializerBuilder().Build().Serialize(doc);
    }

    public static IReadOnlyList<AddonSpec> Parse(string text, string file)
    {
        var root = YamlMapReader.Load(text, file, "addon recipes");
        if (root.RequiredString("kind") != "AddonRecipes")
        {
            throw root.ErrorAt("kind", "kind must be AddonRecipes");
        }

        root.RequiredString("apiVersion");
        var addons = root.MapList("addons", required: true).Select(a =>
        {
            var name = a.RequiredString("name");
            var version = a.RequiredString("version");
            var url = new Uri(a.RequiredString("url"));
            var upstream = a.RequiredString("upstream");
            if (upstream != UpstreamPath(name))
            {
                throw a.ErrorAt("upstream", $"upstream must be {UpstreamPath(name)}");
            }

            var patches = a.MapList("patches").Select(BundleSpecLoader.ReadPatch).ToList();
            a.EnsureNoUnknownKeys();
            return new AddonSpec(name, version, url, patches);
        }).ToList();
        root.EnsureNoUnknownKeys();
        return addons;
    }

    /// <summary>An addon's manifest for a site: its upstream bytes with its patches, the variables filled from <paramref name="cluster"/>.</summary>
    public static PreparedManifest Render(AddonSpec addon, ClusterDefaults cluster, ReadOnlyMemory<byte> upstream) =>
        AddonManifests.Prepare(addon, cluster, new FetchedManifest(addon.Url, addon.Url, upstream, string.Empty), imageRegistry: null);

    public static ClusterDefaults Cluster(IPNetwork podSubnet, IPNetwork serviceSubnet, string dnsDomain) => new(podSubnet, serviceSubnet, dnsDomain);
}
