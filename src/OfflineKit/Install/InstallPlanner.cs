using System.Globalization;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Manifests;
using OfflineKit.Install.Ssh;
using OfflineKit.Spec;

namespace OfflineKit.Install;

/// <summary>
/// Turns (inventory, bundle) into an ordered plan of steps per host. Pure: no network, no disk, no
/// clock, no randomness (the bootstrap token is an input), so the plan is testable and printable as
/// --dry-run. After the supply steps come the guide's steps, each one of the bundle's own scripts
/// (scripts/*.sh, readable and runnable by hand):
///   every host      preflight, prepare, packages, runtime, images, …, time
///   control plane   … init, network, addons (after the workers' joins, done or not) …
///   workers         … join (once the control plane is initialised) …
/// </summary>
public static class InstallPlanner
{
    public const string JournalFile = "journal";

    public const string PreflightStep = "preflight";
    public const string PrepareStep = "prepare";
    public const string PackagesStep = "packages";
    public const string RuntimeStep = "runtime";
    public const string ImagesStep = "images";
    public const string InitStep = "init";
    public const string NetworkStep = "network";
    public const string JoinStep = "join";
    public const string AddonsStep = "addons";
    public const string TimeStep = "time";

    /// <summary>How long the addons step waits for every node Ready and metrics to answer.</summary>
    public const int AddonsTimeoutSeconds = 600;

    /// <summary>Addons that are the cluster's pod network: the network step applies them, before the others.</summary>
    private static readonly HashSet<string> NetworkAddons = new(StringComparer.OrdinalIgnoreCase) { "calico", "flannel", "canal", "cilium", "weave-net", "antrea" };

