using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>Tuning of <see cref="CategoryService"/>.</summary>
public sealed class CategoryServiceOptions
{
    /// <summary>Most items one predict call may carry.</summary>
    public int MaxPredictItems { get; set; } = 10_000;

    /// <summary>Adapted category models kept loaded (per process).</summary>
    public int ModelCacheSize { get; set; } = 256;

    /// <summary>Meta-models kept loaded (per process): the newest of each algorithm that categories are created from.</summary>
    public int MetaModelCacheSize { get; set; } = 6;

    /// <summary>How long the list of meta-models is reused before the registry is asked again (a newer meta-model is used within this long; the first one at once).</summary>
    public TimeSpan MetaModelRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many folds for the held-out estimate.</summary>
    public int MaxFolds { get; set; } = 5;

    /// <summary>Feedback adapts on at most this many of each label's newest examples.</summary>
    public int MaxExamplesPerLabel { get; set; } = 100;

    /// <summary>Hidden width of models adapted from scratch (no meta-model yet).</summary>
    public int ScratchHiddenWidth { get; set; } = 64;

    /// <summary>Hashed text buckets of models adapted from scratch (beside the text encoder's embedding, see <see cref="TextFeaturesOptions"/>).</summary>
    public int ScratchTextDimension { get; set; } = 256;

    /// <summary>Algorithm adapted from scratch when no meta-model exists and none is asked for.</summary>
    public string DefaultAlgorithm { get; set; } = "protonet";
}

/// <summary>
/// Categories as users see them: create one from a few examples (adapting the serving meta-model and
/// comparing it with nearest centroid by a cross-validated estimate), predict, learn from feedback, ingest
/// history for pretraining, list and roll back versions. Validates everything before writing anything.
/// </summary>
public sealed partial class CategoryService : IDisposable
{
    /// <summary>What <see cref="AdaptationMetrics.Chosen"/> says when nearest centroid was stored.</summary>
    public const string NearestCentroidChoice = "nearest-centroid";

    private const string MetaModelChoice = "meta-model";
    private const string ScratchChoice = "from-scratch";

    private readonly CategoryRegistry _categories;
    private readonly DatasetStore _datasets;
    private readonly MetaModelRegistry _metaModels;
    private readonly TextEncoders _encoders;
    private readonly CategoryServiceOptions _options;
    private readonly ILogger _logger;
    private readonly LoadedModelCache<int, MetaModel> _loadedMetaModels;
    private readonly LoadedModelCache<(string Category, int Version), AdaptedModel> _loadedModels;
    private readonly Lock _choiceLock = new();
    private (long At, IReadOnlyList<MetaModelVersion> Versions)? _versionsSeen;

