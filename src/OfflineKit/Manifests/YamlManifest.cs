using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Manifests;

/// <summary>
/// A Kubernetes manifest as a stream of YAML documents, held as nodes so it is changed by
/// structure, never by text. Writing it back keeps every document, key order, scalar value and
/// scalar style (quoted stays quoted, a literal block stays a block); comments are not kept,
/// as YAML's node model has none.
/// </summary>
public sealed class YamlManifest
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly YamlStream _stream;

    private YamlManifest(YamlStream stream, string source)
    {
        _stream = stream;
        Source = source;
    }

    /// <summary>Where the text came from (a URL or a file), for messages.</summary>
    public string Source { get; }

    public IReadOnlyList<YamlDocument> Documents => _stream.Documents.AsReadOnly();

    /// <summary>Parses UTF-8 bytes (a BOM is allowed); bad UTF-8 or bad YAML is an error naming <paramref name="source"/>.</summary>
    public static YamlManifest Parse(ReadOnlySpan<byte> utf8, string source)
    {
        if (utf8.StartsWith(Encoding.UTF8.Preamble))
        {
            utf8 = utf8[Encoding.UTF8.Preamble.Length..];
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new OperationFailedException($"{source}: not UTF-8 text, so not a YAML manifest ({e.Message})", e);
        }

        return Parse(text, source);
    }

    public static YamlManifest Parse(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var message = (e.InnerException as YamlException)?.Message ?? e.Message;
            throw new OperationFailedException($"{source}:{e.Start.Line}: invalid YAML: {message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Some malformed input makes YamlDotNet's scanner throw without a position (see YamlMapReader).
            throw new OperationFailedException($"{source}: invalid YAML: {e.Message}", e);
        }

        return new YamlManifest(stream, source);
    }

    /// <summary>The manifest as YAML text: documents separated by <c>---</c>, LF line ends.</summary>
    public string ToYaml()
    {
        var writer = new StringWriter { NewLine = "\n" };

        // No line folding (a long plain or quoted scalar stays on one line) and sequences indented
        // under their key, as Calico and the Kubernetes docs write them.
        var settings = EmitterSettings.Default.WithBestWidth(int.MaxValue).WithNewLine("\n").WithIndentedSequences();

        // assignAnchors: false keeps the anchors the author wrote and invents none.
        _stream.Save(new ImplicitDocumentEnd(new Emitter(writer, settings)), assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>The manifest as UTF-8 bytes without a BOM, as it goes into a bundle.</summary>
    public byte[] ToUtf8() => StrictUtf8.GetBytes(ToYaml());

    /// <summary>
    /// YamlStream ends every document with an explicit "..." marker; "---" alone is what
    /// Kubernetes manifests use, and all readers accept it.
    /// </summary>
    private sealed class ImplicitDocumentEnd(IEmitter inner) : IEmitter
    {
        public void Emit(ParsingEvent @event) => inner.Emit(@event is DocumentEnd { IsImplicit: false } ? new DocumentEnd(isImplicit: true) : @event);
    }
}
