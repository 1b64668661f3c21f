using System.Collections.Concurrent;

namespace OfflineKit.Trust;

/// <summary>
/// What a build resolves, noted by each stage as it goes (thread-safe), and, under <c>build --lock</c>,
/// the lock those stages must meet: each stage asks it for the digest to fetch and fails naming
/// what cannot be had at it.
/// </summary>
public sealed class LockRecorder(BundleLock? locked, string? lockSource)
{
    private readonly ConcurrentBag<LockedImage> _images = [];
    private readonly ConcurrentBag<LockedRepository> _repositories = [];
    private readonly ConcurrentBag<LockedRpm> _rpms = [];
    private readonly ConcurrentBag<LockedFile> _manifests = [];
    private readonly ConcurrentBag<LockedFile> _keys = [];

    /// <summary>The lock being rebuilt from, or null for a build that resolves afresh.</summary>
    public BundleLock? Locked { get; } = locked;

    public string LockSource { get; } = lockSource ?? "the lock";

    public void Image(string name, string digest) => _images.Add(new LockedImage(name, digest));

    public void Repository(string name, string baseUrl, string repomd) => _repositories.Add(new LockedRepository(name, baseUrl, repomd));

    public void Rpm(LockedRpm rpm) => _rpms.Add(rpm);

    public void Manifest(string name, string url, string sha256) => _manifests.Add(new LockedFile(name, url, sha256));

    public void Key(string name, string url, string sha256) => _keys.Add(new LockedFile(name, url, sha256));

    /// <summary>The locked manifest digest of an image; fails naming it when the lock has none.</summary>
    public string ImageDigest(string name) =>
        Locked!.Images.FirstOrDefault(i => i.Name == name)?.Digest
        ?? throw new OperationFailedException($"image {name}: not in {LockSource}; the spec asks for an image the lock does not pin (build without --lock to resolve it anew)");

    /// <summary>Under --lock, fails when a fetched file's SHA-256 is not the locked one.</summary>
    public void CheckFile(string what, IReadOnlyList<LockedFile> locked, string name, string url, string sha256)
    {
        if (Locked is null)
        {
            return;
        }

        var entry = locked.FirstOrDefault(f => f.Name == name)
            ?? throw new OperationFailedException($"{what} {name} ({url}): not in {LockSource}");
        if (!string.Equals(entry.Sha256, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new OperationFailedException(
                $"{what} {name}: cannot be fetched at its locked digest: {url} now has sha256 {sha256}, {LockSource} has {entry.Sha256}");
        }
    }

    /// <summary>
    /// The lock this build writes: under --lock, the lock it was given (the bundle holds exactly what it
    /// pins, even where upstream moved on: a newer repomd.xml is not what the bundle was made from), after
    /// checking it pins exactly what the stages carried; otherwise what the stages noted.
    /// </summary>
    public BundleLock Result(string name, string kubernetesVersion, string os, string arch, string? catalogRevision, string createdBy)
    {
        if (Locked is not null)
        {
            // The lock goes into the bundle as is: it must pin exactly what this build carries.
            var differs = new[]
            {
                Differ("images", Locked.Images.Select(i => $"{i.Name}@{i.Digest}"), _images.Select(i => $"{i.Name}@{i.Digest}")),
                Differ("RPMs", Locked.Rpms.Select(r => $"{r.Nevra} {r.Checksum}"), _rpms.Select(r => $"{r.Nevra} {r.Checksum}")),
                Differ("manifests", Locked.Manifests.Select(m => $"{m.Name} {m.Sha256}"), _manifests.Select(m => $"{m.Name} {m.Sha256}")),
                Differ("GPG keys", Locked.Keys.Select(k => $"{k.Name} {k.Sha256}"), _keys.Select(k => $"{k.Name} {k.Sha256}")),
            }.OfType<string>().ToList();
            if (differs.Count > 0)
            {
                throw new OperationFailedException(
                    $"{LockSource} pins other things than this build carries ({string.Join("; ", differs)}); build with the same spec and --without parts as the build that wrote it");
            }

            return Locked.Sorted();
        }

        return new BundleLock
        {
            LockVersion = BundleLock.CurrentVersion,
            Name = name,
            KubernetesVersion = kubernetesVersion,
            Os = os,
            Arch = arch,
            CatalogRevision = catalogRevision,
            CreatedBy = createdBy,
            Images = [.. _images],
            Repositories = [.. _repositories],
            Rpms = [.. _rpms],
            Manifests = [.. _manifests],
            Keys = [.. _keys],
        }.Sorted();
    }

    private static string? Differ(string what, IEnumerable<string> locked, IEnumerable<string> built)
    {
        var l = locked.ToHashSet(StringComparer.Ordinal);
        var b = built.ToHashSet(StringComparer.Ordinal);
        if (l.SetEquals(b))
        {
            return null;
        }

        var notBuilt = l.Except(b).Order(StringComparer.Ordinal).ToList();
        var notLocked = b.Except(l).Order(StringComparer.Ordinal).ToList();
        return $"{what}: " + string.Join(", ", new[]
        {
            notBuilt.Count > 0 ? $"locked but not carried: {string.Join(", ", notBuilt.Take(3))}{(notBuilt.Count > 3 ? ", …" : string.Empty)}" : null,
            notLocked.Count > 0 ? $"carried but not locked: {string.Join(", ", notLocked.Take(3))}{(notLocked.Count > 3 ? ", …" : string.Empty)}" : null,
        }.OfType<string>());
    }
}
