using System.Text;
using System.Text.Json;

namespace OfflineKit.Images;

public sealed record RegistryCredential(string Username, string Password)
{
    // Never print the password: records print all their members.
    public override string ToString() => $"{Username}:***";
}

/// <summary>Registry credentials from ~/.docker/config.json's "auths" (what `docker login` writes).</summary>
public sealed class RegistryCredentials
{
    private readonly Dictionary<string, RegistryCredential> _byHost = new(StringComparer.OrdinalIgnoreCase);

    public static RegistryCredentials None => new();

    public static string DefaultPath()
    {
        var dir = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
        return string.IsNullOrEmpty(dir)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker", "config.json")
            : Path.Combine(dir, "config.json");
    }

    /// <summary>Reads a docker config file; a missing file means no credentials, a malformed one is bad input.</summary>
    public static RegistryCredentials Load(string path)
    {
        var creds = new RegistryCredentials();
        if (!File.Exists(path))
        {
            return creds;
        }

        try
        {
            using var doc = JsonDocument.Parse(IO.InputFile.ReadAllBytes(path, IO.InputFile.YamlCap, "docker config"));
            if (!doc.RootElement.TryGetProperty("auths", out var auths) || auths.ValueKind != JsonValueKind.Object)
            {
                return creds;
            }

            foreach (var entry in auths.EnumerateObject())
            {
                var credential = Read(entry.Value);
                if (credential is not null)
                {
                    creds._byHost[Normalize(entry.Name)] = credential;
                }
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new BadInputException($"{path}: cannot read registry credentials: {e.Message}", e);
        }

        return creds;
    }

    public void Add(string registry, RegistryCredential credential) => _byHost[Normalize(registry)] = credential;

    public RegistryCredential? For(string registry) => _byHost.GetValueOrDefault(Normalize(registry));

    private static RegistryCredential? Read(JsonElement value)
    {
        if (value.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? throw new FormatException("an auth entry is not base64 of user:password") : new RegistryCredential(decoded[..colon], decoded[(colon + 1)..]);
        }

        return value.TryGetProperty("username", out var u) && value.TryGetProperty("password", out var p)
            ? new RegistryCredential(u.GetString() ?? string.Empty, p.GetString() ?? string.Empty)
            : null;
    }

    /// <summary>"https://index.docker.io/v1/" and "docker.io" name the same registry; keys may carry a scheme and path.</summary>
    private static string Normalize(string key)
    {
        var host = key;
        if (Uri.TryCreate(key, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        }

        return host is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? "docker.io" : host;
    }
}
