using System.Text.Json;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Spec;

namespace OfflineKit.IntegrationTests.Lab;

/// <summary>
/// The kubeadm stand-in's model of a highly available control plane: init --upload-certs with a stable
/// controlPlaneEndpoint, the kubeadm-certs Secret and its certificate key (2 h), control-plane joins with
/// offlinekit's own JoinConfiguration, and etcd membership under etcd's quorum rule for adding a member.
/// </summary>
public sealed partial class StandinTests
{
    private const string Vip = "10.231.0.200:8443";

    [Fact]
    public async Task Init_upload_certs_then_control_planes_join_one_at_a_time_each_an_etcd_member_and_reset_removes_them()
    {
        var (master, key) = await HaInitAsync();
        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(["k8s-master"], Members());

        var cp2 = await HostAsync("k8s-master02", "10.231.0.104");
        var joined = await cp2.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master02", "10.231.0.104", key));
        Assert.True(joined.ExitCode == 0, joined.Stdout + joined.Stderr);
        Assert.Contains("This node has joined the cluster and a new control plane instance was created", joined.Stdout);
        Assert.Contains($"server: https://{Vip}", cp2.Read("etc/kubernetes/admin.conf"));
        Assert.True(File.Exists(cp2.Path("etc/kubernetes/manifests/etcd.yaml")));
        Assert.Equal(["k8s-master", "k8s-master02"], Members());

        // A fresh upload (as offlinekit does once per run) replaces the key: the old one no longer opens the Secret.
        var upload = await master.Run("kubeadm", "init", "phase", "upload-certs", "--upload-certs");
        Assert.True(upload.ExitCode == 0, upload.Stderr);
        var fresh = upload.Stdout.Trim().Split('\n')[^1];
        Assert.Matches("^[0-9a-f]{64}$", fresh);
        Assert.NotEqual(key, fresh);
        var cp3 = await HostAsync("k8s-master03", "10.231.0.105");
        var stale = await cp3.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master03", "10.231.0.105", key));
        Assert.Equal(1, stale.ExitCode);
        Assert.Contains("error decoding secret data with provided key: cipher: message authentication failed", stale.Stderr);
        Assert.Equal(0, (await cp3.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master03", "10.231.0.105", fresh))).ExitCode);
        Assert.Equal(["k8s-master", "k8s-master02", "k8s-master03"], Members());
        var nodes = await master.Run("kubectl", "get", "nodes", "--no-headers");
        Assert.True(nodes.ExitCode == 0, nodes.Stderr);
        Assert.Equal(3, nodes.Stdout.Split('\n').Count(l => l.Contains("control-plane,master", StringComparison.Ordinal)));

        // Reset in reverse order: each control plane takes its etcd member with it, the first one the cluster.
        var reset3 = await cp3.Run("kubeadm", "reset", "-f");
        Assert.True(reset3.ExitCode == 0, reset3.Stderr);
        Assert.Contains("[reset] Removing member from etcd cluster", reset3.Stdout);
        Assert.Equal(["k8s-master", "k8s-master02"], Members());
        Assert.Equal(0, (await cp2.Run("kubeadm", "reset", "-f")).ExitCode);
        Assert.Equal(["k8s-master"], Members());
        Assert.Equal(0, (await master.Run("kubeadm", "reset", "-f")).ExitCode);
        Assert.False(File.Exists(ClusterJson));
    }

    [Fact]
    public async Task Two_control_plane_joins_at_once_one_fails_on_etcd_quorum()
    {
        var (master, key) = await HaInitAsync();
        var cp2 = await HostAsync("k8s-master02", "10.231.0.104");
        var cp3 = await HostAsync("k8s-master03", "10.231.0.105");
        var slow = new Dictionary<string, string> { ["OFFLINEKIT_LAB_ETCD_SYNC_SECONDS"] = "4" };
        var config2 = await JoinConfigAsync(master, "k8s-master02", "10.231.0.104", key);
        var config3 = await JoinConfigAsync(master, "k8s-master03", "10.231.0.105", key);

        var first = cp2.Run(slow, "kubeadm", "join", "--config", config2);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var second = await cp3.Run(slow, "kubeadm", "join", "--config", config3);

        Assert.True((await first).ExitCode == 0, (await first).Stderr);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("etcdserver: re-configuration failed due to not enough started members (1 of 2 started; not started: k8s-master02", second.Stderr);
        Assert.Equal(["k8s-master", "k8s-master02"], Members());
    }

    [Fact]
    public async Task A_control_plane_join_needs_a_stable_endpoint_and_a_valid_live_certificate_key()
    {
        var (master, key) = await HaInitAsync();
        var cp2 = await HostAsync("k8s-master02", "10.231.0.104");

        var bad = await cp2.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master02", "10.231.0.104", key[..63] + "z", fill: false));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("error decoding certificate key: encoding/hex: invalid byte", bad.Stderr);
        var notMine = await cp2.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master02", "10.231.0.105", key));
        Assert.Contains("controlPlane.localAPIEndpoint.advertiseAddress: Invalid value: \"10.231.0.105\": is not an address of this host", notMine.Stderr);

        // Two hours later kubeadm has deleted the Secret.
        var json = await File.ReadAllTextAsync(ClusterJson);
        var expires = JsonDocument.Parse(json).RootElement.GetProperty("kubeadmCerts").GetProperty("expires").GetString()!;
        await File.WriteAllTextAsync(ClusterJson, json.Replace(expires, "2020-01-01T00:00:00Z", StringComparison.Ordinal));
        var expired = await cp2.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master02", "10.231.0.104", key));
        Assert.Equal(1, expired.ExitCode);
        Assert.Contains("Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired", expired.Stderr);
        Assert.Equal(["k8s-master"], Members());
        Assert.False(File.Exists(cp2.Path("etc/kubernetes/kubelet.conf")));

        // Without a controlPlaneEndpoint a cluster takes no second control plane.
        Assert.Equal(0, (await master.Run("kubeadm", "reset", "-f")).ExitCode);
        var plain = await master.Run("kubeadm", "init", "--config", _dir.Write("kubeadm-plain.yaml", InitConfig()), "--upload-certs");
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        var plainKey = plain.Stdout.Split('\n').SkipWhile(l => l != "[upload-certs] Using certificate key:").Skip(1).First();
        var refused = await cp2.Run("kubeadm", "join", "--config", await JoinConfigAsync(master, "k8s-master02", "10.231.0.104", plainKey));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address", refused.Stderr);
    }

    /// <summary>The control plane initialised with the VIP as its endpoint and --upload-certs; the certificate key it printed.</summary>
    private async Task<(TestHost Master, string Key)> HaInitAsync()
    {
        var master = await HostAsync("k8s-master", Master);
        var config = InitConfig().Replace("imageRepository:", $"controlPlaneEndpoint: {Vip}\nimageRepository:", StringComparison.Ordinal);
        var init = await master.Run("kubeadm", "init", "--config", _dir.Write("kubeadm-ha.yaml", config), "--upload-certs");
        Assert.True(init.ExitCode == 0, init.Stdout + init.Stderr);
        Assert.Contains("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace", init.Stdout);
        Assert.Contains("--control-plane --certificate-key ", init.Stdout);
        var key = init.Stdout.Split('\n').SkipWhile(l => l != "[upload-certs] Using certificate key:").Skip(1).First();
        master.Write("root/.kube/config", master.Read("etc/kubernetes/admin.conf"));
        return (master, key);
    }

    /// <summary>offlinekit's own JoinConfiguration for a control plane, filled with a fresh join line from the first control plane and the key.</summary>
    private async Task<string> JoinConfigAsync(TestHost master, string name, string address, string key, bool fill = true)
    {
        var create = await master.Run("kubeadm", "token", "create", "--print-join-command");
        Assert.True(create.ExitCode == 0, create.Stderr);
        Assert.True(KubernetesVersion.TryParse("1.23.0", out var version));
        var template = KubeadmConfig.RenderJoin(new KubeadmOptions(version, StandinWorld.Repo), name, address);
        var text = fill
            ? KubeadmConfig.FillJoin(template, create.Stdout.Trim(), key)
            : KubeadmConfig.FillJoin(template.Replace(KubeadmConfig.CertificateKeyPlaceholder, key, StringComparison.Ordinal), create.Stdout.Trim());
        return _dir.Write($"join-{name}-{Guid.NewGuid():N}.yaml", text);
    }

    private List<string> Members()
    {
        using var cluster = JsonDocument.Parse(File.ReadAllText(ClusterJson));
        return [.. cluster.RootElement.GetProperty("etcdMembers").EnumerateArray().Where(m => m.GetProperty("started").GetBoolean()).Select(m => m.GetProperty("name").GetString()!)];
    }
}
