using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Images;
using OfflineKit.Install;
using OfflineKit.IntegrationTests.Lab;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.IO;
using OfflineKit.Spec;
using OfflineKit.Tests.Support;

namespace OfflineKit.IntegrationTests;

/// <summary>A bundle built from the lab, as the tests below push it; built once for the class.</summary>
public sealed class LabBundle : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();

    public string Tarball { get; private set; } = string.Empty;

    public IReadOnlyList<Artifact> Images { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await using var lab = await LabSources.StartAsync();
        var build = await CliRunner.RunAsync("build", "--k8s", "1.23.0", "--mirrors", lab.MirrorsFile, "-o", _dir["out"], "--cache", _dir["cache"],
            "--without", "rpms", "--without", "bin");
        Assert.True(build.Code == 0, build.Err);
        Tarball = build.Out.Trim();
        Images = (await BundleInspector.InspectAsync(Tarball)).Manifest.Artifacts.Where(a => a.Kind == ArtifactKind.Image).ToList();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _dir.Dispose();
}

/// <summary>`images push` into Debian's real docker-registry with htpasswd auth and TLS by a lab CA, credentials from a docker config.</summary>
public class ImagesPushTests(LabBundle bundle) : IClassFixture<LabBundle>
{
    private static string DockerConfig(TempDir dir, LabRegistry registry, string password)
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{LabRegistry.User}:{password}"));
        Directory.CreateDirectory(dir["docker"]);
        File.WriteAllText(Path.Combine(dir["docker"], "config.json"), "{\"auths\":{\"" + registry.Host + "\":{\"auth\":\"" + auth + "\"}}}");
        return dir["docker"];
    }

    private static ImagePushOptions Options(string bundlePath, LabRegistry registry, string dockerConfig, int parallel = 4)
    {
        var mirrors = MirrorConfig.Empty;
        mirrors.AddCaFile(registry.Host, registry.CaFile!);
        var credentials = RegistryCredentials.Load(Path.Combine(dockerConfig, "config.json"));
        return new ImagePushOptions(bundlePath, PushTarget.Parse($"{registry.Host}/k8s"), new RegistryClientOptions(mirrors, credentials) { MaxAttempts = 2, FirstBackoff = TimeSpan.FromMilliseconds(10) })
        {
            Parallel = parallel,
        };
    }

    private int DistinctBlobs => bundle.Images.SelectMany(i => i.Blobs!).Except(bundle.Images.Select(i => i.Digest)).Distinct().Count();

    [Fact]
    public async Task Every_image_lands_under_its_mapped_name_with_the_bundles_digest_and_a_second_push_sends_nothing()
    {
        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd);
        using var dir = new TempDir();
        var options = Options(bundle.Tarball, registry, DockerConfig(dir, registry, LabRegistry.Password));

        var first = await BundlePusher.PushAsync(options);

        Assert.Equal(bundle.Images.Count, first.Images.Count);
        foreach (var image in bundle.Images)
        {
            var origin = ImageReference.Parse(image.Name);
            var pushed = first.Images.Single(i => i.Origin == image.Name);
            Assert.Equal($"{registry.Host}/k8s/{origin.Repository}:{origin.Tag}", pushed.Target);
            Assert.Equal(image.Digest, await registry.TagDigestAsync($"k8s/{origin.Repository}", origin.Tag!));
        }

        Assert.Contains(first.Images, i => i.Target == $"{registry.Host}/k8s/google_containers/kube-apiserver:v1.23.0");
        Assert.Contains(first.Images, i => i.Target == $"{registry.Host}/k8s/calico/node:v3.25.2");

        // Each distinct blob's bytes went once; every other repository that needs it got it by mount.
        Assert.Equal(DistinctBlobs, first.BlobsSent);
        Assert.True(first.BlobsMounted > 0, "the lab images share a base layer: it should have been mounted");
        Assert.Equal(0, first.BlobsSkipped);
        Assert.All(first.Images, i => Assert.False(i.AlreadyThere));

        var second = await BundlePusher.PushAsync(options);
        Assert.Equal(0, second.BlobsSent);
        Assert.Equal(0, second.BlobsMounted);
        Assert.Equal(0L, second.BytesSent);
        Assert.Equal(first.BlobsSent + first.BlobsMounted, second.BlobsSkipped);
        Assert.All(second.Images, i => Assert.True(i.AlreadyThere));
    }

    [Fact]
    public async Task Skopeo_reads_a_pushed_image_back_byte_for_byte_from_an_extracted_bundle()
    {
        var skopeo = Tools.Require("skopeo", "skopeo");
        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd);
        using var dir = new TempDir();
        var extracted = (await BundleExtractor.ExtractAsync(bundle.Tarball, dir["site"])).Directory;

        await BundlePusher.PushAsync(Options(extracted, registry, DockerConfig(dir, registry, LabRegistry.Password)));

        Directory.CreateDirectory(dir["certs"]);
        File.Copy(registry.CaFile!, Path.Combine(dir["certs"], "ca.crt"));
        var proxy = bundle.Images.Single(i => i.Name == "registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0");
        var raw = await Tools.RunAsync(skopeo, ["inspect", "--raw", "--cert-dir", dir["certs"], "--authfile", Path.Combine(dir["docker"], "config.json"),
            $"docker://{registry.Host}/k8s/google_containers/kube-proxy:v1.23.0"]);
        Assert.True(raw.ExitCode == 0, raw.Stderr);
        Assert.Equal(proxy.Digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw.Stdout))));
    }

    [Fact]
    public async Task An_interrupted_push_run_again_sends_only_what_is_missing()
    {
        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd);
        using var dir = new TempDir();
        var options = Options(bundle.Tarball, registry, DockerConfig(dir, registry, LabRegistry.Password), parallel: 1);
        var biggest = bundle.Images.SelectMany(i => i.Blobs!).Distinct().Except(bundle.Images.Select(i => i.Digest)).Max(SizeInRegistrySource);

        // One at a time, biggest first: once bytes of a second blob flow, the first is in the registry.
        using var cut = new CancellationTokenSource();
        var progress = new Sync(p =>
        {
            if (p.Done > biggest)
            {
                cut.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BundlePusher.PushAsync(options, progress, cut.Token));

        var again = await BundlePusher.PushAsync(options);
        Assert.Equal(DistinctBlobs - 1, again.BlobsSent);
        Assert.True(again.BlobsSkipped >= 1);
        foreach (var image in bundle.Images)
        {
            var origin = ImageReference.Parse(image.Name);
            Assert.Equal(image.Digest, await registry.TagDigestAsync($"k8s/{origin.Repository}", origin.Tag!));
        }

        long SizeInRegistrySource(string digest)
        {
            // bundle.json lists blobs, not their sizes: the archive index knows them.
            var local = LocalBundle.OpenAsync(bundle.Tarball).GetAwaiter().GetResult();
            var blobs = ImageArchiveBlobs.OpenAsync(local, bundle.Images.Select(i => i.Path).Distinct().ToList()).GetAwaiter().GetResult();
            return blobs.SizeOf(Digest.Parse(digest));
        }
    }

    [Fact]
    public async Task A_wrong_password_and_a_missing_ca_are_refused_in_one_line_without_a_secret()
    {
        var offlinekit = Tools.Offlinekit();
        await using var registry = await LabRegistry.StartAsync(RegistryMode.TlsHtpasswd);
        using var dir = new TempDir();
        var wrong = "Wr0ng-" + Guid.NewGuid().ToString("N");
        var config = DockerConfig(dir, registry, wrong);
        var env = new Dictionary<string, string> { ["DOCKER_CONFIG"] = config };
        var secrets = new[] { wrong, LabRegistry.Password, Convert.ToBase64String(Encoding.UTF8.GetBytes($"{LabRegistry.User}:{wrong}")) };

        var denied = await Tools.RunAsync(offlinekit, ["images", "push", bundle.Tarball, "--registry", $"{registry.Host}/k8s", "--ca-file", registry.CaFile!], environment: env);
        Assert.Equal(1, denied.ExitCode);
        var line = Assert.Single(denied.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("authentication failed", line);
        Assert.Contains(registry.Host, line);
        Assert.All(secrets, s => Assert.DoesNotContain(s, denied.Stdout + denied.Stderr));

        DockerConfig(dir, registry, LabRegistry.Password);
        var untrusted = await Tools.RunAsync(offlinekit, ["images", "push", bundle.Tarball, "--registry", $"{registry.Host}/k8s"], environment: env);
        Assert.Equal(1, untrusted.ExitCode);
        line = Assert.Single(untrusted.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("TLS failed", line);
        Assert.All(secrets, s => Assert.DoesNotContain(s, untrusted.Stdout + untrusted.Stderr));

        var ok = await Tools.RunAsync(offlinekit, ["images", "push", bundle.Tarball, "--registry", $"{registry.Host}/k8s", "--ca-file", registry.CaFile!, "--output", "json"], environment: env);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("\"bytesSent\"", ok.Stdout);
        Assert.All(secrets, s => Assert.DoesNotContain(s, ok.Stdout + ok.Stderr));
    }

    [Theory]
    [InlineData(404, HarborStandin.ProjectNotFound, "the registry has no project 'k8s' (404 NOT_FOUND: project k8s not found); on Harbor, create the project 'k8s' first")]
    [InlineData(401, HarborStandin.PushUnauthorized, "the project 'k8s' may not exist (on Harbor, create it first) or the account may lack push rights in it (401 UNAUTHORIZED: unauthorized to access repository")]
    public async Task A_missing_harbor_project_is_named_with_the_registrys_answer(int status, string body, string message)
    {
        await using var harbor = new HarborStandin(status, body);
        var mirrors = MirrorConfig.Empty;
        mirrors.AddInsecureRegistry(harbor.Host);
        var options = new ImagePushOptions(bundle.Tarball, PushTarget.Parse($"{harbor.Host}/k8s"), new RegistryClientOptions(mirrors, RegistryCredentials.None) { MaxAttempts = 1 });

        var e = await Assert.ThrowsAsync<OperationFailedException>(() => BundlePusher.PushAsync(options));

        Assert.Contains(message, e.Message);
        Assert.Matches(@"^\S+:\S+ -> " + harbor.Host.Replace(".", "\\.", StringComparison.Ordinal) + "/k8s/", e.Message);
    }

    private sealed class Sync(Action<ByteProgress> report) : IProgress<ByteProgress>
    {
        public void Report(ByteProgress value) => report(value);
    }
}
