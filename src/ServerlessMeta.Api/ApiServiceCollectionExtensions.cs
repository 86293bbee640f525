using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ServerlessMeta.Api;

/// <summary>Limits of the HTTP API (configuration section <c>SMETA_API</c>, e.g. <c>SMETA_API__MAXREQUESTBODYBYTES</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "SMETA_API";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;
}

public static class ApiServiceCollectionExtensions
{
    /// <summary>Registers <see cref="ServerlessMetaApi"/> (after storage and the application services).</summary>
    public static IServiceCollection AddServerlessMetaApi(this IServiceCollection services, Action<ApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ServerlessMetaApi>();
        return services;
    }
}
