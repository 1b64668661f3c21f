using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using Spectre.Console;

namespace OfflineKit.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("A bundle tarball or an extracted bundle directory");
        var output = CommonOptions.OutputFormat();
        var command = new Command("inspect", "Show what a bundle holds: versions, images with digests and sizes, RPMs, manifests, totals. Reads only bundle.json.")
        {
            bundle,
            output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var summary = await BundleInspector.InspectAsync(parse.GetRequiredValue(bundle), ct).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                await console.OutWriter.WriteLineAsync(ToJson(summary)).ConfigureAwait(false);
            }
            else
            {
                Render(console.Out, summary);
            }

            return 0;
        });
        return command;
    }

    private static string ToJson(BundleSummary summary)
    {
        var manifest = JsonNode.Parse(summary.Manifest.ToJsonBytes())!.AsObject();
        manifest["bundle"] = summary.Bundle;
        manifest["tarballSize"] = summary.TarballSize;
        if (summary.SbomComponents is { } sbom)
        {
            manifest["sbomComponents"] = new JsonObject(sbom.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
        }

        manifest["totals"] = new JsonArray(summary.Totals
            .Select(t => (JsonNode)new JsonObject { ["kind"] = t.Kind.ToString().ToLowerInvariant(), ["count"] = t.Count, ["size"] = t.Size })
            .ToArray());
        return manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static void Render(IAnsiConsole console, BundleSummary s)
    {
        var m = s.Manifest;
        var head = new Grid().AddColumn().AddColumn();
        head.AddRow("[bold]bundle[/]", CliText.Markup(m.Name));
        head.AddRow("bundle version", CliText.Markup(m.BundleVersion));
        head.AddRow("kubernetes", CliText.Markup(m.KubernetesVersion));
        head.AddRow("platform", CliText.Markup($"{m.Os}/{m.Arch}"));
        // Absent in bundles made before the version catalog: the guide's docker / v1beta3 bundle.
        head.AddRow("runtime", CliText.Markup(m.Runtime ?? "docker"));
        if (m.KubeadmConfigApi is not null)
        {
            head.AddRow("kubeadm config", CliText.Markup(m.KubeadmConfigApi));
        }

        if (m.CatalogRevision is not null)
        {
            head.AddRow("version catalog", CliText.Markup($"revision {m.CatalogRevision}"));
        }

        head.AddRow("created by", CliText.Markup(m.CreatedBy));
        head.AddRow("files", CliText.Markup($"{m.Files.Count + 2} ({ProgressDisplay.Size(s.FilesSize)})"));
        if (s.TarballSize is { } size)
        {
            head.AddRow("tarball", CliText.Markup(ProgressDisplay.Size(size)));
        }

        if (s.SbomComponents is { } sbom)
        {
            head.AddRow("SBOM", Markup.Escape($"{BundleLayout.SbomFile}: {sbom.Values.Sum()} components ({string.Join(", ", sbom.OrderBy(kv => SbomTypeOrder.IndexOf(kv.Key) is var i && i < 0 ? int.MaxValue : i).Select(kv => $"{kv.Value} {SbomTypeName(kv.Key)}"))})"));
        }

        console.Write(head);
        foreach (var group in m.Artifacts.GroupBy(a => a.Kind).OrderBy(g => g.Key))
        {
            console.WriteLine();
            var table = new Table().Border(TableBorder.Simple).Title(CliText.Markup(Plural(group.Key)))
                .AddColumn("name").AddColumn("version").AddColumn("digest").AddColumn(new TableColumn("size").RightAligned()).AddColumn("path");
            foreach (var a in group)
            {
                table.AddRow(
                    CliText.Markup(a.Name),
                    CliText.Markup(a.Version ?? "-"),
                    CliText.Markup(Short(a.Digest)),
                    CliText.Markup(ProgressDisplay.Size(a.Size)),
                    CliText.Markup(a.Path));
            }

            console.Write(table);
        }

        console.WriteLine();
        var totals = new Table().Border(TableBorder.Simple).Title("totals").AddColumn("kind").AddColumn(new TableColumn("count").RightAligned()).AddColumn(new TableColumn("size").RightAligned());
        foreach (var t in s.Totals)
        {
            totals.AddRow(Plural(t.Kind), t.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), CliText.Markup(ProgressDisplay.Size(t.Size)));
        }

        if (s.Totals.Count == 0)
        {
            totals.AddRow("(no artifacts)", "0", "0 B");
        }

        console.Write(totals);
    }

    private static string Plural(ArtifactKind kind) => kind switch
    {
        ArtifactKind.Image => "images",
        ArtifactKind.Rpm => "RPMs",
        ArtifactKind.Manifest => "manifests",
        ArtifactKind.Script => "scripts",
        _ => "files",
    };

    private static readonly List<string> SbomTypeOrder = ["library", "container", "file", "application"];

    private static string SbomTypeName(string type) => type switch
    {
        "library" => "RPMs",
        "container" => "images",
        "file" => "manifests",
        "application" => "binaries",
        _ => type,
    };

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] + "…" : digest;
}
