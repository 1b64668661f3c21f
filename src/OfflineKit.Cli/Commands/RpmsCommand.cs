using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using OfflineKit.Images;
using OfflineKit.IO;
using OfflineKit.Rpm;

namespace OfflineKit.Cli.Commands;

internal static class RpmsCommand
{
    public static Command Create(CliConsole console)
    {
        var sources = new SourceOptions();
        var why = new Option<string>("--why") { Description = "Show the chain of dependencies that pulled PKG in", HelpName = "PKG" };
        var output = CommonOptions.OutputFormat();
        var cache = new Option<string>("--cache") { Description = "Metadata cache (default: the user's cache folder)", HelpName = "DIR" };
        var weak = new Option<bool>("--with-weak-deps") { Description = "Also carry weak dependencies (Recommends), as dnf does with install_weak_deps=True" };
        var resolve = new Command(
            "resolve",
            "Resolve the spec's RPMs and their whole dependency closure; print one NEVRA a line, sorted, as `dnf repoquery` prints it");
        sources.AddTo(resolve);
        resolve.Add(why);
        resolve.Add(output);
        resolve.Add(cache);
        resolve.Add(weak);
        resolve.SetAction(async (parse, ct) =>
        {
            var t = Timing.Start();
            var effective = sources.ResolveSpec(parse);
            await SpecOptions.WarnAsync(console, effective).ConfigureAwait(false);
            var spec = effective.Spec;
            Timing.Mark("spec read", t);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
            var closure = await RpmClosure.ResolveAsync(
                spec,
                sources.ResolveMirrors(parse),
                Path.Combine(parse.GetValue(cache) ?? BlobCache.DefaultRoot(), "rpm"),
                new HttpDownloader(http),
                parse.GetValue(weak),
                ct).ConfigureAwait(false);
            foreach (var warning in OfflineKit.Catalog.RuntimeRequirement.Check(spec, closure.Carried))
            {
                await console.ErrorWriter.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
            }

            if (parse.GetValue(why) is { } package)
            {
                var chain = closure.Result.Why(package)
                    ?? throw new OperationFailedException($"{package} is not in the closure of {string.Join(' ', spec.Rpm.Packages)}");
                foreach (var step in chain)
                {
                    await console.OutWriter.WriteLineAsync(step.ToString()).ConfigureAwait(false);
                }

                return 0;
            }

            if (parse.GetValue(output) == "json")
            {
                var json = new JsonArray(closure.Carried.Select(p => (JsonNode)new JsonObject
                {
                    ["nevra"] = p.Nevra,
                    ["name"] = p.Name,
                    ["repo"] = p.Repo,
                    ["size"] = p.Size,
                    ["checksum"] = p.Checksum?.ToString(),
                    ["location"] = p.LocationHref,
                }).ToArray());
                await console.OutWriter.WriteLineAsync(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
                return 0;
            }

            foreach (var nevra in closure.Carried.Select(p => p.Nevra).Order(StringComparer.Ordinal))
            {
                await console.OutWriter.WriteLineAsync(nevra).ConfigureAwait(false);
            }

            if (closure.LeftOut.Count > 0)
            {
                await console.ErrorWriter.WriteLineAsync(
                    $"left out as the baseline ({string.Join(", ", spec.Rpm.Baseline)}) has them: {closure.LeftOut.Count} packages ({string.Join(" ", closure.LeftOut.Select(p => p.Name))})").ConfigureAwait(false);
            }

            return 0;
        });
        return new Command("rpms", "OS packages: the exact RPM closure the bundle carries") { resolve };
    }
}
