using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Manifests;

/// <summary>
/// Keeps strings strings when scalars are written back. A plain scalar is typed by its text when
/// read again: YAML 1.1 (go-yaml v2, which kubectl's sigs.k8s.io/yaml uses) reads <c>yes</c>,
/// <c>on</c>, <c>0755</c> and <c>1.10</c> as bool, octal and float, YAML 1.2 reads <c>1e3</c> as a float.
/// Kubernetes then rejects or silently changes a field that must be a string (an env value, an arg).
/// </summary>
public static partial class YamlScalars
{
    /// <summary>
    /// True when <paramref name="value"/>, written as a plain scalar, would be read back as
    /// something other than that string by a YAML 1.1 or 1.2 (core schema) reader.
    /// </summary>
    public static bool PlainWouldNotBeString(string value) =>
        value.Length == 0 || Yaml11Implicit().IsMatch(value) || Yaml12Implicit().IsMatch(value);

    /// <summary>A new string scalar: plain where that reads back as the same string, else double-quoted.</summary>
    public static YamlScalarNode Text(string value) =>
        new(value) { Style = PlainWouldNotBeString(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain };

    /// <summary>
    /// Gives <paramref name="node"/> a new string value, keeping the style the manifest's author
    /// chose (quoted stays quoted); a plain one becomes double-quoted only if the new text needs it.
    /// </summary>
    public static void SetString(YamlScalarNode node, string value)
    {
        node.Value = value;
        if ((node.Style is ScalarStyle.Plain or ScalarStyle.Any) && PlainWouldNotBeString(value))
        {
            node.Style = ScalarStyle.DoubleQuoted;
        }
    }

    // YAML 1.1 types (yaml.org/type): bool, null, int (2/8/10/16/60), float, timestamp, merge, value.
    [GeneratedRegex("""
        ^(?:
            y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
          | ~|null|Null|NULL
          | [-+]?0b[0-1_]+
          | [-+]?0[0-7_]+
          | [-+]?(?:0|[1-9][0-9_]*)
          | [-+]?0x[0-9a-fA-F_]+
          | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
          | [-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?
          | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
          | [-+]?\.(?:inf|Inf|INF)
          | \.(?:nan|NaN|NAN)
          | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[\x20\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[\x20\t]*Z|[\x20\t]*[-+][0-9]{1,2}(?::[0-9]{2})?)?)?
          | <<
          | =
        )$
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Yaml11Implicit();

    // YAML 1.2 core schema: adds exponents without a dot (1e3) and 0o octal; go-yaml v3 and most tools.
    [GeneratedRegex("""
        ^(?:
            [-+]?[0-9]+
          | 0o[0-7]+
          | 0x[0-9a-fA-F]+
          | [-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
          | [-+]?\.(?:inf|Inf|INF)
          | \.(?:nan|NaN|NAN)
        )$
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Yaml12Implicit();
}
