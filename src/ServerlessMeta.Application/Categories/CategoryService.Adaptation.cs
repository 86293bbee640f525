using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Adaptation;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

public sealed partial class CategoryService
{
    /// <summary>
    /// Which model to adapt: the newest meta-model (of the requested algorithm), or a freshly initialised
    /// one when there is none or the category's data does not fit it.
    /// </summary>
    private async Task<AdaptationSource> ChooseSourceAsync(MetaAlgorithm? requested, IReadOnlyList<LabelledItem> examples, bool fallBackToScratch, CancellationToken cancellationToken)
    {
        var versions = await MetaModelVersionsAsync(cancellationToken).ConfigureAwait(false);
        var wire = requested?.ToWireName();
        var candidate = versions.FirstOrDefault(v => wire is null || string.Equals(v.Algorithm, wire, StringComparison.Ordinal));
        string note;
        if (candidate is not null)
        {
            var lease = await LoadMetaModelAsync(candidate.Version, cancellationToken).ConfigureAwait(false);
            if (lease.Model.Featurizer is not { } featurizerOptions)
            {
                lease.Dispose();
                throw new InvalidOperationException($"Meta-model version {candidate.Version} has no featurizer.");
            }

            var featurizer = _encoders.Featurizer(featurizerOptions);
            if (!fallBackToScratch || Fits(featurizer, examples))
            {
                return new AdaptationSource(lease.Model, lease, candidate.Version, featurizer, Note: null);
            }

            lease.Dispose();
            note = string.Create(CultureInfo.InvariantCulture, $"The category's data does not fit meta-model version {candidate.Version} (its features or text differ): adapted a freshly initialised model instead.");
        }
        else
        {
            note = wire is null
                ? "No meta-model has been registered yet: adapted a freshly initialised model from scratch. Run pretraining to get a meta-learned initialisation."
                : $"No {wire} meta-model has been registered yet: adapted a freshly initialised {wire} model from scratch.";
        }

        var algorithm = requested ?? ParseAlgorithm(_options.DefaultAlgorithm);
        var options = ScratchFeaturizer(examples, "examples");
        var scratch = MetaModel.Create(algorithm, Config(options), MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification), options);
        return new AdaptationSource(scratch, scratch, null, _encoders.Featurizer(options), note);
    }

    private static bool Fits(Featurizer featurizer, IReadOnlyList<LabelledItem> examples)
    {
        try
        {
            featurizer.FeaturizeMany([.. examples.Select(e => e.Item)], "examples");
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// The featurizer a model from scratch gets: the examples' numeric width, and when any example has text,
    /// the deployment's text encoder (<see cref="TextFeaturesOptions"/>) beside hashed n-grams.
    /// </summary>
    private FeaturizerOptions ScratchFeaturizer(IReadOnlyList<LabelledItem> examples, string field)
    {
        var first = examples.FirstOrDefault(e => e.Features is { Count: > 0 });
        var options = _encoders.NewModelOptions(first?.Features!.Count ?? 0, examples.Any(e => !string.IsNullOrWhiteSpace(e.Text)), _options.ScratchTextDimension);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            var index = examples.ToList().IndexOf(first!);
            throw new ArgumentException(e.Message, $"{field}[{Math.Max(0, index)}].features", e);
        }

        return options;
    }

    private ModelConfig Config(FeaturizerOptions featurizer) =>
        new() { TaskKind = TaskKind.Classification, InputDimension = featurizer.OutputDimension, HiddenWidths = [_options.ScratchHiddenWidth] };

    /// <summary>
    /// Adapts the source to the support set; with 2+ examples of every label, estimates held-out accuracy
    /// of that adaptation and of nearest centroid on the same features by stratified k-fold cross-validation
    /// on the same folds, and keeps nearest centroid if it is strictly better (<see cref="CrossValidatedAdaptation"/>).
    /// </summary>
    private AdaptationOutcome Adapt(AdaptationSource source, SupportSet support, AdaptationOptions adaptation)
    {
        var set = support.Set;
        var ways = support.Labels.Count;
        var choice = CrossValidatedAdaptation.Choose(source.Model, set, support.Labels, adaptation, _options.MaxFolds);
        var adapted = choice.Model;
        var chosen = source.MetaModelVersion is null ? ScratchChoice : MetaModelChoice;
        var algorithm = source.Model.Algorithm.ToWireName();
        var metaModelVersion = source.MetaModelVersion;
        var note = source.Note;
        if (choice.NearestCentroidChosen)
        {
            var what = source.MetaModelVersion is { } v ? $"meta-model version {v}" : "the model adapted from scratch";
            note = string.Create(CultureInfo.InvariantCulture, $"Nearest centroid on the raw features ({choice.BaselineAccuracy:F3}) beat {what} ({choice.MetaAccuracy:F3}) in {choice.Folds}-fold cross-validation, so nearest centroid is stored.");
            chosen = NearestCentroidChoice;
            algorithm = NearestCentroidChoice;
            metaModelVersion = null;
        }

        var supportAccuracy = Evaluator.Accuracy(adapted.Predict(set.Features, set.Count), set.Classes!, ways);
        var folds = choice.Folds;
        var metrics = new AdaptationMetrics(
            set.Count,
            Math.Round(supportAccuracy, 6),
            folds >= 2 ? string.Create(CultureInfo.InvariantCulture, $"{folds}-fold cross-validation") : null,
            folds >= 2 ? folds : null,
            Round(choice.MetaAccuracy),
            Round(choice.BaselineAccuracy),
            Round(choice.NearestCentroidChosen ? choice.BaselineAccuracy : choice.MetaAccuracy),
            chosen,
            adapted.AdaptationSteps);
        return new AdaptationOutcome(adapted, algorithm, metaModelVersion, metrics, choice.AdaptMilliseconds, choice.EstimateMilliseconds, note);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 6) : null;

    private async Task<CategoryModelVersion> StoreAsync(string categoryId, AdaptationOutcome outcome, IReadOnlyList<LabelledItem> examples, bool promote, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var metadata = Describe(categoryId, outcome, ToStored(examples), promote, buffer);
        return await _categories.AddVersionAsync(categoryId, buffer, metadata, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Saves the model into <paramref name="buffer"/> (rewound) and describes it for the registry.</summary>
    private static NewCategoryModel Describe(string categoryId, AdaptationOutcome outcome, IReadOnlyList<StoredExample> examples, bool promote, MemoryStream buffer)
    {
        outcome.Model.Save(buffer, new Dictionary<string, string>(StringComparer.Ordinal) { ["categoryId"] = categoryId, ["chosen"] = outcome.Metrics.Chosen });
        buffer.Position = 0;
        var c = CultureInfo.InvariantCulture;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["examples"] = outcome.Metrics.Examples,
            ["supportAccuracy"] = outcome.Metrics.SupportAccuracy,
        };
        AddIf(metrics, "metaModelAccuracy", outcome.Metrics.MetaModelAccuracy);
        AddIf(metrics, "baselineAccuracy", outcome.Metrics.BaselineAccuracy);
        AddIf(metrics, "estimatedAccuracy", outcome.Metrics.EstimatedAccuracy);
        AddIf(metrics, "folds", outcome.Metrics.Folds);
        var hyperparameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["chosen"] = outcome.Metrics.Chosen,
            ["adaptationSteps"] = outcome.Model.AdaptationSteps.ToString(c),
            ["learningRate"] = outcome.Model.LearningRate.ToString("R", c),
        };
        if (outcome.Metrics.Estimate is { } estimate)
        {
            hyperparameters["estimate"] = estimate;
        }

        return new NewCategoryModel
        {
            Algorithm = outcome.Algorithm,
            MetaModelVersion = outcome.MetaModelVersion,
            ExamplesHash = ExampleSetHash.Compute(examples),
            Hyperparameters = hyperparameters,
            Metrics = metrics,
            Promote = promote,
        };

        static void AddIf(Dictionary<string, double> metrics, string name, double? value)
        {
            if (value is { } v)
            {
                metrics[name] = v;
            }
        }
    }

    private CategoryModelResult Result(string categoryId, int version, AdaptationOutcome outcome, IReadOnlyList<string> labels, Stopwatch load, Stopwatch store, Stopwatch total)
    {
        var timings = new AdaptationTimings(
            Math.Round(load.Elapsed.TotalMilliseconds, 3),
            Math.Round(outcome.AdaptMs, 3),
            Math.Round(outcome.EstimateMs, 3),
            Math.Round(store.Elapsed.TotalMilliseconds, 3),
            Math.Round(total.Elapsed.TotalMilliseconds, 3));
        LogAdapted(_logger, categoryId, version, outcome.Algorithm, outcome.MetaModelVersion, outcome.Metrics.Chosen, outcome.Metrics.EstimatedAccuracy ?? double.NaN, timings.TotalMs);
        ServerlessMetaTelemetry.AdaptationDuration.Record(
            timings.TotalMs,
            new KeyValuePair<string, object?>("smeta.algorithm", outcome.Algorithm),
            new KeyValuePair<string, object?>("smeta.chosen", outcome.Metrics.Chosen));
        Activity.Current?.SetTag("smeta.version", version).SetTag("smeta.meta_model_version", outcome.MetaModelVersion).SetTag("smeta.chosen", outcome.Metrics.Chosen)
            .SetTag("smeta.estimated_accuracy", outcome.Metrics.EstimatedAccuracy);
        return new CategoryModelResult(categoryId, version, outcome.MetaModelVersion, outcome.Algorithm, labels, outcome.Metrics, timings, outcome.Note);
    }

    /// <summary>
    /// Registered meta-models, newest first, re-read at most every <see cref="CategoryServiceOptions.MetaModelRefreshInterval"/>
    /// once there is one: a newer meta-model is picked up within that interval; while there is none, every call asks.
    /// </summary>
    private async Task<IReadOnlyList<MetaModelVersion>> MetaModelVersionsAsync(CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_choiceLock)
        {
            if (_versionsSeen is { } seen && Stopwatch.GetElapsedTime(seen.At, now) < _options.MetaModelRefreshInterval)
            {
                return seen.Versions;
            }
        }

        var versions = await ListMetaModelsAsync(cancellationToken).ConfigureAwait(false);
        if (versions.Count > 0)
        {
            // Absence is never cached: the first meta-model is used as soon as it is registered.
            lock (_choiceLock)
            {
                _versionsSeen = (now, versions);
            }
        }

        return versions;
    }

    private Task<ModelLease<MetaModel>> LoadMetaModelAsync(int version, CancellationToken cancellationToken) =>
        _loadedMetaModels.AcquireAsync(version, async v =>
        {
            await using var download = await _metaModels.DownloadVersionAsync(v, CancellationToken.None).ConfigureAwait(false);
            return MetaModel.Load(download.Content);
        }, cancellationToken);

    /// <summary>A category version's model, loaded once per process (versions never change once written, so the cache needs no invalidation).</summary>
    private Task<ModelLease<AdaptedModel>> LoadModelAsync(string categoryId, int version, CancellationToken cancellationToken) =>
        _loadedModels.AcquireAsync((categoryId, version), async key =>
        {
            await using var download = await _categories.DownloadVersionAsync(key.Category, key.Version, CancellationToken.None).ConfigureAwait(false);
            return AdaptedModel.Load(download.Content);
        }, cancellationToken);

    /// <summary>Releases the loaded models (those still in use when their request ends).</summary>
    public void Dispose()
    {
        _loadedModels.Dispose();
        _loadedMetaModels.Dispose();
    }

    [LoggerMessage(EventId = 7221, Level = LogLevel.Information, Message = "Category {CategoryId} version {Version}: {Algorithm} from meta-model {MetaModelVersion}, chose {Chosen} (estimated accuracy {Estimate:F3}) in {Milliseconds:F1} ms")]
    private static partial void LogAdapted(ILogger logger, string categoryId, int version, string algorithm, int? metaModelVersion, string chosen, double estimate, double milliseconds);

    [LoggerMessage(EventId = 7223, Level = LogLevel.Warning, Message = "Category {CategoryId}: serving version {Serving} cannot be loaded ({Reason}); version {Version} answered")]
    private static partial void LogServingFallback(ILogger logger, string categoryId, int serving, int version, string reason);

    [LoggerMessage(EventId = 7222, Level = LogLevel.Warning, Message = "Health check: storage is not reachable")]
    private static partial void LogHealthFailed(ILogger logger, Exception exception);

    /// <summary>The model to adapt, and what to dispose when the request is done with it: the model itself (from scratch) or its lease on the cached meta-model.</summary>
    private sealed record AdaptationSource(MetaModel Model, IDisposable Ownership, int? MetaModelVersion, Featurizer Featurizer, string? Note)
    {
        public void Release() => Ownership.Dispose();
    }

    private sealed record AdaptationOutcome(AdaptedModel Model, string Algorithm, int? MetaModelVersion, AdaptationMetrics Metrics, double AdaptMs, double EstimateMs, string? Note) : IDisposable
    {
        public void Dispose() => Model.Dispose();
    }
}
