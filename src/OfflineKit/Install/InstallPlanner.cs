namespace OfflineKit.Install;

/// <summary>
/// Turns (inventory, bundle) into an ordered plan of steps per host. Pure: no network, no disk, so the
/// plan is testable and printable as --dry-run. The bring-up after the supply steps follows the guide;
/// its host scripts come with the next issue, and until then each of those steps fails saying so.
/// </summary>
public static class InstallPlanner
{
    public const string JournalFile = "journal";

    public static InstallPlan Plan(Inventory inventory, BundleContents bundle, IHostSupply? supply = null)
    {
        supply ??= new PushedBundle();
        var controlPlane = inventory.ControlPlane.Name;
        var hosts = new List<HostPlan>();
        foreach (var host in inventory.Hosts)
        {
            var steps = new List<HostStep>(supply.Steps(host, bundle));
            steps.Add(Placeholder("prepare-host", "hostname, /etc/hosts, swap off, SELinux permissive, firewalld off, sysctl", "四、1 基础环境; 五、基础配置"));
            steps.Add(Placeholder("container-runtime", "docker-ce from the bundle's rpms/, /etc/docker/daemon.json", "四、2-4 部署docker运行时"));
            steps.Add(Placeholder("kubernetes-packages", "kubelet, kubeadm, kubectl 1.23.0 from rpms/; systemctl enable kubelet", "五、所有节点安装kubelet、kubeadm、kubectl"));
            steps.Add(Placeholder("load-images", $"scripts/import-images.sh --role {InstallPlan.RoleName(host.Role)}", "导入镜像 imp_docker_img.sh"));
            if (host.IsControlPlane)
            {
                steps.Add(Placeholder("kubeadm-init", "kubeadm init --config from the inventory's cluster settings", "初始化主节点"));
                steps.Add(Placeholder("cni", "kubectl create -f manifests/calico.yaml", "安装网络插件"));
                steps.Add(Placeholder("metrics-server", "kubectl apply -f manifests/metrics-server.yaml", "metrics-server --kubelet-insecure-tls"));
            }
            else
            {
                // A worker joins with the token kubeadm init prints: it waits for that step on the control plane.
                steps.Add(Placeholder("kubeadm-join", "kubeadm join with the control plane's token", "node节点加入集群") with
                {
                    Needs = [new StepRef(controlPlane, "kubeadm-init")],
                });
            }

            hosts.Add(new HostPlan(host, supply.BundleDirectory(host, bundle), $"{host.StateDirectory}/{JournalFile}", steps));
        }

        return new InstallPlan(bundle.Name, bundle.Size, hosts);
    }

    private static HostStep Placeholder(string id, string what, string guide) =>
        new(id, what, [new NotImplementedYet(what, guide)], []);
}
