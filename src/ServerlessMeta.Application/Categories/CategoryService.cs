using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// Categories as users see them: create one from a few examples (adapting the serving meta-model and
/// comparing it with nearest centroid by a cross-validated estimate), predict, learn from feedback, ingest
/// history for pretraining, list and roll back versions. Validates everything before writing anything.
/// </summary>
public sealed partial class CategoryService : IDisposable
{
    /// <summary>What <see cref="AdaptationMetrics.Chosen"/> says when nearest centroid was stored.</summary>
    public const string NearestCentroidChoice = "nearest-centroid";

    internal const string MetaModelChoice = "meta-model";
    internal const string ScratchChoice = "from-scratch";

    private readonly CategoryRegistry _categories;
    private readonly DatasetStore _datasets;
    private readonly CategoryServiceOptions _options;
    private readonly ILogger _logger;
    private readonly MetaModelSource _metaModels;
    private readonly CategoryAdapter _adapter;
    private readonly CategoryPredictor _predictor;

    public CategoryService(CategoryRegistry categories, DatasetStore datasets, MetaModelRegistry metaModels, TextEncoders encoders, IOptions<CategoryServiceOptions> options, ILogger<CategoryService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _categories = categories;
        _datasets = datasets;
        _options = options.Value;
        _logger = logger;
        _metaModels = new MetaModelSource(metaModels, encoders, _options);
        _adapter = new CategoryAdapter(_options.MaxFolds, logger);
        _predictor = new CategoryPredictor(categories, encoders, _options, logger);
    }

    /// <summary>The informational version of this build.</summary>
    public static string BuildVersion { get; } =
        typeof(CategoryService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Loads the native library and runs one tiny adaptation, so the first request does not pay for it.</summary>
    public static void WarmUp()
    {
        TorchRuntime.Configure();
        using var model = MetaModel.Create(MetaAlgorithm.ProtoNet, new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = 4, HiddenWidths = [4] }, featurizer: new FeaturizerOptions { NumericDimension = 4, TextDimension = 0 });
        using var adapted = model.Adapt([new LabelledItem([1, 0, 0, 0], null, "a"), new LabelledItem([0, 1, 0, 0], null, "b")]);
        _ = adapted.Predict([1, 0, 0, 0], 1);
    }

    /// <summary>
    /// Creates the category with its examples and version 1 of its model. Throws
    /// <see cref="ArgumentException"/> (ParamName = the JSON field) before writing anything, or
    /// <see cref="CategoryAlreadyExistsException"/>.
    /// </summary>
    public async Task<CategoryModelResult> CreateAsync(CreateCategoryCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.create");
        activity?.SetTag("smeta.category_id", command.CategoryId.Value).SetTag("smeta.examples", command.Examples?.Count ?? 0);
        var total = Stopwatch.StartNew();
        var declaredLabels = RequestValidator.DeclaredLabels(command.Labels);
        var adaptation = RequestValidator.Adaptation(command.Adaptation);
        var examples = RequestValidator.Examples(command.Examples, "examples");
        LabelSpelling.CheckCase([], declaredLabels, examples, command.CaseSensitiveLabels, "examples");
        var requested = command.Algorithm is null ? (MetaAlgorithm?)null : RequestValidator.Algorithm(command.Algorithm);

        var load = Stopwatch.StartNew();
        var source = await _metaModels.ChooseAsync(requested, examples, fallBackToScratch: false, cancellationToken).ConfigureAwait(false);
        load.Stop();
        try
        {
            var support = RequestValidator.Support(source.Featurizer, examples, declaredLabels, "examples");
            using var adapted = _adapter.Adapt(source, support, adaptation);

            var store = Stopwatch.StartNew();
            var stored = CategoryRecords.Stored(examples);
            using var buffer = new MemoryStream();
            var metadata = CategoryAdapter.Describe(command.CategoryId, adapted, stored, promote: true, buffer);
            var version = await _categories.CreateCategoryAsync(command.CategoryId.Value, stored, buffer, metadata, cancellationToken).ConfigureAwait(false);
            store.Stop();
            return _adapter.Result(command.CategoryId, version.Version, adapted, support.Labels, load, store, total);
        }
        finally
        {
            source.Release();
        }
    }

