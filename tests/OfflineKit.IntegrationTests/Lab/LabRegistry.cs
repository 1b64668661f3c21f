using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using OfflineKit.IntegrationTests.Support;
using OfflineKit.Images;
using OfflineKit.Lab;

namespace OfflineKit.IntegrationTests.Lab;

public enum RegistryMode
{
    Plain,
    Htpasswd,
    Tls,

    /// <summary>TLS with the lab CA and htpasswd basic auth: a site registry as it is usually set up.</summary>
    TlsHtpasswd,
}

/// <summary>
/// Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1 (or another address of this
/// machine: the lab hosts' gateway, for a site's registry they reach), with its storage in a temp folder:
/// plain, with htpasswd basic auth, or TLS with a CA the lab makes. Stopped and removed on dispose.
/// </summary>
public sealed class LabRegistry : IAsyncDisposable
{
    public const string User = "labuser";
    public const string Password = "lab-secret-Pa55";

    private readonly Process _process;
    private readonly string _dir;

    private LabRegistry(Process process, string dir, string address, int port, RegistryMode mode, string? caFile)
    {
        _process = process;
        _dir = dir;
        Address = address;
        Port = port;
        Mode = mode;
        CaFile = caFile;
    }

    public string Address { get; }

    public int Port { get; }

    public RegistryMode Mode { get; }

    /// <summary>The lab CA that signed the registry's certificate (TLS mode).</summary>
    public string? CaFile { get; }

    public string Host => $"{Address}:{Port}";

    public Uri BaseUri => new($"{(Mode is RegistryMode.Tls or RegistryMode.TlsHtpasswd ? "https" : "http")}://{Host}/");

    public static async Task<LabRegistry> StartAsync(RegistryMode mode = RegistryMode.Plain, string address = "127.0.0.1")
    {
        var exe = Tools.Require("docker-registry", "docker-registry");
        var dir = Directory.CreateTempSubdirectory("offlinekit-registry-").FullName;
        var port = FreePort();
        var config = new StringBuilder($"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {dir}/data
              delete:
                enabled: true
            http:
              addr: {address}:{port}

            """);
        string? ca = null;
        if (mode is RegistryMode.Htpasswd or RegistryMode.TlsHtpasswd)
        {
            Tools.Require("htpasswd", "apache2-utils");
            var htpasswd = await Tools.RunAsync("htpasswd", ["-Bbn", User, Password]);
            Assert.Equal(0, htpasswd.ExitCode);
            await File.WriteAllTextAsync(Path.Combine(dir, "htpasswd"), htpasswd.Stdout);
            config.Append($"""
                auth:
                  htpasswd:
                    realm: offlinekit-lab
                    path: {dir}/htpasswd

                """);
        }

        if (mode is RegistryMode.Tls or RegistryMode.TlsHtpasswd)
        {
            ca = await MakeCertificatesAsync(dir, address);
            config.Replace($"  addr: {address}:{port}\n", $"  addr: {address}:{port}\n  tls:\n    certificate: {dir}/server.crt\n    key: {dir}/server.key\n");
        }

        await File.WriteAllTextAsync(Path.Combine(dir, "config.yml"), config.ToString());
        var info = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(Path.Combine(dir, "config.yml"));
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var registry = new LabRegistry(process, dir, address, port, mode, ca);
        await WaitForPortAsync(IPAddress.Parse(address), port, process);
        return registry;
    }

    /// <summary>Pushes an image (blobs, then the manifest) under repository:tag.</summary>
    public async Task PushAsync(SyntheticImage image, string? tag = null)
    {
        using var http = Client();
        await new RegistryPusher(http).PushAsync(image, tag);
    }

    /// <summary>Pushes the images and a manifest list naming them under repository:tag.</summary>
    public async Task PushIndexAsync(string repository, string tag, params SyntheticImage[] images)
    {
        using var http = Client();
        await new RegistryPusher(http).PushIndexAsync(repository, tag, images);
    }

    /// <summary>What the registry's API says the tag points to (null: no such tag).</summary>
    public async Task<string?> TagDigestAsync(string repository, string tag)
    {
        using var http = Client();
        using var request = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/manifests/{tag}");
        foreach (var type in RegistryClient.ManifestMediaTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode ? response.Headers.GetValues("Docker-Content-Digest").Single() : null;
    }

    /// <summary>Overwrites a stored blob with other bytes of the same length: the registry then serves a corrupt blob.</summary>
    public void CorruptBlob(Digest digest)
    {
        var path = Path.Combine(_dir, "data", "docker", "registry", "v2", "blobs", "sha256", digest.Hex[..2], digest.Hex, "data");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xff;
        File.WriteAllBytes(path, bytes);
    }

    public HttpClient Client()
    {
        var handler = new HttpClientHandler();
        if (CaFile is not null)
        {
            var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(CaFile);
            handler.ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(cert);
            };
        }

        var http = new HttpClient(handler) { BaseAddress = BaseUri };
        if (Mode is RegistryMode.Htpasswd or RegistryMode.TlsHtpasswd)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        }

        return http;
    }

    private static async Task<string> MakeCertificatesAsync(string dir, string address)
    {
        Tools.Require("openssl", "openssl");
        var script = $"""
            set -e
            cd '{dir}'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=offlinekit lab CA' 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN={address}' 2>/dev/null
            printf 'subjectAltName=IP:{address},DNS:localhost\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null
            """;
        var run = await Tools.Bash(script);
        Assert.True(run.ExitCode == 0, run.Stderr);
        return Path.Combine(dir, "ca.crt");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(IPAddress address, int port, Process process)
    {
        // Poll until it accepts: readiness, not a fixed sleep.
        for (var i = 0; i < 200; i++)
        {
            if (process.HasExited)
            {
                Assert.Fail($"docker-registry exited with {process.ExitCode} before it listened on {port}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(address, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        Assert.Fail($"docker-registry did not listen on {port}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
