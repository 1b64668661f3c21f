using System.CommandLine;
using System.Globalization;
using OfflineKit.Trust;
using Spectre.Console;

namespace OfflineKit.Cli.Commands;

/// <summary>keygen and diff: key pairs for signed bundles, and what changed between two bundles.</summary>
internal static class TrustCommands
{
    public static Command Keygen(CliConsole console)
    {
        var output = new Option<string>("--out")
        {
            Description = $"Folder for {KeyPair.PrivateKeyFile} (private, mode 0600) and {KeyPair.PublicKeyFile}; an existing key is never overwritten",
            Required = true,
            HelpName = "DIR",
        };
        var command = new Command(
            "keygen",
            "Make an ECDSA P-256 key pair: sign bundles with `build --sign-key DIR/offlinekit.key`, check them with " +
            "`verify --key DIR/offlinekit.pub` (or `openssl dgst -sha256 -verify`, or `cosign verify-blob`).")
        {
            output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var files = KeyPair.Generate(parse.GetRequiredValue(output));
            await console.OutWriter.WriteLineAsync(files.PublicKey).ConfigureAwait(false);
            await console.ErrorWriter.WriteLineAsync($"wrote {files.PrivateKey} (keep it private) and {files.PublicKey} (give it to the sites)").ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    public static Command Diff(CliConsole console)
    {
        var old = new Argument<string>("OLD") { Description = "The bundle a site has (tarball or directory)" };
        var @new = new Argument<string>("NEW") { Description = "The bundle it is to get" };
        var format = CommonOptions.OutputFormat();
        var command = new Command(
            "diff",
            "What differs between two bundles: artifacts added, removed and changed (version, digest, size), and the " +
            "bytes a site holding OLD must receive to have NEW. Reads only bundle.json of each.")
        {
            old,
            @new,
            format,
        };
        command.SetAction(async (parse, ct) =>
        {
            var result = await BundleDiff.DiffAsync(parse.GetRequiredValue(old), parse.GetRequiredValue(@new), ct).ConfigureAwait(false);
            if (parse.GetValue(format) == "json")
            {
                await console.OutWriter.WriteLineAsync(result.ToJson()).ConfigureAwait(false);
                return 0;
            }

            var table = new Table().Border(TableBorder.Simple).AddColumn("change").AddColumn("kind").AddColumn("name").AddColumn("version").AddColumn("digest").AddColumn(new TableColumn("size").RightAligned());
            foreach (var c in result.Changes)
            {
                table.AddRow(
                    c.Change,
                    c.Kind.ToString().ToLowerInvariant(),
                    Markup.Escape(c.Name),
                    Markup.Escape(Pair(c.Old?.Version, c.New?.Version)),
                    Markup.Escape(Pair(Short(c.Old?.Digest), Short(c.New?.Digest))),
                    Markup.Escape(Pair(c.Old is null ? null : ProgressDisplay.Size(c.Old.Size), c.New is null ? null : ProgressDisplay.Size(c.New.Size))));
            }

            if (result.Changes.Count > 0)
            {
                console.Out.Write(table);
            }

            var counts = result.Changes.GroupBy(c => c.Change).ToDictionary(g => g.Key, g => g.Count());
            console.Out.MarkupLineInterpolated(
                $"{counts.GetValueOrDefault("added")} added, {counts.GetValueOrDefault("removed")} removed, {counts.GetValueOrDefault("changed")} changed, {result.Unchanged} unchanged; a site with OLD needs {ProgressDisplay.Size(result.BytesToCarry)} of NEW's {ProgressDisplay.Size(result.NewFilesSize)} ({result.BytesToCarry.ToString(CultureInfo.InvariantCulture)} bytes)");
            return 0;
        });
        return command;
    }

    private static string Pair(string? old, string? @new) => (old, @new) switch
    {
        (null, null) => "-",
        (null, _) => @new!,
        (_, null) => old,
        _ when old == @new => old,
        _ => $"{old} -> {@new}",
    };

    private static string? Short(string? digest) => digest is { Length: > 19 } ? digest[..19] + "…" : digest;
}
