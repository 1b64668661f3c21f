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
            var bad = names.FirstOrDefault(n => !ImageReference.TryParse(n, out _));
            if (bad is not null)
            {
                throw new OperationFailedException($"{bundle}: bundle.json names an image '{bad}', which is not an image reference; `offlinekit verify {bundle}` tells what is wrong");
            }

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

            // Nothing reaches the daemon before it is proven: the archive is verified whole (against both
            // lists, its blobs and its own index) and only then handed over, from the bytes that were hashed.
            messages?.Report($"{part}: verifying {path}");
            await using (var archive = await VerifiedFile.OpenAsync(bundle, path, cancellationToken).ConfigureAwait(false))
            {
                messages?.Report($"{part}: loading {missing.Count} of {names.Count} images into {docker.Endpoint}");

                // Docker.DotNet disposes the stream it sends.
                await docker.LoadAsync(new KeepOpenStream(archive.Content), messages, cancellationToken).ConfigureAwait(false);
            }

            var absent = new List<string>();
            foreach (var name in missing)
            {
                if (!await docker.HasImageAsync(name, cancellationToken).ConfigureAwait(false))
                {
                    absent.Add(name);
                }
            }

            if (absent.Count > 0)
            {
                throw new OperationFailedException($"docker at {docker.Endpoint} took {path} but does not have {string.Join(", ", absent)} after it");
            }

            loaded.AddRange(missing);
        }

        return new ImagesLoadResult(loaded, present);
    }
}
