using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ServerlessMeta.Api;

/// <summary>Limits of the HTTP API (configuration section <c>SMETA_API</c>, e.g. <c>SMETA_API__MAXREQUESTBODYBYTES</c>, <c>SMETA_API__REQUESTTIMEOUT=00:00:10</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "SMETA_API";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Deadline of one request: reading its body, every storage call and the work between them. A request still
    /// waiting on storage when it passes answers 503 (type <c>storage-unavailable</c>) with <c>Retry-After</c>; a body
    /// still arriving answers 400 (field <c>body</c>).
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of <c>GET /api/health</c>: past it, health answers its own 503 verdict.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The <c>Retry-After</c> of a 503: how long a caller should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the setting that is out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string range)
        {
            if (!ok)
            {
                throw new InvalidOperationException($"{SectionName}__{name} must be {range}; got {value}.");
            }
        }

        Check(MaxRequestBodyBytes >= 1024, nameof(MaxRequestBodyBytes), MaxRequestBodyBytes, "at least 1024");
        Check(RequestTimeout > TimeSpan.Zero && RequestTimeout <= TimeSpan.FromMinutes(10), nameof(RequestTimeout), RequestTimeout, "between 0 and 10 minutes (for example 00:00:10)");
        Check(HealthTimeout > TimeSpan.Zero && HealthTimeout <= RequestTimeout, nameof(HealthTimeout), HealthTimeout, "positive and at most RequestTimeout");
        Check(RetryAfter >= TimeSpan.FromSeconds(1) && RetryAfter <= TimeSpan.FromHours(1), nameof(RetryAfter), RetryAfter, "between 1 second and 1 hour");
    }
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

        options.Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ServerlessMetaApi>();
        return services;
    }
}
