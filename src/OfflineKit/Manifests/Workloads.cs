using YamlDotNet.RepresentationModel;

namespace OfflineKit.Manifests;

/// <summary>A pod spec inside a manifest: which document, which object, and the <c>spec</c> node itself.</summary>
public sealed record PodSpecSite(int Document, string Kind, string Name, YamlMappingNode PodSpec)
{
    /// <summary>"DaemonSet kube-system/calico-node (document 26)", for messages.</summary>
    public override string ToString() => $"{Kind} {Name} (document {Document + 1})";
}

/// <summary>One container of a pod spec, found in <c>containers</c>, <c>initContainers</c> or <c>ephemeralContainers</c>.</summary>
public sealed record ContainerSite(PodSpecSite Workload, string List, int Index, YamlMappingNode Node)
{
    public string? Name => (Node.Get("name") as YamlScalarNode)?.Value;

    public override string ToString() => $"{Workload} {List}[{Index}] '{Name}'";
}

/// <summary>
/// Finds the pod specs of every workload kind by where Kubernetes keeps them, in every document
/// and inside <c>List</c> documents' items. The kinds are Kubernetes' own; no image or container
/// name of any addon is known here.
/// </summary>
public static class Workloads
{
    /// <summary>The lists of a pod spec that hold containers, each with its own image.</summary>
    public static readonly IReadOnlyList<string> ContainerLists = ["initContainers", "containers", "ephemeralContainers"];

    // The path from an object of each kind down to its pod spec.
    private static readonly Dictionary<string, string[]> PodSpecPaths = new(StringComparer.Ordinal)
    {
        ["Pod"] = ["spec"],
        ["PodTemplate"] = ["template", "spec"],
        ["Deployment"] = ["spec", "template", "spec"],
        ["DaemonSet"] = ["spec", "template", "spec"],
        ["StatefulSet"] = ["spec", "template", "spec"],
        ["ReplicaSet"] = ["spec", "template", "spec"],
        ["ReplicationController"] = ["spec", "template", "spec"],
        ["Job"] = ["spec", "template", "spec"],
        ["CronJob"] = ["spec", "jobTemplate", "spec", "template", "spec"],
    };

    public static IEnumerable<PodSpecSite> PodSpecs(YamlManifest manifest)
    {
        for (var i = 0; i < manifest.Documents.Count; i++)
        {
            foreach (var site in PodSpecs(manifest.Documents[i].RootNode, i))
            {
                yield return site;
            }
        }
    }

    public static IEnumerable<ContainerSite> Containers(YamlManifest manifest) =>
        PodSpecs(manifest).SelectMany(Containers);

    public static IEnumerable<ContainerSite> Containers(PodSpecSite site)
    {
        foreach (var list in ContainerLists)
        {
            if (site.PodSpec.Get(list) is not YamlSequenceNode sequence)
            {
                continue;
            }

            for (var i = 0; i < sequence.Children.Count; i++)
            {
                if (sequence.Children[i] is YamlMappingNode container)
                {
                    yield return new ContainerSite(site, list, i, container);
                }
            }
        }
    }

    private static IEnumerable<PodSpecSite> PodSpecs(YamlNode node, int document)
    {
        if (node is not YamlMappingNode obj || obj.Get("kind") is not YamlScalarNode { Value: { } kind })
        {
            yield break;
        }

        // "kind: List" is what kubectl get -o yaml writes; typed lists (DeploymentList, …) have items too.
        if (kind.EndsWith("List", StringComparison.Ordinal) && obj.Get("items") is YamlSequenceNode items)
        {
            foreach (var item in items)
            {
                foreach (var site in PodSpecs(item, document))
                {
                    yield return site;
                }
            }

            yield break;
        }

        if (!PodSpecPaths.TryGetValue(kind, out var path))
        {
            yield break;
        }

        YamlNode? current = obj;
        foreach (var key in path)
        {
            current = (current as YamlMappingNode)?.Get(key);
        }

        if (current is YamlMappingNode podSpec)
        {
            yield return new PodSpecSite(document, kind, QualifiedName(obj), podSpec);
        }
    }

    private static string QualifiedName(YamlMappingNode obj)
    {
        var metadata = obj.Get("metadata") as YamlMappingNode;
        var name = (metadata?.Get("name") as YamlScalarNode)?.Value ?? "(unnamed)";
        return (metadata?.Get("namespace") as YamlScalarNode)?.Value is { Length: > 0 } ns ? $"{ns}/{name}" : name;
    }
}
