using System.Text;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

public class CompsReaderTests
{
    private const string Comps = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE comps PUBLIC "-//CentOS//DTD Comps info//EN" "comps.dtd">
        <comps>
          <group>
            <id>core</id>
            <name>Core</name>
            <name xml:lang="zh_CN">核心</name>
            <packagelist>
              <packagereq type="mandatory">bash</packagereq>
              <packagereq type="default">tar</packagereq>
              <packagereq type="optional">chrony</packagereq>
              <packagereq type="conditional" requires="x">y</packagereq>
            </packagelist>
          </group>
          <group><id>empty</id><packagelist/></group>
          <category><id>base</id><grouplist><groupid>core</groupid></grouplist></category>
        </comps>
        """;

    [Fact]
    public void A_group_is_its_mandatory_and_default_packages()
    {
        var groups = CompsReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(Comps)));

        Assert.Equal(["bash", "tar"], groups["core"]);
        Assert.Empty(groups["empty"]);
        Assert.False(groups.ContainsKey("base"));
    }

    [Fact]
    public void A_baseline_names_groups_or_packages_and_refuses_what_is_neither()
    {
        var repo = new RpmRepo("baseos", "http://127.0.0.1/baseos/", [RpmWorld.Pkg("bash-4.4-1.el8.x86_64"), RpmWorld.Pkg("tar-1.30-5.el8.x86_64"), RpmWorld.Pkg("xz-5.2-3.el8.x86_64")])
        {
            Groups = new Dictionary<string, List<string>> { ["core"] = ["bash", "tar", "not-in-this-repo"] },
        };

        Assert.Equal(["bash", "tar"], RpmClosure.BaselinePackages(["@core"], [repo]));
        Assert.Equal(["bash", "tar", "xz"], RpmClosure.BaselinePackages(["core", "xz"], [repo]));
        Assert.Contains("neither a comps group", Assert.Throws<BadInputException>(() => RpmClosure.BaselinePackages(["@minimal"], [repo])).Message);
    }
}
