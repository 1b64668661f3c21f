using System.Net;
using System.Net.Http.Headers;

namespace OfflineKit.Images;

/// <summary>How a blob reached the registry: it was there, it was mounted from another repository, or its bytes were sent.</summary>
public enum BlobOutcome
{
    Present,
    Mounted,
    Sent,
}

/// <summary>
/// The push side of the client, on the same transport as pulls (auth, TLS, retries). Pushes go to the
/// registry named, never to a mirror of it.
/// </summary>
public sealed partial class RegistryClient
{
    /// <summary>Whether the repository already holds the blob (HEAD).</summary>
    public Task<bool> HasBlobAsync(string registry, string repository, Digest digest, CancellationToken cancellationToken = default) =>
        OnEndpointsAsync(registry, repository, $"{repository}@{digest}", async (endpoint, ct) =>
        {
            using var response = await SendAsync(registry, endpoint, repository, HttpMethod.Head, $"v2/{repository}/blobs/{digest}", null, null, ct,
                new Access(Push: true), notFoundIsAnswer: true).ConfigureAwait(false);
            return response.StatusCode != HttpStatusCode.NotFound;
        }, cancellationToken, originOnly: true);

    /// <summary>The digest the tag points to in the repository, or null when there is no such tag (HEAD).</summary>
    public Task<Digest?> TagDigestAsync(string registry, string repository, string tag, CancellationToken cancellationToken = default) =>
        OnEndpointsAsync<Digest?>(registry, repository, $"{repository}:{tag}", async (endpoint, ct) =>
        {
            using var response = await SendAsync(registry, endpoint, repository, HttpMethod.Head, $"v2/{repository}/manifests/{tag}", null, ManifestMediaTypes, ct,
                new Access(Push: true), notFoundIsAnswer: true).ConfigureAwait(false);
            return response.StatusCode != HttpStatusCode.NotFound
                && response.Headers.TryGetValues("Docker-Content-Digest", out var header)
                && Digest.TryParse(header.FirstOrDefault(), out var digest)
                ? digest
                : null;
        }, cancellationToken, originOnly: true);

    /// <summary>
    /// Puts a blob into the repository: mounted from <paramref name="mountFrom"/> when the registry
    /// allows it, else uploaded whole from <paramref name="open"/> (opened again on each try). The
    /// stream is the caller's to verify: it must throw <see cref="DigestMismatchException"/> before its
    /// last byte if the content is not <paramref name="digest"/>, and call the action it is given on each
    /// read (an upload is silent only while no byte leaves).
    /// </summary>
    public Task<BlobOutcome> PushBlobAsync(
        string registry, string repository, Digest digest, long size, Func<Action, Stream> open, string? mountFrom = null, CancellationToken cancellationToken = default) =>
        OnEndpointsAsync(registry, repository, $"{repository}@{digest}", async (endpoint, ct) =>
        {
            var access = new Access(Push: true, mountFrom);
            var start = $"v2/{repository}/blobs/uploads/" + (mountFrom is null ? string.Empty : $"?mount={digest}&from={Uri.EscapeDataString(mountFrom)}");
            Uri location;
            using (var response = await SendPushAsync(registry, endpoint, repository, HttpMethod.Post, start, access, null, ct).ConfigureAwait(false))
            {
                if (response.StatusCode == HttpStatusCode.Created && mountFrom is not null)
                {
                    return BlobOutcome.Mounted;
                }

                location = response.Headers.Location is { } l
                    ? new Uri(response.RequestMessage?.RequestUri ?? endpoint, l)
                    : throw new EndpointException($"{(int)response.StatusCode}: the upload was started without a Location to send it to");
            }

            var put = location.AbsoluteUri + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString());
            using (await SendPushAsync(registry, endpoint, repository, HttpMethod.Put, put, access, alive =>
            {
                var body = new StreamContent(open(alive), 1 << 16);
                body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                body.Headers.ContentLength = size;
                return body;
            }, ct).ConfigureAwait(false))
            {
            }

            return BlobOutcome.Sent;
        }, cancellationToken, originOnly: true);

    /// <summary>Puts a manifest, byte for byte, under a tag or its digest; the registry must answer with the digest of those bytes.</summary>
    public Task PushManifestAsync(string registry, string repository, string reference, byte[] content, string mediaType, CancellationToken cancellationToken = default) =>
        OnEndpointsAsync(registry, repository, $"{repository}:{reference}", async (endpoint, ct) =>
        {
            var digest = Digest.Of(content);
            using var response = await SendPushAsync(registry, endpoint, repository, HttpMethod.Put, $"v2/{repository}/manifests/{reference}", new Access(Push: true), _ =>
            {
                var body = new ByteArrayContent(content);
                body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
                return body;
            }, ct).ConfigureAwait(false);
            if (response.Headers.TryGetValues("Docker-Content-Digest", out var header) && Digest.TryParse(header.FirstOrDefault(), out var stored) && stored != digest)
            {
                throw new EndpointException($"stored the manifest as {stored}, not as {digest}: the registry rewrote it", fatal: true);
            }

            return true;
        }, cancellationToken, originOnly: true);

    /// <summary>
    /// A write. A registry without the project or namespace says so in several ways, each made one
    /// error naming the path's first segment: Harbor 2 answers 404 NOT_FOUND "project k8s not found"
    /// from its project lookup, or, when its token service granted no push because there is no such
    /// project, 401 UNAUTHORIZED "unauthorized to access repository: k8s/…, action: push" (also what an
    /// account without push rights gets: both are named); distribution answers 404 NAME_UNKNOWN.
    /// A plain "authentication required" stays an authentication failure (a wrong password).
    /// Sources: goharbor/harbor issues #966, #13988, #20544, #21373.
    /// </summary>
    private async Task<HttpResponseMessage> SendPushAsync(
        string registry, Uri endpoint, string repository, HttpMethod method, string path, Access access, Func<Action, HttpContent>? content, CancellationToken cancellationToken)
    {
        var project = repository.Split('/')[0];
        try
        {
            return await SendAsync(registry, endpoint, repository, method, path, null, null, cancellationToken, access, content).ConfigureAwait(false);
        }
        catch (EndpointException e) when (e.Status == 404 || (Says(e.Body, "project") && Says(e.Body, "not found")))
        {
            throw new EndpointException(
                $"the registry has no project '{project}' ({e.Status} {e.Body}); on Harbor, create the project '{project}' first, or push under one that exists: --registry {registry}/PROJECT",
                fatal: true,
                inner: e);
        }
        catch (EndpointException e) when (e.Status is 401 or 403 && (Says(e.Body, "action: push") || Says(e.Body, "denied")))
        {
            throw new EndpointException(
                $"the registry refused this account a push to {repository}: the project '{project}' may not exist (on Harbor, create it first) or the account may lack push rights in it ({e.Status} {e.Body})",
                fatal: true,
                inner: e);
        }
    }

    private static bool Says(string? body, string what) => body is not null && body.Contains(what, StringComparison.OrdinalIgnoreCase);

    private static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }
}
