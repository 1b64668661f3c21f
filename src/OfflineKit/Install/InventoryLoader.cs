using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using OfflineKit.Spec;

namespace OfflineKit.Install;

/// <summary>
/// Loads an inventory with <c>file:line: message</c> errors: unknown keys, duplicate names or
/// addresses, no control-plane host, unknown roles, unreadable key files, bad subnets.
/// </summary>
public static partial class InventoryLoader
{
    public const string DefaultStateDirectory = "/var/lib/offlinekit";

    private const string EmbeddedExample = "OfflineKit.Install.inventory.example.yaml";

    private const string EmbeddedHaExample = "OfflineKit.Install.inventory.ha.example.yaml";

    /// <summary>The commented example `offlinekit inventory init` prints: the guide's three hosts; with <paramref name="ha"/> three control planes behind a VIP and two workers.</summary>
    public static string ExampleText(bool ha = false)
    {
        var name = ha ? EmbeddedHaExample : EmbeddedExample;
        using var stream = typeof(InventoryLoader).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static Inventory LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: inventory file not found (`offlinekit inventory init > {Path.GetFileName(path)}` writes an example)");
        }

        var text = IO.InputFile.ReadAllText(path, IO.InputFile.YamlCap, "inventory");
        return Parse(text, path, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Parses an inventory; relative key paths are taken from <paramref name="baseDirectory"/>.</summary>
    public static Inventory Parse(string text, string file, string baseDirectory)
    {
        var root = YamlMapReader.Load(text, file, "inventory");
        var apiVersion = root.RequiredString("apiVersion");
        if (apiVersion != "offlinekit/v1")
        {
            throw root.ErrorAt("apiVersion", $"apiVersion '{apiVersion}' is not supported (expected offlinekit/v1)");
        }

        var kind = root.RequiredString("kind");
        if (kind != "Inventory")
        {
            throw root.ErrorAt("kind", $"kind '{kind}' is not an inventory (expected Inventory)");
        }

        var context = new Context(file, baseDirectory);
        var defaults = root.OptionalMap("defaults") is { } d ? ReadAccess(d, context, null) : Access.Empty;
        var hostMaps = root.MapList("hosts", required: true);
        if (hostMaps.Count == 0)
        {
            throw root.ErrorAt("hosts", "hosts must list at least one host");
        }

        var hosts = hostMaps.Select(h => ReadHost(h, context, defaults)).ToList();
        CheckDistinct(hosts, file);
        var controlPlanes = CheckControlPlanes(root, hosts, file);
        var cluster = WithLoadBalancer(root, root.OptionalMap("cluster"), context, controlPlanes, hosts);

        root.EnsureNoUnknownKeys();

        CheckSubnets(hosts, cluster, file);
        CheckDepot(hosts, cluster, file);
        var controlPlane = controlPlanes[0];
        if (cluster.AdvertiseAddress is null && IPAddress.TryParse(controlPlane.Address, out _))
        {
            // kubeadm would otherwise pick the default route's interface, which may not face the workers.
            cluster = cluster with { AdvertiseAddress = controlPlane.Address };
        }

        return new Inventory(file, hosts, cluster);
    }

    private sealed record Context(string File, string BaseDirectory);

    /// <summary>What defaults and hosts share; null fields are "not given here".</summary>
    private sealed record Access(int? Port, string? User, HostAuth? Auth, SudoSettings? Sudo, string? StateDirectory)
    {
        public static readonly Access Empty = new(null, null, null, null, null);
    }

    private static Access ReadAccess(YamlMapReader map, Context context, YamlMapReader? hostForKeys)
    {
        var port = map.OptionalInt("port", 1, 65535);
        var user = map.OptionalString("user");
        if (user is not null && !UserName().IsMatch(user))
        {
            throw map.ErrorAt("user", $"{map.Field("user")} '{user}' is not a valid user name");
        }

        var auth = map.OptionalMap("auth") is { } a ? ReadAuth(a, context) : null;
        var sudo = map.OptionalMap("sudo") is { } s ? ReadSudo(s, context) : null;
        var stateDir = map.OptionalString("stateDir");
        if (stateDir is not null && !IsStateDirectory(stateDir))
        {
            throw map.ErrorAt("stateDir", $"{map.Field("stateDir")} '{stateDir}' must be an absolute path, normalised (no '.', '..' or '//') and not '/', of letters, digits and ._+@- such as /var/lib/offlinekit");
        }

        if (hostForKeys is null)
        {
            map.EnsureNoUnknownKeys();
        }

        return new Access(port, user, auth, sudo, stateDir is null ? null : stateDir.EndsWith('/') ? stateDir[..^1] : stateDir);
    }

    private static HostAuth ReadAuth(YamlMapReader map, Context context)
    {
        var keyText = map.OptionalString("privateKey");
        var passphrase = ReadSecret(map, "passphrase", context);
        var password = ReadSecret(map, "password", context);
        map.EnsureNoUnknownKeys();

        if (keyText is not null && password is not null)
        {
            throw map.ErrorHere($"{map.What}: give privateKey or password, not both");
        }

        if (keyText is null && password is null)
        {
            throw map.ErrorHere($"{map.What}: give privateKey (with passphrase or passphraseEnv if it is encrypted) or password / passwordEnv");
        }

        if (keyText is null)
        {
            if (passphrase is not null)
            {
                throw map.ErrorAt(passphrase.EnvironmentVariable is null ? "passphrase" : "passphraseEnv", $"{map.What}: a passphrase goes with a privateKey");
            }

            return new HostAuth(null, null, password);
        }

        var keyPath = ResolvePath(keyText, context.BaseDirectory);
        CheckPrivateKey(map, keyPath);
        return new HostAuth(keyPath, passphrase, null);
    }

    private static SudoSettings ReadSudo(YamlMapReader map, Context context)
    {
        var password = ReadSecret(map, "password", context);
        map.EnsureNoUnknownKeys();
        return password is null ? SudoSettings.NoPassword : new SudoSettings(SudoMode.Password, password);
    }

    /// <summary>KEY (the secret in the file) or KEYEnv (the name of an environment variable holding it).</summary>
    private static Secret? ReadSecret(YamlMapReader map, string key, Context context)
    {
        var inline = map.OptionalString(key);
        var env = map.OptionalString(key + "Env");
        if (inline is not null && env is not null)
        {
            throw map.ErrorAt(key + "Env", $"{map.What}: give {key} or {key}Env, not both");
        }

        if (env is not null)
        {
            if (!EnvironmentName().IsMatch(env))
            {
                throw map.ErrorAt(key + "Env", $"{map.Field(key + "Env")} '{env}' is not an environment variable name (e.g. K8S_SSH_PASSWORD)");
            }

            return Secret.FromEnvironment(env, $"{context.File}:{map.LineOf(key + "Env")}: {map.Field(key + "Env")}");
        }

        return inline is null ? null : Secret.Inline(inline, $"{context.File}:{map.LineOf(key)}: {map.Field(key)}");
    }

    private static InventoryHost ReadHost(YamlMapReader map, Context context, Access defaults)
    {
        var name = map.RequiredString("name");
        if (!HostName().IsMatch(name) || name.Length > 63)
        {
            throw map.ErrorAt("name", $"{map.Field("name")} '{name}' is not a valid node name (lowercase letters, digits and '-', as in k8s-node01)");
        }

        var address = map.RequiredString("address");
        if (!IsAddress(address))
        {
            throw map.ErrorAt("address", $"{map.Field("address")} '{address}' is not an IP address or a DNS name");
        }

        var roles = new List<HostRole>();
        foreach (var role in map.StringList("roles", required: true))
        {
            var parsed = role switch
            {
                "control-plane" => HostRole.ControlPlane,
                "worker" => HostRole.Worker,
                "depot" => HostRole.Depot,
                "master" => throw map.ErrorAt("roles", $"{map.Field("roles")}: unknown role 'master' (kubeadm calls it control-plane)"),
                _ => throw map.ErrorAt("roles", $"{map.Field("roles")}: unknown role '{role}' (expected control-plane, worker or depot)"),
            };
            if (roles.Contains(parsed))
            {
                throw map.ErrorAt("roles", $"{map.Field("roles")}: '{role}' is listed twice");
            }

            roles.Add(parsed);
        }

        var own = ReadAccess(map, context, map);
        map.EnsureNoUnknownKeys();

        var user = own.User ?? defaults.User ?? "root";
        var auth = own.Auth ?? defaults.Auth
            ?? throw map.ErrorHere($"{map.What} ({name}): no auth (give auth here or under defaults: privateKey or passwordEnv)");
        var sudo = user == "root" ? SudoSettings.None : own.Sudo ?? defaults.Sudo ?? SudoSettings.NoPassword;
        return new InventoryHost(
            name,
            address,
            own.Port ?? defaults.Port ?? 22,
            user,
            auth,
            sudo,
            roles,
            own.StateDirectory ?? defaults.StateDirectory ?? DefaultStateDirectory,
            map.Line);
    }

    /// <summary>cluster: as read, with its load balancer and, when there is one, its endpoint (with the port filled in).</summary>
    private static ClusterSettings WithLoadBalancer(YamlMapReader root, YamlMapReader? map, Context context, List<InventoryHost> controlPlanes, List<InventoryHost> hosts)
    {
        var cluster = ReadCluster(map, context, settings => ReadLoadBalancer(root, map, settings, controlPlanes, hosts));
        return cluster.LoadBalancer is { } balancer ? cluster with { ControlPlaneEndpoint = balancer.Endpoint } : cluster;
    }

    private static ClusterSettings ReadCluster(YamlMapReader? map, Context context, Func<ClusterSettings, LoadBalancer?> loadBalancer)
    {
        if (map is null)
        {
            var defaults = new ClusterSettings(IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.96.0.0/12"), "cluster.local", null, null, [], [], []);
            return defaults with { LoadBalancer = loadBalancer(defaults) };
        }

        var pod = ReadSubnet(map, "podSubnet", "10.244.0.0/16");
        var service = ReadSubnet(map, "serviceSubnet", "10.96.0.0/12");
        if (Overlaps(pod, service))
        {
            throw map.ErrorAt("serviceSubnet", $"cluster.serviceSubnet {service} overlaps cluster.podSubnet {pod}; pods and services need separate ranges");
        }

        var dnsDomain = map.OptionalString("dnsDomain") ?? "cluster.local";
        if (!HostName().IsMatch(dnsDomain))
        {
            throw map.ErrorAt("dnsDomain", $"cluster.dnsDomain '{dnsDomain}' is not a DNS domain (e.g. cluster.local)");
        }

        var endpoint = map.OptionalString("controlPlaneEndpoint");
        if (endpoint is not null && !IsEndpoint(endpoint))
        {
            throw map.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint '{endpoint}' must be HOST or HOST:PORT (e.g. 192.168.10.101:6443)");
        }

        var advertise = map.OptionalString("advertiseAddress");
        if (advertise is not null && !IPAddress.TryParse(advertise, out _))
        {
            throw map.ErrorAt("advertiseAddress", $"cluster.advertiseAddress '{advertise}' must be an IP address of the control-plane host");
        }

        IReadOnlyList<string> mirrors = [];
        IReadOnlyList<string> insecure = [];
        if (map.OptionalMap("docker") is { } docker)
        {
            mirrors = docker.StringList("registryMirrors");
            for (var i = 0; i < mirrors.Count; i++)
            {
                if (Spec.PlainUrl.TryParse(mirrors[i]) is null)
                {
                    throw docker.ErrorAt("registryMirrors", $"cluster.docker.registryMirrors[{i}] '{mirrors[i]}' is not an http:// or https:// URL");
                }
            }

            insecure = docker.StringList("insecureRegistries");
            foreach (var registry in insecure)
            {
                if (!IsEndpoint(registry))
                {
                    throw docker.ErrorAt("insecureRegistries", $"cluster.docker.insecureRegistries: '{registry}' must be HOST or HOST:PORT (no scheme)");
                }
            }

            docker.EnsureNoUnknownKeys();
        }

        IReadOnlyList<string> ntp = [];
        if (map.OptionalMap("ntp") is { } ntpMap)
        {
            ntp = ntpMap.StringList("servers");
            foreach (var server in ntp)
            {
                if (!IsAddress(server))
                {
                    throw ntpMap.ErrorAt("servers", $"cluster.ntp.servers: '{server}' is not an IP address or a DNS name");
                }
            }

            ntpMap.EnsureNoUnknownKeys();
        }

        var fromDocker = mirrors.Count > 0 || insecure.Count > 0;
        var registries = ReadRegistries(map, context);
        if (registries.Count > 0 && fromDocker)
        {
            throw map.ErrorAt("registries", "cluster.registries and cluster.docker both name registries; keep one (cluster.registries says the same for docker and containerd)");
        }

        if (fromDocker)
        {
            // cluster.docker in cluster.registries' terms: docker's mirrors are Docker Hub's, its insecure registries plain HTTP.
            registries = [.. mirrors.Count > 0 ? new[] { new RegistrySettings("docker.io", mirrors) } : [], .. insecure.Select(r => new RegistrySettings(r, [], Insecure: true))];
        }
        else
        {
            // cluster.registries in docker's terms: daemon.json's mirrors are Docker Hub's only.
            mirrors = [.. registries.Where(r => r.Host == "docker.io").SelectMany(r => r.Mirrors)];
            insecure = [.. registries.Where(r => r.Insecure).Select(r => r.Host)];
        }

        var allowCgroupV1 = map.OptionalBool("allowCgroupV1") ?? false;
        var sources = map.OptionalString("sources") switch
        {
            null or "pushed" => HostSources.Pushed,
            "site" => HostSources.Site,
            var other => throw map.ErrorAt("sources", $"cluster.sources '{other}' is not known (pushed: the bundle to every host, the default; site: pushed once to a depot that serves the others)"),
        };
        var site = map.OptionalMap("site") is { } siteMap ? ReadSite(siteMap, context) : new SiteSettings();
        if (sources != HostSources.Site && map.OptionalMap("site") is not null)
        {
            throw map.ErrorAt("site", "cluster.site is for cluster.sources: site; add that or remove cluster.site");
        }

        var settings = new ClusterSettings(pod, service, dnsDomain, endpoint, advertise, mirrors, insecure, ntp) { Registries = registries, AllowCgroupV1 = allowCgroupV1, Sources = sources, Site = site };
        settings = settings with { LoadBalancer = loadBalancer(settings) };
        map.EnsureNoUnknownKeys();
        return settings;
    }

    /// <summary>cluster.site: the depot's ports, or the site's own registry (HOST:PORT[/PATH], its CA, plain HTTP only when insecure).</summary>
    private static SiteSettings ReadSite(YamlMapReader map, Context context)
    {
        var http = map.OptionalInt("httpPort", 1, 65535) ?? SiteSettings.DefaultHttpPort;
        var registryPort = map.OptionalInt("registryPort", 1, 65535) ?? SiteSettings.DefaultRegistryPort;
        if (http == registryPort)
        {
            throw map.ErrorAt("registryPort", $"cluster.site.registryPort {registryPort} is also the httpPort; the depot serves nginx and its registry on two ports");
        }

        var registry = map.OptionalString("registry");
        if (registry is not null)
        {
            try
            {
                Images.PushTarget.Parse(registry);
            }
            catch (BadInputException e)
            {
                throw map.ErrorAt("registry", $"cluster.site.registry: {e.Message.Replace("--registry ", string.Empty, StringComparison.Ordinal)}");
            }
        }

        string? caFile = null;
        string? ca = null;
        if (map.OptionalString("caFile") is { } caText)
        {
            caFile = ResolvePath(caText, context.BaseDirectory);
            ca = File.Exists(caFile) ? File.ReadAllText(caFile) : throw map.ErrorAt("caFile", $"cluster.site.caFile: {caFile} not found");
            if (!ca.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                throw map.ErrorAt("caFile", $"cluster.site.caFile: {caFile} is not a PEM certificate");
            }
        }

        var insecure = map.OptionalBool("insecure") ?? false;
        if (registry is null && (caFile is not null || insecure))
        {
            throw map.ErrorAt(caFile is not null ? "caFile" : "insecure", "cluster.site.caFile and insecure describe the site's registry: give cluster.site.registry too (the depot's own registry is plain HTTP on registryPort)");
        }

        map.EnsureNoUnknownKeys();
        return new SiteSettings { HttpPort = http, RegistryPort = registryPort, Registry = registry, CaFile = caFile, CaCertificate = ca, Insecure = insecure };
    }

    /// <summary>
    /// cluster.registries: per registry (as images name it) its mirrors, a CA file, skipVerify and insecure
    /// (plain HTTP), for docker's daemon.json and containerd's hosts.toml alike.
    /// </summary>
    private static IReadOnlyList<RegistrySettings> ReadRegistries(YamlMapReader map, Context context)
    {
        var list = new List<RegistrySettings>();
        foreach (var entry in map.MapList("registries"))
        {
            var host = entry.RequiredString("host");
            if (!IsEndpoint(host))
            {
                throw entry.ErrorAt("host", $"cluster.registries: host '{host}' must be HOST or HOST:PORT as images name it (docker.io, registry.aliyuncs.com, harbor.site:8443)");
            }

            if (list.Any(r => r.Host == host))
            {
                throw entry.ErrorAt("host", $"cluster.registries names {host} twice");
            }

            var mirrors = entry.StringList("mirrors");
            foreach (var mirror in mirrors)
            {
                if (!Uri.TryCreate(mirror, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw entry.ErrorAt("mirrors", $"cluster.registries ({host}): mirror '{mirror}' is not an http:// or https:// URL");
                }
            }

            string? caFile = null;
            string? ca = null;
            if (entry.OptionalString("caFile") is { } caText)
            {
                caFile = ResolvePath(caText, context.BaseDirectory);
                if (!File.Exists(caFile))
                {
                    throw entry.ErrorAt("caFile", $"cluster.registries ({host}): CA file {caFile} not found");
                }

                ca = File.ReadAllText(caFile);
                if (!ca.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
                {
                    throw entry.ErrorAt("caFile", $"cluster.registries ({host}): {caFile} is not a PEM certificate");
                }
            }

            list.Add(new RegistrySettings(host, mirrors, entry.OptionalBool("insecure") ?? false, entry.OptionalBool("skipVerify") ?? false) { CaFile = caFile, CaCertificate = ca });
            entry.EnsureNoUnknownKeys();
        }

        return list;
    }

    private static IPNetwork ReadSubnet(YamlMapReader map, string key, string fallback)
    {
        var text = map.OptionalString(key) ?? fallback;
        // IPNetwork quietly masks 10.244.0.1/16 to 10.244.0.0/16; kubeadm would refuse it, so do we.
        if (!IPNetwork.TryParse(text, out var network) || !IPAddress.TryParse(text.Split('/')[0], out var given) || !given.Equals(network.BaseAddress))
        {
            throw map.ErrorAt(key, $"cluster.{key} '{text}' is not a CIDR subnet such as {fallback} (the address must have no bits set past the prefix)");
        }

        return network;
    }

    /// <summary>
    /// The control planes: at least one, and an odd number. The guide (etcd): leader election and every write need
    /// more than half the members, so an even count survives no more failures than one fewer and can split in half.
    /// </summary>
    private static List<InventoryHost> CheckControlPlanes(YamlMapReader root, List<InventoryHost> hosts, string file)
    {
        var controlPlanes = hosts.Where(h => h.IsControlPlane).ToList();
        if (controlPlanes.Count == 0)
        {
            throw root.ErrorAt("hosts", "no host has the control-plane role; give one host roles: [control-plane]");
        }

        if (controlPlanes.Count % 2 == 0)
        {
            var last = controlPlanes[^1];
            throw new BadInputException(
                $"{file}:{last.Line}: {last.Name} makes {controlPlanes.Count} control-plane hosts; give an odd number (1, 3 or 5). Every control plane runs an etcd member, and etcd's leader election and every write need more than half the members (the guide: 半数以上): "
                + $"{controlPlanes.Count} members tolerate no more failures than {controlPlanes.Count - 1}, and a network split in half leaves neither side a majority (split brain, 脑裂)");
        }

        return controlPlanes;
    }

    /// <summary>
    /// cluster.loadBalancer and the endpoint it serves. More than one control plane needs cluster.controlPlaneEndpoint and a
    /// load balancer (keepalived-haproxy unless told otherwise); keepalived's or kube-vip's VIP must be an address of cluster.vipSubnet, the
    /// subnet every control plane is on, and no host's own address (preflight checks that nothing else answers on it); kube-vip's
    /// endpoint port is kube-apiserver's 6443 (no haproxy in between).
    /// </summary>
    private static LoadBalancer? ReadLoadBalancer(YamlMapReader root, YamlMapReader? map, ClusterSettings cluster, List<InventoryHost> controlPlanes, List<InventoryHost> hosts)
    {
        var kindText = map?.OptionalString("loadBalancer");
        var subnetText = map?.OptionalString("vipSubnet");
        LoadBalancerKind? kind = null;
        if (kindText is not null)
        {
            kind = LoadBalancer.Parse(kindText)
                ?? throw map!.ErrorAt("loadBalancer", $"cluster.loadBalancer '{kindText}' is not one of {string.Join(", ", LoadBalancer.Names)}");
        }

        if (kind is null && controlPlanes.Count == 1)
        {
            if (subnetText is not null)
            {
                throw map!.ErrorAt("vipSubnet", "cluster.vipSubnet goes with cluster.loadBalancer: keepalived-haproxy or kube-vip");
            }

            return null;
        }

        kind ??= LoadBalancerKind.KeepalivedHaproxy;
        var endpoint = cluster.ControlPlaneEndpoint;
        if (endpoint is null)
        {
            var why = controlPlanes.Count > 1 ? $"{controlPlanes.Count} control planes need" : $"cluster.loadBalancer {kindText} needs";
            throw map is null
                ? root.ErrorAt("hosts", $"{why} cluster.controlPlaneEndpoint, the VIP (or DNS name) and port every node reaches the API servers at; add a cluster: section with it")
                : map.ErrorHere($"{why} cluster.controlPlaneEndpoint, the VIP (or DNS name) and port every node reaches the API servers at, e.g. 192.168.10.100:{LoadBalancer.DefaultHaproxyPort}");
        }

        var (host, port) = SplitEndpoint(endpoint);
        if (kind == LoadBalancerKind.External)
        {
            if (subnetText is not null)
            {
                throw map!.ErrorAt("vipSubnet", "cluster.vipSubnet goes with cluster.loadBalancer: keepalived-haproxy (an external load balancer's address is the site's business)");
            }

            return new LoadBalancer(LoadBalancerKind.External, host, port ?? LoadBalancer.ApiServerPort);
        }

        // keepalived and kube-vip both move a VIP between the control planes by ARP: one subnet, an unused address.
        var (kindName, mover) = kind == LoadBalancerKind.KubeVip ? (LoadBalancer.KubeVipName, "kube-vip") : (LoadBalancer.KeepalivedHaproxyName, "keepalived");
        if (!IPAddress.TryParse(host, out var vip) || vip.AddressFamily != AddressFamily.InterNetwork)
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint '{endpoint}': {kindName} needs an IPv4 address there, the VIP {mover} moves between the control planes");
        }

        if (kind == LoadBalancerKind.KubeVip && port is not null && port != LoadBalancer.ApiServerPort)
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint '{endpoint}': with kube-vip there is no haproxy, the VIP leads straight to the leader's kube-apiserver, so the port is kube-apiserver's {LoadBalancer.ApiServerPort} ({host}:{LoadBalancer.ApiServerPort})");
        }

        if (kind == LoadBalancerKind.KeepalivedHaproxy && port == LoadBalancer.ApiServerPort)
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint '{endpoint}': port {LoadBalancer.ApiServerPort} is kube-apiserver's on every control plane, and haproxy runs there too; use {LoadBalancer.DefaultHaproxyPort} (haproxy's port)");
        }

        if (subnetText is null)
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.loadBalancer {kindName} needs cluster.vipSubnet, the subnet the VIP {host} and the control planes are on (e.g. 192.168.10.0/24); {mover} adds the VIP there");
        }

