using System.Net.Sockets;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace OfflineKit.Install.Ssh;

/// <summary>Timeouts for every connection of a run.</summary>
public sealed record SshOptions
{
    /// <summary>TCP connect, key exchange and each authentication round.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Keep-alive so a NAT or firewall does not drop a connection that waits on a long step.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A command without a timeout of its own.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>One SFTP request (a write of one chunk, a stat).</summary>
    public TimeSpan SftpOperationTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>Connects with SSH.NET, checking host keys against known_hosts first.</summary>
public sealed class SshConnector(HostKeyPolicy hostKeys, SshOptions? options = null, Func<string, string?>? environment = null) : IRemoteConnector
{
    private readonly SshOptions _options = options ?? new SshOptions();

    public async Task<IRemoteHost> ConnectAsync(InventoryHost host, CancellationToken cancellationToken = default)
    {
        var credentials = Credentials.Load(host, environment);
        var ssh = new SshClient(credentials.ConnectionInfo(host, hostKeys, _options));
        try
        {
            await ConnectClientAsync(ssh, host, hostKeys, credentials, _options, cancellationToken).ConfigureAwait(false);
            return new SshRemoteHost(host, ssh, credentials, hostKeys, _options);
        }
        catch
        {
            ssh.Dispose();
            credentials.Dispose();
            throw;
        }
    }

    internal static async Task ConnectClientAsync(BaseClient client, InventoryHost host, HostKeyPolicy hostKeys, Credentials credentials, SshOptions options, CancellationToken cancellationToken)
    {
        HostKeyRejectedException? rejected = null;
        client.HostKeyReceived += (_, e) =>
        {
            try
            {
                hostKeys.Verify(host.Address, host.Port, HostKey.FromBlob(e.HostKey));
                e.CanTrust = true;
            }
            catch (Exception ex) when (ex is HostKeyRejectedException or FormatException)
            {
                rejected = ex as HostKeyRejectedException ?? new HostKeyRejectedException($"{host.Target}: unreadable host key: {ex.Message}");
                e.CanTrust = false;
            }
        };
        client.KeepAliveInterval = options.KeepAlive;

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout * 2);
        try
        {
            await client.ConnectAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception) when (rejected is not null)
        {
            throw new OperationFailedException($"{host.Name} ({host.Target}): {rejected.Message}");
        }
        catch (SshAuthenticationException e)
        {
            // The server's words ("Permission denied (publickey,password)") name methods, never the secret.
            throw new OperationFailedException($"{host.Name}: authentication failed for {host.User}@{host.Address} with {host.Auth.Describe()}: {e.Message.TrimEnd('.')}", e);
        }
        catch (SocketException e)
        {
            throw new OperationFailedException($"{host.Name}: cannot connect to {host.Address}:{host.Port}: {e.Message}", e);
        }
        catch (Exception e) when (e is SshOperationTimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException($"{host.Name}: no SSH answer from {host.Address}:{host.Port} within {options.ConnectTimeout.TotalSeconds:0}s", e);
        }
        catch (SshException e)
        {
            // Includes a server without the sftp subsystem: "Subsystem 'sftp' could not be executed."
            throw new OperationFailedException($"{host.Name}: SSH connection to {host.Address}:{host.Port} failed: {e.Message}", e);
        }
    }
}

/// <summary>Keys and passwords of one host, read once; what <see cref="ConnectionInfo"/> is built from.</summary>
internal sealed class Credentials : IDisposable
{
    private readonly PrivateKeyFile? _key;
    private readonly string? _password;

    private Credentials(PrivateKeyFile? key, string? password, string? sudoPassword)
    {
        _key = key;
        _password = password;
        SudoPassword = sudoPassword;
    }

    public string? SudoPassword { get; }

