using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// Where a host gets the bundle's images and RPMs: the one seam DESIGN.md's "Scale" asks for. Every host
/// pushed the part of the bundle its role needs (<see cref="PushedBundle"/>, cluster.sources: pushed), or
/// the bundle pushed once to a depot that serves the others (<see cref="SiteSupply"/>, cluster.sources: site).
/// The planner's packages, runtime and images steps take what <see cref="Sourcing"/> says; no step knows
/// which supply is in use.
/// </summary>
public interface IHostSupply
{
    /// <summary>Where the later steps find the bundle's scripts/, rpms/ and images/ on the host.</summary>
    string BundleDirectory(InventoryHost host, BundleContents bundle);

    /// <summary>The steps that make the host's share available there and prove it unchanged, before any other step.</summary>
    IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle);

    /// <summary>Where the host's packages and images come from, for the packages, runtime and images steps.</summary>
    HostSourcing Sourcing(InventoryHost host, BundleContents bundle, string siteDirectory);

    /// <summary>What puts <paramref name="file"/> (the same on every host) at <paramref name="remotePath"/> on the host.</summary>
    IReadOnlyList<HostAction> Place(InventoryHost host, BundleContents bundle, SharedFile file, string remotePath);

    /// <summary>The supply of an inventory's cluster.sources.</summary>
    public static IHostSupply For(Inventory inventory) =>
        inventory.Cluster.Sources == HostSources.Site ? new SiteSupply(inventory) : new PushedBundle();
}

/// <summary>
/// What a host's packages, runtime and images steps are given: install-packages.sh's extra arguments
/// (a repository URL), the registries the runtime is configured for beside the inventory's (mirrors with
/// their paths, plain HTTP), and what the images step does first and its extra arguments (a pull list).
/// <see cref="Bundle"/>: everything from the bundle on the host.
/// </summary>
public sealed record HostSourcing
{
    public static readonly HostSourcing Bundle = new();

    public IReadOnlyList<string> PackagesArguments { get; init; } = [];

    public IReadOnlyList<RegistrySettings> Registries { get; init; } = [];

    public IReadOnlyList<HostAction> ImagesBefore { get; init; } = [];

    public IReadOnlyList<string> ImagesArguments { get; init; } = [];

    /// <summary>The images step's title, when it does not load the bundle's archives.</summary>
    public string? ImagesTitle { get; init; }

    /// <summary>The cluster settings the runtime step renders: the inventory's, with these registries added (one per host name, these win).</summary>
    public ClusterSettings Apply(ClusterSettings cluster)
    {
        if (Registries.Count == 0)
        {
            return cluster;
        }

        var registries = cluster.Registries.Where(r => Registries.All(s => s.Host != r.Host)).Concat(Registries).ToList();
        return cluster with
        {
            Registries = registries,
            InsecureRegistries = [.. cluster.InsecureRegistries.Union(Registries.Where(r => r.Insecure).Select(r => r.Host), StringComparer.Ordinal)],
        };
    }
}

/// <summary>
/// Push the files a role needs to <c>stateDir/&lt;bundle&gt;/</c> over SFTP, then <c>sha256sum --check</c>
/// them on the host against the SHA256SUMS lines of exactly those files (written beside the folder as
/// <c>&lt;bundle&gt;.&lt;role&gt;.sha256</c>). A worker gets everything but the control-plane images
/// (images/control-plane.tar and its name list); a control-plane node gets the whole bundle.
/// </summary>
public sealed class PushedBundle : IHostSupply
{
    public const string PushStep = "push";
    public const string VerifyStep = "verify";

    public string BundleDirectory(InventoryHost host, BundleContents bundle) => $"{host.StateDirectory}/{bundle.Name}";

    public static string SumsPath(InventoryHost host, BundleContents bundle) => $"{host.StateDirectory}/{bundle.Name}.{InstallPlan.RoleName(host.Role)}.sha256";

    /// <summary>The files of the bundle a role needs.</summary>
    public static IReadOnlyList<BundleFileEntry> FilesFor(HostRole role, BundleContents bundle)
    {
        var parts = BundleImages.PartsFor(InstallPlan.RoleName(role));
        // A control-plane node needs every image part; the ones a role does not need are left behind.
        var skipped = BundleImages.PartsFor(InstallPlan.RoleName(HostRole.ControlPlane))
            .Except(parts)
            .SelectMany(p => new[] { $"{BundleLayout.ImagesDir}/{p}.tar", $"{BundleLayout.ImagesDir}/{p}.images" })
            .ToHashSet(StringComparer.Ordinal);
        return bundle.Files.Where(f => !skipped.Contains(f.Path)).ToList();
    }

    public HostSourcing Sourcing(InventoryHost host, BundleContents bundle, string siteDirectory) => HostSourcing.Bundle;

