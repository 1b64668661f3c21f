using OfflineKit.Bundle;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Hostile;

/// <summary>
/// A bounded, seeded fuzz run over the tar reading of verify and extract: a real bundle (with an image
/// archive inside, so both tar readers are exercised) mutated a fixed number of times. Every outcome must
/// be a report or a user error, never another exception or a hang, and extract must leave either the
/// whole verified bundle or nothing. A failure names its seed and iteration, so it replays exactly.
/// </summary>
public class TarFuzzTests
{
    private const int Seed = 17;
    private const int Iterations = 1000;

    [Fact]
    public async Task Mutated_tarballs_give_a_report_or_a_user_error_and_extract_leaves_all_or_nothing()
    {
        var bundle = new CraftedBundle();
        var image = CraftedBundle.ImageArchive("images/common.tar");
        bundle.Files.Add(("images/common.tar", image.Archive));
        bundle.Artifacts.Add(image.Artifact);
        var original = bundle.ToBytes();
        var random = new Random(Seed);
        using var dir = new TempDir();
        var verified = 0;

        for (var i = 0; i < Iterations; i++)
        {
            var mutated = Mutate(original, random);
            var tarball = dir["fuzz.tar"];
            await File.WriteAllBytesAsync(tarball, mutated);
            var where = $"seed {Seed}, iteration {i}";

            try
            {
                var report = await BundleVerifier.VerifyAsync(tarball).WaitAsync(TimeSpan.FromSeconds(30));
                verified += report.Ok ? 1 : 0;
            }
            catch (OfflineKitException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{where}: verify threw {e}");
            }

            if (i % 5 != 0)
            {
                continue;
            }

            var to = dir["to"];
            try
            {
                var result = await BundleExtractor.ExtractAsync(tarball, to).WaitAsync(TimeSpan.FromSeconds(30));
                var left = Directory.EnumerateFileSystemEntries(to).ToList();
                Assert.True(result.Report.Ok ? left.SequenceEqual([result.Directory]) : left.Count == 0, $"{where}: extract left {string.Join(", ", left)}");
            }
            catch (OfflineKitException)
            {
                Assert.True(!Directory.Exists(to) || !Directory.EnumerateFileSystemEntries(to).Any(), $"{where}: a refused extract left files behind");
            }
            catch (Exception e)
            {
                Assert.Fail($"{where}: extract threw {e}");
            }

            Assert.Equal(["fuzz.tar", "to"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
            Directory.Delete(to, recursive: true);
        }

        // The mutations are not all harmless: most must be caught (a flip in padding may pass, and should).
        Assert.InRange(verified, 0, Iterations / 2);
    }

    /// <summary>One to three of: bit flips, a header field overwritten, a cut, a block repeated or dropped, random bytes spliced in.</summary>
    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToList();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            switch (random.Next(6))
            {
                case 0:
                    for (var k = random.Next(1, 9); k > 0; k--)
                    {
                        var at = random.Next(bytes.Count);
                        bytes[at] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1:
                    // A header field: name, mode, size, checksum, type, link name, magic, prefix.
                    int[] fields = [0, 100, 124, 148, 156, 157, 257, 345];
                    var block = random.Next(bytes.Count / 512) * 512;
                    var field = block + fields[random.Next(fields.Length)];
                    for (var k = random.Next(1, 12); k > 0 && field < bytes.Count; k--, field++)
                    {
                        bytes[field] = random.Next(3) switch { 0 => (byte)random.Next(256), 1 => (byte)('0' + random.Next(8)), _ => (byte)"/.\0x7"[random.Next(5)] };
                    }

                    break;
                case 2:
                    bytes.RemoveRange(random.Next(bytes.Count), 0);
                    var cut = random.Next(bytes.Count);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 3 when bytes.Count >= 1024:
                    var from = random.Next(bytes.Count / 512) * 512;
                    bytes.InsertRange(random.Next(bytes.Count / 512) * 512, bytes.GetRange(from, Math.Min(512, bytes.Count - from)));
                    break;
                case 4 when bytes.Count >= 1024:
                    bytes.RemoveRange(random.Next(bytes.Count / 512) * 512, 512);
                    break;
                default:
                    var junk = new byte[random.Next(1, 600)];
                    random.NextBytes(junk);
                    bytes.InsertRange(random.Next(bytes.Count + 1), junk);
                    break;
            }

            if (bytes.Count == 0)
            {
                break;
            }
        }

        return [.. bytes];
    }
}
