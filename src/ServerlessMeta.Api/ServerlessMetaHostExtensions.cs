using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Orchestration;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Api;

/// <summary>
/// The one set-up of the service, used by both hosts (the Functions app and the local host): the storage check,
/// every registration and the warm-up. The hosts add only what is theirs (the Functions runtime; Kestrel, the
/// local durable engine and the key check).
/// </summary>
public static class ServerlessMetaHostExtensions
{
    /// <summary>The setting that holds the storage connection string or the identity-based service URIs.</summary>
    public const string StorageSetting = StorageOptions.DefaultSettingName;

    /// <summary>
    /// Checks <see cref="StorageSetting"/> (parsed, then one call to the blob and table services under
    /// <c>SMETA_STORAGE__STARTUPTIMEOUT</c>) and then calls <see cref="AddServerlessMeta"/>. A bad setting throws
    /// <see cref="StorageConfigurationException"/> with one line naming it, before anything is registered.
    /// </summary>
    public static async Task<IHostApplicationBuilder> AddServerlessMetaAsync(this IHostApplicationBuilder builder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        await StorageStartupCheck.VerifyAsync(builder.Configuration, StorageSetting, cancellationToken).ConfigureAwait(false);
        return builder.AddServerlessMeta();
    }

    /// <summary>
    /// Registers storage (setting <see cref="StorageSetting"/>), the application services, the HTTP API's handlers
    /// (<see cref="ServerlessMetaApi"/>, limits from section <see cref="ApiOptions.SectionName"/>),
    /// <see cref="RetrainingScheduler"/> (section <see cref="RetrainingOptions.SectionName"/>), the pretraining
    /// orchestrator and activity classes, OpenTelemetry (Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>
    /// is set) and the warm-up that loads libtorch and the text encoder when the host starts, not in its first request.
    /// </summary>
    public static IHostApplicationBuilder AddServerlessMeta(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServerlessMetaStorage(StorageSetting);

        var services = builder.Services;
        services.AddServerlessMetaApplication();
        services.AddServerlessMetaApi();
        builder.AddServerlessMetaTelemetry();
        services.AddOptions<RetrainingOptions>().Bind(builder.Configuration.GetSection(RetrainingOptions.SectionName));
        services.TryAddSingleton<RetrainingScheduler>();
        foreach (var (_, type) in PretrainingTasks.Orchestrators.Concat(PretrainingTasks.Activities))
        {
            services.TryAddSingleton(type);
        }

        services.AddHostedService<WarmUp>();
        return builder;
    }

    /// <summary>Loads libtorch and the default text encoder as the host starts (they cost about a second).</summary>
    private sealed class WarmUp(TextEncoders encoders) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            CategoryService.WarmUp();
            encoders.WarmUp();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
