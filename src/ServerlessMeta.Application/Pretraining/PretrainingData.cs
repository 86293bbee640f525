using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// The data side of pretraining: whether the stored data can feed a plan, the run's pinned data snapshot
/// (and its embedding phase), the featurized and split <see cref="RunData"/>, and the fixed evaluation
/// episodes. Snapshots, data and evaluation sets are cached per process, so repeated rounds do not reload them.
/// </summary>
public sealed class PretrainingData
{
    private readonly DatasetStore _datasets;
    private readonly RunArtifactStore _artifacts;
    private readonly RunEmbeddings _embeddings;
    private readonly TextEncoders _encoders;
    private readonly string _workerId;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<DataSnapshot>>> _snapshots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<RunData>>> _data = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<(IReadOnlyList<Episode> Episodes, IReadOnlyList<double> Baselines)>> _evaluationSets = new(StringComparer.Ordinal);

    public PretrainingData(DatasetStore datasets, RunArtifactStore artifacts, RunEmbeddings embeddings, TextEncoders encoders, IOptions<PretrainingServiceOptions> options, ILogger<PretrainingData> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _datasets = datasets;
        _artifacts = artifacts;
        _embeddings = embeddings;
        _encoders = encoders;
        _workerId = options.Value.WorkerId;
        _logger = logger;
        TorchRuntime.Configure();
    }

