using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Application;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>Registers the local Durable Task engine's client on the storage the service already uses.</summary>
public static class LocalDurableServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LocalDurableClient"/> (also as <see cref="IPretrainingRuns"/>) on task hub
    /// <paramref name="taskHubName"/> of the configured storage (its connection string, network timeout and retry
    /// budget), under the application's worker id. Call after the storage and application registrations.
    /// </summary>
    public static IServiceCollection AddLocalDurableEngine(this IServiceCollection services, string taskHubName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(taskHubName);
        services.TryAddSingleton(provider =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            var engine = new LocalEngineOptions
            {
                ConnectionString = storage.ConnectionString is { Length: > 0 } connection
                    ? connection
                    : throw new InvalidOperationException($"The local durable engine needs a storage connection string in {StorageOptions.DefaultSettingName}."),
                TaskHubName = taskHubName,
                WorkerId = provider.GetRequiredService<IOptions<PretrainingServiceOptions>>().Value.WorkerId,
                StoragePolicy = storage,
            };
            return new LocalDurableClient(engine, provider.GetRequiredService<ILoggerFactory>());
        });
        services.TryAddSingleton<IPretrainingRuns>(provider => provider.GetRequiredService<LocalDurableClient>());
        return services;
    }
}
