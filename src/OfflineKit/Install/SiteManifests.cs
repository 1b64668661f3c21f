using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Manifests;
using OfflineKit.Spec;

namespace OfflineKit.Install;

/// <summary>An addon's manifest as this site applies it: rendered here from the bundle's upstream copy and recorded patches, or the bundle's own file for an older bundle.</summary>
/// <param name="Name">The addon (calico, metrics-server).</param>
/// <param name="BundlePath">The bundle's pre-rendered manifests/NAME.yaml.</param>
/// <param name="Rendered">The site's text, or null when the bundle carries no recipe (its own file is applied as it is).</param>
/// <param name="Changes">What the patches changed, for --dry-run.</param>
public sealed record SiteManifest(string Name, string BundlePath, string? Rendered, IReadOnlyList<string> Changes)
{
    public string Sha256 => Rendered is null ? string.Empty : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Rendered)));

    /// <summary>The site values its patches were rendered with ("cluster.podSubnet" → "10.244.0.0/16"); the journal records them.</summary>
    public IReadOnlyDictionary<string, string> Values { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>What the journal records of it, or null for a bundle's own file applied as it is.</summary>
    public RenderedAddon? Record => Rendered is null ? null : new RenderedAddon(Name, Sha256, Values);
}

/// <summary>
/// Site values at install time: the pod CIDR (and the other cluster.* values a patch names) come from
/// the inventory, rendered into each addon's upstream manifest with the bundle's recorded patches
/// (<see cref="AddonRecipes"/>), the same code the build renders the defaults with. One verified bundle
/// serves any number of sites; a site with the spec's defaults gets the bundle's manifests byte for byte.
/// </summary>
public static class SiteManifests
{
    public static IReadOnlyList<SiteManifest> Render(BundleContents bundle, ClusterSettings cluster)
    {
        var manifests = bundle.Artifacts.Where(a => a.Kind == ArtifactKind.Manifest).ToList();
        if (!bundle.ManifestTexts.TryGetValue(AddonRecipes.File, out var recipesText))
        {
            return [.. manifests.Select(m => new SiteManifest(m.Name, m.Path, null, []))];
        }

        var recipes = AddonRecipes.Parse(recipesText, AddonRecipes.File).ToDictionary(a => a.Name, StringComparer.Ordinal);
        var values = AddonRecipes.Cluster(cluster.PodSubnet, cluster.ServiceSubnet, cluster.DnsDomain);
        return [.. manifests.Select(m =>
        {
            var path = m.Path;
            if (!recipes.TryGetValue(m.Name, out var recipe) || !bundle.ManifestTexts.TryGetValue(AddonRecipes.UpstreamPath(m.Name), out var upstream))
            {
                return new SiteManifest(m.Name, path, null, []);
            }

            var rendered = AddonRecipes.Render(recipe, values, Encoding.UTF8.GetBytes(upstream));
            return new SiteManifest(m.Name, path, Encoding.UTF8.GetString(rendered.Content.Span), [.. rendered.Changes.Select(c => c.ToString())])
            {
                Values = new SortedDictionary<string, string>(
                    recipe.Patches.SelectMany(p => ClusterVariables.Used(p.Value, values)).DistinctBy(kv => kv.Key).ToDictionary(), StringComparer.Ordinal),
            };
        })];
    }
}
