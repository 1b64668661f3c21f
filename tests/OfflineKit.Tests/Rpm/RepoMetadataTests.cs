using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Rpm;
using ZstdCompressionStream = SharpCompress.Compressors.ZStandard.CompressionStream;

namespace OfflineKit.Tests.Rpm;

public class RepoMetadataTests
{
    private const string Primary = """
        <?xml version="1.0" encoding="UTF-8"?>
        <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
        <package type="rpm">
          <name>kubelet</name>
          <arch>x86_64</arch>
          <version epoch="0" ver="1.23.0" rel="0"/>
          <checksum type="sha256" pkgid="YES">AB12cd</checksum>
          <summary>Container cluster management</summary>
          <description>The node agent of Kubernetes.</description>
          <packager></packager>
          <url>https://kubernetes.io</url>
          <time file="1639000000" build="1638990000"/>
          <size package="21535064" installed="124398497" archive="124399372"/>
          <location href="Packages/kubelet-1.23.0-0.x86_64.rpm"/>
          <format>
            <rpm:license>ASL 2.0</rpm:license>
            <rpm:header-range start="4504" end="7392"/>
            <rpm:provides>
              <rpm:entry name="kubelet" flags="EQ" epoch="0" ver="1.23.0" rel="0"/>
              <rpm:entry name="kubelet(x86-64)" flags="EQ" epoch="0" ver="1.23.0" rel="0"/>
            </rpm:provides>
            <rpm:requires>
              <rpm:entry name="/bin/sh" pre="1"/>
              <rpm:entry name="conntrack"/>
              <rpm:entry name="iptables" flags="GE" epoch="0" ver="1.4.21"/>
              <rpm:entry name="kubernetes-cni" flags="GE" epoch="0" ver="0.8.7"/>
              <rpm:entry name="(container-selinux if selinux-policy)"/>
            </rpm:requires>
            <file>/etc/kubernetes/manifests</file>
            <file type="dir">/etc/sysconfig</file>
            <file>/usr/bin/kubelet</file>
          </format>
        </package>
        <package type="rpm">
          <name>docker-ce</name>
          <arch>x86_64</arch>
          <version epoch="3" ver="20.10.24" rel="3.el8"/>
          <checksum type="sha256" pkgid="YES">ef34</checksum>
          <size package="22000000" installed="96000000" archive="96100000"/>
          <location xml:base="http://127.0.0.1/mirror/" href="x86_64/stable/Packages/docker-ce-20.10.24-3.el8.x86_64.rpm"/>
          <format>
            <rpm:provides><rpm:entry name="docker-ce" flags="EQ" epoch="3" ver="20.10.24" rel="3.el8"/></rpm:provides>
            <rpm:requires>
              <rpm:entry name="container-selinux" flags="GE" epoch="2" ver="2.74"/>
              <rpm:entry name="containerd.io" flags="GE" epoch="0" ver="1.4.1"/>
            </rpm:requires>
            <rpm:conflicts><rpm:entry name="docker"/><rpm:entry name="docker-io"/></rpm:conflicts>
            <rpm:obsoletes><rpm:entry name="docker-engine" flags="LT" epoch="0" ver="18.0" rel="1"/></rpm:obsoletes>
            <rpm:recommends><rpm:entry name="docker-compose-plugin"/></rpm:recommends>
            <rpm:suggests><rpm:entry name="docker-scan-plugin"/></rpm:suggests>
          </format>
        </package>
        <package type="rpm">
          <name>ethtool</name>
          <arch>x86_64</arch>
          <version epoch="2" ver="5.8" rel="7.el8"/>
          <checksum type="sha256" pkgid="YES">9999</checksum>
          <size package="220000"/>
          <location href="Packages/ethtool-5.8-7.el8.x86_64.rpm"/>
          <format/>
        </package>
        </metadata>
        """;

    private const string Filelists = """
        <?xml version="1.0" encoding="UTF-8"?>
        <filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="2">
        <package pkgid="ab12cd" name="kubelet" arch="x86_64">
          <version epoch="0" ver="1.23.0" rel="0"/>
          <file>/usr/bin/kubelet</file>
          <file type="dir">/var/lib/kubelet</file>
          <file>/usr/share/doc/kubelet/README</file>
        </package>
        <package pkgid="ef34" name="docker-ce" arch="x86_64">
          <version epoch="3" ver="20.10.24" rel="3.el8"/>
          <file>/usr/bin/dockerd</file>
        </package>
        </filelists>
        """;

