using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Application;

/// <summary>Registers the application services (after <c>AddServerlessMetaStorage</c>).</summary>
public static class ApplicationServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PretrainingService"/> and <see cref="CategoryService"/> as singletons (they cache
    /// data, checkpoints and models per process).
    /// </summary>
    public static IServiceCollection AddServerlessMetaApplication(this IServiceCollection services, Action<PretrainingServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PretrainingServiceOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddLogging();
        services.AddOptions<CategoryServiceOptions>();
        services.TryAddSingleton<PretrainingService>();
        services.TryAddSingleton<CategoryService>();
        return services;
    }
}
