using OfflineKit.Build;
using OfflineKit.Catalog;
using OfflineKit.Cli;
using OfflineKit.Images;
using OfflineKit.Rpm;
using OfflineKit.Spec;
using OfflineKit.Tests.Images;
using OfflineKit.Tests.Support;
using static OfflineKit.Tests.Rpm.RpmWorld;

namespace OfflineKit.Tests.Catalog;

public class SpecDerivationTests
{
    private static BundleSpec Derive(string version, TargetOs? os = null, TargetArch? arch = null, ContainerRuntime? runtime = null) =>
        SpecDerivation.Derive(KubernetesVersion.Parse(version), os, arch, runtime).Spec;

    [Theory]
    [InlineData("1.23.0", null, "offlinekit-k8s-1.23.0-el8-amd64")]
    [InlineData("1.23.0", ContainerRuntime.Docker, "offlinekit-k8s-1.23.0-el8-amd64")]
    [InlineData("1.23.0", ContainerRuntime.Containerd, "offlinekit-k8s-1.23.0-el8-amd64-containerd")]
    [InlineData("1.31.2", null, "offlinekit-k8s-1.31.2-el8-amd64")]
    [InlineData("1.31.2", ContainerRuntime.Containerd, "offlinekit-k8s-1.31.2-el8-amd64")]
    public void A_bundle_s_name_carries_its_runtime_only_when_it_is_not_the_version_s_default(string version, ContainerRuntime? runtime, string name)
    {
        var spec = Derive(version, runtime: runtime);

        Assert.Equal(name, OfflineKit.Bundle.BundleLayout.BundleName(spec.Kubernetes, spec.Target, spec.Runtime));
        Assert.True(OfflineKit.Bundle.BundleLayout.IsValidBundleName(name));
    }

    [Fact]
    public void The_spec_derived_for_1_23_0_el8_amd64_docker_says_exactly_what_the_guides_spec_says()
    {
        var guide = BundleSpecLoader.LoadEmbedded("1.23.0");
        var derived = Derive("1.23.0", TargetOs.El8, TargetArch.Amd64, ContainerRuntime.Docker);

        Assert.Null(guide.CatalogRevision);
        Assert.Equal(ReleaseCatalog.Embedded.Revision, derived.CatalogRevision);
        Assert.Equal(BundleSpecWriter.ToYaml(guide with { CatalogRevision = derived.CatalogRevision }), BundleSpecWriter.ToYaml(derived));

        // Field by field too, so that a writer that forgets a field cannot hide a difference.
        Assert.Equal(guide.Name, derived.Name);
        Assert.Equal(guide.Version, derived.Version);
        Assert.Equal(guide.Runtime, derived.Runtime);
        Assert.Equal(guide.Target, derived.Target);
        Assert.Equal(guide.ImageRepository, derived.ImageRepository);
        Assert.Equal(guide.Rpm.Packages, derived.Rpm.Packages);
        Assert.Equal(guide.Rpm.Baseline, derived.Rpm.Baseline);
        Assert.Equal(guide.Rpm.Repositories.Select(r => (r.Name, r.BaseUrl.AbsoluteUri, string.Join(' ', r.GpgKeys))), derived.Rpm.Repositories.Select(r => (r.Name, r.BaseUrl.AbsoluteUri, string.Join(' ', r.GpgKeys))));
        Assert.Equal(guide.Addons.Select(a => (a.Name, a.Version, a.Url.AbsoluteUri)), derived.Addons.Select(a => (a.Name, a.Version, a.Url.AbsoluteUri)));
        Assert.Equal(guide.Addons.SelectMany(a => a.Patches), derived.Addons.SelectMany(a => a.Patches));
        Assert.Equal(guide.Cluster, derived.Cluster);
        Assert.Equal(guide.DockerDaemon.ToJsonString(), derived.DockerDaemon.ToJsonString());
    }

