using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// Predictions of a category's model versions, with the adapted models loaded once per process
/// (<see cref="CategoryServiceOptions.ModelCacheSize"/>; versions never change once written, so the cache
/// needs no invalidation).
/// </summary>
internal sealed partial class CategoryPredictor(CategoryRegistry categories, TextEncoders encoders, CategoryServiceOptions options, ILogger logger) : IDisposable
{
    private readonly LoadedModelCache<(string Category, int Version), AdaptedModel> _loaded = new(options.ModelCacheSize);

    /// <summary>Label probabilities of a version (the serving one by default) for each item.</summary>
    public async Task<PredictionResult> PredictAsync(CategoryId categoryId, IReadOnlyList<ItemInput?>? items, int? version, CancellationToken cancellationToken)
    {
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.predict");
        activity?.SetTag("smeta.category_id", categoryId.Value).SetTag("smeta.items", items?.Count ?? 0);
        var clock = Stopwatch.StartNew();
        var catalogItems = RequestValidator.Items(items, options.MaxPredictItems);
        if (version is < 1)
        {
            throw new ArgumentException($"version must be a positive integer, got {version}.", "version");
        }

        var id = categoryId.Value;
        int resolved;
        string? warning = null;
        ModelLease<AdaptedModel> lease;
        if (version is { } requested)
        {
            // An explicit version never falls back: a corrupt one is a ModelIntegrityException naming it.
            resolved = requested;
            if (!_loaded.Contains((id, resolved)))
            {
                await categories.GetVersionAsync(id, resolved, cancellationToken).ConfigureAwait(false);
            }

            lease = await LoadAsync(id, resolved, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var category = await categories.GetCategoryAsync(id, cancellationToken).ConfigureAwait(false);
            var serving = category.ServingVersion ?? throw new ModelVersionNotFoundException($"Category '{id}' has no model version yet.");
            (lease, resolved, warning) = await LoadServingAsync(id, serving, cancellationToken).ConfigureAwait(false);
        }

        using var leased = lease;
        var model = lease.Model;
        var probabilities = model.PredictItems(catalogItems, encoders.For(model.Featurizer));
        var labels = model.Labels;
        var predictions = new Prediction[catalogItems.Count];
        for (var i = 0; i < predictions.Length; i++)
        {
            var row = probabilities[i];
            var best = 0;
            var map = new Dictionary<string, float>(labels.Count, StringComparer.Ordinal);
            for (var c = 0; c < row.Length; c++)
            {
                map[labels[c]] = row[c];
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            predictions[i] = new Prediction(labels[best], map);
        }

        activity?.SetTag("smeta.version", resolved);
        ServerlessMetaTelemetry.PredictionDuration.Record(clock.Elapsed.TotalMilliseconds);
        ServerlessMetaTelemetry.PredictedItems.Add(predictions.Length);
        return new PredictionResult(id, resolved, predictions, warning);
    }

    /// <summary>Releases the loaded models (those still in use when their request ends).</summary>
    public void Dispose() => _loaded.Dispose();

    /// <summary>
    /// The serving version's model: from the cache, or downloaded through the registry's serving alias, which
    /// falls back to the newest older version that verifies when the serving blob is missing or fails its
    /// checksum; the warning then says so. The serving pointer is not moved: an operator promotes or rolls back.
    /// <see cref="ModelIntegrityException"/> when no version verifies.
    /// </summary>
    private async Task<(ModelLease<AdaptedModel> Lease, int Version, string? Warning)> LoadServingAsync(string categoryId, int serving, CancellationToken cancellationToken)
    {
        if (_loaded.Contains((categoryId, serving)))
        {
            return (await LoadAsync(categoryId, serving, cancellationToken).ConfigureAwait(false), serving, null);
        }

        // One download: the verified serving version, or the registry's fallback in the same call.
        await using var download = await categories.DownloadAsync(categoryId, ModelAlias.Serving, cancellationToken).ConfigureAwait(false);
        var lease = await _loaded.AcquireAsync((categoryId, download.Version), _ => Task.FromResult(AdaptedModel.Load(download.Content)), cancellationToken).ConfigureAwait(false);
        if (download.FellBackFrom is not { } failed)
        {
            return (lease, download.Version, null);
        }

        var warning = string.Create(CultureInfo.InvariantCulture,
            $"Serving version {failed} cannot be loaded ({download.FallbackReason}); version {download.Version}, the newest older version that verifies, answered. Promote a good version or roll back.");
        LogServingFallback(logger, categoryId, failed, download.Version, download.FallbackReason ?? string.Empty);
        return (lease, download.Version, warning);
    }

    private Task<ModelLease<AdaptedModel>> LoadAsync(string categoryId, int version, CancellationToken cancellationToken) =>
        _loaded.AcquireAsync((categoryId, version), async key =>
        {
            await using var download = await categories.DownloadVersionAsync(key.Category, key.Version, CancellationToken.None).ConfigureAwait(false);
            return AdaptedModel.Load(download.Content);
        }, cancellationToken);

    [LoggerMessage(EventId = 7223, Level = LogLevel.Warning, Message = "Category {CategoryId}: serving version {Serving} cannot be loaded ({Reason}); version {Version} answered")]
    private static partial void LogServingFallback(ILogger logger, string categoryId, int serving, int version, string reason);
}
