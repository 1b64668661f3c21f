using System.CommandLine;
using OfflineKit.Cli.Commands;

namespace OfflineKit.Cli;

/// <summary>The root command, and the one place where errors become messages and exit codes.</summary>
public static class CliApp
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show details, and the stack trace of an error",
        Recursive = true,
    };

    public static RootCommand CreateRoot(CliConsole console)
    {
        var root = new RootCommand(
            "offlinekit: build an offline bundle for a kubeadm Kubernetes cluster on a connected machine, " +
            "carry it into an air-gapped site, verify it, and install it over SSH.")
        {
            Verbose,
            BuildCommand.Create(console),
            VerifyCommand.Create(console),
            InspectCommand.Create(console),
            ExtractCommand.Create(console),
            TrustCommands.Diff(console),
            TrustCommands.Keygen(console),
            ImagesCommand.Create(console),
            RpmsCommand.Create(console),
            SpecCommand.Create(console),
            InstallCommand.Create(console),
            HostCommands.Status(console),
            HostCommands.Reset(console),
            InventoryCommand.Create(console),
            VersionCommand.Create(console),
        };
        return root;
    }

    // A cold resolve allocates ~35 MB with 10,000 packages, ~90 MB with 30,000; a build reads the same metadata,
    // then streams images through pooled buffers.
    private const long HeapPagesAhead = 128L << 20;

    /// <summary>
    /// Work started on the idle cores while the console and the command line are set up: the built-in
    /// catalogs, which nearly every command reads (the --k8s help names the versions), then the YAML
    /// library's first use for a command that reads YAML; and for a command that fetches, a first
    /// request through the HTTP stack against an in-process canned response (no socket; see
    /// <see cref="OfflineKit.IO.HttpWarmup"/>): ~25 ms less before its first real request (rpms
    /// resolve, measured with OFFLINEKIT_TIMING). Before them, for such a command, huge pages for the
    /// heap it is about to fill with repository metadata (<see cref="OfflineKit.HeapPages"/>).
    /// </summary>
    public static void StartWarmUps(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var fetches = args.Length > 0 && args[0] is "build" or "rpms";
        if (fetches)
        {
            var t = Timing.Start();
            var pages = OfflineKit.HeapPages.Advise(HeapPagesAhead);
            Timing.Mark(pages, t);
            _ = OfflineKit.IO.HttpWarmup.Start();
        }

        // On a thread of its own, not the pool's, whose two threads the HTTP warm-up and the command's
        // first continuations need. Then, for a command that reads YAML (build: the addons' manifests;
        // a mirrors file; a spec file), the YAML library's first use.
        var yaml = args.Length > 0 && (args[0] is "build" || args.Any(a => a.StartsWith("--mirrors", StringComparison.Ordinal) || a.StartsWith("--spec", StringComparison.Ordinal)));
        Task.Factory.StartNew(
            () =>
            {
                var t = Timing.Start();
                _ = (OfflineKit.Images.VersionCatalog.Embedded, OfflineKit.Catalog.ReleaseCatalog.Embedded);
                Timing.Mark("catalogs built", t);
                if (yaml)
                {
                    t = Timing.Start();
                    OfflineKit.Spec.YamlMapReader.WarmUp();
                    Timing.Mark("yaml warmed up", t);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var t = Timing.Start();
        var root = CreateRoot(console);
        Timing.Mark("commands created", t);
        t = Timing.Start();
        var parse = root.Parse(args);
        Timing.Mark("arguments parsed", t);
        if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
        {
            foreach (var error in parse.Errors)
            {
                await console.ErrorWriter.WriteLineAsync($"offlinekit: {error.Message}").ConfigureAwait(false);
            }

            var command = string.Join(' ', parse.CommandResult.Command is RootCommand ? [] : CommandPath(parse.CommandResult.Command));
            await console.ErrorWriter.WriteLineAsync($"Run 'offlinekit {command}{(command.Length > 0 ? " " : string.Empty)}--help' for usage.").ConfigureAwait(false);
            return (int)ExitCode.BadInput;
        }

        var config = new InvocationConfiguration
        {
            Output = console.OutWriter,
            Error = console.ErrorWriter,

            // Errors are ours to print: a user error is one line, a bug shows its trace.
            EnableDefaultExceptionHandler = false,

            // Signals are ours too (Interruption): System.CommandLine's handler returns after a timeout
            // while the command still runs, so its finally blocks (temporary files) would never run.
            ProcessTerminationTimeout = null,
        };

        using var interruption = new Interruption(cancellationToken);
        try
        {
            var code = await parse.InvokeAsync(config, interruption.Token).ConfigureAwait(false);
            return interruption.Signal is null ? code : await InterruptedAsync(console, interruption).ConfigureAwait(false);
        }
        catch (Exception) when (interruption.Token.IsCancellationRequested)
        {
            // Whatever the cancelled work threw on its way out, the cause is the interruption.
            return await InterruptedAsync(console, interruption).ConfigureAwait(false);
        }
        catch (OfflineKitException e)
        {
            await console.ErrorWriter.WriteLineAsync($"offlinekit: {Printable.Escape(e.Message)}").ConfigureAwait(false);
            await VerboseTraceAsync(console, parse, e).ConfigureAwait(false);
            return (int)e.ExitCode;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // The file system said no (permissions, a full disk, a file where a folder belongs): the
            // operation failed for a reason outside offlinekit, not a bug.
            await console.ErrorWriter.WriteLineAsync($"offlinekit: {Printable.Escape(e.Message)}").ConfigureAwait(false);
            await VerboseTraceAsync(console, parse, e).ConfigureAwait(false);
            return (int)ExitCode.Failed;
        }
        catch (Exception e)
        {
            await console.ErrorWriter.WriteLineAsync($"offlinekit: internal error (a bug; please report it): {e}").ConfigureAwait(false);
            return (int)ExitCode.Failed;
        }
    }

    private static async Task VerboseTraceAsync(CliConsole console, ParseResult parse, Exception e)
    {
        if (parse.GetValue(Verbose))
        {
            await console.ErrorWriter.WriteLineAsync(e.ToString()).ConfigureAwait(false);
        }
    }

    private static async Task<int> InterruptedAsync(CliConsole console, Interruption interruption)
    {
        var name = interruption.Signal switch
        {
            System.Runtime.InteropServices.PosixSignal.SIGTERM => "SIGTERM",
            System.Runtime.InteropServices.PosixSignal.SIGINT => "SIGINT (Ctrl-C)",
            _ => "the caller",
        };
        await console.ErrorWriter.WriteLineAsync($"offlinekit: interrupted by {name}; stopped, and removed what was half-written").ConfigureAwait(false);
        return interruption.ExitCode;
    }

    private static Stack<string> CommandPath(Command command)
    {
        var names = new Stack<string>();
        for (Symbol? s = command; s is Command c && c is not RootCommand; s = s.Parents.FirstOrDefault())
        {
            names.Push(c.Name);
        }

        return names;
    }
}
