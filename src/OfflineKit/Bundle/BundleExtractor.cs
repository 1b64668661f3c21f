using System.Formats.Tar;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

public sealed record ExtractResult(string Directory, VerifyReport Report);

/// <summary>
/// Unpacks a bundle tarball safely: absolute paths, '..', links that point outside, devices and
/// fifos are refused; every file is verified as it is written; the tree appears under its final
/// name only when it is whole and verified.
/// </summary>
public static class BundleExtractor
{
    public static async Task<ExtractResult> ExtractAsync(string tarball, string toDirectory, IProgress<ByteProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(tarball))
        {
            throw new BadInputException($"{tarball}: is a directory, already extracted; `offlinekit verify {tarball}` checks it");
        }

        if (!File.Exists(tarball))
        {
            throw new BadInputException($"{tarball}: no such bundle tarball");
        }

        var to = Path.GetFullPath(toDirectory);
        var staging = PrepareTarget(to);
        try
        {
            var (top, report) = await ExtractToStagingAsync(tarball, to, staging, progress, cancellationToken).ConfigureAwait(false);
            if (!report.Ok || top is null)
            {
                return new ExtractResult(to, report);
            }

            var final = Path.Combine(to, top);
            if (Path.Exists(final))
            {
                throw new BadInputException($"{final}: already exists; remove it or extract elsewhere with --to");
            }

            Directory.Move(Path.Combine(staging, top), final);
            return new ExtractResult(final, report);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private const string StagingPrefix = ".offlinekit-extract-";

    /// <summary>
    /// Makes sure <paramref name="to"/> is a folder we can write in, clears staging folders that earlier
    /// extracts left when they were killed, and makes this run's own (named by our process id, so a
    /// later run can tell a dead one's leftovers from a running one's).
    /// </summary>
    private static string PrepareTarget(string to)
    {
        var staging = Path.Combine(to, $"{StagingPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var kind = FileKinds.Of(to);
            if (kind is not (FileKind.Missing or FileKind.Directory))
            {
                throw new BadInputException($"--to {to}: exists and is {FileKinds.Describe(kind)}, not a folder");
            }

            Directory.CreateDirectory(to);
            RemoveStaleStaging(to);
            Directory.CreateDirectory(staging, (UnixFileMode)BundleLayout.ExecutableMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"--to {to}: cannot write there ({e.Message})", e);
        }

        return staging;
    }

    private static void RemoveStaleStaging(string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(to, StagingPrefix + "*"))
        {
            var rest = Path.GetFileName(dir)[StagingPrefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            var alive = dash > 0 && int.TryParse(rest[..dash], out var pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}");
            if (!alive && FileKinds.Of(dir, followLinks: false) == FileKind.Directory)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static async Task<(string? Top, VerifyReport Report)> ExtractToStagingAsync(
        string tarball, string to, string staging, IProgress<ByteProgress>? progress, CancellationToken cancellationToken)
    {
        var check = new BundleCheck();
        await using var source = await TarballSource.OpenAsync(tarball, cancellationToken).ConfigureAwait(false);
        var reporter = new BundleVerifier.ProgressReporter(progress, source.Length);
        string? top = null;
        var last = "(start of the tarball)";
        try
        {
            while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                last = entry.Name;
                if (entry.EntryType == TarEntryType.Directory && TarballSource.IsArchiveRoot(entry.Name))
                {
                    continue;
                }

                if (TarballSource.NameError(entry) is { } nameError)
                {
                    throw Refuse(entry.Name, nameError);
                }

                var relative = SafeRelativePath(entry.Name);
                var (entryTop, inner) = TarballSource.SplitTop(relative);
                if (top is null)
                {
                    if (!BundleLayout.IsValidBundleName(entryTop))
                    {
                        throw Refuse(entry.Name, "under a top folder that is not a bundle name");
                    }

                    top = entryTop;
                    if (Path.Exists(Path.Combine(to, top)))
                    {
                        throw new BadInputException($"{Path.Combine(to, top)}: already exists; remove it or extract elsewhere with --to");
                    }
                }

                if (entryTop != top)
                {
                    throw Refuse(entry.Name, $"lies outside the bundle's top folder '{top}'");
                }

                var target = Path.Combine(staging, relative);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        EnsureDirectory(staging, relative);
                        break;
                    case var t when TarballSource.IsRegularFile(t):
                        if (inner.Length == 0)
                        {
                            throw Refuse(entry.Name, "a file where the bundle's top folder belongs");
                        }

                        if (!BundleLayout.IsValidRelativePath(inner))
                        {
                            throw Refuse(entry.Name, "not a plain relative path");
                        }

                        // Judged by its header before a byte is written: listed, with the size recorded.
                        if (check.Admit(inner, entry.Length) is { } refused)
                        {
                            throw Refuse(entry.Name, refused.Detail);
                        }

                        EnsureDirectory(staging, Path.GetDirectoryName(relative) ?? string.Empty);
                        var written = await WriteFileAsync(check, inner, entry, target, n => reporter.Report(source.Position, inner), cancellationToken).ConfigureAwait(false);
                        if (!written)
                        {
                            goto done;
                        }

                        break;
                    case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                        CheckLink(entry, relative, top);

                        // Not created: a bundle holds only files and folders, so the check reports it.
                        check.AddProblem(ProblemKind.UnexpectedEntry, inner, $"a {BundleVerifier.Describe(entry.EntryType)} entry; bundles hold only files and folders");
                        break;
                    default:
                        throw Refuse(entry.Name, $"a {BundleVerifier.Describe(entry.EntryType)} entry; bundles hold only files and folders");
                }
            }

        done:;
        }
        catch (Exception e) when (TarballSource.IsCorruption(e))
        {
            check.AddProblem(ProblemKind.Truncated, last, $"the tarball is truncated or corrupt after this entry: {e.Message}");
        }

        var status = await BundleVerifier.FinishTarballAsync(source, check, cancellationToken).ConfigureAwait(false);
        reporter.Done();
        return (top, check.Finish(tarball, status, top));
    }

    private static async Task<bool> WriteFileAsync(BundleCheck check, string inner, TarEntry entry, string target, Action<long> onBytes, CancellationToken cancellationToken)
    {
        var mode = (entry.Mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0
            ? (UnixFileMode)BundleLayout.ExecutableMode
            : (UnixFileMode)BundleLayout.FileMode;

        // CreateNew: an entry never replaces what is there, not even a link an earlier entry made.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = mode, BufferSize = 1 };
        await using var output = new FileStream(target, options);
        return await check.AddFileAsync(inner, entry.DataStream ?? Stream.Null, entry.Length, output, onBytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The entry's path with "./" and empty segments folded; refused if absolute or with '..'.</summary>
    internal static string SafeRelativePath(string name)
    {
        if (name.StartsWith('/') || name.Contains('\0') || name.Contains('\\'))
        {
            throw Refuse(name, "an absolute or malformed path");
        }

        var segments = name.Split('/').Where(s => s.Length > 0 && s != ".").ToList();
        if (segments.Count == 0)
        {
            throw Refuse(name, "an empty path");
        }

        if (segments.Contains(".."))
        {
            throw Refuse(name, "a path with '..' that could reach outside the target folder");
        }

        return string.Join('/', segments);
    }

    /// <summary>A link's target, resolved from where the link stands, must stay inside the bundle's top folder.</summary>
    private static void CheckLink(TarEntry entry, string relative, string top)
    {
        var target = entry.LinkName;
        if (string.IsNullOrEmpty(target) || target.StartsWith('/'))
        {
            throw Refuse(entry.Name, $"a link to '{target}', an absolute path");
        }

        // A symlink resolves from its own folder; a hard link's name is relative to the archive root.
        var start = entry.EntryType == TarEntryType.SymbolicLink
            ? (Path.GetDirectoryName(relative) ?? string.Empty).Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).ToList()
            : [];
        foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (start.Count == 0)
                {
                    throw Refuse(entry.Name, $"a link to '{target}', outside the target folder");
                }

                start.RemoveAt(start.Count - 1);
            }
            else if (segment != ".")
            {
                start.Add(segment);
            }
        }

        if (start.Count == 0 || start[0] != top)
        {
            throw Refuse(entry.Name, $"a link to '{target}', outside the bundle's top folder");
        }
    }

    /// <summary>Creates the folders of <paramref name="relative"/> under root, refusing to pass through anything but real folders.</summary>
    private static void EnsureDirectory(string root, string relative)
    {
        var current = root;
        foreach (var segment in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null || File.Exists(current))
            {
                throw Refuse(relative, $"its folder '{segment}' is not a folder");
            }

            if (!info.Exists)
            {
                Directory.CreateDirectory(current, (UnixFileMode)BundleLayout.ExecutableMode);
            }
        }
    }

    private static OperationFailedException Refuse(string entry, string why) =>
        new($"refused to extract: entry '{entry}' is {why}. Nothing was extracted.");
}
