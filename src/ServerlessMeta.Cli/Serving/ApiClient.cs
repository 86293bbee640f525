using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// A small client of the HTTP API (docs/api.md): JSON in and out, the key in <c>x-functions-key</c>,
/// problem+json errors turned into <see cref="ApiException"/>.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    public const string KeyHeader = "x-functions-key";

    /// <summary>camelCase, nulls left out: the wire format of the API.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;

    public ApiClient(Uri baseAddress, string? key, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var root = baseAddress.ToString().TrimEnd('/') + "/";
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 256,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = new Uri(root),
            Timeout = timeout ?? TimeSpan.FromMinutes(5),
        };
        if (!string.IsNullOrEmpty(key))
        {
            _http.DefaultRequestHeaders.Add(KeyHeader, key);
        }

        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        BaseAddress = _http.BaseAddress;
    }

    public Uri BaseAddress { get; }

    public static string Escape(string value) => Uri.EscapeDataString(value);

    public Task<JsonNode?> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonNode?> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    public async Task<T> PostAsync<T>(string path, object? body, CancellationToken cancellationToken)
    {
        var node = await PostAsync(path, body, cancellationToken).ConfigureAwait(false);
        return Convert<T>(node, path);
    }

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        var node = await GetAsync(path, cancellationToken).ConfigureAwait(false);
        return Convert<T>(node, path);
    }

    /// <summary>Sends one request; the body (any object, or a <see cref="JsonNode"/>) is serialised as camelCase JSON.</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var (_, node) = await SendRawAsync(method, path, body, cancellationToken).ConfigureAwait(false);
        return node;
    }

    /// <summary>Like <see cref="SendAsync"/> and also returns the status code.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendRawAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            var bytes = body is JsonNode json
                ? Encoding.UTF8.GetBytes(json.ToJsonString(Json))
                : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json);
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        JsonNode? node = null;
        if (!string.IsNullOrWhiteSpace(text))
        {
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException) when (!response.IsSuccessStatusCode)
            {
                // A non-JSON error page: reported below with its text.
            }
        }

        if (!response.IsSuccessStatusCode)
        {
            throw ApiException.From(response.StatusCode, response.ReasonPhrase, method, path, node, text);
        }

        return (response.StatusCode, node);
    }

    public void Dispose() => _http.Dispose();

    private static T Convert<T>(JsonNode? node, string path) =>
        node is null
            ? throw new InvalidDataException($"{path}: the response had no body.")
            : node.Deserialize<T>(Json) ?? throw new InvalidDataException($"{path}: the response body was null.");
}

/// <summary>An HTTP error answered by the API, with its RFC 9457 problem when it sent one.</summary>
internal sealed class ApiException : Exception
{
    public ApiException()
    {
    }

    public ApiException(string message)
        : base(message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private ApiException(HttpStatusCode status, string message, string? title, string? detail, string? field, string? type)
        : base(message)
    {
        Status = status;
        Title = title;
        Detail = detail;
        Field = field;
        ProblemType = type;
    }

    public HttpStatusCode Status { get; }

    public string? Title { get; }

    public string? Detail { get; }

    public string? Field { get; }

    public string? ProblemType { get; }

    /// <summary>True for 4xx: the request was wrong (exit code 2).</summary>
    public bool IsClientError => (int)Status is >= 400 and < 500;

    public static ApiException From(HttpStatusCode status, string? reason, HttpMethod method, string path, JsonNode? problem, string text)
    {
        var title = Text(problem, "title");
        var detail = Text(problem, "detail");
        var field = Text(problem, "field");
        var type = Text(problem, "type");
        if (title is null && detail is null && !string.IsNullOrWhiteSpace(text))
        {
            detail = text.Length > 500 ? text[..500] + "..." : text;
        }

        var message = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{(int)status} {reason ?? status.ToString()}"));
        if (title is not null)
        {
            message.Append(": ").Append(title);
        }

        if (detail is not null && detail != title)
        {
            message.Append(title is null ? ": " : " ").Append(detail);
        }

        if (field is not null)
        {
            message.Append(" (field: ").Append(field).Append(')');
        }

        message.Append(" [").Append(method.Method).Append(" /").Append(path.TrimStart('/')).Append(']');
        return new ApiException(status, message.ToString(), title, detail, field, type);
    }

    private static string? Text(JsonNode? node, string name) =>
        node is JsonObject o && o.TryGetPropertyValue(name, out var value) && value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
