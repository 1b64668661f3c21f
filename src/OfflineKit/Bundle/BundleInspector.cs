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

    /// <summary>sbom.cdx.json's component counts by CycloneDX type (library = RPMs, container = images, …); null without an SBOM.</summary>
    public IReadOnlyDictionary<string, int>? SbomComponents { get; init; }
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

            var sbom = Path.Combine(root, BundleLayout.SbomFile);
            return new BundleSummary(path, Parse(IO.InputFile.ReadAllBytes(file, BundleCheck.MaxMetadataBytes, BundleLayout.ManifestFile), path), null)
            {
                SbomComponents = File.Exists(sbom) ? Counts(IO.InputFile.ReadAllBytes(sbom, BundleCheck.MaxMetadataBytes, BundleLayout.SbomFile)) : null,
            };
        }

        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: no such bundle (expected a bundle tarball or an extracted bundle directory)");
        }

        await using var source = await TarballSource.OpenAsync(path, cancellationToken, wholePass: false).ConfigureAwait(false);
        try
        {
            // bundle.json, then the head files (the SBOM among them): past those nothing more is read.
            BundleManifest? manifest = null;
            while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                var inner = TarballSource.SplitTop(entry.Name).Inner;
                if ((inner == BundleLayout.ManifestFile || inner == BundleLayout.SbomFile) && entry.Length > BundleCheck.MaxMetadataBytes)
                {
                    throw new OperationFailedException($"{path}: {inner} is {entry.Length} bytes, over the {BundleCheck.MaxMetadataBytes >> 20} MiB cap on it");
                }

                if (inner == BundleLayout.ManifestFile)
                {
                    manifest = Parse(await ReadAsync(entry.DataStream, cancellationToken).ConfigureAwait(false), path);
                }
                else if (manifest is not null && inner == BundleLayout.SbomFile)
                {
                    return new BundleSummary(path, manifest, source.Length) { SbomComponents = Counts(await ReadAsync(entry.DataStream, cancellationToken).ConfigureAwait(false)) };
                }
                else if (manifest is not null && !BundleLayout.IsHeadFile(inner) && inner is not (BundleLayout.SumsFile or BundleLayout.SignatureFile))
                {
                    return new BundleSummary(path, manifest, source.Length);
                }
            }

            if (manifest is not null)
            {
                return new BundleSummary(path, manifest, source.Length);
            }
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            throw new OperationFailedException($"{path}: cannot read the tarball ({e.Message}); `offlinekit verify {path}` tells what is wrong", e);
        }

        throw new OperationFailedException($"{path}: the tarball has no bundle.json; it is not an offlinekit bundle");
    }

    private static async Task<byte[]> ReadAsync(Stream data, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await data.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>An SBOM that cannot be read shows no counts here; verify judges its bytes.</summary>
    private static IReadOnlyDictionary<string, int>? Counts(byte[] sbom)
    {
        try
        {
            return Trust.Sbom.CountByType(sbom);
        }
        catch (JsonException)
        {
            return null;
        }
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
