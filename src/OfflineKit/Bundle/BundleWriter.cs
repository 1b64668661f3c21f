using System.Reflection;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>One file to put in a bundle, as a stream opened when it is packed.</summary>
public sealed record BundleFile(string Path, long Size, Func<Stream> Open)
{
    public bool Executable { get; init; }

    /// <summary>The SHA-256 (hex) when already known, e.g. from a content-addressed cache; checked while packing.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Set when this file is itself an artifact (an RPM, a manifest, a script).</summary>
    public ArtifactInfo? Artifact { get; init; }

    /// <summary>
    /// Set for content made on the fly (an image archive made from the blob cache): written straight
    /// into the bundle instead of read through <see cref="Open"/>, and not hashed again while packed —
    /// its <see cref="Sha256"/> was worked out from the same parts, which the cache checked when they
    /// came in (the bundle's own checksum is computed over every byte, or remembered from a build of the
    /// same inputs: see <see cref="BundleWriter.WriteFileAsync"/>).
    /// </summary>
    public Func<Stream, CancellationToken, Task>? WriteTo { get; init; }

    /// <summary>
    /// Where the content comes from, kept so a later build can write the same bundle ahead (<see cref="PackDraft"/>):
    /// the bytes themselves, a file on disk, or for content made by <see cref="WriteTo"/> a recipe its
    /// producer can make the same writer from again. None of them: the bundle is not written ahead.
    /// </summary>
    public byte[]? Bytes { get; init; }

    /// <inheritdoc cref="Bytes"/>
    public string? DiskPath { get; init; }

    /// <inheritdoc cref="Bytes"/>
    public string? Recipe { get; init; }

    public static BundleFile FromBytes(string path, byte[] content) =>
        new(path, content.LongLength, () => new MemoryStream(content, writable: false)) { Bytes = content };

    /// <summary>
    /// Content made on the fly by <paramref name="write"/> (see <see cref="WriteTo"/>), whose size and SHA-256 are known;
    /// <paramref name="recipe"/>, if given, is what its producer makes the same writer from again (see <see cref="Recipe"/>).
    /// </summary>
    public static BundleFile FromWriter(string path, long size, string sha256, Func<Stream, CancellationToken, Task> write, string? recipe = null) =>
        new(path, size, () => throw new InvalidOperationException($"{path} is written by its producer, not read"))
        {
            Sha256 = sha256,
            WriteTo = write,
            Recipe = recipe,
        };

    public static BundleFile FromDisk(string path, string diskPath) =>
        new(path, new FileInfo(diskPath).Length, () => new FileStream(diskPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            DiskPath = diskPath,
        };
}

public sealed record ArtifactInfo(ArtifactKind Kind, string Name, string? Version = null, string? Origin = null);

/// <summary>The identity of a bundle; artifacts that are not files of their own (images) come along here.</summary>
public sealed record BundleHeader(string Name, string BundleVersion, string KubernetesVersion, string Os, string Arch)
{
    public IReadOnlyList<Artifact> ExtraArtifacts { get; init; } = [];

    /// <summary>"docker" or "containerd"; null writes no runtime (a bundle from before the catalog).</summary>
    public string? Runtime { get; init; }

    public string? KubeadmConfigApi { get; init; }

    public string? CatalogRevision { get; init; }

