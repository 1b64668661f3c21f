using OfflineKit.Bundle;
using System.Globalization;
using System.Text;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>What install does, per host, in order: the output of the pure planner, the input of the executor, and what --dry-run prints.</summary>
public sealed record InstallPlan(string BundleName, long BundleSize, IReadOnlyList<HostPlan> Hosts)
{
    /// <summary>What the plan does, for its first line: install (a bundle) or reset (the cluster).</summary>
    public string Action { get; init; } = "install";

    public HostPlan For(string host) => Hosts.Single(h => h.Host.Name == host);

    /// <summary>The plan as text: every host, every step, every command, in the order they run.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"plan: {Action} {BundleName} on {Hosts.Count} host{(Hosts.Count == 1 ? string.Empty : "s")}\n");
        foreach (var host in Hosts)
        {
            var h = host.Host;
            sb.Append('\n').Append(CultureInfo.InvariantCulture, $"{h.Name} ({h.Target}, {string.Join(", ", h.Roles.Select(RoleName))}; login: {h.Auth.Describe()}{SudoText(h)})\n");
            if (host.JournalPath is { } journal)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  journal: {journal}, read first, a line added after each step; a rerun skips the steps it records as done\n");
                sb.Append(CultureInfo.InvariantCulture, $"       $ {Journal.ReadCommand(journal).Script}\n");
                sb.Append(CultureInfo.InvariantCulture, $"       $ printf '%s\\n' '{{\"bundle\":\"{BundleName}\",\"step\":STEP,\"status\":\"done\"|\"failed\",…}}' >> {journal}\n");
            }

            for (var i = 0; i < host.Steps.Count; i++)
            {
                var step = host.Steps[i];
                var hard = step.Needs.Where(n => !n.AfterOnly).ToList();
                var soft = step.Needs.Where(n => n.AfterOnly).ToList();
                var needs = (hard.Count == 0 ? string.Empty : $" [waits for {string.Join(", ", hard)}]")
                    + (soft.Count == 0 ? string.Empty : $" [after {string.Join(", ", soft)}, done or not]");
                var every = step.RunsEveryRun ? " [every run]" : string.Empty;
                sb.Append(CultureInfo.InvariantCulture, $"  {i + 1}. {step.Id}: {step.Title}{needs}{every}\n");
                foreach (var action in step.Actions)
                {
                    foreach (var line in action.Describe(h))
                    {
                        sb.Append("       ").Append(line).Append('\n');
                    }
                }
            }
        }

        return sb.ToString();
    }

    public static string RoleName(HostRole role) => role switch
    {
        HostRole.ControlPlane => "control-plane",
        HostRole.Depot => "depot",
        _ => "worker",
    };

    private static string SudoText(InventoryHost h) => h.Sudo.Mode switch
    {
        SudoMode.Password => "; sudo with a password on stdin",
        SudoMode.NoPassword => "; sudo -n",
        _ => string.Empty,
    };
}

/// <summary>One host's steps; <see cref="JournalPath"/> is null for a plan that keeps no journal (reset).</summary>
public sealed record HostPlan(InventoryHost Host, string BundleDirectory, string? JournalPath, IReadOnlyList<HostStep> Steps);

/// <summary>
/// A step on another host that a step waits for. It must have succeeded, unless <see cref="AfterOnly"/>:
/// then it only has to be over, done or not (the addons step waits for the workers' joins to end, but a
/// worker that failed does not stop the cluster from coming up).
/// </summary>
public sealed record StepRef(string Host, string Step, bool AfterOnly = false)
{
    public override string ToString() => $"{Host}/{Step}";
}

/// <summary>
/// One step on one host. <see cref="RunsEveryRun"/> steps (push, verify) run on every run whatever the
/// journal says: they are cheap when nothing changed and they are the proof the later steps rely on.
/// </summary>
public sealed record HostStep(string Id, string Title, IReadOnlyList<HostAction> Actions, IReadOnlyList<StepRef> Needs, bool RunsEveryRun = false)
{
    /// <summary>The addons this step applies as rendered for the site: the journal records them with its "done".</summary>
    public IReadOnlyList<RenderedAddon> Site { get; init; } = [];
}

/// <summary>Something a step does on its host. Each describes itself, for --dry-run, in the words of what runs.</summary>
public abstract record HostAction
{
    public abstract IEnumerable<string> Describe(InventoryHost host);
}

/// <summary>A command; it fails the step unless it exits 0.</summary>
public sealed record RunCommand(RemoteCommand Command) : HostAction
{
    /// <summary>A command that needs root shows the sudo line it is sent as on a host that logs in as another user.</summary>
    public override IEnumerable<string> Describe(InventoryHost host) =>
        Command.AsRoot && host.Sudo.Mode != SudoMode.None
            ? ["$ " + Shell.CommandLine(Command, host) + (host.Sudo.Mode == SudoMode.Password ? "   # the sudo password goes to stdin" : string.Empty)]
            : ["$ " + Command.Script];
}

