using System.Text.Json.Nodes;
using YamlDotNet.Serialization;

namespace OfflineKit.Spec;

/// <summary>Writes a spec back as YAML that <see cref="BundleSpecLoader.Parse"/> reads to the same spec.</summary>
public static class BundleSpecWriter
{
    public static string ToYaml(BundleSpec spec)
    {
        var metadata = new Dictionary<string, object?> { ["name"] = spec.Name, ["version"] = spec.Version.ToNormalizedString() };
        if (spec.CatalogRevision is not null)
        {
            metadata["catalogRevision"] = spec.CatalogRevision;
        }

        var doc = new Dictionary<string, object?>
        {
            ["apiVersion"] = "offlinekit/v1",
            ["kind"] = "BundleSpec",
            ["metadata"] = metadata,
            ["kubernetes"] = new Dictionary<string, object?> { ["version"] = spec.Kubernetes.ToString(), ["imageRepository"] = spec.ImageRepository },
            ["target"] = new Dictionary<string, object?> { ["os"] = spec.Target.OsName, ["arch"] = spec.Target.ArchName },
            ["runtime"] = spec.Runtime.Name(),
            ["rpm"] = new Dictionary<string, object?>
            {
                ["repositories"] = spec.Rpm.Repositories.Select(r => new Dictionary<string, object?>
                {
                    ["name"] = r.Name,
                    ["baseurl"] = r.BaseUrl.AbsoluteUri,
                    ["gpgkeys"] = r.GpgKeys.Select(k => k.AbsoluteUri).ToList(),
                }).ToList(),
                ["packages"] = spec.Rpm.Packages.ToList(),
                ["baseline"] = spec.Rpm.Baseline.ToList(),
            },
            ["addons"] = spec.Addons.Select(a => new Dictionary<string, object?>
            {
                ["name"] = a.Name,
                ["version"] = a.Version,
                ["url"] = a.Url.AbsoluteUri,
                ["patches"] = a.Patches.Select(Patch).ToList(),
            }).ToList(),
            ["cluster"] = new Dictionary<string, object?>
            {
                ["podSubnet"] = spec.Cluster.PodSubnet.ToString(),
                ["serviceSubnet"] = spec.Cluster.ServiceSubnet.ToString(),
                ["dnsDomain"] = spec.Cluster.DnsDomain,
            },
        };

        if (spec.Images.Count > 0)
        {
            doc["images"] = spec.Images.Select(i => i.ToString()).ToList();
        }

        // A containerd spec has no daemon.json to say anything about.
        if (spec.DockerDaemon.Count > 0)
        {
            doc["docker"] = new Dictionary<string, object?> { ["daemon"] = FromJson(spec.DockerDaemon) };
        }

        return new SerializerBuilder().Build().Serialize(doc);
    }

    internal static Dictionary<string, object?> Patch(ManifestPatch p)
    {
        var d = new Dictionary<string, object?>
        {
            ["op"] = p.Op switch { ManifestPatchOp.SetEnv => "set-env", ManifestPatchOp.AddArg => "add-arg", _ => "set-image" },
            ["container"] = p.Container,
        };
        if (p.Name is not null)
        {
            d["name"] = p.Name;
        }

        d["value"] = p.Value;
        return d;
    }

    private static object? FromJson(JsonNode? node) => node switch
    {
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => FromJson(kv.Value)),
        JsonArray a => a.Select(FromJson).ToList(),
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v => v.ToString(),
        _ => null,
    };
}