    public CategoryService(CategoryRegistry categories, DatasetStore datasets, MetaModelRegistry metaModels, TextEncoders encoders, IOptions<CategoryServiceOptions> options, ILogger<CategoryService> logger)
    {
        _encoders = encoders;
        ArgumentNullException.ThrowIfNull(options);
        _categories = categories;
        _datasets = datasets;
        _metaModels = metaModels;
        _options = options.Value;
        _logger = logger;
        _loadedMetaModels = new(_options.MetaModelCacheSize);
        _loadedModels = new(_options.ModelCacheSize);
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
    public async Task<CategoryModelResult> CreateAsync(CreateCategoryCommand command, IReadOnlyList<string>? declaredLabels = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.create");
        activity?.SetTag("smeta.category_id", command.CategoryId).SetTag("smeta.examples", command.Examples?.Count ?? 0);
        var total = Stopwatch.StartNew();
        StorageIds.Validate(command.CategoryId, "categoryId");
        var adaptation = CheckAdaptation(command.Adaptation);
        command = command with { Examples = LabelSpelling.Trim(command.Examples) };
        declaredLabels = LabelSpelling.Trim(declaredLabels);
        CheckExamples(command.Examples, "examples");
        LabelSpelling.CheckCase([], declaredLabels, command.Examples, command.CaseSensitiveLabels, "examples");
        var requested = command.Algorithm is null ? (MetaAlgorithm?)null : ParseAlgorithm(command.Algorithm);

        var load = Stopwatch.StartNew();
        var source = await ChooseSourceAsync(requested, command.Examples, fallBackToScratch: false, cancellationToken).ConfigureAwait(false);
        load.Stop();
        try
        {
            var support = CreateSupport(source.Featurizer, command.Examples, declaredLabels, "examples");
            using var adapted = Adapt(source, support, adaptation);

            var store = Stopwatch.StartNew();
            var stored = ToStored(command.Examples);
            using var buffer = new MemoryStream();
            var metadata = Describe(command.CategoryId, adapted, stored, promote: true, buffer);
            var version = await _categories.CreateCategoryAsync(command.CategoryId, stored, buffer, metadata, cancellationToken).ConfigureAwait(false);
            store.Stop();
            return Result(command.CategoryId, version.Version, adapted, support.Labels, load, store, total);
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
    public async Task<CategoryModelResult> AddFeedbackAsync(string categoryId, IReadOnlyList<LabelledItem> examples, AdaptationOptions? adaptation = null, bool caseSensitiveLabels = false, CancellationToken cancellationToken = default)
    {
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.feedback");
        activity?.SetTag("smeta.category_id", categoryId).SetTag("smeta.examples", examples?.Count ?? 0);
        var total = Stopwatch.StartNew();
        StorageIds.Validate(categoryId, "id");
        adaptation = CheckAdaptation(adaptation);
        examples = LabelSpelling.Trim(examples);
        CheckExamples(examples, "examples");
        var category = await _categories.GetCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
        LabelSpelling.CheckCase(category.Labels, null, examples, caseSensitiveLabels, "examples");
        var labels = category.Labels.Union(examples.Select(e => e.Label), StringComparer.Ordinal).Count();
        if (labels > Limits.MaxLabels)
        {
            throw new ArgumentException($"The category would have {labels} labels; at most {Limits.MaxLabels} are supported.", "examples");
        }

        var load = Stopwatch.StartNew();
        var existing = await ReadRecentAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var source = await ChooseSourceAsync(null, existing.Count > 0 ? existing : examples, fallBackToScratch: true, cancellationToken).ConfigureAwait(false);
        load.Stop();
        try
        {
            // The new examples must fit the model; the stored ones fit it too or the source would be from scratch.
            source.Featurizer.FeaturizeMany([.. examples.Select(e => e.Item)], "examples");
            await _datasets.AppendExamplesAsync(categoryId, ToStored(examples), cancellationToken).ConfigureAwait(false);
            var all = Recent([.. await ReadAllAsync(categoryId, cancellationToken).ConfigureAwait(false)]);
            var support = CreateSupport(source.Featurizer, all, null, "examples");
            using var adapted = Adapt(source, support, adaptation);
            var store = Stopwatch.StartNew();
            var version = await StoreAsync(categoryId, adapted, all, promote: true, cancellationToken).ConfigureAwait(false);
            store.Stop();
            return Result(categoryId, version.Version, adapted, support.Labels, load, store, total);
        }
        finally
        {
            source.Release();
        }
    }

    /// <summary>Bulk ingest for pretraining: appends the examples, creating the category if needed. No adaptation.</summary>
    public async Task<IngestResult> IngestAsync(string categoryId, IReadOnlyList<LabelledItem> examples, bool caseSensitiveLabels = false, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "id");
        examples = LabelSpelling.Trim(examples);
        CheckExamples(examples, "examples");
        LabelSpelling.CheckCase([], null, examples, caseSensitiveLabels, "examples");
        for (var i = 0; i < examples.Count; i++)
        {
            CheckItem(examples[i].Item, $"examples[{i}]");
        }

        var counts = examples.Where(e => e.Features is { Count: > 0 }).Select(e => e.Features!.Count).Distinct().ToList();
        if (counts.Count > 1)
        {
            var index = examples.ToList().FindIndex(e => e.Features is { Count: > 0 } && e.Features.Count != counts[0]);
            throw new ArgumentException($"examples[{index}].features has {examples[index].Features!.Count} numbers; the others have {counts[0]}.", $"examples[{index}].features");
        }

        var newLabels = examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Count();
        if (newLabels > Limits.MaxLabels)
        {
            throw new ArgumentException($"examples hold {newLabels} labels; a category supports at most {Limits.MaxLabels}.", "examples");
        }

        var created = false;
        CategoryInfo category;
        try
        {
            category = await _categories.GetCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
        }
        catch (CategoryNotFoundException)
        {
            try
            {
                category = await _categories.CreateCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
                created = true;
            }
            catch (CategoryAlreadyExistsException)
            {
                category = await _categories.GetCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
            }
        }

        LabelSpelling.CheckCase(category.Labels, null, examples, caseSensitiveLabels, "examples");
        if (category.FeatureCount is { } width && counts.Count == 1 && counts[0] != width)
        {
            var index = examples.ToList().FindIndex(e => e.Features is { Count: > 0 });
            throw new ArgumentException($"examples[{index}].features has {counts[0]} numbers; this category's examples have {width}.", $"examples[{index}].features");
        }

        var labels = category.Labels.Union(examples.Select(e => e.Label), StringComparer.Ordinal).Count();
        if (labels > Limits.MaxLabels)
        {
            throw new ArgumentException($"The category would have {labels} labels; at most {Limits.MaxLabels} are supported.", "examples");
        }

        var result = await _datasets.AppendExamplesAsync(categoryId, ToStored(examples), cancellationToken).ConfigureAwait(false);
        return new IngestResult(categoryId, created, result.Appended, result.ExampleCount, result.LabelCounts);
    }

    /// <summary>Label probabilities of a version (the serving one by default) for each item.</summary>
    public async Task<PredictionResult> PredictAsync(string categoryId, IReadOnlyList<CatalogItem> items, int? version = null, CancellationToken cancellationToken = default)
    {
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.category.predict");
        activity?.SetTag("smeta.category_id", categoryId).SetTag("smeta.items", items?.Count ?? 0);
        var clock = Stopwatch.StartNew();
        StorageIds.Validate(categoryId, "id");
        if (items is null || items.Count == 0)
        {
            throw new ArgumentException("items must hold at least one item.", "items");
        }

        if (items.Count > _options.MaxPredictItems)
        {
            throw new ArgumentException($"items holds {items.Count} items; at most {_options.MaxPredictItems} per call.", "items");
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is null)
            {
                throw new ArgumentException($"items[{i}] is null.", $"items[{i}]");
            }
        }

        if (version is < 1)
        {
            throw new ArgumentException($"version must be a positive integer, got {version}.", "version");
        }

        int resolved;
        string? warning = null;
        ModelLease<AdaptedModel> lease;
        if (version is { } requested)
        {
            // An explicit version never falls back: a corrupt one is a ModelIntegrityException naming it.
            resolved = requested;
            if (!_loadedModels.Contains((categoryId, resolved)))
            {
                await _categories.GetVersionAsync(categoryId, resolved, cancellationToken).ConfigureAwait(false);
            }

            lease = await LoadModelAsync(categoryId, resolved, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var category = await _categories.GetCategoryAsync(categoryId, cancellationToken).ConfigureAwait(false);
            var serving = category.ServingVersion ?? throw new ModelVersionNotFoundException($"Category '{categoryId}' has no model version yet.");
            (lease, resolved, warning) = await LoadServingModelAsync(categoryId, serving, cancellationToken).ConfigureAwait(false);
        }

        using var leased = lease;
        var model = lease.Model;
        var probabilities = model.PredictItems(items, _encoders.For(model.Featurizer));
        var labels = model.Labels;
        var predictions = new Prediction[items.Count];
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
        return new PredictionResult(categoryId, resolved, predictions, warning);
    }

    /// <summary>
    /// The serving version's model: from the cache, or downloaded through the registry's serving alias, which
    /// falls back to the newest older version that verifies when the serving blob is missing or fails its
    /// checksum; the warning then says so. The serving pointer is not moved: an operator promotes or rolls back.
    /// <see cref="ModelIntegrityException"/> when no version verifies.
    /// </summary>
    private async Task<(ModelLease<AdaptedModel> Lease, int Version, string? Warning)> LoadServingModelAsync(string categoryId, int serving, CancellationToken cancellationToken)
    {
        if (_loadedModels.Contains((categoryId, serving)))
        {
            return (await LoadModelAsync(categoryId, serving, cancellationToken).ConfigureAwait(false), serving, null);
        }

        // One download: the verified serving version, or the registry's fallback in the same call.
        await using var download = await _categories.DownloadAsync(categoryId, ModelAlias.Serving, cancellationToken).ConfigureAwait(false);
        var lease = await _loadedModels.AcquireAsync((categoryId, download.Version), _ => Task.FromResult(AdaptedModel.Load(download.Content)), cancellationToken).ConfigureAwait(false);
        if (download.FellBackFrom is not { } failed)
        {
            return (lease, download.Version, null);
        }

        var warning = string.Create(CultureInfo.InvariantCulture,
            $"Serving version {failed} cannot be loaded ({download.FallbackReason}); version {download.Version}, the newest older version that verifies, answered. Promote a good version or roll back.");
        LogServingFallback(_logger, categoryId, failed, download.Version, download.FallbackReason ?? string.Empty);
        return (lease, download.Version, warning);
    }

    public Task<CategoryInfo> GetAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "id");
        return _categories.GetCategoryAsync(categoryId, cancellationToken);
    }

