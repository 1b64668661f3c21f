using System.Net;
using System.Text;
using OfflineKit.Manifests;
using OfflineKit.Spec;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OfflineKit.Tests.Manifests;

public class ManifestPatcherTests
{
    private static readonly ClusterDefaults Cluster = new(IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("10.96.0.0/12"), "cluster.local");

    public static TheoryData<string> AllFixtures => [Fixtures.Calico3245, Fixtures.Calico3252, Fixtures.Calico3265, Fixtures.MetricsServer];

    public static TheoryData<string> CalicoFixtures => [Fixtures.Calico3245, Fixtures.Calico3252, Fixtures.Calico3265];

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public void Writing_back_an_unpatched_manifest_changes_no_document_key_or_scalar(string fixture)
    {
        var original = Encoding.UTF8.GetString(Fixtures.Bytes(fixture));

        var written = Fixtures.Parse(fixture).ToYaml();

        Assert.Empty(YamlDiff.Compare(original, written));

        // And writing is a fixed point: what it writes, it writes again byte for byte.
        Assert.Equal(written, YamlManifest.Parse(written, "again").ToYaml());
    }

    [Theory]
    [MemberData(nameof(CalicoFixtures))]
    public void Calico_gets_the_pod_subnet_added_to_calico_node_and_nothing_else_changes(string fixture)
    {
        var original = Encoding.UTF8.GetString(Fixtures.Bytes(fixture));
        var before = YamlDiff.Load(original);
        var (doc, index) = FindContainer(before, "DaemonSet", "calico-node", "calico-node");
        var envBefore = (YamlSequenceNode)ContainerAt(before, doc, index).At("env")!;

        // Upstream ships the variable commented out: it is absent from the parsed env.
        Assert.DoesNotContain(envBefore.Children, e => e.At("name").Text() == "CALICO_IPV4POOL_CIDR");

        var manifest = Fixtures.Parse(fixture);
        var changes = ManifestPatcher.Apply(manifest, "calico", Fixtures.Addon("calico").Patches, Cluster);
        var patched = manifest.ToYaml();
        var after = YamlDiff.Load(patched);

        var change = Assert.Single(changes);
        Assert.Contains("CALICO_IPV4POOL_CIDR = '10.244.0.0/16' (added)", change.Description, StringComparison.Ordinal);
        Assert.Equal(before.Documents.Count, after.Documents.Count);

        var env = (YamlSequenceNode)ContainerAt(after, doc, index).At("env")!;
        var cidr = Assert.Single(env.Children, e => e.At("name").Text() == "CALICO_IPV4POOL_CIDR");
        Assert.Equal("10.244.0.0/16", cidr.At("value").Text());
        Assert.Equal(2, ((YamlMappingNode)cidr).Children.Count);

        // The one difference in the whole stream is the added env entry.
        Assert.Equal(
            [$"doc[{doc}]/spec/template/spec/containers[{index}]/env: {envBefore.Children.Count} items vs {envBefore.Children.Count + 1}"],
            YamlDiff.Compare(before, after));
        Assert.Same(cidr, env.Children[^1]);
    }

    [Theory]
    [MemberData(nameof(CalicoFixtures))]
    public void Calicos_embedded_cni_json_and_crd_schemas_survive_to_the_character(string fixture)
    {
        var before = YamlDiff.Load(Encoding.UTF8.GetString(Fixtures.Bytes(fixture)));
        var manifest = Fixtures.Parse(fixture);
        ManifestPatcher.Apply(manifest, "calico", Fixtures.Addon("calico").Patches, Cluster);
        var after = YamlDiff.Load(manifest.ToYaml());

        var config = Document(before, "ConfigMap", "calico-config").At("data", "cni_network_config")!;
        var configAfter = Document(after, "ConfigMap", "calico-config").At("data", "cni_network_config")!;
        Assert.Equal(config.Text(), configAfter.Text());
        Assert.Contains("\"mtu\": __CNI_MTU__,", configAfter.Text(), StringComparison.Ordinal);
        Assert.Equal(ScalarStyle.Literal, ((YamlScalarNode)configAfter).Style);

        var crds = before.Documents.Where(d => d.RootNode.At("kind").Text() == "CustomResourceDefinition").ToList();
        Assert.True(crds.Count > 10, $"expected Calico's CRDs, found {crds.Count}");
        foreach (var crd in crds)
        {
            var name = crd.RootNode.At("metadata", "name").Text()!;
            var schema = crd.RootNode.At("spec", "versions");
            var schemaAfter = Document(after, "CustomResourceDefinition", name).At("spec", "versions");
            Assert.Equal(Serialize(schema!), Serialize(schemaAfter!));
        }
    }

