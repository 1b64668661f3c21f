using System.Formats.Tar;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// A bundle tarball opened for one streaming pass: outer compression detected by magic bytes, the
/// whole file hashed on the way when a <c>NAME.sha256</c> lies beside it, entries read without
/// unpacking anything to disk.
/// </summary>
internal sealed class TarballSource : IAsyncDisposable
{
    private readonly FileStream _file;
    private readonly HashingStream _outer;
    private readonly Stream _input;
    private readonly Stream _tar;
    private readonly string? _expectedDigest;

    private TarballSource(string path, FileStream file, HashingStream outer, Stream input, Stream tar, string? expectedDigest)
    {
        Path = path;
        _file = file;
        _outer = outer;
        _input = input;
        _tar = tar;
        _expectedDigest = expectedDigest;
        Reader = new TarReader(tar, leaveOpen: true);
    }

    public string Path { get; }

    public TarReader Reader { get; }

    public long Length => _file.Length;

    /// <summary>Bytes of the tarball file read so far (for progress).</summary>
    public long Position => _outer.BytesHashed;

    /// <param name="wholePass">
    /// The caller reads the whole tarball (verify, extract): the whole-file hash then runs a chunk ahead on
    /// another core. Inspect reads only the head and leaves it off.
    /// </param>
    public static async Task<TarballSource> OpenAsync(string path, CancellationToken cancellationToken, bool wholePass = true)
    {
        var expected = ReadSidecar(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var outer = new HashingStream(file, leaveOpen: true, countOnly: expected is null);
        Stream input = wholePass && expected is not null ? new ReadAheadStream(outer, leaveOpen: true) : outer;
        var (tar, _) = await Compression.DecompressAsync(input, cancellationToken).ConfigureAwait(false);
        return new TarballSource(path, file, outer, input, tar, expected);
    }

    /// <summary>Reads what follows the end-of-archive marker and judges the whole file against its .sha256.</summary>
    public async Task<TarballChecksumStatus> FinishAsync(BundleCheck check, CancellationToken cancellationToken)
    {
        if (_expectedDigest is null)
        {
            return TarballChecksumStatus.Absent;
        }

        if (check.Stopped)
        {
            // The tarball's own problem is already said; its digest cannot match.
            return TarballChecksumStatus.Mismatch;
        }

        await _tar.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);

        // Past the archive's end marker lies padding: the whole file counts.
        await _input.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        var actual = _outer.HexDigest;
        if (_expectedDigest == actual)
        {
            return TarballChecksumStatus.Ok;
        }

        check.AddProblem(ProblemKind.TarballChecksum, System.IO.Path.GetFileName(Path) + BundleLayout.TarballChecksumSuffix,
            _expectedDigest.Length == 64
                ? $"the tarball's sha256 is {actual}, the file beside it says {_expectedDigest}"
                : "the file beside the tarball is not a sha256sum line");
        return TarballChecksumStatus.Mismatch;
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.DisposeAsync().ConfigureAwait(false);
        await _tar.DisposeAsync().ConfigureAwait(false);
        await _input.DisposeAsync().ConfigureAwait(false);
        await _outer.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The hex digest in NAME.sha256 beside the tarball, "" when that file is malformed, null when absent.</summary>
    private static string? ReadSidecar(string path)
    {
        var sidecar = path + BundleLayout.TarballChecksumSuffix;
        if (!File.Exists(sidecar))
        {
            return null;
        }

        var text = InputFile.ReadAllText(sidecar, 4096, "the tarball's .sha256 file").Trim();
        var hex = text.Split(' ', 2)[0];
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex.ToLowerInvariant() : string.Empty;
    }

    /// <summary>
    /// The archive's own root as `tar -C DIR -cf x.tar .` writes it ("./", "."): no part of the bundle,
    /// so readers pass over it.
    /// </summary>
    public static bool IsArchiveRoot(string name) => name.Trim('/') is "" or ".";

    /// <summary>Splits "top/rest" into its parts; refuses what a bundle never holds.</summary>
    public static (string Top, string Inner) SplitTop(string name)
    {
        var trimmed = name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
        trimmed = trimmed.TrimEnd('/');
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (trimmed, string.Empty) : (trimmed[..slash], trimmed[(slash + 1)..]);
    }

    /// <summary>
    /// Why an entry's name (or link target) cannot be shown or written faithfully, or null. The tar reader
    /// decodes names as UTF-8 and puts U+FFFD where bytes are not: such a name would land on disk as
    /// another name than SHA256SUMS lists, so it is refused rather than altered.
    /// </summary>
    public static string? NameError(TarEntry entry) =>
        entry.Name.Contains('\uFFFD') || entry.LinkName.Contains('\uFFFD') ? "a name that is not valid UTF-8 (bundles name their files in UTF-8)"
        : entry.Name.Length > 4096 ? "a name longer than 4096 characters"
        : null;

    public static bool IsRegularFile(TarEntryType type) =>
        type is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    /// <summary>
    /// Whether an exception met while reading the stream means the tarball is broken. The tar reader
    /// and the codecs throw many types for a cut or mangled stream; only cancellation and our own
    /// errors are not about the bytes.
    /// </summary>
    public static bool IsCorruption(Exception e) =>
        e is not OperationCanceledException and not OfflineKitException and not OutOfMemoryException and not UnauthorizedAccessException;
}
