using System.Text.Json;
using OfflineKit.Bundle;
using OfflineKit.Tests.Support;
using OfflineKit.Trust;

namespace OfflineKit.Tests.Trust;

public class SbomTests
{
    private static readonly Artifact[] Sample =
    [
        Rpm("kubelet", "0:1.23.0-0.x86_64", "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/Packages/abc-kubelet-1.23.0-0.x86_64.rpm"),
        Rpm("containerd.io", "0:1.6.32-3.1.el8.x86_64", "https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/Packages/containerd.io-1.6.32-3.1.el8.x86_64.rpm"),
        Rpm("docker-ce", "3:20.10.24-3.el8.x86_64", "https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/Packages/docker-ce-20.10.24-3.el8.x86_64.rpm"),
        Rpm("libseccomp", "0:2.5.1-1.el8.x86_64", "https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/x86_64/os/Packages/libseccomp-2.5.1-1.el8.x86_64.rpm"),
        Rpm("iptables", "0:1.8.8-4.el9.x86_64", "https://mirrors.aliyun.com/rockylinux/9/BaseOS/x86_64/os/Packages/i/iptables-1.8.8-4.el9.x86_64.rpm"),
        Image("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "images/control-plane.tar"),
        Image("docker.io/calico/node:v3.25.0", "images/common.tar"),
        new Artifact { Kind = ArtifactKind.Manifest, Name = "calico", Version = "v3.25.0", Digest = Digest('m'), Size = 10, Path = "manifests/calico.yaml", Origin = "https://raw.githubusercontent.com/projectcalico/calico/v3.25.0/manifests/calico.yaml" },
        new Artifact { Kind = ArtifactKind.File, Name = "offlinekit", Version = "0.1.0", Digest = Digest('b'), Size = 10, Path = "bin/offlinekit", Origin = "linux-x64" },
        new Artifact { Kind = ArtifactKind.Script, Name = "verify.sh", Digest = Digest('s'), Size = 10, Path = "scripts/verify.sh" },
    ];

    [Fact]
    public void The_sbom_is_valid_CycloneDX_1_6_and_names_every_rpm_image_manifest_and_binary_with_its_digest()
    {
        var json = Sbom.Write("offlinekit-k8s-1.23.0-el8-amd64", "1.0.0", Sbom.Components(Sample));
        SbomSchema.AssertValid(json);

        using var doc = JsonDocument.Parse(json);
        var components = doc.RootElement.GetProperty("components").EnumerateArray().ToList();
        Assert.Equal(9, components.Count); // every artifact but the script
        foreach (var a in Sample.Where(a => a.Kind != ArtifactKind.Script))
        {
            var c = components.Single(c => c.GetProperty("properties").EnumerateArray().Any(p => p.GetProperty("value").GetString() == a.Path)
                && c.GetProperty("name").GetString() == a.Name);
            Assert.Equal(a.Digest[7..], c.GetProperty("hashes")[0].GetProperty("content").GetString());
        }

        var purls = components.Where(c => c.TryGetProperty("purl", out _)).Select(c => c.GetProperty("purl").GetString()).ToHashSet();
        Assert.Contains("pkg:rpm/kubernetes/kubelet@1.23.0-0?arch=x86_64", purls);
        Assert.Contains("pkg:rpm/docker/containerd.io@1.6.32-3.1.el8?arch=x86_64", purls);
        Assert.Contains("pkg:rpm/docker/docker-ce@20.10.24-3.el8?arch=x86_64&epoch=3", purls);
        Assert.Contains("pkg:rpm/centos/libseccomp@2.5.1-1.el8?arch=x86_64", purls);
        Assert.Contains("pkg:rpm/rocky/iptables@1.8.8-4.el9?arch=x86_64", purls);
        Assert.Contains($"pkg:oci/kube-apiserver@{Digest('r')}?repository_url=registry.aliyuncs.com/google_containers/kube-apiserver&tag=v1.23.0", purls);
        Assert.Contains($"pkg:oci/node@{Digest('r')}?repository_url=docker.io/calico/node&tag=v3.25.0", purls);

        // The same bundle gives the same bytes: no timestamp, a serial number from the content.
        Assert.Equal(json, Sbom.Write("offlinekit-k8s-1.23.0-el8-amd64", "1.0.0", Sbom.Components(Sample.Reverse())));
        Assert.NotEqual(json, Sbom.Write("offlinekit-k8s-1.23.0-el8-amd64", "1.0.1", Sbom.Components(Sample)));
        Assert.Equal(new Dictionary<string, int> { ["application"] = 1, ["container"] = 2, ["file"] = 1, ["library"] = 5 }, Sbom.CountByType(json));
    }

    [Fact]
    public void The_schema_check_catches_a_broken_sbom()
    {
        var json = Sbom.Write("b", "1.0.0", Sbom.Components(Sample));
        var broken = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(json).Replace("\"SHA-256\"", "\"SHA256\"", StringComparison.Ordinal));
        Assert.False(SbomSchema.Validate(broken).IsValid);
    }

    [Theory]
    [InlineData("https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/rpm/x86_64/kubeadm.rpm", "kubernetes")]
    [InlineData("https://download.docker.com/linux/centos/9/x86_64/stable/Packages/x.rpm", "docker")]
    [InlineData("https://dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os/x.rpm", "rocky")]
    [InlineData("http://vault.centos.org/8.5.2111/BaseOS/x86_64/os/x.rpm", "centos")]
    [InlineData("https://repo.example.org/el8/x.rpm", "example")]
    [InlineData(null, "rpm")]
    public void An_rpm_namespace_is_the_vendor_or_distribution_of_its_repository(string? origin, string expected) =>
        Assert.Equal(expected, Sbom.RpmNamespace(origin));

    private static Artifact Rpm(string name, string evra, string origin) => new()
    {
        Kind = ArtifactKind.Rpm,
        Name = name,
        Version = evra,
        Digest = Digest(name[0]),
        Size = 100,
        Path = $"rpms/{name}.rpm",
        Origin = origin,
    };

    private static Artifact Image(string name, string path) => new()
    {
        Kind = ArtifactKind.Image,
        Name = name,
        Version = name[(name.LastIndexOf(':') + 1)..],
        Digest = Digest('r'),
        Size = 1000,
        Path = path,
        Origin = name,
        Blobs = [Digest('c')],
    };

    private static string Digest(char c) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([(byte)c]));
}
