using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>A repository as dnf's --repofrompath takes it: a name and a local folder or an http:// URL.</summary>
public sealed record LabDnfRepo(string Name, string Location, string? GpgKey = null);

/// <summary>The host dnf acts for: its $releasever (8, 9) and its arch (x86_64, aarch64; another arch than this machine's through --forcearch).</summary>
public sealed record LabDnfTarget(int Releasever = 8, string Arch = "x86_64")
{
    public static LabDnfTarget El8 { get; } = new();
}

/// <summary>What one real dnf install into an empty root did.</summary>
public sealed record LabDnfInstall(int ExitCode, string Output, IReadOnlyList<string> Installed);

/// <summary>
/// The real dnf, isolated from this machine: an empty installroot per run, no repo files of the
/// host (reposdir=/dev/null), every repo on the command line, and no plugins — Debian's dnf runs its
/// "local" plugin otherwise, which keeps a copy of every RPM it installs as a repo for every later
/// run and so hides a missing package.
/// </summary>
public static class LabDnf
{
    /// <summary>rpm's query format for dnf repoquery's NEVRA: name-epoch:version-release.arch, epoch 0 written.</summary>
    public const string NevraFormat = "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n";

    /// <summary>
    /// Installs <paramref name="packages"/> from <paramref name="repos"/> only into a new empty root
    /// and returns what rpm then lists there, sorted (the lab key's gpg-pubkey entry left out).
    /// Weak dependencies off and best=True unless asked, as offlinekit resolves. With
    /// <paramref name="keyFiles"/> the keys are imported into the root's rpmdb first and every package's
    /// signature is checked (gpgcheck=True); without them, --nogpgcheck.
    /// </summary>
    public static async Task<LabDnfInstall> InstallAsync(
        IEnumerable<LabDnfRepo> repos, IEnumerable<string> packages, IReadOnlyCollection<string>? keyFiles = null, bool weakDependencies = false, LabDnfTarget? target = null)
    {
        using var dir = new TempDir();
        return await InstallAsync(repos, packages, dir["root"], keyFiles, weakDependencies, target);
    }

    /// <summary>The same, into <paramref name="root"/>, which stays: a host prepared for a later step.</summary>
    public static async Task<LabDnfInstall> InstallAsync(
        IEnumerable<LabDnfRepo> repos, IEnumerable<string> packages, string root, IReadOnlyCollection<string>? keyFiles, bool weakDependencies = false, LabDnfTarget? target = null)
    {
        var dnf = Tools.Require("dnf", "dnf");
        var rpm = Tools.Require("rpm", "rpm");
        Directory.CreateDirectory(root);
        foreach (var keyFile in keyFiles ?? [])
        {
            var import = await Tools.RunAsync(rpm, ["--root", root, "--import", keyFile]);
            Assert.True(import.ExitCode == 0, $"rpm --import {keyFile}: {import.Stderr}");
        }

        var install = await Tools.RunAsync(dnf, [
            .. CommonArgs(root, repos, target ?? LabDnfTarget.El8),
            $"--setopt=install_weak_deps={weakDependencies}", "--setopt=best=True",
            keyFiles is null ? "--nogpgcheck" : "--setopt=gpgcheck=True",
            "--assumeyes", "install", .. packages]);
        var output = install.Stdout + install.Stderr;
        if (install.ExitCode != 0)
        {
            return new LabDnfInstall(install.ExitCode, output, []);
        }

        return new LabDnfInstall(0, output, await InstalledAsync(root));
    }

    /// <summary>Every package in the root's rpmdb as NEVRA, sorted ordinally; gpg-pubkey (imported keys) left out.</summary>
    public static async Task<IReadOnlyList<string>> InstalledAsync(string root)
    {
        var query = await Tools.RunAsync(Tools.Require("rpm", "rpm"), ["--root", root, "-qa", "--qf", NevraFormat]);
        Assert.True(query.ExitCode == 0, $"rpm --root {root} -qa: {query.Stderr}");
        return [.. query.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("gpg-pubkey-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The real `dnf repoclosure` over the repos together, checking each of them: exit 0 when every
    /// requirement of every package is met inside them. repoclosure is itself a plugin, so this run
    /// loads that one plugin only (--disableplugin='*' --enableplugin=repoclosure), not --noplugins.
    /// </summary>
    public static async Task<ProcessResult> RepoclosureAsync(IReadOnlyCollection<LabDnfRepo> repos, LabDnfTarget? target = null)
    {
        Tools.Require("dnf", "dnf");
        Assert.True(File.Exists("/usr/lib/python3/dist-packages/dnf-plugins/repoclosure.py"), "dnf repoclosure is not installed: `apt-get install dnf-plugins-core` (tests/lab/prerequisites.sh installs it)");
        using var dir = new TempDir();
        var root = dir["root"];
        Directory.CreateDirectory(root);
        var args = CommonArgs(root, repos, target ?? LabDnfTarget.El8).Where(a => a != "--noplugins").ToList();
        return await Tools.RunAsync("dnf", [
            "--disableplugin=*", "--enableplugin=repoclosure", .. args, "--nogpgcheck",
            "repoclosure", .. repos.SelectMany(r => new[] { "--check", r.Name })]);
    }

    private static IEnumerable<string> CommonArgs(string root, IEnumerable<LabDnfRepo> repos, LabDnfTarget target)
    {
        yield return "--noplugins";
        yield return $"--installroot={root}";
        yield return $"--releasever={target.Releasever}";
        // What an EL host's /etc/os-release gives dnf; an empty root has none (dnf warns, modules still filter).
        yield return $"--setopt=module_platform_id=platform:el{target.Releasever}";
        yield return $"--forcearch={target.Arch}";
        yield return "--setopt=reposdir=/dev/null";
        // Debian's /etc/dnf/dnf.conf says skip_if_unavailable=True: a broken repo would be skipped silently.
        yield return "--setopt=skip_if_unavailable=False";
        yield return $"--setopt=cachedir={root}/var/cache/dnf";
        yield return "--disablerepo=*";
        foreach (var repo in repos)
        {
            yield return $"--repofrompath={repo.Name},{repo.Location}";
            if (repo.GpgKey is not null)
            {
                yield return $"--setopt={repo.Name}.gpgkey={repo.GpgKey}";
            }
        }
    }
}
