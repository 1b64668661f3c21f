using OfflineKit.Bundle;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>What `offlinekit install` and `status` are asked to do.</summary>
public sealed record InstallRequest
{
    public int Parallel { get; init; } = 10;

    /// <summary>install --wave-size: workers per wave.</summary>
    public int WaveSize { get; init; } = Waves.DefaultSize;

    /// <summary>install --max-failed: a wave leaving more hosts not done stops the next.</summary>
    public int MaxFailed { get; init; } = Waves.DefaultMaxFailed;

    /// <summary>install --supply-only: the bundle onto the hosts (pushed, or served by the depot and fetched) and checked; nothing else.</summary>
    public bool SupplyOnly { get; init; }

    /// <summary>known_hosts to check host keys against (default ~/.ssh/known_hosts).</summary>
    public string? KnownHosts { get; init; }

    public bool AcceptNewHostKeys { get; init; }

    /// <summary>Where run folders go (default .offlinekit/runs under the current folder).</summary>
    public string? RunsRoot { get; init; }

    public SshOptions Ssh { get; init; } = new();

    /// <summary>Where secrets named by environment variables are read (tests pass their own).</summary>
    public Func<string, string?>? Environment { get; init; }

    public IProgress<InstallProgress>? Progress { get; init; }

    /// <summary>The operator's docker config (default $DOCKER_CONFIG/config.json or ~/.docker/config.json): a site registry's credential comes from its entry.</summary>
    public string? DockerConfig { get; init; }

    /// <summary>`install --key PUB.pem`: verify the bundle's signature locally before pushing, and on every host.</summary>
    public string? PublicKey { get; init; }

    internal Func<string, string, CancellationToken, Task>? BeforeStep { get; init; }

    internal IRemoteConnector? Connector { get; init; }

    public HostKeyPolicy HostKeys() => new(KnownHosts ?? HostKeyPolicy.DefaultKnownHosts, AcceptNewHostKeys);
}

public sealed record HostStatus(string Host, HostRole Role, string Target, IReadOnlyList<JournalEntry> Journal, string? Error)
{
    /// <summary>On the control plane once the cluster is up: <c>kubectl get nodes -o wide</c>, as it printed it.</summary>
    public string? Nodes { get; init; }

    /// <summary>On the first of several control planes: <c>etcdctl member list</c>, as it printed it.</summary>
    public string? EtcdMembers { get; init; }

    /// <summary>On a control plane behind keepalived-haproxy or kube-vip: whether it holds the VIP, its API server answers, haproxy listens (kube-vip: its manifest and kubeconfig).</summary>
    public string? LoadBalancer { get; init; }

    /// <summary>The bundle of the last journal line: what was installed last.</summary>
    public string? Bundle => Journal.Count == 0 ? null : Journal[^1].Bundle;

    public IReadOnlySet<string> DoneSteps => Bundle is null ? new HashSet<string>() : Install.Journal.DoneSteps(Journal, Bundle);

    /// <summary>The done steps in the order they were first recorded: the install's order.</summary>
    public IReadOnlyList<string> DoneInOrder => Journal.Where(e => e.Bundle == Bundle).Select(e => e.Step).Distinct().Where(DoneSteps.Contains).ToList();

    /// <summary>The last step that failed or was blocked and has not been done since.</summary>
    public JournalEntry? LastFailure => Journal.LastOrDefault(e => e.Bundle == Bundle && e.Status != JournalEntry.Done && !DoneSteps.Contains(e.Step));
}

/// <summary>The library's entry points for install, --dry-run and status: one call each for the CLI.</summary>
public static class Installer
{
    /// <summary>The plan for a bundle and an inventory; connects to nothing.</summary>
    public static Task<InstallPlan> PlanAsync(string bundlePath, string inventoryPath, CancellationToken cancellationToken = default) =>
        PlanAsync(bundlePath, inventoryPath, publicKey: null, cancellationToken);

    /// <summary>The plan; with <paramref name="publicKey"/> (install --key) each host checks the bundle's signature first.</summary>
    public static Task<InstallPlan> PlanAsync(string bundlePath, string inventoryPath, string? publicKey, CancellationToken cancellationToken = default) =>
        PlanAsync(bundlePath, inventoryPath, publicKey, supplyOnly: false, cancellationToken);

