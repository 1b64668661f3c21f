using Tomlyn;
using Tomlyn.Model;

namespace OfflineKit.Install;

/// <summary>
/// /etc/containerd/config.toml for kubelet, merged: the installed containerd's own defaults
/// (<c>containerd config default</c>), the host's current file over them (its other keys are kept),
/// and offlinekit's three settings over that: runc with <c>SystemdCgroup = true</c>, the sandbox image
/// pinned to exactly kubeadm's pause image, and <c>config_path</c> for the hosts.toml files. The CRI
/// plugin, which the containerd.io package's stub file disables, is enabled. Pure: text in, text out,
/// the same output for the same input, so a rerun finds nothing to change.
/// </summary>
public static class ContainerdConfig
{
    /// <summary>Where the per-registry hosts.toml files go (containerd's documented place).</summary>
    public const string CertsDirectory = "/etc/containerd/certs.d";

    /// <summary>
    /// The keys offlinekit sets, per config version. Version 2 is containerd 1.x (sandbox_image under the
    /// CRI plugin), version 3 is containerd 2.x (pinned_images.sandbox under the images plugin); sources:
    /// containerd's docs/cri/config.md for each release line.
    /// </summary>
    private static readonly Dictionary<long, (string[] Sandbox, string[] SystemdCgroup, string[] ConfigPath, string Cri)> Keys = new()
    {
        [2] = (
            ["plugins", "io.containerd.grpc.v1.cri", "sandbox_image"],
            ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options", "SystemdCgroup"],
            ["plugins", "io.containerd.grpc.v1.cri", "registry", "config_path"],
            "io.containerd.grpc.v1.cri"),
        [3] = (
            ["plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"],
            ["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc", "options", "SystemdCgroup"],
            ["plugins", "io.containerd.cri.v1.images", "registry", "config_path"],
            "io.containerd.grpc.v1.cri"),
    };

    /// <summary>The merged file; <paramref name="current"/> is null when the host has none. Bad TOML is bad input naming the file.</summary>
    public static string Merge(string defaults, string? current, string sandboxImage)
    {
        var merged = Parse(defaults, "`containerd config default`");
        var version = Version(merged);
        if (!Keys.TryGetValue(version, out var keys))
        {
            throw new OperationFailedException($"`containerd config default` writes config version {version}; offlinekit knows versions 2 (containerd 1.x) and 3 (containerd 2.x)");
        }

        if (!string.IsNullOrWhiteSpace(current))
        {
            var existing = Parse(current, "/etc/containerd/config.toml");
            if (existing.ContainsKey("version") && Version(existing) != version)
            {
                throw new OperationFailedException(
                    $"/etc/containerd/config.toml is config version {Version(existing)}, but this containerd writes version {version}: move the file aside (or run `containerd config migrate`) and run again");
            }

            Overlay(merged, existing);
        }

        Set(merged, keys.Sandbox, sandboxImage);
        Set(merged, keys.SystemdCgroup, true);
        Set(merged, keys.ConfigPath, CertsDirectory);
        if (merged.TryGetValue("disabled_plugins", out var disabled) && disabled is TomlArray list)
        {
            // The containerd.io package ships `disabled_plugins = ["cri"]`: kubelet needs the CRI plugin.
            for (var i = list.Count - 1; i >= 0; i--)
            {
                if (list[i] is "cri" || Equals(list[i], keys.Cri))
                {
                    list.RemoveAt(i);
                }
            }
        }

        return TomlSerializer.Serialize(merged);
    }

    /// <summary>The sandbox image a config.toml pins, or null: what the offline guarantee checks is present.</summary>
    public static string? SandboxImage(string toml)
    {
        var table = Parse(toml, "config.toml");
        return Keys.TryGetValue(Version(table), out var keys) && Get(table, keys.Sandbox) is string image ? image : null;
    }

    private static TomlTable Parse(string text, string what)
    {
        try
        {
            return TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new OperationFailedException($"{what} is not valid TOML: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>A file without `version` is version 1 to containerd; only 2 and 3 are written here.</summary>
    private static long Version(TomlTable table) => table.TryGetValue("version", out var v) && v is long n ? n : 1;

    private static void Overlay(TomlTable target, TomlTable source)
    {
        foreach (var (key, value) in source)
        {
            if (value is TomlTable table && target.TryGetValue(key, out var existing) && existing is TomlTable into)
            {
                Overlay(into, table);
            }
            else
            {
                target[key] = value;
            }
        }
    }

    private static object? Get(TomlTable table, string[] path)
    {
        object? node = table;
        foreach (var key in path)
        {
            if (node is not TomlTable t || !t.TryGetValue(key, out node))
            {
                return null;
            }
        }

        return node;
    }

    private static void Set(TomlTable table, string[] path, object value)
    {
        var node = table;
        foreach (var key in path[..^1])
        {
            if (!node.TryGetValue(key, out var next) || next is not TomlTable child)
            {
                child = new TomlTable();
                node[key] = child;
            }

            node = child;
        }

        node[path[^1]] = value;
    }
}
