using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace OfflineKit.Images;

/// <summary>
/// A container image reference, parsed by the rules of docker's distribution/reference and held
/// fully qualified: <c>calico/node:v3.25.2</c> is <c>docker.io/calico/node:v3.25.2</c>, <c>busybox</c>
/// is <c>docker.io/library/busybox:latest</c>. Immutable; equal when the fully qualified forms are.
/// </summary>
public sealed partial record ImageReference
{
    public const string DockerHub = "docker.io";

    private const int MaxNameLength = 255;

    private ImageReference(string registry, string repository, string? tag, string? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>The registry host, with its port if any: <c>docker.io</c>, <c>registry.k8s.io</c>, <c>127.0.0.1:5000</c>.</summary>
    public string Registry { get; }

    /// <summary>The path inside the registry: <c>calico/node</c>, <c>library/busybox</c>.</summary>
    public string Repository { get; }

    /// <summary>The tag; <c>latest</c> when the reference named neither a tag nor a digest.</summary>
    public string? Tag { get; }

    /// <summary>The content digest (<c>sha256:…</c>) when the reference pins one.</summary>
    public string? Digest { get; }

    /// <summary>Registry and repository: <c>docker.io/calico/node</c>.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>
    /// The short form docker prints: Docker Hub's <c>docker.io/</c> and <c>library/</c> dropped
    /// (<c>calico/node:v3.25.2</c>, <c>busybox:latest</c>); other registries kept.
    /// </summary>
    public string Familiar
    {
        get
        {
            var name = Name;
            if (Registry == DockerHub)
            {
                name = Repository.StartsWith("library/", StringComparison.Ordinal) && Repository.IndexOf('/', "library/".Length) < 0
                    ? Repository["library/".Length..]
                    : Repository;
            }

            return name + Suffix;
        }
    }

    private string Suffix => (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);

    /// <summary>Parses a reference as docker does; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static ImageReference Parse(string text)
    {
        var error = TryParseCore(text, out var reference);
        return error is null ? reference! : throw new FormatException($"'{text}' is not a valid image reference: {error}");
    }

    public static bool TryParse(string? text, [NotNullWhen(true)] out ImageReference? reference)
    {
        reference = null;
        return text is not null && TryParseCore(text, out reference) is null;
    }

    /// <summary>The same image in another registry (a private one): repository, tag and digest kept.</summary>
    public ImageReference WithRegistry(string registry)
    {
        var error = CheckRegistry(registry);
        if (error is not null)
        {
            throw new FormatException($"'{registry}' is not a registry host: {error}");
        }

        // Docker Hub's "library/" prefix is Hub's convention; another registry keeps the path as it is.
        registry = NormalizeRegistry(registry);
        var repository = registry == DockerHub && !Repository.Contains('/') ? "library/" + Repository : Repository;
        return new ImageReference(registry, repository, Tag, Digest);
    }

    /// <summary>The fully qualified reference: <c>docker.io/calico/node:v3.25.2</c>.</summary>
    public override string ToString() => Name + Suffix;

    /// <summary>Null when <paramref name="host"/> is a valid registry host[:port], else why not.</summary>
    public static string? CheckRegistry(string host) =>
        string.IsNullOrEmpty(host) ? "the registry is empty"
        : DomainRegex().IsMatch(host) ? null
        : $"'{host}' is not host[:port] (letters, digits, '-' and '.', an optional numeric port, or [IPv6]:port)";

    private static string? TryParseCore(string text, out ImageReference? reference)
    {
        reference = null;
        if (string.IsNullOrEmpty(text))
        {
            return "it is empty";
        }

        if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "it contains whitespace";
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            return "an image reference has no scheme (write registry.example.com/repo:tag, not https://…)";
        }

        var rest = text;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            var digestError = CheckDigest(digest);
            if (digestError is not null)
            {
                return digestError;
            }
        }

        // The tag's colon comes after the last '/'; a colon before it is a registry port.
        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagRegex().IsMatch(tag))
            {
                return $"tag '{tag}' is invalid (1-128 of letters, digits, '_', '.', '-'; not starting with '.' or '-')";
            }
        }

        if (rest.Length == 0)
        {
            return "the repository name is empty";
        }

        if (rest.Length > MaxNameLength)
        {
            return $"the name is longer than {MaxNameLength} characters";
        }

        var (registry, path) = SplitRegistry(rest);
        if (registry is not null)
        {
            var registryError = CheckRegistry(registry);
            if (registryError is not null)
            {
                return registryError;
            }
        }

        foreach (var component in path.Split('/'))
        {
            if (component.Length == 0)
            {
                return "the repository has an empty path component";
            }

            if (component.Any(char.IsAsciiLetterUpper))
            {
                return $"repository name must be lowercase ('{component}')";
            }

            if (!PathComponentRegex().IsMatch(component))
            {
                return $"'{component}' is not a valid repository path component (lowercase letters and digits, separated by '.', '_', '__' or '-')";
            }
        }

        registry = NormalizeRegistry(registry ?? DockerHub);
        if (registry == DockerHub && !path.Contains('/'))
        {
            // Docker Hub's official images live under library/: "busybox" is docker.io/library/busybox.
            path = "library/" + path;
        }

        if (tag is null && digest is null)
        {
            tag = "latest";
        }

        reference = new ImageReference(registry, path, tag, digest);
        return null;
    }

    /// <summary>
    /// Docker's rule: the first component names a registry only if it contains '.' or ':' or is
    /// "localhost"; otherwise the whole name is a Docker Hub path (calico/node).
    /// </summary>
    private static (string? Registry, string Path) SplitRegistry(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (null, name);
        }

        var first = name[..slash];
        return first.Contains('.') || first.Contains(':') || first == "localhost"
            ? (first, name[(slash + 1)..])
            : (null, name);
    }

    // Hub's legacy name is the same registry (docker normalizes it too); one spelling keeps references comparable.
    private static string NormalizeRegistry(string registry) =>
        registry == "index.docker.io" ? DockerHub : registry;

    private static string? CheckDigest(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return $"digest '{digest}' is not ALGORITHM:HEX (e.g. sha256:…)";
        }

        var algorithm = digest[..colon];
        var hex = digest[(colon + 1)..];
        int length = algorithm switch
        {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => 0,
        };
        if (length == 0)
        {
            return $"digest algorithm '{algorithm}' is not supported (sha256, sha384 or sha512)";
        }

        return hex.Length == length && hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f')
            ? null
            : $"digest '{digest}' must be {algorithm}: followed by {length} lowercase hex digits";
    }

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex PathComponentRegex();

    // host[:port]: DNS-ish labels joined by '.', or a bracketed IPv6 address, then an optional port.
    [GeneratedRegex(@"^(?:(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex DomainRegex();
}
