using System.Security.Cryptography;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// Proves a bundle unchanged: every file against SHA256SUMS and against bundle.json (two levels), every
/// artifact against its file, and the tarball against the .sha256 beside it. A tarball is read as one
/// stream, never unpacked to disk.
/// </summary>
public static class BundleVerifier
{
    public static Task<VerifyReport> VerifyAsync(string path, IProgress<ByteProgress>? progress = null, CancellationToken cancellationToken = default) =>
        VerifyAsync(path, key: null, progress, cancellationToken);

    /// <summary>
    /// With <paramref name="key"/>, bundle.json.sig is checked first (it comes right behind bundle.json):
    /// a bundle that is unsigned or signed otherwise fails without the rest being read.
    /// </summary>
    public static Task<VerifyReport> VerifyAsync(string path, ECDsa? key, IProgress<ByteProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path))
        {
            return VerifyDirectoryAsync(path, key, progress, cancellationToken);
        }

        if (File.Exists(path))
        {
            return VerifyTarballAsync(path, key, progress, cancellationToken);
        }

        throw new BadInputException($"{path}: no such bundle (expected a bundle tarball or an extracted bundle directory)");
    }

    private static async Task<VerifyReport> VerifyTarballAsync(string path, ECDsa? key, IProgress<ByteProgress>? progress, CancellationToken cancellationToken)
    {
        var check = new BundleCheck();
        await using var source = await TarballSource.OpenAsync(path, cancellationToken).ConfigureAwait(false);
        var reporter = new ProgressReporter(progress, source.Length);
        string? top = null;
        var last = "(start of the tarball)";
        var signatureChecked = false;
        try
        {
            while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType == System.Formats.Tar.TarEntryType.Directory && TarballSource.IsArchiveRoot(entry.Name))
                {
                    continue;
                }

                // Every entry is judged by its header before a byte of it is read; the first one refused ends
                // the reading, so a crafted entry costs no more than its header (no 10 GB of zeros inflated).
                last = entry.Name;
                if (TarballSource.NameError(entry) is { } nameError)
                {
                    check.Stop(ProblemKind.UnexpectedEntry, entry.Name, nameError + ReadingStopped);
                    break;
                }

                var (entryTop, inner) = TarballSource.SplitTop(entry.Name);
                top ??= entryTop;
                if (entryTop != top || !BundleLayout.IsValidBundleName(entryTop) || (inner.Length > 0 && !BundleLayout.IsValidRelativePath(inner)) || (inner.Length == 0 && entry.EntryType != System.Formats.Tar.TarEntryType.Directory))
                {
                    check.Stop(ProblemKind.UnexpectedEntry, entry.Name, $"outside the bundle's top folder '{top}' or not a plain relative path" + ReadingStopped);
                    break;
                }

                if (entry.EntryType == System.Formats.Tar.TarEntryType.Directory)
                {
                    continue;
                }

                if (!TarballSource.IsRegularFile(entry.EntryType))
                {
                    check.Stop(ProblemKind.UnexpectedEntry, inner, $"a {Describe(entry.EntryType)} entry; bundles hold only files and folders" + ReadingStopped);
                    break;
                }

                if (check.Admit(inner, entry.Length) is { } refused)
                {
                    check.Stop(refused.Kind, inner, refused.Detail + ReadingStopped);
                    break;
                }

                // Past bundle.json and its signature: a signature that is there must verify before anything else is read.
                if (key is not null && !signatureChecked && inner is not (BundleLayout.ManifestFile or BundleLayout.SignatureFile) && check.HasSignature)
                {
                    signatureChecked = true;
                    if (!check.VerifySignature(key))
                    {
                        break;
                    }
                }

                var data = entry.DataStream ?? Stream.Null;
                if (!await check.AddFileAsync(inner, data, entry.Length, null, _ => reporter.Report(source.Position, inner), cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            check.AddProblem(ProblemKind.Truncated, last, $"the tarball is truncated or corrupt after this entry: {e.Message}");
        }

        if (key is not null && !signatureChecked && !check.VerifySignature(key))
        {
            return check.Finish(path, TarballChecksumStatus.NotApplicable);
        }

        var status = await FinishTarballAsync(source, check, cancellationToken).ConfigureAwait(false);
        reporter.Done();
        return check.Finish(path, status, top);
    }

    internal const string ReadingStopped = "; refused at its header, the tarball was not read past it";

    internal static async Task<TarballChecksumStatus> FinishTarballAsync(TarballSource source, BundleCheck check, CancellationToken cancellationToken)
    {
        try
        {
            return await source.FinishAsync(check, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            check.AddProblem(ProblemKind.Truncated, Path.GetFileName(source.Path), $"the tarball is corrupt past its last entry: {e.Message}");
            return TarballChecksumStatus.Mismatch;
        }
    }

    private static async Task<VerifyReport> VerifyDirectoryAsync(string path, ECDsa? key, IProgress<ByteProgress>? progress, CancellationToken cancellationToken)
    {
        var root = FindRoot(path);
        var check = new BundleCheck();
        var files = new List<(string Inner, FileInfo Info)>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", options))
        {
            // Judged by name and type before anything is opened: a fifo would block the open, a
            // character device would never end.
            var inner = Path.GetRelativePath(root, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (inner.Contains('\uFFFD'))
            {
                check.AddProblem(ProblemKind.UnexpectedEntry, inner, "a name that is not valid UTF-8 (bundles name their files in UTF-8)");
                continue;
            }

            var kind = FileKinds.Of(info.FullName, followLinks: false);
            if (kind == FileKind.Directory)
            {
                continue;
            }

            if (kind != FileKind.Regular)
            {
                check.Refuse(ProblemKind.UnexpectedEntry, inner, $"{FileKinds.Describe(kind)}; bundles hold only files and folders");
            }
            else if (!BundleLayout.IsValidRelativePath(inner))
            {
                check.AddProblem(ProblemKind.UnexpectedEntry, inner, "not a plain relative path");
            }
            else
            {
                files.Add((inner, (FileInfo)info));
            }
        }

        var reporter = new ProgressReporter(progress, files.Sum(f => f.Info.Length));
        long done = 0;

        async ValueTask HashAsync((string Inner, FileInfo Info) f, CancellationToken ct)
        {
            if (check.Admit(f.Inner, f.Info.Length) is { } refused)
            {
                // Not opened: unlisted, or not the size recorded. Without either list (reported as
                // missing) nothing is worth reading.
                if (refused.Kind != ProblemKind.UnexpectedEntry)
                {
                    check.Refuse(refused.Kind, f.Inner, refused.Detail);
                }

                return;
            }

            await using var stream = new FileStream(f.Info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            await check.AddFileAsync(f.Inner, stream, null, null, n => reporter.Report(Interlocked.Add(ref done, n), f.Inner), ct).ConfigureAwait(false);
        }

        // bundle.json first, as in a tarball: it says which files are image archives to look into.
        static bool IsMetadata((string Inner, FileInfo Info) f) => f.Inner is BundleLayout.ManifestFile or BundleLayout.SumsFile or BundleLayout.SignatureFile;
        foreach (var f in files.Where(IsMetadata))
        {
            await HashAsync(f, cancellationToken).ConfigureAwait(false);
        }

        if (key is not null && !check.VerifySignature(key))
        {
            return check.Finish(path, TarballChecksumStatus.NotApplicable);
        }

        // sha256sum -c hashes one file at a time; two workers keep both cores of a small machine busy.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 1, 4), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(files.Where(f => !IsMetadata(f)).OrderByDescending(f => f.Info.Length), parallel, HashAsync).ConfigureAwait(false);

        reporter.Done();
        return check.Finish(path, TarballChecksumStatus.NotApplicable);
    }

    /// <summary>The folder holding bundle.json: the path itself, or the one bundle folder inside it.</summary>
    internal static string FindRoot(string path)
    {
        if (File.Exists(Path.Combine(path, BundleLayout.ManifestFile)) || File.Exists(Path.Combine(path, BundleLayout.SumsFile)))
        {
            return path;
        }

        var candidates = Directory.GetDirectories(path)
            .Where(d => File.Exists(Path.Combine(d, BundleLayout.ManifestFile)) || File.Exists(Path.Combine(d, BundleLayout.SumsFile)))
            .ToList();
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new BadInputException($"{path}: not a bundle (no bundle.json or SHA256SUMS in it or in a folder directly below it)"),
            _ => throw new BadInputException($"{path}: holds {candidates.Count} bundles; name one of them: {string.Join(", ", candidates.Select(Path.GetFileName))}"),
        };
    }

    internal static string Describe(System.Formats.Tar.TarEntryType type) => type switch
    {
        System.Formats.Tar.TarEntryType.SymbolicLink => "symbolic link",
        System.Formats.Tar.TarEntryType.HardLink => "hard link",
        System.Formats.Tar.TarEntryType.CharacterDevice => "character device",
        System.Formats.Tar.TarEntryType.BlockDevice => "block device",
        System.Formats.Tar.TarEntryType.Fifo => "fifo",
        _ => type.ToString(),
    };

    /// <summary>Reports progress at most every 32 MiB so a fast hash loop is not slowed by its own reporting.</summary>
    internal sealed class ProgressReporter(IProgress<ByteProgress>? progress, long total)
    {
        private long _last = -1;

        public void Report(long done, string current)
        {
            if (progress is not null && (done - Interlocked.Read(ref _last) >= 32 << 20))
            {
                Interlocked.Exchange(ref _last, done);
                progress.Report(new ByteProgress(done, total, current));
            }
        }

        public void Done() => progress?.Report(new ByteProgress(total, total, null));
    }
}
