using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>What the hosts of one run share: the options, the bundle, the facts they are compared on, and the join command, fetched once.</summary>
internal sealed class RunState(InstallPlan plan, LocalBundle? bundle, IRemoteConnector connector, ExecutorOptions options)
{
    private readonly Lock _lock = new();
    private readonly List<HostFacts> _facts = [];
    private readonly Dictionary<string, Lazy<Task<string>>> _joinCommands = new(StringComparer.Ordinal);

    public InstallPlan Plan => plan;

    public ExecutorOptions Options => options;

    public IRemoteConnector Connector => connector;

    private readonly Lazy<Images.RegistryCredentials> _credentials = new(() => Images.RegistryCredentials.Load(options.DockerConfig));

    /// <summary>The operator's docker config, read when a step first needs a registry's credential.</summary>
    public Images.RegistryCredentials Credentials => _credentials.Value;

    /// <summary>Where pushed files are read; a plan that pushes none (reset) has no bundle.</summary>
    public LocalBundle Bundle => bundle ?? throw new InvalidOperationException("a plan that pushes files needs the bundle");

    /// <summary>Records a host's facts and compares them with those of the hosts recorded before it (<see cref="HostComparison"/>).</summary>
    public (string? Failure, IReadOnlyList<string> Warnings) Compare(HostFacts facts)
    {
        lock (_lock)
        {
            var result = HostComparison.Compare(facts, _facts);
            if (result.Failure is null)
            {
                _facts.Add(facts);
            }

            return result;
        }
    }

    /// <summary>The value of <paramref name="fetch"/> for <paramref name="key"/>: fetched by the first host that asks in this run, then shared.</summary>
    public Task<string> OnceAsync(string key, Func<Task<string>> fetch)
    {
        Lazy<Task<string>> lazy;
        lock (_lock)
        {
            if (!_joinCommands.TryGetValue(key, out lazy!))
            {
                lazy = new Lazy<Task<string>>(fetch);
                _joinCommands[key] = lazy;
            }
        }

        return lazy.Value;
    }
}
