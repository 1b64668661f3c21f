using OfflineKit.Lab;

// labtool seed REGISTRY_URL [--scale S]
//   Pushes the default spec's images as synthetic images under their real repository names.
//   --scale 0 (default): a few KiB each; --scale 1: sized like the real images (~460 MB); 2: ~920 MB.
// labtool gen-rpm-repos DIR [--extra N]
//   Writes metadata-only yum repos at the spec's URL paths under DIR (map https://mirrors.aliyun.com/
//   to file://DIR/aliyun/): the real graph of the spec's packages plus N generated packages.
// labtool rpm-repos DIR --serve-base URL [--versions]
//   Builds the spec's four yum repos of real, signed rpmbuild RPMs (LabRpmRepoBuilder, as the
//   integration tests do) in the empty folder DIR; the tree to serve over HTTP is DIR/root. Prints the
//   mirrors-file `urls:` entry for an HTTP server serving DIR/root at URL (e.g. http://127.0.0.1:8080/).
//   --versions adds the per-minor Kubernetes repos, EL8/EL9 docker-ce on x86_64 and aarch64 and Rocky 9.
if (args.Length >= 2 && args[0] == "gen-rpm-repos")
{
    var extra = args.Length >= 4 && args[2] == "--extra" ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
    var count = GeneratedRpmRepos.Write(args[1], extra);
    Console.Error.WriteLine($"wrote {count} packages' metadata under {args[1]}");
    return 0;
}

if (args.Length is 4 or 5 && args[0] == "rpm-repos" && args[2] == "--serve-base" && (args.Length == 4 || args[4] == "--versions"))
{
    var repos = new LabRpmRepoBuilder(args[1], args.Length == 5 ? LabRepoSet.Versions : LabRepoSet.Guide);
    await repos.BuildAsync();
    Console.Error.WriteLine($"built {repos.Files.Count} signed RPMs in {repos.Repositories.Count} repos ({string.Join(", ", repos.Repositories.Select(r => r.Name))}) under {repos.Root}, keys {string.Join(", ", repos.Keys.Select(k => $"{k.Signer} {k.Id}"))}");
    Console.WriteLine(LabRpmRepoBuilder.MirrorsEntry(new Uri(args[3])));
    return 0;
}

if (args.Length < 2 || args[0] != "seed")
{
    Console.Error.WriteLine("usage: labtool seed REGISTRY_URL [--scale S] | labtool gen-rpm-repos DIR [--extra N] | labtool rpm-repos DIR --serve-base URL [--versions]");
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
