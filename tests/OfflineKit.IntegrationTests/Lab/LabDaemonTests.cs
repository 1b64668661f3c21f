namespace OfflineKit.IntegrationTests.Lab;

public class LabDaemonTests
{
    [Fact]
    public async Task A_disposed_dockerd_leaves_no_mount_and_no_folder_behind()
    {
        var daemon = await LabDaemon.DockerdAsync();
        var dir = daemon.Dir;

        // dockerd bind-mounts its data root onto itself: what disposing must undo. Killed outright, it
        // stayed mounted, and its folder with it, once per test that started a dockerd.
        Assert.NotEmpty(LabDaemon.MountsUnder(dir));
        await daemon.DisposeAsync();

        Assert.Empty(LabDaemon.MountsUnder(dir));
        Assert.False(Directory.Exists(dir), $"{dir} is still there");
    }
}
