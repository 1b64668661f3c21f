using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Tests.Manifests;

/// <summary>
/// Structural comparison of two parsed YAML streams: same documents, same keys in the same order,
/// same sequence lengths, and scalars with the same value, tag and kind of style (plain, quoted,
/// block), since a plain scalar's type depends on its text while a quoted one is always a string.
/// Lists every difference by path, so a test can say exactly which places were allowed to change.
/// </summary>
public static class YamlDiff
{
    public static YamlStream Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream;
    }

    public static List<string> Compare(string before, string after) => Compare(Load(before), Load(after));

    public static List<string> Compare(YamlStream before, YamlStream after)
    {
        var differences = new List<string>();
        if (before.Documents.Count != after.Documents.Count)
        {
            differences.Add($"{before.Documents.Count} documents vs {after.Documents.Count}");
        }

        for (var i = 0; i < Math.Min(before.Documents.Count, after.Documents.Count); i++)
        {
            Compare(before.Documents[i].RootNode, after.Documents[i].RootNode, $"doc[{i}]", differences);
        }

        return differences;
    }

    private static void Compare(YamlNode a, YamlNode b, string path, List<string> differences)
    {
        switch (a, b)
        {
            case (YamlScalarNode x, YamlScalarNode y):
                if (x.Value != y.Value || x.Tag != y.Tag || StyleKind(x.Style) != StyleKind(y.Style))
                {
                    differences.Add($"{path}: {Show(x)} vs {Show(y)}");
                }

                break;
            case (YamlSequenceNode x, YamlSequenceNode y):
                if (x.Children.Count != y.Children.Count)
                {
                    differences.Add($"{path}: {x.Children.Count} items vs {y.Children.Count}");
                }

                for (var i = 0; i < Math.Min(x.Children.Count, y.Children.Count); i++)
                {
                    Compare(x.Children[i], y.Children[i], $"{path}[{i}]", differences);
                }

                break;
            case (YamlMappingNode x, YamlMappingNode y):
                var xs = x.Children.ToList();
                var ys = y.Children.ToList();
                var xKeys = xs.Select(kv => Key(kv.Key)).ToList();
                var yKeys = ys.Select(kv => Key(kv.Key)).ToList();
                if (!xKeys.SequenceEqual(yKeys))
                {
                    differences.Add($"{path}: keys [{string.Join(", ", xKeys)}] vs [{string.Join(", ", yKeys)}]");
                }

                foreach (var (key, value) in xs)
                {
                    var other = ys.FirstOrDefault(kv => Key(kv.Key) == Key(key));
                    if (other.Key is not null)
                    {
                        Compare(key, other.Key, $"{path}/{Key(key)}(key)", differences);
                        Compare(value, other.Value, $"{path}/{Key(key)}", differences);
                    }
                }

                break;
            default:
                differences.Add($"{path}: {a.NodeType} vs {b.NodeType}");
                break;
        }
    }

    private static string Key(YamlNode key) => key is YamlScalarNode s ? s.Value ?? "~" : $"<{key.NodeType}>";

    private static string Show(YamlScalarNode s) => $"{s.Style} '{s.Value}'{(s.Tag.IsEmpty ? string.Empty : " " + s.Tag)}";

    private static string StyleKind(ScalarStyle style) => style switch
    {
        ScalarStyle.Plain or ScalarStyle.Any => "plain",
        ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted => "quoted",
        _ => "block",
    };

    /// <summary>Mapping lookup by string key, for test assertions.</summary>
    public static YamlNode? At(this YamlNode node, params string[] keys)
    {
        var current = node;
        foreach (var key in keys)
        {
            current = current is YamlMappingNode m
                ? m.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode s && s.Value == key).Value
                : null;
        }

        return current;
    }

    public static string? Text(this YamlNode? node) => (node as YamlScalarNode)?.Value;
}
