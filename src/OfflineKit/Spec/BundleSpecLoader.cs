using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using NuGet.Versioning;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Spec;

/// <summary>Loads a bundle spec from a file or from the specs embedded in the binary.</summary>
public static class BundleSpecLoader
{
    private const string ResourcePrefix = "OfflineKit.Specs.k8s-";

    /// <summary>The Kubernetes versions whose spec ships inside the binary.</summary>
    public static IReadOnlyList<KubernetesVersion> EmbeddedVersions() =>
        typeof(BundleSpecLoader).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
            .Select(n => KubernetesVersion.Parse(n[ResourcePrefix.Length..^".yaml".Length]))
            .Order()
            .ToList();

    /// <summary>The embedded spec for <paramref name="version"/> ("1.23.0" or "v1.23.0").</summary>
    public static BundleSpec LoadEmbedded(string version)
    {
        if (!KubernetesVersion.TryParse(version, out var v))
        {
            throw new BadInputException($"--k8s: '{version}' is not a Kubernetes version (expected e.g. 1.23.0)");
        }

        var name = $"{ResourcePrefix}{v}.yaml";
        using var stream = typeof(BundleSpecLoader).Assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            var known = string.Join(", ", EmbeddedVersions());
            throw new BadInputException(
                $"--k8s {version}: no bundle spec for this version is built in (built in: {known}); write one and pass it with --spec FILE");
        }

        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), $"manifests/k8s-{v}.yaml (built in)");
    }

    public static string EmbeddedText(KubernetesVersion version)
    {
        using var stream = typeof(BundleSpecLoader).Assembly.GetManifestResourceStream($"{ResourcePrefix}{version}.yaml")
            ?? throw new BadInputException($"no built-in spec for {version}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static BundleSpec LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: spec file not found");
        }

        return Parse(IO.InputFile.ReadAllText(path, IO.InputFile.YamlCap, "spec file"), path);
    }

    public static BundleSpec Parse(string text, string file)
    {
        var root = YamlMapReader.Load(text, file, "spec");
        root.RequireHeader("BundleSpec", "a bundle spec");

        var metadata = root.RequiredMap("metadata");
        var name = metadata.RequiredString("name");
        var versionText = metadata.RequiredString("version");
        if (!SemanticVersion.TryParse(versionText, out var version))
        {
            throw metadata.ErrorAt("version", $"metadata.version '{versionText}' is not a SemVer version (e.g. 1.0.0)");
        }

        var catalogRevision = metadata.OptionalString("catalogRevision");
        metadata.EnsureNoUnknownKeys();

        var k8s = root.RequiredMap("kubernetes");
        var k8sVersionText = k8s.RequiredString("version");
        if (!KubernetesVersion.TryParse(k8sVersionText, out var k8sVersion))
        {
            throw k8s.ErrorAt("version", $"kubernetes.version '{k8sVersionText}' is not a Kubernetes version (e.g. 1.23.0)");
        }

        var imageRepository = k8s.RequiredString("imageRepository").TrimEnd('/');
        if (imageRepository.Contains("://", StringComparison.Ordinal) || imageRepository.Any(char.IsWhiteSpace))
        {
            throw k8s.ErrorAt("imageRepository", $"kubernetes.imageRepository '{imageRepository}' must be a registry path such as registry.aliyuncs.com/google_containers (no scheme)");
        }

        k8s.EnsureNoUnknownKeys();

        var target = ReadTarget(root.RequiredMap("target"));
        var runtime = root.OptionalString("runtime") is null ? ContainerRuntime.Docker : Enum(root, "runtime", ContainerRuntimes.Parse);
        var rpm = ReadRpm(root.RequiredMap("rpm"));
        var addons = ReadAddons(root);
        var images = ReadImages(root);
        var cluster = ReadCluster(root.RequiredMap("cluster"));
        var docker = root.OptionalMap("docker");
        var daemon = new JsonObject();
        if (docker is not null)
        {
            var node = docker.RawNode("daemon");
            if (node is not null)
            {
                daemon = ToJson(node, file) as JsonObject
                    ?? throw YamlMapReader.Error(file, node, "docker.daemon must be a mapping (the keys of /etc/docker/daemon.json)");
            }

            docker.EnsureNoUnknownKeys();
        }

        root.EnsureNoUnknownKeys();
        return new BundleSpec(name, version, k8sVersion, imageRepository, target, rpm, addons, cluster, daemon, file)
        {
            Runtime = runtime,
            CatalogRevision = catalogRevision,
            Images = images,
        };
    }

    private static TargetPlatform ReadTarget(YamlMapReader map)
    {
        var os = Enum(map, "os", TargetPlatform.ParseOs);
        var arch = Enum(map, "arch", TargetPlatform.ParseArch);
        map.EnsureNoUnknownKeys();
        return new TargetPlatform(os, arch);
    }

    internal static T Enum<T>(YamlMapReader map, string key, Func<string, T> parse) =>
        Enum(map, key, map.RequiredString(key), parse);

    /// <summary>Parses <paramref name="text"/> (the value at key, or one item of its list); a bad value is an error at that key.</summary>
    internal static T Enum<T>(YamlMapReader map, string key, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (FormatException e)
        {
            throw map.ErrorAt(key, $"{map.Field(key)}: {e.Message}");
        }
    }

    private static RpmSpec ReadRpm(YamlMapReader map)
    {
        var repos = new List<RpmRepository>();
        foreach (var r in map.MapList("repositories", required: true))
        {
            var repo = ReadRepository(r);
            if (repos.Any(x => x.Name == repo.Name))
            {
                throw r.ErrorAt("name", $"duplicate repository name '{repo.Name}'");
            }

            repos.Add(repo);
        }

        var packages = map.StringList("packages", required: true);
        var baseline = map.StringList("baseline");
        foreach (var (key, list) in new[] { ("packages", packages), ("baseline", baseline) })
        {
            var bad = list.FirstOrDefault(p => !IsPackageRequest(p));
            if (bad is not null)
            {
                throw map.ErrorAt(key, $"rpm.{key}: '{bad}' is not a package name (RPM's grammar: letters, digits and ._+-, then an optional -[epoch:]version-release and .arch of letters, digits and ._+~^:-)");
            }
        }

        var duplicate = packages.GroupBy(p => p, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw map.ErrorAt("packages", $"rpm.packages lists '{duplicate.Key}' twice");
        }

        map.EnsureNoUnknownKeys();
        return new RpmSpec(repos, packages, baseline);
    }

    /// <summary>One repository: name, baseurl, gpgkeys. URLs may hold yum's $basearch/$releasever.</summary>
    internal static RpmRepository ReadRepository(YamlMapReader r) => ReadRepository(r, YumVariables);

    /// <summary>A repository whose URLs may hold <paramref name="variables"/> (the version catalog adds $minor).</summary>
    internal static RpmRepository ReadRepository(YamlMapReader r, IReadOnlyList<string> variables)
    {
        var name = r.RequiredString("name");
        var baseUrl = Url(r, "baseurl", r.RequiredString("baseurl"), directory: true, variables: variables);
        var keys = r.StringList("gpgkeys").Select(k => Url(r, "gpgkeys", k, directory: false, variables: variables)).ToList();
        r.EnsureNoUnknownKeys();
        return new RpmRepository(name, baseUrl, keys);
    }

    // images: references written in full (registry host, repository, tag or digest), each once.
    private static List<Images.ImageReference> ReadImages(YamlMapReader root)
    {
        var images = new List<Images.ImageReference>();
        foreach (var text in root.StringList("images"))
        {
            if (!Images.ImageReference.TryParse(text, out var image))
            {
                throw root.ErrorAt("images", $"images: '{text}' is not an image reference (e.g. docker.io/library/registry:2.8.3)");
            }

            if (image.ToString() != text)
            {
                throw root.ErrorAt("images", $"images: write '{text}' in full, registry and tag, as the bundle names it: {image}");
            }

            if (images.Contains(image))
            {
                throw root.ErrorAt("images", $"images: '{text}' is listed twice");
            }

            images.Add(image);
        }

        return images;
    }

    private static List<AddonSpec> ReadAddons(YamlMapReader root)
    {
        var addons = new List<AddonSpec>();
        foreach (var a in root.MapList("addons"))
        {
            var name = a.RequiredString("name");
            if (addons.Any(x => x.Name == name))
            {
                throw a.ErrorAt("name", $"duplicate addon '{name}'");
            }

            var version = a.RequiredString("version");
            var url = Url(a, "url", a.RequiredString("url"), directory: false, allowFile: true);
            var patches = new List<ManifestPatch>();
            foreach (var p in a.MapList("patches"))
            {
                patches.Add(ReadPatch(p));
            }

            a.EnsureNoUnknownKeys();
            addons.Add(new AddonSpec(name, version, url, patches));
        }

        return addons;
    }

    internal static ManifestPatch ReadPatch(YamlMapReader p)
    {
        var opText = p.RequiredString("op");
        var op = opText switch
        {
            "set-env" => ManifestPatchOp.SetEnv,
            "add-arg" => ManifestPatchOp.AddArg,
            "set-image" => ManifestPatchOp.SetImage,
            _ => throw p.ErrorAt("op", $"unknown patch op '{opText}' (expected set-env, add-arg or set-image)"),
        };
        var container = p.RequiredString("container");
        var name = op == ManifestPatchOp.SetEnv ? p.RequiredString("name") : null;
        var value = p.RequiredString("value");
        if (value.Contains("${", StringComparison.Ordinal) && !ClusterVariables.IsKnown(value))
        {
            throw p.ErrorAt("value", $"unknown variable in '{value}' (known: {string.Join(", ", ClusterVariables.Names)})");
        }

        p.EnsureNoUnknownKeys();
        return new ManifestPatch(op, container, name, value);
    }

    internal static ClusterDefaults ReadCluster(YamlMapReader map)
    {
        var pod = Cidr(map, "podSubnet");
        var service = Cidr(map, "serviceSubnet");
        if (pod.Contains(service.BaseAddress) || service.Contains(pod.BaseAddress))
        {
            throw map.ErrorAt("serviceSubnet", $"cluster.serviceSubnet {service} overlaps podSubnet {pod}");
        }

        var dns = map.RequiredString("dnsDomain");
        map.EnsureNoUnknownKeys();
        return new ClusterDefaults(pod, service, dns);
    }

    private static IPNetwork Cidr(YamlMapReader map, string key)
    {
        var text = map.RequiredString(key);
        if (!IPNetwork.TryParse(text, out var net))
        {
            throw map.ErrorAt(key, $"cluster.{key} '{text}' is not a CIDR such as 10.244.0.0/16");
        }

        return net;
    }

    /// <summary>The variables a spec's repository URLs may hold: dnf's, filled in per target.</summary>
    internal static readonly IReadOnlyList<string> YumVariables = ["$basearch", "$releasever"];

    internal static Uri Url(YamlMapReader map, string key, string text, bool directory, bool allowFile = false, IReadOnlyList<string>? variables = null)
    {
        // The variables (dnf's $basearch and $releasever) are filled in per target later; the rest must be a plain URL.
        var checkedText = (variables ?? YumVariables).Aggregate(text, (t, v) => t.Replace(v, v.TrimStart('$'), StringComparison.Ordinal));
        if (PlainUrl.TryParse(checkedText, allowFile) is null || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            var schemes = allowFile ? "http://, https:// or file://" : "http:// or https://";
            throw map.ErrorAt(key, $"{map.Field(key)}: '{text}' is not an absolute {schemes} URL");
        }

        // A repository base is a directory: without the slash, relative paths (repodata/…) resolve one level up.
        return directory && !uri.AbsolutePath.EndsWith('/') ? new Uri(uri + "/") : uri;
    }

    internal static JsonNode? ToJson(YamlNode node, string file) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(
            ((YamlScalarNode)kv.Key).Value ?? throw YamlMapReader.Error(file, kv.Key, "empty key"),
            ToJson(kv.Value, file)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(c => ToJson(c, file)).ToArray()),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "true" or "false" } b => JsonValue.Create(b.Value == "true"),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "null" or "~" or null } => null,
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } n when long.TryParse(n.Value, out var l) => JsonValue.Create(l),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw YamlMapReader.Error(file, node, "unsupported YAML node"),
    };
    /// <summary>
    /// A package as a spec names it: an RPM name with an optional version and arch, as dnf takes them
    /// (kubelet-1.23.0, containerd.io, docker-ce-3:20.10.24-3.el8.x86_64). The list lands in a file the
    /// hosts hand to dnf, so nothing a shell treats specially gets in.
    /// </summary>
    internal static bool IsPackageRequest(string text) =>
        text.Length is > 0 and <= 256
        && (char.IsAsciiLetterOrDigit(text[0]) || text[0] is '_' or '+')
        && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-' or '~' or '^' or ':');
}

