using System.IO.Compression;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

public class RepodataWriterTests
{
    private static readonly RpmPackage Kubelet = new()
    {
        Name = "kubelet",
        Arch = "x86_64",
        Evr = Evr.Parse("1.23.0-0"),
        Checksum = new RpmChecksum("sha256", new string('a', 64)),
        LocationHref = "Packages/kubelet-1.23.0-0.x86_64.rpm",
        Size = 1234,
        Repo = "kubernetes",
        Provides = [new RpmDependency("kubelet", DepRelation.Eq, Evr.Parse("1.23.0-0"))],
        Requires = [RpmDependency.Parse("kubernetes-cni >= 0.8.7"), new RpmDependency("/bin/sh", Pre: true), new RpmDependency("(iptables or nftables)")],
        Files = ["/usr/bin/kubelet"],
    };

    private static readonly RpmPackage DockerCe = new()
    {
        Name = "docker-ce",
        Arch = "x86_64",
        Evr = Evr.Parse("3:20.10.24-3.el8"),
        Checksum = new RpmChecksum("sha256", new string('b', 64)),
        LocationHref = "Packages/docker-ce-20.10.24-3.el8.x86_64.rpm",
        Size = 99,
        Repo = "docker-ce-stable",
        Requires = [RpmDependency.Parse("container-selinux >= 2:2.74")],
        Conflicts = [new RpmDependency("docker-io")],
        Obsoletes = [new RpmDependency("docker-engine")],
    };

    [Fact]
    public void What_it_writes_reads_back_as_the_same_packages_with_checked_checksums()
    {
        var files = RepodataWriter.Write(
        [
            new CarriedRpm(Kubelet, "kubelet-1.23.0-0.x86_64.rpm", new string('1', 64), 1234),
            new CarriedRpm(DockerCe, "docker-ce-20.10.24-3.el8.x86_64.rpm", new string('2', 64), 99),
        ]).ToDictionary(f => f.Path, f => f.Content);

        var repomd = Repomd.Parse(new MemoryStream(files["repodata/repomd.xml"]), "repomd.xml");
        Assert.NotNull(repomd.Filelists);
        Assert.NotNull(repomd.Other);
        var primary = repomd.Primary!;
        var packages = PrimaryReader.Read(new MemoryStream(files[primary.Href]), primary, primary.Href, "offlinekit");

        Assert.Equal(["docker-ce-3:20.10.24-3.el8.x86_64", "kubelet-0:1.23.0-0.x86_64"], packages.Select(p => p.Nevra));
        var kubelet = packages.Single(p => p.Name == "kubelet");
        Assert.Equal(new RpmChecksum("sha256", new string('1', 64)), kubelet.Checksum);
        Assert.Equal("kubelet-1.23.0-0.x86_64.rpm", kubelet.LocationHref);
        Assert.Equal(Kubelet.Requires, kubelet.Requires);
        Assert.Contains("/usr/bin/kubelet", kubelet.Files);
        var docker = packages.Single(p => p.Name == "docker-ce");
        Assert.Equal(DockerCe.Conflicts, docker.Conflicts);
        Assert.Equal(DockerCe.Obsoletes, docker.Obsoletes);
        Assert.Equal(DockerCe.Requires, docker.Requires);
    }

    [Fact]
    public void The_same_packages_give_the_same_bytes_in_any_order()
    {
        var a = RepodataWriter.Write([new CarriedRpm(Kubelet, "k.rpm", new string('1', 64), 1), new CarriedRpm(DockerCe, "d.rpm", new string('2', 64), 2)]);
        var b = RepodataWriter.Write([new CarriedRpm(DockerCe, "d.rpm", new string('2', 64), 2), new CarriedRpm(Kubelet, "k.rpm", new string('1', 64), 1)]);
        Assert.Equal(a.Select(f => (f.Path, Convert.ToHexString(f.Content))), b.Select(f => (f.Path, Convert.ToHexString(f.Content))));
    }

    [Fact]
    public void Metadata_files_are_gzip_named_by_their_checksum()
    {
        var files = RepodataWriter.Write([new CarriedRpm(Kubelet, "k.rpm", new string('1', 64), 1)]);
        foreach (var (path, content) in files.Where(f => f.Path.EndsWith(".xml.gz", StringComparison.Ordinal)))
        {
            Assert.StartsWith("repodata/" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)), path);
            using var gz = new GZipStream(new MemoryStream(content), CompressionMode.Decompress);
            gz.CopyTo(Stream.Null);
        }
    }
}