    public async Task<IReadOnlyList<CategoryInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<CategoryInfo>();
        await foreach (var category in _categories.ListCategoriesAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(category);
        }

        return list;
    }

    public async Task<IReadOnlyList<CategoryModelVersion>> ListVersionsAsync(string categoryId, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "id");
        var list = new List<CategoryModelVersion>();
        await foreach (var version in _categories.ListVersionsAsync(categoryId, cancellationToken).ConfigureAwait(false))
        {
            list.Add(version);
        }

        return list;
    }

    /// <summary>The model file of a version, verified against its SHA-256.</summary>
    public Task<ModelDownload> DownloadModelAsync(string categoryId, int version, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "id");
        return _categories.DownloadVersionAsync(categoryId, version, cancellationToken);
    }

    /// <summary>Serves <paramref name="version"/> (rollback or roll forward).</summary>
    public Task<CategoryInfo> PromoteAsync(string categoryId, int version, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "id");
        return _categories.PromoteAsync(categoryId, version, cancellationToken);
    }

    /// <summary>Every meta-model version, newest first; the first is the serving one.</summary>
    public async Task<IReadOnlyList<MetaModelVersion>> ListMetaModelsAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<MetaModelVersion>();
        await foreach (var version in _metaModels.ListVersionsAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(version);
        }

        list.Sort((a, b) => b.Version.CompareTo(a.Version));
        return list;
    }

    /// <summary>Storage reachability and the serving meta-model.</summary>
    public async Task<HealthReport> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var all = await ListMetaModelsAsync(cancellationToken).ConfigureAwait(false);
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

    private static AdaptationOptions CheckAdaptation(AdaptationOptions? adaptation)
    {
        adaptation ??= new AdaptationOptions();
        try
        {
            adaptation.Validate();
        }
        catch (ArgumentException e)
        {
            throw FieldErrors.Renamed(e, $"adaptation.{e.ParamName}");
        }

        return adaptation;
    }

    private static MetaAlgorithm ParseAlgorithm(string algorithm)
    {
        try
        {
            return MetaAlgorithms.Parse(algorithm);
        }
        catch (ArgumentException e)
        {
            throw FieldErrors.Renamed(e, "algorithm");
        }
    }

    /// <summary>Checks what the featurizer and the support set do not: presence, label length, and the label limit.</summary>
    private static void CheckExamples([NotNull] IReadOnlyList<LabelledItem>? examples, string field)
    {
        if (examples is null || examples.Count == 0)
        {
            throw new ArgumentException($"{field} must hold at least one labelled example.", field);
        }

        if (examples.Count > DatasetStore.MaxExamplesPerAppend)
        {
            throw new ArgumentException($"{field} holds {examples.Count} examples; at most {DatasetStore.MaxExamplesPerAppend} per call.", field);
        }

        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i] ?? throw new ArgumentException($"{field}[{i}] is null.", $"{field}[{i}]");
            if (string.IsNullOrWhiteSpace(example.Label))
            {
                throw new ArgumentException($"{field}[{i}].label is missing.", $"{field}[{i}].label");
            }

            if (example.Label.Length > DatasetStore.MaxLabelLength)
            {
                throw new ArgumentException($"{field}[{i}].label has {example.Label.Length} characters; at most {DatasetStore.MaxLabelLength}.", $"{field}[{i}].label");
            }

            if (example.Label.Any(char.IsControl))
            {
                throw new ArgumentException($"{field}[{i}].label contains control characters.", $"{field}[{i}].label");
            }

            CheckItem(example.Item, $"{field}[{i}]");
        }
    }

    /// <summary>What a featurizer would reject, for data that is stored without one (ingest).</summary>
    private static void CheckItem(CatalogItem item, string field)
    {
        var hasFeatures = item.Features is { Count: > 0 };
        if (!hasFeatures && string.IsNullOrWhiteSpace(item.Text))
        {
            throw new ArgumentException($"{field}: an item needs features, text, or both.", field);
        }

        if (hasFeatures)
        {
            for (var j = 0; j < item.Features!.Count; j++)
            {
                if (!float.IsFinite(item.Features[j]))
                {
                    throw new ArgumentException($"{field}.features[{j}] is not a finite number.", $"{field}.features");
                }
            }
        }

        if (item.Text is { Length: > FeaturizerOptions.DefaultMaxTextLength })
        {
            throw new ArgumentException($"{field}.text has {item.Text.Length} characters; at most {FeaturizerOptions.DefaultMaxTextLength} are accepted.", $"{field}.text");
        }
    }

    private static SupportSet CreateSupport(Featurizer featurizer, IReadOnlyList<LabelledItem> examples, IReadOnlyList<string>? declaredLabels, string field)
    {
        try
        {
            return SupportSet.Create(featurizer, examples, declaredLabels);
        }
        catch (ArgumentException e) when (e.ParamName is "labels" or "ways" or "examples")
        {
            var name = e.ParamName == "examples" ? field : "labels";
            throw FieldErrors.Renamed(e, name);
        }
    }

    private static List<StoredExample> ToStored(IReadOnlyList<LabelledItem> examples) =>
        [.. examples.Select(e => new StoredExample(e.Features, e.Text, e.Label))];

    private async Task<List<LabelledItem>> ReadAllAsync(string categoryId, CancellationToken cancellationToken)
    {
        var all = new List<LabelledItem>();
        await foreach (var example in _datasets.ReadExamplesAsync(categoryId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            all.Add(new LabelledItem(example.Features, example.Text, example.Label));
        }

        return all;
    }

    private async Task<List<LabelledItem>> ReadRecentAsync(string categoryId, CancellationToken cancellationToken) =>
        Recent(await ReadAllAsync(categoryId, cancellationToken).ConfigureAwait(false));

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
}
