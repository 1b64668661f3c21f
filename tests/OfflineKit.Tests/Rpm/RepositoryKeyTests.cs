using System.Diagnostics;
using System.Text;
using OfflineKit.Rpm;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Rpm;

/// <summary>Repository keys made by the real gpg; an expired one is made with gpg's faked clock.</summary>
public sealed class RepositoryKeyTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDir _home = new();

    public void Dispose()
    {
        Gpg("gpgconf", "--kill", "gpg-agent");
        _home.Dispose();
    }

    [Fact]
    public void A_current_armored_or_binary_key_passes_and_names_its_key()
    {
        Gpg("gpg", "--faked-system-time", "20260101T000000!", "--quick-gen-key", "Repo <repo@example.invalid>", "ed25519", "sign", "never");

        var armored = RepositoryKey.Check(Export(armor: true), "k", Now);
        var binary = RepositoryKey.Check(Export(armor: false), "k", Now);

        Assert.Equal(armored.Single().KeyId, binary.Single().KeyId);
        Assert.Null(armored.Single().Expires);
        Assert.Equal(16, armored.Single().KeyId.Length);
    }

    [Fact]
    public void An_expired_key_fails_the_build_and_the_same_key_extended_in_place_passes()
    {
        Gpg("gpg", "--faked-system-time", "20200101T000000!", "--quick-gen-key", "Repo <repo@example.invalid>", "ed25519", "sign", "1y");
        var stale = Export(armor: true);

        var e = Assert.Throws<OperationFailedException>(() => RepositoryKey.Check(stale, "GPG key of kubernetes: https://example.invalid/key", Now));
        Assert.Equal(ExitCode.Failed, e.ExitCode);
        Assert.Contains("GPG key of kubernetes: https://example.invalid/key: every key in it has expired", e.Message, StringComparison.Ordinal);
        Assert.Contains("expired 2020-12-31", e.Message, StringComparison.Ordinal);

        // What pkgs.k8s.io did in 2024: a new self-signature with a later expiry, same key.
        var fingerprint = Gpg("gpg", "--with-colons", "--list-keys", "repo@example.invalid").Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        Gpg("gpg", "--quick-set-expire", fingerprint, "5y");
        var current = RepositoryKey.Check(Export(armor: true), "k", Now).Single();
        Assert.True(current.Expires > Now);
    }

    [Theory]
    [InlineData("<html><body>404 Not Found</body></html>")]
    [InlineData("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n")]
    [InlineData("")]
    public void What_is_not_a_public_key_fails_the_build(string content)
    {
        var e = Assert.Throws<OperationFailedException>(() => RepositoryKey.Check(Encoding.UTF8.GetBytes(content), "GPG key of baseos", Now));
        Assert.StartsWith("GPG key of baseos: ", e.Message, StringComparison.Ordinal);
    }

    private byte[] Export(bool armor)
    {
        var path = Path.Combine(_home.Path, armor ? "key.asc" : "key.gpg");
        File.Delete(path);
        Gpg("gpg", armor ? "--armor" : "--no-armor", "--output", path, "--export", "repo@example.invalid");
        return File.ReadAllBytes(path);
    }

    private string Gpg(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["GNUPGHOME"] = _home.Path;
        if (tool == "gpg")
        {
            foreach (var a in new[] { "--batch", "--pinentry-mode", "loopback", "--passphrase", string.Empty })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {stderr}");
        return stdout.Result;
    }
}
