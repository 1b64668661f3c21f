using System.CommandLine;
using OfflineKit.Catalog;
using OfflineKit.Spec;

namespace OfflineKit.Cli.Commands;

/// <summary>The flags that pick a spec: --k8s (derived from the version catalog) or --spec FILE, and the target.</summary>
internal sealed class SpecOptions
{
    public Option<string> Kubernetes { get; } = CommonOptions.Kubernetes(required: false);

    public Option<string> Spec { get; } = new("--spec")
    {
        Description = "Your own bundle spec (YAML) instead of the one derived from the version catalog for --k8s",
        HelpName = "FILE",
    };

    public Option<string> Os { get; } = new Option<string>("--os")
    {
        Description = "Target OS release (default el8, or the spec's)",
        HelpName = "el8|el9",
    }.AcceptOnlyFromAmong("el8", "el9");

    public Option<string> Arch { get; } = new Option<string>("--arch")
    {
        Description = "Target architecture (default amd64, or the spec's)",
        HelpName = "amd64|arm64",
    }.AcceptOnlyFromAmong("amd64", "arm64");

    public Option<string> Runtime { get; } = new Option<string>("--runtime")
    {
        Description = "Container runtime (default docker for 1.23.x, the guide's cluster; containerd from 1.24, where kubelet lost dockershim)",
        HelpName = "containerd|docker",
    }.AcceptOnlyFromAmong("containerd", "docker");

    public IEnumerable<Option> All => [Kubernetes, Spec, Os, Arch, Runtime];

    public EffectiveSpec Resolve(ParseResult parse) => SpecResolver.ResolveEffective(
        parse.GetValue(Kubernetes), parse.GetValue(Spec), parse.GetValue(Os), parse.GetValue(Arch), parse.GetValue(Runtime));

    /// <summary>What hosts of the spec's OS release meet on its minor, as warnings on stderr.</summary>
    public static async Task WarnAsync(CliConsole console, EffectiveSpec effective)
    {
        foreach (var limit in effective.HostLimits)
        {
            await console.ErrorWriter.WriteLineAsync(
                $"warning: Kubernetes {effective.Spec.Kubernetes} on {effective.Spec.Target.OsName} ({limit.Check}): {limit.Message}").ConfigureAwait(false);
        }
    }

    public void AddTo(Command command)
    {
        foreach (var option in All)
        {
            command.Add(option);
        }

        // --k8s or --spec: one of them names the spec.
        command.Validators.Add(r =>
        {
            if (r.GetResult(Kubernetes) is null && r.GetResult(Spec) is null)
            {
                r.AddError("give --k8s VERSION (derived from the version catalog) or --spec FILE");
            }
        });
    }
}

/// <summary>The spec and mirror flags that `build` and `rpms resolve` share.</summary>
internal sealed class SourceOptions
{
    public SpecOptions Spec { get; } = new();

    public Option<string> Mirrors { get; } = new("--mirrors")
    {
        Description = "Mirrors file (YAML): registries and URL prefixes mapped to where bytes really come from",
        HelpName = "FILE",
    };

    public Option<string[]> RegistryMirrors { get; } = new("--registry-mirror")
    {
        Description = "Try URL before registry HOST (repeatable; names in the bundle stay HOST)",
        HelpName = "HOST=URL",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> UrlMirrors { get; } = new("--url-mirror")
    {
        Description = "Fetch URLs under PREFIX from URL instead (repeatable)",
        HelpName = "PREFIX=URL",
    };

    public Option<string[]> InsecureRegistries { get; } = new("--insecure-registry")
    {
        Description = "Registry that may be spoken to over plain HTTP (repeatable)",
        HelpName = "HOST",
    };

    public EffectiveSpec ResolveSpec(ParseResult parse) => Spec.Resolve(parse);

    public MirrorConfig ResolveMirrors(ParseResult parse) => MirrorSources.Compose(
        parse.GetValue(Mirrors),
        parse.GetValue(RegistryMirrors) ?? [],
        parse.GetValue(UrlMirrors) ?? [],
        parse.GetValue(InsecureRegistries) ?? []);

    public void AddTo(Command command)
    {
        Spec.AddTo(command);
        foreach (var option in new Option[] { Mirrors, RegistryMirrors, UrlMirrors, InsecureRegistries })
        {
            command.Add(option);
        }
    }
}
