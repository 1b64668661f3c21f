using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using OfflineKit.Bundle;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.Tests.Trust;

public class SigningTests
{
    private const string Rpm = "rpms/kubelet-1.23.0-0.x86_64.rpm";

    [Fact]
    public async Task Keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites()
    {
        using var dir = new TempDir();
        var (code, stdout, _) = await CliRunner.RunAsync("keygen", "--out", dir.Path);
        Assert.Equal(0, code);
        var key = Path.Combine(dir.Path, KeyPair.PrivateKeyFile);
        var pub = Path.Combine(dir.Path, KeyPair.PublicKeyFile);
        Assert.Equal(pub, stdout.Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(key), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", await File.ReadAllTextAsync(pub), StringComparison.Ordinal);

        var before = await File.ReadAllBytesAsync(key);
        var again = await CliRunner.RunAsync("keygen", "--out", dir.Path);
        Assert.Equal(2, again.Code);
        Assert.Contains("never overwrites", again.Err, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(key));

        // openssl reads the pair as the P-256 key it is.
        var text = await RunAsync("openssl", $"pkey -in {key} -noout -text");
        Assert.Contains("prime256v1", text.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signed_bundle_verifies_with_openssl_and_with_verify_key()
    {
        using var dir = new TempDir();
        var (key, pub) = await KeysAsync(dir.Path, "a");
        var tarball = await WriteSignedAsync(dir.Path, key);

        // The signature is the entry right behind bundle.json, and listed nowhere.
        var entries = Bundles.Entries(tarball).Select(e => e.Name).ToList();
        Assert.Equal($"{Bundles.Name}/{BundleLayout.SignatureFile}", entries[2]);
        var extracted = (await BundleExtractor.ExtractAsync(tarball, Path.Combine(dir.Path, "x"))).Directory;
        Assert.DoesNotContain(BundleLayout.SignatureFile, await File.ReadAllTextAsync(Path.Combine(extracted, "SHA256SUMS")), StringComparison.Ordinal);
        Assert.DoesNotContain(BundleLayout.SignatureFile, await File.ReadAllTextAsync(Path.Combine(extracted, "bundle.json")), StringComparison.Ordinal);

        // openssl, as a host does it: base64-decoded DER over bundle.json's exact bytes.
        var der = Path.Combine(dir.Path, "sig.der");
        await File.WriteAllBytesAsync(der, Convert.FromBase64String(await File.ReadAllTextAsync(Path.Combine(extracted, BundleLayout.SignatureFile))));
        var openssl = await RunAsync("openssl", $"dgst -sha256 -verify {pub} -signature {der} {Path.Combine(extracted, "bundle.json")}");
        Assert.True(openssl.Code == 0, openssl.Stderr);
        Assert.Contains("Verified OK", openssl.Stdout, StringComparison.Ordinal);

        foreach (var bundle in new[] { tarball, extracted })
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("verify", bundle, "--key", pub);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("signature valid", stdout, StringComparison.Ordinal);
            var json = await CliRunner.RunAsync("verify", bundle, "--key", pub, "--output", "json");
            Assert.Equal("valid", JsonNode.Parse(json.Out)!["signature"]!.GetValue<string>());
        }

        // Without --key the signature is accepted unlisted, and the output says it was not checked.
        var plain = await CliRunner.RunAsync("verify", tarball);
        Assert.Equal(0, plain.Code);
        Assert.Contains("signature not checked", plain.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_openssl_genpkey_writes_sign_too_an_encrypted_one_with_its_passphrase_from_the_environment()
    {
        using var dir = new TempDir();
        var plainKey = Path.Combine(dir.Path, "plain.pem");
        var encryptedKey = Path.Combine(dir.Path, "encrypted.pem");
        var pub = Path.Combine(dir.Path, "pub.pem");
        Assert.Equal(0, (await RunAsync("openssl", $"genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {plainKey}")).Code);
        Assert.Equal(0, (await RunAsync("openssl", $"pkey -in {plainKey} -aes256 -passout pass:s3cret -out {encryptedKey}")).Code);
        Assert.Equal(0, (await RunAsync("openssl", $"pkey -in {plainKey} -pubout -out {pub}")).Code);
        Assert.Contains("ENCRYPTED PRIVATE KEY", await File.ReadAllTextAsync(encryptedKey), StringComparison.Ordinal);

        using (var key = BundleSignature.LoadPrivateKey(plainKey, null, "--sign-key-passphrase-env"))
        using (var publicKey = BundleSignature.LoadPublicKey(pub))
        {
            var sig = BundleSignature.Sign(key, "{}\n"u8);
            Assert.True(BundleSignature.Verify(publicKey, "{}\n"u8, sig));
            Assert.False(BundleSignature.Verify(publicKey, "{ }\n"u8, sig));
        }

        var noPass = Assert.Throws<BadInputException>(() => BundleSignature.LoadPrivateKey(encryptedKey, null, "--sign-key-passphrase-env"));
        Assert.Contains("--sign-key-passphrase-env", noPass.Message, StringComparison.Ordinal);
        Assert.Throws<BadInputException>(() => BundleSignature.LoadPrivateKey(encryptedKey, "wrong", "--sign-key-passphrase-env"));
        using (var key = BundleSignature.LoadPrivateKey(encryptedKey, "s3cret", "--sign-key-passphrase-env"))
        using (var publicKey = BundleSignature.LoadPublicKey(pub))
        {
            Assert.True(BundleSignature.Verify(publicKey, "x"u8, BundleSignature.Sign(key, "x"u8)));
        }

        // Another curve is refused by name, and a private key given as --key is told apart.
        var p384 = Path.Combine(dir.Path, "p384.pem");
        Assert.Equal(0, (await RunAsync("openssl", $"genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out {p384}")).Code);
        Assert.Contains("P-256", Assert.Throws<BadInputException>(() => BundleSignature.LoadPrivateKey(p384, null, "x")).Message, StringComparison.Ordinal);
        Assert.Contains("public key", Assert.Throws<BadInputException>(() => BundleSignature.LoadPublicKey(plainKey)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_key_an_unrelated_key_a_removed_signature_and_an_unsigned_bundle_fail()
    {
        using var dir = new TempDir();
        var (key, pub) = await KeysAsync(dir.Path, "a");
        var (_, otherPub) = await KeysAsync(dir.Path, "b");
        var tarball = await WriteSignedAsync(dir.Path, key);

        var wrong = await CliRunner.RunAsync("verify", tarball, "--key", otherPub);
        Assert.Equal(1, wrong.Code);
        Assert.Contains("signature INVALID", wrong.Out, StringComparison.Ordinal);

        var extracted = (await BundleExtractor.ExtractAsync(tarball, Path.Combine(dir.Path, "x"))).Directory;
        File.Delete(Path.Combine(extracted, BundleLayout.SignatureFile));
        var removed = await CliRunner.RunAsync("verify", extracted, "--key", pub, "--output", "json");
        Assert.Equal(1, removed.Code);
        var report = JsonNode.Parse(removed.Out)!;
        Assert.Equal("missing", report["signature"]!.GetValue<string>());
        Assert.Equal("signature", report["problems"]![0]!["kind"]!.GetValue<string>());

        // Without --key the same folder is a fine, unsigned bundle.
        Assert.Equal(0, (await CliRunner.RunAsync("verify", extracted)).Code);

        var unsigned = await Bundles.WriteTarballAsync(Path.Combine(dir.Path, "unsigned"));
        Assert.Equal(1, (await CliRunner.RunAsync("verify", unsigned, "--key", pub)).Code);
    }

    [Fact]
    public async Task A_consistently_tampered_bundle_passes_without_key_and_fails_under_it()
    {
        using var dir = new TempDir();
        var (key, pub) = await KeysAsync(dir.Path, "a");
        var tarball = await WriteSignedAsync(dir.Path, key);
        var bundle = (await BundleExtractor.ExtractAsync(tarball, Path.Combine(dir.Path, "x"))).Directory;

        // A file and every record of it rewritten: the file, its SHA256SUMS line, its bundle.json entries, its SBOM hash.
        var evil = Encoding.UTF8.GetBytes(new string('e', 3000));
        var oldSha = Sha(await File.ReadAllBytesAsync(Path.Combine(bundle, Rpm)));
        var newSha = Sha(evil);
        await File.WriteAllBytesAsync(Path.Combine(bundle, Rpm), evil);
        var sbom = Path.Combine(bundle, BundleLayout.SbomFile);
        var oldSbomSha = Sha(await File.ReadAllBytesAsync(sbom));
        await Rewrite(sbom, oldSha, newSha);
        var newSbomSha = Sha(await File.ReadAllBytesAsync(sbom));
        await Rewrite(Path.Combine(bundle, "bundle.json"), oldSha, newSha);
        await Rewrite(Path.Combine(bundle, "bundle.json"), oldSbomSha, newSbomSha);
        var sums = (await File.ReadAllTextAsync(Path.Combine(bundle, "SHA256SUMS")))
            .Replace(oldSha, newSha, StringComparison.Ordinal)
            .Replace(oldSbomSha, newSbomSha, StringComparison.Ordinal);
        var manifestSha = Sha(await File.ReadAllBytesAsync(Path.Combine(bundle, "bundle.json")));
        sums = string.Join('\n', sums.Split('\n').Select(l => l.EndsWith("  bundle.json", StringComparison.Ordinal) ? $"{manifestSha}  bundle.json" : l));
        await File.WriteAllTextAsync(Path.Combine(bundle, "SHA256SUMS"), sums);

        // Consistent: today's two-level check cannot tell.
        var plain = await CliRunner.RunAsync("verify", bundle);
        Assert.True(plain.Code == 0, plain.Out + plain.Err);

        var signed = await CliRunner.RunAsync("verify", bundle, "--key", pub);
        Assert.Equal(1, signed.Code);
        Assert.Contains("signature INVALID", signed.Out, StringComparison.Ordinal);

        // Re-signed by nobody: the old signature removed too.
        File.Delete(Path.Combine(bundle, BundleLayout.SignatureFile));
        Assert.Equal(1, (await CliRunner.RunAsync("verify", bundle, "--key", pub)).Code);
    }

    [Fact]
    public async Task Verify_sh_checks_the_signature_with_openssl_before_sha256sum()
    {
        using var dir = new TempDir();
        var (key, pub) = await KeysAsync(dir.Path, "a");
        var (_, otherPub) = await KeysAsync(dir.Path, "b");
        var tarball = await WriteSignedAsync(dir.Path, key);
        var bundle = (await BundleExtractor.ExtractAsync(tarball, Path.Combine(dir.Path, "x"))).Directory;
        var script = Path.Combine(bundle, BundleLayout.VerifyScript);

        var ok = await RunAsync("bash", $"{script} --key {pub}");
        Assert.True(ok.Code == 0, ok.Stdout + ok.Stderr);
        Assert.Contains("bundle.json.sig verifies", ok.Stdout, StringComparison.Ordinal);

        var wrong = await RunAsync("bash", $"{script} --key {otherPub}");
        Assert.Equal(1, wrong.Code);
        Assert.Contains("does not verify", wrong.Stderr, StringComparison.Ordinal);

        // The signature fails first even where a file is broken too; then, unsigned, it is refused under --key.
        await File.AppendAllTextAsync(Path.Combine(bundle, Rpm), "x");
        Assert.Contains("does not verify", (await RunAsync("bash", $"{script} --key {otherPub}")).Stderr, StringComparison.Ordinal);
        Assert.Contains("FAILED", (await RunAsync("bash", $"{script} --key {pub}")).Stderr, StringComparison.Ordinal);
        File.Delete(Path.Combine(bundle, BundleLayout.SignatureFile));
        var unsigned = await RunAsync("bash", $"{script} --key {pub}");
        Assert.Equal(1, unsigned.Code);
        Assert.Contains("not signed", unsigned.Stderr, StringComparison.Ordinal);
    }

    internal static async Task<(string Key, string Pub)> KeysAsync(string root, string name)
    {
        var files = KeyPair.Generate(Path.Combine(root, "keys-" + name));
        await Task.CompletedTask;
        return (files.PrivateKey, files.PublicKey);
    }

    /// <summary>The sample bundle plus the real verify.sh and an SBOM, signed with the key at <paramref name="keyPath"/>.</summary>
    internal static async Task<string> WriteSignedAsync(string root, string keyPath)
    {
        using var key = BundleSignature.LoadPrivateKey(keyPath, null, "x");
        var files = Bundles.SampleFiles().ToList();
        files.Add(BundleFile.FromBytes(BundleLayout.VerifyScript, OfflineKit.Scripts.EmbeddedScripts.Read("verify.sh")) with { Executable = true });
        var artifacts = new List<Artifact>();
        foreach (var f in files.Where(f => f.Artifact is not null))
        {
            artifacts.Add(BundleWriter.ArtifactOf(f, Sha(await ReadAsync(f))));
        }

        files.Add(BundleFile.FromBytes(BundleLayout.SbomFile, Sbom.Write(Bundles.Name, "1.0.0", Sbom.Components(artifacts))));
        var header = Bundles.Header with { Signer = json => BundleSignature.Sign(key, json) };
        return (await BundleWriter.WriteFileAsync(header, files, Path.Combine(root, "out-" + Guid.NewGuid().ToString("N")[..8]), BundleFormat.Tar)).Path;
    }

    private static async Task<byte[]> ReadAsync(BundleFile f)
    {
        await using var s = f.Open();
        using var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task Rewrite(string path, string from, string to)
    {
        var text = await File.ReadAllTextAsync(path);
        Assert.Contains(from, text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(path, text.Replace(from, to, StringComparison.Ordinal));
    }

    internal static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }
}
