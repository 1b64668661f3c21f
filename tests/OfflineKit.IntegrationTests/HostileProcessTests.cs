using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>
/// Hostile and careless input against the published binary, where the behaviour is the process's own
/// (issue #17): signals, exit codes, one-line errors without a trace, bounded time, nothing left behind,
/// and nothing handed to a Docker daemon before it is verified.
/// </summary>
public class HostileProcessTests
{
    /// <summary>A .tar.gz of a few MB that inflates to 4 GiB of listed zeros: long enough to interrupt.</summary>
    private static readonly Lazy<Task<string>> SlowBundle = new(WriteSlowBundleAsync);

    private static async Task<string> WriteSlowBundleAsync()
    {
        const long size = 4L << 30;
        var dir = Directory.CreateTempSubdirectory("offlinekit-slow-").FullName;
        string sha;
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var chunk = new byte[1 << 20];
            for (long done = 0; done < size; done += chunk.Length)
            {
                hash.AppendData(chunk);
            }

            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        var bundle = new CraftedBundle { Listed = { ("images/zeros.tar", sha, size) } };
        var head = bundle.ToBytes();

        // The crafted head without its end-of-archive blocks, then the big entry, then the end.
        var path = Path.Combine(dir, Bundles.Name + ".tar.gz");
        await using (var file = File.Create(path))
        await using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        {
            await using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
            {
                using var reader = new TarReader(new MemoryStream(head));
                while (reader.GetNextEntry(copyData: true) is { } entry)
                {
                    tar.WriteEntry(entry);
                }

                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{Bundles.Name}/images/zeros.tar") { DataStream = new ZeroStream(size) });
            }
        }

        return path;
    }

