using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Api;
using ServerlessMeta.Application;
using ServerlessMeta.Orchestration;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Functions;

/// <summary>Registers everything the Functions app's functions need, in one call from <c>Program.cs</c>.</summary>
public static class ServerlessMetaFunctionsExtensions
{
    /// <summary>
    /// Registers storage (setting <see cref="StorageOptions.DefaultSettingName"/>), the application
    /// services, the HTTP API's handlers (<see cref="ServerlessMetaApi"/>, limits from section
    /// <see cref="ApiOptions.SectionName"/>), <see cref="RetrainingScheduler"/> (options from section
    /// <see cref="RetrainingOptions.SectionName"/>) and the pretraining orchestrator and activity classes that the
    /// durable wrapper functions run, and OpenTelemetry (Azure Monitor when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set).
    /// </summary>
    public static IHostApplicationBuilder AddServerlessMeta(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServerlessMetaStorage();

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

        return builder;
    }
}
