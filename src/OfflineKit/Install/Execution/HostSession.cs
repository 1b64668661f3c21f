using System.Globalization;
using System.Text;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>A step failed on its host: the message is what the summary and the journal say.</summary>
internal sealed class StepFailedException(string message) : Exception(message);

/// <summary>
/// One host's connection during a run, as the action runners see it: the remote, the host's log (every
/// command and its output, tokens redacted), its progress reports and warnings.
/// </summary>
internal sealed class HostSession(HostPlan hostPlan, IRemoteHost remote, RunState run, Action<string> log)
{
    public HostPlan HostPlan => hostPlan;

    public string Name => hostPlan.Host.Name;

    public IRemoteHost Remote => remote;

    public RunState Run => run;

    public List<string> Warnings { get; } = [];

    public PushStats Push { get; set; } = PushStats.None;

    /// <summary>The offline guarantee's result on this host, when it ran: "N of N images present, sandbox image pinned".</summary>
    public string? Proof { get; set; }

    public void Log(string line) => log(line);

    public void Report(InstallProgress progress) => run.Options.Progress?.Report(progress);

    public void Warn(string step, string warning)
    {
        Log("warning: " + warning);
        Warnings.Add(warning);
        Report(new StepWarning(Name, step, warning));
    }

    public async Task<RemoteResult> RunLoggedAsync(RemoteCommand command, CancellationToken cancellationToken, bool quiet = false)
    {
        Log((command.AsRoot && !hostPlan.Host.IsRoot ? "# (sudo) " : "$ ") + command.Script);
        var result = await remote.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (!quiet && result.Stdout.Length > 0)
        {
            Log("  stdout: " + result.Stdout.TrimEnd().Replace("\n", "\n          ", StringComparison.Ordinal));
        }

        if (result.Stderr.Length > 0)
        {
            Log("  stderr: " + result.Stderr.TrimEnd().Replace("\n", "\n          ", StringComparison.Ordinal));
        }

        if (result.ExitStatus != 0)
        {
            Log(string.Create(CultureInfo.InvariantCulture, $"  exit {result.ExitStatus}"));
        }

        return result;
    }

    /// <summary>Runs a command that must succeed; otherwise the step fails with its last stderr line.</summary>
    public async Task<RemoteResult> RunCheckedAsync(RemoteCommand command, CancellationToken cancellationToken)
    {
        var result = await RunLoggedAsync(command, cancellationToken).ConfigureAwait(false);
        return result.Ok
            ? result
            : throw new StepFailedException($"`{command.Script}` exited {result.ExitStatus}: {InstallExecutor.Redact(InstallExecutor.LastLine(result.Stderr))}");
    }

    private string? _kernel;

    /// <summary>The content for this host: <paramref name="variant"/>'s when the host's kernel release (uname -r, read once) starts with its release.</summary>
    public async Task<string> ContentForKernelAsync(string content, KernelVariant? variant, CancellationToken cancellationToken)
    {
        if (variant is null)
        {
            return content;
        }

        _kernel ??= (await RunCheckedAsync(new RemoteCommand("uname -r"), cancellationToken).ConfigureAwait(false)).Stdout.Trim();
        if (!_kernel.StartsWith(variant.Release, StringComparison.Ordinal))
        {
            return content;
        }

        Log($"kernel {_kernel}: {variant.Why}");
        return variant.Content;
    }

    /// <summary>A small file over SFTP; a secret one is made private before its content is sent, and its content is never logged.</summary>
    public async Task WriteAsync(WriteFile write, CancellationToken cancellationToken)
    {
        var text = await ContentForKernelAsync(write.Content, write.OnKernel, cancellationToken).ConfigureAwait(false);
        if (write.Secret)
        {
            var made = await RunLoggedAsync(write.PrivateCommand, cancellationToken).ConfigureAwait(false);
            if (!made.Ok)
            {
                throw new StepFailedException($"cannot make {write.RemotePath} private: {InstallExecutor.LastLine(made.Stderr)}");
            }
        }

        Log($"sftp write {write.RemotePath} ({write.What}{(write.Secret ? "; content not logged" : string.Empty)})");
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await remote.UploadAsync(content, write.RemotePath, 0, null, cancellationToken).ConfigureAwait(false);
    }
}
