using System.Formats.Tar;
using System.Text.Json;

namespace OfflineKit.Bundle;

/// <summary>What a bundle holds, read from its bundle.json.</summary>
public sealed record BundleSummary(string Bundle, BundleManifest Manifest, long? TarballSize)
{
    public IReadOnlyList<KindTotal> Totals =>
        Manifest.Artifacts.GroupBy(a => a.Kind)
            .OrderBy(g => g.Key)
            .Select(g => new KindTotal(g.Key, g.Count(), g.Sum(a => a.Size)))
            .ToList();

    public long FilesSize => Manifest.Files.Sum(f => f.Size);
}

public sealed record KindTotal(ArtifactKind Kind, int Count, long Size);

public static class BundleInspector
{
    /// <summary>Reads bundle.json from a tarball (it is the second entry: only the head is read) or a directory.</summary>
    public static async Task<BundleSummary> InspectAsync(string path, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path))
        {
            var root = BundleVerifier.FindRoot(path);
            var file = Path.Combine(root, BundleLayout.ManifestFile);
            if (!File.Exists(file))
            {
                throw new OperationFailedException($"{path}: the bundle has no bundle.json; `offlinekit verify` tells what else is wrong");
            }

            return new BundleSummary(path, Parse(IO.InputFile.ReadAllBytes(file, BundleCheck.MaxMetadataBytes, BundleLayout.ManifestFile), path), null);
        }

        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: no such bundle (expected a bundle tarball or an extracted bundle directory)");
        }

        await using var source = await TarballSource.OpenAsync(path, cancellationToken, wholePass: false).ConfigureAwait(false);
        try
        {
            while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile
                    && TarballSource.SplitTop(entry.Name).Inner == BundleLayout.ManifestFile
                    && entry.DataStream is not null)
                {
                    if (entry.Length > BundleCheck.MaxMetadataBytes)
                    {
                        throw new OperationFailedException($"{path}: bundle.json is {entry.Length} bytes, over the {BundleCheck.MaxMetadataBytes >> 20} MiB cap on it");
                    }

                    using var buffer = new MemoryStream();
                    await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                    return new BundleSummary(path, Parse(buffer.ToArray(), path), source.Length);
                }
            }
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            throw new OperationFailedException($"{path}: cannot read the tarball ({e.Message}); `offlinekit verify {path}` tells what is wrong", e);
        }

        throw new OperationFailedException($"{path}: the tarball has no bundle.json; it is not an offlinekit bundle");
    }

    private static BundleManifest Parse(byte[] json, string path)
    {
        try
        {
            return BundleManifest.Parse(json);
        }
        catch (JsonException e)
        {
            throw new OperationFailedException($"{path}: bundle.json cannot be read: {e.Message}", e);
        }
    }
}
