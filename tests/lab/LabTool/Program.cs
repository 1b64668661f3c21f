using OfflineKit.Catalog;
using OfflineKit.Images;
using OfflineKit.Lab;
using OfflineKit.Spec;

// labtool seed REGISTRY_URL [--scale S]
//   Pushes the default spec's images as synthetic images under their real repository names.
//   --scale 0 (default): a few KiB each; --scale 1: sized like the real images (~460 MB); 2: ~920 MB.
// labtool seed-version REGISTRY_URL DIR --k8s X.Y.Z [--os el8|el9] [--arch amd64|arm64] [--runtime R] --testdata TESTDATA [--scale S]
//   For the bundle the version catalog derives (VersionSources, as the integration tests' VersionLab):
//   pushes every image it names as multi-arch synthetic images and writes each addon manifest under
//   DIR/HOST/PATH (map https://HOST/ to file://DIR/HOST/); TESTDATA holds the real upstream manifests.
//   --scale S (benchmarks): amd64 images only, sized like the real ones times S (as `seed --scale`).
// labtool kubernetes-versions
//   The Kubernetes versions the lab's sources can build a bundle of: the guide's 1.23.0 and the patches
//   of the per-minor repos (LabRepoCatalog.KubernetesPatches), one per line.
// labtool gen-rpm-repos DIR [--extra N] [--compression gz|xz|zst] [--os el8|el9]
//   Writes metadata-only yum repos at the spec's URL paths under DIR (map https://mirrors.aliyun.com/
//   to file://DIR/aliyun/): the real graph of the spec's packages plus N generated packages, primaries
//   shaped like real EL8 ones; AppStream's metadata compressed as --compression says (default gz).
// labtool rpm-repos DIR --serve-base URL [--versions]
//   Builds the spec's four yum repos of real, signed rpmbuild RPMs (LabRpmRepoBuilder, as the
//   integration tests do) in the empty folder DIR; the tree to serve over HTTP is DIR/root. Prints the
//   mirrors-file `urls:` entry for an HTTP server serving DIR/root at URL (e.g. http://127.0.0.1:8080/).
//   --versions adds the per-minor Kubernetes repos, EL8/EL9 docker-ce on x86_64 and aarch64 and Rocky 9,
//   and prints one more entry per line: the repos as they are today (LabRepoCatalog.Current), which
//   the newer versions are built from.
if (args.Length >= 2 && args[0] == "gen-rpm-repos")
{
    var extra = 10_000;
    var compression = "gz";
    var os = "el8";
    for (var i = 2; i + 1 < args.Length; i += 2)
    {
        switch (args[i])
        {
            case "--extra": extra = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
            case "--compression": compression = args[i + 1]; break;
            case "--os": os = args[i + 1]; break;
            default: Console.Error.WriteLine($"labtool gen-rpm-repos: unknown option {args[i]}"); return 2;
        }
    }

    var count = GeneratedRpmRepos.Write(args[1], extra, compression, os);
    Console.Error.WriteLine($"wrote {count} packages' metadata under {args[1]}");
    return 0;
}

if (args.Length is 4 or 5 && args[0] == "rpm-repos" && args[2] == "--serve-base" && (args.Length == 4 || args[4] == "--versions"))
{
    var repos = new LabRpmRepoBuilder(args[1], args.Length == 5 ? LabRepoSet.Versions : LabRepoSet.Guide);
    await repos.BuildAsync();
    Console.Error.WriteLine($"built {repos.Files.Count} signed RPMs in {repos.Repositories.Count} repos ({string.Join(", ", repos.Repositories.Select(r => r.Name))}) under {repos.Root}, keys {string.Join(", ", repos.Keys.Select(k => $"{k.Signer} {k.Id}"))}");
    Console.WriteLine(LabRpmRepoBuilder.MirrorsEntry(new Uri(args[3])));
    if (repos.Set == LabRepoSet.Versions)
    {
        foreach (var entry in repos.SnapshotMirrorsEntries(new Uri(args[3]), LabRepoCatalog.Current))
        {
            Console.WriteLine(entry);
        }
    }

    return 0;
}

