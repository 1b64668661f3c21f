using OfflineKit.Bundle;
using OfflineKit.IO;

namespace OfflineKit.Build;

/// <summary>The build pipeline: spec → images + manifests + RPMs + bin + scripts → the bundle writer.</summary>
public static class BundleBuilder
{
    /// <summary>The stages later issues fill in; a build that needs one fails before it does any work.</summary>
    private static readonly (BuildStage Stage, string Name)[] Unfinished =
    [
        (BuildStage.Images, "images"),
        (BuildStage.Rpms, "rpms"),
        (BuildStage.Manifests, "manifests"),
    ];

    public static async Task<WrittenBundle> BuildAsync(BuildOptions options, IProgress<ByteProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var missing = Unfinished.Where(u => !options.Without.Contains(u.Stage)).Select(u => u.Name).ToList();
        if (missing.Count > 0)
        {
            var flags = string.Join(' ', missing.Select(m => $"--without {m}"));
            throw new NotImplementedYetException(
                $"build: the {string.Join(", ", missing)} stage{(missing.Count > 1 ? "s" : string.Empty)}",
                $"`{flags}` builds a bundle of what exists");
        }

        var spec = options.Spec;
        var files = new List<BundleFile>
        {
            Script(BundleLayout.VerifyScript, "verify.sh"),
        };

        if (!options.Without.Contains(BuildStage.Bin))
        {
            var binary = SelfContainedBinary.Find(spec.Target, options.DistDirectory);
            files.Add(BundleFile.FromDisk(BundleLayout.Binary, binary) with
            {
                Executable = true,
                Artifact = new ArtifactInfo(ArtifactKind.File, "offlinekit", BundleWriter.CreatedBy.Split(' ')[^1], spec.Target.RuntimeIdentifier),
            });
        }

        var header = new BundleHeader(
            BundleLayout.BundleName(spec.Kubernetes, spec.Target),
            spec.Version.ToNormalizedString(),
            spec.Kubernetes.ToString(),
            spec.Target.OsName,
            spec.Target.ArchName);
        return await BundleWriter.WriteFileAsync(header, files, options.OutputDirectory, options.Format, progress, cancellationToken).ConfigureAwait(false);
    }

    private static BundleFile Script(string path, string resource)
    {
        using var stream = typeof(BundleBuilder).Assembly.GetManifestResourceStream($"OfflineKit.Scripts.{resource}")
            ?? throw new InvalidOperationException($"script {resource} is not embedded");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return BundleFile.FromBytes(path, buffer.ToArray()) with
        {
            Executable = true,
            Artifact = new ArtifactInfo(ArtifactKind.Script, Path.GetFileName(path)),
        };
    }
}
