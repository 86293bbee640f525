using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// Pretrained meta-models (<c>meta/v000001/model.smeta</c>) with their lineage. Versions follow the same
/// protocol as category models: counter with If-Match, blob with If-None-Match: *, then the row. The
/// artifacts of a run in progress (its checkpoints among them) live in <see cref="RunArtifactStore"/>.
/// </summary>
public sealed class MetaModelRegistry
{
    private readonly StorageContext _context;

    internal MetaModelRegistry(StorageContext context)
    {
        _context = context;
        Series = new VersionSeries(context, Keys.MetaPartition, "Meta-model", Keys.MetaModelBlob, context.Loggers.CreateLogger<MetaModelRegistry>());
    }

    internal VersionSeries Series { get; }

    /// <summary>
    /// Stores a pretrained meta-model as the next version; it becomes the latest. A run registers at most one
    /// meta-model: the first call for a <see cref="NewMetaModel.PretrainingRunId"/> claims a version number
    /// for the run (an insert-only row), and any other call for that run, concurrent or later, returns that
    /// version instead of writing another. A claimed number whose writer lost the race leaves a gap.
    /// </summary>
    public async Task<MetaModelVersion> AddVersionAsync(Stream model, NewMetaModel metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        StorageIds.Validate(metadata.PretrainingRunId, "pretrainingRunId");
        var row = new VersionEntity
        {
            Algorithm = Json.Name(metadata.Algorithm, "algorithm"),
            PretrainingRunId = metadata.PretrainingRunId,
            Iterations = metadata.Iterations >= 0 ? metadata.Iterations : throw new ArgumentException("iterations must not be negative.", "iterations"),
            DataSnapshotId = Json.Name(metadata.DataSnapshotId, "dataSnapshotId"),
            Hyperparameters = Json.Hyperparameters(metadata.Hyperparameters, "hyperparameters"),
            Metrics = Json.Metrics(metadata.Metrics, "metrics"),
        };
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var version = await ClaimAsync(metadata.PretrainingRunId, cancellationToken).ConfigureAwait(false);
        if (await Series.FindAsync(version, cancellationToken).ConfigureAwait(false) is { } done)
        {
            return ToVersion(done);
        }

        try
        {
            return ToVersion(await Series.WriteAsync(version, model, row, cancellationToken).ConfigureAwait(false));
        }
        catch (ConflictException)
        {
            // Another writer of this run got the blob (or the row) in first: its version is the run's.
            return ToVersion(await WaitForRowAsync(version, metadata.PretrainingRunId, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>The version number claimed by the run: an existing claim, or a newly allocated number if this call inserts the claim.</summary>
    private async Task<int> ClaimAsync(string runId, CancellationToken cancellationToken)
    {
        var key = Keys.RunClaimRow(runId);
        var existing = await _context.Table.GetEntityIfExistsAsync<RunClaimEntity>(Keys.MetaPartition, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue)
        {
            return existing.Value!.Version;
        }

        var version = await Series.AllocateAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _context.Table.AddEntityAsync(new RunClaimEntity { RowKey = key, Version = version }, cancellationToken).ConfigureAwait(false);
            return version;
        }
        catch (Azure.RequestFailedException e) when (e.Status == 409)
        {
            return (await _context.Table.GetEntityAsync<RunClaimEntity>(Keys.MetaPartition, key, cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Version;
        }
    }

    private async Task<VersionEntity> WaitForRowAsync(int version, string runId, CancellationToken cancellationToken)
    {
        var deadline = _context.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (await Series.FindAsync(version, cancellationToken).ConfigureAwait(false) is { } row)
            {
                return row;
            }

            if (_context.Time.GetUtcNow() > deadline)
            {
                throw new ConflictException($"Meta-model version {version} of run '{runId}' is being written by another writer and is not ready yet; try again.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _context.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<MetaModelVersion> GetVersionAsync(int version, CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return ToVersion(await Series.GetAsync(version, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The newest meta-model, or <see cref="ModelVersionNotFoundException"/> before the first.</summary>
    public async Task<MetaModelVersion> GetLatestVersionAsync(CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return ToVersion(await Series.GetAsync(await LatestAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every meta-model version, oldest first.</summary>
    public async IAsyncEnumerable<MetaModelVersion> ListVersionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var row in Series.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ToVersion(row);
        }
    }

    /// <summary>Downloads and verifies one version; <see cref="ModelIntegrityException"/> on a mismatch.</summary>
    public async Task<ModelDownload> DownloadVersionAsync(int version, CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var row = await Series.GetAsync(version, cancellationToken).ConfigureAwait(false);
        return await Series.DownloadAsync(row, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads the newest meta-model, falling back to the newest older one that verifies.</summary>
    public async Task<ModelDownload> DownloadLatestAsync(CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return await Series.DownloadWithFallbackAsync(await LatestAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> LatestAsync(CancellationToken cancellationToken)
    {
        var versions = await Series.ReadyVersionsDescendingAsync(null, cancellationToken).ConfigureAwait(false);
        return versions.Count > 0 ? versions[0] : throw new ModelVersionNotFoundException("No meta-model has been stored yet.");
    }

    private static MetaModelVersion ToVersion(VersionEntity row) => new(
        row.Version,
        row.Algorithm ?? string.Empty,
        row.PretrainingRunId ?? string.Empty,
        row.Iterations ?? 0,
        row.DataSnapshotId ?? string.Empty,
        Json.ReadHyperparameters(row.Hyperparameters),
        Json.ReadMetrics(row.Metrics),
        row.BlobName,
        row.Size,
        row.Sha256 ?? string.Empty,
        row.CreatedAt);
}
