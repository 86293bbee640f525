using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Storage.Internal;

/// <summary>
/// The write protocol and verified reads shared by a category's model versions and the meta-models:
/// one table partition holding a counter row and one row per version, and one blob per version.
/// <list type="number">
/// <item>Allocate: read the counter row and replace it with If-Match (its ETag); on 412 back off and retry.</item>
/// <item>Write the blob with If-None-Match: * (a model blob is never replaced).</item>
/// <item>Insert the version row (insert fails if the key exists): only now does the version exist for readers.</item>
/// </list>
/// Orphan cleanup claims a rowless old blob by inserting an "abandoned" row first, so a late writer's
/// insert fails instead of creating a row whose blob is deleted.
/// </summary>
internal sealed class VersionSeries(StorageContext context, string partitionKey, string description, Func<int, string> blobNameOf, ILogger logger)
{
    private TableClient Table => context.Table;

    public string Description => description;

    /// <summary>Hands out the next version number, exactly once across all writers.</summary>
    public Task<int> AllocateAsync(CancellationToken cancellationToken) => AllocateAsync(likelyFirst: false, cancellationToken);

    /// <summary>
    /// Hands out the next version number, exactly once across all writers. With <paramref name="likelyFirst"/>
    /// (the series probably has no counter yet) it first tries to insert the counter at 1, saving the read;
    /// if the counter exists the insert fails harmlessly and the usual read-and-increment follows.
    /// </summary>
    public async Task<int> AllocateAsync(bool likelyFirst, CancellationToken cancellationToken)
    {
        if (likelyFirst)
        {
            try
            {
                await Table.AddEntityAsync(new CounterEntity { PartitionKey = partitionKey, LastAllocated = 1 }, cancellationToken).ConfigureAwait(false);
                return 1;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Someone allocated first: take the next number as usual.
            }
        }

        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var current = await Table.GetEntityIfExistsAsync<CounterEntity>(partitionKey, Keys.CounterRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!current.HasValue)
                {
                    await Table.AddEntityAsync(new CounterEntity { PartitionKey = partitionKey, LastAllocated = 1 }, cancellationToken).ConfigureAwait(false);
                    return 1;
                }

                var counter = current.Value!;
                if (counter.LastAllocated >= Keys.MaxVersion)
                {
                    throw new ConflictException($"{description} has used all {Keys.MaxVersion} version numbers.");
                }

                counter.LastAllocated++;
                await Table.UpdateEntityAsync(counter, counter.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return counter.LastAllocated;
            }
            catch (RequestFailedException e) when (Optimistic.IsLostRace(e))
            {
                await Optimistic.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw Optimistic.TooMuchContention($"the version counter of {description}");
    }

    /// <summary>
    /// Moves the counter to at least <paramref name="version"/>, so that a number orphan cleanup is about to
    /// claim (a blob that did not come from this protocol, beyond the counter) is never handed to a writer.
    /// </summary>
    public async Task AdvanceCounterAsync(int version, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var current = await Table.GetEntityIfExistsAsync<CounterEntity>(partitionKey, Keys.CounterRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!current.HasValue)
                {
                    await Table.AddEntityAsync(new CounterEntity { PartitionKey = partitionKey, LastAllocated = version }, cancellationToken).ConfigureAwait(false);
                    return;
                }

                var counter = current.Value!;
                if (counter.LastAllocated >= version)
                {
                    return;
                }

                counter.LastAllocated = version;
                await Table.UpdateEntityAsync(counter, counter.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (Optimistic.IsLostRace(e))
            {
                await Optimistic.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw Optimistic.TooMuchContention($"the version counter of {description}");
    }

    /// <summary>Writes the blob, then the row. Returns the row as stored.</summary>
    public async Task<VersionEntity> WriteAsync(int version, Stream content, VersionEntity row, CancellationToken cancellationToken)
    {
        var writeId = Guid.NewGuid().ToString("N");
        var blobName = blobNameOf(version);
        var written = await ModelBlobs.UploadAsync(context.Container.GetBlobClient(blobName), content, writeId, context.Options.MaxModelBytes, "model", cancellationToken).ConfigureAwait(false);

        row.PartitionKey = partitionKey;
        row.RowKey = Keys.VersionRow(version);
        row.Version = version;
        row.Status = VersionEntity.Ready;
        row.WriteId = writeId;
        row.BlobName = blobName;
        row.Size = written.Size;
        row.Sha256 = written.Sha256;
        row.CreatedAt = context.Time.GetUtcNow();
        try
        {
            await Table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
            return row;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var existing = (await Table.GetEntityAsync<VersionEntity>(partitionKey, row.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            if (existing.Status == VersionEntity.Ready && existing.WriteId == writeId)
            {
                return existing; // our own insert, retried after a lost response
            }

            if (existing.Status == VersionEntity.Abandoned)
            {
                logger.VersionAbandoned(description, version);
                throw new ConflictException(
                    $"{description}: version {version} was abandoned by orphan cleanup because its metadata row came more than " +
                    $"{context.Options.OrphanGracePeriod} after its blob. Nothing was stored; write the model again.", e);
            }

            throw new ConflictException($"{description}: version {version} already has a row written by another writer.", e);
        }
    }

    /// <summary>The ready row of a version, or null.</summary>
    public async Task<VersionEntity?> FindAsync(int version, CancellationToken cancellationToken)
    {
        if (version is < 1 or > Keys.MaxVersion)
        {
            return null;
        }

        var response = await Table.GetEntityIfExistsAsync<VersionEntity>(partitionKey, Keys.VersionRow(version), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue && response.Value!.Status == VersionEntity.Ready ? response.Value : null;
    }

    public async Task<VersionEntity> GetAsync(int version, CancellationToken cancellationToken) =>
        await FindAsync(version, cancellationToken).ConfigureAwait(false)
        ?? throw new ModelVersionNotFoundException($"{description} has no version {version}.");

    /// <summary>Ready rows in version order.</summary>
    public async IAsyncEnumerable<VersionEntity> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partitionKey} and RowKey ge {Keys.VersionRowPrefix} and RowKey lt {Keys.VersionRowEnd} and Status eq {VersionEntity.Ready}");
        await foreach (var row in Table.QueryAsync<VersionEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return row;
        }
    }

    /// <summary>Numbers of the ready versions below <paramref name="below"/> (all when null), newest first.</summary>
    public async Task<List<int>> ReadyVersionsDescendingAsync(int? below, CancellationToken cancellationToken)
    {
        var upper = below is { } b ? Keys.VersionRow(b) : Keys.VersionRowEnd;
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partitionKey} and RowKey ge {Keys.VersionRowPrefix} and RowKey lt {upper} and Status eq {VersionEntity.Ready}");
        var versions = new List<int>();
        await foreach (var row in Table.QueryAsync<VersionEntity>(filter, select: [nameof(VersionEntity.Version)], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            versions.Add(row.Version);
        }

        versions.Sort((x, y) => y.CompareTo(x));
        return versions;
    }

    /// <summary>Every row (ready or abandoned) by version: what orphan cleanup compares blobs with.</summary>
    public async Task<Dictionary<int, string>> RowStatusesAsync(CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {Keys.VersionRowPrefix} and RowKey lt {Keys.VersionRowEnd}");
        var statuses = new Dictionary<int, string>();
        await foreach (var row in Table.QueryAsync<VersionEntity>(filter, select: [nameof(VersionEntity.Version), nameof(VersionEntity.Status)], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            statuses[row.Version] = row.Status;
        }

        return statuses;
    }

    /// <summary>Downloads and verifies one version; throws <see cref="ModelIntegrityException"/> on any mismatch.</summary>
    public async Task<ModelDownload> DownloadAsync(VersionEntity row, CancellationToken cancellationToken)
    {
        var result = await TryDownloadAsync(row, cancellationToken).ConfigureAwait(false);
        if (result.Content is null)
        {
            logger.VerificationFailed(description, row.Version, result.Failure!);
            throw new ModelIntegrityException($"{description}: version {row.Version} failed verification: {result.Failure}.") { BlobName = row.BlobName };
        }

        return new ModelDownload(result.Content, row.Version, row.BlobName, result.Size, result.Sha256!, null, null);
    }

    /// <summary>
    /// Downloads <paramref name="preferred"/>; if it fails verification, the newest older version that
    /// verifies, saying so. Throws <see cref="ModelIntegrityException"/> when none does.
    /// </summary>
    public async Task<ModelDownload> DownloadWithFallbackAsync(int preferred, CancellationToken cancellationToken)
    {
        var row = await FindAsync(preferred, cancellationToken).ConfigureAwait(false);
        var result = row is null
            ? VerifiedContent.Failed($"version {preferred} has no row")
            : await TryDownloadAsync(row, cancellationToken).ConfigureAwait(false);
        if (result.Content is not null)
        {
            return new ModelDownload(result.Content, preferred, row!.BlobName, result.Size, result.Sha256!, null, null);
        }

        var reason = result.Failure!;
        logger.VerificationFailed(description, preferred, reason);
        foreach (var candidate in await ReadyVersionsDescendingAsync(preferred, cancellationToken).ConfigureAwait(false))
        {
            var older = await FindAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (older is null)
            {
                continue;
            }

            var fallback = await TryDownloadAsync(older, cancellationToken).ConfigureAwait(false);
            if (fallback.Content is not null)
            {
                logger.FellBack(description, preferred, reason, candidate);
                return new ModelDownload(fallback.Content, candidate, older.BlobName, fallback.Size, fallback.Sha256!, preferred, reason);
            }

            logger.VerificationFailed(description, candidate, fallback.Failure!);
        }

        throw new ModelIntegrityException($"{description}: version {preferred} failed verification ({reason}) and no older version verifies.")
        {
            BlobName = row?.BlobName,
        };
    }

    /// <summary>Downloads and verifies a version without keeping it: null when it verifies, else the reason.</summary>
    public async Task<string?> VerifyAsync(VersionEntity row, CancellationToken cancellationToken)
    {
        var result = await TryDownloadAsync(row, cancellationToken).ConfigureAwait(false);
        if (result.Content is { } content)
        {
            await content.DisposeAsync().ConfigureAwait(false);
        }

        return result.Failure;
    }

    private Task<VerifiedContent> TryDownloadAsync(VersionEntity row, CancellationToken cancellationToken) =>
        ModelBlobs.DownloadVerifiedAsync(context.Container.GetBlobClient(row.BlobName), row.Size, row.Sha256 ?? string.Empty, context.Options.MaxInMemoryModelBytes, cancellationToken);

    /// <summary>
    /// Claims a rowless version for deletion by inserting an abandoned row. True when the blob may be
    /// deleted (claimed now or earlier), false when a writer's ready row got there first.
    /// </summary>
    public async Task<bool> ClaimOrphanAsync(int version, string blobName, CancellationToken cancellationToken)
    {
        var tombstone = new VersionEntity
        {
            PartitionKey = partitionKey,
            RowKey = Keys.VersionRow(version),
            Version = version,
            Status = VersionEntity.Abandoned,
            BlobName = blobName,
            CreatedAt = context.Time.GetUtcNow(),
            AbandonedAt = context.Time.GetUtcNow(),
        };
        try
        {
            await Table.AddEntityAsync(tombstone, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var existing = await Table.GetEntityAsync<VersionEntity>(partitionKey, tombstone.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            return existing.Value.Status == VersionEntity.Abandoned;
        }
    }
}
