using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Storage.Internal;

/// <summary>The container, the table, the options and the clock every store shares.</summary>
internal sealed class StorageContext
{
    private readonly Lock _gate = new();
    private Task? _creation;

    public StorageContext(BlobServiceClient blobs, TableServiceClient tables, StorageOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Time = time;
        Loggers = loggers;
        Container = blobs.GetBlobContainerClient(options.ContainerName);
        Table = tables.GetTableClient(options.TableName);
    }

    public StorageOptions Options { get; }

    public TimeProvider Time { get; }

    public ILoggerFactory Loggers { get; }

    public BlobContainerClient Container { get; }

    public TableClient Table { get; }

    /// <summary>Creates the container and the table if missing, once per process (again after a failure).</summary>
    public async ValueTask EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        Task creation;
        lock (_gate)
        {
            if (_creation is null || _creation.IsFaulted || _creation.IsCanceled)
            {
                _creation = CreateAsync();
            }

            creation = _creation;
        }

        await creation.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CreateAsync()
    {
        await Container.CreateIfNotExistsAsync(PublicAccessType.None).ConfigureAwait(false);
        await Table.CreateIfNotExistsAsync().ConfigureAwait(false);
    }

    /// <summary>Reads the category entity or throws <see cref="CategoryNotFoundException"/>.</summary>
    public async Task<CategoryEntity> GetCategoryEntityAsync(string categoryId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<CategoryEntity>(Keys.CategoriesPartition, categoryId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value! : throw new CategoryNotFoundException(categoryId);
    }
}

/// <summary>Optimistic concurrency: what counts as losing a race, and how long to wait before trying again.</summary>
internal static class Optimistic
{
    /// <summary>Attempts before giving up on a contended entity (each loser backs off with jitter).</summary>
    public const int MaxAttempts = 300;

    /// <summary>412 (ETag changed) or 409 (someone inserted first).</summary>
    public static bool IsLostRace(RequestFailedException exception) => exception.Status is 409 or 412;

    /// <summary>Exponential backoff with full jitter: 2 ms doubling to at most 100 ms.</summary>
    public static Task BackoffAsync(int attempt, CancellationToken cancellationToken)
    {
        var ceiling = Math.Min(100.0, 2.0 * Math.Pow(2, Math.Min(attempt, 6)));
        return Task.Delay(TimeSpan.FromMilliseconds(1 + Random.Shared.NextDouble() * ceiling), cancellationToken);
    }

    public static ConflictException TooMuchContention(string what) =>
        new($"Gave up updating {what} after {MaxAttempts} attempts: too many concurrent writers. Retry later.");
}
