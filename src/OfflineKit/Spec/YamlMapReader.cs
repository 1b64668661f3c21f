using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Spec;

/// <summary>
/// Strict reading of a YAML mapping into typed values. Every error names <c>file:line</c>;
/// keys that were never asked for are reported by <see cref="EnsureNoUnknownKeys"/>.
/// Spec, mirrors and inventory loading all stand on this one reader.
/// </summary>
public sealed class YamlMapReader
{
    private readonly YamlMappingNode _map;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    private YamlMapReader(YamlMappingNode map, string file, string what, bool isRoot)
    {
        _map = map;
        File = file;
        What = what;
        _isRoot = isRoot;
    }

    private readonly bool _isRoot;

    public string File { get; }

    /// <summary>What this mapping is, for messages ("spec", "rpm.repositories[1]").</summary>
    public string What { get; }

    public int Line => (int)_map.Start.Line;

    /// <summary>Parses a single-document YAML text whose root is a mapping.</summary>
    public static YamlMapReader Load(string text, string file, string what)
    {
        var stream = new YamlStream();
        var parser = new TrackingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            var message = (e.InnerException as YamlException)?.Message ?? e.Message;
            throw new BadInputException($"{file}:{e.Start.Line}: invalid YAML: {Trim(message)}", e);
        }
        catch (InvalidOperationException e)
        {
            // Some malformed input makes YamlDotNet's scanner throw without a position: name the last good one.
            throw new BadInputException($"{file}:{parser.LastLine}: invalid YAML near here: {e.Message}", e);
        }

        if (stream.Documents.Count == 0)
        {
            throw new BadInputException($"{file}:1: the file is empty; expected a {what}");
        }

        if (stream.Documents.Count > 1)
        {
            throw new BadInputException(
                $"{file}:{stream.Documents[1].RootNode.Start.Line}: expected one YAML document, found {stream.Documents.Count}");
        }

