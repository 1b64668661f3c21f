using System.Globalization;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// cluster.sources: site. The bundle is pushed once, to the depot (the host with the role depot, or the
/// first control plane), which checks it as every pushed host does, then serves it
/// (scripts/serve-depot.sh): the bundle's folder over HTTP with nginx installed from the bundle's own
/// repository, and its images from the CNCF distribution registry (its image carried in the bundle, run
/// by the depot's container runtime) seeded by the bundle's own <c>offlinekit images push</c>, or the
/// site's registry (cluster.site.registry) seeded the same way. Every other host fetches from the depot
/// only the small files the steps read (scripts, image name lists, the package list and keys, the
/// manifests), checks them against the SHA256SUMS lines offlinekit writes to it, installs packages from
/// the depot's repository and pulls images through the runtime's mirror configuration: containerd's
/// hosts.toml for each origin registry (a mirror with a path, <c>override_path</c>), docker's
/// insecure-registries; each image by digest, tagged with its origin name. The operator's machine sends
/// the bundle once, whatever the host count.
/// </summary>
public sealed class SiteSupply(Inventory inventory) : IHostSupply
{
    public const string ServeStep = "serve";
    public const string FetchStep = "fetch";

    /// <summary>The file on a node listing the images to pull: "ORIGIN SOURCE@DIGEST" a line.</summary>
    public const string PullList = "images.pull";

    public InventoryHost Depot { get; } = inventory.Hosts.FirstOrDefault(h => h.IsDepot) ?? HostTopology.From(inventory).FirstControlPlane;

    private SiteSettings Site => inventory.Cluster.Site;

    /// <summary>The files the same on every host, which the depot serves under <see cref="SharedUrlPath"/>.</summary>
    private readonly SharedFiles _shared = SharedFiles.For(inventory);

    /// <summary>Where the depot's nginx serves the shared files, beside the bundle's folder.</summary>
    public const string SharedUrlPath = "shared";

    /// <summary>The depot's folder of shared files (offlinekit writes them, nginx serves them).</summary>
    public string SharedDirectory(BundleContents bundle) => $"{Depot.StateDirectory}/{bundle.Name}.shared";

    /// <summary>The depot's address as the other hosts reach it.</summary>
    private string DepotAddress => Depot.Address.Contains(':', StringComparison.Ordinal) ? $"[{Depot.Address}]" : Depot.Address;

    /// <summary>Where the depot serves the bundle's folder (rpms/ is the yum repository).</summary>
    public string BundleUrl => $"http://{DepotAddress}:{Site.HttpPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Where the images are: the site's registry, or the depot's own (plain HTTP, under cluster.site's default path).</summary>
    public PushTarget Registry => Site.Registry is { } site
        ? PushTarget.Parse(site)
        : new PushTarget($"{DepotAddress}:{Site.RegistryPort.ToString(CultureInfo.InvariantCulture)}", SiteSettings.DefaultPath);

    private bool PlainHttp => Site.Registry is null || Site.Insecure;

    public string BundleDirectory(InventoryHost host, BundleContents bundle) => $"{host.StateDirectory}/{bundle.Name}";

    /// <summary>What a host other than the depot fetches from it: what the steps read, never an image archive or an RPM.</summary>
    public static IReadOnlyList<BundleFileEntry> FetchedFiles(InventoryHost host, BundleContents bundle) =>
        bundle.Files.Where(f =>
            f.Path.StartsWith(BundleLayout.ScriptsDir + "/", StringComparison.Ordinal)
            || (f.Path.StartsWith(BundleLayout.ImagesDir + "/", StringComparison.Ordinal) && f.Path.EndsWith(".images", StringComparison.Ordinal))
            || f.Path == BundleLayout.PackagesList
            || f.Path.StartsWith(BundleLayout.RpmKeysDir + "/", StringComparison.Ordinal)
            || (host.IsControlPlane && f.Path.StartsWith(BundleLayout.ManifestsDir + "/", StringComparison.Ordinal))
            || f.Path is BundleLayout.ManifestFile or BundleLayout.SumsFile).ToList();

    public IReadOnlyList<HostStep> Steps(InventoryHost host, BundleContents bundle)
    {
        var directory = BundleDirectory(host, bundle);
        if (host.Name == Depot.Name)
        {
            return [.. PushedBundle.Steps(host, bundle, bundle.Files), Serve(host, bundle, directory)];
        }

        var files = FetchedFiles(host, bundle);
        var fetched = bundle.Signature is { } signature ? [.. files, signature] : files;
        return
        [
            new HostStep(
                FetchStep,
                $"fetch {fetched.Count} files ({PushFiles.SizeText(fetched.Sum(f => f.Size))}: scripts, image and package lists) from the depot {Depot.Name} ({BundleUrl}/), SHA256SUMS checked against the bundle's and the other files' lines taken from it; no image archive, no RPM",
                Fetch(host, bundle, directory, files, fetched, out var keyPath),
                [new StepRef(Depot.Name, ServeStep)],
                RunsEveryRun: true),
            PushedBundle.Verify(host, bundle, directory, keyPath, "fetched"),
        ];
    }