    /// <summary>The plan; <paramref name="supplyOnly"/> keeps each host's supply steps alone (install --supply-only).</summary>
    public static async Task<InstallPlan> PlanAsync(string bundlePath, string inventoryPath, string? publicKey, bool supplyOnly, CancellationToken cancellationToken = default)
    {
        var inventory = InventoryLoader.LoadFile(inventoryPath);
        var bundle = await LocalBundle.OpenAsync(bundlePath, cancellationToken).ConfigureAwait(false);
        var contents = await SignedContentsAsync(bundle, publicKey, cancellationToken).ConfigureAwait(false);
        var plan = InstallPlanner.Plan(inventory, contents, KubeadmConfig.NewBootstrapToken());
        return supplyOnly ? SupplyOnly(plan, inventory, contents) : plan;
    }

    /// <summary>
    /// Each host's supply steps alone (push or fetch, verify, the depot's serve): the bundle staged on the site
    /// before a maintenance window; a later install finds it there and goes on. The planner puts them first.
    /// </summary>
    public static InstallPlan SupplyOnly(InstallPlan plan, Inventory inventory, BundleContents bundle)
    {
        var supply = IHostSupply.For(inventory);
        return plan with { Hosts = [.. plan.Hosts.Select(h => h with { Steps = [.. h.Steps.Take(supply.Steps(h.Host, bundle).Count)] })] };
    }