        return FromNode(stream.Documents[0].RootNode, file, what, isRoot: true);
    }

    /// <summary>
    /// Reads a small document through the YAML library, so its first use in a run (static tables,
    /// code run for the first time: ~20 ms) is paid on an idle core before a mirrors file, a spec or
    /// a manifest needs it.
    /// </summary>
    public static void WarmUp() =>
        _ = Load("warm:\n  - up\n  - {key: 'value', other: \"text\"}\nblock: |\n  text\nanchor: &a 1\nalias: *a\n", "warm-up", "warm-up").Keys();

    public static YamlMapReader LoadFile(string path, string what)
    {
        string text;
        try
        {
            text = IO.InputFile.ReadAllText(path, IO.InputFile.YamlCap, what);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot read {what}: {e.Message}", e);
        }

        return Load(text, path, what);
    }

    private static YamlMapReader FromNode(YamlNode node, string file, string what, bool isRoot = false) =>
        node is YamlMappingNode map
            ? new YamlMapReader(map, file, what, isRoot)
            : throw Error(file, node, $"{what} must be a mapping (key: value), found {Describe(node)}");

    /// <summary>Checks a document's `apiVersion: offlinekit/v1` and `kind`; <paramref name="what"/> names the kind for the error ("a bundle spec").</summary>
    public void RequireHeader(string kind, string what)
    {
        var apiVersion = RequiredString("apiVersion");
        if (apiVersion != "offlinekit/v1")
        {
            throw ErrorAt("apiVersion", $"apiVersion '{apiVersion}' is not supported (expected offlinekit/v1)");
        }

        var found = RequiredString("kind");
        if (found != kind)
        {
            throw ErrorAt("kind", $"kind '{found}' is not {what} (expected {kind})");
        }
    }

    public BadInputException ErrorAt(string key, string message) =>
        Error(File, FindValue(key) ?? _map, message);

    public BadInputException ErrorHere(string message) => Error(File, _map, message);

    /// <summary>The line of a key's value, or of this mapping when the key is absent.</summary>
    public int LineOf(string key) => (int)(FindValue(key) ?? _map).Start.Line;

    public static BadInputException Error(string file, YamlNode node, string message) =>
        new($"{file}:{node.Start.Line}: {message}");

    public string RequiredString(string key) =>
        OptionalString(key) ?? throw ErrorHere($"{What}: missing required field '{key}'");

    public string? OptionalString(string key)
    {
        _known.Add(key);
        var node = FindValue(key);
        return node switch
        {
            null => null,
            YamlScalarNode { Value: null or "" or "~", Style: ScalarStyle.Plain } => null,
            YamlScalarNode s => s.Value,
            _ => throw Error(File, node, $"{Field(key)} must be a string, found {Describe(node)}"),
        };
    }

    public bool? OptionalBool(string key)
    {
        var text = OptionalString(key);
        return text switch
        {
            null => null,
            "true" or "True" or "yes" => true,
            "false" or "False" or "no" => false,
            _ => throw ErrorAt(key, $"{Field(key)} must be true or false, found '{text}'"),
        };
    }

    public int? OptionalInt(string key, int min, int max)
    {
        var text = OptionalString(key);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value < min || value > max)
        {
            throw ErrorAt(key, $"{Field(key)} must be a whole number from {min} to {max}, found '{text}'");
        }

        return value;
    }

    /// <summary>A sequence of strings; a missing key is an empty list unless <paramref name="required"/>.</summary>
    public IReadOnlyList<string> StringList(string key, bool required = false)
    {
        var seq = Sequence(key, required);
        if (seq is null)
        {
            return [];
        }

        var list = new List<string>(seq.Children.Count);
        foreach (var item in seq.Children)
        {
            if (item is not YamlScalarNode { Value: { Length: > 0 } value })
            {
                throw Error(File, item, $"{Field(key)}: every item must be a non-empty string, found {Describe(item)}");
            }

            list.Add(value);
        }

        if (required && list.Count == 0)
        {
            throw Error(File, seq, $"{Field(key)} must not be empty");
        }

        return list;
    }

    /// <summary>A string or a list of strings (a registry with one mirror or several).</summary>
    public IReadOnlyList<string> StringOrList(string key)
    {
        var node = FindValue(key);
        if (node is YamlScalarNode)
        {
            var single = OptionalString(key);
            return single is null ? [] : [single];
        }

        return StringList(key);
    }

    public YamlMapReader RequiredMap(string key) =>
        OptionalMap(key) ?? throw ErrorHere($"{What}: missing required field '{key}'");

    public YamlMapReader? OptionalMap(string key)
    {
        _known.Add(key);
        var node = FindValue(key);
        if (node is null || node is YamlScalarNode { Value: null or "" or "~", Style: ScalarStyle.Plain })
        {
            return null;
        }

        return FromNode(node, File, $"{Field(key)}");
    }

    public IReadOnlyList<YamlMapReader> MapList(string key, bool required = false) =>
        Sequence(key, required)?.Children.Select((child, i) => FromNode(child, File, $"{Field(key)}[{i}]")).ToList() ?? [];

    /// <summary>The list under a key; null when the key is absent or empty and not required.</summary>
    private YamlSequenceNode? Sequence(string key, bool required)
    {
        _known.Add(key);
        var node = FindValue(key);
        if (node is null || node is YamlScalarNode { Value: null or "" or "~", Style: ScalarStyle.Plain })
        {
            return required ? throw ErrorHere($"{What}: missing required field '{key}'") : null;
        }

        return node as YamlSequenceNode ?? throw Error(File, node, $"{Field(key)} must be a list, found {Describe(node)}");
    }

    /// <summary>The keys of a free-form mapping (registry names, URL prefixes), in file order.</summary>
    public IReadOnlyList<string> Keys()
    {
        var keys = new List<string>();
        foreach (var (k, _) in _map.Children)
        {
            if (k is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                throw Error(File, k, $"{What}: keys must be plain strings");
            }

            keys.Add(name);
        }

        return keys;
    }

    /// <summary>The raw node under a key, for free-form values such as daemon.json.</summary>
    public YamlNode? RawNode(string key)
    {
        _known.Add(key);
        return FindValue(key);
    }

    public void EnsureNoUnknownKeys()
    {
        foreach (var (k, _) in _map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (!_known.Contains(name))
            {
                var expected = string.Join(", ", _known.Order(StringComparer.Ordinal));
                throw Error(File, k, $"unknown key '{name}' in {What} (expected one of: {expected})");
            }
        }
    }

    private YamlNode? FindValue(string key)
    {
        foreach (var (k, v) in _map.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>How a field is named in messages: "cluster.podSubnet", but "kind" at the top.</summary>
    public string Field(string key) => _isRoot ? key : $"{What}.{key}";

    internal static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Value: null or "" or "~" } => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };

    /// <summary>Remembers where the parser was, for errors that come without a position.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public long LastLine { get; private set; } = 1;

        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (inner.Current is { } current)
            {
                LastLine = current.Start.Line;
            }

            return moved;
        }
    }

    private static string Trim(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 1, Idx: 12) - (Line: …): "; the file:line we print says it already.
        var i = message.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 ? message[(i + 3)..] : message;
    }
}
