using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// Collects what a bundle actually holds (each file's SHA-256, as it streams past) and judges it
/// against SHA256SUMS and bundle.json. Verify and extract both feed it, so both judge alike.
/// Thread-safe: a directory is hashed by several workers.
/// </summary>
internal sealed class BundleCheck
{
    private const int MaxMetadataBytes = 256 << 20;
    private readonly Dictionary<string, FileDigest> _actual = new(StringComparer.Ordinal);
    private readonly List<VerifyProblem> _problems = [];
    private readonly Lock _lock = new();
    private readonly HashSet<string> _imageArchives = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImageArchiveScan.Result> _archiveBlobs = new(StringComparer.Ordinal);
    private byte[]? _manifestBytes;
    private byte[]? _sumsBytes;
    private byte[]? _signatureBytes;
    private SignatureStatus _signature = SignatureStatus.NotChecked;
    private bool _stoppedAtSignature;
    private long _bytes;

    public bool Truncated { get; private set; }

    /// <summary>
    /// Hashes one file, copying it to <paramref name="copyTo"/> on the way when given. Returns false when
    /// the data ended before <paramref name="expectedSize"/> (a truncated tarball): nothing is recorded then.
    /// </summary>
    public async Task<bool> AddFileAsync(string path, Stream data, long? expectedSize, Stream? copyTo, Action<long>? onBytes, CancellationToken cancellationToken)
    {
        var isMetadata = path is BundleLayout.ManifestFile or BundleLayout.SumsFile or BundleLayout.SignatureFile;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var kept = isMetadata ? new MemoryStream() : null;
        long size = 0;

        // One read of the bytes serves every use: the file's hash, the metadata kept, the copy extract writes.
        await using var tap = new TapStream(data, chunk =>
        {
            hash.AppendData(chunk);
            size += chunk.Length;
            if (kept is not null && kept.Length + chunk.Length <= MaxMetadataBytes)
            {
                kept.Write(chunk);
            }

            copyTo?.Write(chunk);
            onBytes?.Invoke(chunk.Length);
        });

        bool isArchive;
        lock (_lock)
        {
            isArchive = _imageArchives.Contains(path);
        }

        if (isArchive)
        {
            var blobs = await ImageArchiveScan.ScanAsync(tap, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _archiveBlobs[path] = blobs;
            }
        }

        await tap.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);

        if (expectedSize is { } expected && size != expected)
        {
            AddProblem(ProblemKind.Truncated, path, $"the tarball ends inside this file ({size} of {expected} bytes)");
            return false;
        }

        var digest = new FileDigest(path, Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        lock (_lock)
        {
            if (!_actual.TryAdd(path, digest))
            {
                _problems.Add(new VerifyProblem(ProblemKind.UnexpectedEntry, path, "the bundle holds this path twice"));
            }

            _bytes += size;
            if (path == BundleLayout.ManifestFile)
            {
                _manifestBytes = kept!.ToArray();
                NoteImageArchives(_manifestBytes);
            }
            else if (path == BundleLayout.SumsFile)
            {
                _sumsBytes = kept!.ToArray();
            }
            else if (path == BundleLayout.SignatureFile)
            {
                _signatureBytes = kept!.ToArray();
            }
        }

        return true;
    }

    /// <summary>
    /// Which files are image archives, from bundle.json as soon as it arrives (it comes first in a
    /// tarball; a directory verifier reads it first): those files are also read as archives.
    /// </summary>
    private void NoteImageArchives(byte[] manifestJson)
    {
        try
        {
            foreach (var a in BundleManifest.Parse(manifestJson).Artifacts.Where(a => a.Kind == ArtifactKind.Image))
            {
                _imageArchives.Add(a.Path);
            }
        }
        catch (JsonException)
        {
            // Reported by Finish; without it no archive is looked into.
        }
    }

    /// <summary>Whether bundle.json.sig has been read.</summary>
    public bool HasSignature
    {
        get
        {
            lock (_lock)
            {
                return _signatureBytes is not null;
            }
        }
    }

    /// <summary>
    /// Checks bundle.json.sig against bundle.json with <paramref name="key"/>. False when it is missing or
    /// does not verify: the verifier then reads no further, and the report names the signature alone.
    /// </summary>
    public bool VerifySignature(System.Security.Cryptography.ECDsa key)
    {
        lock (_lock)
        {
            (_signature, var detail) = (_manifestBytes, _signatureBytes) switch
            {
                (null, _) => (SignatureStatus.Invalid, "the bundle has no bundle.json to check the signature of"),
                (_, null) => (SignatureStatus.Missing, "the bundle is not signed (no bundle.json.sig), and --key asks for a signature"),
                var (m, sig) when Trust.BundleSignature.Verify(key, m, sig) => (SignatureStatus.Valid, null),
                _ => (SignatureStatus.Invalid, "does not verify with the given key: signed with another key, or bundle.json was changed after signing"),
            };
            if (detail is null)
            {
                return true;
            }

            _problems.Add(new VerifyProblem(ProblemKind.Signature, BundleLayout.SignatureFile, detail));
            _stoppedAtSignature = true;
            return false;
        }
    }

