using System.Net;
using OfflineKit.Manifests;
using OfflineKit.Spec;

namespace OfflineKit.Tests.Manifests;

public class ImageExtractorTests
{
    [Theory]
    [InlineData(Fixtures.Calico3245, "v3.24.5")]
    [InlineData(Fixtures.Calico3252, "v3.25.2")]
    [InlineData(Fixtures.Calico3265, "v3.26.5")]
    public void Calico_runs_its_cni_node_and_kube_controllers_images(string fixture, string version) =>
        Assert.Equal(
            [$"docker.io/calico/cni:{version}", $"docker.io/calico/kube-controllers:{version}", $"docker.io/calico/node:{version}"],
            ImageExtractor.Extract(Fixtures.Parse(fixture)).Select(i => i.ToString()));

    [Fact]
    public void Metrics_server_runs_one_image_and_after_the_patch_it_is_the_aliyun_one()
    {
        var manifest = Fixtures.Parse(Fixtures.MetricsServer);
        Assert.Equal(["registry.k8s.io/metrics-server/metrics-server:v0.6.3"], ImageExtractor.Extract(manifest).Select(i => i.ToString()));

        var cluster = new ClusterDefaults(IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.96.0.0/12"), "cluster.local");
        ManifestPatcher.Apply(manifest, "metrics-server", Fixtures.Addon("metrics-server").Patches, cluster);

        Assert.Equal(
            ["registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3"],
            ImageExtractor.Extract(YamlManifest.Parse(manifest.ToYaml(), "patched")).Select(i => i.ToString()));
    }

    [Fact]
    public void Every_workload_kind_and_container_list_is_read_and_images_are_fully_qualified()
    {
        const string Digest = "sha256:4a7e2fba1e5b5b8a0e2c4b1f3b2a6c1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b";
        var manifest = YamlManifest.Parse(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: pod}
            spec:
              initContainers: [{name: i, image: "busybox"}]
              containers: [{name: c, image: pod-app}]
              ephemeralContainers: [{name: debug, image: "nicolaka/netshoot:v0.11"}]
            ---
            kind: Deployment
            spec: {template: {spec: {containers: [{name: c, image: "registry.k8s.io/deploy:1"}]}}}
            ---
            kind: DaemonSet
            spec: {template: {spec: {containers: [{name: c, image: "quay.io/ds/app@DIGEST"}]}}}
            ---
            kind: StatefulSet
            spec: {template: {spec: {containers: [{name: c, image: "localhost:5000/sts:2"}]}}}
            ---
            kind: ReplicaSet
            spec: {template: {spec: {containers: [{name: c, image: rs:3}]}}}
            ---
            kind: ReplicationController
            spec: {template: {spec: {containers: [{name: c, image: rc:4}]}}}
            ---
            kind: Job
            spec: {template: {spec: {containers: [{name: c, image: "job:5@DIGEST"}]}}}
            ---
            kind: CronJob
            spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: cron:6}]}}}}}
            ---
            kind: PodTemplate
            template: {spec: {containers: [{name: c, image: podtemplate:7}]}}
            ---
            apiVersion: v1
            kind: List
            items:
              - kind: Deployment
                spec: {template: {spec: {containers: [{name: c, image: listed:8}]}}}
              - kind: List
                items: [{kind: Pod, spec: {containers: [{name: c, image: nested:9}]}}]
            ---
            kind: DeploymentList
            items: [{kind: Deployment, spec: {template: {spec: {containers: [{name: c, image: typed-list:10}]}}}}]
            ---
            # Not workloads: an image named in data, or under a kind that holds no pod spec, is no image to carry.
            kind: ConfigMap
            data: {image: "configmap:0", spec: "containers"}
            ---
            kind: Service
            spec: {template: {spec: {containers: [{name: c, image: "service:0"}]}}}
            ---
            kind: Deployment
            spec: {template: {spec: {containers: [{name: c, image: "registry.k8s.io/deploy:1"}]}}}
            ---
            """.Replace("DIGEST", Digest, StringComparison.Ordinal),
            "kinds.yaml");

        Assert.Equal(
            [
                "docker.io/library/busybox:latest",
                "docker.io/library/cron:6",
                "docker.io/library/job:5@" + Digest,
                "docker.io/library/listed:8",
                "docker.io/library/nested:9",
                "docker.io/library/pod-app:latest",
                "docker.io/library/podtemplate:7",
                "docker.io/library/rc:4",
                "docker.io/library/rs:3",
                "docker.io/library/typed-list:10",
                "docker.io/nicolaka/netshoot:v0.11",
                "localhost:5000/sts:2",
                "quay.io/ds/app@" + Digest,
                "registry.k8s.io/deploy:1",
            ],
            ImageExtractor.Extract(manifest).Select(i => i.ToString()));
    }

    [Fact]
    public void An_invalid_image_is_an_error_naming_where_it_is()
    {
        var manifest = YamlManifest.Parse(
            "kind: Deployment\nmetadata: {name: d, namespace: ns}\nspec: {template: {spec: {containers: [{name: app, image: Bad/Image}]}}}\n",
            "https://example.invalid/m.yaml");

        var e = Assert.Throws<OperationFailedException>(() => ImageExtractor.Extract(manifest));

        Assert.StartsWith("https://example.invalid/m.yaml:3: Deployment ns/d (document 1) containers[0] 'app': 'Bad/Image' is not a valid image reference", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_container_without_an_image_is_an_error_rather_than_a_missing_image_at_install_time()
    {
        var manifest = YamlManifest.Parse("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n", "m.yaml");

        var e = Assert.Throws<OperationFailedException>(() => ImageExtractor.Extract(manifest));

        Assert.Equal("m.yaml:5: Pod p (document 1) containers[0] 'app' has no image", e.Message);
    }
}
