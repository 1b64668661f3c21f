using System.CommandLine;
using OfflineKit.Install;
using Spectre.Console;

namespace OfflineKit.Cli.Commands;

internal static class InstallCommand
{
    public static Command Create(CliConsole console)
    {
        var bundle = CommonOptions.Bundle("The bundle: a plain .tar or an extracted directory");
        var inventory = CommonOptions.Inventory();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan and every command it would run; connect to nothing" };
        var parallel = CommonOptions.Parallel("hosts", 10);
        var waveSize = AtLeast("--wave-size", "N", 1, Waves.DefaultSize, "Workers per wave: the control plane (and the depot) first, then the workers in waves of N, each after the one before");
        var maxFailed = AtLeast("--max-failed", "K", 0, Waves.DefaultMaxFailed, "Stop before the next wave when a wave leaves more than K hosts failed or blocked; a rerun resumes");
        var supplyOnly = new Option<bool>("--supply-only")
        {
            Description = "Only get the bundle onto the hosts and check it (push and verify; in site mode: the depot serves it, the others fetch): stage it before a maintenance window, a later install goes on from there",
        };
        var knownHosts = HostOptions.KnownHosts();
        var acceptNew = new Option<bool>("--accept-new-host-keys")
        {
            Description = "Accept and record keys of hosts not yet known (never a changed key)",
        };
        var runsDir = new Option<string>("--runs-dir")
        {
            Description = "Where each run's folder of per-host logs goes (default .offlinekit/runs)",
            HelpName = "DIR",
        };
        var key = VerifyCommand.PublicKey("Require the bundle signed by this public key: verified here before anything is pushed, and on each host with openssl (scripts/verify.sh --key)");
        var command = new Command(
            "install",
            "Push the bundle over SSH to the inventory's hosts, verify it on each, and bring up the cluster")
        {
            bundle,
            inventory,
            dryRun,
            parallel,
            waveSize,
            maxFailed,
            supplyOnly,
            knownHosts,
            acceptNew,
            runsDir,
            key,
        };
        command.SetAction(async (parse, ct) =>
        {
            var bundlePath = parse.GetRequiredValue(bundle);
            var keyPath = parse.GetValue(key);
            var inventoryPath = parse.GetRequiredValue(inventory).FullName;
            if (parse.GetValue(dryRun))
            {
                var plan = await Installer.PlanAsync(bundlePath, inventoryPath, keyPath, parse.GetValue(supplyOnly), ct).ConfigureAwait(false);
                await console.OutWriter.WriteAsync(plan.Describe().AsMemory(), ct).ConfigureAwait(false);
                return (int)ExitCode.Success;
            }

            var request = new InstallRequest
            {
                Parallel = parse.GetValue(parallel),
                WaveSize = parse.GetValue(waveSize),
                MaxFailed = parse.GetValue(maxFailed),
                SupplyOnly = parse.GetValue(supplyOnly),
                KnownHosts = parse.GetValue(knownHosts),
                AcceptNewHostKeys = parse.GetValue(acceptNew),
                RunsRoot = parse.GetValue(runsDir),
                PublicKey = keyPath,
            };
            var report = await InstallDisplay.RunAsync(console, p => Installer.InstallAsync(bundlePath, inventoryPath, request with { Progress = p }, ct)).ConfigureAwait(false);
            InstallDisplay.Summary(console, report);
            return (int)(report.Ok ? ExitCode.Success : ExitCode.Failed);
        });
        return command;
    }

    /// <summary>A whole-number option of at least <paramref name="min"/>; less is bad input (exit 2).</summary>
    private static Option<int> AtLeast(string name, string helpName, int min, int defaultValue, string description)
    {
        var option = new Option<int>(name) { Description = $"{description}", DefaultValueFactory = _ => defaultValue, HelpName = helpName };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is var n && n < min)
            {
                r.AddError($"{name} must be {min} or more, got {n}");
            }
        });
        return option;
    }
}

internal static class HostOptions
{
    public static Option<string> KnownHosts() => new("--known-hosts")
    {
        Description = "OpenSSH known_hosts file to check host keys against (default ~/.ssh/known_hosts)",
        HelpName = "FILE",
    };
}

