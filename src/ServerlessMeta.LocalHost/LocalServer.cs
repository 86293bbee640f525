using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Api;
using ServerlessMeta.Application;
using ServerlessMeta.Orchestration.Local;

namespace ServerlessMeta.LocalHost;

/// <summary>
/// The whole service in one process: the HTTP routes of the Functions app (same handlers) on a loopback
/// port, the Durable Task worker and client on Azure Storage, the retraining schedule, and (when no
/// storage is configured) a private Azurite, all stopped on dispose.
/// </summary>
public sealed class LocalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LocalDurableWorker _worker;
    private readonly LocalAzurite? _azurite;
    private bool _disposed;

    private LocalServer(WebApplication app, LocalDurableWorker worker, LocalAzurite? azurite, Uri baseAddress, string apiKey, bool apiKeyGenerated, string storage)
    {
        _app = app;
        _worker = worker;
        _azurite = azurite;
        BaseAddress = baseAddress;
        ApiKey = apiKey;
        ApiKeyGenerated = apiKeyGenerated;
        StorageConnectionString = storage;
    }

    /// <summary>http://127.0.0.1:PORT/ (the API is under <c>api/</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The key requests must carry.</summary>
    public string ApiKey { get; }

    /// <summary>True when the key was generated (no key configured).</summary>
    public bool ApiKeyGenerated { get; }

    /// <summary>The storage in use.</summary>
    public string StorageConnectionString { get; }

    /// <summary>True when this server started its own Azurite.</summary>
    public bool StartedAzurite => _azurite is not null;

    /// <summary>The host's services (storage, application services, durable client).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts everything and returns once the routes answer.</summary>
    public static async Task<LocalServer> StartAsync(LocalServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "Port must be between 0 and 65535.");
        }

        var generated = string.IsNullOrEmpty(options.ApiKey);
        var apiKey = generated ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_') : options.ApiKey!;
        // No storage given: a private Azurite. Given (even blank: that is reported, not replaced): checked at set-up.
        var azurite = options.StorageConnectionString is null ? await LocalAzurite.StartAsync().ConfigureAwait(false) : null;
        var storage = azurite?.ConnectionString ?? options.StorageConnectionString!;
        WebApplication? app = null;
        LocalDurableWorker? worker = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(LocalServer).Assembly.GetName().Name, Args = [] });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [ServerlessMetaHostExtensions.StorageSetting] = storage,
                [$"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)}"] = options.MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
            builder.Configuration.AddInMemoryCollection(options.Settings);
            if (options.TextEncoder is { } textEncoder)
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [TextFeaturesOptions.SettingName] = textEncoder });
            }

            builder.Logging.ClearProviders();
            if (options.Logging is { } logging)
            {
                logging(builder.Logging);
            }
            else
            {
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning).AddFilter("Azure.Core", LogLevel.Error);
            }

            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, options.Port);
                kestrel.Limits.MaxRequestBodySize = Math.Max(options.MaxRequestBodyBytes * 2, 1024 * 1024);
            });

            // Configured storage: fail now, in one line naming the setting, rather than at the first request.
            if (azurite is null)
            {
                await builder.AddServerlessMetaAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                builder.AddServerlessMeta();
            }

            builder.Services.AddLocalDurableEngine(options.TaskHubName);
            if (!string.IsNullOrWhiteSpace(options.RetrainSchedule))
            {
                builder.Services.AddSingleton(new RetrainingSchedule(options.RetrainSchedule));
                builder.Services.AddHostedService<RetrainingTimer>();
            }

            app = builder.Build();
            app.UseRouting();
            app.UseMiddleware<FunctionKeyMiddleware>(apiKey);
            app.MapServerlessMetaApi();

            worker = await LocalDurableWorker.StartAsync(app.Services.GetRequiredService<LocalDurableClient>(), app.Services, cancellationToken).ConfigureAwait(false);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            var port = new Uri(address).Port;
            return new LocalServer(app, worker, azurite, new Uri($"http://127.0.0.1:{port}/"), apiKey, generated, storage);
        }
        catch
        {
            if (worker is not null)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }

            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            azurite?.Dispose();
            throw;
        }
    }

    /// <summary>Stops taking requests and work items, then stops the private Azurite.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _worker.DisposeAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _azurite?.Dispose();
        }
    }
}