    /// <summary>
    /// A node's fetch, in one command as the login user (and, for another user than root, the folders made
    /// by root first): the files with curl over one connection; SHA256SUMS checked against the sha256 offlinekit
    /// has of it; the lines of the other fetched files taken from it into the host's sums file, which the
    /// verify step checks. A node is sent one short command, not a file of sums.
    /// </summary>
    private IReadOnlyList<HostAction> Fetch(InventoryHost host, BundleContents bundle, string directory, IReadOnlyList<BundleFileEntry> files, IReadOnlyList<BundleFileEntry> fetched, out string? keyPath)
    {
        keyPath = null;
        if (files.FirstOrDefault(f => f.Path == BundleLayout.SumsFile) is not { } sums)
        {
            return [new MissingFromBundle(BundleLayout.SumsFile)];
        }

        var lines = files.Where(f => f.Path != BundleLayout.SumsFile).Select(f => f.Path).ToList();
        var sumsPath = PushedBundle.SumsPath(host, bundle);
        var (owned, mkdir) = PushedBundle.Folders(host, directory, files);
        var curl = $"curl -fsS --retry 5 --retry-connrefused {string.Join(' ', fetched.Select(f => $"-o {Shell.Quote(f.Path)} {Shell.Quote($"{BundleUrl}/{f.Path}")}"))}";
        var check = $"{{ [ \"$(sha256sum < {BundleLayout.SumsFile})\" = '{sums.Sha256}  -' ] || {{ echo {Shell.Quote($"{BundleLayout.SumsFile} fetched from the depot {Depot.Name} is not this bundle's (sha256 {sums.Sha256}): is the depot serving another bundle?")} >&2; exit 1; }}; }}";
        var take = $"{{ echo '{sums.Sha256}  {BundleLayout.SumsFile}'; awk -v want={Shell.Quote(string.Join(' ', lines))} 'BEGIN {{ n = split(want, w, \" \"); for (i = 1; i <= n; i++) keep[w[i]] = 1 }} {{ p = $0; sub(/^[0-9a-f]+ [ *]/, \"\", p) }} (p in keep)' {BundleLayout.SumsFile}; }} > {Shell.Quote(sumsPath + ".tmp")}";
        var count = $"{{ [ \"$(wc -l < {Shell.Quote(sumsPath + ".tmp")})\" -eq {files.Count.ToString(CultureInfo.InvariantCulture)} ] || {{ echo {Shell.Quote($"{BundleLayout.SumsFile} from the depot {Depot.Name} lacks lines for some of the {lines.Count} files fetched")} >&2; exit 1; }}; }}";
        var command = $"{mkdir} && cd {Shell.Quote(directory)} && {curl} && {check} && {take} && {count} && mv {Shell.Quote(sumsPath + ".tmp")} {Shell.Quote(sumsPath)}";
        var (key, path) = PushedBundle.Key(host, bundle);
        keyPath = path;
        return [.. owned, .. key, new RunCommand(new RemoteCommand(command))];
    }

