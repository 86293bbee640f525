using Microsoft.Extensions.Configuration;

namespace ServerlessMeta.Storage;

/// <summary>
/// Where the registry and datasets live. Bound from one configuration setting (by default
/// <see cref="DefaultSettingName"/>, the environment variable <c>SMETA_STORAGE</c>) whose shape picks the
/// authentication, never the environment's name:
/// <list type="bullet">
/// <item>a value: a connection string, <c>UseDevelopmentStorage=true</c> or Azurite's with explicit
/// endpoints, or an account key string;</item>
/// <item>children <c>blobServiceUri</c> and <c>tableServiceUri</c> (or <c>accountName</c>), optionally
/// <c>clientId</c> for a user-assigned managed identity: <c>DefaultAzureCredential</c>, the same keys as
/// the Functions host's identity-based <c>AzureWebJobsStorage__blobServiceUri</c>.</item>
/// </list>
/// Other children (<c>containerName</c>, <c>tableName</c>, ...) bind to the properties below.
/// </summary>
public sealed class StorageOptions
{
    /// <summary>The configuration key read by default: environment variable <c>SMETA_STORAGE</c>.</summary>
    public const string DefaultSettingName = "SMETA_STORAGE";

    /// <summary>Connection string (the setting's own value, or its <c>connectionString</c> child).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service endpoint, e.g. <c>https://account.blob.core.windows.net</c>, used with a token credential.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Table service endpoint, e.g. <c>https://account.table.core.windows.net</c>, used with a token credential.</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>Storage account name: stands for both public-cloud service URIs when they are not given.</summary>
    public string? AccountName { get; set; }

    /// <summary>Client id of a user-assigned managed identity (identity-based configuration only).</summary>
    public string? ClientId { get; set; }

    /// <summary>Blob container holding models, checkpoints and datasets.</summary>
    public string ContainerName { get; set; } = "serverlessmeta";

    /// <summary>Table holding categories, version rows and counters.</summary>
    public string TableName { get; set; } = "ServerlessMeta";

    /// <summary>
    /// How old a model blob without a metadata row must be before orphan cleanup deletes it. Must exceed
    /// the longest time a writer can take between finishing a blob and writing its row.
    /// </summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Size at which a category's dataset rolls to a new append-blob part.</summary>
    public long DatasetPartMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Verified model downloads up to this size are held in memory; larger ones in a temporary file.</summary>
    public long MaxInMemoryModelBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Largest model or checkpoint accepted.</summary>
    public long MaxModelBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Longest wait for one storage request's response (or for each read of a download) before it is retried:
    /// a storage service that accepts connections but stops answering fails a try after this long. Set on
    /// every storage client, the Durable Task provider's included.
    /// </summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after a failed try (a timeout, a refused connection, 408/429/5xx), with exponential back-off from 0.2 s up to 2 s.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>
    /// How long after it was started an unfinished create (a category row with no examples and no model, left by a
    /// create whose request timed out or whose process died) may be taken over by a new create of the same id.
    /// Must exceed the longest a create request can take (the API's request timeout).
    /// </summary>
    public TimeSpan AbandonedCreateAge { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the start-up check (<see cref="StorageStartupCheck"/>) waits for storage to answer its one call.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First back-off between tries.</summary>
    internal static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest back-off between tries.</summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Sets <paramref name="clientOptions"/>' retry policy from <see cref="NetworkTimeout"/> and <see cref="MaxRetries"/>:
    /// exponential back-off from 0.2 s to 2 s. For storage clients made outside this library (the Durable Task provider's).
    /// Returns <paramref name="clientOptions"/>.
    /// </summary>
    public T ApplyTo<T>(T clientOptions)
        where T : Azure.Core.ClientOptions
    {
        ArgumentNullException.ThrowIfNull(clientOptions);
        clientOptions.Retry.Mode = Azure.Core.RetryMode.Exponential;
        clientOptions.Retry.NetworkTimeout = NetworkTimeout;
        clientOptions.Retry.MaxRetries = MaxRetries;
        clientOptions.Retry.Delay = RetryDelay;
        clientOptions.Retry.MaxDelay = MaxRetryDelay;
        return clientOptions;
    }

    /// <summary>Whether the options name a connection string (else service URIs with a token credential).</summary>
    internal bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>Reads the options from one setting: its value is a connection string, its children bind to properties.</summary>
    public static StorageOptions FromConfiguration(IConfiguration configuration, string settingName = DefaultSettingName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new StorageOptions();
        Bind(configuration.GetSection(settingName), options);
        return options;
    }

    internal static void Bind(IConfigurationSection section, StorageOptions options)
    {
        section.Bind(options);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            options.ConnectionString = section.Value;
        }
    }

