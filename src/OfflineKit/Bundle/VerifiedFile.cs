using System.Formats.Tar;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// One file of a bundle, handed out only once it is proven: its bytes against SHA256SUMS and bundle.json
/// (and bundle.json against SHA256SUMS), an image archive's blobs and index as verify checks them. For a
/// tarball the bytes are copied on the way into an unlinked temporary file, so what is handed over is what
/// was hashed and nothing is left behind however the process ends; an extracted file is hashed in place
/// and handed over through the same open handle.
/// </summary>
public sealed class VerifiedFile : IAsyncDisposable
{
    private VerifiedFile(Stream content) => Content = content;

    /// <summary>The verified bytes, positioned at the start.</summary>
    public Stream Content { get; }

    public ValueTask DisposeAsync() => Content.DisposeAsync();

    public static async Task<VerifiedFile> OpenAsync(string bundle, string innerPath, CancellationToken cancellationToken = default)
    {
        var check = new BundleCheck();
        Stream? content = null;
        try
        {
            content = Directory.Exists(bundle)
                ? await FromDirectoryAsync(check, bundle, innerPath, cancellationToken).ConfigureAwait(false)
                : await FromTarballAsync(check, bundle, innerPath, cancellationToken).ConfigureAwait(false);
            var report = check.Finish(bundle, TarballChecksumStatus.NotApplicable, only: innerPath);
            if (!report.Ok)
            {
                var p = report.Problems[0];
                throw new OperationFailedException(
                    $"{bundle}: {p.Path}: {p.Detail}{(report.Problems.Count > 1 ? $" (and {report.Problems.Count - 1} more)" : string.Empty)}; nothing was used. `offlinekit verify {bundle}` tells the whole story");
            }

            content.Position = 0;
            var verified = new VerifiedFile(content);
            content = null;
            return verified;
        }
        finally
        {
            if (content is not null)
            {
                await content.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<Stream> FromDirectoryAsync(BundleCheck check, string bundle, string innerPath, CancellationToken cancellationToken)
    {
        var root = BundleVerifier.FindRoot(bundle);
        foreach (var path in new[] { BundleLayout.ManifestFile, BundleLayout.SumsFile, innerPath })
        {
            var full = Path.Combine(root, path);
            var kind = FileKinds.Of(full, followLinks: false);
            if (kind != FileKind.Regular)
            {
                throw new OperationFailedException($"{bundle}: {path} is {FileKinds.Describe(kind)}, not a file; `offlinekit verify {bundle}` tells what is wrong");
            }

            var length = new FileInfo(full).Length;
            if (check.Admit(path, length) is { } refused)
            {
                throw new OperationFailedException($"{bundle}: {path}: {refused.Detail}; `offlinekit verify {bundle}` tells what is wrong");
            }

            var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            try
            {
                await check.AddFileAsync(path, stream, length, null, null, cancellationToken).ConfigureAwait(false);
                if (path == innerPath)
                {
                    return stream;
                }
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            await stream.DisposeAsync().ConfigureAwait(false);
        }

        throw new InvalidOperationException("unreachable");
    }

    private static async Task<Stream> FromTarballAsync(BundleCheck check, string bundle, string innerPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(bundle))
        {
            throw new BadInputException($"{bundle}: no such bundle (expected a bundle tarball or an extracted bundle directory)");
        }

        await using var source = await TarballSource.OpenAsync(bundle, cancellationToken, wholePass: false).ConfigureAwait(false);
        try
        {
            while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType == TarEntryType.Directory || TarballSource.NameError(entry) is not null)
                {
                    continue;
                }

                var inner = TarballSource.SplitTop(entry.Name).Inner;
                if (!TarballSource.IsRegularFile(entry.EntryType) || !BundleLayout.IsValidRelativePath(inner))
                {
                    continue;
                }

                // Entries on the way are admitted by their headers as verify admits them: an unlisted one
                // ends the search before its bytes are inflated.
                if (check.Admit(inner, entry.Length) is { } refused)
                {
                    throw new OperationFailedException($"{bundle}: {inner}: {refused.Detail}; `offlinekit verify {bundle}` tells what is wrong");
                }

                var data = entry.DataStream ?? Stream.Null;
                if (inner is BundleLayout.ManifestFile or BundleLayout.SumsFile)
                {
                    await check.AddFileAsync(inner, data, entry.Length, null, null, cancellationToken).ConfigureAwait(false);
                }
                else if (inner == innerPath)
                {
                    var copy = CreateUnlinkedTemporaryFile();
                    try
                    {
                        if (!await check.AddFileAsync(inner, data, entry.Length, copy, null, cancellationToken).ConfigureAwait(false))
                        {
                            throw new OperationFailedException($"{bundle}: the tarball ends inside {inner}; `offlinekit verify {bundle}` tells what is wrong");
                        }

                        return copy;
                    }
                    catch
                    {
                        await copy.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
            }
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            throw new OperationFailedException($"{bundle}: cannot read the tarball ({e.Message}); `offlinekit verify {bundle}` tells what is wrong", e);
        }

        throw new OperationFailedException($"{bundle}: {innerPath} is not in the tarball");
    }

    /// <summary>A read-write file in the temporary folder whose name is gone as soon as it is open.</summary>
    private static FileStream CreateUnlinkedTemporaryFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $".offlinekit-verified-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            BufferSize = 1 << 16,
        };
        var file = new FileStream(path, options);
        File.Delete(path);
        return file;
    }
}
