using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>A package's checksum: a SHA-256 kept as its bytes must read, compare and print as the text it came from.</summary>
public class RpmChecksumTests
{
    private const string Sha256 = "09f3ba8a0c553b2b36260b69f740033cd60cbeb9a9f33fb06e316bb74319b11b";

    [Theory]
    [InlineData(Sha256)]
    [InlineData("ab12cd")]
    [InlineData("09F3BA8A0C553B2B36260B69F740033CD60CBEB9A9F33FB06E316BB74319B11B")] // not lower case: kept as given
    [InlineData("zz f3ba8a0c553b2b36260b69f740033cd60cbeb9a9f33fb06e316bb74319b11b")]
    [InlineData("")]
    public void Gives_back_its_value_and_compares_by_it(string value)
    {
        var c = new RpmChecksum("sha256", value);

        Assert.Equal(value, c.Value);
        Assert.Equal($"sha256:{value}", c.ToString());
        Assert.Equal(new RpmChecksum("sha256", value), c);
        Assert.Equal(new RpmChecksum("sha256", value).GetHashCode(), c.GetHashCode());
        Assert.NotEqual(new RpmChecksum("sha512", value), c);
        Assert.NotEqual(new RpmChecksum("sha256", value + "0"), c);
    }

    [Fact]
    public void Read_from_metadata_it_is_lower_cased_and_packed()
    {
        var read = RpmChecksum.FromText("sha256", Sha256.ToUpperInvariant());
        Span<byte> digest = stackalloc byte[32];

        Assert.Equal(new RpmChecksum("sha256", Sha256), read);
        Assert.Equal(Sha256, read.Value);
        Assert.True(read.TryGetDigest(digest));
        Assert.Equal(Convert.FromHexString(Sha256), digest.ToArray());
        Assert.Equal(read, RpmChecksum.FromDigest("sha256", digest));
        Assert.False(new RpmChecksum("sha1", "ab12cd").TryGetDigest(digest));
        Assert.NotEqual(new RpmChecksum("sha256", Sha256[..^1] + "c"), read);
    }
}
