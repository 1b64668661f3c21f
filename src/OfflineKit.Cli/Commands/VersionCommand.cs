using System.CommandLine;
using System.Runtime.InteropServices;
using OfflineKit.Bundle;
using OfflineKit.Catalog;
using OfflineKit.Images;
using OfflineKit.Spec;

namespace OfflineKit.Cli.Commands;

internal static class VersionCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("version", "Print offlinekit's version, its runtime, and the Kubernetes versions it builds bundles for");
        command.SetAction(parse =>
        {
            console.OutWriter.WriteLine(BundleWriter.CreatedBy);
            console.OutWriter.WriteLine($"runtime: .NET {Environment.Version} {RuntimeInformation.RuntimeIdentifier}");
            console.OutWriter.WriteLine($"bundle format: v{BundleLayout.SchemaVersion}");
            console.OutWriter.WriteLine($"kubernetes: {VersionCatalog.Embedded.SupportedRange}");
            console.OutWriter.WriteLine($"version catalog: revision {ReleaseCatalog.Embedded.Revision}");
            console.OutWriter.WriteLine($"built-in specs: {string.Join(", ", BundleSpecLoader.EmbeddedVersions())}");
            return 0;
        });
        return command;
    }
}
