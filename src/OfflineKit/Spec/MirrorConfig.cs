namespace OfflineKit.Spec;

/// <summary>
/// Where bytes really come from. A registry maps to mirrors tried in order before the origin
/// (like containerd's hosts.toml); a URL prefix maps to a replacement prefix. Names recorded in the
/// bundle always stay the origin names: this only changes where a request goes.
/// </summary>
public sealed class MirrorConfig
{
    private readonly Dictionary<string, List<Uri>> _registries = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(Uri Prefix, Uri Target)> _urls = [];
    private readonly HashSet<string> _insecure = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _caFiles = new(StringComparer.OrdinalIgnoreCase);

    public static MirrorConfig Empty => new();

    /// <summary>Registry host (e.g. registry.aliyuncs.com) to its mirrors, in the order they are tried.</summary>
    public IReadOnlyDictionary<string, List<Uri>> Registries => _registries;

    public IReadOnlyList<(Uri Prefix, Uri Target)> Urls => _urls;

    /// <summary>Registries that may be spoken to over plain HTTP.</summary>
    public IReadOnlySet<string> InsecureRegistries => _insecure;

    /// <summary>Registry host (or mirror host:port) to a PEM file of the CA that signed its certificate.</summary>
    public IReadOnlyDictionary<string, string> CaFiles => _caFiles;

