using System.Data.Common;
using Azure;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;

namespace ServerlessMeta.Storage;

/// <summary>
/// Start-up check of the storage setting (<c>SMETA_STORAGE</c> by default): parses it, then makes one cheap call to
/// each service under <see cref="StorageOptions.StartupTimeout"/>. Failures are <see cref="StorageConfigurationException"/>
/// with one line naming the setting and what is wrong: set but empty, not a connection string, no account key,
/// authentication failed, or endpoint unreachable within N s.
/// </summary>
public static class StorageStartupCheck
{
    /// <summary>Checks the setting in <paramref name="configuration"/>; returns the options it read.</summary>
    public static async Task<StorageOptions> VerifyAsync(IConfiguration configuration, string settingName = StorageOptions.DefaultSettingName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(settingName);
        if (section.Value is { } value && string.IsNullOrWhiteSpace(value) && !section.GetChildren().Any())
        {
            throw SetButEmpty(settingName);
        }

        StorageOptions options;
        try
        {
            options = StorageOptions.FromConfiguration(configuration, settingName);
        }
        catch (InvalidOperationException e)
        {
            // A child setting of the wrong shape (for example networkTimeout=soon).
            throw new StorageConfigurationException($"{settingName}: {e.Message}", e);
        }

        options.Validate(settingName);
        await VerifyAsync(options, settingName, cancellationToken).ConfigureAwait(false);
        return options;
    }

    /// <summary>The error of a storage setting that is set to an empty or blank value (an error, never a silent fallback).</summary>
    public static StorageConfigurationException SetButEmpty(string settingName = StorageOptions.DefaultSettingName) =>
        new($"{settingName} is set but empty: set it to a storage connection string (for example UseDevelopmentStorage=true), or unset it.");

    /// <summary>Checks <paramref name="options"/>: the connection string's shape, then one call per service.</summary>
    public static async Task VerifyAsync(StorageOptions options, string settingName = StorageOptions.DefaultSettingName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(settingName);
        var probe = new StorageOptions { NetworkTimeout = options.StartupTimeout, MaxRetries = 1 };
        BlobServiceClient blobs;
        TableServiceClient tables;
        string where;
        if (options.UsesConnectionString)
        {
            CheckConnectionString(options.ConnectionString!, settingName);
            try
            {
                blobs = new BlobServiceClient(options.ConnectionString, probe.ApplyTo(new BlobClientOptions()));
                tables = new TableServiceClient(options.ConnectionString, probe.ApplyTo(new TableClientOptions()));
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new StorageConfigurationException($"{settingName} is not a usable connection string ({Sentence(e.Message)}).", e);
            }

            where = blobs.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
        else
        {
            var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = options.ClientId });
            blobs = new BlobServiceClient(options.ResolveBlobServiceUri(), credential, probe.ApplyTo(new BlobClientOptions()));
            tables = new TableServiceClient(options.ResolveTableServiceUri(), credential, probe.ApplyTo(new TableClientOptions()));
            where = blobs.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.StartupTimeout);
        try
        {
            // Both calls need the account's credential: a wrong key fails here, not at the first request.
            await Task.WhenAll(
                blobs.GetPropertiesAsync(deadline.Token),
                tables.GetPropertiesAsync(deadline.Token)).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var what = e is AuthenticationFailedException
                ? "authentication failed (no credential could get a token)"
                : StorageFaults.Describe(e, options.StartupTimeout);
            if (what.StartsWith("no answer", StringComparison.Ordinal))
            {
                what = $"endpoint unreachable within {StorageFaults.Seconds(options.StartupTimeout)}";
            }

            throw new StorageConfigurationException($"{settingName}: {what} ({where}).", e);
        }
    }

    private static void CheckConnectionString(string connectionString, string settingName)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException e)
        {
            throw new StorageConfigurationException($"{settingName} is not a connection string: expected key=value pairs such as UseDevelopmentStorage=true or DefaultEndpointsProtocol=https;AccountName=...;AccountKey=....", e);
        }

        bool Has(string key) => builder.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v?.ToString());
        if (builder.TryGetValue("UseDevelopmentStorage", out var dev) && string.Equals(dev?.ToString(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        if (!Has("AccountName") && !Has("BlobEndpoint"))
        {
            throw new StorageConfigurationException($"{settingName} is not a storage connection string: it names no AccountName (or BlobEndpoint).");
        }

        if (!Has("AccountKey") && !Has("SharedAccessSignature"))
        {
            throw new StorageConfigurationException($"{settingName} has no AccountKey (or SharedAccessSignature): add the account's key, or use {settingName}__blobServiceUri and {settingName}__tableServiceUri for a managed identity.");
        }

        if (Has("AccountKey") && builder["AccountKey"] is { } key && !IsBase64(key.ToString()!))
        {
            throw new StorageConfigurationException($"{settingName}: AccountKey is not a base64 key.");
        }
    }

    private static bool IsBase64(string value)
    {
        if (value.Length > 1024)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out _);
    }

    private static string Sentence(string message)
    {
        var line = message.Split('\n', 2)[0].Trim().TrimEnd('.');
        return line.Length <= 200 ? line : line[..200];
    }
}
