using OfflineKit.Images;

namespace OfflineKit.Tests.Images;

public class ImageReferenceTests
{
    private const string Sha = "sha256:4a7e2fba1e5b5b8a0e2c4b1f3b2a6c1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b";

    [Theory]
    // input, registry, repository, tag, digest, fully qualified, familiar
    [InlineData("busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io", "library/busybox", "1.36", null, "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("calico/node:v3.25.2", "docker.io", "calico/node", "v3.25.2", null, "docker.io/calico/node:v3.25.2", "calico/node:v3.25.2")]
    [InlineData("docker.io/calico/node:v3.25.2", "docker.io", "calico/node", "v3.25.2", null, "docker.io/calico/node:v3.25.2", "calico/node:v3.25.2")]
    [InlineData("docker.io/busybox", "docker.io", "library/busybox", "latest", null, "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", null, "docker.io/library/busybox:1", "busybox:1")]
    [InlineData("registry.k8s.io/metrics-server/metrics-server:v0.6.3", "registry.k8s.io", "metrics-server/metrics-server", "v0.6.3", null, "registry.k8s.io/metrics-server/metrics-server:v0.6.3", "registry.k8s.io/metrics-server/metrics-server:v0.6.3")]
    [InlineData("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "registry.aliyuncs.com", "google_containers/kube-apiserver", "v1.23.0", null, "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0")]
    [InlineData("localhost/foo", "localhost", "foo", "latest", null, "localhost/foo:latest", "localhost/foo:latest")]
    [InlineData("localhost:5000/foo/bar:1.0", "localhost:5000", "foo/bar", "1.0", null, "localhost:5000/foo/bar:1.0", "localhost:5000/foo/bar:1.0")]
    [InlineData("127.0.0.1:5000/calico/cni:v3.25.2", "127.0.0.1:5000", "calico/cni", "v3.25.2", null, "127.0.0.1:5000/calico/cni:v3.25.2", "127.0.0.1:5000/calico/cni:v3.25.2")]
    [InlineData("reg:5000/x", "reg:5000", "x", "latest", null, "reg:5000/x:latest", "reg:5000/x:latest")]
    [InlineData("[::1]:5000/x:1", "[::1]:5000", "x", "1", null, "[::1]:5000/x:1", "[::1]:5000/x:1")]
    [InlineData("Registry.Example.COM/team/app:V1_x", "Registry.Example.COM", "team/app", "V1_x", null, "Registry.Example.COM/team/app:V1_x", "Registry.Example.COM/team/app:V1_x")]
    [InlineData("a/b/c/d:1", "docker.io", "a/b/c/d", "1", null, "docker.io/a/b/c/d:1", "a/b/c/d:1")]
    [InlineData("my_org/my__app-x.y:t", "docker.io", "my_org/my__app-x.y", "t", null, "docker.io/my_org/my__app-x.y:t", "my_org/my__app-x.y:t")]
    [InlineData("busybox@" + Sha, "docker.io", "library/busybox", null, Sha, "docker.io/library/busybox@" + Sha, "busybox@" + Sha)]
    [InlineData("quay.io/tigera/operator:v1.29.0@" + Sha, "quay.io", "tigera/operator", "v1.29.0", Sha, "quay.io/tigera/operator:v1.29.0@" + Sha, "quay.io/tigera/operator:v1.29.0@" + Sha)]
    [InlineData("localhost:5000/x@" + Sha, "localhost:5000", "x", null, Sha, "localhost:5000/x@" + Sha, "localhost:5000/x@" + Sha)]
    public void References_parse_and_print_as_docker_does(
        string input, string registry, string repository, string? tag, string? digest, string qualified, string familiar)
    {
        var reference = ImageReference.Parse(input);

        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Equal(qualified, reference.ToString());
        Assert.Equal(familiar, reference.Familiar);

        // The fully qualified form is a fixed point, and the familiar form names the same image.
        Assert.Equal(reference, ImageReference.Parse(qualified));
        Assert.Equal(reference, ImageReference.Parse(familiar));
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData(" busybox", "whitespace")]
    [InlineData("busy box", "whitespace")]
    [InlineData("Busybox", "repository name must be lowercase ('Busybox')")]
    [InlineData("Calico/node:v3.25.2", "repository name must be lowercase ('Calico')")]
    [InlineData("docker.io/calico/Node:v3.25.2", "repository name must be lowercase ('Node')")]
    [InlineData("https://docker.io/calico/node", "no scheme")]
    [InlineData("calico/node:", "tag '' is invalid")]
    [InlineData("calico/node:.v1", "tag '.v1' is invalid")]
    [InlineData("calico/node:v1/x", "not a valid repository path component")]
    [InlineData("calico//node", "empty path component")]
    [InlineData("/node", "empty path component")]
    [InlineData("node/", "empty path component")]
    [InlineData("calico/-node", "'-node' is not a valid repository path component")]
    [InlineData("calico/node.", "'node.' is not a valid repository path component")]
    [InlineData("calico/no___de", "'no___de' is not a valid repository path component")]
    [InlineData("reg.local:port/x", "is not host[:port]")]
    [InlineData("reg.local:123456/x", "is not host[:port]")]
    [InlineData("-reg.local/x", "is not host[:port]")]
    [InlineData(":5000/x", "is not host[:port]")]
    [InlineData("busybox@sha256:abc", "must be sha256: followed by 64 lowercase hex digits")]
    [InlineData("busybox@sha256:4A7E2FBA1E5B5B8A0E2C4B1F3B2A6C1D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5A4B", "lowercase hex")]
    [InlineData("busybox@md5:0123456789abcdef0123456789abcdef", "digest algorithm 'md5' is not supported")]
    [InlineData("busybox@4a7e2f", "is not ALGORITHM:HEX")]
    [InlineData("@" + Sha, "the repository name is empty")]
    [InlineData(":v1", "the repository name is empty")]
    public void Invalid_references_are_a_format_error_saying_why(string input, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ImageReference.Parse(input));

        Assert.Contains($"'{input}' is not a valid image reference", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(ImageReference.TryParse(input, out _));
    }

    [Fact]
    public void A_tag_may_be_128_characters_and_no_more()
    {
        Assert.Equal(128, ImageReference.Parse("x:" + new string('a', 128)).Tag!.Length);
        Assert.Throws<FormatException>(() => ImageReference.Parse("x:" + new string('a', 129)));
    }

    [Fact]
    public void A_name_longer_than_255_characters_is_refused()
    {
        var e = Assert.Throws<FormatException>(() => ImageReference.Parse("reg.local/" + new string('a', 250)));
        Assert.Contains("longer than 255", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("docker.io/calico/node:v3.25.2", "reg.local:5000", "reg.local:5000/calico/node:v3.25.2")]
    [InlineData("busybox", "reg.local:5000", "reg.local:5000/library/busybox:latest")]
    [InlineData("registry.k8s.io/metrics-server/metrics-server:v0.6.3", "10.0.0.5", "10.0.0.5/metrics-server/metrics-server:v0.6.3")]
    [InlineData("quay.io/x@" + Sha, "reg.local", "reg.local/x@" + Sha)]
    [InlineData("quay.io/x:1", "docker.io", "docker.io/library/x:1")]
    public void Moving_to_another_registry_keeps_path_tag_and_digest(string input, string registry, string expected) =>
        Assert.Equal(expected, ImageReference.Parse(input).WithRegistry(registry).ToString());

    [Theory]
    [InlineData("http://reg.local")]
    [InlineData("reg.local/path")]
    [InlineData("")]
    public void Moving_to_something_that_is_not_a_registry_host_is_refused(string registry) =>
        Assert.Throws<FormatException>(() => ImageReference.Parse("busybox").WithRegistry(registry));
}