        var subnet = ReadSubnet(map!, "vipSubnet", "192.168.10.0/24");
        if (!subnet.Contains(vip))
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint's VIP {host} is outside cluster.vipSubnet {subnet}; {mover} can only move an address of the control planes' own subnet");
        }

        if (subnet.PrefixLength < 31 && (vip.Equals(subnet.BaseAddress) || vip.Equals(Broadcast(subnet))))
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint's VIP {host} is the {(vip.Equals(subnet.BaseAddress) ? "network" : "broadcast")} address of {subnet}; pick a free host address");
        }

        foreach (var cp in controlPlanes)
        {
            if (!IPAddress.TryParse(cp.Address, out var ip) || !subnet.Contains(ip))
            {
                throw new BadInputException($"{map!.File}:{cp.Line}: control plane {cp.Name}'s address {cp.Address} is outside cluster.vipSubnet {subnet}; {mover} moves the VIP only between hosts of one subnet (give each control plane its address there)");
            }
        }

        if (hosts.FirstOrDefault(h => IPAddress.TryParse(h.Address, out var ip) && ip.Equals(vip)) is { } taken)
        {
            throw map!.ErrorAt("controlPlaneEndpoint", $"cluster.controlPlaneEndpoint's VIP {host} is {taken.Name}'s own address (line {taken.Line}); the VIP must be an unused address");
        }

        if (kind == LoadBalancerKind.KubeVip)
        {
            return new LoadBalancer(LoadBalancerKind.KubeVip, host, LoadBalancer.ApiServerPort, subnet);
        }

        return new LoadBalancer(LoadBalancerKind.KeepalivedHaproxy, host, port ?? LoadBalancer.DefaultHaproxyPort, subnet);
    }

    private static (string Host, int? Port) SplitEndpoint(string endpoint)
    {
        if (IPAddress.TryParse(endpoint, out _) || !endpoint.Contains(':', StringComparison.Ordinal))
        {
            return (endpoint.Trim('[', ']'), null);
        }

        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon].Trim('[', ']'), int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static IPAddress Broadcast(IPNetwork subnet)
    {
        var bytes = subnet.BaseAddress.GetAddressBytes();
        for (var bit = subnet.PrefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }

    /// <summary>Every host its own name and address.</summary>
    private static void CheckDistinct(List<InventoryHost> hosts, string file)
    {
        var names = new Dictionary<string, InventoryHost>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, InventoryHost>(StringComparer.OrdinalIgnoreCase);
        foreach (var host in hosts)
        {
            if (names.TryGetValue(host.Name, out var first))
            {
                throw new BadInputException($"{file}:{host.Line}: duplicate host name '{host.Name}' (first at line {first.Line})");
            }

            names[host.Name] = host;
            var address = IPAddress.TryParse(host.Address, out var ip) ? ip.ToString() : host.Address;
            if (addresses.TryGetValue(address, out var same))
            {
                throw new BadInputException($"{file}:{host.Line}: {host.Name} has the same address {host.Address} as {same.Name} (line {same.Line}); every host needs its own");
            }

            addresses[address] = host;
        }
    }

    /// <summary>No host inside the pod or service subnet.</summary>
    private static void CheckSubnets(List<InventoryHost> hosts, ClusterSettings cluster, string file)
    {
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host.Address, out var ip) && (cluster.PodSubnet.Contains(ip) || cluster.ServiceSubnet.Contains(ip)))
            {
                var subnet = cluster.PodSubnet.Contains(ip) ? $"podSubnet {cluster.PodSubnet}" : $"serviceSubnet {cluster.ServiceSubnet}";
                throw new BadInputException($"{file}:{host.Line}: {host.Name}'s address {host.Address} lies inside the cluster's {subnet}; pick subnets the hosts are not on");
            }
        }
    }

    /// <summary>At most one depot, and only in site mode.</summary>
    private static void CheckDepot(List<InventoryHost> hosts, ClusterSettings cluster, string file)
    {
        var depots = hosts.Where(h => h.IsDepot).ToList();
        if (depots.Count > 0 && cluster.Sources != HostSources.Site)
        {
            throw new BadInputException($"{file}:{depots[0].Line}: {depots[0].Name} has the role depot, which serves the others in site mode; add cluster.sources: site or remove the role");
        }

        if (depots.Count > 1)
        {
            throw new BadInputException($"{file}:{depots[1].Line}: {depots[1].Name} is a second depot ({depots[0].Name} at line {depots[0].Line} is one); a site has one");
        }
    }

    private static void CheckPrivateKey(YamlMapReader map, string path)
    {
        string head;
        try
        {
            // A regular file under the cap before it is opened: a fifo would hang, /dev/zero never end.
            IO.InputFile.Check(path, IO.InputFile.KeyCap, "the private key");
            using var reader = new StreamReader(path);
            head = reader.ReadLine() ?? string.Empty;
        }
        catch (BadInputException e)
        {
            throw map.ErrorAt("privateKey", $"{map.Field("privateKey")}: cannot read {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw map.ErrorAt("privateKey", $"{map.Field("privateKey")}: cannot read {path}: {e.Message}");
        }

        if (head.StartsWith("ssh-", StringComparison.Ordinal) || head.StartsWith("ecdsa-", StringComparison.Ordinal))
        {
            throw map.ErrorAt("privateKey", $"{map.Field("privateKey")}: {path} is a public key; give the private key (the file without .pub)");
        }

        if (!head.StartsWith("-----BEGIN ", StringComparison.Ordinal) || !head.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            throw map.ErrorAt("privateKey", $"{map.Field("privateKey")}: {path} is not a private key in OpenSSH or PEM format");
        }
    }

    internal static string ResolvePath(string path, string baseDirectory)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, path.Length > 2 ? path[2..] : string.Empty);
        }

        return Path.GetFullPath(path, baseDirectory);
    }

    private static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    private static bool IsAddress(string text) =>
        IPAddress.TryParse(text, out var ip)
            ? ip.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            : HostName().IsMatch(text) && text.Length <= 253 && !text.All(c => char.IsAsciiDigit(c) || c == '.'); // 192.168.10.300 is a typo, not a name

    private static bool IsEndpoint(string text)
    {
        if (IPAddress.TryParse(text, out _) || (IsAddress(text) && !text.Contains(':', StringComparison.Ordinal)))
        {
            return true;
        }

        var colon = text.LastIndexOf(':');
        var host = text[..Math.Max(colon, 0)];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return colon > 0 && IsAddress(host) && int.TryParse(text[(colon + 1)..], out var port) && port is > 0 and < 65536;
    }

    /// <summary>
    /// The folder every host path is built under (bundle, journal, kubeadm config): absolute, normalised,
    /// never '/' itself (reset removes it), one trailing '/' allowed and dropped.
    /// </summary>
    internal static bool IsStateDirectory(string path)
    {
        var trimmed = path.EndsWith('/') ? path[..^1] : path;
        return trimmed.Length is > 1 and <= 1024
            && trimmed.StartsWith('/')
            && trimmed[1..].Split('/').All(s => s.Length > 0 && s != "." && s != ".." && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '@' or '-'));
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex HostName();

    [GeneratedRegex("^[a-z_][a-z0-9_.-]{0,31}$")]
    private static partial Regex UserName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