internal static class HostCommands
{
    public static Command Status(CliConsole console)
    {
        var inventory = CommonOptions.Inventory();
        var knownHosts = HostOptions.KnownHosts();
        var parallel = CommonOptions.Parallel("hosts", 10);
        var command = new Command("status", "Show each host's install steps, read from the journal on the host") { inventory, knownHosts, parallel };
        command.SetAction(async (parse, ct) =>
        {
            var request = new InstallRequest { KnownHosts = parse.GetValue(knownHosts), Parallel = parse.GetValue(parallel) };
            var hosts = await Installer.StatusAsync(parse.GetRequiredValue(inventory).FullName, request, ct).ConfigureAwait(false);
            var table = new Table().Border(TableBorder.Simple).AddColumn("host").AddColumn("role").AddColumn("bundle").AddColumn("steps done").AddColumn("state");
            foreach (var h in hosts)
            {
                var state = h.Error ?? (h.Bundle is null ? "nothing installed yet"
                    : h.LastFailure is { } f ? $"{f.Status} at {f.Step}: {f.Message}" : "ok");
                table.AddRow(
                    CliText.Markup(h.Host),
                    InstallPlan.RoleName(h.Role),
                    CliText.Markup(h.Bundle ?? "-"),
                    CliText.Markup(h.DoneInOrder.Count == 0 ? "-" : string.Join(", ", h.DoneInOrder)),
                    CliText.Markup(state));
            }

            console.Out.Write(table);
            foreach (var h in hosts.Where(h => h.Nodes is not null))
            {
                console.Out.WriteLine($"nodes (kubectl get nodes on {h.Host}):");
                console.Out.WriteLine(string.Join('\n', h.Nodes!.Split('\n').Select(Printable.Escape)));
            }

            foreach (var h in hosts.Where(h => h.EtcdMembers is not null))
            {
                console.Out.WriteLine($"etcd members (etcdctl member list on {h.Host}):");
                console.Out.WriteLine(string.Join('\n', h.EtcdMembers!.Split('\n').Select(Printable.Escape)));
            }

            if (hosts.Any(h => h.LoadBalancer is not null))
            {
                console.Out.WriteLine("load balancer (which control plane holds the VIP; each API server's health):");
                foreach (var h in hosts.Where(h => h.LoadBalancer is not null))
                {
                    console.Out.WriteLine($"  {Printable.Escape(h.Host)}: {Printable.Escape(h.LoadBalancer!)}");
                }
            }

            return (int)(hosts.Any(h => h.Error is not null) ? ExitCode.Failed : ExitCode.Success);
        });
        return command;
    }

    public static Command Reset(CliConsole console)
    {
        var inventory = CommonOptions.Inventory();
        var purge = new Option<bool>("--purge") { Description = "Also remove the pushed bundles (and the yum repo file pointing into them) from the hosts" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what reset would run on each host; connect to nothing" };
        var parallel = CommonOptions.Parallel("hosts", 10);
        var knownHosts = HostOptions.KnownHosts();
        var runsDir = new Option<string>("--runs-dir")
        {
            Description = "Where the run's folder of per-host logs goes (default .offlinekit/runs)",
            HelpName = "DIR",
        };
        var command = new Command(
            "reset",
            "Undo an install: kubeadm reset -f, CNI config, kubeconfigs and chrony.conf as before, the journal set aside (workers first). Packages, images and the host preparation stay; --purge also removes the pushed bundles")
        {
            inventory,
            purge,
            dryRun,
            parallel,
            knownHosts,
        };
        command.Options.Add(runsDir);
        command.SetAction(async (parse, ct) =>
        {
            var inventoryPath = parse.GetRequiredValue(inventory).FullName;
            if (parse.GetValue(dryRun))
            {
                await console.OutWriter.WriteAsync(Installer.PlanReset(inventoryPath, parse.GetValue(purge)).Describe().AsMemory(), ct).ConfigureAwait(false);
                return (int)ExitCode.Success;
            }

            var request = new InstallRequest
            {
                Parallel = parse.GetValue(parallel),
                KnownHosts = parse.GetValue(knownHosts),
                RunsRoot = parse.GetValue(runsDir),
            };
            var report = await InstallDisplay.RunAsync(console, p => Installer.ResetAsync(inventoryPath, parse.GetValue(purge), request with { Progress = p }, ct)).ConfigureAwait(false);
            InstallDisplay.Summary(console, report, "reset");
            return (int)(report.Ok ? ExitCode.Success : ExitCode.Failed);
        });
        return command;
    }
}

internal static class InventoryCommand
{
    public static Command Create(CliConsole console)
    {
        var ha = new Option<bool>("--ha")
        {
            Description = "Three control planes behind a VIP (keepalived + haproxy) and two workers, on the guide's 192.168.10.x network",
        };
        var init = new Command("init", "Print a commented example inventory (the guide's three hosts) to start from") { ha };
        init.SetAction(async (parse, ct) =>
        {
            await console.OutWriter.WriteAsync(InventoryLoader.ExampleText(parse.GetValue(ha)).AsMemory(), ct).ConfigureAwait(false);
            return (int)ExitCode.Success;
        });
        return new Command("inventory", "The inventory: hosts, roles, SSH access, cluster settings") { init };
    }
}
