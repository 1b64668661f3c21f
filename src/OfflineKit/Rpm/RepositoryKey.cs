using Org.BouncyCastle.Bcpg.OpenPgp;

namespace OfflineKit.Rpm;

/// <summary>One primary key of a repository's key file: its id and when it stops being valid.</summary>
public sealed record RepositoryKeyInfo(string KeyId, DateTimeOffset Created, DateTimeOffset? Expires);

/// <summary>
/// Checks a repository GPG key file before a bundle carries it: it must be OpenPGP public keys
/// (armored or binary; not an HTML error page or a truncated download), and not every key in it may
/// have expired. pkgs.k8s.io's key had its expiry extended in place in 2024: a stale copy looks
/// fine until dnf refuses it on the host, so an expired key fails the build instead.
/// </summary>
public static class RepositoryKey
{
    public static IReadOnlyList<RepositoryKeyInfo> Check(byte[] content, string what, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(content);
        List<RepositoryKeyInfo> keys;
        try
        {
            using var decoder = PgpUtilities.GetDecoderStream(new MemoryStream(content, writable: false));
            var bundle = new PgpPublicKeyRingBundle(decoder);
            keys = bundle.GetKeyRings()
                .Select(ring => ring.GetPublicKey())
                .Select(key => new RepositoryKeyInfo(
                    key.KeyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture),
                    new DateTimeOffset(DateTime.SpecifyKind(key.CreationTime, DateTimeKind.Utc)),
                    key.GetValidSeconds() > 0 ? new DateTimeOffset(DateTime.SpecifyKind(key.CreationTime, DateTimeKind.Utc)).AddSeconds(key.GetValidSeconds()) : null))
                .ToList();
        }
        catch (Exception e) when (e is IOException or PgpException or ArgumentException or InvalidOperationException)
        {
            throw new OperationFailedException($"{what}: not an OpenPGP public key file ({e.Message})", e);
        }

        if (keys.Count == 0)
        {
            throw new OperationFailedException($"{what}: holds no OpenPGP public key");
        }

        if (keys.All(k => k.Expires is { } expires && expires <= now))
        {
            var list = string.Join(", ", keys.Select(k => $"{k.KeyId} expired {k.Expires:yyyy-MM-dd}"));
            throw new OperationFailedException(
                $"{what}: every key in it has expired ({list}); hosts would refuse the packages it signs. Repositories extend such keys in place: check that the mirror serves the current copy");
        }

        return keys;
    }
}
