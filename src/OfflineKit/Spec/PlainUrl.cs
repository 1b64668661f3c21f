namespace OfflineKit.Spec;

/// <summary>
/// The URLs a user gives (mirrors, repositories, a daemon's registry mirrors): http(s) with a host (or
/// file:// where allowed), no credentials (they would be printed and journalled), no query or fragment,
/// and nothing a shell, a config file or a terminal reads specially.
/// </summary>
public static class PlainUrl
{
    public static Uri? TryParse(string text, bool allowFile = false) =>
        !text.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '"' or '\'' or '`' or '$' or '\\' or '<' or '>' or '{' or '}' or '|' or '^')
        && Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && ((uri.Scheme is "http" or "https" && uri.Host.Length > 0) || (allowFile && uri.Scheme == "file"))
        && uri.UserInfo.Length == 0 && uri.Query.Length == 0 && uri.Fragment.Length == 0
            ? uri
            : null;
}
