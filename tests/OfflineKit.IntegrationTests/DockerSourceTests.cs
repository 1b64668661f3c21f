using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>Docker.DotNet at both ends: `build --image-source docker` and `images load`, against real dockerd.</summary>
public class DockerSourceTests
{
    [Fact]
    public async Task Build_from_the_local_daemon_then_images_load_into_another()
    {
        var offlinekit = Tools.Offlinekit();
        await using var lab = await LabRegistry.StartAsync();
        await using var source = await LabDaemon.DockerdAsync();
        using var dir = new TempDir();

        // The build machine "already pulled" kubeadm's images: pull them from the lab, tag them with their real names.
        var names = KubeadmImages.List("1.23.0", "registry.aliyuncs.com/google_containers");
        foreach (var name in names)
        {
            var reference = ImageReference.Parse(name);
            await lab.PushAsync(SyntheticImages.Make(reference.Repository, reference.Tag!));
            var local = $"{lab.Host}/{reference.Repository}:{reference.Tag}";
            Assert.Equal(0, (await source.Docker("pull", "-q", local)).ExitCode);
            Assert.Equal(0, (await source.Docker("tag", local, name)).ExitCode);
        }

        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + source.Socket, ["XDG_CACHE_HOME"] = dir["cache"] };
        var build = await Tools.RunAsync(offlinekit, ["build", "--k8s", "1.23.0", "--image-source", "docker", "-o", dir["out"], "--without", "rpms", "--without", "manifests", "--without", "bin"], environment: env);
        Assert.True(build.ExitCode == 0, build.Stderr);
        var tarball = build.Stdout.Trim();
        Assert.True((await BundleVerifier.VerifyAsync(tarball)).Ok);

        await using var target = await LabDaemon.DockerdAsync();
        var targetEnv = new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + target.Socket };
        var load = await Tools.RunAsync(offlinekit, ["images", "load", tarball, "--role", "worker"], environment: targetEnv);
        Assert.True(load.ExitCode == 0, load.Stderr);
        Assert.Contains("loaded registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0", load.Stdout);
        Assert.DoesNotContain("kube-apiserver", load.Stdout);

        foreach (var name in names.Where(n => !n.Contains("kube-apiserver", StringComparison.Ordinal) && !n.Contains("kube-controller", StringComparison.Ordinal) && !n.Contains("kube-scheduler", StringComparison.Ordinal) && !n.Contains("etcd", StringComparison.Ordinal)))
        {
            var want = (await source.Docker("image", "inspect", "--format", "{{.Id}}", name)).Stdout.Trim();
            var got = (await target.Docker("image", "inspect", "--format", "{{.Id}}", name)).Stdout.Trim();
            Assert.Equal(want, got);
        }

        var again = await Tools.RunAsync(offlinekit, ["images", "load", tarball, "--role", "worker"], environment: targetEnv);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("all 3 images already present", again.Stderr);
        Assert.DoesNotContain("loaded ", again.Stdout);
    }

    [Fact]
    public async Task An_image_missing_from_the_daemon_is_named()
    {
        await using var source = await LabDaemon.DockerdAsync();
        using var dir = new TempDir();
        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + source.Socket, ["XDG_CACHE_HOME"] = dir["cache"] };

        var build = await Tools.RunAsync(Tools.Offlinekit(), ["build", "--k8s", "1.23.0", "--image-source", "docker", "-o", dir["out"], "--without", "rpms", "--without", "manifests", "--without", "bin"], environment: env);

        Assert.Equal(1, build.ExitCode);
        Assert.Contains("registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0 is not in the local Docker daemon", build.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir["out"]));
    }
}
