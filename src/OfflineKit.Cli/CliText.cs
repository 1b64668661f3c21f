namespace OfflineKit.Cli;

/// <summary>Text from a bundle or the user as a Spectre markup cell: control characters escaped, then markup.</summary>
internal static class CliText
{
    public static string Markup(string? text) => Spectre.Console.Markup.Escape(Printable.Escape(text));
}
