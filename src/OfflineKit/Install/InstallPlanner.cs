using OfflineKit.Bundle;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Install;

/// <summary>
/// Turns (inventory, bundle) into an ordered plan of steps per host. Pure: no network, no disk, so the
/// plan is testable and printable as --dry-run. After the supply steps come the guide's bring-up steps:
/// prepare, packages, runtime and images run the bundle's own scripts (scripts/*.sh, readable and
/// runnable by hand); init, network, join, addons and time are not written yet and fail saying so.
/// </summary>
public static class InstallPlanner
{
    public const string JournalFile = "journal";

    public const string PrepareStep = "prepare";
    public const string PackagesStep = "packages";
    public const string RuntimeStep = "runtime";
    public const string ImagesStep = "images";
    public const string InitStep = "init";
    public const string NetworkStep = "network";
    public const string JoinStep = "join";
    public const string AddonsStep = "addons";
    public const string TimeStep = "time";

    public static InstallPlan Plan(Inventory inventory, BundleContents bundle, IHostSupply? supply = null)
    {
        supply ??= new PushedBundle();
        var controlPlane = inventory.ControlPlane.Name;
        var hosts = new List<HostPlan>();
        foreach (var host in inventory.Hosts)
        {
            var directory = supply.BundleDirectory(host, bundle);
            var role = InstallPlan.RoleName(host.Role);
            var steps = new List<HostStep>(supply.Steps(host, bundle));

            // Every host knows every host by name, the guide's /etc/hosts; the hostname is the inventory's name.
            string[] prepare = ["--hostname", host.Name, .. inventory.Hosts.SelectMany(h => new[] { "--host", $"{h.Address}={h.Name}" })];
            steps.Add(Script(bundle, directory, PrepareStep, "firewalld off, SELinux permissive, swap off, overlay/br_netfilter, sysctl, hostname, /etc/hosts", BundleLayout.PrepareHostScript, prepare));
            steps.Add(Script(bundle, directory, PackagesStep, "docker-ce, kubelet, kubeadm, kubectl and their closure from the bundle's rpms/ only", BundleLayout.InstallPackagesScript, ["--role", role]));
            string[] runtime =
            [
                .. inventory.Cluster.RegistryMirrors.SelectMany(m => new[] { "--registry-mirror", m }),
                .. inventory.Cluster.InsecureRegistries.SelectMany(r => new[] { "--insecure-registry", r }),
            ];
            steps.Add(Script(bundle, directory, RuntimeStep, "/etc/docker/daemon.json merged (systemd cgroup driver, registries); docker enabled and started; kubelet enabled", BundleLayout.ConfigureRuntimeScript, runtime));
            steps.Add(Script(bundle, directory, ImagesStep, $"the {role} images into docker", BundleLayout.ImportImagesScript, ["--role", role]));
            if (host.IsControlPlane)
            {
                steps.Add(Placeholder(InitStep, "kubeadm init --config from the inventory's cluster settings", "初始化主节点"));
                steps.Add(Placeholder(NetworkStep, "kubectl create -f manifests/calico.yaml", "安装网络插件"));
                steps.Add(Placeholder(AddonsStep, "kubectl apply -f manifests/metrics-server.yaml", "metrics-server --kubelet-insecure-tls"));
            }
            else
            {
                // A worker joins with the token kubeadm init prints: it waits for that step on the control plane.
                steps.Add(Placeholder(JoinStep, "kubeadm join with the control plane's token", "node节点加入集群") with
                {
                    Needs = [new StepRef(controlPlane, InitStep)],
                });
            }

            steps.Add(Placeholder(TimeStep, "chrony: the control plane serves time, the workers follow it", "七、所有节点配置时间同步"));
            hosts.Add(new HostPlan(host, directory, $"{host.StateDirectory}/{JournalFile}", steps));
        }

        return new InstallPlan(bundle.Name, bundle.Size, hosts);
    }

    /// <summary>A step that runs one of the bundle's scripts as root; a bundle without it (built --without rpms, say) fails the step saying so.</summary>
    private static HostStep Script(BundleContents bundle, string directory, string id, string title, string script, IReadOnlyList<string> arguments)
    {
        if (!bundle.Files.Any(f => f.Path == script))
        {
            return new HostStep(id, title, [new MissingFromBundle(script)], []);
        }

        var command = new RemoteCommand($"bash {Shell.Quote($"{directory}/{script}")}{(arguments.Count == 0 ? string.Empty : " " + Shell.Join(arguments))}", AsRoot: true);
        return new HostStep(id, title, [new RunCommand(command)], []);
    }

    private static HostStep Placeholder(string id, string what, string guide) =>
        new(id, what, [new NotImplementedYet(what, guide)], []);
}
