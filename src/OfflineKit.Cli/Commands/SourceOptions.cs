using System.CommandLine;
using OfflineKit.Spec;

namespace OfflineKit.Cli.Commands;

/// <summary>The spec and mirror flags that `build` and `rpms resolve` share.</summary>
internal sealed class SourceOptions
{
    public Option<string> Kubernetes { get; } = CommonOptions.Kubernetes(required: false);

    public Option<string> Spec { get; } = new("--spec")
    {
        Description = "Your own bundle spec (YAML) instead of the built-in one for --k8s",
        HelpName = "FILE",
    };

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

    public IEnumerable<Option> All => [Kubernetes, Spec, Mirrors, RegistryMirrors, UrlMirrors, InsecureRegistries];

    public BundleSpec ResolveSpec(ParseResult parse, string? os = null, string? arch = null) =>
        SpecResolver.Resolve(parse.GetValue(Kubernetes), parse.GetValue(Spec), os, arch);

    public MirrorConfig ResolveMirrors(ParseResult parse) => MirrorSources.Compose(
        parse.GetValue(Mirrors),
        parse.GetValue(RegistryMirrors) ?? [],
        parse.GetValue(UrlMirrors) ?? [],
        parse.GetValue(InsecureRegistries) ?? []);

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
                r.AddError("give --k8s VERSION (a built-in spec) or --spec FILE");
            }
        });
    }
}
