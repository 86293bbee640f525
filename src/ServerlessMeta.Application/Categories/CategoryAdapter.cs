using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Adaptation;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// One adaptation of a category as the service reports it: runs <see cref="CategoryAdaptation"/> on the chosen
/// source, turns its figures into <see cref="AdaptationMetrics"/> and a note, describes the version for the
/// registry, and logs and measures the result.
/// </summary>
internal sealed partial class CategoryAdapter(int maxFolds, ILogger logger)
{
    /// <summary>Adapts <paramref name="source"/> to <paramref name="support"/>; nearest centroid is stored instead when it is strictly better held-out.</summary>
    public AdaptedVersion Adapt(AdaptationSource source, SupportSet support, AdaptationOptions adaptation)
    {
        var result = CategoryAdaptation.Adapt(source.Model, source.MetaModelVersion is null, support, adaptation, maxFolds);
        var algorithm = source.Model.Algorithm.ToWireName();
        var metaModelVersion = source.MetaModelVersion;
        var note = source.Note;
        if (result.Chosen == ModelChoice.NearestCentroid)
        {
            var what = source.MetaModelVersion is { } v ? $"meta-model version {v}" : "the model adapted from scratch";
            note = string.Create(CultureInfo.InvariantCulture, $"Nearest centroid on the raw features ({result.BaselineAccuracy:F3}) beat {what} ({result.MetaModelAccuracy:F3}) in {result.Folds}-fold cross-validation, so nearest centroid is stored.");
            algorithm = CategoryService.NearestCentroidChoice;
            metaModelVersion = null;
        }

        var folds = result.Folds;
        var metrics = new AdaptationMetrics(
            result.Examples,
            Math.Round(result.SupportAccuracy, 6),
            folds >= 2 ? string.Create(CultureInfo.InvariantCulture, $"{folds}-fold cross-validation") : null,
            folds >= 2 ? folds : null,
            Round(result.MetaModelAccuracy),
            Round(result.BaselineAccuracy),
            Round(result.EstimatedAccuracy),
            ChoiceName(result.Chosen),
            result.Model.AdaptationSteps);
        return new AdaptedVersion(result.Model, algorithm, metaModelVersion, metrics, result.AdaptMilliseconds, result.EstimateMilliseconds, note);
    }

    /// <summary>Saves the model into <paramref name="buffer"/> (rewound) and describes it for the registry.</summary>
    public static NewCategoryModel Describe(CategoryId categoryId, AdaptedVersion adapted, IReadOnlyList<StoredExample> examples, bool promote, MemoryStream buffer)
    {
        adapted.Model.Save(buffer, new Dictionary<string, string>(StringComparer.Ordinal) { ["categoryId"] = categoryId.Value, ["chosen"] = adapted.Metrics.Chosen });
        buffer.Position = 0;
        return CategoryRecords.NewVersion(adapted.Algorithm, adapted.MetaModelVersion, adapted.Metrics, adapted.Model.LearningRate, examples, promote);
    }

    /// <summary>The answer to a create or feedback call that stored <paramref name="version"/>; logs it and records its duration.</summary>
    public CategoryModelResult Result(CategoryId categoryId, int version, AdaptedVersion adapted, IReadOnlyList<string> labels, Stopwatch load, Stopwatch store, Stopwatch total)
    {
        var timings = new AdaptationTimings(
            Math.Round(load.Elapsed.TotalMilliseconds, 3),
            Math.Round(adapted.AdaptMs, 3),
            Math.Round(adapted.EstimateMs, 3),
            Math.Round(store.Elapsed.TotalMilliseconds, 3),
            Math.Round(total.Elapsed.TotalMilliseconds, 3));
        LogAdapted(logger, categoryId.Value, version, adapted.Algorithm, adapted.MetaModelVersion, adapted.Metrics.Chosen, adapted.Metrics.EstimatedAccuracy ?? double.NaN, timings.TotalMs);
        ServerlessMetaTelemetry.AdaptationDuration.Record(
            timings.TotalMs,
            new KeyValuePair<string, object?>("smeta.algorithm", adapted.Algorithm),
            new KeyValuePair<string, object?>("smeta.chosen", adapted.Metrics.Chosen));
        Activity.Current?.SetTag("smeta.version", version).SetTag("smeta.meta_model_version", adapted.MetaModelVersion).SetTag("smeta.chosen", adapted.Metrics.Chosen)
            .SetTag("smeta.estimated_accuracy", adapted.Metrics.EstimatedAccuracy);
        return new CategoryModelResult(categoryId.Value, version, adapted.MetaModelVersion, adapted.Algorithm, labels, adapted.Metrics, timings, adapted.Note);
    }

    /// <summary>What <see cref="AdaptationMetrics.Chosen"/> says for <paramref name="choice"/>.</summary>
    private static string ChoiceName(ModelChoice choice) => choice switch
    {
        ModelChoice.MetaModel => CategoryService.MetaModelChoice,
        ModelChoice.FromScratch => CategoryService.ScratchChoice,
        _ => CategoryService.NearestCentroidChoice,
    };

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 6) : null;

    [LoggerMessage(EventId = 7221, Level = LogLevel.Information, Message = "Category {CategoryId} version {Version}: {Algorithm} from meta-model {MetaModelVersion}, chose {Chosen} (estimated accuracy {Estimate:F3}) in {Milliseconds:F1} ms")]
    private static partial void LogAdapted(ILogger logger, string categoryId, int version, string algorithm, int? metaModelVersion, string chosen, double estimate, double milliseconds);
}

/// <summary>A model adapted for a category, with what the service reports about it; owns the model.</summary>
internal sealed record AdaptedVersion(AdaptedModel Model, string Algorithm, int? MetaModelVersion, AdaptationMetrics Metrics, double AdaptMs, double EstimateMs, string? Note) : IDisposable
{
    public void Dispose() => Model.Dispose();
}
