using System.Globalization;

namespace OfflineKit.Install;

/// <summary>
/// <see cref="PushFiles"/> over SFTP: a file whose SHA-256 on the host already matches is skipped, a
/// shorter one is continued from its length (and checked after, sent whole when it does not match),
/// anything else is sent anew; the host must have room for what is to be sent before the first byte.
/// </summary>
internal sealed class SftpPush : ActionRunner<PushFiles>
{
    protected override async Task RunAsync(HostSession session, HostStep step, PushFiles push, CancellationToken cancellationToken) =>
        session.Push = await PushAsync(session, push, cancellationToken).ConfigureAwait(false);

    private static async Task<PushStats> PushAsync(HostSession session, PushFiles push, CancellationToken cancellationToken)
    {
        var name = session.Name;
        var remote = session.Remote;
        var bundle = session.Run.Bundle;
        var total = push.TotalSize;
        long done = 0;
        var sent = 0;
        var resumed = 0;
        var skipped = 0;
        long bytesSent = 0;
        session.Report(new TransferProgress(name, 0, total, null));

        // What is there already: stat each file; hash those at full size in one command.
        var plans = new List<(PushFile File, long Offset)>();
        var fullSize = new List<PushFile>();
        foreach (var file in push.Files)
        {
            var there = await remote.StatAsync($"{push.RemoteDirectory}/{file.Path}", cancellationToken).ConfigureAwait(false);
            if (there is null || there.Size > file.Size)
            {
                plans.Add((file, 0));
            }
            else if (there.Size == file.Size)
            {
                fullSize.Add(file);
            }
            else
            {
                plans.Add((file, there.Size));
            }
        }

        var hashes = await RemoteHashesAsync(session, push, fullSize.Select(f => f.Path), cancellationToken).ConfigureAwait(false);
        foreach (var file in fullSize)
        {
            if (hashes.TryGetValue(file.Path, out var hash) && hash == file.Sha256)
            {
                session.Log($"skip {file.Path}: already there, sha256 matches");
                skipped++;
                done += file.Size;
            }
            else
            {
                plans.Add((file, 0));
            }
        }

        session.Report(new TransferProgress(name, done, total, null));
        await CheckRoomAsync(session, push, plans.Sum(p => p.File.Size - p.Offset), cancellationToken).ConfigureAwait(false);
        var resumedFiles = new List<PushFile>();
        var order = push.Files.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => x.i);
        foreach (var (file, offset) in plans.OrderBy(p => order[p.File]))
        {
            var path = $"{push.RemoteDirectory}/{file.Path}";
            session.Log(offset == 0
                ? $"sftp put {file.Path} -> {path} ({file.Size} bytes)"
                : $"sftp put {file.Path} -> {path}: continuing at byte {offset} of {file.Size} ({file.Size - offset} to send)");
            var before = done;
            await using (var source = bundle.OpenRead(file.Path, offset))
            {
                // SSH.NET reports each acknowledged write from a pool thread, so reports can arrive out of order: keep the highest.
                long highest = 0;
                var bytes = new SyncProgress(n =>
                {
                    long seen;
                    while (n > (seen = Interlocked.Read(ref highest)))
                    {
                        if (Interlocked.CompareExchange(ref highest, n, seen) == seen)
                        {
                            session.Report(new TransferProgress(name, before + offset + n, total, file.Path));
                            break;
                        }
                    }
                });
                await remote.UploadAsync(source, path, offset, bytes, cancellationToken).ConfigureAwait(false);
            }

            bytesSent += file.Size - offset;
            done += file.Size;
            if (offset > 0)
            {
                resumed++;
                resumedFiles.Add(file);
            }
            else
            {
                sent++;
            }

            session.Report(new TransferProgress(name, done, total, file.Path));
        }

        // A continued file is only as good as the part that was there: check it now, and send it whole if it is wrong.
        if (resumedFiles.Count > 0)
        {
            var check = await RemoteHashesAsync(session, push, resumedFiles.Select(f => f.Path), cancellationToken).ConfigureAwait(false);
            foreach (var file in resumedFiles.Where(f => !check.TryGetValue(f.Path, out var h) || h != f.Sha256))
            {
                session.Log($"{file.Path}: the continued file does not match; sending it whole");
                await using var source = bundle.OpenRead(file.Path);
                await remote.UploadAsync(source, $"{push.RemoteDirectory}/{file.Path}", 0, null, cancellationToken).ConfigureAwait(false);
                bytesSent += file.Size;
            }
        }

        var stats = new PushStats(sent, resumed, skipped, bytesSent);
        session.Log($"push: {sent} sent, {resumed} continued, {skipped} already there; {bytesSent} bytes sent");
        return stats;
    }

    /// <summary>Fails the push before the first byte when the host's folder has no room for what is to be sent.</summary>
    private static async Task CheckRoomAsync(HostSession session, PushFiles push, long toSend, CancellationToken cancellationToken)
    {
        if (toSend == 0)
        {
            return;
        }

        var df = await session.RunLoggedAsync(push.FreeSpaceCommand, cancellationToken).ConfigureAwait(false);
        var fields = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!df.Ok || fields is not { Length: >= 4 } || !long.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var freeKb))
        {
            session.Log("cannot tell the free space there (df gave no answer); pushing anyway");
            return;
        }

        if (freeKb * 1024 < toSend + PushFiles.Headroom)
        {
            throw new StepFailedException(
                $"{push.RemoteDirectory} has {PushFiles.SizeText(freeKb * 1024)} free; the push needs {PushFiles.SizeText(toSend)} (and {PushFiles.SizeText(PushFiles.Headroom)} to spare): free some space there, or set a stateDir on a larger disk");
        }
    }

    private static async Task<Dictionary<string, string>> RemoteHashesAsync(HostSession session, PushFiles push, IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var list = paths.ToList();
        if (list.Count == 0)
        {
            return hashes;
        }

        var result = await session.RunLoggedAsync(push.HashCommand(list), cancellationToken).ConfigureAwait(false);
        foreach (var line in result.Stdout.Split('\n'))
        {
            // "<64 hex>  <path>"; a file sha256sum could not read is simply absent, so it is sent again.
            if (line.Length > 66 && line[64] == ' ')
            {
                hashes[line[66..]] = line[..64];
            }
        }

        return hashes;
    }

    /// <summary>Reports on the caller's thread, unlike Progress&lt;T&gt;, which posts to the pool and reorders.</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
