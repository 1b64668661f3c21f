namespace OfflineKit.Rpm;

/// <summary>The comparison of a versioned dependency, as repodata spells it (EQ, LT, LE, GT, GE).</summary>
public enum DepRelation
{
    /// <summary>Unversioned: any version.</summary>
    Any = 0,
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// <summary>
/// One provides/requires/conflicts/obsoletes/recommends entry: a name (a package or virtual name,
/// a file path, a soname, or a whole rich dependency in parentheses) with an optional versioned
/// relation.
/// </summary>
public sealed record RpmDependency(string Name, DepRelation Relation = DepRelation.Any, Evr? Evr = null, bool Pre = false)
{
    public bool IsVersioned => Relation != DepRelation.Any && Evr is not null;

    /// <summary>A boolean dependency such as <c>(a or b)</c>; see <see cref="RichDependency"/>.</summary>
    public bool IsRich => Name.StartsWith('(');

    public bool IsFile => Name.StartsWith('/');

    /// <summary>
    /// Whether <paramref name="provide"/> meets this requirement: the same name and overlapping
    /// ranges, by rpm's <c>rpmdsCompare</c>. An unversioned side matches anything, and a side
    /// without a release matches every release.
    /// </summary>
    public bool IsSatisfiedBy(RpmDependency provide)
    {
        ArgumentNullException.ThrowIfNull(provide);
        return string.Equals(Name, provide.Name, StringComparison.Ordinal) && RangesOverlap(this, provide);
    }

    /// <summary>Whether a package of this exact EVR falls in this requirement's range.</summary>
    public bool IsSatisfiedBy(Evr evr)
    {
        ArgumentNullException.ThrowIfNull(evr);
        return !IsVersioned || Overlap(Relation, Evr!, DepRelation.Eq, evr);
    }

    public static bool RangesOverlap(RpmDependency a, RpmDependency b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return !a.IsVersioned || !b.IsVersioned || Overlap(a.Relation, a.Evr!, b.Relation, b.Evr!);
    }

    /// <summary>Parses "name", "name >= 1.0-1", "name = 2:1.0" as a spec file writes a dependency.</summary>
    public static RpmDependency Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.StartsWith('('))
        {
            return new RpmDependency(t);
        }

        var parts = t.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 1)
        {
            return new RpmDependency(parts[0]);
        }

        if (parts.Length != 3 || ParseOperator(parts[1]) is not { } flags || !Evr.TryParse(parts[2], out var evr))
        {
            throw new FormatException($"'{text}' is not a dependency (expected NAME or NAME OP [EPOCH:]VERSION[-RELEASE])");
        }

        return new RpmDependency(parts[0], flags, evr);
    }

    public static DepRelation? ParseOperator(string op) => op switch
    {
        "=" or "==" => DepRelation.Eq,
        "<" => DepRelation.Lt,
        "<=" or "=<" => DepRelation.Le,
        ">" => DepRelation.Gt,
        ">=" or "=>" => DepRelation.Ge,
        _ => null,
    };

    /// <summary>The repodata spelling: EQ, LT, LE, GT, GE.</summary>
    public static DepRelation ParseRepodataRelation(string? flags) => flags switch
    {
        null or "" => DepRelation.Any,
        "EQ" => DepRelation.Eq,
        "LT" => DepRelation.Lt,
        "LE" => DepRelation.Le,
        "GT" => DepRelation.Gt,
        "GE" => DepRelation.Ge,
        _ => throw new FormatException($"unknown dependency flags '{flags}'"),
    };

    public static string OperatorText(DepRelation relation) => relation switch
    {
        DepRelation.Eq => "=",
        DepRelation.Lt => "<",
        DepRelation.Le => "<=",
        DepRelation.Gt => ">",
        DepRelation.Ge => ">=",
        _ => string.Empty,
    };

    public override string ToString() => IsVersioned ? $"{Name} {OperatorText(Relation)} {Evr}" : Name;

    private static bool HasLess(DepRelation f) => f is DepRelation.Lt or DepRelation.Le;

    private static bool HasGreater(DepRelation f) => f is DepRelation.Gt or DepRelation.Ge;

    private static bool HasEqual(DepRelation f) => f is DepRelation.Eq or DepRelation.Le or DepRelation.Ge;

    // rpmdsCompare: compare the two EVRs, then decide from the senses whether the ranges meet.
    private static bool Overlap(DepRelation af, Evr a, DepRelation bf, Evr b)
    {
        var sense = Evr.CompareForMatch(a, b);
        if (sense < 0)
        {
            return HasGreater(af) || HasLess(bf);
        }

        if (sense > 0)
        {
            return HasLess(af) || HasGreater(bf);
        }

        return (HasEqual(af) && HasEqual(bf)) || (HasLess(af) && HasLess(bf)) || (HasGreater(af) && HasGreater(bf));
    }
}