    private const string Modules = """
        ---
        document: modulemd
        version: 2
        data:
          name: container-tools
          stream: "rhel8"
          version: 8050020211112043353
          context: 20125149
          arch: x86_64
          summary: Most recent (rolling) versions of podman, buildah, skopeo, runc, conmon, runc, conmon, CRIU, Udica, etc
          license:
            module: [MIT]
          artifacts:
            rpms:
            - container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch
            - container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.src
            - podman-0:3.3.1-9.module_el8.5.0+988+b1f0b741.x86_64
        ...
        ---
        document: modulemd
        version: 2
        data:
          name: container-tools
          stream: "3.0"
          version: 8050020211112043354
          context: d7b5bd74
          arch: x86_64
          artifacts:
            rpms:
            - container-selinux-2:2.189.0-1.module_el8.7.0+1216+b022c01d.noarch
        ...
        ---
        document: modulemd-defaults
        version: 1
        data:
          module: container-tools
          stream: rhel8
          profiles:
            rhel8: [common]
        ...
        ---
        document: modulemd-translations
        version: 1
        data:
          module: container-tools
          stream: rhel8
          modified: 201812071200
        ...
        """;

    // A small primary.xml compressed by xz 5.4 (xz -9e): SharpCompress only decompresses xz.
    private const string XzPrimary = "/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4AJ6AW9dAB4Py4cR2M5mkQ+DHsr9ezPUf+m32igxdiVmIE0qCW1q9ylwODDnzB1WFyLJTqZ9oa333bBqpp2Bla6LTLQcY3rY+z7IhSZgjywiWlBOQXXWA3D4i9YP35FNPsYeAfjU+PLvrU3fh9ofDfX2f4tXu6YGfzEtuxYtc9BwwhFUF2gSJH2OdRiWEva1q6WZq1W1aw3wc6V3ADhWxqAXYYQW8H2V/vNPnyR/3usVL4llJVSRfmAKB5yIhK5UO93LS1cX8M1V21oy0peQXRToYEg7aQy+YMbUAUpU5xTF4UciaF2dIG4Ca5I38Z4EUlpnc0Og/OZIO2WkLRj/+rlAbjT2XWZ8gaEySlvl0XQXH+H0qw0QoUpN5WQ3YvvlahFvL0kwpv6NcIwT7ABAACzgmxF+Ry5femw0Gcq8qfk3dFUS35Ix7bb0Gq/fs9dZRDRST9paP/l6/KccRFh67wCMo+hsslessKoICrY8fWnxPgvywQAAACd+6EWzXSxkAAGLA/sEAABsc+ymscRn+wIAAAAABFla";

    public enum Codec
    {
        Plain,
        Gzip,
        Zstd,
    }