    /// <summary>
    /// Appends labelled examples to the category's data and stores (and serves) a new version adapted on
    /// all of it. Concurrent calls each get their own version.
    /// </summary>
    public async Task<CategoryModelResult> AddFeedbackAsync(CategoryId categoryId, IReadOnlyList<ExampleInput?>? examples, AdaptationInput? adaptation = null, bool caseSensitiveLabels = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.feedback");
        activity?.SetTag("smeta.category_id", categoryId.Value).SetTag("smeta.examples", examples?.Count ?? 0);
        var total = Stopwatch.StartNew();
        var options = RequestValidator.Adaptation(adaptation);
        var added = RequestValidator.Examples(examples, "examples");
        var category = await _categories.GetCategoryAsync(categoryId.Value, cancellationToken).ConfigureAwait(false);
        LabelSpelling.CheckCase(category.Labels, null, added, caseSensitiveLabels, "examples");
        RequestValidator.CheckLabelLimit(category.Labels, added, "examples");

        var load = Stopwatch.StartNew();
        var existing = Recent(await ReadAllAsync(categoryId, cancellationToken).ConfigureAwait(false));
        var source = await _metaModels.ChooseAsync(null, existing.Count > 0 ? existing : added, fallBackToScratch: true, cancellationToken).ConfigureAwait(false);
        load.Stop();
        try
        {
            // The new examples must fit the model; the stored ones fit it too or the source would be from scratch.
            source.Featurizer.FeaturizeMany([.. added.Select(e => e.Item)], "examples");
            await _datasets.AppendExamplesAsync(categoryId.Value, CategoryRecords.Stored(added), cancellationToken).ConfigureAwait(false);
            var all = Recent(await ReadAllAsync(categoryId, cancellationToken).ConfigureAwait(false));
            var support = RequestValidator.Support(source.Featurizer, all, null, "examples");
            using var adapted = _adapter.Adapt(source, support, options);
            var store = Stopwatch.StartNew();
            using var buffer = new MemoryStream();
            var metadata = CategoryAdapter.Describe(categoryId, adapted, CategoryRecords.Stored(all), promote: true, buffer);
            var version = await _categories.AddVersionAsync(categoryId.Value, buffer, metadata, cancellationToken).ConfigureAwait(false);
            store.Stop();
            return _adapter.Result(categoryId, version.Version, adapted, support.Labels, load, store, total);
        }
        finally
        {
            source.Release();
        }
    }

    /// <summary>Bulk ingest for pretraining: appends the examples, creating the category if needed. No adaptation.</summary>
    public async Task<IngestResult> IngestAsync(CategoryId categoryId, IReadOnlyList<ExampleInput?>? examples, bool caseSensitiveLabels = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        var added = RequestValidator.Examples(examples, "examples");
        // Checked on their own before anything is written (even the category's creation), then against the category.
        RequestValidator.CheckAddition([], null, added, caseSensitiveLabels, "examples");

        var id = categoryId.Value;
        var created = false;
        CategoryInfo category;
        try
        {
            category = await _categories.GetCategoryAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (CategoryNotFoundException)
        {
            try
            {
                category = await _categories.CreateCategoryAsync(id, cancellationToken).ConfigureAwait(false);
                created = true;
            }
            catch (CategoryAlreadyExistsException)
            {
                category = await _categories.GetCategoryAsync(id, cancellationToken).ConfigureAwait(false);
            }
        }

        RequestValidator.CheckAddition(category.Labels, category.FeatureCount, added, caseSensitiveLabels, "examples");
        var result = await _datasets.AppendExamplesAsync(id, CategoryRecords.Stored(added), cancellationToken).ConfigureAwait(false);
        return new IngestResult(id, created, result.Appended, result.ExampleCount, result.LabelCounts);
    }

    /// <summary>Label probabilities of a version (the serving one by default) for each item.</summary>
    public Task<PredictionResult> PredictAsync(CategoryId categoryId, IReadOnlyList<ItemInput?>? items, int? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        return _predictor.PredictAsync(categoryId, items, version, cancellationToken);
    }

    public async Task<CategoryDetails> GetAsync(CategoryId categoryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        return CategoryRecords.Category(await _categories.GetCategoryAsync(categoryId.Value, cancellationToken).ConfigureAwait(false));
    }

    public async Task<IReadOnlyList<CategoryDetails>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<CategoryDetails>();
        await foreach (var category in _categories.ListCategoriesAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(CategoryRecords.Category(category));
        }

        return list;
    }

