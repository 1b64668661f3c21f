namespace OfflineKit.IO;

/// <summary>
/// Non-negative integers in 7-bit groups, low first, the high bit set on every byte but the last: how
/// BinaryWriter writes a string's length, and how offlinekit's compact binary forms write counts.
/// </summary>
internal static class SevenBit
{
    /// <summary>How many bytes <paramref name="value"/> takes.</summary>
    public static int Length(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var n = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7)
        {
            n++;
        }

        return n;
    }

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="into"/>; returns the bytes written.</summary>
    public static int Write(Span<byte> into, int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var n = 0;
        var v = (uint)value;
        while (v >= 0x80)
        {
            into[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        into[n++] = (byte)v;
        return n;
    }

    /// <summary>Reads a value at <paramref name="at"/>, moving past it; a value of more than 31 bits is a <see cref="FormatException"/>.</summary>
    public static int Read(ReadOnlySpan<byte> from, ref int at)
    {
        var value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = from[at++];
            value |= (b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value >= 0 ? value : throw new FormatException("a count too big");
            }

            if (shift >= 28)
            {
                throw new FormatException("a count too big");
            }
        }
    }
}
