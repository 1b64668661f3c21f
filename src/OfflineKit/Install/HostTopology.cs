namespace OfflineKit.Install;

/// <summary>The part a host plays in bringing the cluster up; each kind has its own recipe of steps.</summary>
public enum HostKind
{
    /// <summary>Runs kubeadm init, then the pod network and the addons.</summary>
    FirstControlPlane,

    /// <summary>Joins as another control-plane node, one at a time after the first (high availability; <see cref="LoadBalancerRecipe"/>).</summary>
    JoiningControlPlane,

    /// <summary>Joins as a worker once the first control plane is up.</summary>
    Worker,
}

/// <summary>
/// The cluster's shape, computed from the inventory: the first control plane (the one that runs
/// kubeadm init), the other control planes (in inventory order, joined one at a time) and the workers.
/// The planner asks it who waits for whom; a new shape (HA with a load balancer) is a new recipe for a
/// kind of host, not a change to the planner.
/// </summary>
public sealed record HostTopology(InventoryHost FirstControlPlane, IReadOnlyList<InventoryHost> OtherControlPlanes, IReadOnlyList<InventoryHost> Workers)
{
    public static HostTopology From(Inventory inventory)
    {
        var controlPlanes = inventory.Hosts.Where(h => h.IsControlPlane).ToList();
        if (controlPlanes.Count == 0)
        {
            throw new BadInputException($"{inventory.File}: no host has the control-plane role");
        }

        return new HostTopology(controlPlanes[0], controlPlanes.Skip(1).ToList(), inventory.Hosts.Where(h => h.IsNode && !h.IsControlPlane).ToList());
    }

    public HostKind KindOf(InventoryHost host) =>
        host.Name == FirstControlPlane.Name ? HostKind.FirstControlPlane
        : host.IsControlPlane ? HostKind.JoiningControlPlane
        : HostKind.Worker;

    /// <summary>Every control plane, the first one first.</summary>
    public IReadOnlyList<InventoryHost> ControlPlanes => [FirstControlPlane, .. OtherControlPlanes];

    /// <summary>Every host that joins an existing cluster: the other control planes, then the workers.</summary>
    public IEnumerable<InventoryHost> Joining => OtherControlPlanes.Concat(Workers);
}
