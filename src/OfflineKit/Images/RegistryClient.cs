using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OfflineKit.IO;
using OfflineKit.Spec;

namespace OfflineKit.Images;

public sealed record RegistryClientOptions(MirrorConfig Mirrors, RegistryCredentials Credentials)
{
    /// <summary>Tries per request on 429, 5xx, timeouts and dropped connections, each after a growing pause.</summary>
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one request may stay silent before it counts as a timeout.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>A manifest as the registry served it: the exact bytes (their digest is the image's), and its media type.</summary>
public sealed record ManifestResponse(byte[] Content, string MediaType, Digest Digest);

/// <summary>
/// A client of the OCI distribution API over HttpClient: manifests and blobs, mirrors tried in order
/// before the origin (names never change), anonymous, bearer-token and basic auth, a CA per registry,
/// plain HTTP only where declared, retries with backoff, blobs verified while they stream and resumed
/// with Range after a cut.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    public static readonly string[] ManifestMediaTypes =
    [
        MediaTypes.DockerManifest,
        MediaTypes.DockerManifestList,
        MediaTypes.OciManifest,
        MediaTypes.OciIndex,
    ];

    private readonly RegistryClientOptions _options;
    private readonly HttpClient _http;
    private readonly Dictionary<string, AuthenticationHeaderValue> _auth = new(StringComparer.Ordinal);
    private readonly Lock _authLock = new();

    public RegistryClient(RegistryClientOptions options, HttpMessageHandler? handler = null)
    {
        _options = options;
        _http = new HttpClient(handler ?? CreateHandler(options.Mirrors), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("offlinekit/" + typeof(RegistryClient).Assembly.GetName().Version?.ToString(3));
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Fetches a manifest by tag or digest; a digest reference is checked against the bytes.</summary>
    public Task<ManifestResponse> GetManifestAsync(string registry, string repository, string reference, CancellationToken cancellationToken = default) =>
        OnEndpointsAsync(registry, repository, $"{repository}:{reference}", async (endpoint, ct) =>
        {
            using var response = await SendAsync(registry, endpoint, repository, HttpMethod.Get, $"v2/{repository}/manifests/{reference}", null, ManifestMediaTypes, ct).ConfigureAwait(false);
            var content = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            var digest = Digest.Of(content);
            if (Digest.TryParse(reference, out var wanted) && wanted != digest)
            {
                throw new EndpointException($"served a manifest whose digest is {digest}, not the {wanted} asked for");
            }

            if (response.Headers.TryGetValues("Docker-Content-Digest", out var header) && Digest.TryParse(header.FirstOrDefault(), out var announced) && announced != digest)
            {
                throw new EndpointException($"announced digest {announced} but served bytes of {digest}");
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            return new ManifestResponse(content, MediaTypes.Detect(mediaType, content), digest);
        }, cancellationToken);

    /// <summary>
    /// Downloads a blob into the cache unless it is there: streamed to a partial file, resumed with
    /// Range after a cut, and moved in only when its digest matches.
    /// </summary>
    public async Task FetchBlobAsync(string registry, string repository, Digest digest, BlobCache cache, Action<long>? onBytes = null, CancellationToken cancellationToken = default)
    {
        if (cache.Contains(digest))
        {
            return;
        }

        await OnEndpointsAsync(registry, repository, $"{repository}@{digest}", async (endpoint, ct) =>
        {
            var partial = cache.PartialPathOf(digest);
            var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            var headers = have > 0 ? new RangeHeaderValue(have, null) : null;
            string? hashed;
            using (var response = await SendAsync(registry, endpoint, repository, HttpMethod.Get, $"v2/{repository}/blobs/{digest}", headers, null, ct).ConfigureAwait(false))
            {
                try
                {
                    hashed = await PartialDownload.WriteAsync(response, partial, have, _options.RequestTimeout, onBytes, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException)
                {
                    // The bytes so far stay in the partial file: the retry asks for the rest with Range.
                    throw new EndpointException($"the download of {digest} was cut: {e.Message}", retryHere: true, inner: e);
                }
            }

            try
            {
                await cache.CommitPartialAsync(digest, hashed, ct).ConfigureAwait(false);
            }
            catch (DigestMismatchException e)
            {
                throw new EndpointException($"served a corrupt blob: {e.Message}", inner: e);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one operation against the registry's endpoints in order (mirrors, then the origin), with
    /// retries on each; the error names the image and what every endpoint answered.
    /// </summary>
    /// <param name="originOnly">Push: the registry named, never a mirror of it.</param>
    private async Task<T> OnEndpointsAsync<T>(string registry, string repository, string what, Func<Uri, CancellationToken, Task<T>> operation, CancellationToken cancellationToken, bool originOnly = false)
    {
        var answers = new List<string>();
        var endpoints = _options.Mirrors.RegistryEndpoints(registry);
        endpoints = originOnly ? [endpoints[^1]] : endpoints;
        foreach (var endpoint in endpoints)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await operation(endpoint, cancellationToken).ConfigureAwait(false);
                }
                catch (EndpointException e) when (e.RetryHere && attempt < _options.MaxAttempts)
                {
                    await Task.Delay(e.RetryAfter ?? Backoff(attempt), cancellationToken).ConfigureAwait(false);
                }
                catch (EndpointException e) when (e.Fatal)
                {
                    throw new OperationFailedException($"{registry}/{what}: {e.Message}", e);
                }
                catch (EndpointException e)
                {
                    answers.Add($"{endpoint.GetLeftPart(UriPartial.Authority)}: {e.Message}");
                    break;
                }
            }
        }

        throw new OperationFailedException($"{registry}/{what}: {string.Join("; ", answers)}");
    }

    private TimeSpan Backoff(int attempt) => _options.FirstBackoff * Math.Pow(2, attempt - 1);

    /// <summary>Sends a request, answering an authentication challenge once; maps failures to what the caller does next.</summary>
    private async Task<HttpResponseMessage> SendAsync(
        string registry, Uri endpoint, string repository, HttpMethod method, string path, RangeHeaderValue? range, string[]? accept, CancellationToken cancellationToken,
        Access? access = null, Func<Action, HttpContent>? content = null, bool notFoundIsAnswer = false)
    {
        access ??= Access.Pull;
        var url = new Uri(endpoint, path);

        // A token is granted for a scope: a pull token cannot push, so each access has its own.
        var authKey = $"{endpoint.GetLeftPart(UriPartial.Authority)}|{repository}|{access}";
        for (var round = 0; ; round++)
        {
            using var request = new HttpRequestMessage(method, url);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            if (content is not null)
            {
                // An upload counts as silent only while no byte leaves: each read of the body restarts the clock.
                request.Content = content(() => timeout.CancelAfter(_options.RequestTimeout));
            }

            if (range is not null)
            {
                request.Headers.Range = range;
            }

            foreach (var type in accept ?? [])
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            lock (_authLock)
            {
                if (_auth.TryGetValue(authKey, out var header))
                {
                    request.Headers.Authorization = header;
                }
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EndpointException($"timed out after {_options.RequestTimeout.TotalSeconds:0} s", retryHere: true);
            }
            catch (Exception e) when (Find<DigestMismatchException>(e) is { } corrupt)
            {
                // A body that failed its own check: nothing to retry, the source is wrong.
                throw corrupt;
            }
            catch (HttpRequestException e)
            {
                throw new EndpointException(Describe(e), retryHere: e.InnerException is not AuthenticationException);
            }

            if (response.IsSuccessStatusCode || (notFoundIsAnswer && response.StatusCode == HttpStatusCode.NotFound))
            {
                return response;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Unauthorized && round == 0 && request.Headers.Authorization is null)
                {
                    var header = await AuthenticateAsync(registry, endpoint, repository, access, response, cancellationToken).ConfigureAwait(false);
                    lock (_authLock)
                    {
                        _auth[authKey] = header;
                    }

                    continue;
                }

                var body = await ErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                throw response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                        new EndpointException($"authentication failed for {registry} ({status} {body})", fatal: IsOrigin(registry, endpoint)) { Status = status, Body = body },
                    HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError =>
                        new EndpointException($"{status} {body}", retryHere: true) { RetryAfter = RetryAfter(response) },
                    HttpStatusCode.RequestedRangeNotSatisfiable =>
                        new EndpointException($"{status}: the partial download cannot be resumed", retryHere: true),
                    _ => new EndpointException($"{status} {body}") { Status = status, Body = body },
                };
            }
        }
    }

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(string registry, Uri endpoint, string repository, Access access, HttpResponseMessage challenge, CancellationToken cancellationToken)
    {
        var credential = _options.Credentials.For(endpoint.IsLoopback || !IsOrigin(registry, endpoint) ? endpoint.Authority : registry)
            ?? _options.Credentials.For(registry);
        var www = challenge.Headers.WwwAuthenticate.FirstOrDefault();
        if (www is null)
        {
            throw new EndpointException($"authentication failed for {registry}: 401 without a challenge");
        }

        if (www.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return credential is null
                ? throw new EndpointException($"authentication failed for {registry}: it asks for a login and none is configured (docker login, or ~/.docker/config.json)", fatal: IsOrigin(registry, endpoint))
                : Basic(credential);
        }

        if (!www.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new EndpointException($"authentication failed for {registry}: unsupported scheme {www.Scheme}");
        }

        var parameters = ParseChallenge(www.Parameter ?? string.Empty);
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw new EndpointException($"authentication failed for {registry}: the token challenge has no realm");
        }

        var query = new StringBuilder();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        // A pull takes the scope the challenge names; a push asks for push, and pull on the repository a blob is mounted from.
        IEnumerable<string> scopes = access == Access.Pull
            ? [parameters.GetValueOrDefault("scope") ?? $"repository:{repository}:pull"]
            : access.Scopes(repository);
        foreach (var scope in scopes)
        {
            query.Append(query.Length > 0 ? "&" : string.Empty).Append("scope=").Append(Uri.EscapeDataString(scope));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realmUri) { Query = query.ToString() }.Uri);
        if (credential is not null)
        {
            request.Headers.Authorization = Basic(credential);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new EndpointException($"authentication failed for {registry} ({(int)response.StatusCode} from its token service)", fatal: IsOrigin(registry, endpoint));
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        var token = json.RootElement.TryGetProperty("token", out var t) ? t.GetString()
            : json.RootElement.TryGetProperty("access_token", out var a) ? a.GetString() : null;
        return string.IsNullOrEmpty(token)
            ? throw new EndpointException($"authentication failed for {registry}: the token service returned no token")
            : new AuthenticationHeaderValue("Bearer", token);
    }

    private bool IsOrigin(string registry, Uri endpoint) => _options.Mirrors.RegistryEndpoints(registry)[^1] == endpoint;

    private static AuthenticationHeaderValue Basic(RegistryCredential c) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.Username}:{c.Password}")));

    /// <summary>Parses key="value" pairs of a WWW-Authenticate parameter (values may hold commas).</summary>
    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var eq = parameter.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var key = parameter[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                end = end < 0 ? parameter.Length : end;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end].Trim();
                i = end;
            }

            result[key] = value;
        }

