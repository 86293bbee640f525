using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>Registers the storage clients and stores.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BlobServiceClient"/> and <see cref="TableServiceClient"/> through
    /// Microsoft.Extensions.Azure, and <see cref="CategoryRegistry"/>, <see cref="DatasetStore"/>,
    /// <see cref="MetaModelRegistry"/>, <see cref="RunArtifactStore"/>, <see cref="EmbeddingCache"/> and <see cref="StorageMaintenance"/> as singletons, from the setting
    /// <paramref name="settingName"/> of the builder's configuration (see <see cref="StorageOptions"/>).
    /// </summary>
    public static IHostApplicationBuilder AddServerlessMetaStorage(this IHostApplicationBuilder builder, string settingName = StorageOptions.DefaultSettingName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddServerlessMetaStorage(builder.Configuration, settingName);
        return builder;
    }

    /// <summary>
    /// As <see cref="AddServerlessMetaStorage(IHostApplicationBuilder, string)"/>. A connection string
    /// (the setting's value) selects shared-key or emulator access; otherwise the service URIs are used with
    /// <see cref="DefaultAzureCredential"/> (managed identity in Azure). Throws
    /// <see cref="InvalidOperationException"/> naming the setting when neither is configured.
    /// </summary>
    public static IServiceCollection AddServerlessMetaStorage(this IServiceCollection services, IConfiguration configuration, string settingName = StorageOptions.DefaultSettingName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(settingName);

        var section = configuration.GetSection(settingName);
        var configured = StorageOptions.FromConfiguration(configuration, settingName);
        configured.Validate(settingName);

        services.AddOptions<StorageOptions>().Configure(options => StorageOptions.Bind(section, options));
        services.AddAzureClients(clients =>
        {
            clients.ConfigureDefaults(options => configured.ApplyTo(options));
            if (configured.UsesConnectionString)
            {
                clients.AddBlobServiceClient(configured.ConnectionString);
                clients.AddTableServiceClient(configured.ConnectionString);
            }
            else
            {
                var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = configured.ClientId });
                clients.AddBlobServiceClient(configured.ResolveBlobServiceUri()).WithCredential(credential);
                clients.AddTableServiceClient(configured.ResolveTableServiceUri()).WithCredential(credential);
            }
        });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            options.Validate(settingName);
            return new StorageContext(
                provider.GetRequiredService<BlobServiceClient>(),
                provider.GetRequiredService<TableServiceClient>(),
                options,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance);
        });
        services.TryAddSingleton(provider => new CategoryRegistry(provider.GetRequiredService<StorageContext>(), provider.GetRequiredService<DatasetStore>()));
        services.TryAddSingleton(provider => new DatasetStore(provider.GetRequiredService<StorageContext>()));
        services.TryAddSingleton(provider => new MetaModelRegistry(provider.GetRequiredService<StorageContext>()));
        services.TryAddSingleton(provider => new RunArtifactStore(provider.GetRequiredService<StorageContext>()));
        services.TryAddSingleton(provider => new EmbeddingCache(provider.GetRequiredService<StorageContext>()));
        services.TryAddSingleton(provider => new StorageMaintenance(
            provider.GetRequiredService<StorageContext>(),
            provider.GetRequiredService<CategoryRegistry>(),
            provider.GetRequiredService<MetaModelRegistry>()));
        return services;
    }
}
