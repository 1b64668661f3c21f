using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OfflineKit.Bundle;
using OfflineKit.Images;

namespace OfflineKit.Trust;

/// <summary>One thing the SBOM names, with the digest the bundle holds it by.</summary>
public sealed record SbomComponent(string Type, string Name, string? Version, string? Purl, string Sha256, string Path, string? Origin)
{
    public string BomRef => Purl ?? $"file:{Path}";
}

/// <summary>
/// sbom.cdx.json: a CycloneDX 1.6 bill of materials with a component for every RPM (pkg:rpm purl),
/// image (pkg:oci purl with its manifest digest), manifest and offlinekit binary the bundle carries,
/// each with its SHA-256. No timestamp and a serial number derived from the content: the same
/// bundle gives the same bytes.
/// </summary>
public static class Sbom
{
    public const string SpecVersion = "1.6";

    /// <summary>The components for a bundle's artifacts (bundle.json's, or those about to be written).</summary>
    public static IReadOnlyList<SbomComponent> Components(IEnumerable<Artifact> artifacts)
    {
        var components = new List<SbomComponent>();
        foreach (var a in artifacts)
        {
            var hex = a.Digest.StartsWith("sha256:", StringComparison.Ordinal) ? a.Digest[7..] : a.Digest;
            switch (a.Kind)
            {
                case ArtifactKind.Rpm:
                    components.Add(new SbomComponent("library", a.Name, RpmVersion(a), RpmPurl(a), hex, a.Path, a.Origin));
                    break;
                case ArtifactKind.Image:
                    components.Add(new SbomComponent("container", a.Name, a.Version, OciPurl(a.Name, a.Digest), hex, a.Path, a.Origin));
                    break;
                case ArtifactKind.Manifest:
                    components.Add(new SbomComponent("file", a.Name, a.Version, null, hex, a.Path, a.Origin));
                    break;
                case ArtifactKind.File when a.Path.StartsWith(BundleLayout.BinDir + "/", StringComparison.Ordinal):
                    components.Add(new SbomComponent("application", a.Name, a.Version, null, hex, a.Path, a.Origin));
                    break;
            }
        }

        return components.OrderBy(c => c.Type, StringComparer.Ordinal).ThenBy(c => c.Name, StringComparer.Ordinal).ThenBy(c => c.Path, StringComparer.Ordinal).ToList();
    }