    public static InstallPlan Plan(Inventory inventory, BundleContents bundle, string bootstrapToken, IHostSupply? supply = null)
    {
        supply ??= IHostSupply.For(inventory);
        var runtime = RuntimeProfile.For(bundle);
        var topology = HostTopology.From(inventory);
        var controlPlane = topology.FirstControlPlane;
        var kubeadm = KubeadmFor(inventory, bundle, runtime);
        var site = SiteManifests.Render(bundle, inventory.Cluster);
        var network = site.Where(m => NetworkAddons.Contains(m.Name)).ToList();
        var addons = site.Where(m => !NetworkAddons.Contains(m.Name)).ToList();

        // One text for every host (an inventory of a thousand hosts would otherwise put a thousand names on each host's command line),
        // placed by the supply: written to each host, or fetched from the depot.
        var shared = SharedFiles.For(inventory);
        var hosts = new List<HostPlan>();
        foreach (var host in inventory.Hosts)
        {
            var directory = supply.BundleDirectory(host, bundle);
            var journal = $"{host.StateDirectory}/{JournalFile}";
            var role = InstallPlan.RoleName(host.Role);
            var steps = new List<HostStep>(supply.Steps(host, bundle));
            if (!host.IsNode)
            {
                // A depot and nothing else: it serves the others, it is not a node.
                hosts.Add(new HostPlan(host, directory, journal, steps));
                continue;
            }

            var sourcing = supply.Sourcing(host, bundle, SiteDirectory(host, bundle));
            string Path(string inBundle) => $"{directory}/{inBundle}";
            string Applied(SiteManifest m) => m.Rendered is null ? Path(m.BundlePath) : $"{SiteDirectory(host, bundle)}/{m.BundlePath}";
            IEnumerable<HostAction> Write(IEnumerable<SiteManifest> ms)
            {
                var rendered = ms.Where(m => m.Rendered is not null).ToList();
                return rendered.Count == 0
                    ? []
                    : [new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote($"{SiteDirectory(host, bundle)}/{BundleLayout.ManifestsDir}")}")), .. rendered.Select(m => SiteFile(host, bundle, m))];
            }
            HostStep Run(string id, string title, string script, IReadOnlyList<string> arguments, params HostAction[] before) =>
                Script(bundle, directory, id, title, script, arguments, before);

            string[] preflightArguments =
            [
                "--role", role, "--os", bundle.Os, "--arch", bundle.Arch, "--need-mb", NeededMegabytes(host, bundle).ToString(CultureInfo.InvariantCulture), "--journal", journal,
                .. kubeadm is not null && kubeadm.Options.Version >= KubeadmConfig.FirstFailingCgroupV1 && !inventory.Cluster.AllowCgroupV1 ? new[] { "--require-cgroup-v2" } : [],
                .. LoadBalancerRecipe.PreflightArguments(inventory, host, topology),
            ];
            var preflight = Run(
                PreflightStep,
                $"{bundle.Os.ToUpperInvariant()} on {bundle.Arch}, CPUs and memory, free disk, ports, no other cluster; hosts distinct, clocks agree",
                BundleLayout.PreflightScript,
                preflightArguments);
            if (bundle.Has(BundleLayout.PreflightScript))
            {
                preflight = preflight with { Actions = [new CompareHosts(new RemoteCommand($"bash {Shell.Quote(Path(BundleLayout.PreflightScript))} --facts", AsRoot: true)), .. preflight.Actions] };
            }

            if (LoadBalancerRecipe.PreflightRefusal(inventory, bundle, host) is { } refusal)
            {
                preflight = preflight with { Actions = [refusal, .. preflight.Actions] };
            }

            steps.Add(preflight);

            // Every host knows every host by name, the guide's /etc/hosts; the hostname is the inventory's name.
            var hostsFile = $"{SiteDirectory(host, bundle)}/hosts";
            steps.Add(Run(
                PrepareStep,
                "firewalld off, SELinux permissive, swap off, overlay/br_netfilter, sysctl, hostname, /etc/hosts",
                BundleLayout.PrepareHostScript,
                ["--hostname", host.Name, "--hosts-file", hostsFile],
                [new RunCommand(new RemoteCommand($"mkdir -p -- {Shell.Quote(SiteDirectory(host, bundle))}")), .. supply.Place(host, bundle, shared.Hosts, hostsFile)]));
            steps.Add(Run(PackagesStep, runtime.PackagesTitle, BundleLayout.InstallPackagesScript, ["--role", role, .. OptionalPackages.SkipArguments(inventory, bundle, host), .. sourcing.PackagesArguments]));
            var configure = runtime.Configure(new RuntimeContext(sourcing.Apply(inventory.Cluster), host, bundle, directory, SiteDirectory(host, bundle)));
            steps.Add(Run(RuntimeStep, configure.Title, BundleLayout.ConfigureRuntimeScript, configure.Arguments, [.. configure.Before]));
            steps.Add(Run(ImagesStep, sourcing.ImagesTitle ?? runtime.ImportTitle(role), BundleLayout.ImportImagesScript, ["--role", role, .. runtime.ImportArguments, .. sourcing.ImagesArguments], [.. sourcing.ImagesBefore]));
            steps.AddRange(LoadBalancerRecipe.Steps(inventory, bundle, host, topology, directory));

            switch (topology.KindOf(host))
            {
                case HostKind.FirstControlPlane:
                    steps.Add(Init(inventory, bundle, host, directory, bootstrapToken, kubeadm, Guarantee(bundle, runtime, directory, kubeadm, HostKind.FirstControlPlane, site), uploadCerts: topology.OtherControlPlanes.Count > 0));
                    steps.AddRange(LoadBalancerRecipe.AfterInit(inventory, bundle, host, topology, directory));
                    steps.Add(network.Count == 0
                        ? new HostStep(NetworkStep, "the pod network", [new MissingFromBundle("manifest of a pod network (calico)")], [])
                        : Run(NetworkStep, $"kubectl create -f {string.Join(", ", network.Select(m => m.BundlePath))} (Calico's pool CIDR checked against podSubnet {inventory.Cluster.PodSubnet})", BundleLayout.ApplyManifestsScript,
                            [.. network.SelectMany(m => new[] { "--manifest", Applied(m) }), "--pod-subnet", inventory.Cluster.PodSubnet.ToString()],
                            [.. Write(network)]) with { Site = Records(network) });
                    var wait = new List<string> { "--wait-ready" };
                    if (addons.Any(a => a.Name.Equals("metrics-server", StringComparison.OrdinalIgnoreCase)))
                    {
                        wait.Add("--wait-metrics");
                    }

                    steps.Add(Run(
                        AddonsStep,
                        $"kubectl create -f {(addons.Count == 0 ? "(no addons)" : string.Join(", ", addons.Select(a => a.BundlePath)))}; wait for every node Ready{(wait.Count > 1 ? " and kubectl top node" : string.Empty)}",
                        BundleLayout.ApplyManifestsScript,
                        [
                            .. addons.SelectMany(a => new[] { "--manifest", Applied(a) }),
                            .. wait,
                            .. inventory.Hosts.Where(h => h.IsNode).SelectMany(h => new[] { "--expect-node", h.Name }),
                            "--timeout", AddonsTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                        ],
                        [.. Write(addons)]) with
                    {
                        Needs = [.. topology.Joining.Select(w => new StepRef(w.Name, JoinStep, AfterOnly: true))],
                        Site = Records(addons),
                    });
                    break;
                case HostKind.JoiningControlPlane:
                    steps.Add(LoadBalancerRecipe.Join(bundle, host, directory, topology, kubeadm, Guarantee(bundle, runtime, directory, kubeadm, HostKind.JoiningControlPlane, site)));
                    break;
                default:
                    steps.Add(Join(bundle, host, directory, topology, kubeadm, Guarantee(bundle, runtime, directory, kubeadm, HostKind.Worker, site)));
                    break;
            }

            // The first control plane is the cluster's clock; the other control planes follow it like the workers (etcd needs agreeing clocks).
            var servesTime = host.Name == controlPlane.Name;
            string[] time = servesTime
                ? ["--serve", .. topology.Joining.SelectMany(w => new[] { "--allow", w.Address }), .. inventory.Cluster.NtpServers.SelectMany(s => new[] { "--upstream", s })]
                : ["--server", controlPlane.Address];
            steps.Add(Run(
                TimeStep,
                servesTime ? "chrony: this host serves time to the cluster" : $"chrony: follow {controlPlane.Name}'s clock",
                BundleLayout.ConfigureTimeScript,
                time));
            hosts.Add(new HostPlan(host, directory, journal, steps));
        }

        return new InstallPlan(bundle.Name, bundle.Size, hosts);
    }

