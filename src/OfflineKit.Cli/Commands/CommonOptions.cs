using System.CommandLine;

namespace OfflineKit.Cli.Commands;

/// <summary>Options several commands share, declared once.</summary>
internal static class CommonOptions
{
    public static Option<string> OutputFormat() => new Option<string>("--output", "-o")
    {
        Description = "Result format: text (a readable table) or json (for scripts)",
        DefaultValueFactory = _ => "text",
        HelpName = "text|json",
    }.AcceptOnlyFromAmong("text", "json");

    public static Argument<string> Bundle(string description) => new("BUNDLE")
    {
        Description = description,
    };

    public static Option<string> Kubernetes(bool required) => new("--k8s")
    {
        Description = $"Kubernetes version, any release from {OfflineKit.Images.VersionCatalog.Embedded.First} to {OfflineKit.Images.VersionCatalog.Embedded.Last} (`offlinekit version` lists them), e.g. 1.31.2 or v1.31.2",
        Required = required,
        HelpName = "VERSION",
    };

    public static Option<FileInfo> Inventory() => new Option<FileInfo>("--inventory", "-i")
    {
        Description = "Inventory YAML: hosts, roles, SSH access, cluster settings (see `offlinekit inventory init`)",
        Required = true,
        HelpName = "FILE",
    }.AcceptExistingOnly();

    public static Option<int> Parallel(string what, int defaultValue)
    {
        var option = new Option<int>("--parallel")
        {
            Description = $"How many {what} at once (default {defaultValue})",
            DefaultValueFactory = _ => defaultValue,
            HelpName = "N",
        };
        option.Validators.Add(r =>
        {
            var n = r.GetValueOrDefault<int>();
            if (n is < 1 or > 64)
            {
                r.AddError($"--parallel must be from 1 to 64, got {n}");
            }
        });
        return option;
    }
}

/// <summary>Lines a library call reports (IProgress&lt;string&gt;), handed to the CLI to print.</summary>
internal sealed class Relay(Action<string> report) : IProgress<string>
{
    public void Report(string value) => report(value);
}
