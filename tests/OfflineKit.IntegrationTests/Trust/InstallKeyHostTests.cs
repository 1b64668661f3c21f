using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.IntegrationTests.Trust;

/// <summary>`install --key` on the lab's SSH hosts: each host checks bundle.json.sig with openssl (scripts/verify.sh --key) before sha256sum.</summary>
[Collection("lab hosts")]
public sealed class InstallKeyHostTests(LabHosts lab) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Each_host_checks_the_signature_and_one_whose_signature_was_swapped_stops_at_verify()
    {
        await lab.RequireLabRoutesAsync();
        var keys = KeyPair.Generate(_dir["keys"]);
        var other = KeyPair.Generate(_dir["other"]);
        var bundle = await SignedBundleAsync(keys.PrivateKey);
        var inventory = lab.WriteInventory(_dir.Path, "signed");
        var sigOnNode = Path.Combine(LabHosts.StateDir(lab["k8s-node01"], "signed"), Bundles.Name, BundleLayout.SignatureFile);
        using var otherKey = BundleSignature.LoadPrivateKey(other.PrivateKey, null, "x");

        var report = await Installer.InstallAsync(bundle, inventory, Request() with
        {
            PublicKey = keys.PublicKey,
            BeforeStep = async (host, step, ct) =>
            {
                if (host == "k8s-node01" && step == PushedBundle.VerifyStep)
                {
                    // Another key's signature over the same bundle.json, put on the host after the push.
                    var manifest = await File.ReadAllBytesAsync(Path.Combine(Path.GetDirectoryName(sigOnNode)!, BundleLayout.ManifestFile), ct);
                    await File.WriteAllBytesAsync(sigOnNode, BundleSignature.Sign(otherKey, manifest), ct);
                }
            },
        });

        var node = report.Hosts.Single(h => h.Host == "k8s-node01");
        Assert.Equal((HostOutcome.Failed, "verify"), (node.Outcome, node.FailedStep));
        Assert.Contains("bundle.json.sig does not verify", node.Message, StringComparison.Ordinal);
        foreach (var host in report.Hosts.Where(h => h.Host != "k8s-node01"))
        {
            // Push and verify done; the next step's script is not in this transport-only bundle.
            Assert.True(host.StepsDone == 2 && host.FailedStep == InstallPlanner.PreflightStep, $"{host.Host}: {host.StepsDone} done, failed at {host.FailedStep}: {host.Message}");
            Assert.Contains("bundle.json.sig verifies with", await File.ReadAllTextAsync(host.LogPath), StringComparison.Ordinal);
        }
    }

    private InstallRequest Request() => new()
    {
        KnownHosts = CopyKnownHosts(),
        RunsRoot = _dir["runs"],
        Environment = lab.Environment,
        Ssh = new Install.Ssh.SshOptions { ConnectTimeout = TimeSpan.FromSeconds(10) },
    };

    private string CopyKnownHosts()
    {
        var path = _dir[$"known_hosts-{Guid.NewGuid():N}"];
        File.Copy(lab.KnownHosts, path);
        return path;
    }

    private async Task<string> SignedBundleAsync(string keyPath)
    {
        using var key = BundleSignature.LoadPrivateKey(keyPath, null, "x");
        var files = new List<BundleFile>
        {
            BundleFile.FromBytes("images/common.tar", new byte[100_000]),
            BundleFile.FromBytes("images/common.images", "docker.io/calico/node:v3.25.2\n"u8.ToArray()),
            BundleFile.FromBytes("images/control-plane.tar", new byte[200_000]),
            BundleFile.FromBytes("images/control-plane.images", "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0\n"u8.ToArray()),
            Bundles.File("rpms/kubelet-1.23.0-0.x86_64.rpm", new string('r', 30_000), ArtifactKind.Rpm),
            BundleFile.FromBytes(BundleLayout.VerifyScript, OfflineKit.Scripts.EmbeddedScripts.Read("verify.sh")) with { Executable = true },
        };
        var header = Bundles.Header with { Signer = json => BundleSignature.Sign(key, json) };
        return (await BundleWriter.WriteFileAsync(header, files, _dir["bundle"], BundleFormat.Tar)).Path;
    }
}
