using OfflineKit.Rpm;
using static OfflineKit.Tests.Rpm.RpmWorld;

namespace OfflineKit.Tests.Rpm;

/// <summary>The pool's indexes, built in runs on several cores: the same answers, in the same order, as one run.</summary>
public sealed class PackagePoolTests
{
    // Three repositories; many packages provide the same names (so a name's providers span every run),
    // some only by their own name (the self-provide the pool adds), some of another arch (excluded),
    // and file dependencies owned by packages in different runs.
    private static List<RpmRepo> World()
    {
        RpmPackage Numbered(int i, string repo) => new()
        {
            Name = $"p{i}",
            Arch = i % 17 == 0 ? "i686" : i % 5 == 0 ? "noarch" : "x86_64",
            Evr = Evr.Parse($"1.{i}-1"),
            Repo = repo,
            Provides = i % 3 == 0 ? [] : [new RpmDependency($"p{i}", DepRelation.Eq, Evr.Parse($"1.{i}-1")), new RpmDependency("common"), new RpmDependency($"group{i % 7}", DepRelation.Eq, Evr.Parse($"{i % 4}-1"))],
            Requires = [new RpmDependency($"/usr/bin/tool{i % 11}"), RpmDependency.Parse($"(p{i + 1} if common)")],
            Files = i % 2 == 0 ? PackedPaths.Of([$"/usr/bin/tool{i % 11}", $"/etc/p{i}.conf"]) : [$"/usr/bin/tool{(i + 1) % 11}"],
        };

        return
        [
            Repo("a", [.. Enumerable.Range(0, 400).Select(i => Numbered(i, "a"))]),
            Repo("b", [.. Enumerable.Range(400, 37).Select(i => Numbered(i, "b"))]),
            Repo("c", [.. Enumerable.Range(437, 900).Select(i => Numbered(i, "c"))]),
        ];
    }

    public static TheoryData<int> Runs => [2, 3, 4, 7, 5000];

    [Theory]
    [MemberData(nameof(Runs))]
    public void Every_split_of_the_index_answers_as_one_run(int runs)
    {
        var repos = World();
        var one = new PackagePool(repos, new ResolveOptions(), indexRuns: 1);
        var split = new PackagePool(repos, new ResolveOptions(), indexRuns: runs);

        string Show(IEnumerable<(RpmPackage Package, RpmDependency Provide)> list) =>
            string.Join(" ", list.Select(x => $"{x.Package.Nevra}:{x.Provide}"));
        var names = new[] { "common", "group0", "group3", "group6", "p3", "p4", "p17", "p1336", "nothing" };
        foreach (var name in names)
        {
            Assert.Equal(Show(one.ProvidesNamed(name)), Show(split.ProvidesNamed(name)));
            Assert.Equal(one.ByName(name).Select(p => p.Nevra), split.ByName(name).Select(p => p.Nevra));
        }

        for (var t = 0; t < 11; t++)
        {
            var dep = new RpmDependency($"/usr/bin/tool{t}");
            Assert.Equal(one.Providers(dep).Select(p => p.Nevra), split.Providers(dep).Select(p => p.Nevra));
        }

        Assert.Equal(one.Excluded.Keys.Select(p => p.Nevra).Order(), split.Excluded.Keys.Select(p => p.Nevra).Order());

        // Not vacuous: the shared name has providers from every repository, in pool order, and the
        // self-provide stands in for a package that lists none.
        var common = split.ProvidesNamed("common").Select(x => x.Package.Repo).Distinct();
        Assert.Equal(["a", "b", "c"], common);
        Assert.Equal(["p3-0:1.3-1.x86_64"], split.ProvidesNamed("p3").Select(x => x.Package.Nevra));
        Assert.Empty(split.ProvidesNamed("p17"));
    }

    [Fact]
    public void A_malformed_rich_dependency_fails_the_build_with_its_own_error_not_an_aggregate()
    {
        var bad = Pkg("bad-1-1.x86_64");
        var repos = new List<RpmRepo> { Repo("a", new RpmPackage { Name = "bad", Arch = "x86_64", Evr = bad.Evr, Requires = [new RpmDependency("(a if")] }) };

        var e = Record.Exception(() => new PackagePool(repos, new ResolveOptions(), indexRuns: 3));

        Assert.NotNull(e);
        Assert.IsNotType<AggregateException>(e);
    }
}
