using System.Formats.Tar;
using System.Security.Cryptography;
using OfflineKit.Bundle;

namespace OfflineKit.Install;

/// <summary>One file of the bundle as the installer sees it: where it goes and what its bytes must hash to.</summary>
public sealed record BundleFileEntry(string Path, long Size, string Sha256);

/// <summary>What the planner needs to know of a bundle: its name and every file with its SHA-256. Pure data.</summary>
public sealed record BundleContents(string Name, IReadOnlyList<BundleFileEntry> Files)
{
    public long Size => Files.Sum(f => f.Size);

    /// <summary>bundle.json's kubernetesVersion, os and arch ("1.23.0", "el8", "amd64").</summary>
    public string KubernetesVersion { get; init; } = string.Empty;

    public string Os { get; init; } = string.Empty;

    public string Arch { get; init; } = string.Empty;

    /// <summary>bundle.json's runtime ("docker" or "containerd"); null in the guide's bundles, which are docker.</summary>
    public string? Runtime { get; init; }

    /// <summary>bundle.json's kubeadmConfigApi; null = kubeadm.k8s.io/v1beta3.</summary>
    public string? KubeadmConfigApi { get; init; }

    /// <summary>bundle.json's artifacts: what the images and manifests are, by name.</summary>
    public IReadOnlyList<Artifact> Artifacts { get; init; } = [];

    /// <summary>The text of each manifest (manifests/*.yaml) by path, checked against SHA256SUMS when the bundle was opened: what site values are rendered from.</summary>
    public IReadOnlyDictionary<string, string> ManifestTexts { get; init; } = new Dictionary<string, string>();

    public bool Has(string path) => Files.Any(f => f.Path == path);

    /// <summary>`install --key`: bundle.json.sig (listed in no SHA256SUMS), pushed beside the files so each host checks it.</summary>
    public BundleFileEntry? Signature { get; init; }

    /// <summary>`install --key`: the public key (PEM) each host checks <see cref="Signature"/> with.</summary>
    public string? PublicKeyPem { get; init; }
}

/// <summary>
/// The bundle on this machine, opened for pushing: a plain tarball (each file read in place, at its
/// offset, so a cut upload continues without re-reading the rest) or an extracted directory. The
/// expected hashes come from its SHA256SUMS, the lines the hosts check with <c>sha256sum -c</c>.
/// </summary>
public sealed class LocalBundle
{
    private readonly string? _tarball;
    private readonly string? _root;
    private readonly Dictionary<string, (long Offset, long Size)> _tarEntries;

    private LocalBundle(string path, BundleContents contents, string? tarball, string? root, Dictionary<string, (long, long)> tarEntries)
    {
        Path = path;
        Contents = contents;
        _tarball = tarball;
        _root = root;
        _tarEntries = tarEntries;
    }

    public string Path { get; }

    public BundleContents Contents { get; }