    /// <summary>Where the files offlinekit renders for a host from the inventory (site values) go: beside the bundle, never in it.</summary>
    public static string SiteDirectory(InventoryHost host, BundleContents bundle) => $"{host.StateDirectory}/{bundle.Name}.site";

    /// <summary>The kubeadm config's inputs for this bundle, or null when the bundle has no kube-apiserver image to take the repository from.</summary>
    public static KubeadmPlan? KubeadmFor(Inventory inventory, BundleContents bundle, RuntimeProfile runtime)
    {
        var apiServer = bundle.Artifacts
            .Where(a => a.Kind == ArtifactKind.Image)
            .Select(a => ImageReference.TryParse(a.Name, out var r) ? r : null)
            .FirstOrDefault(r => r is not null && r.Repository.EndsWith("/kube-apiserver", StringComparison.Ordinal));
        if (apiServer is null || !KubernetesVersion.TryParse(bundle.KubernetesVersion, out var version))
        {
            return null;
        }

        var imageRepository = $"{apiServer.Registry}/{apiServer.Repository[..apiServer.Repository.LastIndexOf('/')]}";
        var options = new KubeadmOptions(version, imageRepository, runtime.CriSocket) { AllowCgroupV1 = inventory.Cluster.AllowCgroupV1 };

        // kubeadm 1.32 and 1.33 fail SystemVerification on EL8's 4.18 kernel (they want 5.x or a known
        // vendor kernel); only such a host gets it ignored (kubeadm's preflight, kubernetes/kubeadm#3093).
        var kernelWaiver = bundle.Os == "el8" && version >= new KubernetesVersion(1, 32, 0) && version < new KubernetesVersion(1, 34, 0)
            ? options with { IgnorePreflightErrors = ["SystemVerification"] }
            : null;
        return new KubeadmPlan(options, kernelWaiver);
    }

    /// <summary>The kubeadm options for a host, and those for a host with EL8's 4.18 kernel when they differ.</summary>
    public sealed record KubeadmPlan(KubeadmOptions Options, KubeadmOptions? OnKernel418)
    {
        public const string Kernel418 = "4.18.";

