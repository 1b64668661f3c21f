using System.CommandLine;
using OfflineKit.Images;

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

        return new Command("images", "Container images: kubeadm's image set, and loading a bundle's images") { list, load };
    }
}