    [Fact]
    public void Metrics_server_gets_the_insecure_tls_arg_once_and_the_aliyun_image()
    {
        var before = YamlDiff.Load(Encoding.UTF8.GetString(Fixtures.Bytes(Fixtures.MetricsServer)));
        var (doc, index) = FindContainer(before, "Deployment", "metrics-server", "metrics-server");
        var argsBefore = ((YamlSequenceNode)ContainerAt(before, doc, index).At("args")!).Children.Select(a => a.Text()).ToList();

        var manifest = Fixtures.Parse(Fixtures.MetricsServer);
        var changes = ManifestPatcher.Apply(manifest, "metrics-server", Fixtures.Addon("metrics-server").Patches, Cluster);
        var after = YamlDiff.Load(manifest.ToYaml());

        Assert.Equal(2, changes.Count);
        var container = ContainerAt(after, doc, index);
        var args = ((YamlSequenceNode)container.At("args")!).Children.Select(a => a.Text()).ToList();
        Assert.Equal([.. argsBefore, "--kubelet-insecure-tls"], args);
        Assert.Single(args, a => a == "--kubelet-insecure-tls");
        Assert.Equal("registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3", container.At("image").Text());

        var path = $"doc[{doc}]/spec/template/spec/containers[{index}]";
        Assert.Equal(
            [
                $"{path}/args: {argsBefore.Count} items vs {argsBefore.Count + 1}",
                $"{path}/image: Plain 'registry.k8s.io/metrics-server/metrics-server:v0.6.3' vs Plain 'registry.cn-hangzhou.aliyuncs.com/google_containers/metrics-server:v0.6.3'",
            ],
            YamlDiff.Compare(before, after));
    }

    [Theory]
    [InlineData(Fixtures.Calico3252, "calico")]
    [InlineData(Fixtures.MetricsServer, "metrics-server")]
    public void Patching_a_patched_manifest_again_changes_nothing(string fixture, string addon)
    {
        var manifest = Fixtures.Parse(fixture);
        ManifestPatcher.Apply(manifest, addon, Fixtures.Addon(addon).Patches, Cluster);
        var once = manifest.ToYaml();

        var again = YamlManifest.Parse(once, "once");
        var changes = ManifestPatcher.Apply(again, addon, Fixtures.Addon(addon).Patches, Cluster);

        Assert.Empty(changes);
        Assert.Equal(once, again.ToYaml());
    }

    [Fact]
    public void Set_env_replaces_an_existing_value_in_place_keeping_its_quotes()
    {
        var before = YamlDiff.Load(Encoding.UTF8.GetString(Fixtures.Bytes(Fixtures.Calico3252)));
        var (doc, index) = FindContainer(before, "DaemonSet", "calico-node", "calico-node");
        var envBefore = (YamlSequenceNode)ContainerAt(before, doc, index).At("env")!;
        var at = envBefore.Children.ToList().FindIndex(e => e.At("name").Text() == "CALICO_IPV4POOL_IPIP");
        Assert.Equal(ScalarStyle.DoubleQuoted, ((YamlScalarNode)envBefore.Children[at].At("value")!).Style);

        var manifest = Fixtures.Parse(Fixtures.Calico3252);
        ManifestPatcher.Apply(manifest, "calico", [new ManifestPatch(ManifestPatchOp.SetEnv, "calico-node", "CALICO_IPV4POOL_IPIP", "Never")], Cluster);
        var after = YamlDiff.Load(manifest.ToYaml());

        Assert.Equal(
            [$"doc[{doc}]/spec/template/spec/containers[{index}]/env[{at}]/value: DoubleQuoted 'Always' vs DoubleQuoted 'Never'"],
            YamlDiff.Compare(before, after));
    }

