using System.CommandLine;
using OfflineKit.Build;
using OfflineKit.Bundle;
using OfflineKit.Trust;

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
        var with = new Option<string[]>("--with")
        {
            Description = "Add a part (repeatable): depot — what a site's depot runs for `cluster.sources: site` (nginx among the RPMs, the CNCF distribution registry's image among the images); " +
                "load-balancer — haproxy and keepalived for a highly available control plane (bundles from 1.24 carry them already; the 1.23 line stays the guide's bundle); " +
                "kube-vip — kube-vip's image (ghcr.io/kube-vip/kube-vip, the version the catalog names for the Kubernetes minor) for `cluster.loadBalancer: kube-vip`",
            HelpName = "PART",
            AllowMultipleArgumentsPerToken = true,
        }.AcceptOnlyFromAmong([.. OfflineKit.Catalog.SpecDerivation.AddableParts]);

        var signKey = new Option<string>("--sign-key")
        {
            Description = "Sign the bundle with this ECDSA P-256 private key (PKCS#8 PEM, from `offlinekit keygen` or `openssl genpkey`): writes bundle.json.sig",
            HelpName = "KEY.pem",
        };
        var passphraseEnv = new Option<string>("--sign-key-passphrase-env")
        {
            Description = "The environment variable that holds the passphrase of an encrypted --sign-key (never the passphrase itself)",
            HelpName = "VAR",
        };
        var lockFile = new Option<string>("--lock")
        {
            Description = "Rebuild from a lock file (NAME.lock.json) that an earlier build wrote: every image, RPM and manifest fetched at its locked digest, for a byte-identical bundle",
            HelpName = "FILE",
        };
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "Show what the build would write and where each part comes from (images, manifests, repositories, keys, packages); fetch and write nothing",
        };
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
        command.Add(with);
        command.Add(signKey);
        command.Add(passphraseEnv);
        command.Add(lockFile);
        command.Add(dryRun);

        command.SetAction(async (parse, ct) =>
        {
            OfflineKit.Timing.Mark("build: action");
            var effective = sources.ResolveSpec(parse);
            effective = OfflineKit.Catalog.SpecDerivation.With(effective, parse.GetValue(with) ?? []);

            await SpecOptions.WarnAsync(console, effective).ConfigureAwait(false);
            string? passphrase = null;
            if (parse.GetValue(passphraseEnv) is { } variable)
            {
                passphrase = Environment.GetEnvironmentVariable(variable)
                    ?? throw new BadInputException($"--sign-key-passphrase-env {variable}: that environment variable is not set");
            }

            using var key = parse.GetValue(signKey) is { } keyPath ? BundleSignature.LoadPrivateKey(keyPath, passphrase, "--sign-key-passphrase-env") : null;
            var lockPath = parse.GetValue(lockFile);
            var options = new BuildOptions(effective.Spec, sources.ResolveMirrors(parse), parse.GetRequiredValue(output))
            {
                Format = BundleLayout.ParseFormat(parse.GetRequiredValue(format)),
                Without = (parse.GetValue(without) ?? []).Select(w => Enum.Parse<BuildStage>(w, ignoreCase: true)).ToHashSet(),
                CacheDirectory = parse.GetValue(cache),
                Parallel = parse.GetValue(parallel),
                ImageSource = parse.GetValue(imageSource) == "docker" ? ImageSource.Docker : ImageSource.Registry,
                Warnings = new Relay(w => console.ErrorWriter.WriteLine($"warning: {w}")),
                SignKey = key,
                Lock = lockPath is null ? null : BundleLock.Load(lockPath),
                LockSource = lockPath,
            };
            if (parse.GetValue(dryRun))
            {
                foreach (var line in BuildPreview.Describe(options, effective))
                {
                    await console.OutWriter.WriteLineAsync(line).ConfigureAwait(false);
                }

                return 0;
            }

            var written = await ProgressDisplay.RunStagesAsync(console, p => BundleBuilder.BuildAsync(options, p, ct)).ConfigureAwait(false);
            await console.OutWriter.WriteLineAsync(written.Path).ConfigureAwait(false);
            await console.ErrorWriter.WriteLineAsync(
                $"wrote {written.Path} ({ProgressDisplay.Size(written.Size)}, {written.Manifest.Files.Count + (key is null ? 2 : 3)} files{(key is null ? string.Empty : ", signed")}), {Path.GetFileName(written.Path)}{BundleLayout.TarballChecksumSuffix} and {BundleLayout.LockFile(written.Manifest.Name)}").ConfigureAwait(false);
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
