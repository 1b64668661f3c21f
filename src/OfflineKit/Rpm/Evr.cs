using System.Globalization;

namespace OfflineKit.Rpm;

/// <summary>
/// An rpm epoch:version-release. The epoch defaults to 0; the release may be absent, as in a
/// requirement <c>kubelet = 1.23.0</c>, and then matches any release (see <see cref="RpmDependency"/>).
/// Equality is rpm's: <c>1.0</c> and <c>1.00</c> are the same version.
/// </summary>
public sealed class Evr : IComparable<Evr>, IEquatable<Evr>
{
    public Evr(int epoch, string version, string? release)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentException.ThrowIfNullOrEmpty(version);
        Epoch = epoch;
        Version = version;
        Release = string.IsNullOrEmpty(release) ? null : release;
    }

    public int Epoch { get; }

    /// <summary>Whether the text named the epoch; a request without one matches every epoch, as in dnf.</summary>
    public bool HasExplicitEpoch { get; private init; }

    public string Version { get; }

    /// <summary>Null when the text named none (a requirement on a version alone).</summary>
    public string? Release { get; }

    /// <summary>Parses <c>[epoch:]version[-release]</c>, e.g. "1:20.10.24-3.el8" or "20.10.24".</summary>
    public static Evr Parse(string text) =>
        TryParse(text, out var evr) ? evr : throw new FormatException($"'{text}' is not an rpm [epoch:]version[-release]");

    public static bool TryParse(string? text, out Evr evr)
    {
        evr = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var rest = text.Trim();
        var epoch = 0;
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            var epochText = rest[..colon];
            if (epochText.Length == 0 || !epochText.All(char.IsAsciiDigit)
                || !int.TryParse(epochText, NumberStyles.None, CultureInfo.InvariantCulture, out epoch))
            {
                return false;
            }

            rest = rest[(colon + 1)..];
        }

        string? release = null;
        var dash = rest.LastIndexOf('-');
        if (dash >= 0)
        {
            release = rest[(dash + 1)..];
            rest = rest[..dash];
            if (release.Length == 0)
            {
                return false;
            }
        }

        if (rest.Length == 0 || rest.Contains('-', StringComparison.Ordinal) || rest.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        evr = new Evr(epoch, rest, release) { HasExplicitEpoch = colon >= 0 };
        return true;
    }

    /// <summary>The full order: epoch, then version, then release (an absent release sorts first).</summary>
    public int CompareTo(Evr? other)
    {
        if (other is null)
        {
            return 1;
        }

        var c = Epoch.CompareTo(other.Epoch);
        if (c != 0)
        {
            return Math.Sign(c);
        }

        c = RpmVersion.Compare(Version, other.Version);
        if (c != 0)
        {
            return c;
        }

        return (Release, other.Release) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            var (a, b) => RpmVersion.Compare(a, b),
        };
    }

    /// <summary>
    /// rpm's comparison for dependency matching: the release counts only when both sides have one,
    /// so <c>= 1.23.0</c> matches <c>1.23.0-0</c>.
    /// </summary>
    public static int CompareForMatch(Evr a, Evr b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var c = a.Epoch.CompareTo(b.Epoch);
        if (c != 0)
        {
            return Math.Sign(c);
        }

        c = RpmVersion.Compare(a.Version, b.Version);
        if (c != 0 || a.Release is null || b.Release is null)
        {
            return c;
        }

        return RpmVersion.Compare(a.Release, b.Release);
    }

    public bool Equals(Evr? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is Evr other && Equals(other);

    public override int GetHashCode() =>
        HashCode.Combine(Epoch, RpmVersion.GetHashCode(Version), Release is null ? 0 : RpmVersion.GetHashCode(Release));

    /// <summary>"2:2.74-1", epoch printed only when not 0 (as rpm prints a requirement).</summary>
    public override string ToString() =>
        (Epoch != 0 ? Epoch.ToString(CultureInfo.InvariantCulture) + ":" : string.Empty) + Version + (Release is null ? string.Empty : "-" + Release);

    /// <summary>"0:1.23.0-0", epoch always printed (as dnf repoquery prints a NEVRA).</summary>
    public string ToFullString() =>
        Epoch.ToString(CultureInfo.InvariantCulture) + ":" + Version + (Release is null ? string.Empty : "-" + Release);

    public static bool operator ==(Evr? left, Evr? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Evr? left, Evr? right) => !(left == right);

    public static bool operator <(Evr left, Evr right) => Compare(left, right) < 0;

    public static bool operator <=(Evr left, Evr right) => Compare(left, right) <= 0;

    public static bool operator >(Evr left, Evr right) => Compare(left, right) > 0;

    public static bool operator >=(Evr left, Evr right) => Compare(left, right) >= 0;

    private static int Compare(Evr left, Evr right)
    {
        ArgumentNullException.ThrowIfNull(left);
        return left.CompareTo(right);
    }
}