if (args is ["kubernetes-versions"])
{
    Console.WriteLine("1.23.0");
    foreach (var patch in LabRepoCatalog.KubernetesPatches.Values.SelectMany(p => p))
    {
        Console.WriteLine(patch);
    }

    return 0;
}

if (args.Length >= 3 && args[0] == "seed-version")
{
    string? k8s = null, os = null, arch = null, runtime = null, testdata = null;
    var sized = 0.0;
    for (var i = 3; i + 1 < args.Length; i += 2)
    {
        switch (args[i])
        {
            case "--scale": sized = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
            case "--k8s": k8s = args[i + 1]; break;
            case "--os": os = args[i + 1]; break;
            case "--arch": arch = args[i + 1]; break;
            case "--runtime": runtime = args[i + 1]; break;
            case "--testdata": testdata = args[i + 1]; break;
            default: Console.Error.WriteLine($"labtool seed-version: unknown option {args[i]}"); return 2;
        }
    }

    if (k8s is null || testdata is null)
    {
        Console.Error.WriteLine("labtool seed-version: --k8s and --testdata are required");
        return 2;
    }

    var spec = SpecDerivation.Derive(
        KubernetesVersion.Parse(k8s),
        os is null ? null : TargetPlatform.ParseOs(os),
        arch is null ? null : TargetPlatform.ParseArch(arch),
        runtime is null ? null : ContainerRuntimes.Parse(runtime)).Spec;
    var names = await VersionSources.WriteAsync([spec], args[2], testdata);
    using var client = new HttpClient { BaseAddress = new Uri(args[1]), Timeout = TimeSpan.FromMinutes(10) };
    if (sized > 0)
    {
        // For benchmarks: one platform (amd64), each image sized like the real one times the scale.
        var sizedPusher = new RegistryPusher(client);
        foreach (var image in DefaultSpecImages.Make(names, sized))
        {
            await sizedPusher.PushAsync(image);
            Console.Error.WriteLine($"seeded {image.Repository}:{image.Tag} (amd64, sized x{sized})");
        }
    }
    else
    {
        await VersionSources.PushAsync(new RegistryPusher(client), names);
        foreach (var name in names)
        {
            Console.Error.WriteLine($"seeded {name} (amd64, arm64)");
        }
    }

    Console.Error.WriteLine($"seeded {names.Count} images for Kubernetes {spec.Kubernetes} ({spec.Runtime.Name()}), wrote {spec.Addons.Count} addon manifests under {args[2]}");
    return 0;
}

if (args.Length < 2 || args[0] != "seed")
{
    Console.Error.WriteLine("usage: labtool seed REGISTRY_URL [--scale S] | labtool seed-version REGISTRY_URL DIR --k8s X.Y.Z [--os O] [--arch A] [--runtime R] --testdata DIR [--scale S] | labtool gen-rpm-repos DIR [--extra N] [--compression gz|xz|zst] [--os el8|el9] | labtool rpm-repos DIR --serve-base URL [--versions]");
    return 2;
}

var scale = args.Length >= 4 && args[2] == "--scale" ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0;
using var http = new HttpClient { BaseAddress = new Uri(args[1]), Timeout = TimeSpan.FromMinutes(10) };
var pusher = new RegistryPusher(http);
long total = 0;
foreach (var image in DefaultSpecImages.Make(scale))
{
    await pusher.PushAsync(image);
    total += image.Layers.Sum(l => (long)l.Content.Length) + image.Config.Content.Length;
    Console.Error.WriteLine($"seeded {image.Repository}:{image.Tag}");
}

Console.Error.WriteLine($"seeded {DefaultSpecImages.Names().Count} images, {total / 1_000_000} MB of blobs (shared layers counted per image)");
return 0;