    /// <summary>
    /// Why the stored data cannot feed <paramref name="plan"/> yet, or null when it can. The run splits the
    /// categories with data into train, validation and test by the plan's seed (as <see cref="RunData.Split"/>
    /// will); it needs a training category with <see cref="PretrainingPlan.Ways"/> labels of shots + queries
    /// examples, and a validation and a test category with that many labels of shots + evaluation queries.
    /// Reads only the category rows, not the data.
    /// </summary>
    public async Task<string?> CheckDataAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.DataSnapshotId is not null)
        {
            return null; // a pinned snapshot is checked when the run prepares it
        }

        var snapshot = await _datasets.TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot.Categories.Count < 3)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Pretraining needs at least 3 categories with data (train, validation, test); there are {snapshot.Categories.Count}. Ingest more with POST /api/categories/{{id}}/examples.");
        }

        var (train, validation, test) = RunData.Split(snapshot.Categories, c => c.CategoryId, plan.Seed, plan.ValidationFraction, plan.TestFraction);
        bool Eligible(CategorySnapshot c, int perLabel) => c.LabelCounts.Values.Count(n => n >= perLabel) >= plan.Ways;
        var trainNeed = plan.Shots + plan.QueriesPerClass;
        var evaluationNeed = plan.Shots + plan.EvaluationQueriesPerClass;
        var missing = new List<string>();
        if (!train.Any(c => Eligible(c, trainNeed)))
        {
            missing.Add(string.Create(CultureInfo.InvariantCulture, $"none of the {train.Count} training categories has {plan.Ways} labels of {trainNeed} examples ({plan.Shots} shots + {plan.QueriesPerClass} queries)"));
        }

        foreach (var (name, split) in new[] { ("validation", validation), ("test", test) })
        {
            if (!split.Any(c => Eligible(c, evaluationNeed)))
            {
                missing.Add(string.Create(CultureInfo.InvariantCulture, $"none of the {split.Count} {name} categories has {plan.Ways} labels of {evaluationNeed} examples ({plan.Shots} shots + {plan.EvaluationQueriesPerClass} evaluation queries)"));
            }
        }

        return missing.Count == 0
            ? null
            : $"Not enough data to pretrain with this plan: {string.Join("; ", missing)}. Ingest more with POST /api/categories/{{id}}/examples, or lower ways, shots or queries.";
    }

    /// <summary>
    /// The embedding phase of a run on encoder features: pins the data snapshot and cuts it into chunks
    /// (none for hashed features). Idempotent.
    /// </summary>
    public async Task<EmbeddingPlan> PlanEmbeddingAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Validate();
        var snapshot = await PinSnapshotAsync(plan, cancellationToken).ConfigureAwait(false);
        return plan.Encoder is { } encoder
            ? RunEmbeddings.Plan(plan, snapshot, encoder)
            : new EmbeddingPlan(snapshot.Id, TextFeaturesOptions.Hashed, 0, snapshot.ExampleCount);
    }

    /// <summary>Embeds one chunk of the run's snapshot through the content-addressed cache (see <see cref="RunEmbeddings"/>).</summary>
    public async Task<EmbedChunkResult> EmbedChunkAsync(EmbedChunkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        var encoder = plan.Encoder ?? throw new ArgumentException("The run uses hashed text features: there is nothing to embed.", nameof(request));
        var snapshot = await PinSnapshotAsync(plan, cancellationToken).ConfigureAwait(false);
        return await _embeddings.EmbedChunkAsync(plan, snapshot, encoder, request.Chunk, _workerId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The run's data: the pinned snapshot read from storage, featurized and split (cached per process).
    /// The in-process reference loop and the distributed steps both sample from this.
    /// </summary>
    public async Task<RunData> GetDataAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var snapshot = await PinSnapshotAsync(plan, cancellationToken).ConfigureAwait(false);
        var key = string.Join('|', snapshot.Id, plan.Seed.ToString(CultureInfo.InvariantCulture), plan.ValidationFraction.ToString("R", CultureInfo.InvariantCulture),
            plan.TestFraction.ToString("R", CultureInfo.InvariantCulture), plan.TextDimension.ToString(CultureInfo.InvariantCulture), plan.TextEncoder);
        return await GetOnceAsync(_data, key, () => LoadDataAsync(plan, snapshot, CancellationToken.None), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The fixed evaluation episodes of a split and nearest centroid's accuracy on each of them (computed once per process).</summary>
    public async Task<(IReadOnlyList<Episode> Episodes, IReadOnlyList<double> Baselines)> GetEvaluationSetAsync(PretrainingPlan plan, EvaluationSplit split, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var data = await GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        var count = split == EvaluationSplit.Validation ? plan.ValidationEpisodes : plan.TestEpisodes;
        var key = string.Join('|', data.SnapshotId, plan.Seed, plan.ValidationFraction, plan.TestFraction, plan.TextDimension, plan.TextEncoder, split, plan.Ways, plan.Shots, plan.EvaluationQueriesPerClass, count);
        return _evaluationSets.GetOrAdd(key, _ => new Lazy<(IReadOnlyList<Episode>, IReadOnlyList<double>)>(() =>
        {
            var categories = split == EvaluationSplit.Validation ? data.Validation : data.Test;
            var sampler = new EpisodeSampler(categories, plan.Ways, plan.Shots, plan.EvaluationQueriesPerClass);
            var episodes = TaskSampling.SampleEvaluation(sampler, plan.Seed + (split == EvaluationSplit.Validation ? 17 : 31), count);
            return (episodes, [.. episodes.Select(Baselines.NearestCentroidAccuracy)]);
        })).Value;
    }

    /// <summary>
    /// The run's data snapshot: the one stored with the run, or (the first time) the current one, stored
    /// create-only so that every process of the run uses the first writer's. Cached per process.
    /// </summary>
    private Task<DataSnapshot> PinSnapshotAsync(PretrainingPlan plan, CancellationToken cancellationToken) =>
        GetOnceAsync(_snapshots, plan.RunId, async () =>
        {
            if (await _artifacts.FindAsync(plan.RunId, RunArtifactNames.Snapshot, CancellationToken.None).ConfigureAwait(false) is null)
            {
                var now = await _datasets.TakeSnapshotAsync(CancellationToken.None).ConfigureAwait(false);
                if (plan.DataSnapshotId is { } wanted && !string.Equals(wanted, now.Id, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"Run '{plan.RunId}' asks for data snapshot {wanted}, but the data is now at {now.Id}; a snapshot can only be pinned while it is current.");
                }

                await _artifacts.CreateAsync(plan.RunId, RunArtifactNames.Snapshot, BinaryData.FromObjectAsJson(now), CancellationToken.None).ConfigureAwait(false);
            }

            // Everyone uses the stored one: the first writer won.
            var stored = (await _artifacts.ReadAsync(plan.RunId, RunArtifactNames.Snapshot, null, CancellationToken.None).ConfigureAwait(false)).ToObjectFromJson<DataSnapshot>()
                ?? throw new InvalidDataException($"Run '{plan.RunId}': the pinned snapshot is empty.");
            if (plan.DataSnapshotId is { } expected && !string.Equals(expected, stored.Id, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Run '{plan.RunId}' was pinned to data snapshot {stored.Id}, not {expected}.");
            }

            return stored;
        }, cancellationToken);

    /// <summary>
    /// The value of <paramref name="key"/>, loaded once per process by the first caller (not cancelled by
    /// any caller's token); a load that fails is forgotten, so the next caller tries again.
    /// </summary>
    private static async Task<T> GetOnceAsync<T>(ConcurrentDictionary<string, Lazy<Task<T>>> cache, string key, Func<Task<T>> load, CancellationToken cancellationToken)
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<Task<T>>(load));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, lazy));
            throw;
        }
    }

    private async Task<RunData> LoadDataAsync(PretrainingPlan plan, DataSnapshot snapshot, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var (train, validation, test) = RunData.Split(snapshot.Categories, c => c.CategoryId, plan.Seed, plan.ValidationFraction, plan.TestFraction);
        var raw = new Dictionary<string, List<StoredExample>>(StringComparer.Ordinal);
        int? numeric = null;
        var hasText = false;
        foreach (var category in snapshot.Categories)
        {
            var examples = new List<StoredExample>();
            await foreach (var example in _datasets.ReadExamplesAsync(category, null, cancellationToken).ConfigureAwait(false))
            {
                if (example.Features is { Count: > 0 } features)
                {
                    if (numeric is { } n && n != features.Count)
                    {
                        throw new InvalidDataException($"Category '{category.CategoryId}' has examples with {features.Count} features; others have {n}. Pretraining needs one numeric dimension.");
                    }

                    numeric = features.Count;
                }

                hasText |= !string.IsNullOrWhiteSpace(example.Text);
                examples.Add(example);
            }

            raw[category.CategoryId] = examples;
        }

        var featurizerOptions = FeaturizerOptions.ForText(hasText ? plan.Encoder : null, numeric ?? 0, hasText ? plan.TextDimension : 0);
        featurizerOptions.Validate();
        ITextEncoder? textEncoder = null;
        if (featurizerOptions.Encoder is { } encoder)
        {
            // The embedding phase computed every text's vector once (or the cache had it): look them up.
            var byKey = await _embeddings.LoadAsync(plan, snapshot, encoder, _workerId, cancellationToken).ConfigureAwait(false);
            var byText = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var text in raw.Values.SelectMany(e => e).Select(e => e.Text).OfType<string>())
            {
                if (!byText.ContainsKey(text) && byKey.TryGetValue(RunEmbeddings.TextKey(text), out var vector))
                {
                    byText[text] = vector;
                }
            }

            textEncoder = new PrecomputedTextEncoder(_encoders.Get(encoder), byText);
        }

        var featurizer = new Featurizer(featurizerOptions, textEncoder);
        LabelledCategory Featurize(CategorySnapshot category)
        {
            var byLabel = raw[category.CategoryId]
                .GroupBy(e => e.Label, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<float[]>)[.. g.Select(e => featurizer.Featurize(new CatalogItem(e.Features, e.Text)))], StringComparer.Ordinal);
            return new LabelledCategory(category.CategoryId, featurizer.OutputDimension, byLabel);
        }

        var data = new RunData(snapshot.Id, featurizerOptions, [.. train.Select(Featurize)], [.. validation.Select(Featurize)], [.. test.Select(Featurize)]);
        Log.DataLoaded(_logger, snapshot.Id, snapshot.ExampleCount, snapshot.Categories.Count, stopwatch.Elapsed.TotalMilliseconds);
        return data;
    }
}