    [Fact]
    public void Set_env_turns_a_value_from_into_the_value_asked_for()
    {
        var manifest = YamlManifest.Parse(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers:
                - name: app
                  image: app:1
                  env:
                    - name: NODENAME
                      valueFrom:
                        fieldRef: {fieldPath: spec.nodeName}
            """,
            "pod.yaml");

        ManifestPatcher.Apply(manifest, "a", [new ManifestPatch(ManifestPatchOp.SetEnv, "app", "NODENAME", "n1")], Cluster);

        var env = YamlDiff.Load(manifest.ToYaml()).Documents[0].RootNode.At("spec")!.At("containers") as YamlSequenceNode;
        var entry = (YamlMappingNode)((YamlSequenceNode)env![0].At("env")!).Children.Single();
        Assert.Equal(["name", "value"], entry.Children.Keys.Select(k => k.Text()));
        Assert.Equal("n1", entry.At("value").Text());
    }

    [Fact]
    public void Env_and_args_are_created_where_a_container_has_none_and_init_containers_are_patched_too()
    {
        var manifest = YamlManifest.Parse(
            """
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: c, namespace: ns}
            spec:
              schedule: "*/5 * * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      initContainers:
                        - name: init
                          image: busybox
                      containers:
                        - name: app
                          image: app:1
            """,
            "cron.yaml");

        var changes = ManifestPatcher.Apply(
            manifest,
            "a",
            [
                new ManifestPatch(ManifestPatchOp.SetEnv, "app", "DOMAIN", "${cluster.dnsDomain}"),
                new ManifestPatch(ManifestPatchOp.AddArg, "app", null, "--services=${cluster.serviceSubnet}"),
                new ManifestPatch(ManifestPatchOp.SetImage, "init", null, "busybox:1.36"),
            ],
            Cluster);

        Assert.Equal(3, changes.Count);
        var spec = YamlDiff.Load(manifest.ToYaml()).Documents[0].RootNode.At("spec", "jobTemplate", "spec", "template", "spec")!;
        var app = ((YamlSequenceNode)spec.At("containers")!).Children[0];
        Assert.Equal("cluster.local", ((YamlSequenceNode)app.At("env")!).Children[0].At("value").Text());
        Assert.Equal(["--services=10.96.0.0/12"], ((YamlSequenceNode)app.At("args")!).Children.Select(a => a.Text()));
        Assert.Equal("busybox:1.36", ((YamlSequenceNode)spec.At("initContainers")!).Children[0].At("image").Text());
        Assert.Contains("CronJob ns/c (document 1) containers[0] 'app'", changes[0].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    [InlineData("on")]
    [InlineData("off")]
    [InlineData("y")]
    [InlineData("true")]
    [InlineData("False")]
    [InlineData("1.10")]
    [InlineData("0755")]
    [InlineData("1500")]
    [InlineData("-1")]
    [InlineData("0x1F")]
    [InlineData("1e3")]
    [InlineData("1_000")]
    [InlineData("1:30")]
    [InlineData(".inf")]
    [InlineData("~")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("*")]
    [InlineData("&a")]
    [InlineData("- x")]
    [InlineData("a: b")]
    [InlineData("x #y")]
    [InlineData("2001-12-14")]
    [InlineData("<<")]
    [InlineData(" lead")]
    [InlineData("{json: 1}")]
    public void New_values_that_a_yaml_reader_would_not_read_as_strings_are_written_quoted(string value)
    {
        var manifest = YamlManifest.Parse("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n      image: app:1\n", "pod.yaml");

        ManifestPatcher.Apply(manifest, "a", [new ManifestPatch(ManifestPatchOp.SetEnv, "app", "V", value), new ManifestPatch(ManifestPatchOp.AddArg, "app", null, value)], Cluster);

        var container = ((YamlSequenceNode)YamlDiff.Load(manifest.ToYaml()).Documents[0].RootNode.At("spec", "containers")!).Children[0];
        var env = (YamlScalarNode)((YamlSequenceNode)container.At("env")!).Children[0].At("value")!;
        var arg = (YamlScalarNode)((YamlSequenceNode)container.At("args")!).Children[0];
        foreach (var scalar in new[] { env, arg })
        {
            Assert.Equal(value, scalar.Value);
            Assert.NotEqual(ScalarStyle.Plain, scalar.Style);
        }
    }

    [Theory]
    [InlineData("10.244.0.0/16")]
    [InlineData("--kubelet-insecure-tls")]
    [InlineData("registry.k8s.io/pause:3.6")]
    [InlineData("yes please")]
    [InlineData("v1.10")]
    public void Ordinary_strings_stay_plain(string value)
    {
        Assert.False(YamlScalars.PlainWouldNotBeString(value));
        Assert.Equal(ScalarStyle.Plain, YamlScalars.Text(value).Style);
    }

    [Fact]
    public void Scalars_of_the_source_keep_their_style_and_type_whatever_their_text()
    {
        const string source = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: tricky}
            data:
              q1: "yes"
              q2: 'no'
              q3: "on"
              q4: 'off'
              q5: "true"
              q6: "1.10"
              q7: "0755"
              q8: "1e3"
              q9: "~"
              q10: "null"
              q11: "*"
              q12: ''
              json: '{"a": [1, 2], "b": "c: d"}'
              block: |
                line one
                  indented: yes
            plain:
              p1: yes
              p2: on
              p3: 1.10
              p4: 0755
              p5: 1e3
              p6: ~
              p7: null
              p8:
            anchors:
              a: &shared {x: "1"}
              b: *shared
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers:
                - name: app
                  image: app:1
            """;
        var manifest = YamlManifest.Parse(source, "tricky.yaml");

        ManifestPatcher.Apply(manifest, "a", [new ManifestPatch(ManifestPatchOp.AddArg, "app", null, "--x")], Cluster);
        var written = manifest.ToYaml();

        Assert.Equal(["doc[1]/spec/containers[0]: keys [name, image] vs [name, image, args]"], YamlDiff.Compare(source, written));
        foreach (var quoted in new[] { "\"yes\"", "'no'", "\"on\"", "'off'", "\"true\"", "\"1.10\"", "\"0755\"", "\"1e3\"", "\"~\"", "\"null\"", "\"*\"" })
        {
            Assert.Contains(": " + quoted + "\n", written, StringComparison.Ordinal);
        }

        Assert.Contains("p1: yes\n", written, StringComparison.Ordinal);
        Assert.Contains("p4: 0755\n", written, StringComparison.Ordinal);
        Assert.Contains("a: &shared", written, StringComparison.Ordinal);
        Assert.Contains("b: *shared", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ManifestPatchOp.SetEnv, "calico-nodes", "CALICO_IPV4POOL_CIDR", "set-env CALICO_IPV4POOL_CIDR on container 'calico-nodes'")]
    [InlineData(ManifestPatchOp.AddArg, "kube-controller", null, "add-arg --x on container 'kube-controller'")]
    [InlineData(ManifestPatchOp.SetImage, "node", null, "set-image --x on container 'node'")]
    public void A_patch_for_a_container_that_no_workload_has_is_a_spec_error(ManifestPatchOp op, string container, string? name, string described)
    {
        var manifest = Fixtures.Parse(Fixtures.Calico3252);

        var e = Assert.Throws<BadInputException>(() =>
            ManifestPatcher.Apply(manifest, "calico", [new ManifestPatch(op, container, name, "--x")], Cluster));

        Assert.StartsWith($"addon calico: patch {described}: no container named '{container}' in any workload of {Fixtures.Calico3252}", e.Message, StringComparison.Ordinal);
        Assert.Contains("containers there: calico-kube-controllers, calico-node, install-cni, mount-bpffs, upgrade-ipam", e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCode.BadInput, e.ExitCode);
    }

