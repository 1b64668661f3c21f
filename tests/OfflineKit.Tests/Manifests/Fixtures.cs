using System.Security.Cryptography;
using OfflineKit.Manifests;
using OfflineKit.Spec;

namespace OfflineKit.Tests.Manifests;

/// <summary>The real upstream manifests under Manifests/testdata, copied beside the test assembly.</summary>
public static class Fixtures
{
    public const string Calico3245 = "calico-v3.24.5.yaml";
    public const string Calico3252 = "calico-v3.25.2.yaml";
    public const string Calico3265 = "calico-v3.26.5.yaml";
    public const string MetricsServer = "metrics-server-v0.6.3-components.yaml";

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Manifests", "testdata");

    public static string PathOf(string name)
    {
        var path = Path.Combine(Directory, name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"test fixture {path} is missing: tests/OfflineKit.Tests/Manifests/testdata/{name} should be copied to the output by the csproj", path);
        }

        return path;
    }

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    public static string Sha256(string name) => Convert.ToHexStringLower(SHA256.HashData(Bytes(name)));

    public static YamlManifest Parse(string name) => YamlManifest.Parse(Bytes(name), name);

    /// <summary>The built-in spec of the guide's cluster: its addons, patches and cluster defaults are what the build uses.</summary>
    public static BundleSpec Spec => BundleSpecLoader.LoadEmbedded("1.23.0");

    public static AddonSpec Addon(string name) => Spec.Addons.Single(a => a.Name == name);
}
