using System.CommandLine;

namespace OfflineKit.Cli.Commands;

internal static class InstallCommand
{
    public static Command Create(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("The bundle tarball or extracted directory to install from");
        var inventory = CommonOptions.Inventory();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan and every command it would run; connect to nothing" };
        var parallel = CommonOptions.Parallel("hosts", 10);
        var knownHosts = new Option<string>("--known-hosts")
        {
            Description = "OpenSSH known_hosts file to check host keys against (default ~/.ssh/known_hosts)",
            HelpName = "FILE",
        };
        var acceptNew = new Option<bool>("--accept-new-host-keys")
        {
            Description = "Accept and record keys of hosts not yet known (never a changed key)",
        };
        var command = new Command(
            "install",
            "Push the bundle over SSH to the inventory's hosts, verify it on each, and bring up the cluster")
        {
            bundle,
            inventory,
            dryRun,
            parallel,
            knownHosts,
            acceptNew,
        };
        command.SetAction(_ => ImagesCommand.NotYet("install"));
        return command;
    }
}

internal static class HostCommands
{
    public static Command Status(CliConsole console)
    {
        var command = new Command("status", "Show each host's install steps and the cluster's nodes") { CommonOptions.Inventory() };
        command.SetAction(_ => ImagesCommand.NotYet("status"));
        return command;
    }

    public static Command Reset(CliConsole console)
    {
        var purge = new Option<bool>("--purge") { Description = "Also remove the pushed bundle from the hosts" };
        var command = new Command("reset", "Undo an install: kubeadm reset and remove what install added") { CommonOptions.Inventory(), purge };
        command.SetAction(_ => ImagesCommand.NotYet("reset"));
        return command;
    }
}

internal static class InventoryCommand
{
    public static Command Create(CliConsole console)
    {
        var init = new Command("init", "Print a commented example inventory (the guide's three hosts) to start from");
        init.SetAction(async (_, ct) =>
        {
            await console.OutWriter.WriteAsync(OfflineKit.Install.InventoryLoader.ExampleText().AsMemory(), ct).ConfigureAwait(false);
            return (int)ExitCode.Success;
        });
        return new Command("inventory", "The inventory: hosts, roles, SSH access, cluster settings") { init };
    }
}