    [Fact]
    public void A_set_image_that_is_not_an_image_reference_is_a_spec_error()
    {
        var manifest = Fixtures.Parse(Fixtures.MetricsServer);

        var e = Assert.Throws<BadInputException>(() =>
            ManifestPatcher.Apply(manifest, "metrics-server", [new ManifestPatch(ManifestPatchOp.SetImage, "metrics-server", null, "Registry/Metrics-Server")], Cluster));

        Assert.Contains("addon metrics-server: patch set-image Registry/Metrics-Server on container 'metrics-server'", e.Message, StringComparison.Ordinal);
        Assert.Contains("must be lowercase", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_private_registry_takes_every_image_and_nothing_else_changes()
    {
        var before = YamlDiff.Load(Encoding.UTF8.GetString(Fixtures.Bytes(Fixtures.Calico3252)));
        var manifest = Fixtures.Parse(Fixtures.Calico3252);

        var changes = ManifestPatcher.RewriteRegistry(manifest, "reg.local:5000");
        var differences = YamlDiff.Compare(before, YamlDiff.Load(manifest.ToYaml()));

        Assert.Equal(5, changes.Count);
        Assert.Equal(5, differences.Count);
        Assert.All(differences, d => Assert.Matches(@"(?:c|initC)ontainers\[\d+\]/image: Plain 'docker\.io/calico/(cni|node|kube-controllers):v3\.25\.2' vs Plain 'reg\.local:5000/calico/\1:v3\.25\.2'$", d));
        Assert.Equal(
            ["reg.local:5000/calico/cni:v3.25.2", "reg.local:5000/calico/kube-controllers:v3.25.2", "reg.local:5000/calico/node:v3.25.2"],
            ImageExtractor.Extract(manifest).Select(i => i.ToString()));
    }

    [Theory]
    [InlineData("http://reg.local")]
    [InlineData("reg.local/path")]
    public void A_private_registry_must_be_a_host(string registry)
    {
        var e = Assert.Throws<BadInputException>(() => ManifestPatcher.RewriteRegistry(Fixtures.Parse(Fixtures.MetricsServer), registry));
        Assert.StartsWith($"image registry '{registry}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_yaml_is_an_error_naming_source_and_line()
    {
        var e = Assert.Throws<OperationFailedException>(() => YamlManifest.Parse("a: b\nc: [d\n", "https://example.invalid/x.yaml"));
        Assert.StartsWith("https://example.invalid/x.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_refused()
    {
        var e = Assert.Throws<OperationFailedException>(() => YamlManifest.Parse([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a], "x.yaml"));
        Assert.StartsWith("x.yaml: not UTF-8", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The document index of a workload and the index of a container in its pod template, found without the code under test.</summary>
    private static (int Document, int Container) FindContainer(YamlStream stream, string kind, string name, string container)
    {
        var doc = stream.Documents.ToList().FindIndex(d => d.RootNode.At("kind").Text() == kind && d.RootNode.At("metadata", "name").Text() == name);
        Assert.True(doc >= 0, $"{kind} {name} not found");
        var containers = (YamlSequenceNode)stream.Documents[doc].RootNode.At("spec", "template", "spec", "containers")!;
        var index = containers.Children.ToList().FindIndex(c => c.At("name").Text() == container);
        Assert.True(index >= 0, $"container {container} not found in {kind} {name}");
        return (doc, index);
    }

    private static YamlNode ContainerAt(YamlStream stream, int document, int index) =>
        ((YamlSequenceNode)stream.Documents[document].RootNode.At("spec", "template", "spec", "containers")!).Children[index];

    private static YamlNode Document(YamlStream stream, string kind, string name) =>
        stream.Documents.Single(d => d.RootNode.At("kind").Text() == kind && d.RootNode.At("metadata", "name").Text() == name).RootNode;

    private static string Serialize(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }
}
