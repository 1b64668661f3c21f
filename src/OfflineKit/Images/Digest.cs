namespace OfflineKit.Images;

/// <summary>A content digest, "sha256:&lt;64 hex&gt;": the name of a blob or manifest in a registry, a cache, an archive.</summary>
public readonly record struct Digest
{
    private Digest(string hex) => Hex = hex;

    /// <summary>Lower-case hex of the SHA-256.</summary>
    public string Hex { get; }

    public static Digest Parse(string text) =>
        TryParse(text, out var d) ? d : throw new FormatException($"'{text}' is not a sha256 digest (expected sha256:<64 hex digits>)");

    public static bool TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (text is null || !text.StartsWith("sha256:", StringComparison.Ordinal) || text.Length != 71)
        {
            return false;
        }

        var hex = text[7..];
        if (!hex.All(char.IsAsciiHexDigitLower) && !hex.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        digest = new Digest(hex.ToLowerInvariant());
        return true;
    }

    public static Digest FromHex(string hex) => Parse("sha256:" + hex);

    public static Digest Of(ReadOnlySpan<byte> data) => new(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)));

    public override string ToString() => "sha256:" + Hex;
}