    public static async Task<LocalBundle> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path))
        {
            var root = BundleVerifier.FindRoot(path);
            var sums = ReadSmall(System.IO.Path.Combine(root, BundleLayout.SumsFile), path);
            var manifest = ReadSmall(System.IO.Path.Combine(root, BundleLayout.ManifestFile), path);
            var contents = ReadContents(path, manifest, sums, p => new FileInfo(System.IO.Path.Combine(root, p)) is { Exists: true } f ? f.Length : null);
            return await new LocalBundle(path, contents, null, root, []).WithManifestTextsAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: no such bundle (expected a bundle tarball or an extracted bundle directory)");
        }

        if (!path.EndsWith(".tar", StringComparison.Ordinal))
        {
            throw new BadInputException($"{path}: install reads a plain .tar bundle or an extracted directory (a compressed tarball cannot be read from the middle to continue a cut upload); run `offlinekit extract {path} --to DIR` and install DIR");
        }

        var entries = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        byte[]? sumsBytes = null;
        byte[]? manifestBytes = null;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            try
            {
                await using var reader = new TarReader(file, leaveOpen: true);
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    {
                        continue;
                    }

                    // On a seekable stream the reader has already skipped the entry's data and its padding to
                    // 512 bytes (its DataStream seeks back when read): the data starts that far behind.
                    var inner = TarballSource.SplitTop(entry.Name).Inner;
                    var start = file.Position - ((entry.Length + 511) / 512 * 512);
                    entries[inner] = (start, entry.Length);
                    if (inner is BundleLayout.SumsFile or BundleLayout.ManifestFile && entry.DataStream is not null)
                    {
                        if (entry.Length > BundleCheck.MaxMetadataBytes)
                        {
                            throw new OperationFailedException($"{path}: {inner} is {entry.Length} bytes, over the {BundleCheck.MaxMetadataBytes >> 20} MiB cap on it");
                        }

                        using var buffer = new MemoryStream();
                        await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                        (inner == BundleLayout.SumsFile ? ref sumsBytes : ref manifestBytes) = buffer.ToArray();
                        await CheckOffsetAsync(file, start, buffer.ToArray(), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new OperationFailedException($"{path}: cannot read the tarball ({e.Message}); `offlinekit verify {path}` tells what is wrong", e);
            }
        }

        if (sumsBytes is null || manifestBytes is null)
        {
            throw new OperationFailedException($"{path}: the tarball has no {(sumsBytes is null ? BundleLayout.SumsFile : BundleLayout.ManifestFile)}; it is not an offlinekit bundle");
        }

        var tarContents = ReadContents(path, manifestBytes, sumsBytes, p => entries.TryGetValue(p, out var e) ? e.Item2 : null);
        return await new LocalBundle(path, tarContents, path, null, entries).WithManifestTextsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same bundle with its manifests' texts read, each checked against its SHA256SUMS line.</summary>
    private async Task<LocalBundle> WithManifestTextsAsync(CancellationToken cancellationToken)
    {
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Contents.Files.Where(f => f.Path.StartsWith(BundleLayout.ManifestsDir + "/", StringComparison.Ordinal) && f.Path.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            await using var stream = OpenRead(file.Path);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            var hash = Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
            if (hash != file.Sha256)
            {
                throw new OperationFailedException($"{Path}: {file.Path} does not match SHA256SUMS; run `offlinekit verify {Path}`");
            }

            texts[file.Path] = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        return new LocalBundle(Path, Contents with { ManifestTexts = texts }, _tarball, _root, _tarEntries);
    }

    /// <summary>Proves the offset arithmetic on the files read anyway: a wrong offset would push wrong bytes to every host.</summary>
    private static async Task CheckOffsetAsync(FileStream file, long start, byte[] expected, CancellationToken cancellationToken)
    {
        var position = file.Position;
        var actual = new byte[expected.Length];
        file.Seek(start, SeekOrigin.Begin);
        await file.ReadExactlyAsync(actual, cancellationToken).ConfigureAwait(false);
        file.Seek(position, SeekOrigin.Begin);
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException("the tar reader did not stop where the data of an entry ends; offsets into the tarball would be wrong");
        }
    }

    /// <summary>The file's bytes from <paramref name="offset"/> on.</summary>
    public Stream OpenRead(string innerPath, long offset = 0)
    {
        if (_root is not null)
        {
            var stream = new FileStream(System.IO.Path.Combine(_root, innerPath), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            stream.Seek(offset, SeekOrigin.Begin);
            return stream;
        }

        var (start, size) = _tarEntries[innerPath];
        var file = new FileStream(_tarball!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        file.Seek(start + offset, SeekOrigin.Begin);
        return new SliceStream(file, size - offset);
    }

    private static BundleContents ReadContents(string path, byte[] manifestBytes, byte[] sumsBytes, Func<string, long?> sizeOf)
    {
        BundleManifest manifest;
        try
        {
            manifest = BundleManifest.Parse(manifestBytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new OperationFailedException($"{path}: bundle.json cannot be read: {e.Message}", e);
        }

        var sums = Sha256Sums.Parse(sumsBytes);
        if (sums.Errors.Count > 0)
        {
            throw new OperationFailedException($"{path}: SHA256SUMS is malformed ({sums.Errors[0]}); run `offlinekit verify {path}`");
        }

        // bundle.json names every path the plan builds; it is used only once SHA256SUMS vouches for it.
        if (sums.Entries.GetValueOrDefault(BundleLayout.ManifestFile) != Convert.ToHexStringLower(SHA256.HashData(manifestBytes)))
        {
            throw new OperationFailedException($"{path}: bundle.json does not match its SHA256SUMS line; the bundle was changed: run `offlinekit verify {path}`");
        }

        var recorded = manifest.Files.ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
        var files = new List<BundleFileEntry>
        {
            // SHA256SUMS is not listed in itself; the hosts check it against its hash here.
            new(BundleLayout.SumsFile, sumsBytes.Length, Convert.ToHexStringLower(SHA256.HashData(sumsBytes))),
        };
        foreach (var (file, sha) in sums.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (file != BundleLayout.ManifestFile && (!recorded.TryGetValue(file, out var other) || other != sha))
            {
                throw new OperationFailedException($"{path}: SHA256SUMS and bundle.json disagree about {file}; the bundle was changed: run `offlinekit verify {path}`");
            }

            var size = sizeOf(file) ?? throw new OperationFailedException($"{path}: {file} is listed in SHA256SUMS but missing; run `offlinekit verify {path}`");
            files.Add(new BundleFileEntry(file, size, sha));
        }

        return new BundleContents(manifest.Name, files)
        {
            KubernetesVersion = manifest.KubernetesVersion,
            Os = manifest.Os,
            Arch = manifest.Arch,
            Runtime = manifest.Runtime,
            KubeadmConfigApi = manifest.KubeadmConfigApi,
            Artifacts = manifest.Artifacts,
        };
    }

    /// <summary>bundle.json or SHA256SUMS of an extracted bundle: a regular file under the cap, or the bundle is broken.</summary>
    private static byte[] ReadSmall(string file, string bundle)
    {
        if (IO.FileKinds.Of(file) == IO.FileKind.Missing)
        {
            throw new OperationFailedException($"{bundle}: the bundle has no {System.IO.Path.GetFileName(file)}; `offlinekit verify {bundle}` tells what else is wrong");
        }

        return IO.InputFile.ReadAllBytes(file, BundleCheck.MaxMetadataBytes, System.IO.Path.GetFileName(file));
    }

    /// <summary>A window of a tarball: one entry's data, read without copying.</summary>
    private sealed class SliceStream(Stream inner, long length) : Stream
    {
        private readonly long _length = length;
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _length - _left;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0)
            {
                return 0;
            }

            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0)
            {
                return 0;
            }

            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
