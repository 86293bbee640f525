using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ServerlessMeta.LocalHost;

namespace ServerlessMeta.Cli.Tests;

/// <summary>
/// One in-process <see cref="LocalServer"/> for the client-command tests: a private Azurite (or
/// SMETA_TEST_STORAGE when set), a fixed key, no retraining schedule.
/// </summary>
public sealed class LocalServerFixture : IAsyncLifetime
{
    public const string Key = "cli-test-key";

    private LocalServer? _server;

    public LocalServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>http://127.0.0.1:P (for --url).</summary>
    public string Url => Server.BaseAddress.ToString().TrimEnd('/');

    public HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        var storage = Environment.GetEnvironmentVariable("SMETA_TEST_STORAGE");
        _server = await LocalServer.StartAsync(new LocalServerOptions
        {
            Port = 0,
            StorageConnectionString = string.IsNullOrWhiteSpace(storage) ? null : storage,
            ApiKey = Key,
            RetrainSchedule = null,
            TaskHubName = "clitest" + Guid.NewGuid().ToString("N")[..8],
            Logging = logging => logging.SetMinimumLevel(LogLevel.Error),
        });
        Http.BaseAddress = Server.BaseAddress;
        Http.DefaultRequestHeaders.Add("x-functions-key", Key);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>GET through plain HttpClient (what the CLI should agree with).</summary>
    public async Task<(int Status, JsonNode? Body)> GetAsync(string path)
    {
        using var response = await Http.GetAsync(path.TrimStart('/'));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text));
    }

    public async Task<int> PostAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(path.TrimStart('/'), body);
        return (int)response.StatusCode;
    }
}
