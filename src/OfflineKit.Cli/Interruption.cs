using System.Runtime.InteropServices;

namespace OfflineKit.Cli;

/// <summary>
/// SIGINT and SIGTERM turned into cancellation: the first one cancels the running command, which
/// unwinds through its finally blocks (temporary files and staging folders go) and exits 130 or 143
/// with one line. A second signal ends the process at once, for work that does not stop.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;

    public Interruption(CancellationToken outer)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The signal that arrived; null when none did (a caller's token may still cancel).</summary>
    public PosixSignal? Signal => _signal == 0 ? null : (PosixSignal)_signal;

    /// <summary>The shell's convention, 128 + the signal number.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0)
        {
            // The second signal: the default action, the process ends now.
            return;
        }

        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _source.Dispose();
    }
}
