using OfflineKit.Cli;

namespace OfflineKit.Tests.Support;

/// <summary>Runs the CLI in-process as a user would from a shell, capturing stdout and stderr (no terminal: no live bars).</summary>
public static class CliRunner
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, new CliConsole(stdout, stderr, interactive: false));
        return (code, stdout.ToString(), stderr.ToString());
    }
}
