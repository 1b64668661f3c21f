using OfflineKit.Install.Ssh;
using OfflineKit.Tests.Support;

namespace OfflineKit.Tests.Install;

public class KnownHostsTests
{
    // Real keys from ssh-keygen, and the lines `ssh-keygen -H` hashed them into.
    private const string Ed25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIAOjNL1nDu44Kb5X/FK5se5OJ760BqRH5S33lFEwPLZz";
    private const string Ecdsa = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFxDIRHoWK0zaNZOGlovuEfN+Zzmn4Ry0UBGhZKc9gmYSTsWWdWx5nqpX1/yv9kD27dAxU4hX9rkEfcE09uDuNI=";
    private const string Rsa = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC8ySs8KafuTloeIrHV+RMntjtFHS2oWDTdYZF1D1Tf6iUqrmRILD3gYEb/OTLKyZdMRXArnBGg0mLhQ369cpjOG2LBJvoUKpvfs6I4KS4kiWJU6T6GabIouBuPPyw3NnV4rXPNjKLeNx2QRktVbe928Huw1Db+jSH8su0qKGpapSpBtxZQFCOahFcM96zQjbvwnqfcGNq/4aM0NTivY1O8qm00BuLF4HeHJyY7BSuCK939Jc8wUJDutjh4s5ccYuYC+mFQ2/6hLcYYKK7qt2E0BVqGmkScsMxIYJLd8Br8x49q+5VsyUaEP10Ymn3fMfPOytD3ZrA0L7k7Oj19uPr9";

    private static readonly string Hashed = $"""
        |1|NeZJumTpR8uFPxpymeQCkT2Pi9g=|jBDWptkXbElEcB6RTl0c3tpa010= ssh-ed25519 {Ed25519}
        |1|1zpdPTDw6UvzwT7HxVX/voEk7sg=|PQPCKLRUSeuSySrfSbI6IJCtX/A= ecdsa-sha2-nistp256 {Ecdsa}
        |1|b7/oBlGDCsUbOEgOECrOsQd3HEw=|YGDXnrhCP5dU1gOG0O7x9pMXK5k= ssh-rsa {Rsa}

        """;

    private static HostKey Key(string base64) => HostKey.FromBlob(Convert.FromBase64String(base64));

    /// <summary>Another ed25519 key: same type, different bytes, as a reinstalled host would offer.</summary>
    private static HostKey OtherEd25519()
    {
        var blob = Convert.FromBase64String(Ed25519);
        blob[^1] ^= 0xff;
        return HostKey.FromBlob(blob);
    }

    [Theory]
    [InlineData(Ed25519, "ssh-ed25519", "SHA256:pgBv7O4bdZueovCx+eevJ2TUJh/VrRMY9xtwM2PyetU")]
    [InlineData(Ecdsa, "ecdsa-sha2-nistp256", "SHA256:gBnFNFsqCW8fpNWd/lih0bPutGQKE752JqUSUj/1n4s")]
    [InlineData(Rsa, "ssh-rsa", "SHA256:xywZGWEMbKgb1fRefwTUy7IfgWR8GjWsjJbsviihZMo")]
    public void Type_and_fingerprint_are_what_ssh_keygen_prints(string base64, string type, string fingerprint)
    {
        var key = Key(base64);
        Assert.Equal(type, key.Type);
        Assert.Equal(fingerprint, key.Fingerprint);
    }

