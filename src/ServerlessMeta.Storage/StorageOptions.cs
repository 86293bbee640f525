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
    /// Throws <see cref="InvalidOperationException"/> naming <paramref name="settingName"/> when the options
    /// cannot address storage or name invalid containers or tables.
    /// </summary>
    public void Validate(string settingName = DefaultSettingName)
    {
        if (!UsesConnectionString)
        {
            var hasAccount = !string.IsNullOrWhiteSpace(AccountName);
            if (BlobServiceUri is null && !hasAccount || TableServiceUri is null && !hasAccount)
            {
                throw new InvalidOperationException(
                    $"Storage is not configured: set {settingName} to a connection string (for example UseDevelopmentStorage=true), " +
                    $"or set {settingName}__blobServiceUri and {settingName}__tableServiceUri (or {settingName}__accountName) to use a managed identity.");
            }

            if (hasAccount && !IsValidAccountName(AccountName) || (BlobServiceUri is { IsAbsoluteUri: false }) || (TableServiceUri is { IsAbsoluteUri: false }))
            {
                throw new InvalidOperationException($"{settingName}: accountName must be a storage account name and the service URIs absolute.");
            }
        }

        if (!IsValidContainerName(ContainerName))
        {
            throw new InvalidOperationException(
                $"{settingName}__containerName must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit; got {StorageIds.Describe(ContainerName)}.");
        }

        if (!IsValidTableName(TableName))
        {
            throw new InvalidOperationException(
                $"{settingName}__tableName must be 3 to 63 letters and digits, starting with a letter; got {StorageIds.Describe(TableName)}.");
        }

        if (OrphanGracePeriod <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{settingName}__orphanGracePeriod must be positive.");
        }

        if (DatasetPartMaxBytes < 1024)
        {
            throw new InvalidOperationException($"{settingName}__datasetPartMaxBytes must be at least 1024.");
        }

        if (MaxInMemoryModelBytes < 0 || MaxModelBytes <= 0)
        {
            throw new InvalidOperationException($"{settingName}__maxModelBytes must be positive and maxInMemoryModelBytes not negative.");
        }
    }

    internal static bool IsValidContainerName(string? name) =>
        StorageIds.IsValid(name) && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);

    internal static bool IsValidAccountName(string? name) =>
        name is { Length: >= 3 and <= 24 } && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));

    internal static bool IsValidTableName(string? name) =>
        name is { Length: >= 3 and <= 63 } && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
