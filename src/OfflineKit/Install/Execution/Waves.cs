namespace OfflineKit.Install;

/// <summary>
/// How a run's hosts are split into waves: wave 0 is every host that is not a worker (the control
/// planes and the depot), which start at once; the workers follow in waves of <c>size</c>, in inventory
/// order. Wave 1 starts with wave 0 (its joins wait for the control plane anyway); each later wave when
/// the one before it is over, unless that one left more than --max-failed hosts failed or blocked.
/// </summary>
public static class Waves
{
    /// <summary>Enough hosts per wave that hundreds go in a handful of waves, few enough that a bad wave is caught early.</summary>
    public const int DefaultSize = 50;

    /// <summary>A wave with any host failed stops the rollout; the rerun resumes it.</summary>
    public const int DefaultMaxFailed = 0;

    public static IReadOnlyList<IReadOnlyList<HostPlan>> Split(IReadOnlyList<HostPlan> hosts, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var first = hosts.Where(h => h.Host.Role != HostRole.Worker).ToList();
        var workers = hosts.Where(h => h.Host.Role == HostRole.Worker).ToList();
        return [first, .. workers.Chunk(size)];
    }
}
