using System.Diagnostics;

namespace OfflineKit.IntegrationTests.Support;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>The real tools the tests run. A missing one fails the test naming its Debian package: never a silent skip.</summary>
public static class Tools
{
    public static string Require(string tool, string debianPackage)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail($"'{tool}' is not installed: `apt-get install {debianPackage}` (tests/lab/prerequisites.sh installs every package the tests use)");
        return null!;
    }

    /// <summary>The published self-contained offlinekit for this machine (make publish).</summary>
    public static string Offlinekit()
    {
        var dist = Environment.GetEnvironmentVariable("OFFLINEKIT_DIST") ?? Path.Combine(RepoRoot(), "dist");
        var path = Path.Combine(dist, "linux-x64", "offlinekit");
        Assert.True(File.Exists(path), $"{path} is missing: run `make publish` (make test does it first)");
        return path;
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OfflineKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the tests run outside the repository");
    }

    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<ProcessResult> Bash(string script, string? workingDirectory = null) =>
        RunAsync("/bin/bash", ["-c", script], workingDirectory);
}