    public async Task<IReadOnlyList<CategoryVersionDetails>> ListVersionsAsync(CategoryId categoryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        var list = new List<CategoryVersionDetails>();
        await foreach (var version in _categories.ListVersionsAsync(categoryId.Value, cancellationToken).ConfigureAwait(false))
        {
            list.Add(CategoryRecords.Version(version));
        }

        return list;
    }

    /// <summary>The model file of a version, verified against its SHA-256.</summary>
    public async Task<ModelFile> DownloadModelAsync(CategoryId categoryId, int version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        await using var download = await _categories.DownloadVersionAsync(categoryId.Value, version, cancellationToken).ConfigureAwait(false);
        return new ModelFile(download.Version, download.ToArray(), download.Sha256);
    }

    /// <summary>Serves <paramref name="version"/> (rollback or roll forward).</summary>
    public async Task<CategoryDetails> PromoteAsync(CategoryId categoryId, int version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categoryId);
        return CategoryRecords.Category(await _categories.PromoteAsync(categoryId.Value, version, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every meta-model version, newest first; the first is the serving one.</summary>
    public async Task<IReadOnlyList<MetaModelDetails>> ListMetaModelsAsync(CancellationToken cancellationToken = default) =>
        [.. (await _metaModels.ListAsync(cancellationToken).ConfigureAwait(false)).Select(CategoryRecords.MetaModel)];

    /// <summary>Storage reachability and the serving meta-model.</summary>
    public async Task<HealthReport> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var all = await _metaModels.ListAsync(cancellationToken).ConfigureAwait(false);
            var serving = all.Count > 0 ? all[0] : null;
            return new HealthReport(true, null, serving?.Version, serving?.Algorithm, BuildVersion);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The report carries a description in our words, never the service's response text (anonymous callers read it).
            LogHealthFailed(_logger, e);
            return new HealthReport(false, "storage: " + StorageFaults.Describe(e), null, null, BuildVersion);
        }
    }

    /// <summary>Releases the loaded models (those still in use when their request ends).</summary>
    public void Dispose()
    {
        _predictor.Dispose();
        _metaModels.Dispose();
    }

    private async Task<List<LabelledItem>> ReadAllAsync(CategoryId categoryId, CancellationToken cancellationToken)
    {
        var all = new List<LabelledItem>();
        await foreach (var example in _datasets.ReadExamplesAsync(categoryId.Value, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            all.Add(CategoryRecords.Labelled(example));
        }

        return all;
    }

    /// <summary>The newest <see cref="CategoryServiceOptions.MaxExamplesPerLabel"/> examples of each label, in stored order.</summary>
    private List<LabelledItem> Recent(List<LabelledItem> all)
    {
        var keep = new bool[all.Count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = all.Count - 1; i >= 0; i--)
        {
            var count = seen.GetValueOrDefault(all[i].Label);
            if (count < _options.MaxExamplesPerLabel)
            {
                keep[i] = true;
                seen[all[i].Label] = count + 1;
            }
        }

        return [.. all.Where((_, i) => keep[i])];
    }

    [LoggerMessage(EventId = 7222, Level = LogLevel.Warning, Message = "Health check: storage is not reachable")]
    private static partial void LogHealthFailed(ILogger logger, Exception exception);
}
