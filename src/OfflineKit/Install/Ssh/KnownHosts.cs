using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OfflineKit.Install.Ssh;

/// <summary>A server's public host key: its type and the SSH wire-format blob known_hosts stores in base64.</summary>
public sealed record HostKey(string Type, byte[] Blob)
{
    /// <summary>Reads the key type from the blob itself (an RSA key is "ssh-rsa" whichever signature algorithm was used).</summary>
    public static HostKey FromBlob(byte[] blob)
    {
        if (blob.Length < 4)
        {
            throw new FormatException("a host key blob is shorter than its type field");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (length == 0 || length > 64 || 4 + length > blob.Length)
        {
            throw new FormatException("a host key blob has a malformed type field");
        }

        return new HostKey(Encoding.ASCII.GetString(blob, 4, (int)length), blob);
    }

    /// <summary>"SHA256:" and the unpadded base64 of the blob's SHA-256, exactly as ssh and ssh-keygen -l print it.</summary>
    public string Fingerprint => "SHA256:" + Convert.ToBase64String(SHA256.HashData(Blob)).TrimEnd('=');

    public string Base64 => Convert.ToBase64String(Blob);

    public bool SameKey(HostKey other) => Type == other.Type && Blob.AsSpan().SequenceEqual(other.Blob);

    public override string ToString() => $"{Type} {Fingerprint}";
}

public enum HostKeyVerdict
{
    /// <summary>A line for this host has exactly this key.</summary>
    Known,

    /// <summary>No line for this host has a key of this type.</summary>
    Unknown,

    /// <summary>A line for this host has a different key of the same type: never accepted.</summary>
    Changed,

    /// <summary>The key is listed under @revoked: never accepted.</summary>
    Revoked,
}

/// <summary>One usable line of a known_hosts file.</summary>
public sealed record KnownHostEntry(int Line, string Hosts, HostKey Key, bool Revoked);

public sealed record HostKeyCheck(HostKeyVerdict Verdict, HostKey Presented, IReadOnlyList<KnownHostEntry> Matching);

/// <summary>
/// An OpenSSH known_hosts file: plain and hashed (<c>|1|salt|hash</c>, HMAC-SHA1) host fields,
/// <c>[host]:port</c> for ports other than 22, comma-separated patterns with <c>*</c>, <c>?</c> and
/// <c>!</c> negation, any key type. <c>@revoked</c> lines refuse their key. <c>@cert-authority</c>
/// lines are ignored (offlinekit does not accept host certificates, so such a line cannot make a key
/// trusted); lines it cannot read are skipped, as ssh skips them.
/// </summary>
public sealed class KnownHostsFile
{
    private KnownHostsFile(string path, IReadOnlyList<KnownHostEntry> entries)
    {
        Path = path;
        Entries = entries;
    }

    public string Path { get; }

    public IReadOnlyList<KnownHostEntry> Entries { get; }

    /// <summary>Reads the file; a missing file knows no host.</summary>
    public static KnownHostsFile Load(string path)
    {
        try
        {
            return IO.FileKinds.Of(path) == IO.FileKind.Missing
                ? new KnownHostsFile(path, [])
                : Parse(IO.InputFile.ReadAllText(path, 16L << 20, "known_hosts file"), path);
        }
        catch (FileNotFoundException)
        {
            return new KnownHostsFile(path, []);
        }
        catch (DirectoryNotFoundException)
        {
            return new KnownHostsFile(path, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot read known_hosts: {e.Message}", e);
        }
    }

    public static KnownHostsFile Parse(string text, string path)
    {
        var entries = new List<KnownHostEntry>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0].StartsWith('#'))
            {
                continue;
            }

            var revoked = false;
            if (fields[0].StartsWith('@'))
            {
                if (fields[0] != "@revoked")
                {
                    continue; // @cert-authority, or a marker from the future
                }

                revoked = true;
                fields = fields[1..];
            }

            if (fields.Length < 3)
            {
                continue;
            }

            try
            {
                var key = HostKey.FromBlob(Convert.FromBase64String(fields[2]));
                if (key.Type == fields[1])
                {
                    entries.Add(new KnownHostEntry(i + 1, fields[0], key, revoked));
                }
            }
            catch (FormatException)
            {
                // ssh skips a line it cannot read; so do we.
            }
        }

