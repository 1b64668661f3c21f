using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>The primary reader's pool: one string per text, past every growth of its blocks and buckets.</summary>
public class StringPoolTests
{
    [Fact]
    public void Gives_one_instance_per_text_across_growth()
    {
        var pool = new StringPool();
        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        // Past several blocks (4,096 entries each) and bucket doublings; every text asked twice.
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 20_000; i++)
            {
                var text = $"lib{i}.so.1()(64bit)";
                var pooled = pool.Get(text.AsSpan());
                Assert.Equal(text, pooled);
                if (round == 0)
                {
                    first[text] = pooled;
                }
                else
                {
                    Assert.Same(first[text], pooled);
                }
            }
        }

        Assert.Equal(20_000, pool.Count);
        Assert.Same(pool.Get("lib7.so.1()(64bit)".AsSpan()), pool.Text(pool.Add("lib7.so.1()(64bit)")));
        Assert.Equal(string.Empty, pool.Get([]));
        Assert.Equal(20_001, pool.Count);
    }
}
