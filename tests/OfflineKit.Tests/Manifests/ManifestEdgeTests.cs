using OfflineKit.Manifests;

namespace OfflineKit.Tests.Manifests;

/// <summary>Shapes real manifests take that the testdata files do not: empty documents, comment-only documents, a trailing separator.</summary>
public class ManifestEdgeTests
{
    private const string Text = """
        ---
        # only a comment in this document
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: a}
        spec:
          template:
            spec:
              containers:
                - name: a
                  image: quay.io/tigera/operator:v1.29.6
        ---
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: b}
        spec:
          jobTemplate:
            spec:
              template:
                spec:
                  initContainers:
                    - {name: i, image: "busybox"}
                  containers:
                    - {name: c, image: "registry.k8s.io/pause@sha256:3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db"}
        ---
        """;

    [Fact]
    public void Empty_and_comment_only_documents_are_kept_and_skipped()
    {
        var manifest = YamlManifest.Parse(Text, "edge.yaml");

        // Sorted and each once, as the extractor gives them.
        Assert.Equal(
            [
                "docker.io/library/busybox:latest",
                "quay.io/tigera/operator:v1.29.6",
                "registry.k8s.io/pause@sha256:3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db",
            ],
            ImageExtractor.Extract(manifest).Select(i => i.ToString()));
    }
}
