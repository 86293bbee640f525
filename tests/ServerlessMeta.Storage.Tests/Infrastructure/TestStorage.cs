using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Storage.Tests.Infrastructure;

/// <summary>
/// The stores wired exactly as production wires them (<c>AddServerlessMetaStorage</c> from configuration),
/// on a container and table of their own, with a clock the test moves, a hook on every storage request,
/// and the log events captured.
/// </summary>
internal sealed class TestStorage : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private TestStorage(ServiceProvider provider, string containerName, string tableName, ManualClock clock, RequestHook hook, CapturedLogs logs)
    {
        _provider = provider;
        ContainerName = containerName;
        TableName = tableName;
        Clock = clock;
        Hook = hook;
        Logs = logs;
    }

    public string ContainerName { get; }

    public string TableName { get; }

    public ManualClock Clock { get; }

    /// <summary>Sees (and can fail or hold) every request the stores send.</summary>
    public RequestHook Hook { get; }

    public CapturedLogs Logs { get; }

    public CategoryRegistry Categories => _provider.GetRequiredService<CategoryRegistry>();

    public DatasetStore Datasets => _provider.GetRequiredService<DatasetStore>();

    public MetaModelRegistry MetaModels => _provider.GetRequiredService<MetaModelRegistry>();

    public StorageMaintenance Maintenance => _provider.GetRequiredService<StorageMaintenance>();

    public RunArtifactStore Artifacts => _provider.GetRequiredService<RunArtifactStore>();

    /// <summary>Direct access for the tests (tampering, checking), bypassing the hook.</summary>
    public BlobContainerClient Container { get; private init; } = null!;

    public TableClient Table { get; private init; } = null!;

    public static TestStorage Create(AzuriteFixture azurite, IDictionary<string, string?>? settings = null)
    {
        var containerName = "t" + Guid.NewGuid().ToString("N")[..20];
        var tableName = "T" + Guid.NewGuid().ToString("N")[..20];
        var values = new Dictionary<string, string?>
        {
            ["SMETA_STORAGE"] = azurite.ConnectionString,
            ["SMETA_STORAGE:containerName"] = containerName,
            ["SMETA_STORAGE:tableName"] = tableName,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values["SMETA_STORAGE:" + key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var clock = new ManualClock();
        var hook = new RequestHook(tableName);
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddServerlessMetaStorage(configuration);
        services.AddAzureClients(clients => clients.ConfigureDefaults(options => options.AddPolicy(hook, HttpPipelinePosition.PerCall)));
        var provider = services.BuildServiceProvider();
        return new TestStorage(provider, containerName, tableName, clock, hook, logs)
        {
            Container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(containerName),
            Table = new TableServiceClient(azurite.ConnectionString).GetTableClient(tableName),
        };
    }

    public async ValueTask DisposeAsync()
    {
        Hook.Before = null;
        await _provider.DisposeAsync();
        await Container.DeleteIfExistsAsync();
        await Table.DeleteAsync();
    }
}

/// <summary>A clock that starts at the real time and moves only when told.</summary>
internal sealed class ManualClock : TimeProvider
{
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private TimeSpan _offset;

    public void Advance(TimeSpan by) => _offset += by;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + _offset;

    public DateTimeOffset Start => _start;
}

/// <summary>Counts storage requests and lets a test fail or hold chosen ones (a crash, a slow writer).</summary>
internal sealed class RequestHook(string tableName) : HttpPipelinePolicy
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Func<HttpMessage, ValueTask>? Before { get; set; }

    public bool IsTableRequest(HttpMessage message) => message.Request.Uri.Path.Contains("/" + tableName, StringComparison.Ordinal);

    /// <summary>The JSON body of a table request ("" otherwise).</summary>
    public string TableBody(HttpMessage message)
    {
        if (!IsTableRequest(message) || message.Request.Content is null)
        {
            return string.Empty;
        }

        using var buffer = new MemoryStream();
        message.Request.Content.WriteTo(buffer, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Holds every request whose path contains <paramref name="pathPart"/> until the gate is released;
    /// <see cref="RequestGate.Reached"/> completes when the first one arrives.
    /// </summary>
    public RequestGate HoldRequestsTo(string pathPart)
    {
        var gate = new RequestGate();
        Before = async message =>
        {
            if (message.Request.Uri.Path.Contains(pathPart, StringComparison.Ordinal))
            {
                await gate.ArriveAsync();
            }
        };
        return gate;
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _count);
        Before?.Invoke(message).AsTask().GetAwaiter().GetResult();
        ProcessNext(message, pipeline);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _count);
        if (Before is { } before)
        {
            await before(message);
        }

        await ProcessNextAsync(message, pipeline);
    }
}

/// <summary>Log events the stores wrote.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<(int EventId, LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._entries)
            {
                owner._entries.Add((eventId.Id, logLevel, formatter(state, exception)));
            }
        }
    }
}

/// <summary>A held request: <see cref="Reached"/> when it arrives, let through by <see cref="Release"/>.</summary>
internal sealed class RequestGate
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reached => _reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

    public void Release() => _released.TrySetResult();

    internal Task ArriveAsync()
    {
        _reached.TrySetResult();
        return _released.Task;
    }
}