        return result;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var delta = response.Headers.RetryAfter?.Delta;
        return delta is { } d && d < TimeSpan.FromSeconds(30) ? d : null;
    }

    private static async Task<string> ErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.TryGetProperty("errors", out var errors) && errors.GetArrayLength() > 0)
            {
                var e = errors[0];
                return $"{e.GetProperty("code").GetString()}: {(e.TryGetProperty("message", out var m) ? m.GetString() : string.Empty)}";
            }
        }
        catch (JsonException)
        {
            // Not the registry's JSON error shape: show the start of what it said.
        }

        return text.Length > 200 ? text[..200] : text.Trim();
    }

    private static string Describe(HttpRequestException e) =>
        e.InnerException is AuthenticationException ? $"TLS failed: {e.InnerException.Message}" : e.Message;

    private static SocketsHttpHandler CreateHandler(MirrorConfig mirrors)
    {
        var cas = mirrors.CaFiles.ToDictionary(kv => kv.Key, kv => X509CertificateLoader.LoadCertificateFromFile(kv.Value), StringComparer.OrdinalIgnoreCase);
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 16,
        };
        if (cas.Count > 0)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                // The TLS layer knows the host name, not the port: a CA named for host:port serves that host.
                var host = (sender as SslStream)?.TargetHostName;
                var ca = host is null ? null : cas.FirstOrDefault(kv => kv.Key == host || kv.Key.Split(':')[0] == host).Value;
                if (ca is null || certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                // Trust the registry's own CA for that registry alone.
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.Add(ca);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return custom.Build(new X509Certificate2(certificate));
            };
        }

        return handler;
    }

    /// <summary>What one endpoint answered, and whether to try again there, try the next, or stop.</summary>
    /// <remarks>Neither retrying here nor fatal: the next endpoint is tried.</remarks>
    private sealed class EndpointException(string message, bool retryHere = false, bool fatal = false, Exception? inner = null)
        : Exception(message, inner)
    {
        public bool RetryHere { get; } = retryHere;

        public bool Fatal { get; } = fatal;

        public TimeSpan? RetryAfter { get; init; }

        /// <summary>The HTTP status the registry answered, when it answered one.</summary>
        public int? Status { get; init; }

        /// <summary>The registry's error, as ErrorBodyAsync renders it.</summary>
        public string? Body { get; init; }
    }

    /// <summary>What a request needs a token for: pulling, or pushing (and pulling the repository a blob is mounted from).</summary>
    private sealed record Access(bool Push, string? MountFrom = null)
    {
        public static readonly Access Pull = new(false);

        public IEnumerable<string> Scopes(string repository) =>
            MountFrom is null ? [$"repository:{repository}:pull,push"] : [$"repository:{repository}:pull,push", $"repository:{MountFrom}:pull"];

        public override string ToString() => Push ? "push" + (MountFrom is null ? string.Empty : " from " + MountFrom) : "pull";
    }
}
