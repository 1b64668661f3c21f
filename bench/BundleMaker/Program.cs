// BundleMaker SOURCE_DIR OUTPUT_DIR
// Packs every file under SOURCE_DIR (paths kept relative, with forward slashes) into
// OUTPUT_DIR/offlinekit-k8s-1.23.0-el8-amd64.tar plus its .tar.sha256 sidecar, through the same
// BundleWriter that `offlinekit build` uses, so the benchmark verifies a real v1 bundle.
using OfflineKit.Bundle;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: BundleMaker SOURCE_DIR OUTPUT_DIR");
    return 2;
}

var source = Path.GetFullPath(args[0]);
var output = Path.GetFullPath(args[1]);
if (!Directory.Exists(source))
{
    Console.Error.WriteLine($"BundleMaker: {source}: no such directory");
    return 2;
}

var files = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
    .Select(full => (Relative: Path.GetRelativePath(source, full).Replace(Path.DirectorySeparatorChar, '/'), Full: full))
    .OrderBy(f => f.Relative, StringComparer.Ordinal)
    .Select(f => BundleFile.FromDisk(f.Relative, f.Full) with { Artifact = new ArtifactInfo(ArtifactKind.File, Path.GetFileName(f.Relative)) })
    .ToList();

var header = new BundleHeader("offlinekit-k8s-1.23.0-el8-amd64", "1.0.0", "1.23.0", "el8", "amd64");
var written = await BundleWriter.WriteFileAsync(header, files, output, BundleFormat.Tar);
Console.WriteLine($"{written.Path} {written.Size} bytes, {files.Count} files, sha256 {written.Sha256}");
return 0;