    /// <summary>
    /// When set, signs the bundle: given bundle.json's exact bytes, the content of bundle.json.sig
    /// (see OfflineKit.Trust.BundleSignature).
    /// </summary>
    public Func<byte[], byte[]>? Signer { get; init; }
}

public sealed record WrittenBundle(string Path, string Sha256, long Size, BundleManifest Manifest);

/// <summary>
/// Writes bundle format v1: bundle.json and SHA256SUMS first (so inspect reads only the head), then
/// every file in ordinal path order, with fixed mtime and owner, so the same inputs give the same
/// bytes. Streams end to end; memory does not grow with the bundle.
/// </summary>
public static class BundleWriter
{
    public static string CreatedBy { get; } =
        "offlinekit " + (typeof(BundleWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    /// <summary>
    /// Writes <c>DIR/NAME.tar[.gz|.zst]</c> and <c>NAME.tar….sha256</c> beside it. Both are written under
    /// temporary names and renamed when complete: a killed build never leaves a bundle that looks whole.
    /// </summary>
    /// <param name="memo">
    /// Where the checksum of an uncompressed bundle is remembered. Its bytes are a function of what the
    /// plan holds (bundle.json, every file's path, mode, size and digest) and of this code, so a rebuild of
    /// the same inputs takes the checksum from there and does not hash the bundle again: what it writes
    /// then goes file to file in the kernel (<see cref="FileCopyStream"/>). A compressed bundle's bytes
    /// also depend on the compressor library, so it is always hashed.
    /// </param>
    public static async Task<WrittenBundle> WriteFileAsync(
        BundleHeader header,
        IReadOnlyList<BundleFile> files,
        string outputDirectory,
        BundleFormat format,
        IProgress<ByteProgress>? progress = null,
        DigestMemo? memo = null,
        PackDraft? draft = null,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputDirectory);
        var fileName = header.Name + BundleLayout.Extension(format);
        var path = Path.Combine(outputDirectory, fileName);
        var sidecar = path + BundleLayout.TarballChecksumSuffix;
        var tmp = Path.Combine(outputDirectory, $".{fileName}.{Environment.ProcessId}.partial");
        var tmpSidecar = tmp + BundleLayout.TarballChecksumSuffix;
        try
        {
            var (plan, manifest) = await PlanAsync(header, files, cancellationToken).ConfigureAwait(false);
            var key = memo is not null && format == BundleFormat.Tar ? plan.MemoKey() : null;
            var known = key is null ? null : await memo!.TryGetAsync(key, cancellationToken).ConfigureAwait(false);
            string digest;
            long size;
            if (draft is not null && (known is null || key is null))
            {
                // Nothing to check a draft against: it stops before it competes with the write below.
                await draft.AbandonAsync().ConfigureAwait(false);
            }
            else if (known is { } ahead && draft is not null && await draft.TakeAsync(plan, key!).ConfigureAwait(false) is { } drafted)
            {
                // Written ahead from the last build's plan while the stages ran, and this plan is that plan.
                File.Move(drafted, tmp, overwrite: true);
                if (new FileInfo(tmp).Length != ahead.Size)
                {
                    throw new OperationFailedException(
                        $"the bundle came out {new FileInfo(tmp).Length} bytes, its inputs' memo in {memo!.Directory} says {ahead.Size}; remove that folder and build again");
                }

                progress?.Report(new ByteProgress(ahead.Size, ahead.Size, null));
                return await FinishAsync(ahead.Sha256, ahead.Size).ConfigureAwait(false);
            }

            await using (var file = new FileCopyStream(tmp))
            {
                if (known is { } remembered)
                {
                    await WriteAsync(plan, file, format, progress, cancellationToken).ConfigureAwait(false);
                    file.FlushToDisk();
                    if (file.Length != remembered.Size)
                    {
                        throw new OperationFailedException(
                            $"the bundle came out {file.Length} bytes, its inputs' memo in {memo!.Directory} says {remembered.Size}; remove that folder and build again");
                    }

                    (digest, size) = remembered;
                }
                else
                {
                    // The bundle's checksum is worked out on a second core while the bundle is written.
                    await using var hashing = new HashingStream(file, leaveOpen: true, background: true);
                    await WriteAsync(plan, hashing, format, progress, cancellationToken).ConfigureAwait(false);
                    await hashing.FlushAsync(cancellationToken).ConfigureAwait(false);
                    // To disk while the hasher finishes.
                    file.FlushToDisk();
                    digest = hashing.HexDigest;
                    size = hashing.BytesHashed;
                    if (key is not null)
                    {
                        await memo!.PutAsync(key, digest, size, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return await FinishAsync(digest, size).ConfigureAwait(false);

            async Task<WrittenBundle> FinishAsync(string digest, long size)
            {
                await File.WriteAllTextAsync(tmpSidecar, $"{digest}  {fileName}\n", cancellationToken).ConfigureAwait(false);
                File.Move(tmp, path, overwrite: true);
                File.Move(tmpSidecar, sidecar, overwrite: true);
                if (key is not null)
                {
                    PackDraft.Save(memo!.Directory, plan, key);
                }

                return new WrittenBundle(path, digest, size, manifest);
            }
        }
        finally
        {
            File.Delete(tmp);
            File.Delete(tmpSidecar);
        }
    }

    /// <summary>Writes the bundle to <paramref name="output"/>; the core that <see cref="WriteFileAsync"/> wraps.</summary>
    public static async Task<BundleManifest> WriteAsync(
        BundleHeader header,
        IReadOnlyList<BundleFile> files,
        Stream output,
        BundleFormat format,
        IProgress<ByteProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var (plan, manifest) = await PlanAsync(header, files, cancellationToken).ConfigureAwait(false);
        await WriteAsync(plan, output, format, progress, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <summary>
    /// Everything the bundle's bytes follow from, before any is written: the files in order with their
    /// digests (hashed now where not known), bundle.json, its signature and SHA256SUMS; and bundle.json as a model.
    /// </summary>
    private static async Task<(PackPlan Plan, BundleManifest Manifest)> PlanAsync(BundleHeader header, IReadOnlyList<BundleFile> files, CancellationToken cancellationToken)
    {
        var ordered = Validate(header, files);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in ordered)
        {
            digests[f.Path] = f.Sha256?.ToLowerInvariant() ?? await HashAsync(f, cancellationToken).ConfigureAwait(false);
        }

        var manifest = BuildManifest(header, ordered, digests);
        var manifestBytes = manifest.ToJsonBytes();
        var sums = PackPlan.SumsOf(manifestBytes, manifest.Files);

        // Right behind bundle.json: a verifier checks the signature before it reads the rest.
        var signature = header.Signer?.Invoke(manifestBytes);
        return (new PackPlan(header.Name, ordered, digests, manifestBytes, signature, sums), manifest);
    }

    internal static async Task WriteAsync(PackPlan plan, Stream output, BundleFormat format, IProgress<ByteProgress>? progress, CancellationToken cancellationToken)
    {
        var total = plan.Files.Sum(f => f.Size);
        long done = 0;
        await using (var compressed = Compression.Compress(output, format))
        {
            var tar = new TarStreamWriter(compressed, BundleLayout.FixedMtime);
            var top = plan.Name;
            await tar.WriteDirectoryAsync(top, BundleLayout.ExecutableMode, cancellationToken).ConfigureAwait(false);
            await tar.WriteFileAsync($"{top}/{BundleLayout.ManifestFile}", plan.ManifestBytes.Length, BundleLayout.FileMode, new MemoryStream(plan.ManifestBytes), cancellationToken).ConfigureAwait(false);
            if (plan.Signature is { } signature)
            {
                await tar.WriteFileAsync($"{top}/{BundleLayout.SignatureFile}", signature.Length, BundleLayout.FileMode, new MemoryStream(signature), cancellationToken).ConfigureAwait(false);
            }

            await tar.WriteFileAsync($"{top}/{BundleLayout.SumsFile}", plan.Sums.Length, BundleLayout.FileMode, new MemoryStream(plan.Sums), cancellationToken).ConfigureAwait(false);

            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in plan.Files)
            {
                foreach (var dir in Parents(f.Path))
                {
                    if (written.Add(dir))
                    {
                        await tar.WriteDirectoryAsync($"{top}/{dir}", BundleLayout.ExecutableMode, cancellationToken).ConfigureAwait(false);
                    }
                }

                progress?.Report(new ByteProgress(done, total, f.Path));
                if (f.WriteTo is { } write)
                {
                    await tar.WriteFileAsync($"{top}/{f.Path}", f.Size, ModeOf(f), write, cancellationToken).ConfigureAwait(false);
                    done += f.Size;
                    continue;
                }

                await using var source = f.Open();
                await using var hashing = new HashingStream(source, leaveOpen: true);
                await tar.WriteFileAsync($"{top}/{f.Path}", f.Size, ModeOf(f), hashing, cancellationToken).ConfigureAwait(false);
                if (hashing.HexDigest != plan.Digests[f.Path])
                {
                    throw new OperationFailedException(
                        $"{f.Path}: content does not match its digest (expected sha256:{plan.Digests[f.Path]}, read sha256:{hashing.HexDigest}); it changed or was corrupted while the bundle was written");
                }

                done += f.Size;
            }

            await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
            progress?.Report(new ByteProgress(done, total, null));
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static int ModeOf(BundleFile file) => file.Executable ? BundleLayout.ExecutableMode : BundleLayout.FileMode;

    private static List<BundleFile> Validate(BundleHeader header, IReadOnlyList<BundleFile> files)
    {
        if (!BundleLayout.IsValidRelativePath(header.Name) || header.Name.Contains('/'))
        {
            throw new ArgumentException($"'{header.Name}' is not a valid bundle name", nameof(header));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            if (!BundleLayout.IsValidRelativePath(f.Path))
            {
                throw new ArgumentException($"'{f.Path}' is not a valid path inside a bundle", nameof(files));
            }

            if (f.Path is BundleLayout.ManifestFile or BundleLayout.SumsFile or BundleLayout.SignatureFile)
            {
                throw new ArgumentException($"'{f.Path}' is written by the bundle writer itself", nameof(files));
            }

            if (!seen.Add(f.Path))
            {
                throw new ArgumentException($"'{f.Path}' is added twice", nameof(files));
            }
        }

        foreach (var f in files)
        {
            if (Parents(f.Path).Any(seen.Contains))
            {
                throw new ArgumentException($"'{f.Path}' lies under a path that is a file", nameof(files));
            }
        }

        return files.OrderBy(f => BundleLayout.IsHeadFile(f.Path) ? 0 : 1).ThenBy(f => f.Path, StringComparer.Ordinal).ToList();
    }

    private static BundleManifest BuildManifest(BundleHeader header, List<BundleFile> ordered, Dictionary<string, string> digests)
    {
        var fileDigests = PackPlan.Listed(ordered, digests);
        var artifacts = ordered
            .Where(f => f.Artifact is not null)
            .Select(f => ArtifactOf(f, digests[f.Path]))
            .Concat(header.ExtraArtifacts)
            .OrderBy(a => a.Kind)
            .ThenBy(a => a.Name, StringComparer.Ordinal)
            .ThenBy(a => a.Path, StringComparer.Ordinal)
            .ToList();

        return new BundleManifest
        {
            SchemaVersion = BundleLayout.SchemaVersion,
            Name = header.Name,
            BundleVersion = header.BundleVersion,
            KubernetesVersion = header.KubernetesVersion,
            Os = header.Os,
            Arch = header.Arch,
            CreatedBy = CreatedBy,
            Runtime = header.Runtime,
            KubeadmConfigApi = header.KubeadmConfigApi,
            CatalogRevision = header.CatalogRevision,
            Artifacts = artifacts,
            Files = fileDigests,
        };
    }

    /// <summary>The artifact a file is (its <see cref="BundleFile.Artifact"/>), as bundle.json records it.</summary>
    public static Artifact ArtifactOf(BundleFile file, string sha256)
    {
        var info = file.Artifact ?? throw new ArgumentException($"{file.Path} is no artifact", nameof(file));
        return new Artifact
        {
            Kind = info.Kind,
            Name = info.Name,
            Version = info.Version,
            Origin = info.Origin,
            Digest = "sha256:" + sha256,
            Size = file.Size,
            Path = file.Path,
        };
    }

    /// <summary>The file with its SHA-256 known (hashed now when it was not), so the packer checks rather than hashes.</summary>
    public static async Task<BundleFile> WithSha256Async(BundleFile file, CancellationToken cancellationToken = default) =>
        file.Sha256 is not null ? file : file with { Sha256 = await HashAsync(file, cancellationToken).ConfigureAwait(false) };

    private static async Task<string> HashAsync(BundleFile file, CancellationToken cancellationToken)
    {
        await using var stream = file.Open();
        var hash = await System.Security.Cryptography.SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>"a/b/c" gives "a", "a/b": the folders a file needs, outermost first.</summary>
    internal static IEnumerable<string> Parents(string path)
    {
        for (var i = path.IndexOf('/', StringComparison.Ordinal); i >= 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }
}

/// <summary>A bundle about to be written: what <see cref="BundleWriter.WriteAsync(PackPlan, Stream, BundleFormat, IProgress{ByteProgress}?, CancellationToken)"/> turns into bytes.</summary>
internal sealed record PackPlan(
    string Name,
    List<BundleFile> Files,
    Dictionary<string, string> Digests,
    byte[] ManifestBytes,
    byte[]? Signature,
    byte[] Sums)
{
    /// <summary>
    /// SHA256SUMS: bundle.json's line, then every file's as bundle.json lists them (<paramref name="files"/>:
    /// <see cref="Listed"/>), so it follows from bundle.json alone.
    /// </summary>
    /// <summary>The files as bundle.json lists them: each with its digest and size, by path.</summary>
    public static List<FileDigest> Listed(IEnumerable<BundleFile> files, Dictionary<string, string> digests) =>
        files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => new FileDigest(f.Path, digests[f.Path], f.Size)).ToList();

    public static byte[] SumsOf(byte[] manifestBytes, IEnumerable<FileDigest> files) => Sha256Sums.Format(
        [new FileDigest(BundleLayout.ManifestFile, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifestBytes)), manifestBytes.Length),
         .. files]);

    /// <summary>The memo key of the uncompressed tar: every input its bytes follow from (SHA256SUMS follows from bundle.json).</summary>
    public string MemoKey() => DigestMemo.Key("bundle-tar", key =>
    {
        key.AppendData(ManifestBytes);
        DigestMemo.AppendLine(key, "");
        DigestMemo.AppendLine(key, Signature is null ? "unsigned" : Convert.ToHexStringLower(Signature));
        foreach (var f in Files)
        {
            DigestMemo.AppendLine(key, FormattableString.Invariant($"{f.Path} {BundleWriter.ModeOf(f)} {f.Size} {Digests[f.Path]}"));
        }
    });
}
