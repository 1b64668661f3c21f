using System.Net;
using System.Net.Http.Headers;
using OfflineKit.Images;

namespace OfflineKit.Lab;

/// <summary>Pushes images to a registry over the distribution API: blobs (skipped when present), then the manifest.</summary>
public sealed class RegistryPusher(HttpClient http)
{
    public async Task PushAsync(SyntheticImage image, string? tag = null)
    {
        foreach (var blob in new[] { image.Config }.Concat(image.Layers))
        {
            await PushBlobAsync(image.Repository, blob.Content);
        }

        await PutManifestAsync(image.Repository, tag ?? image.Tag, image.Manifest, MediaTypes.DockerManifest);
    }

    /// <summary>Pushes the images and a manifest list naming them under repository:tag.</summary>
    public async Task PushIndexAsync(string repository, string tag, params SyntheticImage[] images)
    {
        foreach (var image in images)
        {
            foreach (var blob in new[] { image.Config }.Concat(image.Layers))
            {
                await PushBlobAsync(repository, blob.Content);
            }

            await PutManifestAsync(repository, image.ManifestDigest.ToString(), image.Manifest, MediaTypes.DockerManifest);
        }

        await PutManifestAsync(repository, tag, SyntheticImages.Index(images), MediaTypes.DockerManifestList);
    }

    private async Task PushBlobAsync(string repository, byte[] content)
    {
        var digest = Digest.Of(content);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/blobs/{digest}"));
        if (head.IsSuccessStatusCode)
        {
            return;
        }

        using var start = await http.PostAsync($"v2/{repository}/blobs/uploads/", null);
        Check(start, HttpStatusCode.Accepted, $"upload start for {repository}");
        var location = start.Headers.Location!;
        var upload = location.IsAbsoluteUri ? location : new Uri(http.BaseAddress!, location);
        var put = new UriBuilder(upload) { Query = (upload.Query.Length > 1 ? upload.Query[1..] + "&" : string.Empty) + "digest=" + Uri.EscapeDataString(digest.ToString()) };
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await http.PutAsync(put.Uri, body);
        Check(done, HttpStatusCode.Created, $"upload of {digest}");
    }

    private async Task PutManifestAsync(string repository, string reference, byte[] manifest, string mediaType)
    {
        using var body = new ByteArrayContent(manifest);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await http.PutAsync($"v2/{repository}/manifests/{reference}", body);
        Check(response, HttpStatusCode.Created, $"manifest {repository}:{reference}");
    }

    private static void Check(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }
}
