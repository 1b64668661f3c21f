using YamlDotNet.RepresentationModel;

namespace OfflineKit.Manifests;

/// <summary>Reading and changing mapping nodes by their string keys, keeping key order.</summary>
internal static class YamlNodes
{
    public static YamlNode? Get(this YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode { Value: { } text } && text == key)
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>Replaces the value under <paramref name="key"/> where it stands, or appends the key.</summary>
    public static void Set(this YamlMappingNode map, string key, YamlNode value)
    {
        var existing = map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode { Value: { } text } && text == key);
        if (existing is null)
        {
            map.Children.Add(YamlScalars.Text(key), value);
        }
        else
        {
            map.Children[existing] = value;
        }
    }

    public static bool Remove(this YamlMappingNode map, string key)
    {
        var existing = map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode { Value: { } text } && text == key);
        return existing is not null && map.Children.Remove(existing);
    }
}
