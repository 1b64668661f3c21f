using System.CommandLine;
using OfflineKit.Build;
using OfflineKit.Bundle;

namespace OfflineKit.Cli.Commands;

internal static class BuildCommand
{
    public static Command Create(CliConsole console)
    {
        var sources = new SourceOptions();
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder the bundle is written to",
            DefaultValueFactory = _ => "bundles",
            HelpName = "DIR",
        };
        var cache = new Option<string>("--cache") { Description = "Download cache (default: the user's cache folder)", HelpName = "DIR" };
        var parallel = CommonOptions.Parallel("downloads", 4);
        var imageSource = new Option<string>("--image-source")
        {
            Description = "Take images from registries (default) or from the local Docker daemon",
            DefaultValueFactory = _ => "registry",
            HelpName = "registry|docker",
        }.AcceptOnlyFromAmong("registry", "docker");
        var format = new Option<string>("--format")
        {
            Description = "tar (default: its contents are compressed already), tar.gz or tar.zst",
            DefaultValueFactory = _ => "tar",
            HelpName = "tar|tar.gz|tar.zst",
        }.AcceptOnlyFromAmong("tar", "tar.gz", "tar.zst");
        var without = new Option<string[]>("--without")
        {
            Description = "Leave a part out (repeatable): images, rpms, manifests, bin (the self-contained offlinekit)",
            HelpName = "PART",
            AllowMultipleArgumentsPerToken = true,
        }.AcceptOnlyFromAmong("images", "rpms", "manifests", "bin");

        var command = new Command(
            "build",
            "Resolve and download everything the cluster needs (RPMs, images, manifests) and pack it into one versioned, " +
            "checksummed bundle tarball under --output. Runs on a machine with internet (or with mirrors).");
        sources.AddTo(command);
        command.Add(output);
        command.Add(cache);
        command.Add(parallel);
        command.Add(imageSource);
        command.Add(format);
        command.Add(without);

        command.SetAction(async (parse, ct) =>
        {
            var effective = sources.ResolveSpec(parse);
            await SpecOptions.WarnAsync(console, effective).ConfigureAwait(false);
            var options = new BuildOptions(effective.Spec, sources.ResolveMirrors(parse), parse.GetRequiredValue(output))
            {
                Format = BundleLayout.ParseFormat(parse.GetRequiredValue(format)),
                Without = (parse.GetValue(without) ?? []).Select(w => Enum.Parse<BuildStage>(w, ignoreCase: true)).ToHashSet(),
                CacheDirectory = parse.GetValue(cache),
                Parallel = parse.GetValue(parallel),
                ImageSource = parse.GetValue(imageSource) == "docker" ? ImageSource.Docker : ImageSource.Registry,
                Warnings = new Relay(w => console.ErrorWriter.WriteLine($"warning: {w}")),
            };
            var written = await ProgressDisplay.RunStagesAsync(console, p => BundleBuilder.BuildAsync(options, p, ct)).ConfigureAwait(false);
            await console.OutWriter.WriteLineAsync(written.Path).ConfigureAwait(false);
            await console.ErrorWriter.WriteLineAsync(
                $"wrote {written.Path} ({ProgressDisplay.Size(written.Size)}, {written.Manifest.Files.Count + 2} files) and {Path.GetFileName(written.Path)}{BundleLayout.TarballChecksumSuffix}").ConfigureAwait(false);
            if (options.Without.Count > 0)
            {
                await console.ErrorWriter.WriteLineAsync(
                    $"note: built without {string.Join(", ", options.Without.Select(w => w.ToString().ToLowerInvariant()).Order())}; this bundle cannot install a cluster by itself").ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }
}
