using System.Formats.Tar;
using OfflineKit.Bundle;
using OfflineKit.Build;
using OfflineKit.IO;

namespace OfflineKit.Images;

public sealed record ImagesLoadResult(IReadOnlyList<string> Loaded, IReadOnlyList<string> AlreadyPresent);

/// <summary>Loads a bundle's images into a Docker daemon, by role, straight from the tarball or the extracted folder.</summary>
public static class BundleImages
{
    /// <summary>The image parts a role needs: a worker only the common part, a control-plane node both.</summary>
    public static IReadOnlyList<string> PartsFor(string? role) => role switch
    {
        "worker" => [ImagePlan.CommonPart],
        _ => [ImagePlan.ControlPlanePart, ImagePlan.CommonPart],
    };

    public static async Task<ImagesLoadResult> LoadAsync(string bundle, string? role, DockerDaemon docker, IProgress<string>? messages = null, CancellationToken cancellationToken = default)
    {
        var manifest = (await BundleInspector.InspectAsync(bundle, cancellationToken).ConfigureAwait(false)).Manifest;
        var loaded = new List<string>();
        var present = new List<string>();
        foreach (var part in PartsFor(role))
        {
            var path = $"{BundleLayout.ImagesDir}/{part}.tar";
            var names = manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image && a.Path == path).Select(a => a.Name).ToList();
            var file = manifest.Files.FirstOrDefault(f => f.Path == path);
            if (names.Count == 0 || file is null)
            {
                throw new OperationFailedException($"{bundle}: the bundle carries no images in {path}");
            }

            var missing = new List<string>();
            foreach (var name in names)
            {
                (await docker.HasImageAsync(name, cancellationToken).ConfigureAwait(false) ? present : missing).Add(name);
            }

            if (missing.Count == 0)
            {
                messages?.Report($"{part}: all {names.Count} images already present");
                continue;
            }

            messages?.Report($"{part}: loading {missing.Count} of {names.Count} images into {docker.Endpoint}");
            await WithArchiveAsync(bundle, path, async stream =>
            {
                await using var hashing = new HashingStream(stream, leaveOpen: true);
                // Docker.DotNet disposes the stream it sends; the digest is checked after it.
                await docker.LoadAsync(new KeepOpenStream(hashing), messages, cancellationToken).ConfigureAwait(false);
                await hashing.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                if (hashing.HexDigest != file.Sha256)
                {
                    throw new OperationFailedException($"{path} does not match bundle.json (sha256 {hashing.HexDigest}, recorded {file.Sha256}); run `offlinekit verify {bundle}`");
                }
            }, cancellationToken).ConfigureAwait(false);
            loaded.AddRange(missing);
        }

        return new ImagesLoadResult(loaded, present);
    }

    /// <summary>Opens one file of a bundle as a stream: from the folder, or by streaming through the tarball to it.</summary>
    private static async Task WithArchiveAsync(string bundle, string path, Func<Stream, Task> use, CancellationToken cancellationToken)
    {
        if (Directory.Exists(bundle))
        {
            await using var file = File.OpenRead(Path.Combine(BundleVerifier.FindRoot(bundle), path));
            await use(file).ConfigureAwait(false);
            return;
        }

        await using var source = await TarballSource.OpenAsync(bundle, cancellationToken, wholePass: false).ConfigureAwait(false);
        while (await source.Reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile
                && TarballSource.SplitTop(entry.Name).Inner == path && entry.DataStream is not null)
            {
                await use(entry.DataStream).ConfigureAwait(false);
                return;
            }
        }

        throw new OperationFailedException($"{bundle}: {path} is not in the tarball");
    }
}
