using System.Buffers.Text;
using System.Text;

namespace OfflineKit.Rpm;

/// <summary>
/// A forward-only reader of the XML that repodata's big files are (primary.xml, filelists.xml),
/// over UTF-8 bytes as they stream out of the decompressor. It hands out element names and raw
/// attribute values as byte spans, so what the caller does not keep is never turned into strings.
/// </summary>
/// <remarks>
/// <para>
/// It checks what a reader of metadata needs checked: tags nest and match, the file does not end
/// inside an element, entities are the five predefined ones or character references, the encoding
/// is UTF-8 (invalid bytes are an error). It refuses a DTD (repodata never has one; refusing it also
/// shuts out entity expansion), as the XmlReader settings of the small files do. Comments and
/// processing instructions are skipped; CDATA sections are read as text. Namespaces are not
/// resolved: elements are matched by local name, and <c>xml:base</c> by its literal name, which
/// the XML namespaces spec fixes.
/// </para>
/// <para>
/// Whatever it hands out as a span (names, attribute values) is valid until the next call that
/// moves it (<see cref="Read"/>, <see cref="Skip"/>, <see cref="ReadText"/>).
/// </para>
/// </remarks>
internal sealed class XmlScanner
{
    private static readonly System.Buffers.SearchValues<byte> AttributeSpecials = System.Buffers.SearchValues.Create("&\r\n\t"u8);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private byte[] _buf;
    private int _pos;
    private int _end;
    private bool _eof;

    // The current start tag: its name, and its attributes parsed on first use.
    private int _nameStart;
    private int _nameLength;
    private int _localStart;
    private int _attrsStart;
    private int _attrsEnd;
    private bool _attrsParsed;
    private int[] _attrs = new int[32]; // (nameStart, nameLength, valueStart, valueLength) per attribute
    private int _attrCount;

    // The names of the open elements, to check end tags against.
    private byte[] _names = new byte[256];
    private int[] _nameEnds = new int[16];
    private int _depth;

    private char[] _chars = new char[256];

    public XmlScanner(Stream stream)
    {
        _stream = stream;
        _buf = new byte[1 << 17];
        Prolog();
    }