        public const string Why = "ignorePreflightErrors: [SystemVerification] (kubeadm 1.32-1.33 reject EL8's 4.18 kernel in SystemVerification)";
    }

    /// <summary>The kubeadm config, written as a secret file (it holds the token), then the bundle's init script.</summary>
    private static HostStep Init(Inventory inventory, BundleContents bundle, InventoryHost host, string directory, string token, KubeadmPlan? kubeadm, HostAction? guarantee, bool uploadCerts)
    {
        const string Title = "kubeadm init --config (from the inventory: a fresh token, advertiseAddress, podSubnet, …); kubeconfig for the login user";
        if (kubeadm is null)
        {
            return new HostStep(InitStep, Title, [new MissingFromBundle("kube-apiserver image (the control-plane images)")], []);
        }

        var config = $"{host.StateDirectory}/{bundle.Name}.kubeadm-init.yaml";
        var content = KubeadmConfig.Render(inventory, kubeadm.Options, token);
        var write = new WriteFile(config, content, GuidesJoin(bundle)
            ? "kubeadm's InitConfiguration and ClusterConfiguration"
            : $"kubeadm's InitConfiguration and ClusterConfiguration ({kubeadm.Options.ApiVersion}), KubeletConfiguration", Secret: true)
        {
            Preview = KubeadmConfig.RedactTokens(content),
            OnKernel = kubeadm.OnKernel418 is { } waiver
                ? new KernelVariant(KubeadmPlan.Kernel418, KubeadmConfig.Render(inventory, waiver, token), KubeadmPlan.Why)
                : null,
        };
        // --upload-certs: the other control planes fetch the certificates from the cluster (see LoadBalancerRecipe.Join).
        string[] arguments = ["--config", config, "--user", host.User, .. uploadCerts ? new[] { "--upload-certs" } : []];
        return Script(bundle, directory, InitStep, uploadCerts ? Title.Replace("kubeadm init --config", "kubeadm init --config --upload-certs", StringComparison.Ordinal) : Title, BundleLayout.InitControlPlaneScript, arguments, [.. Optional(guarantee), write]);
    }

    /// <summary>The guide's docker cluster joins with the command line, as the guide does it by hand; every other bundle with a JoinConfiguration.</summary>
    private static bool GuidesJoin(BundleContents bundle) => RuntimeProfile.For(bundle) == RuntimeProfile.Docker;

    /// <summary>
    /// The join of a worker. The token travels control plane → this process's memory → a file only the
    /// login user reads: the join command line for the guide's docker bundle (as the guide does it by hand), a
    /// JoinConfiguration for every containerd bundle.
    /// </summary>
    private static HostStep Join(BundleContents bundle, InventoryHost host, string directory, HostTopology topology, KubeadmPlan? kubeadm, HostAction? guarantee)
    {
        // After the other control planes' joins, done or not: a failed one does not keep the workers out.
        var controlPlane = topology.FirstControlPlane;
        StepRef[] needs = [new StepRef(controlPlane.Name, InitStep), .. topology.OtherControlPlanes.Select(c => new StepRef(c.Name, JoinStep, AfterOnly: true))];
        if (GuidesJoin(bundle) || kubeadm is null)
        {
            var joinFile = $"{host.StateDirectory}/{bundle.Name}.join";
            return Script(
                bundle,
                directory,
                JoinStep,
                $"kubeadm join {controlPlane.Name} with a token fresh from it",
                BundleLayout.JoinNodeScript,
                ["--join-file", joinFile, "--node-name", host.Name],
                [.. Optional(guarantee), new FetchJoinCommand(controlPlane.Name, joinFile)]) with
            {
                Needs = needs,
            };
        }

        var configFile = $"{host.StateDirectory}/{bundle.Name}.kubeadm-join.yaml";
        var fetch = new FetchJoinCommand(controlPlane.Name, configFile)
        {
            JoinConfiguration = KubeadmConfig.RenderJoin(kubeadm.Options, host.Name),
            OnKernel = kubeadm.OnKernel418 is { } waiver ? new KernelVariant(KubeadmPlan.Kernel418, KubeadmConfig.RenderJoin(waiver, host.Name), KubeadmPlan.Why) : null,
        };
        return Script(
            bundle,
            directory,
            JoinStep,
            $"kubeadm join --config ({kubeadm.Options.ApiVersion} JoinConfiguration with a token fresh from {controlPlane.Name})",
            BundleLayout.JoinNodeScript,
            ["--config", configFile, "--node-name", host.Name],
            [.. Optional(guarantee), fetch]) with
        {
            Needs = needs,
        };
    }