/// <summary>The ${cluster.*} variables a patch value may use, filled in from the cluster settings.</summary>
public static class ClusterVariables
{
    public static readonly IReadOnlyList<string> Names = ["${cluster.podSubnet}", "${cluster.serviceSubnet}", "${cluster.dnsDomain}"];

    public static bool IsKnown(string value)
    {
        var rest = value;
        foreach (var name in Names)
        {
            rest = rest.Replace(name, string.Empty, StringComparison.Ordinal);
        }

        return !rest.Contains("${", StringComparison.Ordinal);
    }

    /// <summary>The variables <paramref name="value"/> uses, each with its value from <paramref name="cluster"/> ("cluster.podSubnet" → "10.244.0.0/16").</summary>
    public static IEnumerable<KeyValuePair<string, string>> Used(string value, ClusterDefaults cluster) =>
        Names.Where(n => value.Contains(n, StringComparison.Ordinal)).Select(n => KeyValuePair.Create(n[2..^1], Expand(n, cluster)));

    public static string Expand(string value, ClusterDefaults cluster) => value
        .Replace("${cluster.podSubnet}", cluster.PodSubnet.ToString(), StringComparison.Ordinal)
        .Replace("${cluster.serviceSubnet}", cluster.ServiceSubnet.ToString(), StringComparison.Ordinal)
        .Replace("${cluster.dnsDomain}", cluster.DnsDomain, StringComparison.Ordinal);
}
