using Microsoft.Extensions.Logging;

namespace ServerlessMeta.LocalHost;

/// <summary>How <see cref="LocalServer"/> starts.</summary>
public sealed class LocalServerOptions
{
    /// <summary>Environment variable holding the API key requests must carry.</summary>
    public const string ApiKeyVariable = "SMETA_API_KEY";

    /// <summary>Loopback port to listen on; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Storage connection string; null starts a private in-memory Azurite from the repository's node_modules (an empty value is refused).</summary>
    public string? StorageConnectionString { get; set; }

    /// <summary>The key requests must carry in <c>x-functions-key</c> or <c>?code=</c>; null generates one.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Durable task hub name.</summary>
    public string TaskHubName { get; set; } = "smetalocal";

    /// <summary>NCRONTAB schedule of retraining (six fields); null or empty disables the schedule.</summary>
    public string? RetrainSchedule { get; set; } = "0 0 3 * * *";

    /// <summary>Largest request body accepted (413 above).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Text features of new models: minilm or hashed; null takes the SMETA_TEXT_ENCODER environment variable (default minilm).</summary>
    public string? TextEncoder { get; set; }

    /// <summary>
    /// Further configuration over the environment's, in configuration-key form: for example
    /// <c>SMETA_API:RequestTimeout</c> = <c>00:00:03</c> or <c>SMETA_STORAGE:NetworkTimeout</c> = <c>00:00:01</c>.
    /// </summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Logging configuration (default: warnings and above to the console).</summary>
    public Action<ILoggingBuilder>? Logging { get; set; }
}