    [Fact]
    public void Hashed_entries_written_by_ssh_keygen_match_their_host_and_port()
    {
        var file = KnownHostsFile.Parse(Hashed, "known_hosts");

        Assert.Equal(HostKeyVerdict.Known, file.Check("10.231.0.101", 22, Key(Ed25519)).Verdict);
        Assert.Equal(HostKeyVerdict.Known, file.Check("10.231.0.101", 2222, Key(Ecdsa)).Verdict);
        Assert.Equal(HostKeyVerdict.Known, file.Check("K8S-Node02", 22, Key(Rsa)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, file.Check("10.231.0.101", 2223, Key(Ecdsa)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, file.Check("10.231.0.102", 22, Key(Ed25519)).Verdict);
        Assert.Equal(["ecdsa-sha2-nistp256"], file.KnownTypes("10.231.0.101", 2222));
    }

    [Fact]
    public void A_different_key_of_a_known_type_is_changed_and_another_type_is_unknown()
    {
        var file = KnownHostsFile.Parse(Hashed, "known_hosts");

        var changed = file.Check("10.231.0.101", 22, OtherEd25519());
        Assert.Equal(HostKeyVerdict.Changed, changed.Verdict);
        Assert.Equal(1, changed.Matching.Single().Line);

        var otherType = file.Check("10.231.0.101", 22, Key(Rsa));
        Assert.Equal(HostKeyVerdict.Unknown, otherType.Verdict);
        Assert.Equal("ssh-ed25519", otherType.Matching.Single().Key.Type);
    }

    [Theory]
    [InlineData("10.231.0.101", 22, true)]
    [InlineData("k8s-master", 22, true)]
    [InlineData("K8S-MASTER", 22, true)]
    [InlineData("10.231.0.102", 22, false)]
    [InlineData("10.231.0.101", 2222, false)]
    [InlineData("node7.lab", 22, true)]
    [InlineData("node7.lab", 2222, false)]
    [InlineData("bad.lab", 22, false)]
    [InlineData("127.0.10.101", 2222, true)]
    public void Plain_patterns_wildcards_negation_and_ports(string host, int port, bool matches)
    {
        var file = KnownHostsFile.Parse(
            $"""
            # comment
            10.231.0.101,k8s-master ssh-ed25519 {Ed25519}
            *.lab,!bad.lab ssh-ed25519 {Ed25519}
            [127.0.10.10?]:2222 ssh-ed25519 {Ed25519}
            """,
            "known_hosts");

        Assert.Equal(matches ? HostKeyVerdict.Known : HostKeyVerdict.Unknown, file.Check(host, port, Key(Ed25519)).Verdict);
    }

    [Fact]
    public void Revoked_keys_are_refused_and_cert_authority_lines_trust_nothing()
    {
        var file = KnownHostsFile.Parse(
            $"""
            @cert-authority * ssh-ed25519 {Ed25519}
            @revoked * ssh-rsa {Rsa}
            k8s-node02 ssh-rsa {Rsa}
            garbage line
            k8s-node02 ssh-ed25519 not-base64!
            """,
            "known_hosts");

        Assert.Equal(HostKeyVerdict.Revoked, file.Check("k8s-node02", 22, Key(Rsa)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, file.Check("k8s-master", 22, Key(Ed25519)).Verdict);
    }

    [Fact]
    public void A_hashed_line_we_write_is_matched_by_our_reader()
    {
        var line = KnownHostsFile.FormatHashedLine("10.231.0.101", 2222, Key(Ecdsa));
        Assert.StartsWith("|1|", line);
        Assert.DoesNotContain("10.231.0.101", line);
        var file = KnownHostsFile.Parse(line + "\n", "known_hosts");
        Assert.Equal(HostKeyVerdict.Known, file.Check("10.231.0.101", 2222, Key(Ecdsa)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, file.Check("10.231.0.101", 22, Key(Ecdsa)).Verdict);
    }

    [Fact]
    public void Policy_refuses_unknown_keys_unless_accepting_new_ones_and_then_records_them()
    {
        using var dir = new TempDir();
        var path = dir["ssh/known_hosts"];
        var key = Key(Ed25519);

        var refused = Assert.Throws<HostKeyRejectedException>(() => new HostKeyPolicy(path, acceptNew: false).Verify("10.231.0.101", 22, key));
        Assert.Contains("host key for 10.231.0.101 is not known", refused.Message);
        Assert.Contains("SHA256:pgBv7O4bdZueovCx+eevJ2TUJh/VrRMY9xtwM2PyetU", refused.Message);
        Assert.Contains("--accept-new-host-keys", refused.Message);
        Assert.False(File.Exists(path));

        var accepting = new HostKeyPolicy(path, acceptNew: true);
        Assert.True(accepting.Verify("10.231.0.101", 22, key));
        Assert.False(accepting.Verify("10.231.0.101", 22, key));
        Assert.Single(File.ReadAllLines(path));
        Assert.False(new HostKeyPolicy(path, acceptNew: false).Verify("10.231.0.101", 22, key));
    }

    [Fact]
    public void Policy_refuses_a_changed_key_even_when_accepting_new_ones_and_shows_both_fingerprints()
    {
        using var dir = new TempDir();
        var path = dir.Write("known_hosts", $"10.231.0.101 ssh-ed25519 {Ed25519}");
        var other = OtherEd25519();

        var e = Assert.Throws<HostKeyRejectedException>(() => new HostKeyPolicy(path, acceptNew: true).Verify("10.231.0.101", 22, other));
        Assert.Contains("host key for 10.231.0.101 has CHANGED", e.Message);
        Assert.Contains(other.Fingerprint, e.Message);
        Assert.Contains($"SHA256:pgBv7O4bdZueovCx+eevJ2TUJh/VrRMY9xtwM2PyetU ({path}:1)", e.Message);
        Assert.Single(File.ReadAllLines(path));
    }

    [Fact]
    public void Appending_to_a_file_without_a_final_newline_keeps_lines_apart()
    {
        using var dir = new TempDir();
        var path = dir.Write("known_hosts", $"k8s-master ssh-rsa {Rsa}");

        new HostKeyPolicy(path, acceptNew: true).Verify("10.231.0.102", 22, Key(Ed25519));

        var file = KnownHostsFile.Load(path);
        Assert.Equal(2, file.Entries.Count);
        Assert.Equal(HostKeyVerdict.Known, file.Check("k8s-master", 22, Key(Rsa)).Verdict);
    }
}
