using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>Runs one kind of <see cref="HostAction"/> on a host. A new kind of action is a new record and a new runner here.</summary>
internal interface IActionRunner
{
    Task RunAsync(HostSession session, HostStep step, HostAction action, CancellationToken cancellationToken);
}

/// <summary>The runner for each kind of action: the one place that knows them all.</summary>
internal static class ActionRunners
{
    private static readonly Dictionary<Type, IActionRunner> Runners = new()
    {
        [typeof(RunCommand)] = new CommandRunner(),
        [typeof(PushFiles)] = new SftpPush(),
        [typeof(WriteFile)] = new WriteFileRunner(),
        [typeof(WriteRegistryCredential)] = new RegistryCredentialRunner(),
        [typeof(FetchJoinCommand)] = new JoinCommandRunner(),
        [typeof(CompareHosts)] = new CompareHostsRunner(),
        [typeof(CheckSums)] = new CheckSumsRunner(),
        [typeof(MissingFromBundle)] = new MissingFromBundleRunner(),
        [typeof(MergeContainerdConfig)] = new ContainerdConfigRunner(),
        [typeof(ProveImagesPresent)] = new OfflineGuaranteeRunner(),
    };

    public static Task RunAsync(HostSession session, HostStep step, HostAction action, CancellationToken cancellationToken) =>
        Runners.TryGetValue(action.GetType(), out var runner)
            ? runner.RunAsync(session, step, action, cancellationToken)
            : throw new InvalidOperationException($"unknown action {action.GetType().Name}");
}

/// <summary>A runner for actions of type <typeparamref name="T"/>.</summary>
internal abstract class ActionRunner<T> : IActionRunner
    where T : HostAction
{
    public Task RunAsync(HostSession session, HostStep step, HostAction action, CancellationToken cancellationToken) =>
        RunAsync(session, step, (T)action, cancellationToken);

    protected abstract Task RunAsync(HostSession session, HostStep step, T action, CancellationToken cancellationToken);
}

internal sealed class CommandRunner : ActionRunner<RunCommand>
{
    protected override Task RunAsync(HostSession session, HostStep step, RunCommand action, CancellationToken cancellationToken) =>
        session.RunCheckedAsync(action.Command, cancellationToken);
}

internal sealed class WriteFileRunner : ActionRunner<WriteFile>
{
    protected override Task RunAsync(HostSession session, HostStep step, WriteFile action, CancellationToken cancellationToken) =>
        session.WriteAsync(action, cancellationToken);
}

/// <summary>The operator's docker config entry for the registry, rendered into the file and written as a secret; never logged.</summary>
internal sealed class RegistryCredentialRunner : ActionRunner<WriteRegistryCredential>
{
    protected override Task RunAsync(HostSession session, HostStep step, WriteRegistryCredential action, CancellationToken cancellationToken)
    {
        var credential = session.Run.Credentials.For(action.Registry);
        if (credential is null)
        {
            session.Log($"the operator's docker config ({session.Run.Options.DockerConfig}) has no entry for {action.Registry}: the hosts pull from it anonymously");
        }

        var token = credential is null ? null : Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}"));
        return session.WriteAsync(new WriteFile(action.RemotePath, action.Render(token), $"{action.What}; {(credential is null ? "no credential" : $"the credential for {action.Registry}")}", Secret: true), cancellationToken);
    }
}

internal sealed class MissingFromBundleRunner : ActionRunner<MissingFromBundle>
{
    protected override Task RunAsync(HostSession session, HostStep step, MissingFromBundle action, CancellationToken cancellationToken) =>
        throw new StepFailedException(action.Message);
}