    public static async Task<InstallReport> InstallAsync(string bundlePath, string inventoryPath, InstallRequest request, CancellationToken cancellationToken = default)
    {
        var inventory = InventoryLoader.LoadFile(inventoryPath);
        if (request.PublicKey is { } keyPath)
        {
            // The whole bundle, signature first, before the first byte goes to any host.
            using var key = Trust.BundleSignature.LoadPublicKey(keyPath);
            var report = await BundleVerifier.VerifyAsync(bundlePath, key, progress: null, cancellationToken).ConfigureAwait(false);
            if (!report.Ok)
            {
                var first = report.Problems[0];
                throw new OperationFailedException(
                    $"{bundlePath}: does not verify with --key {keyPath} ({first.Path}: {first.Detail}{(report.Problems.Count > 1 ? $"; and {report.Problems.Count - 1} more" : string.Empty)}); nothing was pushed. `offlinekit verify {bundlePath} --key {keyPath}` lists every problem");
            }
        }

        var bundle = await LocalBundle.OpenAsync(bundlePath, cancellationToken).ConfigureAwait(false);
        var contents = await SignedContentsAsync(bundle, request.PublicKey, cancellationToken).ConfigureAwait(false);
        var plan = InstallPlanner.Plan(inventory, contents, KubeadmConfig.NewBootstrapToken());
        return await RunAsync(request.SupplyOnly ? SupplyOnly(plan, inventory, contents) : plan, bundle, inventory, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Under --key, the bundle's contents with its signature and the key, so each host checks them too.</summary>
    private static async Task<BundleContents> SignedContentsAsync(LocalBundle bundle, string? publicKey, CancellationToken cancellationToken)
    {
        if (publicKey is null)
        {
            return bundle.Contents;
        }

        using var key = Trust.BundleSignature.LoadPublicKey(publicKey);
        byte[] signature;
        try
        {
            await using var stream = bundle.OpenRead(BundleLayout.SignatureFile);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            signature = buffer.ToArray();
        }
        catch (Exception e) when (e is FileNotFoundException or KeyNotFoundException)
        {
            throw new OperationFailedException($"{bundle.Path}: the bundle is not signed (no {BundleLayout.SignatureFile}), and --key asks for a signature", e);
        }

        return bundle.Contents with
        {
            Signature = new BundleFileEntry(BundleLayout.SignatureFile, signature.LongLength, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(signature))),
            PublicKeyPem = Trust.BundleSignature.PublicKeyPem(key),
        };
    }

    /// <summary>The plan of `reset`; connects to nothing.</summary>
    public static InstallPlan PlanReset(string inventoryPath, bool purge) => ResetPlanner.Plan(InventoryLoader.LoadFile(inventoryPath), purge);

    /// <summary>kubeadm reset and the rest of what install added, on every host: workers first, then the control plane.</summary>
    public static async Task<InstallReport> ResetAsync(string inventoryPath, bool purge, InstallRequest request, CancellationToken cancellationToken = default)
    {
        var inventory = InventoryLoader.LoadFile(inventoryPath);
        return await RunAsync(ResetPlanner.Plan(inventory, purge), bundle: null, inventory, request, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<InstallReport> RunAsync(InstallPlan plan, LocalBundle? bundle, Inventory inventory, InstallRequest request, CancellationToken cancellationToken)
    {
        var connector = request.Connector ?? Connector(inventory, request);
        var runDirectory = InstallExecutor.NewRunDirectory(request.RunsRoot ?? Path.Combine(".offlinekit", "runs"), DateTimeOffset.UtcNow);
        return await InstallExecutor.RunAsync(
            plan,
            bundle,
            connector,
            new ExecutorOptions { Parallel = request.Parallel, WaveSize = request.WaveSize, MaxFailed = request.MaxFailed, RunDirectory = Path.GetFullPath(runDirectory), Progress = request.Progress, BeforeStep = request.BeforeStep, DockerConfig = request.DockerConfig ?? Images.RegistryCredentials.DefaultPath() },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Each host's journal, read over SSH; a host that cannot be reached says why.</summary>
    public static async Task<IReadOnlyList<HostStatus>> StatusAsync(string inventoryPath, InstallRequest request, CancellationToken cancellationToken = default)
    {
        var inventory = InventoryLoader.LoadFile(inventoryPath);
        var connector = request.Connector ?? Connector(inventory, request);
        using var turns = new SemaphoreSlim(request.Parallel, request.Parallel);
        var tasks = inventory.Hosts.Select(async host =>
        {
            await turns.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using var remote = await connector.ConnectAsync(host, cancellationToken).ConfigureAwait(false);
                var result = await remote.RunAsync(Journal.ReadCommand($"{host.StateDirectory}/{InstallPlanner.JournalFile}"), cancellationToken).ConfigureAwait(false);
                var status = new HostStatus(host.Name, host.Role, host.Target, Journal.Parse(result.Stdout), null);
                if (host.IsControlPlane && status.DoneSteps.Contains(InstallPlanner.InitStep))
                {
                    // The bundle's own script knows where the admin kubeconfig is; its answer is shown as kubectl gave it.
                    var script = $"{host.StateDirectory}/{status.Bundle}/{BundleLayout.ApplyManifestsScript}";
                    var nodes = await remote.RunAsync(new RemoteCommand($"bash {Shell.Quote(script)} --show-nodes", AsRoot: true), cancellationToken).ConfigureAwait(false);
                    status = status with { Nodes = nodes.Ok ? nodes.Stdout.TrimEnd() : $"kubectl get nodes failed: {nodes.Stderr.Trim()}" };
                    if (LoadBalancerRecipe.EtcdMembersCommand(inventory, host, $"{host.StateDirectory}/{status.Bundle}") is { } etcd)
                    {
                        var members = await remote.RunAsync(etcd, cancellationToken).ConfigureAwait(false);
                        status = status with { EtcdMembers = members.Ok ? members.Stdout.TrimEnd() : $"etcdctl member list failed: {members.Stderr.Trim()}" };
                    }
                }

                if (status.DoneSteps.Contains(LoadBalancerRecipe.LoadBalancerStep) && LoadBalancerRecipe.StatusCommand(inventory, host, $"{host.StateDirectory}/{status.Bundle}") is { } lb)
                {
                    var answer = await remote.RunAsync(lb, cancellationToken).ConfigureAwait(false);
                    status = status with { LoadBalancer = answer.Ok ? answer.Stdout.Trim() : $"load balancer status failed: {answer.Stderr.Trim()}" };
                }

                return status;
            }
            catch (OperationFailedException e)
            {
                return new HostStatus(host.Name, host.Role, host.Target, [], e.Message);
            }
            finally
            {
                turns.Release();
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Checks every secret and key before the first connection, so a missing one is bad input (exit 2), not a failed host.</summary>
    private static SshConnector Connector(Inventory inventory, InstallRequest request)
    {
        foreach (var host in inventory.Hosts)
        {
            Credentials.Load(host, request.Environment).Dispose();
        }

        return new SshConnector(request.HostKeys(), request.Ssh, request.Environment);
    }
}