    public static Credentials Load(InventoryHost host, Func<string, string?>? environment)
    {
        var sudo = host.Sudo.Mode == SudoMode.Password ? host.Sudo.Password!.Reveal(environment) : null;
        if (host.Auth.PrivateKeyFile is not { } keyPath)
        {
            return new Credentials(null, host.Auth.Password!.Reveal(environment), sudo);
        }

        var passphrase = host.Auth.Passphrase?.Reveal(environment);
        try
        {
            return new Credentials(passphrase is null ? new PrivateKeyFile(keyPath) : new PrivateKeyFile(keyPath, passphrase), null, sudo);
        }
        catch (SshPassPhraseNullOrEmptyException e)
        {
            throw new BadInputException($"{host.Name}: the private key {keyPath} is encrypted; give its passphrase (auth.passphraseEnv)", e);
        }
        catch (SshException e)
        {
            // SSH.NET says "Invalid passphrase." or names the format it cannot read; neither holds the passphrase.
            throw new BadInputException($"{host.Name}: cannot load the private key {keyPath}: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            throw new BadInputException($"{host.Name}: cannot load the private key {keyPath}: {e.Message}", e);
        }
    }

    public ConnectionInfo ConnectionInfo(InventoryHost host, HostKeyPolicy hostKeys, SshOptions options)
    {
        AuthenticationMethod[] methods;
        if (_key is not null)
        {
            methods = [new PrivateKeyAuthenticationMethod(host.User, _key)];
        }
        else
        {
            // Servers with PAM often offer only keyboard-interactive for passwords; answer its prompt with the password.
            var interactive = new KeyboardInteractiveAuthenticationMethod(host.User);
            interactive.AuthenticationPrompt += (_, e) =>
            {
                foreach (var prompt in e.Prompts)
                {
                    prompt.Response = _password!;
                }
            };
            methods = [new PasswordAuthenticationMethod(host.User, _password!), interactive];
        }

        var info = new ConnectionInfo(host.Address, host.Port, host.User, methods)
        {
            Timeout = options.ConnectTimeout,
            Encoding = Encoding.UTF8,
        };

        // AES-GCM first: AEAD with hardware AES runs SFTP at about scp's speed, where aes-ctr + HMAC is 1.6x slower.
        foreach (var cipher in new[] { "aes256-gcm@openssh.com", "aes128-gcm@openssh.com" })
        {
            if (info.Encryptions.ContainsKey(cipher))
            {
                info.Encryptions.SetPosition(cipher, 0);
            }
        }

        // Host certificates are not checked (known_hosts @cert-authority lines are ignored), so ask for plain keys.
        foreach (var algorithm in info.HostKeyAlgorithms.Keys.Where(k => k.Contains("-cert-", StringComparison.Ordinal)).ToList())
        {
            info.HostKeyAlgorithms.Remove(algorithm, out _);
        }

        // Like ssh: prefer the key types known_hosts already has for this host, so a host with several keys offers a known one.
        var known = hostKeys.KnownTypes(host.Address, host.Port);
        foreach (var algorithm in info.HostKeyAlgorithms.Keys.Reverse().ToList())
        {
            if (known.Contains(AlgorithmKeyType(algorithm)))
            {
                info.HostKeyAlgorithms.SetPosition(algorithm, 0);
            }
        }

        return info;
    }

    private static string AlgorithmKeyType(string algorithm) => algorithm is "rsa-sha2-256" or "rsa-sha2-512" ? "ssh-rsa" : algorithm;

    public void Dispose() => _key?.Dispose();
}

/// <summary>An SSH.NET connection to one host; SFTP opens on first use.</summary>
internal sealed class SshRemoteHost(InventoryHost host, SshClient ssh, Credentials credentials, HostKeyPolicy hostKeys, SshOptions options) : IRemoteHost
{
    private readonly SemaphoreSlim _sftpLock = new(1, 1);
    private SftpClient? _sftp;

    public InventoryHost Host { get; } = host;