    public void AddProblem(ProblemKind kind, string path, string detail)
    {
        lock (_lock)
        {
            _problems.Add(new VerifyProblem(kind, path, detail));
            Truncated |= kind == ProblemKind.Truncated;
        }
    }

    /// <summary>Compares what was seen with what SHA256SUMS and bundle.json record.</summary>
    public VerifyReport Finish(string bundle, TarballChecksumStatus tarball)
    {
        if (_stoppedAtSignature)
        {
            // Nothing past the signature was judged: an unsigned or wrongly signed bundle is not looked into.
            return new VerifyReport(bundle, null, false, _actual.Count, _bytes, tarball, _problems.Where(p => p.Kind == ProblemKind.Signature).ToList())
            {
                Signature = _signature,
                HasSignature = _signatureBytes is not null,
            };
        }

        var problems = new List<VerifyProblem>(_problems);
        var manifest = ReadManifest(problems);
        var sums = ReadSums(problems);
        var recorded = manifest?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal)
            ?? new Dictionary<string, FileDigest>(StringComparer.Ordinal);

        var paths = new SortedSet<string>(StringComparer.Ordinal);
        paths.UnionWith(_actual.Keys);
        paths.UnionWith(recorded.Keys);
        if (sums is not null)
        {
            paths.UnionWith(sums.Keys);
        }

        foreach (var path in paths)
        {
            if (path is BundleLayout.SumsFile or BundleLayout.SignatureFile)
            {
                // The signature is listed nowhere: it signs bundle.json, and only a key can judge it.
                continue;
            }

            _actual.TryGetValue(path, out var actual);
            var inSums = sums?.GetValueOrDefault(path);
            var inManifest = recorded.GetValueOrDefault(path)?.Sha256;
            if (path == BundleLayout.ManifestFile)
            {
                // bundle.json is covered by SHA256SUMS alone.
                inManifest = inSums;
            }

            Judge(problems, path, actual?.Sha256, inSums, inManifest, sums is not null, manifest is not null);
        }

        if (manifest is not null)
        {
            CheckArtifacts(problems, manifest, recorded);
        }

        if (Truncated)
        {
            // Past the break nothing was read: "missing" would only repeat "truncated".
            problems.RemoveAll(p => p.Kind == ProblemKind.Missing);
        }