    [Theory]
    [InlineData("verify", "INT", 130)]
    [InlineData("verify", "TERM", 143)]
    [InlineData("extract", "INT", 130)]
    [InlineData("extract", "TERM", 143)]
    public async Task A_signal_during_work_gives_one_line_its_exit_code_and_leaves_nothing(string command, string signal, int expected)
    {
        var tarball = await SlowBundle.Value;
        using var dir = new TempDir();
        var tmp = Directory.CreateDirectory(dir["tmp"]).FullName;
        string[] args = command == "verify" ? ["verify", tarball] : ["extract", tarball, "--to", dir["to"]];
        var info = new ProcessStartInfo(Tools.Offlinekit()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["TMPDIR"] = tmp;
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await WaitUntilWorkingAsync(process, command == "extract" ? dir["to"] : null);
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);

        var err = (await stderr).TrimEnd('\n');
        Assert.True(process.ExitCode == expected, $"exit {process.ExitCode}: {err}");
        Assert.Equal($"offlinekit: interrupted by {(signal == "INT" ? "SIGINT (Ctrl-C)" : "SIGTERM")}; stopped, and removed what was half-written", Assert.Single(err.Split('\n')));
        Assert.Equal(string.Empty, await stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
        if (command == "extract")
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir["to"]));
        }
    }

    // The process's own start reads ~95-120 KB (measured on verify: the runtime's files, before the
    // command runs and its signal handlers are in place); a megabyte more is the tarball's.
    private const long WorkingAfter = 1 << 20;

    /// <summary>Until the run has read a good part of the tarball (its I/O counter), or the staging folder exists.</summary>
    private static async Task WaitUntilWorkingAsync(Process process, string? to)
    {
        for (var i = 0; i < 300 && !process.HasExited; i++)
        {
            await Task.Delay(50);
            var staged = to is not null && Directory.Exists(to) && Directory.EnumerateDirectories(to).Any();
            var read = File.ReadAllLines($"/proc/{process.Id}/io").FirstOrDefault(l => l.StartsWith("rchar:", StringComparison.Ordinal));
            if ((to is null || staged) && read is not null && long.Parse(read[6..].Trim(), System.Globalization.CultureInfo.InvariantCulture) > WorkingAfter)
            {
                return;
            }
        }
    }

    [Theory]
    [InlineData("a file")]
    [InlineData("/proc/1")]
    [InlineData("under a file")]
    public async Task Extract_to_an_occupied_or_unwritable_place_is_one_line_and_exit_2(string where)
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        var file = dir.Write("afile", "x");
        var to = where switch { "a file" => file, "under a file" => Path.Combine(file, "sub"), _ => where };

        var run = await Tools.RunAsync(Tools.Offlinekit(), ["extract", tarball, "--to", to]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("offlinekit: --to ", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
        Assert.DoesNotContain("internal error", run.Stderr);
    }

    [Fact]
    public async Task Verify_of_a_folder_with_a_fifo_and_a_device_ends_and_names_them()
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        Directory.CreateDirectory(dir["x"]);
        Assert.Equal(0, (await Tools.Bash($"tar -xf '{tarball}' -C '{dir["x"]}' && cd '{dir["x"]}/{Bundles.Name}/rpms' && mkfifo pipe && (mknod zero c 1 5 2>/dev/null || true)")).ExitCode);
        var device = File.Exists(Path.Combine(dir["x"], Bundles.Name, "rpms/zero"));

        var run = await Tools.RunAsync(Tools.Offlinekit(), ["verify", dir["x"], "--output", "json"]);

        Assert.Equal(1, run.ExitCode);
        var problems = System.Text.Json.JsonDocument.Parse(run.Stdout).RootElement.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("path").GetString(), p.GetProperty("detail").GetString()!.Split(';')[0])).ToList();
        Assert.Contains(("rpms/pipe", "a fifo"), problems);
        Assert.Equal(device, problems.Contains(("rpms/zero", "a character device")));
    }

    [Theory]
    [InlineData("install", "{bundle}", "--inventory", "/dev/zero", "--dry-run")]
    [InlineData("build", "--k8s", "1.23.0", "--spec", "/dev/zero")]
    [InlineData("rpms", "resolve", "--k8s", "1.23.0", "--mirrors", "/dev/zero")]
    [InlineData("install", "{bundle}", "--inventory", "{fifo}", "--dry-run")]
    public async Task An_input_that_is_no_regular_file_is_one_line_and_exit_2(params string[] args)
    {
        using var dir = new TempDir();
        var tarball = new CraftedBundle().WriteTo(dir["ok.tar"]);
        Assert.Equal(0, (await Tools.Bash($"mkfifo '{dir["in.fifo"]}'")).ExitCode);
        args = [.. args.Select(a => a.Replace("{bundle}", tarball, StringComparison.Ordinal).Replace("{fifo}", dir["in.fifo"], StringComparison.Ordinal))];

        var run = await Tools.RunAsync(Tools.Offlinekit(), args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("must be a regular file", Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
    }

    [Fact]
    public async Task Images_load_hands_the_daemon_nothing_from_a_changed_archive()
    {
        await using var docker = await LabDaemon.DockerdAsync();
        using var dir = new TempDir();
        var (archive, artifact) = LoadableArchive("registry.aliyuncs.com/google_containers/pause:3.6");
        var bundle = new CraftedBundle();
        bundle.Files.Add(("images/common.tar", archive));
        bundle.Artifacts.Add(artifact);
        var bytes = bundle.ToBytes();

        // One byte the daemon would accept (the tag in manifest.json: pause:3.6 becomes pause:3.7), so only
        // verifying before loading keeps it out; SHA256SUMS and bundle.json stay as they were.
        var at = bytes.AsSpan().IndexOf("pause:3.6\"]"u8);
        bytes[at + "pause:3.".Length] = (byte)'7';
        var tarball = dir["bundle.tar"];
        await File.WriteAllBytesAsync(tarball, bytes);

        var run = await Tools.RunAsync(Tools.Offlinekit(), ["images", "load", tarball, "--role", "worker"], environment: new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + docker.Socket });

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("images/common.tar", run.Stderr);
        Assert.DoesNotContain("loaded ", run.Stdout);
        Assert.Equal(string.Empty, (await docker.Docker("images", "-q")).Stdout.Trim());
    }

    [Fact]
    public async Task Images_load_says_loaded_only_for_what_the_daemon_then_has()
    {
        await using var docker = await LabDaemon.DockerdAsync();
        using var dir = new TempDir();

        // A sound archive (the daemon takes it) that carries another image than bundle.json names.
        var (archive, artifact) = LoadableArchive("docker.io/library/other:1");
        artifact["name"] = "registry.aliyuncs.com/google_containers/pause:3.6";
        var bundle = new CraftedBundle();
        bundle.Files.Add(("images/common.tar", archive));
        bundle.Artifacts.Add(artifact);
        var tarball = bundle.WriteTo(dir["bundle.tar"]);

        var run = await Tools.RunAsync(Tools.Offlinekit(), ["images", "load", tarball, "--role", "worker"], environment: new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + docker.Socket });

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("does not have registry.aliyuncs.com/google_containers/pause:3.6", run.Stderr);
        Assert.DoesNotContain("loaded ", run.Stdout);
    }

    /// <summary>A docker-archive `docker load` takes: one layer (a real tar), its config, manifest.json and an OCI index.</summary>
    private static (byte[] Archive, JsonObject Artifact) LoadableArchive(string tag)
    {
        var layerStream = new MemoryStream();
        using (var layerTar = new TarWriter(layerStream, TarEntryFormat.Ustar, leaveOpen: true))
        {
            layerTar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "hello.txt") { DataStream = new MemoryStream("offlinekit-hostile-layer\n"u8.ToArray()) });
        }

        var layer = layerStream.ToArray();
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{CraftedBundle.Sha(layer)}\"]}}}}");
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:{CraftedBundle.Sha(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"sha256:{CraftedBundle.Sha(layer)}\",\"size\":{layer.Length}}}]}}");
        var output = new MemoryStream();
        using (var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var blob in new[] { config, layer, manifest }.OrderBy(CraftedBundle.Sha, StringComparer.Ordinal))
            {
                CraftedBundle.AddFile(tar, $"blobs/sha256/{CraftedBundle.Sha(blob)}", blob);
            }

            CraftedBundle.AddFile(tar, "manifest.json", Encoding.UTF8.GetBytes($"[{{\"Config\":\"blobs/sha256/{CraftedBundle.Sha(config)}\",\"RepoTags\":[\"{tag}\"],\"Layers\":[\"blobs/sha256/{CraftedBundle.Sha(layer)}\"]}}]"));
        }

        var artifact = new JsonObject
        {
            ["kind"] = "image",
            ["name"] = tag,
            ["digest"] = "sha256:" + CraftedBundle.Sha(manifest),
            ["size"] = manifest.Length,
            ["path"] = "images/common.tar",
            ["blobs"] = new JsonArray("sha256:" + CraftedBundle.Sha(config), "sha256:" + CraftedBundle.Sha(layer)),
        };
        return (output.ToArray(), artifact);
    }

    /// <summary>Zeros of a given length, seekable so the tar writer takes its length instead of buffering it.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - Position);
            buffer[..n].Clear();
            Position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
