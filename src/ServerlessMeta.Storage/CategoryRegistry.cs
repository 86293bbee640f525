using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// Categories and their model versions: create and list categories, add a model version (blob first,
/// then its row), list and fetch versions with checksum verification, and move the <c>serving</c>
/// alias (promote, rollback). Every id is validated before any storage call.
/// </summary>
public sealed class CategoryRegistry
{
    private readonly StorageContext _context;
    private readonly DatasetStore _datasets;
    private readonly ILogger _logger;

    internal CategoryRegistry(StorageContext context, DatasetStore datasets)
    {
        _context = context;
        _datasets = datasets;
        _logger = context.Loggers.CreateLogger<CategoryRegistry>();
    }

    /// <summary>Creates an empty category. Throws <see cref="CategoryAlreadyExistsException"/> if it exists.</summary>
    public async Task<CategoryInfo> CreateCategoryAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return ToInfo(await InsertCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Inserts an empty category row; the returned entity carries the ETag the insert answered with (<see cref="ETag.All"/> if none).</summary>
    private async Task<CategoryEntity> InsertCategoryAsync(string categoryId, CancellationToken cancellationToken)
    {
        var entity = new CategoryEntity { RowKey = categoryId, CreatedAt = _context.Time.GetUtcNow() };
        try
        {
            var inserted = await _context.Table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            entity.ETag = inserted.Headers.ETag ?? ETag.All;
            return entity;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new CategoryAlreadyExistsException(categoryId);
        }
    }

    /// <summary>
    /// Inserts the category row, or takes over the row of a create that never finished: no examples, no version, and
    /// started more than <see cref="StorageOptions.AbandonedCreateAge"/> ago (its request timed out while storage hung,
    /// or its process died). The take-over is a conditional replace, so of two creates retrying at once one wins and the
    /// other gets <see cref="CategoryAlreadyExistsException"/>. A version the abandoned create may have written stays as
    /// an older version; the new create's version is served.
    /// </summary>
    private async Task<CategoryEntity> InsertOrTakeOverAbandonedAsync(string categoryId, CancellationToken cancellationToken)
    {
        try
        {
            return await InsertCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
        }
        catch (CategoryAlreadyExistsException)
        {
            CategoryEntity existing;
            try
            {
                existing = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
            }
            catch (CategoryNotFoundException)
            {
                // Deleted meanwhile: insert again (a second collision is a real one).
                return await InsertCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
            }

            var now = _context.Time.GetUtcNow();
            if (existing.ExampleCount > 0 || existing.LatestVersion is not null || now - existing.CreatedAt < _context.Options.AbandonedCreateAge)
            {
                throw;
            }

            var replacement = new CategoryEntity { RowKey = categoryId, CreatedAt = now, DatasetParts = DatasetStore.RollForTakeOver(existing) };
            try
            {
                var replaced = await _context.Table.UpdateEntityAsync(replacement, existing.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                replacement.ETag = replaced.Headers.ETag ?? ETag.All;
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                throw new CategoryAlreadyExistsException(categoryId);
            }

            _logger.AbandonedCreateTakenOver(categoryId, existing.CreatedAt);
            return replacement;
        }
    }

    /// <summary>The category, or <see cref="CategoryNotFoundException"/>.</summary>
    public async Task<CategoryInfo> GetCategoryAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return ToInfo(await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every category in id order, a page at a time.</summary>
    public async IAsyncEnumerable<CategoryInfo> ListCategoriesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.CategoriesPartition}");
        await foreach (var entity in _context.Table.QueryAsync<CategoryEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return ToInfo(entity);
        }
    }

    /// <summary>
    /// Stores a model adapted to the category as its next version: allocates the number, writes
    /// <c>categories/{id}/v{version}/model.smeta</c> from <paramref name="model"/> (read once, hashed while
    /// uploading), then the version row, then moves <c>latest</c> (and <c>serving</c> for the first version
    /// or when <see cref="NewCategoryModel.Promote"/> is set).
    /// </summary>
    public async Task<CategoryModelVersion> AddVersionAsync(string categoryId, Stream model, NewCategoryModel metadata, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        ArgumentNullException.ThrowIfNull(model);
        var row = NewRow(metadata);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);

        var series = Series(categoryId);
        var version = await series.AllocateAsync(likelyFirst: entity.LatestVersion is null, cancellationToken).ConfigureAwait(false);
        var stored = await series.WriteAsync(version, model, row, cancellationToken).ConfigureAwait(false);
        await MovePointersAsync(categoryId, version, metadata.Promote, entity, cancellationToken).ConfigureAwait(false);
        return ToVersion(categoryId, stored);
    }

