using OfflineKit.Install;
using OfflineKit.Install.Ssh;

namespace OfflineKit.Tests.Install;

public class ShellTests
{
    private static InventoryHost Host(string user, SudoSettings sudo) =>
        new("cp", "10.0.0.1", 22, user, new HostAuth(null, null, Secret.Inline("login-secret", "inv.yaml:1")), sudo, [HostRole.ControlPlane], "/var/lib/offlinekit", 1);

    [Theory]
    [InlineData("plain/path-1.0_x.tar", "plain/path-1.0_x.tar")]
    [InlineData("with space", "'with space'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$(reboot)", "'$(reboot)'")]
    [InlineData("", "''")]
    public void Quote_makes_one_shell_word(string text, string expected) => Assert.Equal(expected, Shell.Quote(text));

    [Fact]
    public void Root_and_unprivileged_commands_run_under_sh_without_sudo()
    {
        Assert.Equal("sh -c 'export LC_ALL=C; id -u'", Shell.CommandLine(new RemoteCommand("id -u", AsRoot: true), Host("root", SudoSettings.None)));
        Assert.Equal("sh -c 'export LC_ALL=C; id -u'", Shell.CommandLine(new RemoteCommand("id -u"), Host("ops", SudoSettings.NoPassword)));
    }

    [Fact]
    public void Sudo_without_a_password_never_waits_for_one()
    {
        Assert.Equal("sudo -n -- sh -c 'export LC_ALL=C; id -u'", Shell.CommandLine(new RemoteCommand("id -u", AsRoot: true), Host("ops", SudoSettings.NoPassword)));
    }

    [Fact]
    public void Sudo_with_a_password_reads_it_from_stdin_and_the_command_line_holds_no_secret()
    {
        var sudo = new SudoSettings(SudoMode.Password, Secret.Inline("sudo-secret", "inv.yaml:2"));
        var line = Shell.CommandLine(new RemoteCommand("id -u", AsRoot: true), Host("ops", sudo));

        Assert.Equal("sudo -k -S -p '' -- sh -c 'exec </dev/null; export LC_ALL=C; id -u'", line);
        Assert.DoesNotContain("secret", line);
    }
}
