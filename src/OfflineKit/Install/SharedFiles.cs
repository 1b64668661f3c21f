using System.Security.Cryptography;
using System.Text;

namespace OfflineKit.Install;

/// <summary>
/// A file offlinekit renders from the inventory that is the same on every host (the /etc/hosts list).
/// How a host gets it is its supply's business (<see cref="IHostSupply.Place"/>): pushed mode writes it to
/// every host; site mode writes it once, to the depot, which serves it beside the bundle, and every other
/// host fetches it and checks it against the sha256 offlinekit gives it, so what the operator's machine
/// sends a node does not grow with the host count.
/// </summary>
public sealed record SharedFile(string Name, string Content, string What)
{
    public string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Content)));
}

/// <summary>The shared files of an inventory: one place renders them, for the planner and the depot alike.</summary>
public sealed class SharedFiles
{
    private SharedFiles(SharedFile hosts) => Hosts = hosts;

    /// <summary>Every host of the inventory, ADDRESS=NAME a line: prepare-host.sh's --hosts-file.</summary>
    public SharedFile Hosts { get; }

    public IReadOnlyList<SharedFile> All => [Hosts];

    public static SharedFiles For(Inventory inventory) => new(new SharedFile(
        "hosts",
        string.Concat(inventory.Hosts.Select(h => $"{h.Address}={h.Name}\n")),
        $"the {inventory.Hosts.Count} hosts of the inventory, ADDRESS=NAME, for /etc/hosts"));
}