    /// <summary>
    /// The command's stdin. SSH.NET hands it out only while the command runs: a quick command can
    /// finish first (then it needs no input: null), and the channel may not be open yet (ask again).
    /// </summary>
    private static async Task<Stream?> InputStreamAsync(SshCommand cmd, Task run, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return cmd.CreateInputStream();
            }
            catch (InvalidOperationException) when (run.IsCompleted)
            {
                return null;
            }
            catch (InvalidOperationException) when (attempt < 100)
            {
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<RemoteResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken = default)
    {
        using var cmd = ssh.CreateCommand(Shell.CommandLine(command, Host));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(command.Timeout ?? options.CommandTimeout);
        var run = cmd.ExecuteAsync(timeout.Token);
        {
            // Open stdin after the channel is requested; closing it sends EOF so nothing waits on it.
            using var stdin = await InputStreamAsync(cmd, run, cancellationToken).ConfigureAwait(false);
            if (stdin is not null && command.AsRoot && Host.Sudo.Mode == SudoMode.Password)
            {
                var line = Encoding.UTF8.GetBytes(credentials.SudoPassword + "\n");
                await stdin.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                Array.Clear(line);
            }
        }

        try
        {
            await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException($"{Host.Name}: a command ran longer than {(command.Timeout ?? options.CommandTimeout).TotalMinutes:0.#} min and was stopped: {command.Script}");
        }
        catch (Exception e) when (e is SshException or SocketException or ObjectDisposedException or IOException)
        {
            throw new OperationFailedException($"{Host.Name}: the connection was lost: {e.Message}", e);
        }

        var result = new RemoteResult(cmd.ExitStatus ?? -1, cmd.Result, cmd.Error);
        if (command.AsRoot && Host.Sudo.Mode != SudoMode.None && result.ExitStatus == 1)
        {
            CheckSudo(result);
        }

        return result;
    }

    private void CheckSudo(RemoteResult result)
    {
        var err = result.Stderr;
        if (err.Contains("incorrect password attempt", StringComparison.Ordinal) || err.Contains("Sorry, try again", StringComparison.Ordinal))
        {
            throw new OperationFailedException($"{Host.Name}: sudo refused the password for {Host.User}@{Host.Address} (inventory sudo.password)");
        }

        if (err.Contains("a password is required", StringComparison.Ordinal) || err.Contains("no password was provided", StringComparison.Ordinal))
        {
            throw new OperationFailedException($"{Host.Name}: sudo on {Host.User}@{Host.Address} asks for a password; give it in the inventory (sudo: {{passwordEnv: …}})");
        }

        if (err.Contains("is not in the sudoers file", StringComparison.Ordinal) || err.Contains("may not run sudo", StringComparison.Ordinal))
        {
            throw new OperationFailedException($"{Host.Name}: {Host.User} may not use sudo on {Host.Address}");
        }
    }

    public async Task<RemoteFile?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var sftp = await SftpAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var attributes = await sftp.GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            return attributes.IsRegularFile ? new RemoteFile(path, attributes.Size) : null;
        }
        catch (SftpPathNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is SshException or SocketException or ObjectDisposedException or IOException)
        {
            throw new OperationFailedException($"{Host.Name}: the connection was lost: {e.Message}", e);
        }
    }

    public async Task UploadAsync(Stream source, string path, long offset, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var sftp = await SftpAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (offset == 0)
            {
                // UploadFile keeps many writes in flight (SftpFileStream waits for each one): scp's speed. It
                // blocks, so it runs on a pool thread and a cancellation ends it by closing the connection.
                await using var registration = cancellationToken.Register(() => sftp.Disconnect());
                await Task.Run(() => sftp.UploadFile(source, path, canOverride: true, sent => progress?.Report((long)sent)), CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                return;
            }

            // Continuing a cut file: rare, and only the rest goes over the wire.
            await using var remote = await sftp.OpenAsync(path, FileMode.Open, FileAccess.Write, cancellationToken).ConfigureAwait(false);
            remote.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[256 * 1024];
            long sent = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await remote.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent += read;
                progress?.Report(sent);
            }
        }
        catch (SshException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException($"{Host.Name}: upload of {path} failed: {e.Message}", e);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException($"{Host.Name}: upload of {path} failed: the connection was lost ({e.Message})", e);
        }
    }

    private async Task<SftpClient> SftpAsync(CancellationToken cancellationToken)
    {
        await _sftpLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sftp is { IsConnected: true })
            {
                return _sftp;
            }

            _sftp?.Dispose();
            var sftp = new SftpClient(credentials.ConnectionInfo(Host, hostKeys, options)) { OperationTimeout = options.SftpOperationTimeout };
            try
            {
                await SshConnector.ConnectClientAsync(sftp, Host, hostKeys, credentials, options, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                sftp.Dispose();
                throw;
            }

            return _sftp = sftp;
        }
        finally
        {
            _sftpLock.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _sftp?.Dispose();
        ssh.Dispose();
        credentials.Dispose();
        _sftpLock.Dispose();
        return ValueTask.CompletedTask;
    }
}
