using System.Net;

namespace OfflineKit.Install;

/// <summary>
/// The hosts to install onto and the cluster they form, as loaded from an inventory file.
/// Secrets are references (<see cref="Secret"/>) resolved only when a connection needs them, so
/// a dry run works without them.
/// </summary>
public sealed record Inventory(string File, IReadOnlyList<InventoryHost> Hosts, ClusterSettings Cluster)
{
    /// <summary>The first control-plane host, the one that runs kubeadm init (the loader guarantees there is one).</summary>
    public InventoryHost ControlPlane => Hosts.First(h => h.IsControlPlane);

    public IReadOnlyList<InventoryHost> ControlPlanes => [.. Hosts.Where(h => h.IsControlPlane)];

    public IEnumerable<InventoryHost> Workers => Hosts.Where(h => h.IsNode && !h.IsControlPlane);
}

public enum HostRole
{
    ControlPlane,
    Worker,

    /// <summary>cluster.sources: site: the host the bundle is pushed to once, serving the others (may also be a node).</summary>
    Depot,
}

public sealed record InventoryHost(
    string Name,
    string Address,
    int Port,
    string User,
    HostAuth Auth,
    SudoSettings Sudo,
    IReadOnlyList<HostRole> Roles,
    string StateDirectory,
    int Line)
{
    public bool IsControlPlane => Roles.Contains(HostRole.ControlPlane);

    /// <summary>The depot of a site-mode install (<see cref="SiteSupply"/>).</summary>
    public bool IsDepot => Roles.Contains(HostRole.Depot);

    /// <summary>A node of the cluster (control plane or worker); a host whose one role is depot only serves the others.</summary>
    public bool IsNode => Roles.Contains(HostRole.ControlPlane) || Roles.Contains(HostRole.Worker);

    /// <summary>The role that decides what of the bundle the host gets: a control-plane node needs everything.</summary>
    public HostRole Role => IsControlPlane ? HostRole.ControlPlane : IsNode ? HostRole.Worker : HostRole.Depot;

    /// <summary>user@address, or user@[address]:port off port 22: how messages name the host.</summary>
    public string Target => Port == 22 ? $"{User}@{Address}" : $"{User}@[{Address}]:{Port}";

    public bool IsRoot => User == "root";
}

/// <summary>How offlinekit logs in: a private key (optionally encrypted) or a password.</summary>
public sealed record HostAuth(string? PrivateKeyFile, Secret? Passphrase, Secret? Password)
{
    public string Describe() => PrivateKeyFile is not null ? $"key {PrivateKeyFile}" : "password";
}

/// <summary>
/// How commands that need root run: not at all through sudo (root logs in), sudo without a password
/// (<c>sudo -n</c>), or sudo with a password fed on stdin (<c>sudo -S</c>), never on a command line.
/// </summary>
public sealed record SudoSettings(SudoMode Mode, Secret? Password)
{
    public static readonly SudoSettings None = new(SudoMode.None, null);
    public static readonly SudoSettings NoPassword = new(SudoMode.NoPassword, null);
}

public enum SudoMode
{
    /// <summary>The login user is root: commands run as they are.</summary>
    None,
    NoPassword,
    Password,
}

/// <summary>
/// A secret from the inventory: written in the file (<c>password: …</c>) or, better, named by an
/// environment variable (<c>passwordEnv: K8S_SSH_PASSWORD</c>). Its text never appears in a message.
/// </summary>
public sealed class Secret
{
    private readonly string? _inline;

    private Secret(string? inline, string? environmentVariable, string where)
    {
        _inline = inline;
        EnvironmentVariable = environmentVariable;
        Where = where;
    }

    public static Secret Inline(string value, string where) => new(value, null, where);

    public static Secret FromEnvironment(string variable, string where) => new(null, variable, where);

    public string? EnvironmentVariable { get; }

    /// <summary>file:line and field of the reference, for messages.</summary>
    public string Where { get; }

    /// <summary>The secret's text; a missing environment variable is bad input that names the file and line.</summary>
    public string Reveal(Func<string, string?>? environment = null)
    {
        if (_inline is not null)
        {
            return _inline;
        }

        var value = (environment ?? Environment.GetEnvironmentVariable)(EnvironmentVariable!);
        return string.IsNullOrEmpty(value)
            ? throw new BadInputException($"{Where}: environment variable {EnvironmentVariable} is not set; export it before running offlinekit")
            : value;
    }

