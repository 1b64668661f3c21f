using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using OfflineKit.Images;
using OfflineKit.Spec;
using Spectre.Console;

namespace OfflineKit.Cli.Commands;

internal static class ImagesCommand
{
    public static Command Create(CliConsole console)
    {
        var k8s = CommonOptions.Kubernetes(required: true);
        var repository = new Option<string>("--image-repository")
        {
            Description = "Registry path the images come from, as kubeadm's --image-repository",
            HelpName = "REPO",
        };
        var list = new Command("list", "Print the images kubeadm needs for a Kubernetes version, exactly as `kubeadm config images list` prints them")
        {
            k8s,
            repository,
        };
        list.SetAction(parse =>
        {
            foreach (var image in KubeadmImages.List(parse.GetValue(k8s)!, parse.GetValue(repository)))
            {
                console.OutWriter.WriteLine(image);
            }

            return 0;
        });

        var bundle = CommonOptions.Bundle("A bundle tarball or extracted directory");
        var role = new Option<string>("--role")
        {
            Description = "Load only what this role needs",
            HelpName = "control-plane|worker",
        }.AcceptOnlyFromAmong("control-plane", "worker");
        var load = new Command("load", "Load a bundle's images into the local Docker daemon (DOCKER_HOST is respected)")
        {
            bundle,
            role,
        };
        load.SetAction(async (parse, ct) =>
        {
            using var docker = new DockerDaemon();
            var messages = new Relay(m => console.ErrorWriter.WriteLine(Printable.Escape(m)));
            var result = await BundleImages.LoadAsync(parse.GetRequiredValue(bundle), parse.GetValue(role), docker, messages, ct).ConfigureAwait(false);
            foreach (var name in result.Loaded)
            {
                await console.OutWriter.WriteLineAsync($"loaded {Printable.Escape(name)}").ConfigureAwait(false);
            }

            foreach (var name in result.AlreadyPresent)
            {
                await console.OutWriter.WriteLineAsync($"present {Printable.Escape(name)}").ConfigureAwait(false);
            }

            return 0;
        });

        return new Command("images", "Container images: kubeadm's image set, loading a bundle's images, pushing them into a registry") { list, load, Push(console) };
    }

    private static Command Push(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("A bundle tarball (uncompressed) or an extracted bundle directory");
        var registry = new Option<string>("--registry")
        {
            Description = "The registry to seed, and a path under it (on Harbor, its first segment is the project): "
                + "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0 goes to HOST:PORT/PATH/google_containers/kube-apiserver:v1.23.0",
            HelpName = "HOST:PORT[/PATH]",
            Required = true,
        };
        var caFile = new Option<string>("--ca-file")
        {
            Description = "PEM file of the CA that signed the registry's certificate, trusted beside the system CAs",
            HelpName = "FILE",
        };
        var insecure = new Option<string[]>("--insecure-registry")
        {
            Description = "Speak plain HTTP to this registry (only where it is named)",
            HelpName = "HOST",
        };
        var mirrors = new Option<string>("--mirrors")
        {
            Description = "Mirrors file: its ca: and insecure: entries apply to the registry (its mirrors do not: a push goes where it is told)",
            HelpName = "FILE",
        };
        var parallel = CommonOptions.Parallel("blobs and manifests", 4);
        var output = CommonOptions.OutputFormat();
        var push = new Command("push", "Copy every image of a bundle into an existing registry (Harbor, the CNCF distribution registry): "
            + "each manifest byte for byte, so every tag has the digest bundle.json records; a blob the registry has is not sent again. "
            + "Credentials from $DOCKER_CONFIG/config.json (docker login).")
        {
            bundle,
            registry,
            caFile,
            insecure,
            mirrors,
            parallel,
            output,
        };
        push.SetAction(async (parse, ct) =>
        {
            var target = PushTarget.Parse(parse.GetRequiredValue(registry));
            var config = MirrorSources.Compose(parse.GetValue(mirrors), [], [], parse.GetValue(insecure) ?? []);
            if (parse.GetValue(caFile) is { } ca)
            {
                config.AddCaFile(target.Registry, ca);
            }

            var options = new ImagePushOptions(parse.GetRequiredValue(bundle), target, new RegistryClientOptions(config, RegistryCredentials.Load(RegistryCredentials.DefaultPath())))
            {
                Parallel = parse.GetValue(parallel),
            };
            var report = await ProgressDisplay.RunAsync(console, $"push to {target}", p => BundlePusher.PushAsync(options, p, ct)).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                await console.OutWriter.WriteLineAsync(ToJson(report)).ConfigureAwait(false);
            }
            else
            {
                Render(console, report);
            }

            return 0;
        });
        return push;
    }

    private static string ToJson(PushReport report) => new JsonObject
    {
        ["registry"] = report.Registry,
        ["images"] = new JsonArray(report.Images.Select(i => (JsonNode)new JsonObject
        {
            ["origin"] = i.Origin,
            ["target"] = i.Target,
            ["digest"] = i.Digest,
            ["status"] = i.AlreadyThere ? "present" : "pushed",
        }).ToArray()),
        ["blobs"] = new JsonObject { ["sent"] = report.BlobsSent, ["skipped"] = report.BlobsSkipped, ["mounted"] = report.BlobsMounted },
        ["bytesSent"] = report.BytesSent,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static void Render(CliConsole console, PushReport report)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("image").AddColumn("pushed as").AddColumn("digest").AddColumn("status");
        foreach (var i in report.Images)
        {
            table.AddRow(Markup.Escape(Printable.Escape(i.Origin)), Markup.Escape(Printable.Escape(i.Target)), Markup.Escape(i.Digest), i.AlreadyThere ? "present" : "pushed");
        }

        console.Out.Write(table);
        var present = report.Images.Count(i => i.AlreadyThere);
        console.OutWriter.WriteLine(
            $"{report.Images.Count} images in {report.Registry} ({report.Images.Count - present} pushed, {present} already there); "
            + $"blobs: {report.BlobsSent} sent, {report.BlobsSkipped} skipped, {report.BlobsMounted} mounted; {ProgressDisplay.Size(report.BytesSent)} sent");
    }
}