public sealed record PushFile(string Path, long Size, string Sha256);

/// <summary>
/// The files into a folder over SFTP: a file whose SHA-256 there already matches is skipped, a shorter
/// one continues from its length, anything else is written anew.
/// </summary>
public sealed record PushFiles(string RemoteDirectory, IReadOnlyList<PushFile> Files) : HostAction
{
    public long TotalSize => Files.Sum(f => f.Size);

    /// <summary>What a push leaves free at least, beside what it sends: a full disk breaks more than the push.</summary>
    public const long Headroom = 64L << 20;

    public RemoteCommand FreeSpaceCommand => new($"df -Pk {Shell.Quote(RemoteDirectory)}");

    public RemoteCommand HashCommand(IEnumerable<string> paths) =>
        new($"cd {Shell.Quote(RemoteDirectory)} && sha256sum -- {Shell.Join(paths)}");

    public override IEnumerable<string> Describe(InventoryHost host)
    {
        yield return $"sftp: stat each file under {RemoteDirectory}/";
        yield return $"$ {HashCommand(["FILE..."]).Script}   # files already there at full size: skip those that match";
        yield return $"$ {FreeSpaceCommand.Script}   # room for what is to be sent, {SizeText(Headroom)} to spare, or the push stops before its first byte";
        foreach (var f in Files)
        {
            yield return $"sftp put {f.Path} ({SizeText(f.Size)}, sha256 {f.Sha256[..12]}…) unless it matches; continue it if shorter";
        }
    }

    internal static string SizeText(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => $"{bytes} B",
    };
}

/// <summary>
/// A small text file written over SFTP (the SHA256SUMS lines of the files a host got, the kubeadm
/// config). A <see cref="Secret"/> file is made readable by the login user only before its content is
/// sent, and its content is never shown: not in --dry-run, not in a log.
/// </summary>
public sealed record WriteFile(string RemotePath, string Content, string What, bool Secret = false) : HostAction
{
    public RemoteCommand PrivateCommand => new($"umask 077 && : > {Shell.Quote(RemotePath)} && chmod 600 {Shell.Quote(RemotePath)}");

    /// <summary>What --dry-run shows of a secret file: its text with the secret replaced (the kubeadm config, token as &lt;token&gt;).</summary>
    public string? Preview { get; init; }

    /// <summary>Another content for a host whose kernel release starts with <see cref="KernelVariant.Release"/> (read with uname -r when the file is written).</summary>
    public KernelVariant? OnKernel { get; init; }

    public override IEnumerable<string> Describe(InventoryHost host) =>
    [
        .. Secret
            ? ["$ " + PrivateCommand.Script, Preview is null ? $"sftp write {RemotePath} ({What}; holds a secret, never shown or logged)" : $"sftp write {RemotePath} ({What}; the secret in it is never shown or logged):"]
            : new[] { Preview is null ? $"sftp write {RemotePath} ({What})" : $"sftp write {RemotePath} ({What}):" },
        .. PreviewLines(Preview),
        .. OnKernel is null ? [] : OnKernel.Describe(),
    ];

    internal static IEnumerable<string> PreviewLines(string? preview) => (preview ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  | " + l);
}

/// <summary>
/// A file that carries the credential of <see cref="Registry"/>: the operator's docker config entry for it
/// (what `docker login` wrote on the operator's machine; install reads $DOCKER_CONFIG/config.json or
/// ~/.docker/config.json), rendered by <see cref="Render"/> when the step runs (the plan holds no secret)
/// and written as a secret file. <see cref="Render"/> gets the basic-auth token (base64 of user:password),
/// or null when the docker config has no entry for the registry: then the hosts pull anonymously.
/// </summary>
public sealed record WriteRegistryCredential(string RemotePath, string Registry, string What, Func<string?, string> Render) : HostAction
{
    /// <summary>What --dry-run shows in place of the token.</summary>
    public string Placeholder => $"<{Registry}'s credential from the operator's docker config>";

    public override IEnumerable<string> Describe(InventoryHost host) =>
        new WriteFile(RemotePath, string.Empty, $"{What}; the credential for {Registry} from the operator's docker config, if it has one", Secret: true) { Preview = Render(Placeholder) }.Describe(host);

