using OfflineKit.Lab;

// labtool seed REGISTRY_URL [--scale S]
//   Pushes the default spec's images as synthetic images under their real repository names.
//   --scale 0 (default): a few KiB each; --scale 1: sized like the real images (~460 MB); 2: ~920 MB.
if (args.Length < 2 || args[0] != "seed")
{
    Console.Error.WriteLine("usage: labtool seed REGISTRY_URL [--scale S]");
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
