using OfflineKit.Images;
using OfflineKit.Spec;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Manifests;

/// <summary>One change a patch made, for logs and for tests that check nothing else changed.</summary>
public sealed record PatchChange(ContainerSite Container, string Field, string Description)
{
    public override string ToString() => $"{Container}: {Description}";
}

/// <summary>
/// Applies a spec's patches to an addon's manifest by structure: it finds containers by name in
/// every workload and changes only their <c>env</c>, <c>args</c> or <c>image</c>. Everything else in
/// the manifest is left as it was.
/// </summary>
public static class ManifestPatcher
{
    /// <summary>
    /// Applies <paramref name="patches"/> in order. A patch whose container is in no workload means
    /// the spec does not fit this manifest: that is a <see cref="BadInputException"/>, not a silent no-op.
    /// </summary>
    public static IReadOnlyList<PatchChange> Apply(YamlManifest manifest, string addon, IReadOnlyList<ManifestPatch> patches, ClusterDefaults cluster)
    {
        var changes = new List<PatchChange>();
        foreach (var patch in patches)
        {
            var targets = Workloads.Containers(manifest).Where(c => c.Name == patch.Container).ToList();
            if (targets.Count == 0)
            {
                var known = Workloads.Containers(manifest).Select(c => c.Name).OfType<string>().Distinct().Order(StringComparer.Ordinal);
                throw new BadInputException(
                    $"addon {addon}: patch {Describe(patch)}: no container named '{patch.Container}' in any workload of {manifest.Source} "
                    + $"(containers there: {string.Join(", ", known)}); fix the patch in the spec");
            }

            var value = ClusterVariables.Expand(patch.Value, cluster);
            foreach (var target in targets)
            {
                var change = patch.Op switch
                {
                    ManifestPatchOp.SetEnv => SetEnv(manifest.Source, target, patch.Name ?? throw new ArgumentException($"patch {Describe(patch)} has no env name", nameof(patches)), value),
                    ManifestPatchOp.AddArg => AddArg(manifest.Source, target, value),
                    ManifestPatchOp.SetImage => SetImage(target, addon, patch, value),
                    _ => throw new ArgumentOutOfRangeException(nameof(patches), patch.Op, "unknown patch op"),
                };
                if (change is not null)
                {
                    changes.Add(change);
                }
            }
        }

        return changes;
    }

    /// <summary>
    /// Points every container image at <paramref name="registry"/> (host[:port] of a private
    /// registry), keeping repository path, tag and digest: docker.io/calico/node:v3.25.2 becomes
    /// reg.local:5000/calico/node:v3.25.2.
    /// </summary>
    public static IReadOnlyList<PatchChange> RewriteRegistry(YamlManifest manifest, string registry)
    {
        var error = ImageReference.CheckRegistry(registry);
        if (error is not null)
        {
            throw new BadInputException($"image registry '{registry}': {error}; give a registry host such as reg.local:5000");
        }

        var changes = new List<PatchChange>();
        foreach (var container in Workloads.Containers(manifest))
        {
            var (node, image) = ImageExtractor.ImageOf(manifest, container);
            var moved = image.WithRegistry(registry);
            if (moved.ToString() != node.Value)
            {
                changes.Add(new PatchChange(container, "image", $"image {node.Value} -> {moved}"));
                YamlScalars.SetString(node, moved.ToString());
            }
        }

        return changes;
    }

    private static PatchChange? SetEnv(string source, ContainerSite container, string name, string value)
    {
        var env = Sequence(source, container, "env");
        PatchChange? change = null;
        var found = false;
        foreach (var entry in env.Children.OfType<YamlMappingNode>())
        {
            if ((entry.Get("name") as YamlScalarNode)?.Value != name)
            {
                continue;
            }

            found = true;

            // A value and a valueFrom together are invalid; the value asked for wins.
            var hadValueFrom = entry.Remove("valueFrom");
            if (entry.Get("value") is YamlScalarNode scalar)
            {
                if (scalar.Value == value && !hadValueFrom)
                {
                    continue;
                }

                var old = scalar.Value;
                YamlScalars.SetString(scalar, value);
                change = new PatchChange(container, "env", $"env {name}: '{old}' -> '{value}'");
            }
            else
            {
                entry.Set("value", YamlScalars.Text(value));
                change = new PatchChange(container, "env", $"env {name} = '{value}'");
            }
        }

        if (!found)
        {
            // Calico ships CALICO_IPV4POOL_CIDR commented out: the variable must be added, not edited.
            env.Add(new YamlMappingNode
            {
                { YamlScalars.Text("name"), YamlScalars.Text(name) },
                { YamlScalars.Text("value"), YamlScalars.Text(value) },
            });
            change = new PatchChange(container, "env", $"env {name} = '{value}' (added)");
        }

        return change;
    }

    private static PatchChange? AddArg(string source, ContainerSite container, string arg)
    {
        var args = Sequence(source, container, "args");
        if (args.Children.Any(a => a is YamlScalarNode s && s.Value == arg))
        {
            return null;
        }

        args.Add(YamlScalars.Text(arg));
        return new PatchChange(container, "args", $"args += {arg}");
    }

    private static PatchChange? SetImage(ContainerSite container, string addon, ManifestPatch patch, string image)
    {
        try
        {
            ImageReference.Parse(image);
        }
        catch (FormatException e)
        {
            throw new BadInputException($"addon {addon}: patch {Describe(patch)}: {e.Message}; fix the patch in the spec", e);
        }

        if (container.Node.Get("image") is YamlScalarNode node)
        {
            if (node.Value == image)
            {
                return null;
            }

            var old = node.Value;
            YamlScalars.SetString(node, image);
            return new PatchChange(container, "image", $"image {old} -> {image}");
        }

        container.Node.Set("image", YamlScalars.Text(image));
        return new PatchChange(container, "image", $"image = {image}");
    }

    /// <summary>The sequence under <paramref name="key"/> of a container, made (block style, at the end) if absent.</summary>
    private static YamlSequenceNode Sequence(string source, ContainerSite container, string key)
    {
        switch (container.Node.Get(key))
        {
            case YamlSequenceNode sequence:
                return sequence;
            case null:
            case YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain }:
                var created = new YamlSequenceNode();
                container.Node.Set(key, created);
                return created;
            case var other:
                throw new OperationFailedException($"{source}:{other.Start.Line}: {container}: '{key}' is not a list, so it cannot be patched");
        }
    }

    private static string Describe(ManifestPatch patch) => patch.Op switch
    {
        ManifestPatchOp.SetEnv => $"set-env {patch.Name} on container '{patch.Container}'",
        ManifestPatchOp.AddArg => $"add-arg {patch.Value} on container '{patch.Container}'",
        ManifestPatchOp.SetImage => $"set-image {patch.Value} on container '{patch.Container}'",
        _ => patch.Op.ToString(),
    };
}