        return new KnownHostsFile(path, entries);
    }

    /// <summary>How known_hosts names a host: "host" on port 22, "[host]:port" elsewhere.</summary>
    public static string HostName(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    public HostKeyCheck Check(string host, int port, HostKey presented)
    {
        var name = HostName(host, port);
        var matching = Entries.Where(e => Matches(e.Hosts, name)).ToList();
        if (matching.Any(e => e.Revoked && e.Key.SameKey(presented)))
        {
            return new HostKeyCheck(HostKeyVerdict.Revoked, presented, matching.Where(e => e.Revoked).ToList());
        }

        var live = matching.Where(e => !e.Revoked).ToList();
        if (live.Any(e => e.Key.SameKey(presented)))
        {
            return new HostKeyCheck(HostKeyVerdict.Known, presented, live);
        }

        var sameType = live.Where(e => e.Key.Type == presented.Type).ToList();
        return sameType.Count > 0
            ? new HostKeyCheck(HostKeyVerdict.Changed, presented, sameType)
            : new HostKeyCheck(HostKeyVerdict.Unknown, presented, live);
    }

    /// <summary>The key types known for a host, so the connection can ask for one of those first, as ssh does.</summary>
    public IReadOnlyList<string> KnownTypes(string host, int port)
    {
        var name = HostName(host, port);
        return Entries.Where(e => !e.Revoked && Matches(e.Hosts, name)).Select(e => e.Key.Type).Distinct().ToList();
    }

    /// <summary>A hashed line, as `ssh -o HashKnownHosts=yes` (Debian's default) writes it.</summary>
    public static string FormatHashedLine(string host, int port, HostKey key, byte[]? salt = null)
    {
        salt ??= RandomNumberGenerator.GetBytes(20);
        // ssh lowercases the name before hashing it.
        var hash = HashHostName(salt, HostName(host, port).ToLowerInvariant());
        return $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)} {key.Type} {key.Base64}";
    }

    /// <summary>
    /// HMAC-SHA1 because the known_hosts format fixes it ("|1|" is its only version); it hides names
    /// from a casual reader, it protects no secret.
    /// </summary>
    private static byte[] HashHostName(byte[] salt, string name)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, salt);
        hmac.AppendData(Encoding.UTF8.GetBytes(name));
        return hmac.GetHashAndReset();
    }

    internal static bool Matches(string hostsField, string name)
    {
        if (hostsField.StartsWith("|1|", StringComparison.Ordinal))
        {
            var parts = hostsField.Split('|');
            if (parts.Length != 4)
            {
                return false;
            }

            try
            {
                var salt = Convert.FromBase64String(parts[2]);
                var expected = Convert.FromBase64String(parts[3]);
                var actual = HashHostName(salt, name.ToLowerInvariant());
                return CryptographicOperations.FixedTimeEquals(actual, expected);
            }
            catch (FormatException)
            {
                return false;
            }
        }

        // OpenSSH: a negated pattern that matches wins over every positive one.
        var positive = false;
        foreach (var pattern in hostsField.Split(','))
        {
            if (pattern.StartsWith('!'))
            {
                if (Wildcard(pattern[1..], name))
                {
                    return false;
                }
            }
            else if (Wildcard(pattern, name))
            {
                positive = true;
            }
        }

        return positive;
    }

    private static bool Wildcard(string pattern, string name)
    {
        pattern = pattern.ToLowerInvariant();
        name = name.ToLowerInvariant();
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}

/// <summary>
/// The host-key decision for every connection of a run, like ssh's StrictHostKeyChecking: <c>yes</c>
/// by default, <c>accept-new</c> with <see cref="AcceptNew"/>. A changed or revoked key is refused
/// either way, with both fingerprints shown. Safe to call from parallel connections.
/// </summary>
public sealed class HostKeyPolicy(string knownHostsPath, bool acceptNew)
{
    private static readonly Lock AppendLock = new();

    public string KnownHostsPath { get; } = knownHostsPath;

    public bool AcceptNew { get; } = acceptNew;

    public static string DefaultKnownHosts =>
        System.IO.Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");

    public IReadOnlyList<string> KnownTypes(string host, int port) => KnownHostsFile.Load(KnownHostsPath).KnownTypes(host, port);

    /// <summary>Returns true when the key was new and has been recorded; throws <see cref="HostKeyRejectedException"/> when refused.</summary>
    public bool Verify(string host, int port, HostKey presented)
    {
        lock (AppendLock)
        {
            // Read again under the lock: a parallel connection to the same host may have just recorded it.
            var file = KnownHostsFile.Load(KnownHostsPath);
            var check = file.Check(host, port, presented);
            var name = KnownHostsFile.HostName(host, port);
            switch (check.Verdict)
            {
                case HostKeyVerdict.Known:
                    return false;
                case HostKeyVerdict.Revoked:
                    throw new HostKeyRejectedException(
                        $"host key for {name} is REVOKED: it offered {presented}, which {KnownHostsPath}:{check.Matching[0].Line} marks @revoked; refusing to connect");
                case HostKeyVerdict.Changed:
                    var old = string.Join(", ", check.Matching.Select(e => $"{e.Key.Fingerprint} ({KnownHostsPath}:{e.Line})"));
                    throw new HostKeyRejectedException(
                        $"host key for {name} has CHANGED: it offered {presented}, but known_hosts has {old}. " +
                        $"Someone may be intercepting the connection, or the host was reinstalled. If you know why, remove the old key " +
                        $"(ssh-keygen -R '{name}' -f {KnownHostsPath}) and run again; --accept-new-host-keys never replaces a changed key");
                default:
                    if (!AcceptNew)
                    {
                        var others = check.Matching.Count > 0 ? $" (keys of other types are known for it: {string.Join(", ", check.Matching.Select(e => e.Key.Type).Distinct())})" : string.Empty;
                        throw new HostKeyRejectedException(
                            $"host key for {name} is not known{others}: it offered {presented}. Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_{ShortType(presented.Type)}_key.pub` on the host, " +
                            $"then run again with --accept-new-host-keys, or add it to {KnownHostsPath} yourself");
                    }

                    Append(KnownHostsFile.FormatHashedLine(host, port, presented));
                    return true;
            }
        }
    }

    private void Append(string line)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(KnownHostsPath))!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using var stream = new FileStream(KnownHostsPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var needsNewline = false;
        if (stream.Length > 0)
        {
            stream.Seek(-1, SeekOrigin.End);
            needsNewline = stream.ReadByte() != '\n';
        }

        stream.Seek(0, SeekOrigin.End);
        var bytes = Encoding.UTF8.GetBytes((needsNewline ? "\n" : string.Empty) + line + "\n");
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    private static string ShortType(string type) => type switch
    {
        "ssh-ed25519" => "ed25519",
        "ssh-rsa" => "rsa",
        _ when type.StartsWith("ecdsa-", StringComparison.Ordinal) => "ecdsa",
        _ => "*",
    };
}

/// <summary>A host key refused: exit 1 for that host, the message says which key and why.</summary>
public sealed class HostKeyRejectedException(string message) : Exception(message);
