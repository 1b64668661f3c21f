using System.Text;

namespace OfflineKit.Install;

/// <summary>
/// containerd's hosts.toml for one registry (docs/hosts.md): its mirrors first, each allowed to pull and
/// resolve, then the registry itself; the CA when one is given, skip_verify only when asked for, plain
/// http only for a registry marked insecure. Names in images stay the origin names. A mirror URL with a
/// path (a site registry's project, http://depot:5000/v2/k8s) is the API root itself: override_path.
/// The CA is named relative to the file (containerd reads it from the hosts.toml's own folder). A host
/// that is <see cref="RegistrySettings.CredentialOf"/> gets its basic-auth token as an Authorization
/// header: hosts.toml has no credential field, and the header is what both ctr --hosts-dir and the CRI
/// (config_path) send with every request to that host.
/// </summary>
public static class HostsToml
{
    /// <summary>The CA's file name, beside hosts.toml in the registry's folder under certs.d.</summary>
    public const string CaFile = "ca.crt";

    /// <param name="token">base64 of user:password for <see cref="RegistrySettings.CredentialOf"/>; null sends none.</param>
    public static string Render(RegistrySettings registry, string? token = null)
    {
        var scheme = registry.Insecure ? "http" : "https";
        var server = registry.Host == "docker.io" ? "https://registry-1.docker.io" : $"{scheme}://{registry.Host}";
        var sb = new StringBuilder();
        sb.Append("# offlinekit: from the inventory's cluster.registries (").Append(registry.Host).Append(")\n");
        sb.Append("server = \"").Append(server).Append("\"\n");
        IEnumerable<(string Url, string Capabilities)> hosts = registry.Mirrors.Select(m => (m.TrimEnd('/'), "[\"pull\", \"resolve\"]"));
        if (registry.Insecure || registry.CaCertificate is not null || registry.SkipVerify || registry.CredentialOf == registry.Host)
        {
            hosts = hosts.Append((server, "[\"pull\", \"resolve\", \"push\"]"));
        }

        foreach (var (url, capabilities) in hosts)
        {
            sb.Append("\n[host.\"").Append(url).Append("\"]\n");
            sb.Append("  capabilities = ").Append(capabilities).Append('\n');
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.AbsolutePath.Length > 1)
            {
                sb.Append("  override_path = true\n");
            }

            if (registry.CaCertificate is not null)
            {
                sb.Append("  ca = \"").Append(CaFile).Append("\"\n");
            }

            if (registry.SkipVerify)
            {
                sb.Append("  skip_verify = true\n");
            }

            if (token is not null && uri is not null && registry.CredentialOf is { } of && (of == uri.Authority || of == $"{uri.Host}:{uri.Port}"))
            {
                sb.Append("  [host.\"").Append(url).Append("\".header]\n");
                sb.Append("    Authorization = [\"Basic ").Append(token).Append("\"]\n");
            }
        }

        return sb.ToString();
    }
}
