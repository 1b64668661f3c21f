using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

public class EvrTests
{
    // Known orderings, most from rpm's own test suite (tests/rpmvercmp.at).
    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "2.0", -1)]
    [InlineData("2.0.1", "2.0.1", 0)]
    [InlineData("2.0", "2.0.1", -1)]
    [InlineData("2.0.1a", "2.0.1", 1)]
    [InlineData("5.5p1", "5.5p2", -1)]
    [InlineData("5.5p10", "5.5p1", 1)]
    [InlineData("10xyz", "10.1xyz", -1)]
    [InlineData("xyz10", "xyz10.1", -1)]
    [InlineData("xyz.4", "8", -1)]
    [InlineData("5.5p1", "5.5.p1", 0)]
    [InlineData("1.0aa", "1.0a", 1)]
    [InlineData("a", "1", -1)]
    [InlineData("10", "9", 1)]
    [InlineData("1.010", "1.10", 0)]
    [InlineData("1.001", "1.1", 0)]
    [InlineData("1.0", "1.0.", 0)]
    [InlineData("1_0", "1.0", 0)]
    [InlineData("1+0", "1.0", 0)]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0~rc1", "1.0~rc2", -1)]
    [InlineData("1.0~rc1~git123", "1.0~rc1", -1)]
    [InlineData("1.0^", "1.0", 1)]
    [InlineData("1.0^git1", "1.0", 1)]
    [InlineData("1.0^git1", "1.01", -1)]
    [InlineData("1.0^git1", "1.0^git2", -1)]
    [InlineData("1.0^git1~pre", "1.0^git1", -1)]
    [InlineData("1.0^20160101", "1.0.1", -1)]
    [InlineData("1.0~rc1^git1", "1.0~rc1", 1)]
    [InlineData("20.10.24", "20.10.3", 1)]
    [InlineData("1.23.0", "1.23.1", -1)]
    public void Rpmvercmp_orders_like_rpm(string a, string b, int expected)
    {
        Assert.Equal(expected, RpmVersion.Compare(a, b));
        Assert.Equal(-expected, RpmVersion.Compare(b, a));
        if (expected == 0)
        {
            Assert.Equal(RpmVersion.GetHashCode(a), RpmVersion.GetHashCode(b));
        }
    }

    [Theory]
    [InlineData("1:20.10.24-3.el8", 1, "20.10.24", "3.el8")]
    [InlineData("20.10.24", 0, "20.10.24", null)]
    [InlineData("2:2.74", 2, "2.74", null)]
    [InlineData("1.23.0-0", 0, "1.23.0", "0")]
    public void Parse_reads_epoch_version_release(string text, int epoch, string version, string? release)
    {
        var evr = Evr.Parse(text);

        Assert.Equal((epoch, version, release), (evr.Epoch, evr.Version, evr.Release));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x:1.0")]
    [InlineData("1.0-")]
    [InlineData(":1.0")]
    [InlineData("1:")]
    public void Parse_refuses_what_is_not_an_evr(string text) =>
        Assert.False(Evr.TryParse(text, out _));

    [Fact]
    public void Epoch_wins_over_version_and_missing_epoch_is_zero()
    {
        Assert.True(Evr.Parse("1:1.0-1") > Evr.Parse("9.9-9"));
        Assert.True(Evr.Parse("3:20.10.24-3.el8") > Evr.Parse("1:20.10.24-3.el8"));
        Assert.Equal(Evr.Parse("0:1.0-1"), Evr.Parse("1.0-1"));
        Assert.Equal(Evr.Parse("1.00-01").GetHashCode(), Evr.Parse("1.0-1").GetHashCode());
    }

    [Theory]
    [InlineData("kubelet = 1.23.0", "1.23.0-0", true)]
    [InlineData("kubelet = 1.23.0", "1.23.1-0", false)]
    [InlineData("kubelet = 1.23.0-1", "1.23.0-0", false)]
    [InlineData("kubelet >= 1.19.0", "1.23.0-0", true)]
    [InlineData("kubelet < 1.23.0", "1.23.0-0", false)]
    [InlineData("kubelet <= 1.23.0", "1.23.0-5", true)]
    [InlineData("kubelet > 1.23.0", "1.23.0-5", false)]
    [InlineData("kubelet > 1.23.0-4", "1.23.0-5", true)]
    [InlineData("container-selinux >= 2:2.74", "2:2.167.0-1.module_el8.5.0+911+f19012f9", true)]
    [InlineData("container-selinux >= 2:2.74", "2.200-1", false)]
    [InlineData("kubernetes-cni >= 0.8.7", "0.8.6-0", false)]
    [InlineData("kubernetes-cni >= 0.8.7", "1.1.1-0", true)]
    [InlineData("kubelet", "0.1-1", true)]
    public void A_requirement_matches_a_package_version_as_rpm_does(string requirement, string evr, bool expected) =>
        Assert.Equal(expected, RpmDependency.Parse(requirement).IsSatisfiedBy(Evr.Parse(evr)));

    [Theory]
    [InlineData("foo >= 1.0", "foo", true)]
    [InlineData("foo >= 2.0", "foo = 1.5-1", false)]
    [InlineData("foo >= 1.0", "foo = 1.5-1", true)]
    [InlineData("foo < 1.0", "foo > 0.5", true)]
    [InlineData("foo < 1.0", "foo > 1.0", false)]
    [InlineData("foo = 1.0", "foo >= 1.0", true)]
    [InlineData("foo", "foo = 7", true)]
    [InlineData("foo", "bar", false)]
    public void Ranges_overlap_as_rpmdsCompare_says(string requirement, string provide, bool expected) =>
        Assert.Equal(expected, RpmDependency.Parse(requirement).IsSatisfiedBy(RpmDependency.Parse(provide)));
}
