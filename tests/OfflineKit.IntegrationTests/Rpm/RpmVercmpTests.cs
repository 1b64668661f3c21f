using System.Globalization;
using System.Text;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Rpm;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Rpm;

/// <summary>Our rpmvercmp against the real rpm's, over thousands of generated versions.</summary>
public class RpmVercmpTests
{
    [Fact]
    public async Task Version_order_agrees_with_real_rpm_on_a_generated_corpus()
    {
        var pairs = VersionPairs(new Random(20231), 4000, withEpochAndRelease: false);

        var expected = await RealRpmVercmp(pairs);

        AssertAgree(pairs, expected, (a, b) => RpmVersion.Compare(a, b));
    }

    [Fact]
    public async Task Evr_order_agrees_with_real_rpm_on_a_generated_corpus()
    {
        var pairs = VersionPairs(new Random(424242), 2000, withEpochAndRelease: true);

        var expected = await RealRpmVercmp(pairs);

        AssertAgree(pairs, expected, (a, b) => Evr.Parse(a).CompareTo(Evr.Parse(b)));
    }

    private static void AssertAgree(List<(string A, string B)> pairs, int[] expected, Func<string, string, int> ours)
    {
        var disagreements = pairs
            .Select((p, i) => (p.A, p.B, Rpm: expected[i], Ours: ours(p.A, p.B)))
            .Where(x => x.Rpm != x.Ours)
            .Select(x => $"'{x.A}' vs '{x.B}': rpm {x.Rpm}, ours {x.Ours}")
            .ToList();
        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {pairs.Count} differ:\n" + string.Join('\n', disagreements.Take(20)));

        // The corpus must exercise every outcome, or it proves little.
        Assert.Contains(-1, expected);
        Assert.Contains(0, expected);
        Assert.Contains(1, expected);
    }

    // One rpm process for the whole corpus: a Lua loop over a file of pairs, one result a line.
    private static async Task<int[]> RealRpmVercmp(List<(string A, string B)> pairs)
    {
        var rpm = Tools.Require("rpm", "rpm");
        using var dir = new TempDir();
        var file = dir.Write("pairs.txt", string.Concat(pairs.Select(p => $"{p.A} {p.B}\n")));
        var lua = $"%{{lua: for line in io.lines(\"{file}\") do local a, b = line:match(\"^(%S+) (%S+)$\"); print(rpm.vercmp(a, b) .. \"\\n\") end}}";

        var result = await Tools.RunAsync(rpm, ["--eval", lua]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(pairs.Count, lines.Length);
        return lines.Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
    }

    private static List<(string A, string B)> VersionPairs(Random random, int count, bool withEpochAndRelease)
    {
        var pairs = new List<(string, string)>();
        while (pairs.Count < count)
        {
            var a = Version(random);
            // Half the pairs are near-misses of each other, where the interesting rules decide.
            var b = random.Next(2) == 0 ? Mutate(random, a) : Version(random);
            if (withEpochAndRelease)
            {
                var release = Version(random);
                a = $"{random.Next(3)}:{a}-{release}";
                b = $"{random.Next(3)}:{b}-{(random.Next(2) == 0 ? release : Mutate(random, release))}";
            }

            pairs.Add((a, b));
        }

        return pairs;
    }

    private static readonly string[] Pieces = ["0", "00", "1", "01", "007", "2", "9", "10", "23", "100", "a", "b", "rc", "el", "git", "Z", "p", "~", "^", ".", "_", "+"];

    private static string Version(Random random)
    {
        var sb = new StringBuilder();
        var n = random.Next(1, 7);
        for (var i = 0; i < n; i++)
        {
            sb.Append(Pieces[random.Next(Pieces.Length)]);
        }

        // rpm refuses nothing here, but a version must start with something to be one field.
        return sb[0] is '~' or '^' or '.' or '_' or '+' ? "1" + sb : sb.ToString();
    }

    private static string Mutate(Random random, string s) => random.Next(5) switch
    {
        0 => s + Pieces[random.Next(Pieces.Length)],
        1 => s.Length > 1 ? s[..^1] : s + "0",
        2 => s.Replace(".", Pieces[random.Next(16, Pieces.Length)], StringComparison.Ordinal),
        3 => s.Insert(random.Next(s.Length + 1), Pieces[random.Next(Pieces.Length)]),
        _ => s,
    };
}