    public IReadOnlyList<HostAction> Place(InventoryHost host, BundleContents bundle, SharedFile file, string remotePath) => [Write(file, remotePath)];

    /// <summary>A shared file written to the host over SFTP.</summary>
    internal static WriteFile Write(SharedFile file, string remotePath) => new(remotePath, file.Content, file.What);

    public IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle) => Steps(host, bundle, FilesFor(host.Role, bundle));

    /// <summary>Push <paramref name="files"/> and check them on the host: what the depot of a site gets too, with the whole bundle.</summary>
    internal static IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle, IReadOnlyList<BundleFileEntry> files)
    {
        var directory = $"{host.StateDirectory}/{bundle.Name}";
        var pushed = bundle.Signature is { } signature ? [.. files, signature] : files;
        var (proof, keyPath) = Proof(host, bundle, files, "gets");
        var actions = new List<HostAction>(MakeFolders(host, directory, files))
        {
            new PushFiles(directory, pushed.Select(f => new PushFile(f.Path, f.Size, f.Sha256)).ToList()),
        };
        actions.AddRange(proof);
        return
        [
            new HostStep(PushStep, $"push {pushed.Count} files ({PushFiles.SizeText(pushed.Sum(f => f.Size))}) to {directory}/", actions, [], RunsEveryRun: true),
            Verify(host, bundle, directory, keyPath, "pushed"),
        ];
    }

    /// <summary>The bundle's folder and the subfolders of <paramref name="files"/>, owned by the login user (SFTP and the fetch run as that user); root makes them.</summary>
    internal static IReadOnlyList<HostAction> MakeFolders(InventoryHost host, string directory, IEnumerable<BundleFileEntry> files)
    {
        var (owned, mkdir) = Folders(host, directory, files);
        return [.. owned, new RunCommand(new RemoteCommand(mkdir))];
    }

    /// <summary>What <see cref="MakeFolders"/> runs: root's command that gives another user the folder (none for root), and the user's mkdir.</summary>
    internal static (IReadOnlyList<HostAction> Owned, string Mkdir) Folders(InventoryHost host, string directory, IEnumerable<BundleFileEntry> files)
    {
        var folders = files.Select(f => f.Path).Where(p => p.Contains('/', StringComparison.Ordinal))
            .Select(p => $"{directory}/{p[..p.LastIndexOf('/')]}").Distinct().Order(StringComparer.Ordinal).ToList();

        // A user who may sudo gains nothing by owning it.
        return host.IsRoot
            ? ([], $"mkdir -p -- {Shell.Join([directory, .. folders])}")
            : ([new RunCommand(new RemoteCommand($"install -d -m 0755 -o {Shell.Quote(host.User)} -- {Shell.Join([host.StateDirectory, directory])}", AsRoot: true))], $"mkdir -p -- {Shell.Join(folders)}");
    }

    /// <summary>What the host's bytes are checked against, written by offlinekit: the SHA256SUMS lines of exactly <paramref name="files"/>, and the public key of install --key.</summary>
    internal static (IReadOnlyList<HostAction> Actions, string? KeyPath) Proof(InventoryHost host, BundleContents bundle, IReadOnlyList<BundleFileEntry> files, string got)
    {
        var (key, keyPath) = Key(host, bundle);
        return ([new WriteFile(SumsPath(host, bundle), string.Concat(files.Select(f => $"{f.Sha256}  {f.Path}\n")), $"the SHA256SUMS lines of the {files.Count} files a {InstallPlan.RoleName(host.Role)} {got}"), .. key], keyPath);
    }

    /// <summary>The public key of install --key, written to the host, and where: none without a key.</summary>
    internal static (IReadOnlyList<HostAction> Actions, string? KeyPath) Key(InventoryHost host, BundleContents bundle)
    {
        if (bundle.PublicKeyPem is not { } pem)
        {
            return ([], null);
        }

        var keyPath = $"{host.StateDirectory}/{bundle.Name}.pub.pem";
        return ([new WriteFile(keyPath, pem, "the public key bundle.json.sig is checked with (install --key)")], keyPath);
    }

    /// <summary>The verify step: sha256sum (or scripts/verify.sh --key) on the host, against what <see cref="Proof"/> wrote.</summary>
    internal static HostStep Verify(InventoryHost host, BundleContents bundle, string directory, string? keyPath, string how) => new(
        VerifyStep,
        keyPath is null ? $"check every {how} byte on the host with sha256sum" : $"check the bundle's signature with openssl, then every {how} byte with sha256sum (scripts/verify.sh --key)",
        [new CheckSums(directory, SumsPath(host, bundle)) { PublicKey = keyPath }],
        [],
        RunsEveryRun: true);
}
