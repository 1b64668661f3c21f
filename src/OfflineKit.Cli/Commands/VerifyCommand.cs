using System.CommandLine;
using OfflineKit.Bundle;
using OfflineKit.Trust;
using Spectre.Console;

namespace OfflineKit.Cli.Commands;

internal static class VerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("A bundle tarball (.tar, .tar.gz, .tar.zst) or an extracted bundle directory");
        var output = CommonOptions.OutputFormat();
        var key = PublicKey("Check bundle.json.sig with this public key (PEM) before anything else; an unsigned bundle or another key's signature fails");
        var command = new Command(
            "verify",
            "Prove a bundle unchanged: every file against SHA256SUMS and bundle.json, every artifact against its digest, " +
            "and the tarball against NAME.sha256 when it lies beside it. Reads a tarball as a stream; unpacks nothing. " +
            "Exit 0 verified, 1 a problem found, 2 bad input.")
        {
            bundle,
            output,
            key,
        };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetRequiredValue(bundle);
            using var publicKey = parse.GetValue(key) is { } keyPath ? BundleSignature.LoadPublicKey(keyPath) : null;
            var report = await ProgressDisplay.RunAsync(console, "verifying", p => BundleVerifier.VerifyAsync(path, publicKey, p, ct)).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                await console.OutWriter.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            }
            else
            {
                Render(console, report);
            }

            return (int)(report.Ok ? ExitCode.Success : ExitCode.Failed);
        });
        return command;
    }

    /// <summary>--key PUB.pem, as verify and install take it.</summary>
    internal static Option<string> PublicKey(string description) => new("--key")
    {
        Description = description,
        HelpName = "PUB.pem",
    };

    internal static string SignatureText(VerifyReport report) => report.Signature switch
    {
        SignatureStatus.Valid => "signature valid (bundle.json.sig, the given key)",
        SignatureStatus.Invalid => "signature INVALID",
        SignatureStatus.Missing => "signature MISSING",
        _ when report.HasSignature => "signature not checked (bundle.json.sig is there; give --key PUB.pem to check it)",
        _ => "signature not checked (the bundle is not signed; --key PUB.pem would require it)",
    };

    internal static void Render(CliConsole console, VerifyReport report)
    {
        var name = Printable.Escape(report.Name ?? report.Bundle);
        var tarball = report.TarballChecksum switch
        {
            TarballChecksumStatus.Ok => "; tarball matches its .sha256",
            TarballChecksumStatus.Absent => "; no .sha256 beside the tarball",
            _ => string.Empty,
        };
        if (report.Ok)
        {
            console.Out.MarkupLineInterpolated($"[green]verified[/] {name}: {report.FilesChecked} files, {ProgressDisplay.Size(report.BytesChecked)}{tarball}; {SignatureText(report)}");
            return;
        }

        var table = new Table().Border(TableBorder.Simple).AddColumn("problem").AddColumn("path").AddColumn("detail");
        foreach (var p in report.Problems)
        {
            table.AddRow(CliText.Markup(KindName(p.Kind)), CliText.Markup(p.Path), CliText.Markup(p.Detail));
        }

        console.Out.Write(table);
        console.Out.MarkupLineInterpolated($"[red]verification FAILED[/] for {name}: {report.Problems.Count} problem{(report.Problems.Count == 1 ? string.Empty : "s")}; {SignatureText(report)}");
    }

    internal static string KindName(ProblemKind kind) => kind switch
    {
        ProblemKind.Modified => "modified",
        ProblemKind.Missing => "missing",
        ProblemKind.Extra => "extra",
        ProblemKind.SumsAltered => "sums-altered",
        ProblemKind.Malformed => "malformed",
        ProblemKind.Truncated => "truncated",
        ProblemKind.TarballChecksum => "tarball-checksum",
        ProblemKind.UnexpectedEntry => "unexpected-entry",
        ProblemKind.Signature => "signature",
        _ => "artifact",
    };
}