    /// <summary>The blob endpoint of identity-based configuration.</summary>
    internal Uri ResolveBlobServiceUri() =>
        BlobServiceUri ?? new Uri($"https://{AccountName}.blob.core.windows.net");

    /// <summary>The table endpoint of identity-based configuration.</summary>
    internal Uri ResolveTableServiceUri() =>
        TableServiceUri ?? new Uri($"https://{AccountName}.table.core.windows.net");

    /// <summary>
    /// Throws <see cref="StorageConfigurationException"/> naming <paramref name="settingName"/> when the options
    /// cannot address storage or name invalid containers or tables.
    /// </summary>
    public void Validate(string settingName = DefaultSettingName)
    {
        if (!UsesConnectionString)
        {
            var hasAccount = !string.IsNullOrWhiteSpace(AccountName);
            if (BlobServiceUri is null && !hasAccount || TableServiceUri is null && !hasAccount)
            {
                throw new StorageConfigurationException(
                    $"{settingName} is not set: set it to a connection string (for example UseDevelopmentStorage=true), " +
                    $"or set {settingName}__blobServiceUri and {settingName}__tableServiceUri (or {settingName}__accountName) to use a managed identity.");
            }

            if (hasAccount && !IsValidAccountName(AccountName) || (BlobServiceUri is { IsAbsoluteUri: false }) || (TableServiceUri is { IsAbsoluteUri: false }))
            {
                throw new StorageConfigurationException($"{settingName}: accountName must be a storage account name and the service URIs absolute.");
            }
        }

        if (!IsValidContainerName(ContainerName))
        {
            throw new StorageConfigurationException(
                $"{settingName}__containerName must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit; got {StorageIds.Describe(ContainerName)}.");
        }

        if (!IsValidTableName(TableName))
        {
            throw new StorageConfigurationException(
                $"{settingName}__tableName must be 3 to 63 letters and digits, starting with a letter; got {StorageIds.Describe(TableName)}.");
        }

        if (OrphanGracePeriod <= TimeSpan.Zero)
        {
            throw new StorageConfigurationException($"{settingName}__orphanGracePeriod must be positive.");
        }

        if (DatasetPartMaxBytes < 1024)
        {
            throw new StorageConfigurationException($"{settingName}__datasetPartMaxBytes must be at least 1024.");
        }

        if (NetworkTimeout <= TimeSpan.Zero || NetworkTimeout > TimeSpan.FromMinutes(10))
        {
            throw new StorageConfigurationException($"{settingName}__networkTimeout must be between 0 and 10 minutes (for example 00:00:05); got {NetworkTimeout}.");
        }

        if (MaxRetries is < 0 or > 10)
        {
            throw new StorageConfigurationException($"{settingName}__maxRetries must be between 0 and 10; got {MaxRetries}.");
        }

        if (StartupTimeout <= TimeSpan.Zero || StartupTimeout > TimeSpan.FromMinutes(5))
        {
            throw new StorageConfigurationException($"{settingName}__startupTimeout must be between 0 and 5 minutes; got {StartupTimeout}.");
        }

        if (AbandonedCreateAge <= TimeSpan.Zero)
        {
            throw new StorageConfigurationException($"{settingName}__abandonedCreateAge must be positive.");
        }

        if (MaxInMemoryModelBytes < 0 || MaxModelBytes <= 0)
        {
            throw new StorageConfigurationException($"{settingName}__maxModelBytes must be positive and maxInMemoryModelBytes not negative.");
        }
    }

    internal static bool IsValidContainerName(string? name) =>
        StorageIds.IsValid(name) && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);

    internal static bool IsValidAccountName(string? name) =>
        name is { Length: >= 3 and <= 24 } && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));

    internal static bool IsValidTableName(string? name) =>
        name is { Length: >= 3 and <= 63 } && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