    public HostSourcing Sourcing(InventoryHost host, BundleContents bundle, string siteDirectory)
    {
        if (host.Name == Depot.Name)
        {
            // The depot holds the whole bundle: it installs and loads from it, as a pushed host does.
            return HostSourcing.Bundle;
        }

        var registry = Registry;
        var parts = BundleImages.PartsFor(InstallPlan.RoleName(host.Role)).Select(p => $"{BundleLayout.ImagesDir}/{p}.tar").ToHashSet(StringComparer.Ordinal);
        var pulls = bundle.Artifacts
            .Where(a => a.Kind == ArtifactKind.Image && a.Path is not null && parts.Contains(a.Path))
            .Select(a => (Origin: a.Name, Reference: ImageReference.TryParse(a.Name, out var r) ? r : null, a.Digest))
            .Where(p => p.Reference is not null)
            .ToList();
        var list = string.Concat(pulls.Select(p => $"{p.Origin} {registry.Registry}/{registry.RepositoryFor(p.Reference!)}@{p.Digest}\n"));
        var pullList = $"{siteDirectory}/{PullList}";
        var mirror = $"{(PlainHttp ? "http" : "https")}://{registry.Registry}/v2{(registry.Path.Length == 0 ? string.Empty : "/" + registry.Path)}";
        var ca = Site.CaCertificate;

        // The site's own registry may want a login: the hosts send the operator's docker config entry for it.
        var credential = Site.Registry is null ? null : registry.Registry;
        return new HostSourcing
        {
            PackagesArguments = ["--repo-url", $"{BundleUrl}/{BundleLayout.RpmsDir}"],
            Registries =
            [
                new RegistrySettings(registry.Registry, [], Insecure: PlainHttp) { CaFile = Site.CaFile, CaCertificate = ca, CredentialOf = credential },
                .. pulls.Select(p => p.Reference!.Registry).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                    .Select(origin => new RegistrySettings(origin, [mirror]) { CaFile = Site.CaFile, CaCertificate = ca, CredentialOf = credential }),
            ],
            ImagesBefore =
            [
                new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(siteDirectory)}")),
                new WriteFile(pullList, list, $"the {pulls.Count} images a {InstallPlan.RoleName(host.Role)} pulls from {registry}, each by the digest bundle.json records") { Preview = list },
            ],
            ImagesArguments = ["--pull-list", pullList, .. PlainHttp ? new[] { "--plain-http" } : []],
            ImagesTitle = $"pull the {InstallPlan.RoleName(host.Role)} images from {registry} by digest, tagged with their origin names",
        };
    }

    /// <summary>The depot's docker config folder for seeding the site's registry (its config.json holds that registry's entry alone).</summary>
    private static string SeedCredentialDirectory(InventoryHost host, BundleContents bundle) => $"{host.StateDirectory}/{bundle.Name}.site-auth";

    /// <summary>
    /// The depot has it written, as a pushed host; any other host fetches it from the depot and checks it against
    /// the sha256 offlinekit rendered, so a node is sent one command line whatever the file's size.
    /// </summary>
    public IReadOnlyList<HostAction> Place(InventoryHost host, BundleContents bundle, SharedFile file, string remotePath)
    {
        if (host.Name == Depot.Name)
        {
            return [PushedBundle.Write(file, remotePath)];
        }

        var path = Shell.Quote(remotePath);
        var url = $"{BundleUrl}/{SharedUrlPath}/{file.Name}";
        return
        [
            new RunCommand(new RemoteCommand(
                $"curl -fsS --retry 5 --retry-connrefused -o {path} {Shell.Quote(url)} && {{ [ \"$(sha256sum < {path})\" = '{file.Sha256}  -' ] || {{ echo {Shell.Quote($"{remotePath} fetched from {url} does not match the sha256 offlinekit rendered ({file.Sha256}): is the depot serving this inventory? (run install again)")} >&2; exit 1; }}; }}")),
        ];
    }

    /// <summary>The depot's serve step: nginx over the bundle's folder, the registry, and the images pushed into it.</summary>
    private HostStep Serve(InventoryHost host, BundleContents bundle, string directory)
    {
        var registry = Registry;
        var shared = SharedDirectory(bundle);
        string[] arguments =
        [
            "--http-port", Site.HttpPort.ToString(CultureInfo.InvariantCulture),
            .. Site.Registry is null
                ? new[] { "--registry-port", Site.RegistryPort.ToString(CultureInfo.InvariantCulture), "--path", registry.Path }
                : ["--site-registry", registry.ToString(), .. Site.Insecure ? new[] { "--insecure" } : []],
            .. Site.CaCertificate is null ? [] : new[] { "--ca-file", $"{host.StateDirectory}/{bundle.Name}.site-ca.crt" },
            .. Site.Registry is null ? [] : new[] { "--docker-config", SeedCredentialDirectory(host, bundle) },
            "--shared-dir", shared,
        ];
        var title = Site.Registry is null
            ? $"serve {directory}/ with nginx on :{Site.HttpPort} (installed from the bundle's rpms/; /{SharedUrlPath}/: the files the same for every host), the CNCF distribution registry on :{Site.RegistryPort} (the bundle's image, run by the runtime), the bundle's images pushed into it by bin/offlinekit images push"
            : $"serve {directory}/ with nginx on :{Site.HttpPort} (installed from the bundle's rpms/; /{SharedUrlPath}/: the files the same for every host); the bundle's images pushed into the site's registry {registry} by bin/offlinekit images push";
        if (!bundle.Has(BundleLayout.ServeDepotScript))
        {
            return new HostStep(ServeStep, title, [new MissingFromBundle(BundleLayout.ServeDepotScript)], [], RunsEveryRun: true);
        }

        var before = new List<HostAction>
        {
            new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(shared)}")),
        };
        before.AddRange(_shared.All.Select(f => PushedBundle.Write(f, $"{shared}/{f.Name}")));
        if (Site.CaCertificate is { } ca)
        {
            before.Add(new WriteFile($"{host.StateDirectory}/{bundle.Name}.site-ca.crt", ca, $"the CA of {registry.Registry}, from {Site.CaFile}"));
        }

        if (Site.Registry is not null)
        {
            // images push on the depot logs in as the operator does: a docker config with that one entry.
            var folder = SeedCredentialDirectory(host, bundle);
            before.Add(new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(folder)}")));
            before.Add(new WriteRegistryCredential($"{folder}/config.json", registry.Registry, "the docker config images push on the depot logs in with", token => WriteRegistryCredential.DockerConfig(registry.Registry, token)));
        }

        var command = new RemoteCommand($"bash {Shell.Quote($"{directory}/{BundleLayout.ServeDepotScript}")} {Shell.Join(arguments)}", AsRoot: true);
        return new HostStep(ServeStep, title, [.. before, new RunCommand(command)], [], RunsEveryRun: true);
    }
}
