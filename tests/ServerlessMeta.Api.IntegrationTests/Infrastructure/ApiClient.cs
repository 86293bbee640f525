using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>One exchange with the server, fully read, printable for failure messages.</summary>
public sealed class ApiResponse
{
    private JsonNode? _json;
    private bool _parsed;

    public required string Request { get; init; }

    public required string? RequestBody { get; init; }

    public required HttpStatusCode StatusCode { get; init; }

    public int Status => (int)StatusCode;

    public required string? MediaType { get; init; }

    public required Uri? Location { get; init; }

    public required byte[] Bytes { get; init; }

    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>The body as JSON; fails the test when it is not JSON.</summary>
    public JsonNode Json
    {
        get
        {
            if (!_parsed)
            {
                try
                {
                    _json = JsonNode.Parse(Bytes);
                }
                catch (JsonException ex)
                {
                    Assert.Fail($"The body is not JSON ({ex.Message}): {this}");
                }

                _parsed = true;
            }

            return _json ?? throw new InvalidOperationException($"The body is JSON null: {this}");
        }
    }

    public override string ToString()
    {
        var body = MediaType is { } type && (type.Contains("json", StringComparison.OrdinalIgnoreCase) || type.StartsWith("text/", StringComparison.OrdinalIgnoreCase))
            ? Truncate(Text, 1500)
            : $"<{Bytes.Length} bytes>";
        return $"{Request}{(RequestBody is null ? string.Empty : " " + Truncate(RequestBody, 300))} -> {Status} {StatusCode} [{MediaType ?? "no content type"}]{(Location is null ? string.Empty : " Location: " + Location)} {body}";
    }

    internal static string Truncate(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length), $"... ({text.Length} characters)");
}

/// <summary>
/// An HTTP client of the API over real HTTP. Every response is read fully; a 5xx fails the test at once
/// (the contract: a client's mistake never gets a 500) with the server's recent warnings and errors.
/// </summary>
public sealed class ApiClient : IDisposable
{
    public const string KeyHeader = "x-functions-key";

    private readonly HttpClient _http;
    private readonly ServerLog _log;

    public ApiClient(Uri baseAddress, string? key, ServerLog log)
    {
        _log = log;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(3),
        };
        if (key is not null)
        {
            _http.DefaultRequestHeaders.Add(KeyHeader, key);
        }
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public Task<ApiResponse> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path), null);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), null);

    public Task<ApiResponse> PostAsync(string path, JsonNode? body) =>
        body is null ? PostRawAsync(path, null) : PostRawAsync(path, body.ToJsonString());

    /// <summary>POSTs <paramref name="raw"/> verbatim as application/json (null: no body at all).</summary>
    public Task<ApiResponse> PostRawAsync(string path, string? raw, string mediaType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (raw is not null)
        {
            request.Content = new StringContent(raw, Encoding.UTF8, mediaType);
        }

        return SendAsync(request, raw);
    }

    /// <summary>POSTs <paramref name="raw"/> with chunked transfer encoding (no Content-Length).</summary>
    public Task<ApiResponse> PostChunkedAsync(string path, string raw)
    {
        var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(raw)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        return SendAsync(request, raw);
    }

    public async Task<ApiResponse> SendAsync(HttpRequestMessage request, string? bodyForMessages)
    {
        ArgumentNullException.ThrowIfNull(request);
        using (request)
        {
            var description = $"{request.Method} /{request.RequestUri?.ToString().TrimStart('/')}";
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            }
            catch (HttpRequestException ex)
            {
                Assert.Fail($"{description}: no HTTP response ({ex.Message}).\nServer log (warnings and errors):\n{_log.Recent()}");
                throw;
            }

            using (response)
            {
                var result = new ApiResponse
                {
                    Request = description,
                    RequestBody = bodyForMessages,
                    StatusCode = response.StatusCode,
                    MediaType = response.Content.Headers.ContentType?.MediaType,
                    Location = response.Headers.Location,
                    Bytes = await response.Content.ReadAsByteArrayAsync(),
                };
                if (result.Status >= 500)
                {
                    Assert.Fail($"The server answered {result.Status}, which a client's request must never get: {result}\nServer log (warnings and errors):\n{_log.Recent()}");
                }

                return result;
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 4096));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
