using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Application.Pretraining;

namespace ServerlessMeta.Application;

/// <summary>Registers the application services (after <c>AddServerlessMetaStorage</c>).</summary>
public static class ApplicationServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PretrainingService"/>, the pretraining steps (<see cref="PretrainingData"/>,
    /// <see cref="PretrainingCheckpoints"/>, <see cref="PretrainingEvaluation"/>, <see cref="PretrainingRounds"/>,
    /// <see cref="PretrainingRegistration"/>), <see cref="CategoryService"/> and <see cref="TextEncoders"/> as
    /// singletons (they cache data, checkpoints, models and the text encoder per process); the text features
    /// of new models come from the setting <see cref="TextFeaturesOptions.SettingName"/>.
    /// </summary>
    public static IServiceCollection AddServerlessMetaApplication(this IServiceCollection services, Action<PretrainingServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        // SMETA_PRETRAINING__INSTANCES, read from the host's configuration when it has one.
        services.AddOptions<PretrainingServiceOptions>()
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection(PretrainingServiceOptions.SectionName).Bind(options))
            .Validate(o => o.Instances is >= 1 and <= 1024, $"{PretrainingServiceOptions.SectionName}__INSTANCES must be between 1 and 1024.");
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddLogging();
        services.AddOptions<CategoryServiceOptions>();
        // SMETA_TEXT_ENCODER (minilm | hashed), read from the host's configuration when it has one; a bad
        // value stops start-up with one line naming the setting.
        services.AddOptions<TextFeaturesOptions>()
            .Configure<IServiceProvider>((options, provider) =>
            {
                if (provider.GetService<IConfiguration>()?[TextFeaturesOptions.SettingName] is { } value)
                {
                    options.TextEncoder = value;
                }
            })
            .Validate(o => TextFeaturesOptions.Names.Contains(o.TextEncoder.Trim().ToLowerInvariant()), $"{TextFeaturesOptions.SettingName} must be '{TextFeaturesOptions.MiniLm}' or '{TextFeaturesOptions.Hashed}'.")
            .ValidateOnStart();
        services.TryAddSingleton<TextEncoders>();
        services.TryAddSingleton<RunEmbeddings>();
        services.TryAddSingleton<PretrainingData>();
        services.TryAddSingleton<PretrainingCheckpoints>();
        services.TryAddSingleton<PretrainingEvaluation>();
        services.TryAddSingleton<PretrainingRounds>();
        services.TryAddSingleton<PretrainingRegistration>();
        services.TryAddSingleton<PretrainingService>();
        services.TryAddSingleton<CategoryService>();
        return services;
    }
}