        var ordered = problems
            .OrderBy(p => p.Kind is ProblemKind.Truncated or ProblemKind.Signature ? 0 : 1)
            .ThenBy(p => p.Path, StringComparer.Ordinal)
            .ThenBy(p => p.Kind)
            .ToList();
        return new VerifyReport(bundle, manifest?.Name, ordered.Count == 0, _actual.Count, _bytes, tarball, ordered)
        {
            Signature = _signature,
            HasSignature = _signatureBytes is not null,
        };
    }

    private static void Judge(List<VerifyProblem> problems, string path, string? actual, string? inSums, string? inManifest, bool haveSums, bool haveManifest)
    {
        if (actual is null)
        {
            var where = (inSums, inManifest) switch
            {
                (not null, not null) => "SHA256SUMS and bundle.json",
                (not null, null) => "SHA256SUMS",
                _ => "bundle.json",
            };
            problems.Add(new VerifyProblem(ProblemKind.Missing, path, $"listed in {where}, not in the bundle"));
            return;
        }

        var bySums = State(haveSums, inSums, actual);
        var byManifest = State(haveManifest, inManifest, actual);
        (ProblemKind Kind, string Detail)? problem = (bySums, byManifest) switch
        {
            (Record.Matches or Record.Unknown, Record.Matches or Record.Unknown) => null,
            (Record.Absent, Record.Absent) or (Record.Absent, Record.Unknown) or (Record.Unknown, Record.Absent) =>
                (ProblemKind.Extra, "in the bundle, listed in neither SHA256SUMS nor bundle.json"),
            (Record.Matches, Record.Absent) =>
                (ProblemKind.Extra, "listed in SHA256SUMS but not in bundle.json: added together with a SHA256SUMS line"),
            (Record.Absent, Record.Matches) =>
                (ProblemKind.SumsAltered, "recorded in bundle.json, but its SHA256SUMS line is gone"),
            (Record.Differs, Record.Matches) =>
                (ProblemKind.SumsAltered, $"the file matches bundle.json, but its SHA256SUMS line was changed to {inSums}"),
            (Record.Matches, Record.Differs) =>
                (ProblemKind.Modified, $"sha256 {actual}, bundle.json records {inManifest}: changed together with its SHA256SUMS line"),
            _ => (ProblemKind.Modified, $"sha256 {actual}, recorded {inManifest ?? inSums}"),
        };
        if (problem is { } p)
        {
            problems.Add(new VerifyProblem(p.Kind, path, p.Detail));
        }
    }

    private enum Record
    {
        /// <summary>That record could not be read: judge by the other.</summary>
        Unknown,
        Absent,
        Matches,
        Differs,
    }

    private static Record State(bool have, string? recorded, string actual) =>
        !have ? Record.Unknown : recorded is null ? Record.Absent : recorded == actual ? Record.Matches : Record.Differs;

    private void CheckArtifacts(List<VerifyProblem> problems, BundleManifest manifest, Dictionary<string, FileDigest> recorded)
    {
        foreach (var a in manifest.Artifacts)
        {
            if (!recorded.TryGetValue(a.Path, out var file))
            {
                problems.Add(new VerifyProblem(ProblemKind.Artifact, a.Path, $"{a.Kind.ToString().ToLowerInvariant()} {a.Name}: its file is not in bundle.json's file list"));
            }
            else if (a.IsFileBacked && (a.Digest != "sha256:" + file.Sha256 || a.Size != file.Size))
            {
                problems.Add(new VerifyProblem(ProblemKind.Artifact, a.Path,
                    $"{a.Kind.ToString().ToLowerInvariant()} {a.Name}: recorded digest {a.Digest} does not match the file (sha256:{file.Sha256})"));
            }
            else if (!a.IsFileBacked && _archiveBlobs.TryGetValue(a.Path, out var scan))
            {
                CheckImage(problems, a, scan);
            }
        }
    }

    /// <summary>An image's manifest and every blob it needs must be in its archive, each hashing to its name.</summary>
    private static void CheckImage(List<VerifyProblem> problems, Artifact image, ImageArchiveScan.Result scan)
    {
        if (scan.Error is not null)
        {
            problems.Add(new VerifyProblem(ProblemKind.Artifact, image.Path, $"image {image.Name}: the archive cannot be read: {scan.Error}"));
            return;
        }

        foreach (var digest in (image.Blobs ?? []).Prepend(image.Digest).Distinct(StringComparer.Ordinal))
        {
            var hex = digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest;
            if (!scan.Blobs.TryGetValue(hex, out var intact))
            {
                problems.Add(new VerifyProblem(ProblemKind.Artifact, image.Path, $"image {image.Name}: blob {digest} is not in the archive"));
            }
            else if (!intact)
            {
                problems.Add(new VerifyProblem(ProblemKind.Artifact, image.Path, $"image {image.Name}: blob {digest} in the archive does not hash to its name"));
            }
        }
    }

    private BundleManifest? ReadManifest(List<VerifyProblem> problems)
    {
        if (_manifestBytes is null)
        {
            if (!Truncated)
            {
                problems.Add(new VerifyProblem(ProblemKind.Missing, BundleLayout.ManifestFile, "the bundle has no bundle.json"));
            }

            return null;
        }

        try
        {
            var manifest = BundleManifest.Parse(_manifestBytes);
            var bad = manifest.Files.FirstOrDefault(f => !BundleLayout.IsValidRelativePath(f.Path));
            if (bad is not null)
            {
                throw new JsonException($"unsafe path '{bad.Path}' in files");
            }

            return manifest;
        }
        catch (JsonException e)
        {
            problems.Add(new VerifyProblem(ProblemKind.Malformed, BundleLayout.ManifestFile, e.Message));
            return null;
        }
    }

    private IReadOnlyDictionary<string, string>? ReadSums(List<VerifyProblem> problems)
    {
        if (_sumsBytes is null)
        {
            if (!Truncated)
            {
                problems.Add(new VerifyProblem(ProblemKind.Missing, BundleLayout.SumsFile, "the bundle has no SHA256SUMS"));
            }

            return null;
        }

        var parsed = Sha256Sums.Parse(_sumsBytes);
        foreach (var error in parsed.Errors)
        {
            problems.Add(new VerifyProblem(ProblemKind.Malformed, BundleLayout.SumsFile, error));
        }

        return parsed.Entries;
    }
}