    public static byte[] Write(string bundleName, string bundleVersion, IReadOnlyList<SbomComponent> components)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
            w.WriteString("bomFormat", "CycloneDX");
            w.WriteString("specVersion", SpecVersion);
            w.WriteString("serialNumber", SerialNumber(bundleName, bundleVersion, components));
            w.WriteNumber("version", 1);
            w.WriteStartObject("metadata");
            w.WriteStartObject("tools");
            w.WriteStartArray("components");
            w.WriteStartObject();
            w.WriteString("type", "application");
            w.WriteString("name", "offlinekit");
            w.WriteString("version", BundleWriter.CreatedBy.Split(' ')[^1]);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("component");
            w.WriteString("type", "platform");
            w.WriteString("bom-ref", "bundle:" + bundleName);
            w.WriteString("name", bundleName);
            w.WriteString("version", bundleVersion);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("components");
            foreach (var c in components)
            {
                w.WriteStartObject();
                w.WriteString("type", c.Type);
                w.WriteString("bom-ref", c.BomRef);
                w.WriteString("name", c.Name);
                if (c.Version is not null)
                {
                    w.WriteString("version", c.Version);
                }

                w.WriteStartArray("hashes");
                w.WriteStartObject();
                w.WriteString("alg", "SHA-256");
                w.WriteString("content", c.Sha256);
                w.WriteEndObject();
                w.WriteEndArray();
                if (c.Purl is not null)
                {
                    w.WriteString("purl", c.Purl);
                }

                w.WriteStartArray("properties");
                Property(w, "offlinekit:path", c.Path);
                if (c.Origin is not null)
                {
                    Property(w, "offlinekit:origin", c.Origin);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Component counts by type ("library" for RPMs, "container" for images, …) of an sbom.cdx.json.</summary>
    public static IReadOnlyDictionary<string, int> CountByType(ReadOnlySpan<byte> sbomJson)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(sbomJson);
        using var doc = JsonDocument.ParseValue(ref reader);
        if (doc.RootElement.TryGetProperty("components", out var components) && components.ValueKind == JsonValueKind.Array)
        {
            foreach (var c in components.EnumerateArray())
            {
                var type = c.TryGetProperty("type", out var t) ? t.GetString() ?? "?" : "?";
                counts[type] = counts.GetValueOrDefault(type) + 1;
            }
        }

        return counts;
    }

    /// <summary>pkg:rpm/&lt;namespace&gt;/&lt;name&gt;@&lt;version&gt;-&lt;release&gt;?arch=&lt;arch&gt;[&amp;epoch=N] for an RPM artifact (version "E:V-R.A").</summary>
    public static string RpmPurl(Artifact rpm)
    {
        var (epoch, version, release, arch) = SplitEvra(rpm.Version ?? throw new ArgumentException($"rpm {rpm.Name} has no version", nameof(rpm)));
        var purl = $"pkg:rpm/{Encode(RpmNamespace(rpm.Origin))}/{Encode(rpm.Name)}@{Encode($"{version}-{release}")}?arch={Encode(arch)}";
        return epoch == "0" ? purl : purl + "&epoch=" + Encode(epoch);
    }

    /// <summary>pkg:oci/&lt;name&gt;@sha256:&lt;manifest digest&gt;?repository_url=&lt;registry/repository&gt;&amp;tag=&lt;tag&gt;.</summary>
    public static string OciPurl(string imageName, string manifestDigest)
    {
        var image = ImageReference.Parse(imageName);
        var name = image.Repository[(image.Repository.LastIndexOf('/') + 1)..].ToLowerInvariant();
        var purl = $"pkg:oci/{Encode(name)}@{manifestDigest}?repository_url={Encode(image.Name, keepSlash: true)}";
        return image.Tag is null ? purl : purl + "&tag=" + Encode(image.Tag);
    }

    /// <summary>
    /// The vendor or distribution an RPM came from, by the repository URL it was fetched from: docker-ce's
    /// repository lies under .../docker-ce/linux/centos/, so docker is asked before centos.
    /// </summary>
    public static string RpmNamespace(string? origin)
    {
        var text = (origin ?? string.Empty).ToLowerInvariant();
        (string Marker, string Namespace)[] known =
        [
            ("docker", "docker"), ("kubernetes", "kubernetes"), ("rocky", "rocky"), ("almalinux", "almalinux"),
            ("centos", "centos"), ("epel", "epel"), ("fedora", "fedora"), ("openeuler", "openeuler"),
            ("oracle", "oracle"), ("redhat", "redhat"), ("rhel", "redhat"),
        ];
        foreach (var (marker, ns) in known)
        {
            if (text.Contains(marker, StringComparison.Ordinal))
            {
                return ns;
            }
        }

        // Otherwise the host's name without "www."/"mirrors." and the top-level domain: never empty.
        var host = Uri.TryCreate(origin, UriKind.Absolute, out var uri) ? uri.Host : string.Empty;
        var labels = host.Split('.').Where(l => l.Length > 0 && l is not ("www" or "mirrors" or "mirror")).ToList();
        return labels.Count switch
        {
            0 => "rpm",
            1 => labels[0],
            _ => labels[^2],
        };
    }

    /// <summary>"E:V-R.A" as bundle.json records an RPM's version.</summary>
    public static (string Epoch, string Version, string Release, string Arch) SplitEvra(string evra)
    {
        var colon = evra.IndexOf(':', StringComparison.Ordinal);
        var epoch = colon < 0 ? "0" : evra[..colon];
        var rest = evra[(colon + 1)..];
        var dot = rest.LastIndexOf('.');
        var arch = dot < 0 ? string.Empty : rest[(dot + 1)..];
        var vr = dot < 0 ? rest : rest[..dot];
        var dash = vr.LastIndexOf('-');
        return (epoch, dash < 0 ? vr : vr[..dash], dash < 0 ? string.Empty : vr[(dash + 1)..], arch);
    }

    private static string RpmVersion(Artifact rpm)
    {
        var (epoch, version, release, _) = SplitEvra(rpm.Version ?? string.Empty);
        return epoch == "0" ? $"{version}-{release}" : $"{epoch}:{version}-{release}";
    }

    private static void Property(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    /// <summary>Percent-encoding as purl asks: everything but unreserved characters (and '/' where a value is a path).</summary>
    private static string Encode(string text, bool keepSlash = false)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' || (keepSlash && c == '/'))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>A version-5-shaped UUID from the content, so the same bundle has the same serial number.</summary>
    private static string SerialNumber(string bundleName, string bundleVersion, IReadOnlyList<SbomComponent> components)
    {
        var text = new StringBuilder().Append(bundleName).Append('\n').Append(bundleVersion).Append('\n');
        foreach (var c in components)
        {
            text.Append(c.BomRef).Append(' ').Append(c.Sha256).Append('\n');
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        var hex = Convert.ToHexStringLower(hash.AsSpan(0, 16));
        return $"urn:uuid:{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }
}
