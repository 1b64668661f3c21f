using System.Security.Cryptography;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>The self-contained offlinekit as a user runs it: a process, its exit codes, its output, and the bundle it carries.</summary>
public class PublishedBinaryTests
{
    private static readonly string[] WhatExists = ["--without", "images", "--without", "rpms", "--without", "manifests"];

    [Fact]
    public async Task A_bundle_carries_a_self_contained_offlinekit_that_runs_from_it()
    {
        var offlinekit = Tools.Offlinekit();
        Tools.Require("tar", "tar");
        using var dir = new TempDir();

        var build = await Tools.RunAsync(offlinekit, ["build", "--k8s", "1.23.0", "-o", dir["out"], .. WhatExists]);
        Assert.True(build.ExitCode == 0, build.Stderr);
        var tarball = build.Stdout.Trim();

        Directory.CreateDirectory(dir["site"]);
        Assert.Equal(0, (await Tools.Bash($"tar -xf '{tarball}' -C '{dir["site"]}'")).ExitCode);
        var bundle = Path.Combine(dir["site"], "offlinekit-k8s-1.23.0-el8-amd64");

        // On the air-gapped side: no .NET needed, the bundle's own binary verifies the bundle.
        var carried = await Tools.RunAsync(Path.Combine(bundle, "bin/offlinekit"), ["verify", bundle], environment: new Dictionary<string, string> { ["DOTNET_ROOT"] = "/nonexistent" });
        Assert.True(carried.ExitCode == 0, carried.Stdout + carried.Stderr);
        Assert.Contains("verified offlinekit-k8s-1.23.0-el8-amd64: 15 files", carried.Stdout); // 10 scripts (no images, no rpms: not their two), bin/offlinekit, sbom.cdx.json, the lock, bundle.json, SHA256SUMS

        var script = await Tools.RunAsync("/bin/bash", [Path.Combine(bundle, "scripts/verify.sh")]);
        Assert.True(script.ExitCode == 0, script.Stdout + script.Stderr);
        Assert.Contains("verify.sh: OK", script.Stdout);
    }

    [Fact]
    public async Task The_host_script_catches_a_file_changed_with_its_sums_line()
    {
        var offlinekit = Tools.Offlinekit();
        Tools.Require("sha256sum", "coreutils");
        using var dir = new TempDir();
        var build = await Tools.RunAsync(offlinekit, ["build", "--k8s", "1.23.0", "-o", dir["out"], .. WhatExists]);
        Assert.Equal(0, build.ExitCode);
        Directory.CreateDirectory(dir["site"]);
        Assert.Equal(0, (await Tools.Bash($"tar -xf '{build.Stdout.Trim()}' -C '{dir["site"]}'")).ExitCode);
        var bundle = Path.Combine(dir["site"], "offlinekit-k8s-1.23.0-el8-amd64");

        // Change a script and rewrite its SHA256SUMS line: level one (sha256sum) passes, level two must not.
        var script = Path.Combine(bundle, "scripts/verify.sh");
        var sums = Path.Combine(bundle, "SHA256SUMS");
        var before = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(script)));
        // Same length, so only the digests can tell (a size change is caught earlier, by the recorded size).
        var text = await File.ReadAllTextAsync(script);
        Assert.Contains("changed together", text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(script, text.Replace("changed together", "CHANGED together", StringComparison.Ordinal));
        var after = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(script)));
        await File.WriteAllTextAsync(sums, (await File.ReadAllTextAsync(sums)).Replace(before, after, StringComparison.Ordinal));

        Assert.Equal(0, (await Tools.Bash("sha256sum -c --quiet SHA256SUMS", bundle)).ExitCode);
        var run = await Tools.RunAsync("/bin/bash", [script]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("changed together with its SHA256SUMS line", run.Stdout);
    }

    [Fact]
    public async Task Two_builds_of_the_same_inputs_are_byte_identical()
    {
        var offlinekit = Tools.Offlinekit();
        using var dir = new TempDir();
        var a = await Tools.RunAsync(offlinekit, ["build", "--k8s", "1.23.0", "-o", dir["a"], "--format", "tar.gz", .. WhatExists]);
        var b = await Tools.RunAsync(offlinekit, ["build", "--k8s", "1.23.0", "-o", dir["b"], "--format", "tar.gz", .. WhatExists]);
        Assert.Equal((0, 0), (a.ExitCode, b.ExitCode));

        var cmp = await Tools.RunAsync("cmp", [a.Stdout.Trim(), b.Stdout.Trim()]);
        Assert.True(cmp.ExitCode == 0, cmp.Stdout);
    }

    [Theory]
    [InlineData(2, "verify", "/nonexistent.tar")]
    [InlineData(2, "build", "--k8s", "1.99.0")]
    [InlineData(2, "build", "--spec", "/nonexistent/spec.yaml")]
    [InlineData(2, "build", "--k8s", "1.23.0", "--mirrors", "/nonexistent/mirrors.yaml")]
    [InlineData(2, "extract", "/nonexistent.tar", "--to", "/tmp")]
    [InlineData(2, "images", "list", "--k8s", "abc")]
    [InlineData(2, "install", "/nonexistent.tar", "--inventory", "/nonexistent/inventory.yaml")]
    [InlineData(2, "--no-such-flag")]
    public async Task User_errors_exit_2_with_a_message_and_no_stack_trace(int expected, params string[] args)
    {
        var run = await Tools.RunAsync(Tools.Offlinekit(), args);

        Assert.Equal(expected, run.ExitCode);
        Assert.StartsWith("offlinekit: ", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.DoesNotContain("Exception", run.Stderr);
    }

    [Fact]
    public async Task A_tampered_tarball_exits_1_and_json_names_the_problem()
    {
        using var dir = new TempDir();
        var tarball = await Bundles.WriteTarballAsync(dir.Path);
        await File.AppendAllTextAsync(tarball + ".sha256", string.Empty);
        var bytes = await File.ReadAllBytesAsync(tarball);
        bytes[bytes.AsSpan().IndexOf("kind: DaemonSet"u8)] = (byte)'K';
        await File.WriteAllBytesAsync(tarball, bytes);

        var run = await Tools.RunAsync(Tools.Offlinekit(), ["verify", tarball, "--output", "json"]);

        Assert.Equal(1, run.ExitCode);
        var json = System.Text.Json.JsonDocument.Parse(run.Stdout).RootElement;
        var paths = json.GetProperty("problems").EnumerateArray().Select(p => (p.GetProperty("kind").GetString(), p.GetProperty("path").GetString())).ToList();
        Assert.Contains(("modified", "manifests/calico.yaml"), paths);
        Assert.Contains(("tarball-checksum", Bundles.Name + ".tar.sha256"), paths);
    }
}