    /// <summary>Never the secret itself, so a stray interpolation cannot leak it.</summary>
    public override string ToString() => EnvironmentVariable is null ? "(secret from the inventory)" : $"${EnvironmentVariable}";
}

/// <summary>
/// The cluster the hosts form: the guide's kubeadm networking, the registries (docker's daemon.json
/// additions: <see cref="RegistryMirrors"/> and <see cref="InsecureRegistries"/>; containerd's hosts.toml:
/// <see cref="Registries"/>, the same settings runtime-neutral), NTP.
/// </summary>
public sealed record ClusterSettings(
    IPNetwork PodSubnet,
    IPNetwork ServiceSubnet,
    string DnsDomain,
    string? ControlPlaneEndpoint,
    string? AdvertiseAddress,
    IReadOnlyList<string> RegistryMirrors,
    IReadOnlyList<string> InsecureRegistries,
    IReadOnlyList<string> NtpServers)
{
    /// <summary>The inventory's cluster.registries (or what cluster.docker says, in those terms).</summary>
    public IReadOnlyList<RegistrySettings> Registries { get; init; } = [];

    /// <summary>cluster.allowCgroupV1: a host on cgroup v1 is accepted by Kubernetes 1.35+ (failCgroupV1: false).</summary>
    public bool AllowCgroupV1 { get; init; }

    /// <summary>cluster.sources: where hosts get images and RPMs (<see cref="IHostSupply"/>).</summary>
    public HostSources Sources { get; init; } = HostSources.Pushed;

    /// <summary>cluster.site: the depot's ports and, optionally, the site's own registry (site mode only).</summary>
    public SiteSettings Site { get; init; } = new();

    /// <summary>cluster.loadBalancer with the endpoint it serves: null for one control plane without one.</summary>
    public LoadBalancer? LoadBalancer { get; init; }
}

public enum HostSources
{
    /// <summary>Every host is pushed its role's share of the bundle over SSH (<see cref="PushedBundle"/>).</summary>
    Pushed,

    /// <summary>The bundle is pushed once, to the depot, which serves everyone (<see cref="SiteSupply"/>).</summary>
    Site,
}

/// <summary>
/// cluster.site: the ports the depot serves the bundle (nginx) and its registry on, the repository path
/// images go under there, and optionally the site's existing registry (a Harbor) to seed instead.
/// </summary>
public sealed record SiteSettings
{
    public const int DefaultHttpPort = 8080;
    public const int DefaultRegistryPort = 5000;
    public const string DefaultPath = "k8s";

    public int HttpPort { get; init; } = DefaultHttpPort;

    public int RegistryPort { get; init; } = DefaultRegistryPort;

    /// <summary>cluster.site.registry: HOST:PORT[/PATH] of the site's registry, seeded with `images push`; null = the depot's own.</summary>
    public string? Registry { get; init; }

    /// <summary>The site registry's CA file and its PEM text (nodes trust it; the depot's seeding does too).</summary>
    public string? CaFile { get; init; }

    public string? CaCertificate { get; init; }

    /// <summary>cluster.site.insecure: the site registry speaks plain HTTP (the depot's own always does).</summary>
    public bool Insecure { get; init; }
}

/// <summary>
/// How the hosts reach one registry, named as images name it (docker.io, registry.aliyuncs.com, a site
/// Harbor): mirrors tried first, a CA to trust, TLS checks skipped only when asked, plain HTTP only when insecure.
/// </summary>
public sealed record RegistrySettings(string Host, IReadOnlyList<string> Mirrors, bool Insecure = false, bool SkipVerify = false)
{
    /// <summary>The inventory's CA file, for messages.</summary>
    public string? CaFile { get; init; }

    /// <summary>The CA's PEM text, read when the inventory is loaded.</summary>
    public string? CaCertificate { get; init; }

    /// <summary>
    /// The registry (HOST:PORT) whose credential the hosts send to it, from the operator's docker config
    /// (<see cref="WriteRegistryCredential"/>): the site's own registry in site mode; null sends none.
    /// </summary>
    public string? CredentialOf { get; init; }
}