    /// <summary>
    /// Over input already in memory, read in place: <paramref name="buffer"/>[<paramref name="start"/>..+<paramref name="length"/>]
    /// is the whole of it (the scanner reads nothing else, and neither copies nor grows the buffer).
    /// </summary>
    public XmlScanner(byte[] buffer, int start, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length - start);
        _stream = Stream.Null;
        _buf = buffer;
        _pos = start;
        _end = start + length;
        _eof = true;
        Prolog();
    }

    /// <summary>What <see cref="Read"/> stopped on.</summary>
    public XmlNode Node { get; private set; }

    /// <summary>The open elements, counting the current start tag unless it is empty (&lt;a/&gt;).</summary>
    public int Depth => _depth;

    /// <summary>Whether the current start tag closes itself (&lt;a/&gt;): then it has no content and no end tag.</summary>
    public bool IsEmptyElement { get; private set; }

    /// <summary>The current element's name without its prefix ("entry" for &lt;rpm:entry&gt;).</summary>
    public ReadOnlySpan<byte> LocalName => _buf.AsSpan(_localStart, _nameLength - (_localStart - _nameStart));

    /// <summary>The current element's name as written, prefix and all.</summary>
    public ReadOnlySpan<byte> Name => _buf.AsSpan(_nameStart, _nameLength);

    /// <summary>
    /// Moves to the next start or end tag, skipping text, comments and processing instructions.
    /// False at the end of the input, which is an error inside an element.
    /// </summary>
    public bool Read()
    {
        while (true)
        {
            var lt = IndexOf((byte)'<', 0);
            if (lt < 0)
            {
                _pos = _end;
                if (_depth > 0)
                {
                    throw new FormatException($"the file ends inside <{Open(_depth - 1)}>");
                }

                return false;
            }

            _pos = lt;
            if (!Ensure(2))
            {
                throw new FormatException("the file ends inside a tag");
            }

            switch (_buf[_pos + 1])
            {
                case (byte)'/':
                    ReadEndTag();
                    return true;
                case (byte)'?':
                    SkipPast("?>"u8);
                    continue;
                case (byte)'!':
                    SkipMarkup();
                    continue;
                default:
                    ReadStartTag();
                    return true;
            }
        }
    }

    /// <summary>On a start tag: what <see cref="ReadChild"/> takes to walk its children (an empty element has none).</summary>
    public int Children() => IsEmptyElement ? int.MaxValue : _depth;

    /// <summary>
    /// The next child element of the element whose <see cref="Children"/> gave <paramref name="parentDepth"/>:
    /// true on a child's start tag, false once past the parent's end tag. The caller consumes each
    /// child (<see cref="Skip"/>, <see cref="ReadText"/>, or walks its children).
    /// </summary>
    public bool ReadChild(int parentDepth)
    {
        if (parentDepth == int.MaxValue)
        {
            return false;
        }

        while (Read())
        {
            if (Node == XmlNode.StartElement)
            {
                return true;
            }

            if (_depth < parentDepth)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>On a start tag: moves past its end tag, whatever it holds.</summary>
    public void Skip()
    {
        if (Node != XmlNode.StartElement || IsEmptyElement)
        {
            return;
        }

        var depth = _depth;
        while (Read())
        {
            if (_depth < depth)
            {
                return;
            }
        }
    }

    /// <summary>
    /// On a start tag: its text content (entities decoded, CDATA included, comments left out), then
    /// moves past its end tag. A child element is an error.
    /// </summary>
    public ReadOnlySpan<char> ReadText()
    {
        if (Node != XmlNode.StartElement)
        {
            throw new InvalidOperationException("ReadText needs a start tag");
        }

        if (IsEmptyElement)
        {
            return [];
        }

        var length = 0;
        while (true)
        {
            var lt = IndexOf((byte)'<', 0);
            if (lt < 0)
            {
                throw new FormatException($"the file ends inside <{Open(_depth - 1)}>");
            }

            if (lt > _pos)
            {
                length = Append(length, _buf.AsSpan(_pos, lt - _pos), attribute: false);
            }

            _pos = lt;
            if (!Ensure(2))
            {
                throw new FormatException("the file ends inside a tag");
            }

            switch (_buf[_pos + 1])
            {
                case (byte)'/':
                    ReadEndTag();
                    return _chars.AsSpan(0, length);
                case (byte)'?':
                    SkipPast("?>"u8);
                    break;
                case (byte)'!' when StartsWith("<![CDATA["u8):
                    {
                        var end = IndexOf("]]>"u8, 9);
                        if (end < 0)
                        {
                            throw new FormatException("the file ends inside a CDATA section");
                        }

                        length = AppendRaw(length, _buf.AsSpan(_pos + 9, end - _pos - 9));
                        _pos = end + 3;
                        break;
                    }

                case (byte)'!':
                    SkipMarkup();
                    break;
                default:
                    throw new FormatException($"<{Open(_depth - 1)}> holds an element where text was expected");
            }
        }
    }

    /// <summary>The raw value of the current start tag's attribute (entities not decoded), if it has it.</summary>
    public bool TryGetAttribute(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (!_attrsParsed)
        {
            ParseAttributes();
        }

        var a = _attrs;
        for (var i = 0; i < _attrCount * 4; i += 4)
        {
            if (_buf.AsSpan(a[i], a[i + 1]).SequenceEqual(name))
            {
                value = _buf.AsSpan(a[i + 2], a[i + 3]);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>An attribute's value, decoded; null when the tag has none of that name.</summary>
    public string? GetAttribute(ReadOnlySpan<byte> name, StringPool? pool = null) =>
        TryGetAttribute(name, out var raw) ? DecodeAttribute(raw, pool) : null;

    /// <summary>An attribute value as given by <see cref="TryGetAttribute"/>, decoded (and interned in <paramref name="pool"/>).</summary>
    public string DecodeAttribute(ReadOnlySpan<byte> raw, StringPool? pool = null)
    {
        if (raw.IsEmpty)
        {
            return string.Empty;
        }

        var chars = Decode(raw, attribute: true);
        return pool is null ? new string(chars) : pool.Get(chars);
    }

    /// <summary>
    /// A raw attribute value (as <see cref="TryGetAttribute"/> gives it) decoded, as UTF-8: the raw bytes
    /// themselves when they hold no entity or whitespace to normalize (checked to be UTF-8), else the
    /// decoded value in <paramref name="scratch"/> (grown as needed; the span is good until its next use).
    /// </summary>
    public ReadOnlySpan<byte> DecodeUtf8(ReadOnlySpan<byte> raw, ref byte[] scratch)
    {
        if (raw.IndexOfAny(AttributeSpecials) < 0)
        {
            return System.Text.Unicode.Utf8.IsValid(raw) ? raw : throw new FormatException("the file is not valid UTF-8");
        }

        var chars = Decode(raw, attribute: true);
        var length = Encoding.UTF8.GetByteCount(chars);
        if (length > scratch.Length)
        {
            scratch = new byte[Math.Max(length, scratch.Length * 2)];
        }

        return scratch.AsSpan(0, Encoding.UTF8.GetBytes(chars, scratch));
    }

    /// <summary>A decoded attribute value as chars, in a scratch buffer the next decode reuses.</summary>
    public ReadOnlySpan<char> Decode(ReadOnlySpan<byte> raw, bool attribute) => _chars.AsSpan(0, Append(0, raw, attribute));

    /// <summary>A non-negative integer attribute; <paramref name="fallback"/> when absent or empty.</summary>
    public long GetNumber(ReadOnlySpan<byte> name, long fallback = 0)
    {
        if (!TryGetAttribute(name, out var raw) || raw.IsEmpty)
        {
            return fallback;
        }

        if (raw[0] != '-' && raw[0] != '+' && Utf8Parser.TryParse(raw, out long value, out var consumed) && consumed == raw.Length)
        {
            return value;
        }

        var text = Decode(raw, attribute: true);
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value)
            ? value
            : throw new FormatException($"<{Encoding.UTF8.GetString(Name)}> has {Encoding.UTF8.GetString(name)}=\"{text}\", not a number");
    }

    // The XML declaration (encoding UTF-8 or none), after an optional UTF-8 byte order mark.
    private void Prolog()
    {
        Ensure(4);
        var b = _buf.AsSpan(_pos, _end - _pos);
        if (b.StartsWith((ReadOnlySpan<byte>)[0xef, 0xbb, 0xbf]))
        {
            _pos += 3;
        }
        else if (b.StartsWith((ReadOnlySpan<byte>)[0xfe, 0xff]) || b.StartsWith((ReadOnlySpan<byte>)[0xff, 0xfe]))
        {
            throw new FormatException("the file is UTF-16; repodata is read as UTF-8 only");
        }

        if (!StartsWith("<?xml"u8) || !Ensure(6) || !IsSpace(_buf[_pos + 5]))
        {
            return;
        }

        var end = IndexOf("?>"u8, 5);
        if (end < 0)
        {
            throw new FormatException("the file ends inside the XML declaration");
        }

        var declaration = _buf.AsSpan(_pos, end - _pos);
        var at = declaration.IndexOf("encoding"u8);
        if (at >= 0)
        {
            var rest = declaration[(at + 8)..].TrimStart(" \t\r\n="u8);
            if (rest.Length > 0 && rest[0] is (byte)'"' or (byte)'\'')
            {
                var close = rest[1..].IndexOf(rest[0]);
                var encoding = Encoding.ASCII.GetString(close < 0 ? rest[1..] : rest[1..(close + 1)]);
                if (!encoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("utf8", StringComparison.OrdinalIgnoreCase)
                    && !encoding.Equals("us-ascii", StringComparison.OrdinalIgnoreCase))
                {
                    throw new FormatException($"the file's encoding is {encoding}; repodata is read as UTF-8 only");
                }
            }
        }

        _pos = end + 2;
    }

    private void ReadStartTag()
    {
        // The tag's end: the first '>' outside a quoted attribute value ('>' may stand unescaped in one).
        var rel = 1;
        int gt;
        while (true)
        {
            var span = _buf.AsSpan(_pos + rel, _end - _pos - rel);
            var k = span.IndexOfAny((byte)'>', (byte)'"', (byte)'\'');
            if (k < 0)
            {
                rel = _end - _pos;
                if (!Fill())
                {
                    throw new FormatException("the file ends inside a tag");
                }

                continue;
            }

            rel += k;
            var c = _buf[_pos + rel];
            if (c == '>')
            {
                gt = _pos + rel;
                break;
            }

            var close = IndexOf(c, rel + 1);
            if (close < 0)
            {
                throw new FormatException("the file ends inside an attribute value");
            }

            rel = close - _pos + 1;
        }

        _nameStart = _pos + 1;
        var n = _nameStart;
        _localStart = n;
        while (n < gt && !IsSpace(_buf[n]) && _buf[n] != '/')
        {
            if (_buf[n] == ':')
            {
                _localStart = n + 1;
            }

            n++;
        }

        _nameLength = n - _nameStart;
        if (_nameLength == 0)
        {
            throw new FormatException("a tag has no name");
        }

        IsEmptyElement = _buf[gt - 1] == '/' && gt - 1 >= n;
        _attrsStart = n;
        _attrsEnd = IsEmptyElement ? gt - 1 : gt;
        _attrsParsed = false;
        _attrCount = 0;
        Node = XmlNode.StartElement;
        if (!IsEmptyElement)
        {
            Push(_buf.AsSpan(_nameStart, _nameLength));
        }

        _pos = gt + 1;
    }

    private void ReadEndTag()
    {
        var gt = IndexOf((byte)'>', 2);
        if (gt < 0)
        {
            throw new FormatException("the file ends inside a tag");
        }

        var name = _buf.AsSpan(_pos + 2, gt - _pos - 2).TrimEnd(" \t\r\n"u8);
        if (_depth == 0)
        {
            throw new FormatException($"</{Encoding.UTF8.GetString(name)}> closes no element");
        }

        var open = _names.AsSpan(_depth == 1 ? 0 : _nameEnds[_depth - 2], _nameEnds[_depth - 1] - (_depth == 1 ? 0 : _nameEnds[_depth - 2]));
        if (!open.SequenceEqual(name))
        {
            throw new FormatException($"</{Encoding.UTF8.GetString(name)}> closes <{Encoding.UTF8.GetString(open)}>");
        }

        _nameStart = _pos + 2;
        _nameLength = name.Length;
        var colon = name.LastIndexOf((byte)':');
        _localStart = _nameStart + colon + 1;
        _depth--;
        IsEmptyElement = false;
        _attrCount = 0;
        _attrsParsed = true;
        Node = XmlNode.EndElement;
        _pos = gt + 1;
    }

    private void ParseAttributes()
    {
        _attrsParsed = true;
        var b = _buf;
        var i = _attrsStart;
        var end = _attrsEnd;
        while (true)
        {
            while (i < end && IsSpace(b[i]))
            {
                i++;
            }

            if (i >= end)
            {
                return;
            }

            var nameStart = i;
            while (i < end && b[i] != '=' && !IsSpace(b[i]))
            {
                i++;
            }

            var nameLength = i - nameStart;
            while (i < end && IsSpace(b[i]))
            {
                i++;
            }

            if (nameLength == 0 || i >= end || b[i] != '=')
            {
                throw new FormatException($"<{Encoding.UTF8.GetString(Name)}> has a malformed attribute");
            }

            i++;
            while (i < end && IsSpace(b[i]))
            {
                i++;
            }

            if (i >= end || (b[i] != '"' && b[i] != '\''))
            {
                throw new FormatException($"<{Encoding.UTF8.GetString(Name)}> has an unquoted attribute value");
            }

            var quote = b[i];
            var valueStart = i + 1;
            var close = b.AsSpan(valueStart, end - valueStart).IndexOf(quote);
            if (close < 0)
            {
                throw new FormatException($"<{Encoding.UTF8.GetString(Name)}> has an unterminated attribute value");
            }

            if (_attrCount * 4 == _attrs.Length)
            {
                Array.Resize(ref _attrs, _attrs.Length * 2);
            }

            var at = _attrCount++ * 4;
            _attrs[at] = nameStart;
            _attrs[at + 1] = nameLength;
            _attrs[at + 2] = valueStart;
            _attrs[at + 3] = close;
            i = valueStart + close + 1;
        }
    }

    // <!-- comment -->, and a DTD, which is refused. A CDATA section outside text is skipped.
    private void SkipMarkup()
    {
        if (StartsWith("<!--"u8))
        {
            SkipPast("-->"u8, 4);
        }
        else if (StartsWith("<![CDATA["u8))
        {
            SkipPast("]]>"u8, 9);
        }
        else if (StartsWith("<!DOCTYPE"u8))
        {
            throw new FormatException("the file has a DTD (<!DOCTYPE>); repodata never has one and it is refused");
        }
        else
        {
            throw new FormatException("unknown markup after '<!'");
        }
    }

    private void SkipPast(ReadOnlySpan<byte> terminator, int from = 2)
    {
        var at = IndexOf(terminator, from);
        if (at < 0)
        {
            throw new FormatException($"the file ends before '{Encoding.ASCII.GetString(terminator)}'");
        }

        _pos = at + terminator.Length;
    }

    private bool StartsWith(ReadOnlySpan<byte> prefix) =>
        Ensure(prefix.Length) && _buf.AsSpan(_pos, prefix.Length).SequenceEqual(prefix);

    // Appends UTF-8 text to the char scratch buffer at length, decoding entities (and, for an
    // attribute, normalizing tab/CR/LF to spaces; for text, CR LF to LF) as XML says.
    private int Append(int length, ReadOnlySpan<byte> raw, bool attribute)
    {
        var special = attribute ? raw.IndexOfAny(AttributeSpecials) : raw.IndexOfAny((byte)'&', (byte)'\r');
        if (special < 0)
        {
            return AppendRaw(length, raw);
        }

        while (raw.Length > 0)
        {
            special = attribute ? raw.IndexOfAny(AttributeSpecials) : raw.IndexOfAny((byte)'&', (byte)'\r');
            if (special < 0)
            {
                return AppendRaw(length, raw);
            }

            length = AppendRaw(length, raw[..special]);
            var c = raw[special];
            if (c == '&')
            {
                var semicolon = raw[special..].IndexOf((byte)';');
                if (semicolon < 0)
                {
                    throw new FormatException("an '&' begins no entity (write &amp;)");
                }

                var entity = raw.Slice(special + 1, semicolon - 1);
                length = AppendEntity(length, entity);
                raw = raw[(special + semicolon + 1)..];
            }
            else
            {
                // CR LF and a lone CR are one LF; in an attribute, any of tab, CR, LF is a space.
                var skip = c == '\r' && special + 1 < raw.Length && raw[special + 1] == '\n' ? 2 : 1;
                length = AppendChar(length, attribute ? ' ' : (c == '\t' ? '\t' : '\n'));
                raw = raw[(special + skip)..];
            }
        }

        return length;
    }

    private int AppendEntity(int length, ReadOnlySpan<byte> entity)
    {
        if (entity.SequenceEqual("amp"u8))
        {
            return AppendChar(length, '&');
        }

        if (entity.SequenceEqual("lt"u8))
        {
            return AppendChar(length, '<');
        }

        if (entity.SequenceEqual("gt"u8))
        {
            return AppendChar(length, '>');
        }

        if (entity.SequenceEqual("quot"u8))
        {
            return AppendChar(length, '"');
        }

        if (entity.SequenceEqual("apos"u8))
        {
            return AppendChar(length, '\'');
        }

        if (entity.Length >= 2 && entity[0] == '#')
        {
            var hex = entity[1] == 'x';
            var digits = entity[(hex ? 2 : 1)..];
            if (digits.Length > 0 && digits[0] != '-' && digits[0] != '+'
                && Utf8Parser.TryParse(digits, out uint code, out var consumed, hex ? 'x' : default) && consumed == digits.Length
                && code <= 0x10FFFF && Rune.IsValid(code) && code != 0)
            {
                var rune = new Rune(code);
                EnsureChars(length + 2);
                return length + rune.EncodeToUtf16(_chars.AsSpan(length));
            }
        }

        throw new FormatException($"unknown entity '&{Encoding.UTF8.GetString(entity)};' (repodata has no DTD to define one)");
    }

    private int AppendChar(int length, char c)
    {
        EnsureChars(length + 1);
        _chars[length] = c;
        return length + 1;
    }

    private int AppendRaw(int length, ReadOnlySpan<byte> raw)
    {
        EnsureChars(length + raw.Length);
        try
        {
            return length + Utf8.GetChars(raw, _chars.AsSpan(length));
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException("the file is not valid UTF-8", e);
        }
    }

    private void EnsureChars(int length)
    {
        if (length > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(length, _chars.Length * 2));
        }
    }

    private void Push(ReadOnlySpan<byte> name)
    {
        var start = _depth == 0 ? 0 : _nameEnds[_depth - 1];
        if (start + name.Length > _names.Length)
        {
            Array.Resize(ref _names, Math.Max(start + name.Length, _names.Length * 2));
        }

        if (_depth == _nameEnds.Length)
        {
            Array.Resize(ref _nameEnds, _nameEnds.Length * 2);
        }

        name.CopyTo(_names.AsSpan(start));
        _nameEnds[_depth++] = start + name.Length;
    }

    private string Open(int level)
    {
        var start = level == 0 ? 0 : _nameEnds[level - 1];
        return Encoding.UTF8.GetString(_names, start, _nameEnds[level] - start);
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r';

    // The absolute index of value at or after _pos + from, reading more as needed (which may move
    // the buffer's content: _pos keeps pointing at the same byte). -1 at the end of the input.
    private int IndexOf(byte value, int from)
    {
        while (true)
        {
            if (_pos + from < _end)
            {
                var k = _buf.AsSpan(_pos + from, _end - _pos - from).IndexOf(value);
                if (k >= 0)
                {
                    return _pos + from + k;
                }

                from = _end - _pos;
            }

            if (!Fill())
            {
                return -1;
            }
        }
    }

    private int IndexOf(ReadOnlySpan<byte> value, int from)
    {
        while (true)
        {
            if (_pos + from < _end)
            {
                var k = _buf.AsSpan(_pos + from, _end - _pos - from).IndexOf(value);
                if (k >= 0)
                {
                    return _pos + from + k;
                }

                // The value may straddle what has been read so far: search again from its possible start.
                from = Math.Max(from, _end - _pos - value.Length + 1);
            }

            if (!Fill())
            {
                return -1;
            }
        }
    }

    // At least count bytes from _pos, unless the input ends first.
    private bool Ensure(int count)
    {
        while (_end - _pos < count)
        {
            if (!Fill())
            {
                return false;
            }
        }

        return true;
    }

    // Moves the unread bytes (from _pos) to the front, grows the buffer when they fill it, and reads more.
    private bool Fill()
    {
        if (_eof)
        {
            return false;
        }

        if (_pos > 0)
        {
            var kept = _end - _pos;
            Buffer.BlockCopy(_buf, _pos, _buf, 0, kept);
            var shift = _pos;
            _pos = 0;
            _end = kept;
            _attrsStart -= shift;
            _attrsEnd -= shift;
            _nameStart -= shift;
            _localStart -= shift;
        }

        if (_end == _buf.Length)
        {
            Array.Resize(ref _buf, _buf.Length * 2);
        }

        var n = _stream.Read(_buf, _end, _buf.Length - _end);
        if (n == 0)
        {
            _eof = true;
            return false;
        }

        _end += n;
        return true;
    }
}

internal enum XmlNode
{
    None,
    StartElement,
    EndElement,
}
