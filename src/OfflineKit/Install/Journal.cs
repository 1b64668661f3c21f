using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>An addon as a step applied it: rendered for the site with these values (e.g. cluster.podSubnet), the rendered file's SHA-256.</summary>
public sealed record RenderedAddon(string Name, string Sha256, IReadOnlyDictionary<string, string> Values);

/// <summary>
/// One line of a host's journal: a step of a bundle's install finished (done or failed) at a time, in a
/// run; a step that applied addons rendered for the site records them and the site values they got.
/// </summary>
public sealed record JournalEntry(DateTimeOffset At, string Bundle, string Step, string Status, string Run, string? Message = null, IReadOnlyList<RenderedAddon>? Site = null)
{
    public const string Done = "done";
    public const string Failed = "failed";

    /// <summary>The step waited for a step on another host that did not finish.</summary>
    public const string Blocked = "blocked";
}

/// <summary>
/// The per-host journal, <c>stateDir/journal</c>: one JSON line appended per finished step, so a cut
/// run leaves at worst a torn last line, which is ignored. A rerun skips the steps it records as done
/// for the same bundle; another bundle starts afresh.
/// </summary>
public static class Journal
{
    public static IReadOnlyList<JournalEntry> Parse(string text)
    {
        var entries = new List<JournalEntry>();
        foreach (var line in text.Split('\n'))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, JournalJsonContext.Default.JournalEntry) is { } entry)
                {
                    entries.Add(entry);
                }
            }
            catch (JsonException)
            {
                // A line torn by a cut connection: the step it would record runs again.
            }
        }

        return entries;
    }

    /// <summary>The steps of <paramref name="bundle"/> whose last record is "done".</summary>
    public static IReadOnlySet<string> DoneSteps(IEnumerable<JournalEntry> entries, string bundle) =>
        entries.Where(e => e.Bundle == bundle)
            .GroupBy(e => e.Step)
            .Where(g => g.Last().Status == JournalEntry.Done)
            .Select(g => g.Key)
            .ToHashSet(StringComparer.Ordinal);

    public static string Format(JournalEntry entry) => JsonSerializer.Serialize(entry, JournalJsonContext.Default.JournalEntry);

    public static RemoteCommand ReadCommand(string path) => new($"cat -- {Shell.Quote(path)} 2>/dev/null || true");

    public static RemoteCommand AppendCommand(string path, JournalEntry entry) =>
        new($"printf '%s\\n' {Shell.Quote(Format(entry))} >> {Shell.Quote(path)}");

    public static string RunId(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
