using System.Text;

namespace OfflineKit.Bundle;

/// <summary>The SHA256SUMS file, in exactly the format <c>sha256sum -c</c> reads.</summary>
public static class Sha256Sums
{
    public static byte[] Format(IEnumerable<FileDigest> files)
    {
        var sb = new StringBuilder();
        foreach (var f in files)
        {
            if (!BundleLayout.IsValidRelativePath(f.Path))
            {
                throw new ArgumentException($"'{f.Path}' cannot be written to SHA256SUMS", nameof(files));
            }

            // Two spaces: text mode, as `sha256sum` writes it by default; -c reads both.
            sb.Append(f.Sha256).Append("  ").Append(f.Path).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Parses SHA256SUMS; malformed lines are returned with their line numbers, not thrown.</summary>
    public static ParsedSums Parse(ReadOnlySpan<byte> content)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<string>();
        var text = Encoding.UTF8.GetString(content);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0 && i == lines.Length - 1)
            {
                break;
            }

            if (line.Length < 66 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')
                || !line.AsSpan(0, 64).ContainsOnlyHexLowerOrUpper())
            {
                errors.Add($"line {i + 1}: not a sha256sum line");
                continue;
            }

            var path = line[66..];
            if (!BundleLayout.IsValidRelativePath(path))
            {
                errors.Add($"line {i + 1}: unsafe or malformed path '{path}'");
                continue;
            }

            if (!entries.TryAdd(path, line[..64].ToLowerInvariant()))
            {
                errors.Add($"line {i + 1}: '{path}' is listed twice");
            }
        }

        return new ParsedSums(entries, errors);
    }

    private static bool ContainsOnlyHexLowerOrUpper(this ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

public sealed record ParsedSums(IReadOnlyDictionary<string, string> Entries, IReadOnlyList<string> Errors);
