using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace OfflineKit.Rpm;

/// <summary>One build of an EL8 module stream (a <c>modulemd</c> v2 document).</summary>
public sealed record ModuleBuild(
    string Name,
    string Stream,
    string Version,
    string Context,
    string Arch,
    IReadOnlySet<string> Artifacts)
{
    /// <summary>"container-tools:rhel8".</summary>
    public string Id => $"{Name}:{Stream}";
}

/// <summary>
/// A repository's modules.yaml: the module stream builds (with the NEVRAs of their RPMs) and the
/// default stream of each module (<c>modulemd-defaults</c>).
/// </summary>
public sealed record ModuleMetadata(IReadOnlyList<ModuleBuild> Builds, IReadOnlyDictionary<string, string> Defaults)
{
    public static readonly ModuleMetadata Empty = new([], new Dictionary<string, string>());

    /// <summary>Reads decompressed modules.yaml, one YAML document at a time.</summary>
    public static ModuleMetadata Read(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var text = new StreamReader(content, leaveOpen: true);
        var parser = new Parser(text);
        var deserializer = new DeserializerBuilder().Build();
        var builds = new List<ModuleBuild>();
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        parser.Consume<StreamStart>();
        while (!parser.Accept<StreamEnd>(out _))
        {
            if (deserializer.Deserialize<object>(parser) is not Dictionary<object, object> doc)
            {
                continue;
            }

            var kind = Str(doc, "document");
            var data = doc.GetValueOrDefault("data") as Dictionary<object, object>;
            if (data is null)
            {
                continue;
            }

            if (kind == "modulemd")
            {
                var name = Str(data, "name");
                var stream = Str(data, "stream");
                if (name is null || stream is null)
                {
                    throw new FormatException("a modulemd document lacks its name or stream");
                }

                var artifacts = new HashSet<string>(StringComparer.Ordinal);
                if ((data.GetValueOrDefault("artifacts") as Dictionary<object, object>)?.GetValueOrDefault("rpms") is List<object> rpms)
                {
                    foreach (var r in rpms)
                    {
                        if (r is string s)
                        {
                            artifacts.Add(s);
                        }
                    }
                }

                builds.Add(new ModuleBuild(
                    name, stream, Str(data, "version") ?? "0", Str(data, "context") ?? string.Empty, Str(data, "arch") ?? string.Empty, artifacts));
            }
            else if (kind == "modulemd-defaults")
            {
                var module = Str(data, "module");
                var stream = Str(data, "stream");
                if (module is not null && stream is not null)
                {
                    defaults[module] = stream;
                }
            }
        }

        return new ModuleMetadata(builds, defaults);
    }

    /// <summary>Opens, decompresses, checks against <paramref name="record"/> and reads a modules file.</summary>
    public static ModuleMetadata Read(Stream input, RepomdRecord? record, string name) =>
        MetadataFile.Read(input, record, name, Read);

    private static string? Str(Dictionary<object, object> map, string key) =>
        map.GetValueOrDefault(key) is string s ? s : null;
}
