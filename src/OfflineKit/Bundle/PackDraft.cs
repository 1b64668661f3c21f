using System.Text;
using OfflineKit.IO;

namespace OfflineKit.Bundle;

/// <summary>
/// A bundle written ahead. After each uncompressed, unsigned bundle is written, its plan is kept in the
/// cache (<see cref="Save"/>: bundle.json and where every file's content comes from: its
/// bytes, a file in the cache, or a recipe for content made on the fly). The next build of the same
/// bundle name writes that plan to a draft in the output folder, and flushes it to disk, while its own
/// stages run (<see cref="Start"/>); when its plan comes out the same — the same memo key, which covers
/// bundle.json and every file's path, mode, size and digest, and each file made on the fly from the same
/// recipe — the draft is the bundle (<see cref="TakeAsync"/>). Otherwise, or if the draft failed, it is
/// deleted and the bundle is written as always: a draft costs I/O, never a wrong byte. The files read
/// from bytes or disk are checked against their digests while the draft is written, as in any pack.
/// </summary>
public sealed class PackDraft : IAsyncDisposable
{
    private const string Magic = "offlinekit-pack-plan 2";
    private static readonly TimeSpan WritebackPeriod = TimeSpan.FromMilliseconds(40);

    private readonly CancellationTokenSource _cancel = new();
    private readonly string _path;
    private readonly TaskCompletionSource<(PackPlan Plan, string Key)?> _planned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<(PackPlan Plan, string Key)?> _writing;
    private bool _taken;
    private bool _disposed;

    private PackDraft(string path, Func<PackPlan?> load)
    {
        _path = path;
        _writing = Task.Run(() => WriteAsync(load), CancellationToken.None);
    }

    /// <summary>Where the plans are kept, under a memo directory (CACHE/bundles).</summary>
    public static string PlansDirectory(string memoDirectory) => Path.Combine(memoDirectory, "plans");

    /// <summary>
    /// Starts writing ahead, on another thread, the plan kept for <paramref name="bundleName"/> into
    /// <paramref name="outputDirectory"/>; null when none is kept. Nothing is written when the plan
    /// cannot be read or a file it names is gone or changed size. <paramref name="writers"/> makes a
    /// writer from a recipe (null: it cannot, and nothing is written ahead).
    /// </summary>
    public static PackDraft? Start(string memoDirectory, string bundleName, string outputDirectory, Func<string, Func<Stream, CancellationToken, Task>?> writers)
    {
        ArgumentNullException.ThrowIfNull(writers);
        var plan = PlanPath(memoDirectory, bundleName);
        if (!File.Exists(plan))
        {
            return null;
        }

        return new PackDraft(
            Path.Combine(outputDirectory, $".{bundleName}{BundleLayout.Extension(BundleFormat.Tar)}.{Environment.ProcessId}.draft"),
            () => Load(plan, writers) is { } loaded && loaded.Name == bundleName ? loaded : null);
    }

    /// <summary>Whether the draft was written (waits for it): false when the plan did not read back or the writing failed.</summary>
    internal async Task<bool> WrittenAsync() => await _writing.ConfigureAwait(false) is not null;

    /// <summary>
    /// The draft's path when it holds exactly the bytes <paramref name="plan"/> (whose memo key is <paramref name="key"/>)
    /// would be written as; then it is the caller's to move. Otherwise null, and the draft is deleted when disposed.
    /// </summary>
    internal async Task<string?> TakeAsync(PackPlan plan, string key)
    {
        // The plans are compared as soon as the draft's is read: a draft of another plan stops at once.
        var planned = await _planned.Task.ConfigureAwait(false);
        if (planned is not { } p || p.Key != key || !SameRecipes(p.Plan, plan))
        {
            await AbandonAsync().ConfigureAwait(false);
            return null;
        }

        if (await _writing.ConfigureAwait(false) is null)
        {
            return null;
        }

        _taken = true;
        return _path;
    }

    /// <summary>Stops the draft now and removes its file (unlinked while written: its space is freed when the writer lets go).</summary>
    internal async Task AbandonAsync()
    {
        await _cancel.CancelAsync().ConfigureAwait(false);
        DeleteFile();
    }

