using System.Runtime.InteropServices;

namespace OfflineKit.IO;

/// <summary>What a path is, asked of the file system without opening it.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
}

/// <summary>
/// The file type by statx(2): .NET tells files from folders but not a fifo or a device from a file,
/// and opening a fifo blocks until someone writes to it, while a character device never ends.
/// </summary>
public static partial class FileKinds
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;

    // struct statx: the same layout on every Linux architecture; stx_mode is the u16 at offset 28.
    private const int StatxSize = 256;
    private const int ModeOffset = 28;

    /// <param name="followLinks">Describe what a symbolic link points to (an input named by the user) rather than the link (an entry in a bundle folder).</param>
    public static FileKind Of(string path, bool followLinks = true)
    {
        var buffer = new byte[StatxSize];
        int result;
        try
        {
            result = statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, buffer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without statx (glibc before 2.28): what .NET can tell.
            var info = new FileInfo(path);
            return Directory.Exists(path) ? FileKind.Directory
                : !info.Exists ? FileKind.Missing
                : !followLinks && info.LinkTarget is not null ? FileKind.SymbolicLink
                : FileKind.Regular;
        }

        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is 2 or 20 ? FileKind.Missing : throw new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        var mode = BitConverter.ToUInt16(buffer, ModeOffset) & 0xF000;
        return mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Socket,
        };
    }

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a file",
        FileKind.Directory => "a folder",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a fifo",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "missing",
    };

    [DllImport("libc.so.6", SetLastError = true)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code for this one call
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054
}
