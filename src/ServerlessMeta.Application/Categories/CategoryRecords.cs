using System.Globalization;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// The one mapping between the category service's types and what storage keeps: examples, categories, meta-models,
/// and a version's <see cref="AdaptationMetrics"/>, which storage holds as its number metrics (examples,
/// supportAccuracy, metaModelAccuracy, baselineAccuracy, estimatedAccuracy, folds) and its hyperparameters
/// (chosen, adaptationSteps, learningRate, estimate). A row written before a field existed reads with that
/// field null, or with a default: 0 for numbers, and the choice its algorithm and meta-model imply.
/// </summary>
internal static class CategoryRecords
{
    private const string Examples = "examples";
    private const string SupportAccuracy = "supportAccuracy";
    private const string MetaModelAccuracy = "metaModelAccuracy";
    private const string BaselineAccuracy = "baselineAccuracy";
    private const string EstimatedAccuracy = "estimatedAccuracy";
    private const string Folds = "folds";
    private const string Chosen = "chosen";
    private const string Estimate = "estimate";
    private const string AdaptationSteps = "adaptationSteps";
    private const string LearningRate = "learningRate";

    public static List<StoredExample> Stored(IReadOnlyList<LabelledItem> examples) =>
        [.. examples.Select(e => new StoredExample(e.Features, e.Text, e.Label))];

    public static LabelledItem Labelled(StoredExample example) => new(example.Features, example.Text, example.Label);

    /// <summary>What the registry records about a version adapted with <paramref name="metrics"/> (the model's inner learning rate beside them).</summary>
    public static NewCategoryModel NewVersion(string algorithm, int? metaModelVersion, AdaptationMetrics metrics, double learningRate, IReadOnlyList<StoredExample> examples, bool promote)
    {
        var numbers = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [Examples] = metrics.Examples,
            [SupportAccuracy] = metrics.SupportAccuracy,
        };
        AddIf(numbers, MetaModelAccuracy, metrics.MetaModelAccuracy);
        AddIf(numbers, BaselineAccuracy, metrics.BaselineAccuracy);
        AddIf(numbers, EstimatedAccuracy, metrics.EstimatedAccuracy);
        AddIf(numbers, Folds, metrics.Folds);
        var hyperparameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Chosen] = metrics.Chosen,
            [AdaptationSteps] = metrics.AdaptationSteps.ToString(CultureInfo.InvariantCulture),
            [LearningRate] = learningRate.ToString("R", CultureInfo.InvariantCulture),
        };
        if (metrics.Estimate is { } estimate)
        {
            hyperparameters[Estimate] = estimate;
        }

        return new NewCategoryModel
        {
            Algorithm = algorithm,
            MetaModelVersion = metaModelVersion,
            ExamplesHash = ExampleSetHash.Compute(examples),
            Hyperparameters = hyperparameters,
            Metrics = numbers,
            Promote = promote,
        };

        static void AddIf(Dictionary<string, double> numbers, string name, double? value)
        {
            if (value is { } v)
            {
                numbers[name] = v;
            }
        }
    }

    /// <summary>The metrics a stored version was adapted with.</summary>
    public static AdaptationMetrics Metrics(CategoryModelVersion version)
    {
        var numbers = version.Metrics;
        var hyperparameters = version.Hyperparameters;
        var chosen = hyperparameters.GetValueOrDefault(Chosen) ?? (version.Algorithm == CategoryService.NearestCentroidChoice
            ? CategoryService.NearestCentroidChoice
            : version.MetaModelVersion is null ? CategoryService.ScratchChoice : CategoryService.MetaModelChoice);
        var steps = int.TryParse(hyperparameters.GetValueOrDefault(AdaptationSteps), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 0;
        return new AdaptationMetrics(
            (int)numbers.GetValueOrDefault(Examples),
            numbers.GetValueOrDefault(SupportAccuracy),
            hyperparameters.GetValueOrDefault(Estimate),
            numbers.TryGetValue(Folds, out var folds) ? (int)folds : null,
            Number(numbers, MetaModelAccuracy),
            Number(numbers, BaselineAccuracy),
            Number(numbers, EstimatedAccuracy),
            chosen,
            steps);

        static double? Number(IReadOnlyDictionary<string, double> numbers, string name) => numbers.TryGetValue(name, out var value) ? value : null;
    }

    public static CategoryVersionDetails Version(CategoryModelVersion v) =>
        new(v.Version, v.Algorithm, v.MetaModelVersion, v.CreatedAt, Metrics(v), v.Hyperparameters, v.Size, v.Sha256, v.ExamplesHash);

    public static CategoryDetails Category(CategoryInfo c) =>
        new(c.Id, c.Labels, c.ExampleCount, c.ServingVersion, c.LatestVersion, c.CreatedAt, c.LabelCounts, c.FeatureCount);

    public static MetaModelDetails MetaModel(MetaModelVersion v) =>
        new(v.Version, v.Algorithm, v.CreatedAt, v.Metrics, v.PretrainingRunId, v.DataSnapshotId, v.Iterations, v.Hyperparameters, v.Size, v.Sha256);
}