    // The output directory may not be made yet (the draft's thread makes it).
    private void DeleteFile()
    {
        try
        {
            File.Delete(_path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    // The memo key covers each file's digest, not how content made on the fly is made: its recipe must match too.
    private static bool SameRecipes(PackPlan draft, PackPlan plan)
    {
        var recipes = draft.Files.ToDictionary(f => f.Path, f => f.Recipe, StringComparer.Ordinal);
        return plan.Files.All(f => f.WriteTo is null || (f.Recipe is not null && recipes.TryGetValue(f.Path, out var r) && r == f.Recipe));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _cancel.CancelAsync().ConfigureAwait(false);
        try
        {
            await _writing.ConfigureAwait(false);
        }
        finally
        {
            if (!_taken)
            {
                DeleteFile();
            }

            _cancel.Dispose();
        }
    }

    /// <summary>
    /// Keeps <paramref name="plan"/> for the next build of its name, unless it is kept already, it is signed (a
    /// signature is never the same twice), or some file's content has no source that can be kept.
    /// Never fails: a plan that cannot be kept only costs the next build its head start.
    /// </summary>
    internal static void Save(string memoDirectory, PackPlan plan, string key)
    {
        if (plan.Signature is not null || plan.Files.Any(f => f.WriteTo is not null ? f.Recipe is null : f.Bytes is null && f.DiskPath is null))
        {
            return;
        }

        var path = PlanPath(memoDirectory, plan.Name);
        var partial = $"{path}.{Environment.ProcessId}.partial";
        try
        {
            if (File.Exists(path) && ReadKey(path) == key)
            {
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var w = new BinaryWriter(File.Create(partial), Encoding.UTF8))
            {
                w.Write(Magic);
                w.Write(key);
                w.Write(plan.Name);
                Bytes(w, plan.ManifestBytes);
                w.Write(plan.Files.Count);
                foreach (var f in plan.Files)
                {
                    w.Write(f.Path);
                    w.Write(f.Size);
                    w.Write(plan.Digests[f.Path]);
                    w.Write(f.Executable);
                    if (f.WriteTo is not null)
                    {
                        w.Write((byte)2);
                        w.Write(f.Recipe!);
                    }
                    else if (f.Bytes is not null)
                    {
                        w.Write((byte)0);
                        Bytes(w, f.Bytes);
                    }
                    else
                    {
                        w.Write((byte)1);
                        w.Write(Path.GetFullPath(f.DiskPath!));
                    }
                }
            }

            File.Move(partial, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(partial);
        }
    }

    private static string PlanPath(string memoDirectory, string bundleName) => Path.Combine(PlansDirectory(memoDirectory), bundleName + ".plan");

    private static void Bytes(BinaryWriter w, byte[] bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static byte[] Bytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        var bytes = r.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    private static string? ReadKey(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        return r.ReadString() == Magic ? r.ReadString() : null;
    }

    // The kept plan with every source in place, or null. The key is not trusted: it is worked out again from what was read.
    private static PackPlan? Load(string path, Func<string, Func<Stream, CancellationToken, Task>?> writers)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadString() != Magic)
            {
                return null;
            }

            r.ReadString();
            var name = r.ReadString();
            var manifestBytes = Bytes(r);
            var count = r.ReadInt32();
            var files = new List<BundleFile>();
            var digests = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var filePath = r.ReadString();
                var size = r.ReadInt64();
                var sha = r.ReadString();
                var executable = r.ReadBoolean();
                BundleFile? file = r.ReadByte() switch
                {
                    0 => BundleFile.FromBytes(filePath, Bytes(r)),
                    1 => r.ReadString() is var disk && File.Exists(disk) && new FileInfo(disk).Length == size ? BundleFile.FromDisk(filePath, disk) : null,
                    2 => r.ReadString() is var recipe && writers(recipe) is { } write ? BundleFile.FromWriter(filePath, size, sha, write, recipe) : null,
                    _ => null,
                };
                if (file is null || file.Size != size || !digests.TryAdd(filePath, sha))
                {
                    return null;
                }

                files.Add(file with { Executable = executable, Sha256 = sha });
            }

            // SHA256SUMS is not kept but made again as the writer makes it, from the files as bundle.json lists
            // them (PackPlan.Listed; not parsed from bundle.json: a cold JSON parse was ~40 ms before the
            // draft's first byte). The memo key covers bundle.json and every file's line, and so every byte of the draft.
            return new PackPlan(name, files, digests, manifestBytes, null, PackPlan.SumsOf(manifestBytes, PackPlan.Listed(files, digests)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException or FormatException
            or ArgumentException or InvalidDataException or OfflineKitException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task<(PackPlan Plan, string Key)?> WriteAsync(Func<PackPlan?> load)
    {
        try
        {
            var t = Timing.Start();
            if (load() is not { } plan)
            {
                _planned.TrySetResult(null);
                return null;
            }

            var key = plan.MemoKey();
            _planned.TrySetResult((plan, key));

            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            await using (var file = new FileCopyStream(_path))
            {
                // The disk is idle while the stages run: it starts on what is written every few dozen ms,
                // instead of all of it at the flush below.
                using (new Timer(_ => file.StartWriteback(), null, WritebackPeriod, WritebackPeriod))
                {
                    await BundleWriter.WriteAsync(plan, file, BundleFormat.Tar, progress: null, _cancel.Token).ConfigureAwait(false);
                }

                Timing.Mark("draft: written", t);
                // Blocks until the disk has it: on a thread of its own, not one of the pool's few.
                await Task.Factory.StartNew(file.FlushToDisk, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            }

            Timing.Mark("draft: on disk", t);
            return (plan, key);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever stopped it (a cancelled build, a file changed since, a full disk): the bundle is written as always.
            _planned.TrySetResult(null);
            if (_cancel.IsCancellationRequested)
            {
                // Abandoned: its file may have been made after AbandonAsync deleted the path.
                DeleteFile();
            }

            return null;
        }
    }
}
