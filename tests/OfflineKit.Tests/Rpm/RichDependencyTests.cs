using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

public class RichDependencyTests
{
    [Theory]
    [InlineData("(a or b)", "(a or b)")]
    [InlineData("(a and b and c)", "(a and b and c)")]
    [InlineData("(a if b)", "(a if b)")]
    [InlineData("(a if b else c)", "(a if b else c)")]
    [InlineData("(a unless b else c)", "(a unless b else c)")]
    [InlineData("(a with b)", "(a with b)")]
    [InlineData("(a without b)", "(a without b)")]
    [InlineData("(  a >= 1.0-1   or (b < 2:3 and c)  )", "(a >= 1.0-1 or (b < 2:3 and c))")]
    [InlineData("(libc.so.6()(64bit) or musl)", "(libc.so.6()(64bit) or musl)")]
    [InlineData("((a or b) if (c and (d or e)))", "((a or b) if (c and (d or e)))")]
    [InlineData("(a)", "a")]
    public void Parses_and_prints_back(string text, string printed) =>
        Assert.Equal(printed, RichDependency.Parse(text).ToString());

    [Fact]
    public void A_term_keeps_its_version_relation()
    {
        var node = Assert.IsType<RichExpression>(RichDependency.Parse("(container-selinux >= 2:2.74 if selinux-policy)"));

        Assert.Equal(RichOperator.If, node.Operator);
        var term = Assert.IsType<RichTerm>(node.Operands[0]);
        Assert.Equal(new RpmDependency("container-selinux", DepRelation.Ge, Evr.Parse("2:2.74")), term.Dependency);
        Assert.Equal("selinux-policy", Assert.IsType<RichTerm>(node.Operands[1]).Dependency.Name);
    }

    [Theory]
    [InlineData("(a or b and c)")]
    [InlineData("(a if b if c)")]
    [InlineData("(a or b")]
    [InlineData("(a xor b)")]
    [InlineData("(a else b)")]
    [InlineData("(a or)")]
    [InlineData("(a >= )")]
    [InlineData("(a) b")]
    [InlineData("a or b")]
    public void Refuses_malformed_text(string text) =>
        Assert.Throws<FormatException>(() => RichDependency.Parse(text));
}
