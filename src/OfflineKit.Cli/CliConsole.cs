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
        // Spectre's consoles are made when first used: commands that print plain lines (rpms
        // resolve, version) never pay for its terminal detection (5-15 ms of a short run).
        _out = new Lazy<IAnsiConsole>(() => Create(output, interactive));
        _error = new Lazy<IAnsiConsole>(() => Create(error, interactive));
    }

    private readonly Lazy<IAnsiConsole> _out;
    private readonly Lazy<IAnsiConsole> _error;

    public static CliConsole System => new(
        global::System.Console.Out,
        global::System.Console.Error,
        interactive: !global::System.Console.IsErrorRedirected);

    public TextWriter OutWriter { get; }

    public TextWriter ErrorWriter { get; }

    public IAnsiConsole Out => _out.Value;

    public IAnsiConsole Error => _error.Value;

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
