using System.Text;

namespace OfflineKit;

/// <summary>
/// Text from outside (entry names, file contents, paths) made safe for a terminal: control characters,
/// the C1 range and the Unicode line and direction marks are shown as escapes, so a crafted name can
/// neither set the title, colour the screen, nor split a one-line message in two.
/// </summary>
public static class Printable
{
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        var i = 0;
        while (i < text.Length && !NeedsEscape(text[i]))
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16).Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (!NeedsEscape(c))
            {
                builder.Append(c);
                continue;
            }

            _ = c switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                < '\u0100' => builder.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
            };
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c)
        || c is '\u2028' or '\u2029' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069');
}
