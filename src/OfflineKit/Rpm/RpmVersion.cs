namespace OfflineKit.Rpm;

/// <summary>
/// rpm's <c>rpmvercmp</c>: how rpm, dnf and yum order version and release strings. Ported from
/// rpm 4.18 <c>rpmio/rpmvercmp.c</c> line by line, because any "simpler" ordering disagrees with
/// rpm on some real version (leading zeros, <c>~rc1</c>, <c>^git</c> snapshots, letters vs digits).
/// </summary>
public static class RpmVersion
{
    /// <summary>-1, 0 or 1 as rpm orders <paramref name="a"/> against <paramref name="b"/>.</summary>
    public static int Compare(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return 0;
        }

        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && IsSeparator(a[i]))
            {
                i++;
            }

            while (j < b.Length && IsSeparator(b[j]))
            {
                j++;
            }

            var ca = i < a.Length ? a[i] : '\0';
            var cb = j < b.Length ? b[j] : '\0';

            // '~' sorts before everything, the end of the string included (1.0~rc1 < 1.0).
            if (ca == '~' || cb == '~')
            {
                if (ca != '~')
                {
                    return 1;
                }

                if (cb != '~')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            // '^' sorts after the end of the string but before anything else (1.0 < 1.0^git1 < 1.0.1).
            if (ca == '^' || cb == '^')
            {
                if (i >= a.Length)
                {
                    return -1;
                }

                if (j >= b.Length)
                {
                    return 1;
                }

                if (ca != '^')
                {
                    return 1;
                }

                if (cb != '^')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            if (i >= a.Length || j >= b.Length)
            {
                break;
            }

            var numeric = char.IsAsciiDigit(ca);
            var endA = SegmentEnd(a, i, numeric);
            var endB = SegmentEnd(b, j, numeric);

            // A digit segment against a letter segment: the digits are newer.
            if (endB == j)
            {
                return numeric ? 1 : -1;
            }

            var segA = a.AsSpan(i, endA - i);
            var segB = b.AsSpan(j, endB - j);
            if (numeric)
            {
                segA = segA.TrimStart('0');
                segB = segB.TrimStart('0');
                if (segA.Length != segB.Length)
                {
                    return segA.Length > segB.Length ? 1 : -1;
                }
            }

            var rc = segA.SequenceCompareTo(segB);
            if (rc != 0)
            {
                return rc < 0 ? -1 : 1;
            }

            i = endA;
            j = endB;
        }

        var aDone = i >= a.Length;
        var bDone = j >= b.Length;
        if (aDone && bDone)
        {
            return 0;
        }

        return aDone ? -1 : 1;
    }

    /// <summary>
    /// A hash equal for every pair <see cref="Compare"/> calls equal: separators do not count and
    /// leading zeros of digit runs do not either, so it hashes the segments alone.
    /// </summary>
    public static int GetHashCode(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var hash = new HashCode();
        var i = 0;
        while (i < version.Length)
        {
            var c = version[i];
            if (IsSeparator(c))
            {
                i++;
                continue;
            }

            if (c is '~' or '^')
            {
                hash.Add(c);
                i++;
                continue;
            }

            var numeric = char.IsAsciiDigit(c);
            var end = SegmentEnd(version, i, numeric);
            var segment = version.AsSpan(i, end - i);
            if (numeric)
            {
                segment = segment.TrimStart('0');
                hash.Add('#');
            }

            foreach (var ch in segment)
            {
                hash.Add(ch);
            }

            hash.Add('.');
            i = end;
        }

        return hash.ToHashCode();
    }

    private static bool IsSeparator(char c) => !char.IsAsciiLetterOrDigit(c) && c != '~' && c != '^';

    private static int SegmentEnd(string s, int start, bool numeric)
    {
        var k = start;
        while (k < s.Length && (numeric ? char.IsAsciiDigit(s[k]) : char.IsAsciiLetter(s[k])))
        {
            k++;
        }

        return k;
    }
}
