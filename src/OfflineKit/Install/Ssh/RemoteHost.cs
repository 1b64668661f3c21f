using System.Text;

namespace OfflineKit.Install.Ssh;

/// <summary>
/// A shell command for a host. <see cref="AsRoot"/> commands go through sudo when the login user is
/// not root; the script text is never secret (a sudo password travels on stdin, never here).
/// </summary>
public sealed record RemoteCommand(string Script, bool AsRoot = false, TimeSpan? Timeout = null)
{
    public override string ToString() => AsRoot ? $"[root] {Script}" : Script;
}

public sealed record RemoteResult(int ExitStatus, string Stdout, string Stderr)
{
    public bool Ok => ExitStatus == 0;
}

public sealed record RemoteFile(string Path, long Size);

/// <summary>One host, connected: commands, and files over SFTP. What the executor needs of SSH and no more.</summary>
public interface IRemoteHost : IAsyncDisposable
{
    InventoryHost Host { get; }

    Task<RemoteResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken = default);

    /// <summary>The file's size, or null when there is none.</summary>
    Task<RemoteFile?> StatAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="source"/> (positioned at <paramref name="offset"/>) to <paramref name="path"/>
    /// starting at <paramref name="offset"/>: 0 writes the file anew, more continues a partial one.
    /// Reports the bytes sent so far.
    /// </summary>
    Task UploadAsync(Stream source, string path, long offset, IProgress<long>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>Opens connections to hosts; the seam between the executor and SSH.</summary>
public interface IRemoteConnector
{
    Task<IRemoteHost> ConnectAsync(InventoryHost host, CancellationToken cancellationToken = default);
}

public static class Shell
{
    /// <summary>One POSIX shell word, whatever the text holds.</summary>
    public static string Quote(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or ':' or '=' or '+' or ',' or '@')
            ? text
            : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    /// <summary>
    /// The command line sent for <paramref name="command"/> on <paramref name="host"/>: the script under
    /// <c>sh -c</c>, behind <c>sudo -n</c> (no password) or <c>sudo -S -p ''</c> (password on stdin) when
    /// it needs root and the user is not root.
    /// </summary>
    public static string CommandLine(RemoteCommand command, InventoryHost host)
    {
        // C messages, so sha256sum's "FAILED" lines read the same on every host.
        var script = "export LC_ALL=C; " + command.Script;
        if (!command.AsRoot || host.Sudo.Mode == SudoMode.None)
        {
            return "sh -c " + Quote(script);
        }

        // -k: always ask, so the password line is always consumed by sudo and never reaches the script;
        // `exec </dev/null` in case sudoers says NOPASSWD after all.
        return host.Sudo.Mode == SudoMode.Password
            ? "sudo -k -S -p '' -- sh -c " + Quote("exec </dev/null; " + script)
            : "sudo -n -- sh -c " + Quote(script);
    }

    public static string Describe(IEnumerable<RemoteCommand> commands)
    {
        var sb = new StringBuilder();
        foreach (var c in commands)
        {
            sb.AppendLine(c.ToString());
        }

        return sb.ToString();
    }
}
