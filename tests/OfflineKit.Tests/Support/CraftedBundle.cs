using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace OfflineKit.Tests.Support;

/// <summary>
/// A bundle tarball written by hand, the way an attacker or a broken tool would: the files given, a
/// bundle.json and SHA256SUMS sealed over them (so only what is crafted is wrong), and hooks to put
/// entries before or after the lists, rename things, or patch raw header bytes.
/// </summary>
public sealed class CraftedBundle
{
    public string Name { get; set; } = Bundles.Name;

    /// <summary>The tarball's top folder; the bundle's name unless set.</summary>
    public string? Top { get; set; }

    public List<(string Path, byte[] Content)> Files { get; } = [("rpms/a.rpm", Encoding.UTF8.GetBytes(new string('r', 3000))), ("scripts/x.sh", "#!/bin/sh\necho hi\n"u8.ToArray())];

    /// <summary>Files listed in both lists whose entries the caller writes itself (too big to hold here).</summary>
    public List<(string Path, string Sha256, long Size)> Listed { get; } = [];

    /// <summary>Artifacts as JSON objects, added to bundle.json as they are.</summary>
    public List<JsonObject> Artifacts { get; } = [];

    /// <summary>Entries written before bundle.json, after the top folder.</summary>
    public Action<TarWriter, string>? Before { get; set; }

    /// <summary>Entries written after every listed file.</summary>
    public Action<TarWriter, string>? After { get; set; }

    /// <summary>Changes bundle.json after it is made and before it is sealed into SHA256SUMS.</summary>
    public Func<JsonObject, JsonObject>? EditManifest { get; set; }

    public byte[] ManifestBytes()
    {
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 1,
            ["name"] = Name,
            ["bundleVersion"] = "1.0.0",
            ["kubernetesVersion"] = "1.23.0",
            ["os"] = "el8",
            ["arch"] = "amd64",
            ["createdBy"] = "crafted",
            ["artifacts"] = new JsonArray([.. Artifacts.Select(a => (JsonNode)a.DeepClone())]),
            ["files"] = new JsonArray([
                .. Files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["sha256"] = Sha(f.Content), ["size"] = f.Content.Length }),
                .. Listed.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["sha256"] = f.Sha256, ["size"] = f.Size })]),
        };
        manifest = EditManifest?.Invoke(manifest) ?? manifest;
        return Encoding.UTF8.GetBytes(manifest.ToJsonString() + "\n");
    }

    public byte[] ToBytes()
    {
        var top = Top ?? Name;
        var manifest = ManifestBytes();
        var sums = new StringBuilder().Append(Sha(manifest)).Append("  bundle.json\n");
        foreach (var (path, content) in Files)
        {
            sums.Append(Sha(content)).Append("  ").Append(path).Append('\n');
        }

        foreach (var (path, sha, _) in Listed)
        {
            sums.Append(sha).Append("  ").Append(path).Append('\n');
        }

        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, top + "/"));
            Before?.Invoke(tar, top);
            AddFile(tar, $"{top}/bundle.json", manifest);
            AddFile(tar, $"{top}/SHA256SUMS", Encoding.UTF8.GetBytes(sums.ToString()));
            foreach (var (path, content) in Files)
            {
                AddFile(tar, $"{top}/{path}", content);
            }

            After?.Invoke(tar, top);
        }

        return output.ToArray();
    }

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    public static void AddFile(TarWriter tar, string name, byte[] content, TarEntryFormat format = TarEntryFormat.Pax)
    {
        TarEntry entry = format == TarEntryFormat.Ustar ? new UstarTarEntry(TarEntryType.RegularFile, name) : new PaxTarEntry(TarEntryType.RegularFile, name);
        entry.DataStream = new MemoryStream(content);
        tar.WriteEntry(entry);
    }

    public static string Sha(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>
    /// Finds the header block whose name field starts with <paramref name="name"/> (a ustar entry),
    /// lets <paramref name="patch"/> change its 512 bytes, and fixes the header checksum.
    /// </summary>
    public static void PatchHeader(byte[] tar, string name, Action<byte[]> patch)
    {
        var wanted = Encoding.UTF8.GetBytes(name);
        for (var offset = 0; offset + 512 <= tar.Length; offset += 512)
        {
            if (!tar.AsSpan(offset, wanted.Length).SequenceEqual(wanted) || tar[offset + wanted.Length] != 0)
            {
                continue;
            }

            var header = tar.AsSpan(offset, 512).ToArray();
            patch(header);
            header.AsSpan(148, 8).Fill((byte)' ');
            var sum = header.Sum(b => (int)b);
            Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
            header.CopyTo(tar, offset);
            return;
        }

        throw new InvalidOperationException($"no header named {name}");
    }

    /// <summary>Sets a ustar header's size field (octal, 11 digits): the header then promises bytes that never follow.</summary>
    public static void SetSize(byte[] header, long size) =>
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);

    /// <summary>An image archive as offlinekit writes one, with hooks to craft its index; returns the archive and its artifact.</summary>
    public static (byte[] Archive, JsonObject Artifact) ImageArchive(string path, Func<string, string>? editManifestJson = null, Func<string, string>? editIndexJson = null, Action<TarWriter>? extra = null)
    {
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        var layer = Encoding.UTF8.GetBytes(new string('l', 700));
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:{Sha(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"sha256:{Sha(layer)}\",\"size\":{layer.Length}}}]}}");
        var manifestJson = $"[{{\"Config\":\"blobs/sha256/{Sha(config)}\",\"RepoTags\":[\"registry.aliyuncs.com/google_containers/pause:3.6\"],\"Layers\":[\"blobs/sha256/{Sha(layer)}\"]}}]";
        var indexJson = $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"sha256:{Sha(manifest)}\",\"size\":{manifest.Length}}}]}}";
        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var blob in new[] { config, layer, manifest }.OrderBy(Sha, StringComparer.Ordinal))
            {
                AddFile(tar, $"blobs/sha256/{Sha(blob)}", blob);
            }

            extra?.Invoke(tar);
            AddFile(tar, "index.json", Encoding.UTF8.GetBytes(editIndexJson?.Invoke(indexJson) ?? indexJson));
            AddFile(tar, "manifest.json", Encoding.UTF8.GetBytes(editManifestJson?.Invoke(manifestJson) ?? manifestJson));
        }

        var archive = output.ToArray();
        var artifact = new JsonObject
        {
            ["kind"] = "image",
            ["name"] = "registry.aliyuncs.com/google_containers/pause:3.6",
            ["digest"] = "sha256:" + Sha(manifest),
            ["size"] = manifest.Length,
            ["path"] = path,
            ["blobs"] = new JsonArray("sha256:" + Sha(config), "sha256:" + Sha(layer)),
        };
        return (archive, artifact);
    }
}