    /// <summary>
    /// Loads a mirrors file:
    /// <code>
    /// registries:
    ///   registry.aliyuncs.com: http://127.0.0.1:5000
    ///   docker.io: [https://mirror-a.example, https://mirror-b.example]
    /// urls:
    ///   https://mirrors.aliyun.com/: http://127.0.0.1:8080/aliyun/
    /// insecure: [127.0.0.1:5000]
    /// ca:
    ///   harbor.site.local: /etc/offlinekit/harbor-ca.pem
    /// </code>
    /// </summary>
    public static MirrorConfig LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new BadInputException($"{path}: mirrors file not found");
        }

        return Parse(IO.InputFile.ReadAllText(path, IO.InputFile.YamlCap, "mirrors file"), path);
    }

    public static MirrorConfig Parse(string text, string file)
    {
        var config = new MirrorConfig();
        var root = YamlMapReader.Load(text, file, "mirrors");
        var registries = root.OptionalMap("registries");
        if (registries is not null)
        {
            foreach (var host in registries.Keys())
            {
                var hostError = CheckRegistryHost(host);
                if (hostError is not null)
                {
                    throw registries.ErrorAt(host, $"registries: {hostError}");
                }

                var targets = registries.StringOrList(host);
                if (targets.Count == 0)
                {
                    throw registries.ErrorAt(host, $"registries.{host}: give at least one mirror URL");
                }

                foreach (var target in targets)
                {
                    config.AddRegistryMirror(host, ParseUrl(target, allowFile: false)
                        ?? throw registries.ErrorAt(host, $"registries.{host}: '{target}' is not an absolute http:// or https:// URL"));
                }
            }

            registries.EnsureNoUnknownKeys();
        }

        var urls = root.OptionalMap("urls");
        if (urls is not null)
        {
            foreach (var prefix in urls.Keys())
            {
                var from = ParseUrl(prefix, allowFile: false)
                    ?? throw urls.ErrorAt(prefix, $"urls: '{prefix}' is not an absolute http:// or https:// URL prefix");
                var targetText = urls.RequiredString(prefix);
                var to = ParseUrl(targetText, allowFile: true)
                    ?? throw urls.ErrorAt(prefix, $"urls.{prefix}: '{targetText}' is not an absolute http://, https:// or file:// URL");
                config.AddUrlMirror(from, to);
            }

            urls.EnsureNoUnknownKeys();
        }

        foreach (var host in root.StringList("insecure"))
        {
            var error = CheckRegistryHost(host);
            if (error is not null)
            {
                throw root.ErrorAt("insecure", $"insecure: {error}");
            }

            config._insecure.Add(host);
        }

        var ca = root.OptionalMap("ca");
        if (ca is not null)
        {
            foreach (var host in ca.Keys())
            {
                var hostError = CheckRegistryHost(host);
                if (hostError is not null)
                {
                    throw ca.ErrorAt(host, $"ca: {hostError}");
                }

                var pem = ca.RequiredString(host);
                var full = Path.IsPathRooted(pem) ? pem : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", pem);
                if (!File.Exists(full))
                {
                    throw ca.ErrorAt(host, $"ca.{host}: CA file '{pem}' not found");
                }

                config._caFiles[host] = full;
            }

            ca.EnsureNoUnknownKeys();
        }

        root.EnsureNoUnknownKeys();
        return config;
    }

    /// <summary>Applies a <c>--registry-mirror HOST=URL</c> flag.</summary>
    public void AddRegistryMirror(string flag)
    {
        var (host, url) = SplitFlag(flag, "--registry-mirror", "HOST=URL");
        var error = CheckRegistryHost(host);
        if (error is not null)
        {
            throw new BadInputException($"--registry-mirror {flag}: {error}");
        }

        AddRegistryMirror(host, ParseUrl(url, allowFile: false)
            ?? throw new BadInputException($"--registry-mirror {flag}: '{url}' is not an absolute http:// or https:// URL"));
    }

    /// <summary>Applies a <c>--url-mirror PREFIX=URL</c> flag.</summary>
    public void AddUrlMirror(string flag)
    {
        // The prefix itself contains "://" and maybe '=' in a query; split at the first '=' after the scheme.
        var schemeEnd = flag.IndexOf("://", StringComparison.Ordinal);
        var eq = schemeEnd < 0 ? -1 : flag.IndexOf('=', schemeEnd);
        if (eq < 0)
        {
            throw new BadInputException($"--url-mirror {flag}: expected PREFIX=URL, e.g. https://mirrors.aliyun.com/=http://127.0.0.1:8080/aliyun/");
        }

        var from = ParseUrl(flag[..eq], allowFile: false)
            ?? throw new BadInputException($"--url-mirror {flag}: '{flag[..eq]}' is not an absolute http:// or https:// URL prefix");
        var to = ParseUrl(flag[(eq + 1)..], allowFile: true)
            ?? throw new BadInputException($"--url-mirror {flag}: '{flag[(eq + 1)..]}' is not an absolute http://, https:// or file:// URL");
        AddUrlMirror(from, to);
    }

    public void AddInsecureRegistry(string host)
    {
        var error = CheckRegistryHost(host);
        if (error is not null)
        {
            throw new BadInputException($"--insecure-registry {host}: {error}");
        }

        _insecure.Add(host);
    }

    /// <summary>The endpoints to try for a registry: its mirrors in order, then the origin itself.</summary>
    public IReadOnlyList<Uri> RegistryEndpoints(string registryHost)
    {
        var list = new List<Uri>();
        if (_registries.TryGetValue(registryHost, out var mirrors))
        {
            list.AddRange(mirrors);
        }

        var scheme = _insecure.Contains(registryHost) ? "http" : "https";
        var origin = registryHost == "docker.io" ? "registry-1.docker.io" : registryHost;
        list.Add(new Uri($"{scheme}://{origin}/"));
        return list;
    }

    /// <summary>Rewrites a URL through the longest matching prefix; an unmatched URL is returned as is.</summary>
    public Uri Rewrite(Uri url)
    {
        var text = url.AbsoluteUri;
        (Uri Prefix, Uri Target)? best = null;
        foreach (var m in _urls)
        {
            if (text.StartsWith(m.Prefix.AbsoluteUri, StringComparison.Ordinal)
                && (best is null || m.Prefix.AbsoluteUri.Length > best.Value.Prefix.AbsoluteUri.Length))
            {
                best = m;
            }
        }

        return best is null ? url : new Uri(best.Value.Target.AbsoluteUri + text[best.Value.Prefix.AbsoluteUri.Length..]);
    }

    private void AddRegistryMirror(string host, Uri url)
    {
        // A mirror may live under a path (a Harbor proxy project, say): keep it as a folder, or v2/ would replace it.
        if (!url.AbsolutePath.EndsWith('/'))
        {
            url = new Uri(url.AbsoluteUri + "/");
        }

        if (!_registries.TryGetValue(host, out var list))
        {
            _registries[host] = list = [];
        }

        if (!list.Contains(url))
        {
            list.Add(url);
        }
    }

    private void AddUrlMirror(Uri from, Uri to)
    {
        // Prefixes match as text: keep a trailing slash on both sides or neither, as the user wrote it.
        _urls.RemoveAll(m => m.Prefix == from);
        _urls.Add((from, to));
    }

    private static (string Left, string Right) SplitFlag(string flag, string name, string form)
    {
        var eq = flag.IndexOf('=', StringComparison.Ordinal);
        return eq <= 0 || eq == flag.Length - 1
            ? throw new BadInputException($"{name} {flag}: expected {form}")
            : (flag[..eq], flag[(eq + 1)..]);
    }

    private static Uri? ParseUrl(string text, bool allowFile) => PlainUrl.TryParse(text, allowFile);

    /// <summary>A registry is named as host[:port], the way image references name it.</summary>
    internal static string? CheckRegistryHost(string host)
    {
        if (host.Contains("://", StringComparison.Ordinal))
        {
            return $"'{host}' must be a registry name such as registry.aliyuncs.com or 127.0.0.1:5000, without a scheme";
        }

        if (host.Contains('/') || host.Any(char.IsWhiteSpace) || Uri.CheckHostName(host.Split(':')[0]) == UriHostNameType.Unknown)
        {
            return $"'{host}' is not a registry name (host or host:port)";
        }

        return null;
    }
}

/// <summary>The mirrors file and the mirror flags, merged: flags add to the file.</summary>
public static class MirrorSources
{
    public static MirrorConfig Compose(string? file, IEnumerable<string> registryMirrors, IEnumerable<string> urlMirrors, IEnumerable<string> insecureRegistries)
    {
        var config = file is null ? MirrorConfig.Empty : MirrorConfig.LoadFile(file);
        foreach (var flag in registryMirrors)
        {
            config.AddRegistryMirror(flag);
        }

        foreach (var flag in urlMirrors)
        {
            config.AddUrlMirror(flag);
        }

        foreach (var host in insecureRegistries)
        {
            config.AddInsecureRegistry(host);
        }

        return config;
    }
}
