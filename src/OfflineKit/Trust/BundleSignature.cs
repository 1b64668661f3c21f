using System.Security.Cryptography;
using System.Text;

namespace OfflineKit.Trust;

/// <summary>
/// bundle.json.sig: base64 of the DER ECDSA P-256 / SHA-256 signature over the exact bytes of
/// bundle.json — what <c>cosign sign-blob --key</c> writes, so <c>cosign verify-blob</c> and
/// <c>openssl dgst -sha256 -verify pub.pem -signature &lt;decoded&gt; bundle.json</c> both check it.
/// bundle.json pins every other byte of the bundle, so this one signature covers the whole bundle.
/// </summary>
public static class BundleSignature
{
    /// <summary>The named curve P-256 (prime256v1, secp256r1).</summary>
    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>The content of bundle.json.sig for <paramref name="manifestJson"/>.</summary>
    public static byte[] Sign(ECDsa key, ReadOnlySpan<byte> manifestJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        var der = key.SignData(manifestJson, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return Encoding.ASCII.GetBytes(Convert.ToBase64String(der));
    }

    /// <summary>Whether <paramref name="signatureFile"/> (bundle.json.sig's bytes) is <paramref name="key"/>'s signature over <paramref name="manifestJson"/>.</summary>
    public static bool Verify(ECDsa key, ReadOnlySpan<byte> manifestJson, ReadOnlySpan<byte> signatureFile)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[] der;
        try
        {
            der = Convert.FromBase64String(Encoding.ASCII.GetString(signatureFile).Trim());
        }
        catch (FormatException)
        {
            return false;
        }

        try
        {
            return key.VerifyData(manifestJson, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// An ECDSA P-256 private key from a PKCS#8 PEM file as <c>openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:P-256</c> writes it (or "EC PRIVATE KEY"). An encrypted one ("ENCRYPTED PRIVATE
    /// KEY") needs <paramref name="passphrase"/>; it comes from an environment variable, never the command line.
    /// </summary>
    public static ECDsa LoadPrivateKey(string path, string? passphrase, string passphraseSource)
    {
        var pem = ReadPem(path, "--sign-key");
        var key = ECDsa.Create();
        try
        {
            if (pem.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
            {
                if (passphrase is null)
                {
                    throw new BadInputException($"{path}: the key is encrypted; put its passphrase in an environment variable and name it with {passphraseSource}");
                }

                key.ImportFromEncryptedPem(pem, passphrase);
            }
            else if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            {
                key.ImportFromPem(pem);
            }
            else
            {
                throw new BadInputException($"{path}: not a private key (expected a PEM 'PRIVATE KEY', as `offlinekit keygen` or `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes it)");
            }

            RequireP256(key, path);
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new BadInputException($"{path}: cannot read the private key ({e.Message}){(passphrase is null ? string.Empty : "; is the passphrase right?")}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>An ECDSA P-256 public key from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) file, as keygen, cosign and openssl write it.</summary>
    public static ECDsa LoadPublicKey(string path)
    {
        var pem = ReadPem(path, "--key");
        if (!pem.Contains("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
        {
            throw new BadInputException(pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                ? $"{path}: a private key; --key takes the public key (the .pub that `offlinekit keygen` wrote, or `openssl pkey -pubout`)"
                : $"{path}: not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            RequireP256(key, path);
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new BadInputException($"{path}: cannot read the public key: {e.Message}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The PEM "PUBLIC KEY" of a key: what <c>--key</c>, cosign and openssl read.</summary>
    public static string PublicKeyPem(ECDsa key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    private static void RequireP256(ECDsa key, string path)
    {
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        if (!curve.IsNamed || curve.Oid.Value != P256Oid)
        {
            throw new BadInputException($"{path}: an EC key on {curve.Oid.FriendlyName ?? curve.Oid.Value ?? "an unnamed curve"}; offlinekit signs with P-256 only");
        }
    }

    private static string ReadPem(string path, string flag)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{flag} {path}: cannot read it ({e.Message})", e);
        }
    }
}
