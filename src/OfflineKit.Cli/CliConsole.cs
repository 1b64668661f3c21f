using Spectre.Console;

namespace OfflineKit.Cli;

/// <summary>
/// Where the CLI writes: results to <see cref="Out"/> (stdout), progress, logs and errors to
/// <see cref="Error"/> (stderr). Tests pass writers of their own.
/// </summary>
public sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool interactive)
    {
        OutWriter = output;
        ErrorWriter = error;
        Interactive = interactive;
        Out = Create(output, interactive);
        Error = Create(error, interactive);
    }

    public static CliConsole System => new(
        global::System.Console.Out,
        global::System.Console.Error,
        interactive: !global::System.Console.IsErrorRedirected);

    public TextWriter OutWriter { get; }

    public TextWriter ErrorWriter { get; }

    public IAnsiConsole Out { get; }

    public IAnsiConsole Error { get; }

    /// <summary>Whether stderr is a terminal (live progress bars) or a log (a line now and then).</summary>
    public bool Interactive { get; }

    private static IAnsiConsole Create(TextWriter writer, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });

        // A log or a pipe has no width: do not fold lines at 80 columns there.
        if (!interactive)
        {
            console.Profile.Width = 240;
        }

        return console;
    }
}
