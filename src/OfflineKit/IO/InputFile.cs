namespace OfflineKit.IO;

/// <summary>
/// A small file the user names (spec, inventory, mirrors, key, known_hosts): it must be a regular file
/// and under its cap, checked before it is opened, so /dev/zero or a fifo is a one-line error instead
/// of unbounded memory or a hang.
/// </summary>
public static class InputFile
{
    /// <summary>Specs, inventories, mirrors files: hand-written YAML, far below this.</summary>
    public const long YamlCap = 4L << 20;

    /// <summary>An SSH private key or a PEM file is a few KB.</summary>
    public const long KeyCap = 1L << 20;

    /// <summary>
    /// Checks <paramref name="path"/> is a regular file no larger than <paramref name="cap"/>; throws
    /// <see cref="BadInputException"/> naming <paramref name="what"/> and the cap otherwise.
    /// </summary>
    public static void Check(string path, long cap, string what)
    {
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
        {
            throw new BadInputException($"{path}: {what} not found");
        }

        if (kind != FileKind.Regular)
        {
            throw new BadInputException($"{path}: {what} must be a regular file, not {FileKinds.Describe(kind)}");
        }

        var length = new FileInfo(path).Length;
        if (length > cap)
        {
            throw new BadInputException($"{path}: {what} is {length} bytes, over the {Cap(cap)} cap on it");
        }
    }

    /// <summary>The file's text (UTF-8), after <see cref="Check"/>; read no further than the cap even if it grows meanwhile.</summary>
    public static string ReadAllText(string path, long cap, string what) =>
        System.Text.Encoding.UTF8.GetString(ReadAllBytes(path, cap, what));

    public static byte[] ReadAllBytes(string path, long cap, string what)
    {
        Check(path, cap, what);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = file.Read(chunk)) > 0)
            {
                if (buffer.Length + n > cap)
                {
                    throw new BadInputException($"{path}: {what} is over the {Cap(cap)} cap on it");
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot read {what}: {e.Message}", e);
        }
    }

    public static string Cap(long bytes) => bytes >= 1L << 20 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";
}