/// <summary><c>sha256sum --check</c> on the host; a mismatch names the files.</summary>
internal sealed class CheckSumsRunner : ActionRunner<CheckSums>
{
    protected override async Task RunAsync(HostSession session, HostStep step, CheckSums action, CancellationToken cancellationToken)
    {
        var sums = await session.RunLoggedAsync(action.Command, cancellationToken).ConfigureAwait(false);
        if (sums.Ok)
        {
            return;
        }

        var bad = sums.Stdout.Split('\n')
            .Where(l => l.Contains(": FAILED", StringComparison.Ordinal))
            .Select(l => l[..l.LastIndexOf(": FAILED", StringComparison.Ordinal)])
            .ToList();
        throw new StepFailedException(bad.Count > 0
            ? $"{string.Join(", ", bad)} {(bad.Count == 1 ? "does" : "do")} not match SHA256SUMS on the host; this host stops here (run again to push {(bad.Count == 1 ? "it" : "them")} anew)"
            : $"sha256sum --check failed on the host: {InstallExecutor.LastLine(sums.Stderr)}");
    }
}

/// <summary>The control plane's join command, fetched once per run and written to the joining host as a secret file.</summary>
internal sealed class JoinCommandRunner : ActionRunner<FetchJoinCommand>
{
    protected override async Task RunAsync(HostSession session, HostStep step, FetchJoinCommand action, CancellationToken cancellationToken)
    {
        var line = await session.Run.OnceAsync("join:" + action.ControlPlane, () => FetchAsync(session, action.ControlPlane, cancellationToken)).ConfigureAwait(false);
        var key = action.CertificateKey
            ? await session.Run.OnceAsync("certificate-key:" + action.ControlPlane, () => UploadCertsAsync(session, action.ControlPlane, cancellationToken)).ConfigureAwait(false)
            : null;
        var template = action.JoinConfiguration is null ? null : await session.ContentForKernelAsync(action.JoinConfiguration, action.OnKernel, cancellationToken).ConfigureAwait(false);
        var content = template is null ? line + "\n" : KubeadmConfig.FillJoin(template, line, key);
        await session.WriteAsync(new WriteFile(action.RemotePath, content, $"the join {action.What} from {action.ControlPlane}", Secret: true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The control plane's certificates uploaded afresh (kubeadm keeps them 2 h), and the key to them; never logged.</summary>
    private static async Task<string> UploadCertsAsync(HostSession session, string controlPlane, CancellationToken cancellationToken)
    {
        var host = session.Run.Plan.For(controlPlane).Host;
        var command = FetchJoinCommand.UploadCertsCommand;
        session.Log($"on {host.Name}: $ {command.Script}   (its output holds the certificate key: not logged)");
        await using var remote = await session.Run.Connector.ConnectAsync(host, cancellationToken).ConfigureAwait(false);
        var result = await remote.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new StepFailedException($"`{command.Script}` on {host.Name} exited {result.ExitStatus}: {InstallExecutor.Redact(InstallExecutor.LastLine(result.Stderr))}");
        }

        return result.Stdout.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(KubeadmConfig.IsCertificateKey)
            ?? throw new StepFailedException($"`{command.Script}` on {host.Name} printed no certificate key");
    }

    private static async Task<string> FetchAsync(HostSession session, string controlPlane, CancellationToken cancellationToken)
    {
        var host = session.Run.Plan.For(controlPlane).Host;
        session.Log($"on {host.Name}: $ {FetchJoinCommand.Command.Script}   (its output holds a token: not logged)");
        await using var remote = await session.Run.Connector.ConnectAsync(host, cancellationToken).ConfigureAwait(false);
        var result = await remote.RunAsync(FetchJoinCommand.Command, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            throw new StepFailedException($"`{FetchJoinCommand.Command.Script}` on {host.Name} exited {result.ExitStatus}: {InstallExecutor.Redact(InstallExecutor.LastLine(result.Stderr))}");
        }

        // The join line, whatever else a kubeadm version prints around it (warnings go to stderr, but not always).
        return result.Stdout.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(KubeadmConfig.IsJoinCommand)
            ?? throw new StepFailedException($"`{FetchJoinCommand.Command.Script}` on {host.Name} did not print a kubeadm join command");
    }
}

/// <summary>Reads the host's facts (its clock against ours, halfway through the round trip) and compares them with the hosts before it.</summary>
internal sealed class CompareHostsRunner : ActionRunner<CompareHosts>
{
    protected override async Task RunAsync(HostSession session, HostStep step, CompareHosts action, CancellationToken cancellationToken)
    {
        var sent = DateTimeOffset.UtcNow;
        var result = await session.RunLoggedAsync(action.Command, cancellationToken).ConfigureAwait(false);
        var back = DateTimeOffset.UtcNow;
        if (!result.Ok)
        {
            throw new StepFailedException($"`{action.Command.Script}` exited {result.ExitStatus}: {InstallExecutor.LastLine(result.Stderr)}");
        }

        var midpoint = (sent.ToUnixTimeMilliseconds() + back.ToUnixTimeMilliseconds()) / 2000.0;
        var facts = HostFacts.Parse(session.Name, result.Stdout, midpoint)
            ?? throw new StepFailedException($"`{action.Command.Script}` printed no clock=SECONDS line");
        session.Log($"clock {facts.ClockOffset:+0.000;-0.000} s from this machine's (round trip {(back - sent).TotalSeconds:0.000} s)");
        var (failure, warnings) = session.Run.Compare(facts);
        if (failure is not null)
        {
            throw new StepFailedException(failure);
        }

        foreach (var warning in warnings)
        {
            session.Warn(step.Id, warning);
        }
    }
}

/// <summary>containerd's config.toml merged here (the host has no TOML parser) and written to the host's site folder.</summary>
internal sealed class ContainerdConfigRunner : ActionRunner<MergeContainerdConfig>
{
    protected override async Task RunAsync(HostSession session, HostStep step, MergeContainerdConfig action, CancellationToken cancellationToken)
    {
        var shown = await session.RunCheckedAsync(action.Show, cancellationToken).ConfigureAwait(false);
        string merged;
        try
        {
            var (defaults, current) = MergeContainerdConfig.Split(shown.Stdout);
            merged = ContainerdConfig.Merge(defaults, current, action.SandboxImage);
        }
        catch (OperationFailedException e)
        {
            throw new StepFailedException(e.Message);
        }

        await session.WriteAsync(new WriteFile(action.RemotePath, merged, "the merged containerd config.toml"), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Every image present, and containerd's sandbox image the pause image; otherwise the step fails naming what is wrong.</summary>
internal sealed class OfflineGuaranteeRunner : ActionRunner<ProveImagesPresent>
{
    protected override async Task RunAsync(HostSession session, HostStep step, ProveImagesPresent action, CancellationToken cancellationToken)
    {
        var result = await session.RunLoggedAsync(action.Check, cancellationToken).ConfigureAwait(false);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var missing = lines.Where(l => l.StartsWith("missing ", StringComparison.Ordinal)).Select(l => l["missing ".Length..]).ToList();
        if (missing.Count > 0)
        {
            throw new StepFailedException($"{missing.Count} of {action.Images.Count} images kubeadm and the addons need are not in the runtime: {string.Join(", ", missing)}; kubeadm would pull {(missing.Count == 1 ? "it" : "them")} from the internet (run the install again: the images step loads the bundle's images)");
        }

        var present = lines.Count(l => l.StartsWith("present ", StringComparison.Ordinal));
        if (!result.Ok || present != action.Images.Count)
        {
            throw new StepFailedException($"the image check did not answer for every image ({present} of {action.Images.Count}): {InstallExecutor.LastLine(result.Stderr)}");
        }

        var pinned = "sandbox image present";
        if (action.ShowRuntimeConfig is { } show)
        {
            var shown = await session.RunCheckedAsync(show, cancellationToken).ConfigureAwait(false);
            string? sandbox;
            try
            {
                var (_, current) = MergeContainerdConfig.Split(shown.Stdout);
                sandbox = current is null ? null : ContainerdConfig.SandboxImage(current);
            }
            catch (OperationFailedException e)
            {
                throw new StepFailedException(e.Message);
            }

            if (sandbox != action.SandboxImage)
            {
                throw new StepFailedException($"containerd's sandbox image is {sandbox ?? "not set"}, not kubeadm's pause image {action.SandboxImage}: the kubelet would pull another pause image (the runtime step sets it; run the install again)");
            }

            pinned = "sandbox image pinned";
        }

        session.Proof = $"{present} of {action.Images.Count} images present, {pinned}";
        session.Log("offline guarantee: " + session.Proof);
    }
}