    /// <summary>A docker config (config.json) with <paramref name="token"/> for <paramref name="registry"/> alone.</summary>
    // Neither needs JSON escaping: a HOST:PORT and base64 (or the placeholder).
    public static string DockerConfig(string registry, string? token) =>
        token is null ? "{\"auths\":{}}\n" : $"{{\"auths\":{{\"{registry}\":{{\"auth\":\"{token}\"}}}}}}\n";
}

/// <summary>A file's content for hosts whose kernel release (uname -r) starts with <see cref="Release"/>, and why.</summary>
public sealed record KernelVariant(string Release, string Content, string Why)
{
    public IEnumerable<string> Describe() => [$"  on a host whose kernel is {Release}* (uname -r, read first): {Why}"];
}

/// <summary>
/// The join command for a worker: <c>kubeadm token create --print-join-command</c> run on the control
/// plane (once per run, shared by the workers), written to <see cref="RemotePath"/> on the worker as a
/// secret file. The token goes from one host to the other through this process's memory only.
/// </summary>
public sealed record FetchJoinCommand(string ControlPlane, string RemotePath) : HostAction
{
    public static readonly RemoteCommand Command = new("kubeadm token create --print-join-command", AsRoot: true);

    /// <summary>
    /// A kubeadm JoinConfiguration the join's token, API server endpoint and CA hash go into
    /// (<see cref="KubeadmConfig.FillJoin"/>); null writes the join command line itself.
    /// </summary>
    public string? JoinConfiguration { get; init; }

    /// <summary>What the file is, for the log.</summary>
    public string What => JoinConfiguration is null ? "command" : "configuration";

    /// <summary>Another JoinConfiguration template for a host of that kernel (see <see cref="WriteFile.OnKernel"/>).</summary>
    public KernelVariant? OnKernel { get; init; }

    /// <summary>
    /// A control plane's join: the JoinConfiguration also gets the key to the certificates, which the control plane
    /// uploads afresh once per run (<see cref="UploadCertsCommand"/>; kubeadm keeps them 2 h), a secret like the token.
    /// </summary>
    public bool CertificateKey { get; init; }

    public static readonly RemoteCommand UploadCertsCommand = new("kubeadm init phase upload-certs --upload-certs", AsRoot: true);

    public override IEnumerable<string> Describe(InventoryHost host) =>
    [
        $"on {ControlPlane}: $ {Command.Script}   # once for all workers; its output holds a token: kept in memory, never logged",
        .. CertificateKey ? [$"on {ControlPlane}: $ {UploadCertsCommand.Script}   # once a run; prints the certificate key (valid 2 h): kept in memory, never logged"] : Array.Empty<string>(),
        .. new WriteFile(RemotePath, string.Empty, JoinConfiguration is null ? "the join command" : $"kubeadm's JoinConfiguration with that token, endpoint and CA hash{(CertificateKey ? " and certificate key" : string.Empty)}", Secret: true) { Preview = JoinConfiguration, OnKernel = OnKernel }.Describe(host),
    ];
}

/// <summary>
/// What the hosts are compared on: <see cref="Command"/> (run as root: product_uuid is root's to read)
/// prints <c>product-uuid=…</c>, <c>machine-id=…</c> and <c>clock=…</c>. The same product_uuid twice
/// fails, the same machine-id twice warns (see the executor); clocks further apart than
/// <see cref="WarnSkew"/> are reported, further than <see cref="MaxSkew"/> fail (certificates and
/// etcd need agreeing clocks).
/// </summary>
public sealed record CompareHosts(RemoteCommand Command) : HostAction
{
    public static readonly TimeSpan WarnSkew = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(30);

    public override IEnumerable<string> Describe(InventoryHost host) =>
        [$"$ {Command.Script}   # product_uuid unique among the hosts (machine-id: a warning); clock within {WarnSkew.TotalSeconds:0} s of the others (fails past {MaxSkew.TotalSeconds:0} s)"];
}

/// <summary><c>sha256sum --check</c> on the host; a mismatch fails the step naming the files.</summary>
public sealed record CheckSums(string BundleDirectory, string SumsFile) : HostAction
{
    /// <summary>`install --key`: the public key on the host; the bundle's scripts/verify.sh checks bundle.json.sig with it first.</summary>
    public string? PublicKey { get; init; }

    public RemoteCommand Command => PublicKey is null
        ? new($"cd {Shell.Quote(BundleDirectory)} && sha256sum --check --strict --quiet {Shell.Quote(SumsFile)}")
        : new($"cd {Shell.Quote(BundleDirectory)} && bash {Shell.Quote(BundleLayout.VerifyScript)} --key {Shell.Quote(PublicKey)} --sums {Shell.Quote(SumsFile)}");

    public override IEnumerable<string> Describe(InventoryHost host) => ["$ " + Command.Script];
}

/// <summary>A step whose script the bundle does not carry (an older bundle, or one built without that part): it fails saying so.</summary>
public sealed record MissingFromBundle(string Path) : HostAction
{
    public string Message => $"the bundle has no {Path} (built without that part, or by an older offlinekit); build it again with it to run this step";

    public override IEnumerable<string> Describe(InventoryHost host) => [$"cannot run: {Message}"];
}
