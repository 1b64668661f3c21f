using System.CommandLine;
using OfflineKit.Spec;

namespace OfflineKit.Cli.Commands;

internal static class SpecCommand
{
    public static Command Create(CliConsole console)
    {
        var options = new SpecOptions();
        var show = new Command(
            "show",
            "Print the effective bundle spec for --k8s (derived from the version catalog) and the target, as YAML that --spec loads back unchanged");
        options.AddTo(show);
        show.SetAction(async (parse, ct) =>
        {
            var effective = options.Resolve(parse);
            await SpecOptions.WarnAsync(console, effective).ConfigureAwait(false);
            var spec = effective.Spec;
            var origin = spec.CatalogRevision is null ? $"from {spec.SourceFile}" : $"derived from the version catalog, revision {spec.CatalogRevision}";
            await console.OutWriter.WriteLineAsync(
                $"# offlinekit bundle spec for Kubernetes {spec.Kubernetes} {spec.Target.OsName}/{spec.Target.ArchName} with {spec.Runtime.Name()}, {origin}.").ConfigureAwait(false);
            if (effective.KubeadmConfigApi is not null)
            {
                await console.OutWriter.WriteLineAsync($"# kubeadm config API: {effective.KubeadmConfigApi}").ConfigureAwait(false);
            }

            foreach (var limit in effective.HostLimits)
            {
                await console.OutWriter.WriteLineAsync($"# host limit ({limit.Check}): {limit.Message}").ConfigureAwait(false);
            }

            await console.OutWriter.WriteAsync(BundleSpecWriter.ToYaml(spec)).ConfigureAwait(false);
            return 0;
        });
        return new Command("spec", "Bundle specs: the effective spec a build uses") { show };
    }
}
