using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// A container runtime as the install sees it: the socket kubeadm and crictl use, the step that
/// configures it, how images go into it and are found there, and what reset and status ask it.
/// The bundle chooses it (bundle.json's runtime; absent = the guide's docker). Adding a runtime is one
/// more subclass here.
/// </summary>
public abstract class RuntimeProfile
{
    /// <summary>bundle.json's name for it: "docker" or "containerd".</summary>
    public abstract string Name { get; }

    /// <summary>The CRI socket for kubeadm's nodeRegistration.criSocket.</summary>
    public abstract string CriSocket { get; }

    /// <summary>The systemd service that runs it.</summary>
    public abstract string Service { get; }

    /// <summary>What the packages step installs, in words, for the plan.</summary>
    public abstract string PackagesTitle { get; }

    /// <summary>The runtime step: its title, what offlinekit does before the script, and the script's arguments.</summary>
    public abstract RuntimeStep Configure(RuntimeContext context);

    /// <summary>The arguments import-images.sh gets besides --role (docker: none, it finds the daemon itself; the guide's command).</summary>
    public abstract IReadOnlyList<string> ImportArguments { get; }

    public string ImportTitle(string role) => $"the {role} images into {Name}";

    /// <summary>The command that prints the runtime's configuration with its sandbox image (containerd), or null (docker: the kubelet's flag from kubeadm).</summary>
    public virtual RemoteCommand? SandboxConfigCommand(string bundleDirectory) => null;

    public static readonly RuntimeProfile Docker = new DockerProfile();

    public static readonly RuntimeProfile Containerd = new ContainerdProfile();

    /// <summary>The bundle's runtime; a bundle that names none is the guide's docker bundle.</summary>
    public static RuntimeProfile For(BundleContents bundle) => bundle.Runtime switch
    {
        null or "docker" => Docker,
        "containerd" => Containerd,
        var other => throw new BadInputException($"{bundle.Name}: bundle.json names the runtime '{other}', which this offlinekit does not know (docker or containerd); use a newer offlinekit"),
    };
}

/// <summary>What a runtime's configure step needs: the inventory's cluster settings, the host, the bundle, where it is on the host and where site files go.</summary>
public sealed record RuntimeContext(ClusterSettings Cluster, InventoryHost Host, BundleContents Bundle, string BundleDirectory, string SiteDirectory)
{
    /// <summary>The pause image of the bundle's kubeadm image list: the sandbox image kubeadm expects, exactly.</summary>
    public ImageReference? PauseImage => Bundle.Artifacts
        .Where(a => a.Kind == ArtifactKind.Image)
        .Select(a => ImageReference.TryParse(a.Name, out var r) ? r : null)
        .FirstOrDefault(r => r is not null && (r.Repository == "pause" || r.Repository.EndsWith("/pause", StringComparison.Ordinal)));
}

/// <summary>The runtime step as a runtime describes it: <see cref="Before"/> runs first, then configure-runtime.sh with <see cref="Arguments"/>.</summary>
public sealed record RuntimeStep(string Title, IReadOnlyList<HostAction> Before, IReadOnlyList<string> Arguments);

/// <summary>docker-ce with dockershim, as the guide sets it up for Kubernetes 1.23.</summary>
public sealed class DockerProfile : RuntimeProfile
{
    public override string Name => "docker";

    public override string CriSocket => KubeadmConfig.DockerShimSocket;

    public override string Service => "docker";

    public override string PackagesTitle => "docker-ce, kubelet, kubeadm, kubectl, chrony and their closure from the bundle's rpms/ only";

    public override IReadOnlyList<string> ImportArguments => [];

    /// <summary>
    /// daemon.json's mirrors and insecure registries as arguments; a registry's CA (docker's
    /// /etc/docker/certs.d/&lt;registry&gt;/ca.crt) and the site registry's login (merged into root's docker
    /// config) written to the site folder for configure-runtime.sh --site-dir to put in place.
    /// </summary>
    public override RuntimeStep Configure(RuntimeContext context)
    {
        var site = $"{context.SiteDirectory}/docker";
        // A CA for the registry itself; one given with mirrors is the mirrors' (site mode's origin registries), which docker never reaches.
        var cas = context.Cluster.Registries.Where(r => r.CaCertificate is not null && r.Mirrors.Count == 0).ToList();
        // One login at most: the site's own registry's (site mode); config.json holds that entry alone.
        var logins = context.Cluster.Registries.Select(r => r.CredentialOf).OfType<string>().Distinct(StringComparer.Ordinal).Take(1).ToList();
        var before = new List<HostAction>();
        if (cas.Count + logins.Count > 0)
        {
            before.Add(new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Join([site, .. cas.Select(r => $"{site}/certs.d/{r.Host}")])}")));
            before.AddRange(cas.Select(r => new WriteFile($"{site}/certs.d/{r.Host}/{HostsToml.CaFile}", r.CaCertificate!, $"the CA of {r.Host}, from {r.CaFile}")));
            before.AddRange(logins.Select(of => new WriteRegistryCredential($"{site}/config.json", of, "the login root's docker config gets", token => WriteRegistryCredential.DockerConfig(of, token))));
        }

        return new RuntimeStep(
            $"/etc/docker/daemon.json merged (systemd cgroup driver, registries){(cas.Count > 0 ? ", registries' CAs in /etc/docker/certs.d" : string.Empty)}{(logins.Count > 0 ? $", the login for {string.Join(", ", logins)} in root's docker config" : string.Empty)}; docker enabled and started; kubelet enabled",
            before,
            [
                .. context.Cluster.RegistryMirrors.SelectMany(m => new[] { "--registry-mirror", m }),
                .. context.Cluster.InsecureRegistries.SelectMany(r => new[] { "--insecure-registry", r }),
                .. before.Count > 0 ? new[] { "--site-dir", context.SiteDirectory } : [],
            ]);
    }
}