    /// <summary>
    /// The offline guarantee as the first thing the init or join step does, before kubeadm runs: every image
    /// this kind of host needs present in the runtime, and containerd's sandbox image kubeadm's pause image.
    /// </summary>
    internal static HostAction? Guarantee(BundleContents bundle, RuntimeProfile runtime, string directory, KubeadmPlan? kubeadm, HostKind kind, IReadOnlyList<SiteManifest> site)
    {
        if (kubeadm is null)
        {
            return null;
        }

        if (!bundle.Has(BundleLayout.ImportImagesScript))
        {
            return new MissingFromBundle(BundleLayout.ImportImagesScript + " (the offline guarantee checks the images with it)");
        }

        var images = OfflineGuarantee.RequiredImages(bundle, kubeadm.Options, kind, [.. site.Select(m => (m.BundlePath, m.Rendered ?? bundle.ManifestTexts.GetValueOrDefault(m.BundlePath)))]);
        var pause = OfflineGuarantee.PauseImage(images);
        if (pause is null)
        {
            return new MissingFromBundle("pause image in kubeadm's image list (the sandbox image)");
        }

        var check = new RemoteCommand($"bash {Shell.Quote($"{directory}/{BundleLayout.ImportImagesScript}")} {Shell.Join([.. runtime.ImportArguments, "--check", .. images])}", AsRoot: true);
        return new ProveImagesPresent(check, images, pause, runtime.SandboxConfigCommand(directory));
    }

    /// <summary>An addon's manifest rendered for this site, written to the host's site folder; --dry-run shows what the site values changed.</summary>
    private static RenderedAddon[] Records(IEnumerable<SiteManifest> manifests) => [.. manifests.Select(m => m.Record).OfType<RenderedAddon>()];

    private static WriteFile SiteFile(InventoryHost host, BundleContents bundle, SiteManifest m)
    {
        var same = bundle.Files.Any(f => f.Path == m.BundlePath && f.Sha256 == m.Sha256);
        return new WriteFile($"{SiteDirectory(host, bundle)}/{m.BundlePath}", m.Rendered!, $"{m.BundlePath} rendered for this site from {AddonRecipes.UpstreamPath(m.Name)} and {AddonRecipes.File}, sha256 {m.Sha256[..12]}…; {(same ? "the same bytes as the bundle's" : "differs from the bundle's (other site values)")}")
        {
            Preview = string.Join('\n', m.Changes),
        };
    }

    private static IEnumerable<HostAction> Optional(HostAction? action) => action is null ? [] : [action];

    /// <summary>Room under /var/lib for what the host unpacks: its images loaded (about twice the archives) and its packages installed.</summary>
    private static long NeededMegabytes(InventoryHost host, BundleContents bundle)
    {
        var files = PushedBundle.FilesFor(host.Role, bundle);
        var images = files.Where(f => f.Path.StartsWith(BundleLayout.ImagesDir + "/", StringComparison.Ordinal)).Sum(f => f.Size);
        var rpms = files.Where(f => f.Path.StartsWith(BundleLayout.RpmsDir + "/", StringComparison.Ordinal)).Sum(f => f.Size);
        return ((2 * images) + (3 * rpms) + (1 << 20) - 1) >> 20;
    }

    /// <summary>A step that runs one of the bundle's scripts as root; a bundle without it (built --without rpms, say) fails the step saying so.</summary>
    internal static HostStep Script(BundleContents bundle, string directory, string id, string title, string script, IReadOnlyList<string> arguments, params HostAction[] before)
    {
        if (!bundle.Has(script))
        {
            return new HostStep(id, title, [new MissingFromBundle(script)], []);
        }

        var command = new RemoteCommand($"bash {Shell.Quote($"{directory}/{script}")}{(arguments.Count == 0 ? string.Empty : " " + Shell.Join(arguments))}", AsRoot: true);
        return new HostStep(id, title, [.. before, new RunCommand(command)], []);
    }
}
