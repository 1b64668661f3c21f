namespace OfflineKit;

/// <summary>Process exit codes, as DESIGN.md fixes them.</summary>
public enum ExitCode
{
    Success = 0,

    /// <summary>The operation ran and failed: verification failed, a host failed.</summary>
    Failed = 1,

    /// <summary>Bad input: unknown version, malformed spec or inventory, missing file.</summary>
    BadInput = 2,
}

/// <summary>
/// An error the user can act on. The CLI prints its message alone (no stack trace) and exits
/// with <see cref="ExitCode"/>; every other exception is a bug and shows its trace.
/// </summary>
public class OfflineKitException : Exception
{
    public OfflineKitException(ExitCode exitCode, string message, Exception? inner = null)
        : base(message, inner) => ExitCode = exitCode;

    public ExitCode ExitCode { get; }
}

/// <summary>Exit 2: what the user gave is wrong (file, flag, version, YAML).</summary>
public sealed class BadInputException(string message, Exception? inner = null)
    : OfflineKitException(ExitCode.BadInput, message, inner);

/// <summary>Exit 1: the input was fine, the operation ran, and it failed.</summary>
public sealed class OperationFailedException(string message, Exception? inner = null)
    : OfflineKitException(ExitCode.Failed, message, inner);

/// <summary>
/// A part of the contract that a later issue fills in. Exit 2, never a fake success.
/// </summary>
public sealed class NotImplementedYetException(string what, string? hint = null)
    : OfflineKitException(ExitCode.BadInput, $"{what}: not implemented yet{(hint is null ? string.Empty : "; " + hint)}");
