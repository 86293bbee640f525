using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// Housekeeping after interrupted writes: deletes model blobs that never got a metadata row (a writer
/// died between blob and row) once they are older than <see cref="StorageOptions.OrphanGracePeriod"/>, and
/// moves category pointers that lag behind their rows. Safe to run at any time, concurrently with writers.
/// </summary>
public sealed class StorageMaintenance
{
    private readonly StorageContext _context;
    private readonly CategoryRegistry _categories;
    private readonly MetaModelRegistry _metaModels;
    private readonly ILogger _logger;

    internal StorageMaintenance(StorageContext context, CategoryRegistry categories, MetaModelRegistry metaModels)
    {
        _context = context;
        _categories = categories;
        _metaModels = metaModels;
        _logger = context.Loggers.CreateLogger<StorageMaintenance>();
    }

    /// <summary>Creates the container and the table if they are missing (every store also does so at first use).</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default) =>
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// One cleanup pass over <c>categories/</c> and <c>meta/</c>. A rowless blob older than the grace period is
    /// first claimed with an "abandoned" row (so a writer that was merely slow fails instead of writing a row
    /// for a deleted blob), then deleted. Blobs whose names the store did not build are left alone.
    /// </summary>
    public async Task<OrphanCleanupResult> CleanUpOrphansAsync(CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var cutoff = _context.Time.GetUtcNow() - _context.Options.OrphanGracePeriod;
        var pass = new Pass(cutoff);

        string? category = null;
        var group = new List<(int Version, BlobItem Blob)>();
        await foreach (var blob in _context.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = Keys.CategoryModelsPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (!Keys.TryParseCategoryModelBlob(blob.Name, out var categoryId, out var version))
            {
                continue;
            }

            if (categoryId != category && category is not null)
            {
                await CleanCategoryAsync(category, group, pass, cancellationToken).ConfigureAwait(false);
                group.Clear();
            }

            category = categoryId;
            group.Add((version, blob));
        }

        if (category is not null)
        {
            await CleanCategoryAsync(category, group, pass, cancellationToken).ConfigureAwait(false);
        }

        group.Clear();
        await foreach (var blob in _context.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = Keys.MetaModelsPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (Keys.TryParseMetaModelBlob(blob.Name, out var version))
            {
                group.Add((version, blob));
            }
        }

        if (group.Count > 0)
        {
            await CleanSeriesAsync(_metaModels.Series, group, pass, cancellationToken).ConfigureAwait(false);
        }

        _logger.OrphanCleanupCompleted(pass.Scanned, pass.Deleted.Count, pass.Young, pass.Repaired.Count);
        return new OrphanCleanupResult(pass.Scanned, pass.Deleted, pass.Young, pass.Repaired);
    }

    private async Task CleanCategoryAsync(string categoryId, List<(int Version, BlobItem Blob)> blobs, Pass pass, CancellationToken cancellationToken)
    {
        var statuses = await CleanSeriesAsync(_categories.Series(categoryId), blobs, pass, cancellationToken).ConfigureAwait(false);
        var ready = statuses.Where(s => s.Value == VersionEntity.Ready).Select(s => s.Key).DefaultIfEmpty(0).Max();
        if (ready == 0)
        {
            return;
        }

        var response = await _context.Table.GetEntityIfExistsAsync<CategoryEntity>(Keys.CategoriesPartition, categoryId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue)
        {
            return;
        }

        var entity = response.Value!;
        if (entity.LatestVersion >= ready && entity.ServingVersion is not null)
        {
            return;
        }

        // A writer died after its row and before its pointer update: move the pointers it would have moved.
        entity.LatestVersion = Math.Max(entity.LatestVersion ?? 0, ready);
        entity.ServingVersion ??= ready;
        try
        {
            await _context.Table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            pass.Repaired.Add(categoryId);
            _logger.PointersRepaired(categoryId, entity.LatestVersion, entity.ServingVersion);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            // Updated meanwhile by a writer; the next pass looks again.
        }
    }

    private async Task<Dictionary<int, string>> CleanSeriesAsync(VersionSeries series, List<(int Version, BlobItem Blob)> blobs, Pass pass, CancellationToken cancellationToken)
    {
        var statuses = await series.RowStatusesAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (version, blob) in blobs)
        {
            pass.Scanned++;
            if (statuses.TryGetValue(version, out var status) && status == VersionEntity.Ready)
            {
                continue;
            }

            var lastModified = blob.Properties.LastModified ?? blob.Properties.CreatedOn ?? DateTimeOffset.MaxValue;
            if (lastModified > pass.Cutoff)
            {
                pass.Young++;
                continue;
            }

            await series.AdvanceCounterAsync(version, cancellationToken).ConfigureAwait(false);
            if (!await series.ClaimOrphanAsync(version, blob.Name, cancellationToken).ConfigureAwait(false))
            {
                continue; // the writer's row won the race: not an orphan
            }

            statuses[version] = VersionEntity.Abandoned;
            await _context.Container.DeleteBlobIfExistsAsync(blob.Name, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
            pass.Deleted.Add(blob.Name);
            _logger.OrphanDeleted(blob.Name, lastModified);
        }

        return statuses;
    }

    private sealed class Pass(DateTimeOffset cutoff)
    {
        public DateTimeOffset Cutoff { get; } = cutoff;

        public int Scanned { get; set; }

        public int Young { get; set; }

        public List<string> Deleted { get; } = [];

        public List<string> Repaired { get; } = [];
    }
}
