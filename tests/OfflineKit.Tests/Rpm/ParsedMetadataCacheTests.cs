using System.Text;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

public sealed class ParsedMetadataCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("offlinekit-parsed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void What_is_saved_reads_back_the_same()
    {
        var repos = Repos();
        var key = Key("c0ffee");

        ParsedMetadataCache.Save(_dir, key, repos);
        var back = ParsedMetadataCache.TryLoad(_dir, key);

        Assert.NotNull(back);
        Assert.Equal(Describe(repos), Describe(back));
        var docker = back[0].Packages.Single(p => p.Name == "docker-ce");
        Assert.Same(docker.Evr, docker.Provides[0].Evr);
        Assert.Equal("rhel8", back[0].Modules.Defaults["container-tools"]);
        Assert.Equal(["kubelet"], back[0].Groups["core"]);
    }

    [Fact]
    public void Another_primary_checksum_is_another_key_and_a_miss()
    {
        ParsedMetadataCache.Save(_dir, Key("c0ffee"), Repos());

        Assert.NotEqual(Key("c0ffee"), Key("c0ffef"));
        Assert.Null(ParsedMetadataCache.TryLoad(_dir, Key("c0ffef")));
    }

    [Fact]
    public void A_damaged_file_is_a_miss_not_an_error()
    {
        var key = Key("c0ffee");
        ParsedMetadataCache.Save(_dir, key, Repos());
        var path = ParsedMetadataCache.PathFor(_dir, key);
        var whole = File.ReadAllBytes(path);

        File.WriteAllBytes(path, whole[..(whole.Length * 2 / 3)]);
        Assert.Null(ParsedMetadataCache.TryLoad(_dir, key));

        // A file under the right name whose header names another key (say, copied by hand).
        ParsedMetadataCache.Save(_dir, Key("other"), Repos());
        File.Copy(ParsedMetadataCache.PathFor(_dir, Key("other")), path, overwrite: true);
        Assert.Null(ParsedMetadataCache.TryLoad(_dir, key));
    }

    [Fact]
    public void A_file_bigger_than_the_write_buffer_with_a_string_bigger_than_it_reads_back_the_same()
    {
        // Strings are written where first used: many packages sharing names and versions across flushes
        // of the 64 KB buffer, and one path longer than the buffer itself.
        var packages = Enumerable.Range(0, 3000).Select(i => new RpmPackage
        {
            Name = $"pkg{i % 700}",
            Arch = i % 3 == 0 ? "noarch" : "x86_64",
            Evr = new Evr(i % 2, $"1.{i % 50}", $"{i % 9}.el8"),
            Checksum = i % 10 == 0 ? new RpmChecksum("sha1", $"{i:x40}") : new RpmChecksum("sha256", $"{i:x64}"),
            LocationHref = $"Packages/pkg{i}.rpm",
            Size = i * 1000L,
            Repo = "appstream",
            Requires = [new RpmDependency("libc.so.6()(64bit)"), new RpmDependency($"lib{i % 40}.so", DepRelation.Ge, new Evr(0, "2", null), Pre: i % 5 == 0)],
            Provides = [new RpmDependency($"pkg{i % 700}(x86-64)")],
            Files = i == 1234 ? ["/usr/share/" + new string('x', 70_000)] : i == 7 ? ["/usr/share/doc/naïve/ß"] : [$"/usr/bin/tool{i}", "/etc/shared.conf"],
        }).ToList();
        var repos = new List<RpmRepo> { new("appstream", "http://127.0.0.1/appstream/", packages) };
        var key = Key("big");

        ParsedMetadataCache.Save(_dir, key, repos);
        var back = ParsedMetadataCache.TryLoad(_dir, key);

        Assert.True(new FileInfo(ParsedMetadataCache.PathFor(_dir, key)).Length > 3 * 65536);
        Assert.NotNull(back);
        Assert.Equal(Describe(repos), Describe(back));
        // Dependencies come back as the parser keeps them: each package's blob, decoded when asked for.
        Assert.Equal(repos[0].Packages[2999].Dependencies, back[0].Packages[2999].Dependencies);
        Assert.Equal(back[0].Packages[0].Requires[0], back[0].Packages[2999].Requires[0]);
        // Paths come back packed, one string a package, as the parser makes them.
        Assert.IsType<PackedPaths>(back[0].Packages[0].Files);
        Assert.Equal(["/usr/bin/tool0", "/etc/shared.conf"], back[0].Packages[0].Files);
    }

    [Fact]
    public void A_writer_given_up_before_its_commit_leaves_no_file_behind()
    {
        var key = Key("c0ffee");
        using (var writer = new ParsedMetadataCache.Writer(_dir, key, repositories: 2))
        {
            writer.Add(Repos()[0]);
            Assert.Single(Directory.GetFiles(_dir, "*.partial"));
        }

        Assert.Empty(Directory.GetFiles(_dir));
        Assert.Null(ParsedMetadataCache.TryLoad(_dir, key));
    }

    private static byte[] Key(string primaryChecksum) => ParsedMetadataCache.Key(
    [
        ("baseos", "http://127.0.0.1/baseos/", new Repomd("1", [new RepomdRecord("primary", "repodata/p.xml.gz", new RpmChecksum("sha256", primaryChecksum))])),
    ]);

    private static List<RpmRepo> Repos()
    {
        var packages = PrimaryReader.Read(new MemoryStream(Encoding.UTF8.GetBytes("""
            <metadata packages="2">
            <package type="rpm"><name>kubelet</name><arch>x86_64</arch><version epoch="0" ver="1.23.0" rel="0"/>
              <checksum type="sha256">ab12</checksum><size package="7"/><location href="k.rpm"/>
              <format><rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="iptables" flags="GE" epoch="0" ver="1.4"/><rpm:entry name="conntrack"/></rpm:requires>
              <file>/usr/bin/kubelet</file></format></package>
            <package type="rpm"><name>docker-ce</name><arch>x86_64</arch><version epoch="3" ver="20.10.24" rel="3.el8"/>
              <location xml:base="http://127.0.0.1/m/" href="d.rpm"/>
              <format><rpm:provides><rpm:entry name="docker-ce" flags="EQ" epoch="3" ver="20.10.24" rel="3.el8"/></rpm:provides>
              <rpm:conflicts><rpm:entry name="docker"/></rpm:conflicts><rpm:obsoletes><rpm:entry name="docker-engine" flags="LT" epoch="0" ver="18"/></rpm:obsoletes>
              <rpm:recommends><rpm:entry name="(a or b)"/></rpm:recommends></format></package>
            </metadata>
            """)), "baseos");
        var modules = new ModuleMetadata(
            [new ModuleBuild("container-tools", "rhel8", "1", "c", "x86_64", new HashSet<string> { "podman-0:3.3.1-9.x86_64" })],
            new Dictionary<string, string> { ["container-tools"] = "rhel8" });
        return [new RpmRepo("baseos", "http://127.0.0.1/baseos/", packages, modules) { Groups = new Dictionary<string, List<string>> { ["core"] = ["kubelet"] } }];
    }

    private static string Describe(IEnumerable<RpmRepo> repos) => string.Join('\n', repos.SelectMany(r => r.Packages.Select(p =>
        $"{r.Name} {r.Location} {p.Nevra} {p.Checksum} {p.LocationHref} {p.LocationBase} {p.Size} {p.Repo} " +
        $"P[{string.Join(',', p.Provides)}] R[{string.Join(',', p.Requires.Select(d => $"{d}{(d.Pre ? "(pre)" : "")}"))}] " +
        $"C[{string.Join(',', p.Conflicts)}] O[{string.Join(',', p.Obsoletes)}] W[{string.Join(',', p.Recommends)}] F[{string.Join(',', p.Files)}]")));
}