    [Theory]
    [InlineData(Codec.Gzip)]
    [InlineData(Codec.Zstd)]
    [InlineData(Codec.Plain)]
    public void Primary_is_read_through_repomd_with_its_checksums(Codec codec)
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Primary), codec);
        var repomd = Repomd.Parse(new MemoryStream(RepomdXml(("primary", "repodata/x-primary.xml", stored, Encoding.UTF8.GetBytes(Primary)))), "repomd.xml");

        var packages = PrimaryReader.Read(new MemoryStream(stored), repomd.Primary, "repodata/x-primary.xml", "kubernetes");

        Assert.Equal(["kubelet-0:1.23.0-0.x86_64", "docker-ce-3:20.10.24-3.el8.x86_64", "ethtool-2:5.8-7.el8.x86_64"], packages.Select(p => p.Nevra));
        var kubelet = packages[0];
        Assert.Equal(new RpmChecksum("sha256", "ab12cd"), kubelet.Checksum);
        Assert.Equal(("Packages/kubelet-1.23.0-0.x86_64.rpm", (string?)null, 21535064L, "kubernetes"), (kubelet.LocationHref, kubelet.LocationBase, kubelet.Size, kubelet.Repo));
        Assert.Equal(["kubelet = 1.23.0-0", "kubelet(x86-64) = 1.23.0-0"], kubelet.Provides.Select(d => d.ToString()));
        Assert.Equal(
            ["/bin/sh", "conntrack", "iptables >= 1.4.21", "kubernetes-cni >= 0.8.7", "(container-selinux if selinux-policy)"],
            kubelet.Requires.Select(d => d.ToString()));
        Assert.True(kubelet.Requires[0].Pre);
        Assert.True(kubelet.Requires[4].IsRich);
        Assert.Equal(["/etc/kubernetes/manifests", "/etc/sysconfig", "/usr/bin/kubelet"], kubelet.Files);

        var docker = packages[1];
        Assert.Equal("http://127.0.0.1/mirror/", docker.LocationBase);
        Assert.Equal(new RpmDependency("container-selinux", DepRelation.Ge, Evr.Parse("2:2.74")), docker.Requires[0]);
        Assert.Equal(["docker", "docker-io"], docker.Conflicts.Select(d => d.Name));
        Assert.Equal("docker-engine < 18.0-1", Assert.Single(docker.Obsoletes).ToString());
        Assert.Equal("docker-compose-plugin", Assert.Single(docker.Recommends).Name);
        Assert.Empty(packages[2].Requires);
    }

    [Fact]
    public void Xz_primary_is_read()
    {
        var stored = Convert.FromBase64String(XzPrimary);
        var record = new RepomdRecord("primary", "repodata/p.xml.xz", new RpmChecksum("sha256", Hex(SHA256.HashData(stored))), Size: stored.Length);

        var socat = Assert.Single(PrimaryReader.Read(new MemoryStream(stored), record, "p.xml.xz", "baseos"));

        Assert.Equal("socat-0:1.7.4.1-1.el8.x86_64", socat.Nevra);
        Assert.Equal(["/usr/bin/socat"], socat.Files);
    }

    [Fact]
    public void Repomd_records_every_data_type()
    {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
              <revision>1700000000</revision>
              <data type="primary">
                <checksum type="sha256">AAA1</checksum>
                <open-checksum type="sha256">bbb2</open-checksum>
                <location href="repodata/aaa1-primary.xml.gz"/>
                <timestamp>1700000000</timestamp>
                <size>1234</size>
                <open-size>5678</open-size>
              </data>
              <data type="filelists">
                <checksum type="sha1">ccc3</checksum>
                <location href="repodata/ccc3-filelists.xml.xz"/>
                <size>99</size>
              </data>
              <data type="other"><checksum type="sha512">ddd4</checksum><location href="repodata/other.xml.zst"/></data>
              <data type="modules"><checksum type="sha256">eee5</checksum><location href="repodata/modules.yaml.gz"/></data>
              <data type="primary_db"><checksum type="sha256">fff6</checksum><location href="repodata/primary.sqlite.bz2"/></data>
            </repomd>
            """;

        var repomd = Repomd.Parse(new MemoryStream(Encoding.UTF8.GetBytes(xml)), "repomd.xml");

        Assert.Equal("1700000000", repomd.Revision);
        Assert.Equal(
            new RepomdRecord("primary", "repodata/aaa1-primary.xml.gz", new RpmChecksum("sha256", "aaa1"), new RpmChecksum("sha256", "bbb2"), 1234, 5678),
            repomd.Primary);
        Assert.Equal(new RepomdRecord("filelists", "repodata/ccc3-filelists.xml.xz", new RpmChecksum("sha1", "ccc3"), null, 99, null), repomd.Filelists);
        Assert.Equal("sha512", repomd.Other!.Checksum!.Type);
        Assert.Equal("repodata/modules.yaml.gz", repomd.Modules!.Href);
        Assert.Equal(5, repomd.Records.Count);
    }

    [Fact]
    public void A_corrupt_file_fails_naming_it()
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Primary), Codec.Gzip);
        var repomd = Repomd.Parse(new MemoryStream(RepomdXml(("primary", "repodata/x-primary.xml.gz", stored, Encoding.UTF8.GetBytes(Primary)))), "repomd.xml");
        var tampered = Compress(Encoding.UTF8.GetBytes(Primary.Replace("1.23.0", "1.23.9", StringComparison.Ordinal)), Codec.Gzip);

        var e = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(tampered), repomd.Primary, "repodata/x-primary.xml.gz", "k"));

        Assert.StartsWith("repodata/x-primary.xml.gz: ", e.Message);
        Assert.Contains("mismatch", e.Message);
    }

    [Fact]
    public void A_truncated_file_fails_as_corrupt_not_as_bad_xml()
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Primary), Codec.Zstd);
        var repomd = Repomd.Parse(new MemoryStream(RepomdXml(("primary", "p.xml.zst", stored, Encoding.UTF8.GetBytes(Primary)))), "repomd.xml");

        var e = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(stored[..(stored.Length / 2)]), repomd.Primary, "p.xml.zst", "k"));

        Assert.StartsWith("p.xml.zst: ", e.Message);
    }

    [Theory]
    [InlineData("sha1")]
    [InlineData("sha512")]
    public void Other_checksum_types_are_checked(string type)
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Primary), Codec.Gzip);
        byte[] Hash(byte[] b)
        {
            using var h = IncrementalHash.CreateHash(new HashAlgorithmName(type.ToUpperInvariant()));
            h.AppendData(b);
            return h.GetHashAndReset();
        }

        var good = new RepomdRecord("primary", "p", new RpmChecksum(type, Hex(Hash(stored))));
        var bad = new RepomdRecord("primary", "p", new RpmChecksum(type, Hex(Hash([1, 2, 3]))));

        Assert.Equal(3, PrimaryReader.Read(new MemoryStream(stored), good, "p", "r").Count);
        Assert.Contains($"checksum mismatch: repomd.xml says {type}:", Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(stored), bad, "p", "r")).Message);
    }

    [Fact]
    public void Open_size_and_open_checksum_are_checked_too()
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Primary), Codec.Gzip);
        var record = new RepomdRecord("primary", "p", null, new RpmChecksum("sha256", Hex(SHA256.HashData([0]))));

        var e = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(stored), record, "p", "r"));

        Assert.Contains("open-checksum mismatch", e.Message);
    }

    [Fact]
    public void Filelists_keeps_only_the_paths_asked_for()
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Filelists), Codec.Zstd);
        var record = new RepomdRecord("filelists", "f", new RpmChecksum("sha256", Hex(SHA256.HashData(stored))));

        var files = FilelistsReader.Read(new MemoryStream(stored), record, "f", p => p is "/var/lib/kubelet" or "/usr/bin/kubelet");

        Assert.Equal(["/usr/bin/kubelet", "/var/lib/kubelet"], Assert.Single(files, kv => kv.Key == "ab12cd").Value);
        Assert.Single(files);

        var packages = PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(Primary)), "k");
        var merged = FilelistsReader.AddFiles(packages, files);
        Assert.Equal(["/etc/kubernetes/manifests", "/etc/sysconfig", "/usr/bin/kubelet", "/var/lib/kubelet"], merged[0].Files);
        Assert.Same(packages[1], merged[1]);
        Assert.Equal(["/bin/sh"], FilelistsReader.RequiredPaths(packages));
    }

    [Fact]
    public void Filelists_read_later_answer_what_primary_alone_could_not_as_an_eager_read_does()
    {
        const string primary = """
            <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
            <package type="rpm"><name>app</name><arch>x86_64</arch><version epoch="0" ver="1" rel="1"/>
              <checksum type="sha256" pkgid="YES">aa</checksum><location href="app.rpm"/>
              <format><rpm:requires><rpm:entry name="/usr/share/app/data"/><rpm:entry name="/bin/sh"/></rpm:requires></format></package>
            <package type="rpm"><name>app-data</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>
              <checksum type="sha256" pkgid="YES">dd</checksum><location href="app-data.rpm"/>
              <format><file>/bin/sh</file></format></package>
            </metadata>
            """;
        const string filelists = """
            <filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="1">
            <package pkgid="dd" name="app-data" arch="noarch"><version epoch="0" ver="1" rel="1"/>
              <file>/bin/sh</file><file>/usr/share/app/data</file><file>/usr/share/app/other</file></package>
            </filelists>
            """;
        var (p, f) = (Encoding.UTF8.GetBytes(primary), Encoding.UTF8.GetBytes(filelists));
        var files = new Dictionary<string, byte[]>
        {
            ["repodata/repomd.xml"] = RepomdXml(("primary", "repodata/p.xml", p, p), ("filelists", "repodata/f.xml", f, f)),
            ["repodata/p.xml"] = p,
            ["repodata/f.xml"] = f,
        };
        var opened = new List<string>();
        RpmRepoSource[] sources = [new("r", "http://127.0.0.1/r/", href =>
        {
            opened.Add(href);
            return new MemoryStream(files[href]);
        })];

        var primaryOnly = RpmRepoLoader.LoadPrimary(sources);
        Assert.DoesNotContain("repodata/f.xml", opened);
        var resolver = new RpmResolver(primaryOnly);
        Assert.Throws<ResolveException>(() => resolver.Resolve(["app"]));
        Assert.True(resolver.NeedsFilelists);

        var later = RpmRepoLoader.AddFilelists(primaryOnly, sources);
        var eager = RpmRepoLoader.Load(sources);
        var result = new RpmResolver(later).Resolve(["app"]);
        Assert.Equal(["app-0:1-1.x86_64", "app-data-0:1-1.noarch"], result.Nevras);
        Assert.Equal(result.Nevras, new RpmResolver(eager).Resolve(["app"]).Nevras);
        // Only the path a dependency names and primary cannot answer is kept.
        Assert.Equal(["/bin/sh", "/usr/share/app/data"], later[0].Packages.Single(x => x.Name == "app-data").Files);
    }

    [Fact]
    public void Modules_yaml_gives_streams_artifacts_and_defaults()
    {
        var stored = Compress(Encoding.UTF8.GetBytes(Modules), Codec.Gzip);
        var record = new RepomdRecord("modules", "m", new RpmChecksum("sha256", Hex(SHA256.HashData(stored))));

        var modules = ModuleMetadata.Read(new MemoryStream(stored), record, "m");

        Assert.Equal(["container-tools:rhel8", "container-tools:3.0"], modules.Builds.Select(b => b.Id));
        var rhel8 = modules.Builds[0];
        Assert.Equal(("8050020211112043353", "20125149", "x86_64"), (rhel8.Version, rhel8.Context, rhel8.Arch));
        Assert.Contains("container-selinux-2:2.167.0-1.module_el8.5.0+911+f19012f9.noarch", rhel8.Artifacts);
        Assert.Equal(3, rhel8.Artifacts.Count);
        Assert.Equal("rhel8", modules.Defaults["container-tools"]);
        Assert.Single(modules.Defaults);
    }

    [Fact]
    public void Not_a_primary_is_an_error_naming_the_file()
    {
        var e = Assert.Throws<OperationFailedException>(() =>
            PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes("<repomd/>")), null, "repodata/p.xml", "r"));

        Assert.Contains("repodata/p.xml: the root element is <repomd>, expected <metadata>", e.Message);
    }

    private static byte[] Compress(byte[] data, Codec codec)
    {
        var output = new MemoryStream();
        using (Stream c = codec switch
        {
            Codec.Gzip => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            Codec.Zstd => new ZstdCompressionStream(output, 3, 1 << 16, leaveOpen: true),
            _ => new MemoryStream(),
        })
        {
            if (codec == Codec.Plain)
            {
                output.Write(data);
            }
            else
            {
                c.Write(data);
            }
        }

        return output.ToArray();
    }

    private static byte[] RepomdXml(params (string Type, string Href, byte[] Stored, byte[] Open)[] files)
    {
        var sb = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>""");
        foreach (var f in files)
        {
            sb.Append(
                $"""<data type="{f.Type}"><checksum type="sha256">{Hex(SHA256.HashData(f.Stored))}</checksum><open-checksum type="sha256">{Hex(SHA256.HashData(f.Open))}</open-checksum><location href="{f.Href}"/><size>{f.Stored.Length}</size><open-size>{f.Open.Length}</open-size></data>""");
        }

        return Encoding.UTF8.GetBytes(sb.Append("</repomd>").ToString());
    }

    private static string Hex(byte[] b) => Convert.ToHexStringLower(b);
}
