using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ServerlessMeta.Application;

/// <summary>Registers the application services (after <c>AddServerlessMetaStorage</c>).</summary>
public static class ApplicationServiceCollectionExtensions
{
    /// <summary>Registers <see cref="PretrainingService"/> as a singleton (it caches data and checkpoints per process).</summary>
    public static IServiceCollection AddServerlessMetaApplication(this IServiceCollection services, Action<PretrainingServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PretrainingServiceOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddLogging();
        services.TryAddSingleton<PretrainingService>();
        return services;
    }
}
