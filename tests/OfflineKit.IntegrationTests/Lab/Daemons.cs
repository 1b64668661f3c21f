using System.Diagnostics;
using OfflineKit.IntegrationTests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// A real daemon started for one test with all its state in a temp folder and a private socket:
/// dockerd (vfs, no iptables, no bridge) or containerd. Stopped and removed on dispose.
/// </summary>
public sealed class LabDaemon : IAsyncDisposable
{
    private readonly Process _process;

    private LabDaemon(Process process, string dir, string socket)
    {
        _process = process;
        Dir = dir;
        Socket = socket;
    }

    public string Dir { get; }

    public string Socket { get; }

    public static async Task<LabDaemon> DockerdAsync()
    {
        var exe = Tools.Require("dockerd", "docker.io");
        Tools.Require("docker", "docker.io");
        var dir = Directory.CreateTempSubdirectory("offlinekit-dockerd-").FullName;
        var socket = Path.Combine(dir, "docker.sock");
        var daemon = Start(exe, dir, socket,
        [
            "--data-root", Path.Combine(dir, "data"), "--exec-root", Path.Combine(dir, "exec"), "--pidfile", Path.Combine(dir, "docker.pid"),
            "--host", "unix://" + socket, "--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs",
        ]);
        await daemon.WaitAsync(() => Tools.RunAsync("docker", ["-H", "unix://" + socket, "version", "--format", "{{.Server.Version}}"]));
        return daemon;
    }

    public static async Task<LabDaemon> ContainerdAsync()
    {
        var exe = Tools.Require("containerd", "containerd");
        Tools.Require("ctr", "containerd");
        var dir = Directory.CreateTempSubdirectory("offlinekit-containerd-").FullName;
        var socket = Path.Combine(dir, "containerd.sock");
        var config = Path.Combine(dir, "config.toml");
        await File.WriteAllTextAsync(config, $"""
            version = 2
            root = "{dir}/root"
            state = "{dir}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "{socket}"
            [ttrpc]
              address = "{socket}.ttrpc"
            [debug]
              address = "{socket}.debug"
            """);
        var daemon = Start(exe, dir, socket, ["--config", config]);
        await daemon.WaitAsync(() => Tools.RunAsync("ctr", ["-a", socket, "version"]));
        return daemon;
    }

    public Task<ProcessResult> Docker(params string[] args) => Tools.RunAsync("docker", ["-H", "unix://" + Socket, .. args]);

    public Task<ProcessResult> Ctr(params string[] args) => Tools.RunAsync("ctr", ["-a", Socket, "-n", "k8s.io", .. args]);

    private static LabDaemon Start(string exe, string dir, string socket, string[] args)
    {
        var info = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        var log = new StreamWriter(Path.Combine(dir, "daemon.log")) { AutoFlush = true };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.WriteLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (log) { log.WriteLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return new LabDaemon(process, dir, socket);
    }

    private async Task WaitAsync(Func<Task<ProcessResult>> probe)
    {
        // Ready when it answers, not after a fixed sleep.
        ProcessResult? last = null;
        for (var i = 0; i < 300; i++)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"the daemon exited with {_process.ExitCode}; see {Dir}/daemon.log");
            }

            if (File.Exists(Socket) && (last = await probe()).ExitCode == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"the daemon did not answer: {last?.Stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM first: dockerd then unmounts its data root (it bind-mounts it onto itself). Killed
            // outright, it left that mount and its folder behind, one per test run, for good.
            await Tools.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();

        // Whatever the daemon still left mounted under its folder (it was killed, or crashed), innermost first.
        foreach (var mount in MountsUnder(Dir).OrderByDescending(m => m.Length))
        {
            await Tools.RunAsync("umount", ["--lazy", mount]);
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // Still busy for a moment after a lazy unmount; the temp dir is the system's then.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The mount points at or below <paramref name="dir"/>, from /proc/self/mounts (octal escapes such as \040 decoded).</summary>
    internal static IEnumerable<string> MountsUnder(string dir) =>
        File.ReadLines("/proc/self/mounts")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 1)
            .Select(fields => System.Text.RegularExpressions.Regex.Replace(fields[1], @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString()))
            .Where(point => point == dir || point.StartsWith(dir + "/", StringComparison.Ordinal))
            .Distinct()
            .ToList();
}
