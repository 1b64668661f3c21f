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
    /// <summary>
    /// The most bundle.json or SHA256SUMS may hold: a bundle of thousands of RPMs and images lists them
    /// in a few MB. Both are kept in memory, so a crafted header asking for more is refused.
    /// </summary>
    public const int MaxMetadataBytes = 64 << 20;

    /// <summary>The cap on bundle.json.sig, read before any list can vouch for it.</summary>
    public const int MaxSignatureBytes = 64 << 10;
    private readonly Dictionary<string, FileDigest> _actual = new(StringComparer.Ordinal);
    private readonly List<VerifyProblem> _problems = [];
    private readonly Lock _lock = new();
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly HashSet<string> _imageArchives = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImageArchiveScan.Result> _archiveBlobs = new(StringComparer.Ordinal);
    private byte[]? _manifestBytes;
    private byte[]? _sumsBytes;
    private Dictionary<string, long>? _listedSizes;
    private IReadOnlyDictionary<string, string>? _listedSums;
    private byte[]? _signatureBytes;
    private SignatureStatus _signature = SignatureStatus.NotChecked;
    private bool _stoppedAtSignature;
    private long _bytes;

    public bool Truncated { get; private set; }

    /// <summary>Reading ended early: the tarball was cut, or an entry was refused at its header.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Judges an entry by its header alone, before a byte of it is read: the two lists come first, and
    /// every other file must be listed in them with the size its header gives. Null when admitted.
    /// </summary>
    public (ProblemKind Kind, string Detail)? Admit(string path, long length)
    {
        if (path is BundleLayout.ManifestFile or BundleLayout.SumsFile)
        {
            return length > MaxMetadataBytes
                ? (ProblemKind.Malformed, $"{length} bytes, over the {MaxMetadataBytes >> 20} MiB cap on {path}")
                : null;
        }

        if (path == BundleLayout.SignatureFile)
        {
            // The one file no list names (it signs bundle.json); a base64 DER ECDSA signature is ~100 bytes.
            return length > MaxSignatureBytes
                ? (ProblemKind.Malformed, $"{length} bytes, over the {MaxSignatureBytes >> 10} KiB cap on {path}")
                : null;
        }

        lock (_lock)
        {
            if (_listedSizes is { } sizes)
            {
                if (sizes.TryGetValue(path, out var size))
                {
                    return size == length ? null : (ProblemKind.Modified, $"{length} bytes, but bundle.json records {size}");
                }

                return _listedSums?.ContainsKey(path) == true
                    ? (ProblemKind.Extra, "listed in SHA256SUMS but not in bundle.json")
                    : (ProblemKind.Extra, "not listed in SHA256SUMS or bundle.json");
            }

            if (_listedSums is { } sums)
            {
                return sums.ContainsKey(path) ? null : (ProblemKind.Extra, "not listed in SHA256SUMS or bundle.json");
            }

            return _manifestBytes is null && _sumsBytes is null
                ? (ProblemKind.UnexpectedEntry, $"ahead of {BundleLayout.ManifestFile} and {BundleLayout.SumsFile}, which a bundle holds first")
                : (ProblemKind.Extra, $"not listed: neither {BundleLayout.ManifestFile} nor {BundleLayout.SumsFile} can be read");
        }
    }

    /// <summary>Records an entry refused unread: its problem is this, not "missing".</summary>
    public void Refuse(ProblemKind kind, string path, string detail)
    {
        lock (_lock)
        {
            _problems.Add(new VerifyProblem(kind, path, detail));
            _refused.Add(path);
        }
    }

    /// <summary>Records why reading ended at this entry; what would have followed is not reported missing.</summary>
    public void Stop(ProblemKind kind, string path, string detail)
    {
        Refuse(kind, path, detail);
        lock (_lock)
        {
            Stopped = true;
        }
    }

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
            if (kept is not null)
            {
                if (kept.Length + chunk.Length > MaxMetadataBytes)
                {
                    throw new OperationFailedException($"{path} is over the {MaxMetadataBytes >> 20} MiB cap on it");
                }

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
                NoteListing(_manifestBytes);
            }
            else if (path == BundleLayout.SumsFile)
            {
                _sumsBytes = kept!.ToArray();
                _listedSums = Sha256Sums.Parse(_sumsBytes).Entries;
            }
            else if (path == BundleLayout.SignatureFile)
            {
                _signatureBytes = kept!.ToArray();
            }
        }

        return true;
    }

    /// <summary>
    /// What bundle.json lists, as soon as it arrives (it comes first in a tarball; a directory verifier
    /// reads it first): the files admitted, and which of them are image archives to look into.
    /// </summary>
    private void NoteListing(byte[] manifestJson)
    {
        try
        {
            var manifest = BundleManifest.Parse(manifestJson);
            _listedSizes = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var f in manifest.Files)
            {
                _listedSizes[f.Path] = f.Size;
            }

            foreach (var a in manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image))
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
            Stopped |= kind == ProblemKind.Truncated;
        }
    }

    /// <summary>Compares what was seen with what SHA256SUMS and bundle.json record.</summary>
    /// <param name="top">The tarball's top folder, which must be the bundle's name; null for a directory.</param>
    /// <param name="only">Judge this one file (and bundle.json, which vouches for it) rather than the whole bundle.</param>
    public VerifyReport Finish(string bundle, TarballChecksumStatus tarball, string? top = null, string? only = null)
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
        if (manifest is not null && top is not null && top != manifest.Name)
        {
            problems.Add(new VerifyProblem(ProblemKind.Malformed, BundleLayout.ManifestFile, $"the bundle is named '{manifest.Name}', but the tarball's top folder is '{top}'"));
        }

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

        if (only is not null)
        {
            paths.IntersectWith([BundleLayout.ManifestFile, only]);
            paths.UnionWith([BundleLayout.ManifestFile, only]);
        }

        foreach (var path in paths)
        {
            if (path is BundleLayout.SumsFile or BundleLayout.SignatureFile || _refused.Contains(path))
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
            CheckArtifacts(problems, only is null ? manifest.Artifacts : manifest.Artifacts.Where(a => a.Path == only), recorded);
        }

        if (Stopped)
        {
            // Past the break nothing was read: "missing" would only repeat why reading stopped.
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

    private void CheckArtifacts(List<VerifyProblem> problems, IEnumerable<Artifact> artifacts, Dictionary<string, FileDigest> recorded)
    {
        foreach (var a in artifacts)
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
            problems.Add(new VerifyProblem(ProblemKind.Artifact, image.Path, $"image {image.Name}: {scan.Error}"));
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
            if (!Stopped)
            {
                problems.Add(new VerifyProblem(ProblemKind.Missing, BundleLayout.ManifestFile, "the bundle has no bundle.json"));
            }

            return null;
        }

        try
        {
            return BundleManifest.Parse(_manifestBytes);
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
            if (!Stopped)
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