    [Fact]
    public void Build_k8s_1_23_0_without_flags_is_the_guides_cluster()
    {
        var effective = SpecResolver.ResolveEffective("1.23.0", null);

        Assert.Equal(BundleSpecWriter.ToYaml(Derive("1.23.0", TargetOs.El8, TargetArch.Amd64, ContainerRuntime.Docker)), BundleSpecWriter.ToYaml(effective.Spec));
        Assert.Equal("kubeadm.k8s.io/v1beta3", effective.KubeadmConfigApi);
        Assert.Empty(effective.HostLimits);
        var plan = ImagePlan.For(effective.Spec, []);
        Assert.Equal(
            KubeadmImages.List("1.23.0", "registry.aliyuncs.com/google_containers").Order(StringComparer.Ordinal),
            plan.ControlPlane.Concat(plan.Common).Select(i => i.ToString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("1.23.17", null, null, null, "docker", "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/", "https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/", "https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/x86_64/os/")]
    [InlineData("1.23.0", "el9", "arm64", "containerd", "containerd", "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-aarch64/", "https://mirrors.aliyun.com/docker-ce/linux/centos/9/aarch64/stable/", "https://mirrors.aliyun.com/rockylinux/9/BaseOS/aarch64/os/")]
    [InlineData("1.24.0", null, null, null, "containerd", "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.24/rpm/", "https://mirrors.aliyun.com/docker-ce/linux/centos/8/x86_64/stable/", "https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/x86_64/os/")]
    [InlineData("1.30.14", "el9", "amd64", null, "containerd", "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/rpm/", "https://mirrors.aliyun.com/docker-ce/linux/centos/9/x86_64/stable/", "https://mirrors.aliyun.com/rockylinux/9/BaseOS/x86_64/os/")]
    [InlineData("1.31.14", "el8", "arm64", "containerd", "containerd", "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/rpm/", "https://mirrors.aliyun.com/docker-ce/linux/centos/8/aarch64/stable/", "https://mirrors.aliyun.com/centos-vault/8.5.2111/BaseOS/aarch64/os/")]
    [InlineData("1.37.1", "el9", "arm64", null, "containerd", "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.37/rpm/", "https://mirrors.aliyun.com/docker-ce/linux/centos/9/aarch64/stable/", "https://mirrors.aliyun.com/rockylinux/9/BaseOS/aarch64/os/")]
    public void Each_version_os_arch_and_runtime_gets_its_repositories_and_pins(
        string version, string? os, string? arch, string? runtime, string expectedRuntime, string kube, string docker, string baseos)
    {
        var spec = SpecResolver.Resolve(version, null, os, arch, runtime);

        Assert.Equal(expectedRuntime, spec.Runtime.Name());
        Assert.Equal(os ?? "el8", spec.Target.OsName);
        Assert.Equal(arch ?? "amd64", spec.Target.ArchName);
        Assert.Equal(["kubernetes", "docker-ce-stable", "baseos", "appstream"], spec.Rpm.Repositories.Select(r => r.Name));
        Assert.Equal([kube, docker, baseos], spec.Rpm.Repositories.Take(3).Select(r => r.BaseUrl.AbsoluteUri));
        Assert.Equal(baseos.Replace("BaseOS", "AppStream", StringComparison.Ordinal), spec.Rpm.Repositories[3].BaseUrl.AbsoluteUri);
        Assert.Equal(["https://mirrors.aliyun.com/docker-ce/linux/centos/gpg"], spec.Rpm.Repositories[1].GpgKeys.Select(k => k.AbsoluteUri));
        Assert.All(spec.Rpm.Repositories, r => Assert.NotEmpty(r.GpgKeys));
        Assert.Equal([$"kubelet-{version}", $"kubeadm-{version}", $"kubectl-{version}"], spec.Rpm.Packages.Take(3));
        // The 1.23 line stays the guide's bundle; from 1.24 every bundle carries the HA load balancer too.
        string[] host = version.StartsWith("1.23.", StringComparison.Ordinal) ? ["chrony"] : ["chrony", "haproxy", "keepalived"];
        Assert.Equal(host, spec.Rpm.Packages.TakeLast(host.Length));
        if (expectedRuntime == "containerd")
        {
            Assert.Equal(["containerd.io", "cri-tools"], spec.Rpm.Packages.Skip(3).SkipLast(host.Length));
            Assert.Empty(spec.DockerDaemon);
        }
        else
        {
            Assert.Equal(["docker-ce-20.10.24", "docker-ce-cli-20.10.24", "containerd.io"], spec.Rpm.Packages.Skip(3).SkipLast(host.Length));
        }

        if (kube.Contains("kubernetes-new", StringComparison.Ordinal))
        {
            Assert.Equal([kube + "repodata/repomd.xml.key"], spec.Rpm.Repositories[0].GpgKeys.Select(k => k.AbsoluteUri));
        }

        var rocky = os == "el9";
        Assert.Equal(
            rocky ? "https://mirrors.aliyun.com/rockylinux/RPM-GPG-KEY-Rocky-9" : "https://mirrors.aliyun.com/centos/RPM-GPG-KEY-CentOS-Official",
            spec.Rpm.Repositories[2].GpgKeys.Single().AbsoluteUri);
    }

    [Theory]
    [InlineData("1.23.0", "kubeadm.k8s.io/v1beta3", "v3.25.2", "v0.6.3")]
    [InlineData("1.24.17", "kubeadm.k8s.io/v1beta3", "v3.26.5", "v0.6.4")]
    [InlineData("1.27.0", "kubeadm.k8s.io/v1beta3", "v3.28.5", "v0.7.2")]
    [InlineData("1.30.14", "kubeadm.k8s.io/v1beta3", "v3.29.7", "v0.7.2")]
    [InlineData("1.31.0", "kubeadm.k8s.io/v1beta4", "v3.30.7", "v0.8.1")]
    [InlineData("1.33.13", "kubeadm.k8s.io/v1beta4", "v3.31.7", "v0.8.1")]
    [InlineData("1.36.0", "kubeadm.k8s.io/v1beta4", "v3.32.1", "v0.9.0")]
    [InlineData("1.37.1", "kubeadm.k8s.io/v1beta4", "v3.32.1", "v0.9.0")]
    public void Config_api_and_addons_follow_the_minor(string version, string configApi, string calico, string metricsServer)
    {
        var effective = SpecResolver.ResolveEffective(version, null, "el9");

        Assert.Equal(configApi, effective.KubeadmConfigApi);
        var addons = effective.Spec.Addons.ToDictionary(a => a.Name);
        Assert.Equal(calico, addons["calico"].Version);
        Assert.Equal($"https://raw.githubusercontent.com/projectcalico/calico/{calico}/manifests/calico.yaml", addons["calico"].Url.AbsoluteUri);
        Assert.Equal(metricsServer, addons["metrics-server"].Version);
        Assert.Equal($"https://github.com/kubernetes-sigs/metrics-server/releases/download/{metricsServer}/components.yaml", addons["metrics-server"].Url.AbsoluteUri);
        Assert.Contains(addons["metrics-server"].Patches, p => p.Op == ManifestPatchOp.SetImage && p.Value.EndsWith(":" + metricsServer, StringComparison.Ordinal));
        Assert.Contains(addons["calico"].Patches, p => p.Name == "CALICO_IPV4POOL_CIDR" && p.Value == "${cluster.podSubnet}");
    }

    [Theory]
    [InlineData("1.24.0")]
    [InlineData("1.30.2")]
    [InlineData("1.37.1")]
    public void Docker_above_1_23_is_refused_with_the_reason(string version)
    {
        var e = Assert.Throws<BadInputException>(() => SpecResolver.Resolve(version, null, runtime: "docker"));

        Assert.Equal(ExitCode.BadInput, e.ExitCode);
        Assert.Contains("dockershim", e.Message, StringComparison.Ordinal);
        Assert.Contains("cri-dockerd", e.Message, StringComparison.Ordinal);
        Assert.Contains("--runtime containerd", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.23.18", "nearest supported is 1.23.17")]
    [InlineData("1.29.16", "nearest supported is 1.29.15")]
    [InlineData("1.37.2", "nearest supported is 1.37.1")]
    [InlineData("1.38.0", "nearest supported is 1.37.1")]
    [InlineData("1.22.17", "nearest supported is 1.23.0")]
    [InlineData("2.0.0", "nearest supported is 1.37.1")]
    public void A_version_that_does_not_exist_is_refused_naming_the_nearest_supported_one(string version, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => SpecResolver.Resolve(version, null));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCode.BadInput, e.ExitCode);
    }

    [Fact]
    public void An_os_without_base_repositories_in_the_catalog_is_refused()
    {
        var e = Assert.Throws<BadInputException>(() => SpecDerivation.Derive(new(1, 30, 2), TargetOs.El7));
        Assert.Contains("no base repositories", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown os 'el10'", Assert.Throws<BadInputException>(() => SpecResolver.Resolve("1.30.2", null, "el10")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.31.14", "el8", null)]
    [InlineData("1.32.0", "el8", "SystemVerification")]
    [InlineData("1.33.13", "el8", "SystemVerification")]
    [InlineData("1.33.13", "el9", null)]
    [InlineData("1.34.12", "el8", null)]
    [InlineData("1.35.0", "el8", "CgroupV1")]
    [InlineData("1.37.1", "el8", "CgroupV1")]
    [InlineData("1.37.1", "el9", null)]
    public void Host_limits_come_with_the_spec_of_their_os_and_minors(string version, string os, string? check)
    {
        var limits = SpecResolver.ResolveEffective(version, null, os).HostLimits;

        Assert.Equal(check is null ? [] : [check], limits.Select(l => l.Check));
    }

    [Fact]
    public void A_containerd_bundle_carries_kubeadms_pause_image_under_exactly_that_name_and_crictl()
    {
        var spec = Derive("1.31.14", TargetOs.El8, TargetArch.Arm64, ContainerRuntime.Containerd);
        var pause = KubeadmImages.List("1.31.14", spec.ImageRepository).Single(i => i.Contains("/pause:", StringComparison.Ordinal));

        Assert.Equal("registry.aliyuncs.com/google_containers/pause:3.10", pause);
        Assert.Contains(pause, ImagePlan.For(spec, []).Common.Select(i => i.ToString()));
        Assert.Contains("cri-tools", spec.Rpm.Packages);
    }

    [Theory]
    [InlineData("1.23.0", TargetOs.El8)]
    [InlineData("1.31.2", TargetOs.El9)]
    public void With_depot_the_spec_adds_nginx_and_the_registry_image_once_and_loads_back_unchanged(string version, TargetOs os)
    {
        var plain = SpecDerivation.Derive(KubernetesVersion.Parse(version), os, null, null);
        var depot = SpecDerivation.With(plain, ["depot"]);

        Assert.Equal([.. plain.Spec.Rpm.Packages, "nginx"], depot.Spec.Rpm.Packages);
        var registry = ImageReference.Parse("docker.io/library/registry:2.8.3");
        Assert.Equal([registry], depot.Spec.Images);
        var plan = ImagePlan.For(depot.Spec, []);
        Assert.Contains(registry, plan.Common);
        Assert.DoesNotContain(registry, plan.ControlPlane);
        Assert.DoesNotContain(registry, ImagePlan.For(plain.Spec, []).Common);

        // Asked twice, still once each; and `spec` YAML carries the images back.
        Assert.Equal(BundleSpecWriter.ToYaml(depot.Spec), BundleSpecWriter.ToYaml(SpecDerivation.With(depot, ["depot", "depot"]).Spec));
        var yaml = BundleSpecWriter.ToYaml(depot.Spec);
        Assert.Contains("images:", yaml, StringComparison.Ordinal);
        Assert.Equal(yaml, BundleSpecWriter.ToYaml(BundleSpecLoader.Parse(yaml, "depot.yaml")));
    }

    [Fact]
    public void With_load_balancer_a_1_23_bundle_carries_haproxy_and_keepalived_which_later_ones_carry_already()
    {
        var guide = SpecDerivation.Derive(KubernetesVersion.Parse("1.23.0"), null, null, null);
        Assert.DoesNotContain("haproxy", guide.Spec.Rpm.Packages);
        Assert.Equal([.. guide.Spec.Rpm.Packages, "haproxy", "keepalived"], SpecDerivation.With(guide, ["load-balancer"]).Spec.Rpm.Packages);

        var current = SpecDerivation.Derive(KubernetesVersion.Parse("1.24.0"), null, null, null);
        Assert.Equal(current.Spec.Rpm.Packages, SpecDerivation.With(current, ["load-balancer"]).Spec.Rpm.Packages);
        Assert.Throws<BadInputException>(() => SpecDerivation.With(current, ["nginx"]));
    }

    [Theory]
    [InlineData("images: ['Registry Image']", "is not an image reference")]
    [InlineData("images: [registry]", "in full, registry and tag, as the bundle names it: docker.io/library/registry:latest")]
    [InlineData("images: [docker.io/library/registry:2.8.3, docker.io/library/registry:2.8.3]", "is listed twice")]
    public void A_specs_images_must_be_references_each_once(string line, string message)
    {
        var yaml = BundleSpecWriter.ToYaml(Derive("1.23.0")) + line + "\n";
        var e = Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse(yaml, "bad.yaml"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_minor_derives_for_every_os_arch_and_runtime_it_allows_and_loads_back_unchanged()
    {
        var count = 0;
        foreach (var minor in ReleaseCatalog.Embedded.Minors)
        {
            var last = VersionCatalog.Embedded.Releases.Single(r => r.Minor == minor.Minor).Last;
            foreach (var os in new[] { TargetOs.El8, TargetOs.El9 })
            {
                foreach (var arch in new[] { TargetArch.Amd64, TargetArch.Arm64 })
                {
                    foreach (var runtime in minor.Runtimes)
                    {
                        var spec = SpecDerivation.Derive(last, os, arch, runtime).Spec;
                        var yaml = BundleSpecWriter.ToYaml(spec);
                        Assert.Equal(yaml, BundleSpecWriter.ToYaml(BundleSpecLoader.Parse(yaml, "shown.yaml")));
                        Assert.DoesNotContain("$", string.Join(' ', spec.Rpm.Repositories.SelectMany(r => r.GpgKeys.Append(r.BaseUrl))), StringComparison.Ordinal);
                        Assert.DoesNotContain(arch == TargetArch.Arm64 ? "x86_64" : "aarch64", yaml, StringComparison.Ordinal);
                        count++;
                    }
                }
            }
        }

        // 15 minors x 2 OS x 2 arches, 1.23 with both runtimes.
        Assert.Equal(64, count);
    }

    [Fact]
    public void The_catalogs_cover_the_same_minors()
    {
        Assert.Equal(
            VersionCatalog.Embedded.Releases.Select(r => $"{r.Major}.{r.Minor}"),
            ReleaseCatalog.Embedded.Minors.Select(m => m.Name));
        Assert.All(ReleaseCatalog.Embedded.Minors, m => Assert.NotEmpty(m.Runtimes));
    }

    [Fact]
    public void Embedded_catalog_equals_the_file_in_the_repository()
    {
        var file = Path.Combine(KubeadmCatalogTests.RepoRoot(), "manifests", "version-catalog.yaml");
        var fromFile = ReleaseCatalog.Parse(File.ReadAllText(file), file);

        Assert.Equal(fromFile.Revision, ReleaseCatalog.Embedded.Revision);
        Assert.Equal(fromFile.Minors.Select(m => m.ToString()), ReleaseCatalog.Embedded.Minors.Select(m => m.ToString()));
    }

    [Theory]
    [InlineData("catalogRevision: \"2026.12.04-1\"\n", "catalogRevision: \"2026.12.04-1\"\nbogus: 1\n", "unknown key 'bogus'")]
    [InlineData("    kubernetesRepository: per-minor                          # C2\n", "    kubernetesRepository: pkgs                          # C2\n", "no kubernetesRepositories entry 'pkgs'")]
    [InlineData("    kubeadmConfigApi: kubeadm.k8s.io/v1beta3                 # C7\n    addons:\n      calico: v3.26.5", "    kubeadmConfigApi: kubeadm.k8s.io/v1beta2                 # C7\n    addons:\n      calico: v3.26.5", "not a kubeadm config API")]
    [InlineData("      metrics-server: v0.6.4                                 # C6 (0.6.x: 1.19+ at the time)\n", "", "missing required field 'metrics-server'")]
    [InlineData("      metrics-server: v0.6.4                                 # C6 (0.6.x: 1.19+ at the time)\n", "      metrics-server: v0.6.4\n      flannel: v0.1\n", "unknown key 'flannel'")]
    [InlineData("  - minor: \"1.25\"", "  - minor: \"1.26\"", "minors must be consecutive")]
    [InlineData("    minors: 1.32-1.33", "    minors: 1.33-1.32", "must be a range of minors")]
    [InlineData("    runtimes: [containerd]\n", "    runtimes: [cri-o]\n", "unknown runtime 'cri-o'")]
    public void A_broken_catalog_is_an_error_naming_file_and_line(string good, string bad, string expected)
    {
        var text = File.ReadAllText(Path.Combine(KubeadmCatalogTests.RepoRoot(), "manifests", "version-catalog.yaml"));
        Assert.Contains(good, text, StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => ReleaseCatalog.Parse(ReplaceFirst(text, good, bad), "c.yaml"));
        Assert.StartsWith("c.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Minor_is_a_variable_of_the_catalog_only_not_of_a_spec_file()
    {
        Assert.Equal(
            "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/rpm/",
            Derive("1.30.2").Rpm.Repositories[0].BaseUrl.AbsoluteUri);
        var text = BundleSpecWriter.ToYaml(Derive("1.30.2")).Replace("v1.30/rpm/", "v$minor/rpm/", StringComparison.Ordinal);

        var e = Assert.Throws<BadInputException>(() => BundleSpecLoader.Parse(text, "my.yaml"));
        Assert.Contains("is not an absolute http:// or https:// URL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pin_matches_exactly_one_version_among_pkgs_k8s_io_releases()
    {
        var repo = Repo(
            "kubernetes",
            Pkg("kubelet-1.30.2-150500.1.1.x86_64"),
            Pkg("kubelet-1.30.20-150500.1.1.x86_64"),
            Pkg("kubelet-1.30.12-150500.1.1.x86_64"));

        var result = new RpmResolver([repo]).Resolve(["kubelet-1.30.2"]);

        Assert.Equal(["kubelet-0:1.30.2-150500.1.1.x86_64"], result.Nevras);
    }

    [Theory]
    [InlineData("1.31.14", "containerd.io-1.7.20-3.1.el8.x86_64", null)]
    [InlineData("1.31.14", "containerd.io-1.6.34-3.1.el8.x86_64", null)]
    [InlineData("1.31.14", "containerd.io-1.6.20-3.1.el8.x86_64", "containerd.io 1.6.20 (docker-ce-stable) is older than containerd's Kubernetes support table recommends for 1.31 (1.6.34 or newer)")]
    [InlineData("1.35.0", "containerd.io-1.7.27-3.1.el9.x86_64", "recommends for 1.35 (1.7.28 or newer)")]
    [InlineData("1.35.0", "containerd.io-2.1.5-1.el9.x86_64", null)]
    [InlineData("1.36.5", "containerd.io-1.7.30-1.el9.x86_64", "recommends for 1.36 (2.2.0 or newer)")]
    [InlineData("1.37.1", "containerd.io-2.2.1-1.el9.x86_64", null)]
    public void A_containerd_older_than_the_minor_is_recommended_is_a_warning(string version, string containerd, string? error)
    {
        var spec = Derive(version, TargetOs.El8, TargetArch.Amd64, ContainerRuntime.Containerd);
        RpmPackage[] carried = [Pkg(containerd, repo: "docker-ce-stable"), Pkg("cri-tools-1.31.1-150500.1.1.x86_64", repo: "kubernetes")];

        var warnings = RuntimeRequirement.Check(spec, carried);

        // containerd's table is what it recommends (tests): an older one is built, with a warning.
        Assert.Equal(error is null ? 0 : 1, warnings.Count);
        if (error is not null)
        {
            Assert.Contains(error, warnings[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_containerd_bundle_without_crictl_or_containerd_is_refused_and_docker_bundles_are_not_checked()
    {
        var spec = Derive("1.30.2", TargetOs.El9, TargetArch.Amd64, ContainerRuntime.Containerd);

        Assert.Contains("cri-tools (crictl)", Assert.Throws<OperationFailedException>(() => RuntimeRequirement.Check(spec, [Pkg("containerd.io-1.7.20-3.1.el9.x86_64")])).Message, StringComparison.Ordinal);
        Assert.Contains("must carry containerd.io", Assert.Throws<OperationFailedException>(() => RuntimeRequirement.Check(spec, [Pkg("cri-tools-1.30.1-150500.1.1.x86_64")])).Message, StringComparison.Ordinal);
        Assert.Empty(RuntimeRequirement.Check(Derive("1.23.0"), [Pkg("containerd.io-1.6.20-3.1.el8.x86_64")]));
    }

    private static string ReplaceFirst(string text, string old, string replacement)
    {
        var i = text.IndexOf(old, StringComparison.Ordinal);
        return text[..i] + replacement + text[(i + old.Length)..];
    }
}

public class SpecShowTests
{
    [Theory]
    [InlineData("1.23.0")]
    [InlineData("1.23.0", "--os", "el9", "--arch", "arm64", "--runtime", "containerd")]
    [InlineData("1.30.14", "--os", "el9")]
    [InlineData("1.31.14", "--os", "el8", "--arch", "arm64")]
    [InlineData("1.37.1", "--arch", "arm64", "--runtime", "containerd")]
    public async Task Spec_show_prints_yaml_that_spec_loads_back_unchanged(string version, params string[] flags)
    {
        var (code, stdout, _) = await CliRunner.RunAsync(["spec", "show", "--k8s", version, .. flags]);
        Assert.Equal(0, code);

        using var dir = new TempDir();
        var file = dir.Write("shown.yaml", stdout);
        var loaded = BundleSpecLoader.LoadFile(file);
        var derived = SpecResolver.Resolve(version, null, Flag(flags, "--os"), Flag(flags, "--arch"), Flag(flags, "--runtime"));
        Assert.Equal(BundleSpecWriter.ToYaml(derived), BundleSpecWriter.ToYaml(loaded));
        Assert.Equal(derived.CatalogRevision, loaded.CatalogRevision);

        // And showing the shown file prints the same spec again.
        var (again, stdout2, _) = await CliRunner.RunAsync(["spec", "show", "--spec", file]);
        Assert.Equal(0, again);
        Assert.Equal(Body(stdout), Body(stdout2));
    }

    [Fact]
    public async Task Spec_show_warns_about_host_limits_on_stderr_and_refuses_docker_above_1_23()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync(["spec", "show", "--k8s", "1.32.4"]);
        Assert.Equal(0, code);
        Assert.Contains("warning: Kubernetes 1.32.4 on el8 (SystemVerification)", stderr, StringComparison.Ordinal);
        Assert.Contains("# kubeadm config API: kubeadm.k8s.io/v1beta4", stdout, StringComparison.Ordinal);

        var (refused, outRefused, errRefused) = await CliRunner.RunAsync(["spec", "show", "--k8s", "1.25.3", "--runtime", "docker"]);
        Assert.Equal(2, refused);
        Assert.Equal(string.Empty, outRefused);
        Assert.Contains("dockershim", errRefused, StringComparison.Ordinal);
    }

    private static string? Flag(string[] flags, string name)
    {
        var i = Array.IndexOf(flags, name);
        return i < 0 ? null : flags[i + 1];
    }

    private static string Body(string shown) => string.Join('\n', shown.Split('\n').Where(l => !l.StartsWith('#')));
}