    /// <summary>
    /// Creates a category with its examples and its first model version, which it serves. Everything is
    /// validated before the first write (<see cref="ArgumentException"/> naming the field); an existing id
    /// throws <see cref="CategoryAlreadyExistsException"/>. The row is inserted, the examples appended and
    /// the model written (blob, then version row), and one update of the row under its ETag then commits the
    /// examples and points <c>latest</c> and <c>serving</c> at the version: seven round trips instead of the
    /// ten that <see cref="CreateCategoryAsync(string, CancellationToken)"/>,
    /// <see cref="DatasetStore.AppendExamplesAsync"/> and <see cref="AddVersionAsync"/> take one after the
    /// other. If anything changed the row meanwhile (a concurrent append), the examples are committed and the
    /// pointers moved the usual way. A crash before that update leaves the category without examples and
    /// without a served version, as a crash between those three calls would.
    /// </summary>
    public async Task<CategoryModelVersion> CreateCategoryAsync(string categoryId, IReadOnlyList<StoredExample> examples, Stream model, NewCategoryModel metadata, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        var batch = DatasetStore.Batch.Create(examples);
        ArgumentNullException.ThrowIfNull(model);
        var row = NewRow(metadata);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var entity = await InsertOrTakeOverAbandonedAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var examplesAppend = await _datasets.BeginFirstAppendAsync(categoryId, entity, batch, cancellationToken).ConfigureAwait(false);
        var series = Series(categoryId);
        var version = await series.AllocateAsync(likelyFirst: true, cancellationToken).ConfigureAwait(false);
        var stored = await series.WriteAsync(version, model, row, cancellationToken).ConfigureAwait(false);
        var pointersMoved = await examplesAppend.CommitAsync(
            committed =>
            {
                committed.LatestVersion = version;
                committed.ServingVersion = version;
            },
            cancellationToken).ConfigureAwait(false);
        if (!pointersMoved)
        {
            await MovePointersAsync(categoryId, version, promote: true, known: null, cancellationToken).ConfigureAwait(false);
        }

        return ToVersion(categoryId, stored);
    }

