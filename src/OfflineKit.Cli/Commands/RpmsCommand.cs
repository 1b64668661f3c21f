using System.CommandLine;

namespace OfflineKit.Cli.Commands;

internal static class RpmsCommand
{
    public static Command Create(CliConsole console)
    {
        var sources = new SourceOptions();
        var why = new Option<string>("--why") { Description = "Show the chain of dependencies that pulled PKG in", HelpName = "PKG" };
        var output = CommonOptions.OutputFormat();
        var resolve = new Command(
            "resolve",
            "Resolve the spec's RPMs and their whole dependency closure; print one NEVRA a line, sorted, as `dnf repoquery` prints it");
        sources.AddTo(resolve);
        resolve.Add(why);
        resolve.Add(output);
        resolve.SetAction(_ => ImagesCommand.NotYet("rpms resolve"));
        return new Command("rpms", "OS packages: the exact RPM closure the bundle carries") { resolve };
    }
}
