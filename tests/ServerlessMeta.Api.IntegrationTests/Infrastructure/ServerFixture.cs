using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.LocalHost;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>
/// One real <see cref="LocalServer"/> per test class: its own private Azurite (in-memory), the durable
/// worker, the HTTP routes on a loopback port. The retraining schedule is off so that no run starts
/// behind a test's back.
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private LocalServer? _server;
    private ApiClient? _api;
    private ApiClient? _anonymous;

    protected ServerFixture()
    {
        Log = new ServerLog(GetType().Name);
    }

    /// <summary>The key the server is configured with.</summary>
    public string Key { get; } = "itest-" + Guid.NewGuid().ToString("N");

    public ServerLog Log { get; }

    public LocalServer Server => _server ?? throw new InvalidOperationException("The server did not start.");

    /// <summary>A client sending the right key.</summary>
    public ApiClient Api => _api ?? throw new InvalidOperationException("The server did not start.");

    /// <summary>A client sending no key.</summary>
    public ApiClient Anonymous => _anonymous ?? throw new InvalidOperationException("The server did not start.");

    /// <summary>A client sending <paramref name="key"/> (null: none); the caller disposes it.</summary>
    public ApiClient WithKey(string? key) => new(Server.BaseAddress, key, Log);

    public async Task InitializeAsync()
    {
        var options = new LocalServerOptions
        {
            Port = 0,
            StorageConnectionString = null,
            ApiKey = Key,
            TaskHubName = "itest" + Guid.NewGuid().ToString("N")[..8],
            RetrainSchedule = null,
            Logging = builder =>
            {
                builder.ClearProviders();
                builder.SetMinimumLevel(LogLevel.Warning);
                builder.AddProvider(Log);
            },
        };
        Configure(options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _server = await LocalServer.StartAsync(options, timeout.Token);
        Assert.Equal(Key, _server.ApiKey);
        Assert.False(_server.ApiKeyGenerated, "A configured key must not be reported as generated.");
        Assert.True(_server.StartedAzurite, "With no storage configured the server must start its own Azurite.");
        Assert.Equal("127.0.0.1", _server.BaseAddress.Host);
        _api = new ApiClient(_server.BaseAddress, Key, Log);
        _anonymous = new ApiClient(_server.BaseAddress, null, Log);
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        _anonymous?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Log.Dispose();
    }

    protected virtual void Configure(LocalServerOptions options)
    {
    }
}

/// <summary>The user journey's server (it pretrains a meta-model).</summary>
public sealed class JourneyServer : ServerFixture;

/// <summary>The bad-input server: categories adapted from scratch, never a meta-model.</summary>
public sealed class BadInputServer : ServerFixture
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _existing;

    /// <summary>The examples of <see cref="ExistingCategoryAsync"/>: 3 labels of 3 examples, 16 numeric features and text.</summary>
    public IReadOnlyList<LabelledItem> ExistingExamples { get; } = TestData.Small("existing", 0, labels: 3, perLabel: 3);

    /// <summary>A category created once (version 1) for the tests that send bad input to an existing category.</summary>
    public async Task<string> ExistingCategoryAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_existing is null)
            {
                var id = TestData.NewId("existing");
                (await Api.PostAsync("api/categories", TestData.CreateBody(id, ExistingExamples))).HasStatus(201);
                _existing = id;
            }

            return _existing;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The concurrency server.</summary>
public sealed class ConcurrencyServer : ServerFixture;

public sealed class IntegrityServer : ServerFixture;

/// <summary>A server with a small body limit and (nearly) no data.</summary>
public sealed class SmallBodyServer : ServerFixture
{
    public const long Limit = 16 * 1024;

    protected override void Configure(LocalServerOptions options) => options.MaxRequestBodyBytes = Limit;
}
