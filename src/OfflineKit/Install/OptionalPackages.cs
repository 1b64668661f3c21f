using OfflineKit.Bundle;

namespace OfflineKit.Install;

/// <summary>
/// Packages a bundle carries for some hosts only: haproxy and keepalived for the control planes behind
/// keepalived-haproxy, and the depot's nginx (serve-depot.sh installs it on the depot). The packages step
/// of every other host leaves them out (install-packages.sh --skip), so a host gets only what it runs.
/// </summary>
public static class OptionalPackages
{
    /// <summary>install-packages.sh's --skip arguments for <paramref name="host"/>: only packages the bundle carries, so an older bundle's script is never given one.</summary>
    public static IReadOnlyList<string> SkipArguments(Inventory inventory, BundleContents bundle, InventoryHost host)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(host);
        var runsLoadBalancer = host.IsControlPlane && inventory.Cluster.LoadBalancer is { Kind: LoadBalancerKind.KeepalivedHaproxy };
        var optional = (runsLoadBalancer ? [] : Catalog.ReleaseCatalog.Embedded.LoadBalancer.Packages).Concat(Catalog.ReleaseCatalog.Embedded.Depot.Packages);
        var carried = bundle.Artifacts.Where(a => a.Kind == ArtifactKind.Rpm).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        return [.. optional.Where(carried.Contains).SelectMany(p => new[] { "--skip", p })];
    }
}
