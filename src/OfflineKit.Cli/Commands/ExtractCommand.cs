using System.CommandLine;
using OfflineKit.Bundle;

namespace OfflineKit.Cli.Commands;

internal static class ExtractCommand
{
    public static Command Create(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("A bundle tarball (.tar, .tar.gz, .tar.zst)");
        var to = new Option<string>("--to")
        {
            Description = "Folder to extract into; the bundle lands in DIR/<bundle name>/ once it is whole and verified",
            Required = true,
            HelpName = "DIR",
        };
        var command = new Command(
            "extract",
            "Unpack a bundle safely: refuses absolute paths, '..', links pointing outside, devices; verifies every file as it is written; " +
            "leaves nothing behind when it fails.")
        {
            bundle,
            to,
        };
        command.SetAction(async (parse, ct) =>
        {
            var result = await ProgressDisplay.RunAsync(
                console,
                "extracting",
                p => BundleExtractor.ExtractAsync(parse.GetRequiredValue(bundle), parse.GetRequiredValue(to), p, ct)).ConfigureAwait(false);
            if (!result.Report.Ok)
            {
                VerifyCommand.Render(console, result.Report);
                await console.ErrorWriter.WriteLineAsync("offlinekit: nothing was extracted").ConfigureAwait(false);
                return (int)ExitCode.Failed;
            }

            await console.OutWriter.WriteLineAsync(Printable.Escape(result.Directory)).ConfigureAwait(false);
            await console.ErrorWriter.WriteLineAsync($"extracted and verified {result.Report.FilesChecked} files into {Printable.Escape(result.Directory)}").ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