    /// <summary>One version's metadata, or <see cref="ModelVersionNotFoundException"/>.</summary>
    public async Task<CategoryModelVersion> GetVersionAsync(string categoryId, int version, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return ToVersion(categoryId, await Series(categoryId).GetAsync(version, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The metadata of the version an alias points at.</summary>
    public async Task<CategoryModelVersion> GetVersionAsync(string categoryId, ModelAlias alias, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var version = await ResolveAsync(categoryId, alias, cancellationToken).ConfigureAwait(false);
        return ToVersion(categoryId, await Series(categoryId).GetAsync(version, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every version of the category, oldest first. Only versions whose row (and so blob) exists appear.</summary>
    public IAsyncEnumerable<CategoryModelVersion> ListVersionsAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        return ListVersionsCoreAsync(categoryId, cancellationToken);
    }

    private async IAsyncEnumerable<CategoryModelVersion> ListVersionsCoreAsync(string categoryId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
        await foreach (var row in Series(categoryId).ListAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ToVersion(categoryId, row);
        }
    }

    /// <summary>
    /// Downloads one version and verifies its size and SHA-256. Throws
    /// <see cref="ModelIntegrityException"/> on a mismatch: an explicit version never falls back.
    /// </summary>
    public async Task<ModelDownload> DownloadVersionAsync(string categoryId, int version, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var series = Series(categoryId);
        var row = await series.GetAsync(version, cancellationToken).ConfigureAwait(false);
        return await series.DownloadAsync(row, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads the version an alias points at (<see cref="ModelAlias.Serving"/> for serving). If it fails
    /// verification, returns the newest older version that verifies, with
    /// <see cref="ModelDownload.FellBackFrom"/> and <see cref="ModelDownload.FallbackReason"/> saying so.
    /// </summary>
    public async Task<ModelDownload> DownloadAsync(string categoryId, ModelAlias alias, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var version = await ResolveAsync(categoryId, alias, cancellationToken).ConfigureAwait(false);
        return await Series(categoryId).DownloadWithFallbackAsync(version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Serves <paramref name="version"/>: it must exist and verify (a corrupt model is never promoted).
    /// Promoting an older version is a rollback.
    /// </summary>
    public async Task<CategoryInfo> PromoteAsync(string categoryId, int version, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var series = Series(categoryId);
        var row = await series.GetAsync(version, cancellationToken).ConfigureAwait(false);
        if (await series.VerifyAsync(row, cancellationToken).ConfigureAwait(false) is { } failure)
        {
            throw new ModelIntegrityException($"Category '{categoryId}': version {version} failed verification and cannot be promoted: {failure}.") { BlobName = row.BlobName };
        }

        return ToInfo(await SetServingAsync(categoryId, version, expectedServing: null, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Serves the newest version older than the one served now that verifies. Throws
    /// <see cref="ConflictException"/> when there is none.
    /// </summary>
    public async Task<CategoryInfo> RollbackAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var serving = entity.ServingVersion ?? throw new ConflictException($"Category '{categoryId}' serves no version; there is nothing to roll back.");
        var series = Series(categoryId);
        foreach (var candidate in await series.ReadyVersionsDescendingAsync(serving, cancellationToken).ConfigureAwait(false))
        {
            var row = await series.FindAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (row is null || await series.VerifyAsync(row, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            return ToInfo(await SetServingAsync(categoryId, candidate, expectedServing: serving, cancellationToken).ConfigureAwait(false));
        }

        throw new ConflictException($"Category '{categoryId}' has no verified version older than the served version {serving} to roll back to.");
    }

    internal VersionSeries Series(string categoryId) =>
        new(_context, Keys.CategoryModelsPartition(categoryId), $"Category '{categoryId}'", v => Keys.CategoryModelBlob(categoryId, v), _logger);

    private async Task<int> ResolveAsync(string categoryId, ModelAlias alias, CancellationToken cancellationToken)
    {
        var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var version = alias switch
        {
            ModelAlias.Latest => entity.LatestVersion,
            ModelAlias.Serving => entity.ServingVersion,
            _ => throw new ArgumentOutOfRangeException(nameof(alias), alias, "Unknown alias."),
        };
        return version ?? throw new ModelVersionNotFoundException($"Category '{categoryId}' has no model version yet.");
    }

    private static VersionEntity NewRow(NewCategoryModel metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new VersionEntity
        {
            Algorithm = Json.Name(metadata.Algorithm, "algorithm"),
            MetaModelVersion = metadata.MetaModelVersion is null or (>= 1 and <= Keys.MaxVersion)
                ? metadata.MetaModelVersion
                : throw new ArgumentException($"metaModelVersion must be between 1 and {Keys.MaxVersion}.", "metaModelVersion"),
            ExamplesHash = Json.Sha256Hex(metadata.ExamplesHash, "examplesHash"),
            Hyperparameters = Json.Hyperparameters(metadata.Hyperparameters, "hyperparameters"),
            Metrics = Json.Metrics(metadata.Metrics, "metrics"),
        };
    }


    /// <summary>
    /// Moves <c>latest</c> (and <c>serving</c>) to <paramref name="version"/>. The first attempt updates
    /// <paramref name="known"/>, the row as read before the write, conditional on its ETag (one round trip
    /// when nothing changed it meanwhile); later attempts read the row again.
    /// </summary>
    private async Task MovePointersAsync(string categoryId, int version, bool promote, CategoryEntity? known, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var entity = attempt == 0 && known is not null ? known : await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
            var moveLatest = entity.LatestVersion is null || entity.LatestVersion < version;
            // Promotion on write only moves serving forward: of two concurrent writers, the one that finishes
            // last must not demote the newer version the other just served. Rollback is PromoteAsync's job.
            var moveServing = entity.ServingVersion is null || promote && entity.ServingVersion < version;
            if (!moveLatest && !moveServing)
            {
                return;
            }

            if (moveLatest)
            {
                entity.LatestVersion = version;
            }

            if (moveServing)
            {
                entity.ServingVersion = version;
            }

            try
            {
                await _context.Table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                await Optimistic.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw Optimistic.TooMuchContention($"the pointers of category '{categoryId}'");
    }

    private async Task<CategoryEntity> SetServingAsync(string categoryId, int version, int? expectedServing, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
            if (expectedServing is not null && entity.ServingVersion != expectedServing)
            {
                throw new ConflictException($"Category '{categoryId}': the served version changed from {expectedServing} to {entity.ServingVersion} during the rollback.");
            }

            entity.ServingVersion = version;
            if (entity.LatestVersion is null || entity.LatestVersion < version)
            {
                entity.LatestVersion = version;
            }

            try
            {
                await _context.Table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return entity;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                await Optimistic.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw Optimistic.TooMuchContention($"the serving pointer of category '{categoryId}'");
    }

    internal static CategoryInfo ToInfo(CategoryEntity entity) => new(
        entity.RowKey,
        entity.CreatedAt,
        entity.ExampleCount,
        Json.ReadCounts(entity.LabelCounts),
        entity.FeatureCount,
        entity.LatestVersion,
        entity.ServingVersion);

    private static CategoryModelVersion ToVersion(string categoryId, VersionEntity row) => new(
        categoryId,
        row.Version,
        row.Algorithm ?? string.Empty,
        row.MetaModelVersion,
        row.ExamplesHash ?? string.Empty,
        Json.ReadHyperparameters(row.Hyperparameters),
        Json.ReadMetrics(row.Metrics),
        row.BlobName,
        row.Size,
        row.Sha256 ?? string.Empty,
        row.CreatedAt);
}
