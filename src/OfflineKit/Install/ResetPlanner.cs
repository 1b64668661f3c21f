using OfflineKit.Bundle;
using OfflineKit.Install.Ssh;
using OfflineKit.Scripts;

namespace OfflineKit.Install;

/// <summary>
/// The plan of `offlinekit reset`: on each host, send reset-host.sh (from this binary, so a host whose
/// bundle is gone can still be reset) and run it. Workers leave first; then the control planes in
/// reverse order of their joins, each once the one after it is over (kubeadm reset removes its etcd
/// member while the others keep quorum); the first control plane, which takes the cluster with it, goes last. Pure, like the install planner; reset keeps no journal of
/// its own (it sets the install's journal aside).
/// </summary>
public static class ResetPlanner
{
    public const string ResetStep = "reset";

    public static InstallPlan Plan(Inventory inventory, bool purge)
    {
        var script = System.Text.Encoding.UTF8.GetString(EmbeddedScripts.Read(BundleLayout.ResetHostScript));
        var controlPlanes = HostTopology.From(inventory).ControlPlanes;
        var hosts = inventory.Hosts.Select(host =>
        {
            var path = $"{host.StateDirectory}/{BundleLayout.ResetHostScript}";
            var arguments = new List<string> { "--state-dir", host.StateDirectory, "--user", host.User };
            if (purge)
            {
                arguments.Add("--purge");
            }

            var make = host.IsRoot
                ? new RemoteCommand($"mkdir -p -- {Shell.Quote(host.StateDirectory)}")
                : new RemoteCommand($"install -d -m 0755 -o {Shell.Quote(host.User)} -- {Shell.Quote(host.StateDirectory)}", AsRoot: true);
            var step = new HostStep(
                ResetStep,
                $"kubeadm reset -f; CNI config, kubeconfig, chrony.conf as before; journal set aside{(purge ? "; pushed bundles removed" : string.Empty)}",
                [new RunCommand(make), new WriteFile(path, script, "reset-host.sh from this offlinekit"), new RunCommand(new RemoteCommand($"bash {Shell.Quote(path)} {Shell.Join(arguments)}", AsRoot: true))],
                After(host, controlPlanes, inventory));
            return new HostPlan(host, host.StateDirectory, JournalPath: null, [step]);
        }).ToList();
        return new InstallPlan("the cluster", 0, hosts) { Action = "reset" };
    }

    /// <summary>What a host's reset waits for, done or not: a worker nothing; the last control plane the workers; every other control plane the one after it.</summary>
    private static StepRef[] After(InventoryHost host, IReadOnlyList<InventoryHost> controlPlanes, Inventory inventory)
    {
        var index = controlPlanes.ToList().FindIndex(c => c.Name == host.Name);
        return index < 0 ? []
            : index == controlPlanes.Count - 1 ? [.. inventory.Workers.Select(w => new StepRef(w.Name, ResetStep, AfterOnly: true))]
            : [new StepRef(controlPlanes[index + 1].Name, ResetStep, AfterOnly: true)];
    }
}
