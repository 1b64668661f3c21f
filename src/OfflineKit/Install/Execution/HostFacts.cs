using System.Globalization;

namespace OfflineKit.Install;

/// <summary>
/// What one host told the preflight comparison (preflight.sh --facts): its DMI product_uuid, its
/// /etc/machine-id and how far its clock is from this machine's. "unknown" is a fact that could not be read.
/// </summary>
public sealed record HostFacts(string Host, string ProductUuid, string MachineId, double ClockOffset)
{
    /// <summary>What preflight.sh --facts prints for a fact it cannot read.</summary>
    public const string Unknown = "unknown";

    /// <summary>
    /// Reads the <c>key=value</c> lines of preflight.sh --facts; <paramref name="midpoint"/> is this machine's
    /// clock halfway through the round trip (Unix seconds). Null when no clock line was printed.
    /// </summary>
    public static HostFacts? Parse(string host, string output, double midpoint)
    {
        var facts = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!facts.TryGetValue("clock", out var clockText) || !double.TryParse(clockText, NumberStyles.Float, CultureInfo.InvariantCulture, out var clock))
        {
            return null;
        }

        return new HostFacts(host, facts.GetValueOrDefault("product-uuid", Unknown), facts.GetValueOrDefault("machine-id", Unknown), clock - midpoint);
    }
}

/// <summary>The cross-host checks of preflight, as a pure function of the facts: no I/O, no clock.</summary>
public static class HostComparison
{
    /// <summary>
    /// Compares <paramref name="host"/> with the hosts that reported before it. The same product_uuid twice
    /// is one machine named twice, or clones Kubernetes cannot tell apart (its docs ask for a unique one
    /// per node): a failure. The same /etc/machine-id is clones of one template: a warning, it breaks nothing
    /// in the cluster. Clocks further apart than <see cref="CompareHosts.MaxSkew"/> fail (certificates and
    /// etcd need agreeing clocks), further than <see cref="CompareHosts.WarnSkew"/> warn.
    /// </summary>
    public static (string? Failure, IReadOnlyList<string> Warnings) Compare(HostFacts host, IEnumerable<HostFacts> earlier)
    {
        var warnings = new List<string>();
        foreach (var other in earlier)
        {
            if (host.ProductUuid != HostFacts.Unknown && other.ProductUuid == host.ProductUuid)
            {
                return ($"{host.Host} and {other.Host} have the same product_uuid {host.ProductUuid}: one machine named twice in the inventory, or VM clones Kubernetes cannot tell apart (give each VM its own UUID)", []);
            }

            if (host.MachineId != HostFacts.Unknown && other.MachineId == host.MachineId)
            {
                warnings.Add($"{host.Host} and {other.Host} have the same /etc/machine-id (VM clones?): give each its own (rm /etc/machine-id && systemd-machine-id-setup)");
            }

            var skew = Math.Abs(host.ClockOffset - other.ClockOffset);
            if (skew > CompareHosts.MaxSkew.TotalSeconds)
            {
                return (string.Create(CultureInfo.InvariantCulture, $"the clocks of {host.Host} and {other.Host} are {skew:0.0} s apart (more than {CompareHosts.MaxSkew.TotalSeconds:0} s): set them (date -s, or chrony from a site server) and run again"), []);
            }

            if (skew > CompareHosts.WarnSkew.TotalSeconds)
            {
                warnings.Add(string.Create(CultureInfo.InvariantCulture, $"the clocks of {host.Host} and {other.Host} are {skew:0.0} s apart; the time step makes the workers follow the control plane"));
            }
        }

        return (null, warnings);
    }
}
