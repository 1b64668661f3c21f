using System.Text;
using OfflineKit.Bundle;

namespace OfflineKit.Tests.Support;

/// <summary>Small real bundles written by the real writer, for tests that read them back.</summary>
public static class Bundles
{
    public const string Name = "offlinekit-k8s-1.23.0-el8-amd64";

    public static readonly BundleHeader Header = new(Name, "1.0.0", "1.23.0", "el8", "amd64");

    /// <summary>A few files shaped like a bundle's, each an artifact of its kind.</summary>
    public static IReadOnlyList<BundleFile> SampleFiles() =>
    [
        File("images/common.tar", new string('i', 5000), ArtifactKind.File),
        File("manifests/calico.yaml", "kind: DaemonSet\n", ArtifactKind.Manifest),
        File("rpms/kubelet-1.23.0-0.x86_64.rpm", new string('r', 3000), ArtifactKind.Rpm),
        File("scripts/import-images.sh", "#!/bin/sh\necho hi\n", ArtifactKind.Script) with { Executable = true },
    ];

    public static BundleFile File(string path, string content, ArtifactKind kind) =>
        BundleFile.FromBytes(path, Encoding.UTF8.GetBytes(content)) with
        {
            Artifact = new ArtifactInfo(kind, System.IO.Path.GetFileName(path), "1.0", "https://example.invalid/" + path),
        };

    public static async Task<string> WriteTarballAsync(string directory, BundleFormat format = BundleFormat.Tar, IReadOnlyList<BundleFile>? files = null) =>
        (await BundleWriter.WriteFileAsync(Header, files ?? SampleFiles(), directory, format)).Path;

    /// <summary>Every entry of a plain tar, in order, as System.Formats.Tar reads it.</summary>
    public static List<System.Formats.Tar.TarEntry> Entries(string path)
    {
        using var file = System.IO.File.OpenRead(path);
        using var reader = new System.Formats.Tar.TarReader(file);
        var list = new List<System.Formats.Tar.TarEntry>();
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            list.Add(entry);
        }

        return list;
    }

    /// <summary>Writes a tarball and unpacks it with the safe extractor; returns the bundle folder.</summary>
    public static async Task<string> WriteDirectoryAsync(string directory)
    {
        var tarball = await WriteTarballAsync(System.IO.Path.Combine(directory, "out"));
        var result = await BundleExtractor.ExtractAsync(tarball, System.IO.Path.Combine(directory, "extracted"));
        Assert.True(result.Report.Ok);
        return result.Directory;
    }
}
