using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// Where a host gets the bundle's images and RPMs: the one seam DESIGN.md's "Scale" asks for. Today
/// every host is pushed the part of the bundle its role needs (<see cref="PushedBundle"/>); a site
/// registry and yum repo for hundreds of hosts would be another implementation, changing nothing else.
/// </summary>
public interface IHostSupply
{
    /// <summary>Where the later steps find the bundle's scripts/, rpms/ and images/ on the host.</summary>
    string BundleDirectory(InventoryHost host, BundleContents bundle);

    /// <summary>The steps that make the host's share available there and prove it unchanged, before any other step.</summary>
    IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle);
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

    public IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle)
    {
        var directory = BundleDirectory(host, bundle);
        var files = FilesFor(host.Role, bundle);
        var sumsPath = SumsPath(host, bundle);
        var folders = files.Select(f => f.Path).Where(p => p.Contains('/', StringComparison.Ordinal))
            .Select(p => $"{directory}/{p[..p.LastIndexOf('/')]}").Distinct().Order(StringComparer.Ordinal);

        // The login user owns the state folder, so SFTP (which runs as that user) can write it; root
        // makes it. A user who may sudo gains nothing by owning it.
        var make = host.IsRoot
            ? new RemoteCommand($"mkdir -p -- {Shell.Join([directory, .. folders])}")
            : new RemoteCommand($"install -d -m 0755 -o {Shell.Quote(host.User)} -- {Shell.Join([host.StateDirectory, directory])}", AsRoot: true);
        var actions = new List<HostAction> { new RunCommand(make) };
        if (!host.IsRoot)
        {
            actions.Add(new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Join(folders)}")));
        }

        var pushed = bundle.Signature is { } signature ? [.. files, signature] : files;
        actions.Add(new PushFiles(directory, pushed.Select(f => new PushFile(f.Path, f.Size, f.Sha256)).ToList()));
        actions.Add(new WriteFile(
            sumsPath,
            string.Concat(files.Select(f => $"{f.Sha256}  {f.Path}\n")),
            $"the SHA256SUMS lines of the {files.Count} files a {InstallPlan.RoleName(host.Role)} gets"));
        string? keyPath = null;
        if (bundle.PublicKeyPem is { } pem)
        {
            keyPath = $"{host.StateDirectory}/{bundle.Name}.pub.pem";
            actions.Add(new WriteFile(keyPath, pem, "the public key bundle.json.sig is checked with (install --key)"));
        }

        return
        [
            new HostStep(PushStep, $"push {pushed.Count} files ({PushFiles.SizeText(pushed.Sum(f => f.Size))}) to {directory}/", actions, [], RunsEveryRun: true),
            new HostStep(
                VerifyStep,
                keyPath is null ? "check every pushed byte on the host with sha256sum" : "check the bundle's signature with openssl, then every pushed byte with sha256sum (scripts/verify.sh --key)",
                [new CheckSums(directory, sumsPath) { PublicKey = keyPath }],
                [],
                RunsEveryRun: true),
        ];
    }
}
