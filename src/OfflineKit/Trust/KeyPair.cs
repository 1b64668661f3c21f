using System.Security.Cryptography;

namespace OfflineKit.Trust;

/// <summary>The files `offlinekit keygen` wrote.</summary>
public sealed record KeyPairFiles(string PrivateKey, string PublicKey);

/// <summary>An ECDSA P-256 key pair for <c>build --sign-key</c> and <c>verify --key</c>.</summary>
public static class KeyPair
{
    public const string PrivateKeyFile = "offlinekit.key";
    public const string PublicKeyFile = "offlinekit.pub";

    /// <summary>
    /// Writes DIR/offlinekit.key (PKCS#8 PEM, mode 0600) and DIR/offlinekit.pub (PEM SubjectPublicKeyInfo).
    /// Never overwrites: when either exists nothing is written.
    /// </summary>
    public static KeyPairFiles Generate(string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new KeyPairFiles(Path.Combine(directory, PrivateKeyFile), Path.Combine(directory, PublicKeyFile));
        foreach (var f in new[] { files.PrivateKey, files.PublicKey })
        {
            if (Path.Exists(f))
            {
                throw new BadInputException($"{f}: already exists; keygen never overwrites a key (remove it, or choose another --out)");
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Write(files.PrivateKey, key.ExportPkcs8PrivateKeyPem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            Write(files.PublicKey, BundleSignature.PublicKeyPem(key), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        catch
        {
            File.Delete(files.PrivateKey);
            throw;
        }

        return files;
    }

    private static void Write(string path, string text, UnixFileMode mode)
    {
        // CreateNew with the mode set at creation: the private key is never readable by others, not even for a moment.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = mode };
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(text);
        }
        catch (IOException e) when (File.Exists(path) && e is not FileNotFoundException)
        {
            throw new BadInputException($"{path}: already exists; keygen never overwrites a key", e);
        }
    }
}
