using System.Text.Json;
using System.Text.Json.Serialization;
using OfflineKit.Bundle;

namespace OfflineKit.Trust;

/// <summary>One artifact as it differs between two bundles; <see cref="Old"/> null when added, <see cref="New"/> null when removed.</summary>
public sealed record ArtifactChange(ArtifactKind Kind, string Name, Artifact? Old, Artifact? New)
{
    public string Change => (Old, New) switch
    {
        (null, _) => "added",
        (_, null) => "removed",
        _ => "changed",
    };
}

/// <summary>
/// What differs between two bundles, from their bundle.json alone: artifacts added, removed and changed
/// (version, digest, size), and the bytes a site holding OLD must receive to have NEW — every file of
/// NEW whose SHA-256 OLD does not hold.
/// </summary>
public sealed record BundleDiffResult(string Old, string New, IReadOnlyList<ArtifactChange> Changes, int Unchanged, long BytesToCarry, long NewFilesSize)
{
    public string ToJson() => JsonSerializer.Serialize(this, DiffJsonContext.Default.BundleDiffResult);
}

public static class BundleDiff
{
    public static async Task<BundleDiffResult> DiffAsync(string oldBundle, string newBundle, CancellationToken cancellationToken = default)
    {
        var old = await BundleInspector.InspectAsync(oldBundle, cancellationToken).ConfigureAwait(false);
        var @new = await BundleInspector.InspectAsync(newBundle, cancellationToken).ConfigureAwait(false);
        return Compare(oldBundle, old.Manifest, newBundle, @new.Manifest);
    }

    public static BundleDiffResult Compare(string oldName, BundleManifest old, string newName, BundleManifest @new)
    {
        // An artifact is the same thing when kind and name match; a name the bundle holds twice (the same
        // image in two archives) is told apart by path.
        static string Key(Artifact a) => $"{a.Kind}\n{a.Name}";
        var before = old.Artifacts.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var after = @new.Artifacts.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var changes = new List<ArtifactChange>();
        var unchanged = 0;
        foreach (var key in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var o = before.GetValueOrDefault(key);
            var n = after.GetValueOrDefault(key);
            if (o is not null && n is not null && o.Digest == n.Digest && o.Version == n.Version && o.Size == n.Size)
            {
                unchanged++;
                continue;
            }

            var any = (n ?? o)!;
            changes.Add(new ArtifactChange(any.Kind, any.Name, o, n));
        }

        return new BundleDiffResult(oldName, newName, [.. changes.OrderBy(c => c.Kind).ThenBy(c => c.Name, StringComparer.Ordinal)], unchanged, BytesToCarry(old, @new), @new.Files.Sum(f => f.Size));
    }

    /// <summary>Files of NEW whose content (by SHA-256) OLD does not hold, whole: what a site holding OLD must be sent.</summary>
    private static long BytesToCarry(BundleManifest old, BundleManifest @new)
    {
        var held = old.Files.Select(f => f.Sha256).ToHashSet(StringComparer.Ordinal);
        return @new.Files.Where(f => !held.Contains(f.Sha256)).Sum(f => f.Size);
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(BundleDiffResult))]
internal sealed partial class DiffJsonContext : JsonSerializerContext;
