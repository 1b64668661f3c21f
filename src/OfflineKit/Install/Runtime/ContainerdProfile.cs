using OfflineKit.Bundle;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// containerd, for Kubernetes 1.24 and later. The runtime step merges /etc/containerd/config.toml in
/// offlinekit (<see cref="ContainerdConfig"/>, a real TOML library: hosts have no TOML parser), renders a
/// hosts.toml per registry of the inventory and /etc/crictl.yaml, writes them to the host's site folder,
/// and configure-runtime.sh puts them in place as root: the old config.toml kept once, containerd
/// restarted only when its file changed. Images go into the k8s.io namespace, where the kubelet looks.
/// </summary>
public sealed class ContainerdProfile : RuntimeProfile
{
    public override string Name => "containerd";

    public override string CriSocket => KubeadmConfig.ContainerdSocket;

    public override string Service => "containerd";

    public override string PackagesTitle => "containerd.io, kubelet, kubeadm, kubectl, cri-tools, chrony and their closure from the bundle's rpms/ only";

    public override IReadOnlyList<string> ImportArguments => ["--runtime", "containerd"];

    public override RemoteCommand SandboxConfigCommand(string bundleDirectory) =>
        new($"bash {Shell.Quote($"{bundleDirectory}/{BundleLayout.ConfigureRuntimeScript}")} --runtime containerd --show-config", AsRoot: true);

    public override RuntimeStep Configure(RuntimeContext context)
    {
        var site = context.SiteDirectory;
        var before = new List<HostAction>
        {
            new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Join([$"{site}/containerd", .. context.Cluster.Registries.Select(r => $"{site}/containerd/certs.d/{r.Host}")])}")),
        };
        if (context.PauseImage is { } pause)
        {
            before.Add(new MergeContainerdConfig(
                SandboxConfigCommand(context.BundleDirectory),
                $"{site}/containerd/config.toml",
                pause.ToString()));
        }
        else
        {
            before.Add(new MissingFromBundle("pause image (kubeadm's images): the sandbox image containerd pins"));
        }

        foreach (var registry in context.Cluster.Registries)
        {
            var path = $"{site}/containerd/certs.d/{registry.Host}/hosts.toml";
            before.Add(registry.CredentialOf is { } of
                ? new WriteRegistryCredential(path, of, $"containerd's hosts.toml for {registry.Host}, an Authorization header for {of}", token => HostsToml.Render(registry, token))
                : new WriteFile(path, HostsToml.Render(registry), $"containerd's hosts.toml for {registry.Host}, from cluster.registries") { Preview = HostsToml.Render(registry) });
            if (registry.CaCertificate is { } ca)
            {
                before.Add(new WriteFile($"{site}/containerd/certs.d/{registry.Host}/{HostsToml.CaFile}", ca, $"the CA of {registry.Host}, from {registry.CaFile}"));
            }
        }

        var crictl = $"runtime-endpoint: {CriSocket}\nimage-endpoint: {CriSocket}\ntimeout: 10\n";
        before.Add(new WriteFile($"{site}/crictl.yaml", crictl, "/etc/crictl.yaml: crictl talks to containerd") { Preview = crictl });
        return new RuntimeStep(
            $"/etc/containerd/config.toml merged (SystemdCgroup, sandbox {context.PauseImage?.ToString() ?? "(no pause image)"}, config_path), hosts.toml per registry, /etc/crictl.yaml; containerd enabled and started; kubelet enabled",
            before,
            ["--runtime", "containerd", "--site-dir", site]);
    }
}

/// <summary>
/// Reads <c>containerd config default</c> and the current /etc/containerd/config.toml on the host
/// (<see cref="Show"/>, as root), merges them with <see cref="ContainerdConfig.Merge"/> and writes the
/// result to <see cref="RemotePath"/> in the host's site folder, for configure-runtime.sh to put in place.
/// </summary>
public sealed record MergeContainerdConfig(RemoteCommand Show, string RemotePath, string SandboxImage) : HostAction
{
    /// <summary>The lines configure-runtime.sh --show-config puts before each part.</summary>
    public const string DefaultMarker = "### offlinekit: containerd config default";

    public const string CurrentMarker = "### offlinekit: /etc/containerd/config.toml";

    public override IEnumerable<string> Describe(InventoryHost host) =>
    [
        $"$ {Show.Script}   # containerd config default, then the current /etc/containerd/config.toml",
        $"merge (offlinekit, Tomlyn): the defaults, the current file's keys over them, then SystemdCgroup = true, sandbox = \"{SandboxImage}\", config_path = \"{ContainerdConfig.CertsDirectory}\"; CRI enabled",
        $"sftp write {RemotePath} (the merged config.toml)",
    ];

    /// <summary>The two parts of --show-config's output: the defaults, and the current file (null when there is none).</summary>
    public static (string Defaults, string? Current) Split(string output)
    {
        var d = output.IndexOf(DefaultMarker, StringComparison.Ordinal);
        var c = output.IndexOf(CurrentMarker, StringComparison.Ordinal);
        if (d < 0)
        {
            throw new OperationFailedException("configure-runtime.sh --show-config printed no `containerd config default` part");
        }

        var defaultsEnd = c > d ? c : output.Length;
        var defaults = output[(d + DefaultMarker.Length)..defaultsEnd].TrimStart('\n');
        var current = c < 0 ? null : output[(c + CurrentMarker.Length)..].TrimStart('\n');
        return (defaults, current);
    }
}
