using OfflineKit.Spec;

namespace OfflineKit.Build;

/// <summary>
/// Finds the self-contained single-file offlinekit for a target arch, to ship under bin/.
/// `make publish` lays them out as dist/linux-x64/offlinekit and dist/linux-arm64/offlinekit.
/// </summary>
public static class SelfContainedBinary
{
    public const string DistEnvironmentVariable = "OFFLINEKIT_DIST";

    public static string Find(TargetPlatform target, string? distDirectory)
    {
        var rid = target.RuntimeIdentifier;
        var candidates = new List<string>();
        if (distDirectory is not null)
        {
            candidates.Add(Path.Combine(distDirectory, rid, "offlinekit"));
        }

        var env = Environment.GetEnvironmentVariable(DistEnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            candidates.Add(Path.Combine(env, rid, "offlinekit"));
        }

        var exe = Environment.ProcessPath;
        if (exe is not null && Path.GetFileName(exe) == "offlinekit")
        {
            var dir = Path.GetDirectoryName(exe)!;

            // Running from dist/<rid>/offlinekit: the other arch stands beside this one.
            candidates.Add(Path.Combine(dir, "..", rid, "offlinekit"));
            candidates.Add(Path.Combine(dir, rid, "offlinekit"));
        }

        candidates.Add(Path.Combine(Environment.CurrentDirectory, "dist", rid, "offlinekit"));

        foreach (var candidate in candidates.Select(Path.GetFullPath).Distinct())
        {
            if (File.Exists(candidate) && ElfMachine(candidate) == ExpectedMachine(target))
            {
                return candidate;
            }
        }

        throw new BadInputException(
            $"no self-contained offlinekit for {rid} was found (looked at {string.Join(", ", candidates.Select(Path.GetFullPath).Distinct())}); " +
            $"run `make publish`, point {DistEnvironmentVariable} at its dist/ folder, or pass --without bin");
    }

    private static ushort ExpectedMachine(TargetPlatform target) => target.Arch == TargetArch.Arm64 ? (ushort)183 : (ushort)62;

    /// <summary>The e_machine field of an ELF file (62 x86-64, 183 AArch64), 0 if it is not ELF.</summary>
    internal static ushort ElfMachine(string path)
    {
        Span<byte> header = stackalloc byte[20];
        using var f = File.OpenRead(path);
        if (f.Read(header) < 20 || header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            return 0;
        }

        return BitConverter.ToUInt16(header[18..20]);
    }
}
