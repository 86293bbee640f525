using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application;

/// <summary>Per-process settings of <see cref="PretrainingService"/>.</summary>
public sealed class PretrainingServiceOptions
{
    /// <summary>Who this process is in shard results and logs (default: host name and process id).</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Loaded checkpoints kept in memory (each round reads the previous one).</summary>
    public int ModelCacheSize { get; set; } = 4;

    /// <summary>Configuration section: <c>SMETA_PRETRAINING__INSTANCES</c>.</summary>
    public const string SectionName = "SMETA_PRETRAINING";

    /// <summary>
    /// How many instances (worker processes or Functions instances) a pretraining run may use: the number of shards
    /// a run gets when neither its request nor the retraining schedule names one (at most its meta-batch). Default:
    /// the cores this host can see, one single-threaded shard each.
    /// </summary>
    public int Instances { get; set; } = Environment.ProcessorCount;

    /// <summary>The shards of a run of <paramref name="metaBatchSize"/> tasks per round that names none.</summary>
    public int DefaultShards(int metaBatchSize) => Math.Clamp(Instances, 1, Math.Max(1, metaBatchSize));
}

/// <summary>
/// The steps of distributed meta-pretraining over stored data, each idempotent and addressed by blob
/// names and ETags so that orchestrations carry no weights: pin the data snapshot and write the initial
/// checkpoint; compute a shard's summed meta-update; sum a round's updates and apply one outer step;
/// evaluate a checkpoint on held-out categories beside nearest centroid; register the best meta-model.
/// Per process it caches the featurized data of a snapshot and recently used checkpoints, so repeated
/// rounds do not reload everything.
/// </summary>
public sealed class PretrainingService : IDisposable
{
    private const string SnapshotArtifact = "snapshot.json";
    private const string ModelArtifact = "model.smeta";
    private const string UpdatesPrefix = "updates/";
    private const string CheckpointsPrefix = "checkpoints/";
    private const string TaskCountKey = "taskCount";
    private const string LossSumKey = "lossSum";
    private const string MeanLossKey = "meanLoss";

    private readonly DatasetStore _datasets;
    private readonly MetaModelRegistry _registry;
    private readonly RunArtifactStore _artifacts;
    private readonly RunEmbeddings _embeddings;
    private readonly TextEncoders _encoders;
    private readonly PretrainingServiceOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<DataSnapshot>>> _snapshots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<RunData>>> _data = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<(IReadOnlyList<Episode> Episodes, IReadOnlyList<double> Baselines)>> _evaluationSets = new(StringComparer.Ordinal);
    private readonly LoadedModelCache<string, MetaModel> _models;

    public PretrainingService(DatasetStore datasets, MetaModelRegistry registry, RunArtifactStore artifacts, RunEmbeddings embeddings, TextEncoders encoders, IOptions<PretrainingServiceOptions> options, ILogger<PretrainingService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _datasets = datasets;
        _registry = registry;
        _embeddings = embeddings;
        _encoders = encoders;
        _artifacts = artifacts;
        _options = options.Value;
        _logger = logger;
        _models = new(_options.ModelCacheSize);
        TorchRuntime.Configure();
    }

    public string WorkerId => _options.WorkerId;

    /// <summary>The text features runs started here use unless they say otherwise: minilm or hashed (setting SMETA_TEXT_ENCODER).</summary>
    public string DefaultTextEncoder => _encoders.DefaultName;

    /// <summary>The shards of a run that names none (<see cref="PretrainingServiceOptions.Instances"/>, at most the meta-batch).</summary>
    public int DefaultShards(int metaBatchSize) => _options.DefaultShards(metaBatchSize);

    /// <summary>Checkpoint artifact name of a round.</summary>
    public static string CheckpointName(int round) => string.Create(CultureInfo.InvariantCulture, $"{CheckpointsPrefix}r{round:D6}.smeta");

    /// <summary>Shard update artifact name.</summary>
    public static string UpdateName(int round, int shard) => string.Create(CultureInfo.InvariantCulture, $"{UpdatesPrefix}r{round:D6}/s{shard:D4}.smu");

    /// <summary>The outer-loop hyper-parameters of a plan: the algorithm's defaults with its overrides.</summary>
    public static MetaLearningOptions Hyperparameters(PretrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var options = MetaLearningOptions.DefaultsFor(plan.ParsedAlgorithm, TaskKind.Classification);
        if (plan.InnerLearningRate is { } inner)
        {
            options = options with { InnerLearningRate = inner };
        }

        if (plan.InnerSteps is { } steps)
        {
            options = options with { InnerSteps = steps };
        }

        if (plan.OuterLearningRate is { } outer)
        {
            options = options with { OuterLearningRate = outer };
        }

        options.Validate();
        return options;
    }

    /// <summary>
    /// The first step: pins the data snapshot (taken now unless the run already pinned one), loads it,
    /// and writes the round-0 checkpoint (initial weights from the seed). Idempotent.
    /// </summary>
    public async Task<PreparedRun> PrepareAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Validate();
        var data = await GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        var existing = await _artifacts.FindAsync(plan.RunId, CheckpointName(0), cancellationToken).ConfigureAwait(false);
        CheckpointRef initial;
        if (existing is not null)
        {
            initial = new CheckpointRef(0, existing.BlobName, existing.ETag);
        }
        else
        {
            var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = data.Featurizer.OutputDimension, HiddenWidths = [plan.HiddenWidth] };
            using var model = MetaModel.Create(plan.ParsedAlgorithm, config, Hyperparameters(plan), data.Featurizer, plan.Seed);
            var written = await WriteCheckpointAsync(plan.RunId, 0, model, null, cancellationToken).ConfigureAwait(false);
            initial = new CheckpointRef(0, written.BlobName, written.ETag);
        }

        Log.Prepared(_logger, plan.RunId, data.SnapshotId, data.Train.Count, data.Validation.Count, data.Test.Count);
        return new PreparedRun(data.SnapshotId, data.Train.Count, data.Validation.Count, data.Test.Count, data.Featurizer.OutputDimension, initial);
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
        return await _embeddings.EmbedChunkAsync(plan, snapshot, encoder, request.Chunk, WorkerId, cancellationToken).ConfigureAwait(false);
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
    /// The run's data: the pinned snapshot read from storage, featurized and split (cached per process).
    /// The in-process reference loop and the distributed steps both sample from this.
    /// </summary>
    public async Task<RunData> GetDataAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var snapshot = await PinSnapshotAsync(plan, cancellationToken).ConfigureAwait(false);
        var key = string.Join('|', snapshot.Id, plan.Seed.ToString(CultureInfo.InvariantCulture), plan.ValidationFraction.ToString("R", CultureInfo.InvariantCulture),
            plan.TestFraction.ToString("R", CultureInfo.InvariantCulture), plan.TextDimension.ToString(CultureInfo.InvariantCulture), plan.TextEncoder);
        var lazy = _data.GetOrAdd(key, _ => new Lazy<Task<RunData>>(() => LoadDataAsync(plan, snapshot, CancellationToken.None)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _data.TryRemove(new KeyValuePair<string, Lazy<Task<RunData>>>(key, lazy));
            throw;
        }
    }

    /// <summary>
    /// One shard of one round: the summed meta-update of its tasks (sampled from seed, round and shard)
    /// at the checkpoint named in the request, written create-only as a blob. Re-executing it returns the
    /// stored blob.
    /// </summary>
    public async Task<ShardResult> ComputeShardAsync(ShardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        var name = UpdateName(request.Round, request.Shard);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.shard");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.shard", request.Shard).SetTag("smeta.algorithm", plan.Algorithm);
        var stopwatch = Stopwatch.StartNew();
        var existing = await _artifacts.FindAsync(plan.RunId, name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            var bytes = await _artifacts.ReadAsync(plan.RunId, name, existing.ETag, cancellationToken).ConfigureAwait(false);
            var (taskCount, lossSum) = plan.LocalSteps == 1 ? Counts(MetaUpdate.ReadFrom(bytes.ToStream())) : Counts(ModelFile.ReadFrom(bytes.ToStream()));
            return new ShardResult(request.Shard, existing.BlobName, existing.ETag, taskCount, lossSum, WorkerId, stopwatch.Elapsed.TotalMilliseconds);
        }

        var data = await GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        using var lease = await GetModelAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var model = lease.Model;
        var sampler = data.TrainingSampler(plan);
        var (start, count) = TaskSampling.ShardRange(plan.MetaBatchSize, plan.Shards, request.Shard);
        using var buffer = new MemoryStream();
        double meanLoss;
        if (plan.LocalSteps == 1)
        {
            var tasks = TaskSampling.SampleRound(sampler, plan.Seed, request.Round, start, count);
            var update = model.ComputeUpdate(tasks, plan.ThreadsPerShard);
            meanLoss = update.MeanLoss;
            update.WriteTo(buffer);
        }
        else
        {
            // The shard's locally trained model (parameters and Adam state) with its task count and loss.
            using var local = LocalSteps(model, sampler, plan, request.Round, start, count, out meanLoss);
            local.Save(buffer, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [TaskCountKey] = count.ToString(CultureInfo.InvariantCulture),
                [LossSumKey] = (meanLoss * count).ToString("R", CultureInfo.InvariantCulture),
            });
        }

        if (!double.IsFinite(meanLoss))
        {
            throw new InvalidOperationException($"Meta-training diverged in round {request.Round}, shard {request.Shard}: the meta-loss is {meanLoss}. Lower the outer or inner learning rate.");
        }

        var written = await _artifacts.CreateAsync(plan.RunId, name, new BinaryData(buffer.ToArray()), cancellationToken).ConfigureAwait(false);
        Log.ShardComputed(_logger, plan.RunId, request.Round, request.Shard, count, meanLoss, WorkerId, stopwatch.Elapsed.TotalMilliseconds);
        ServerlessMetaTelemetry.ShardDuration.Record(stopwatch.Elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm));
        return new ShardResult(request.Shard, written.BlobName, written.ETag, count, meanLoss * count, WorkerId, stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// A round of a one-shard plan in one step: from the round's checkpoint, the meta-step (or the local
    /// steps) on the whole meta-batch, written create-only as the next checkpoint, plus the validation when
    /// asked. The same computation as a shard followed by the aggregate step, without writing and reading
    /// the shard's update: one activity and two blob transfers less per round. Re-executing it finds the
    /// checkpoint and applies nothing.
    /// </summary>
    public async Task<AggregateResult> ComputeRoundAsync(RoundRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        if (plan.Shards != 1)
        {
            throw new ArgumentException($"A round is computed in one step only with one shard; the plan has {plan.Shards}.", nameof(request));
        }

        if (request.Checkpoint.Round != request.Round - 1)
        {
            throw new ArgumentException($"Round {request.Round} must start from the checkpoint of round {request.Round - 1}, not {request.Checkpoint.Round}.", nameof(request));
        }

        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.round");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.algorithm", plan.Algorithm);
        var clock = Stopwatch.StartNew();
        var name = CheckpointName(request.Round);
        var existing = await _artifacts.FindAsync(plan.RunId, name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, existing.BlobName);
            var stored = ModelFile.ReadFrom((await _artifacts.ReadAsync(plan.RunId, name, existing.ETag, cancellationToken).ConfigureAwait(false)).ToStream());
            var storedLoss = stored.Header.Metadata.TryGetValue(MeanLossKey, out var text)
                ? double.Parse(text, CultureInfo.InvariantCulture)
                : throw new InvalidDataException($"Checkpoint {existing.BlobName} does not record its round's meta-loss.");
            return await WithValidationAsync(plan, request.Validate, new AggregateResult(new CheckpointRef(request.Round, existing.BlobName, existing.ETag), storedLoss, Applied: false, WorkerId), cancellationToken).ConfigureAwait(false);
        }

        var data = await GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        using var lease = await GetModelAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var previous = lease.Model;
        var sampler = data.TrainingSampler(plan);
        double meanLoss;
        MetaModel next;
        if (plan.LocalSteps == 1)
        {
            var update = previous.ComputeUpdate(TaskSampling.SampleRound(sampler, plan.Seed, request.Round, 0, plan.MetaBatchSize), plan.ThreadsPerShard);
            meanLoss = update.MeanLoss;
            next = previous.Clone();
            next.ApplyUpdate(update);
        }
        else
        {
            next = LocalSteps(previous, sampler, plan, request.Round, 0, plan.MetaBatchSize, out meanLoss);
        }

        using (next)
        {
            if (!double.IsFinite(meanLoss))
            {
                throw new InvalidOperationException($"Meta-training diverged in round {request.Round}: the meta-loss is {meanLoss}. Lower the outer or inner learning rate.");
            }

            var written = await WriteCheckpointAsync(plan.RunId, request.Round, next, meanLoss, cancellationToken).ConfigureAwait(false);
            var algorithmTag = new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm);
            ServerlessMetaTelemetry.RoundDuration.Record(clock.Elapsed.TotalMilliseconds, algorithmTag);
            ServerlessMetaTelemetry.MetaLoss.Record(meanLoss, algorithmTag);
            Log.Aggregated(_logger, plan.RunId, request.Round, plan.MetaBatchSize, meanLoss, WorkerId);
            return await WithValidationAsync(plan, request.Validate, new AggregateResult(new CheckpointRef(request.Round, written.BlobName, written.ETag), meanLoss, written.Created, WorkerId), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sums a round's shard updates in shard order, applies one outer step to the previous checkpoint and
    /// writes the next one create-only. If the next checkpoint already exists (a re-executed step), it is
    /// returned without applying anything: one update per round, one checkpoint per round.
    /// </summary>
    public async Task<AggregateResult> AggregateAsync(AggregateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        if (request.Previous.Round != request.Round - 1)
        {
            throw new ArgumentException($"Round {request.Round} must start from the checkpoint of round {request.Round - 1}, not {request.Previous.Round}.", nameof(request));
        }

        var shards = request.Shards.OrderBy(s => s.Shard).ToList();
        if (!shards.Select(s => s.Shard).SequenceEqual(Enumerable.Range(0, plan.Shards)))
        {
            throw new ArgumentException($"Round {request.Round} needs exactly one update from each of the {plan.Shards} shards.", nameof(request));
        }

        var meanLoss = shards.Sum(s => s.LossSum) / shards.Sum(s => s.TaskCount);
        var name = CheckpointName(request.Round);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.aggregate");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.algorithm", plan.Algorithm);
        var aggregateClock = Stopwatch.StartNew();
        var existing = await _artifacts.FindAsync(plan.RunId, name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, existing.BlobName);
            return await WithValidationAsync(plan, request.Validate, new AggregateResult(new CheckpointRef(request.Round, existing.BlobName, existing.ETag), meanLoss, Applied: false, WorkerId), cancellationToken).ConfigureAwait(false);
        }

        var blobs = new List<BinaryData>(shards.Count);
        foreach (var shard in shards)
        {
            blobs.Add(await _artifacts.ReadAsync(plan.RunId, UpdateName(request.Round, shard.Shard), shard.ETag, cancellationToken).ConfigureAwait(false));
        }

        using var lease = await GetModelAsync(plan.RunId, request.Previous, cancellationToken).ConfigureAwait(false);
        var previous = lease.Model;
        using var next = previous.Clone();
        var taskCount = shards.Sum(s => s.TaskCount);
        if (plan.LocalSteps == 1)
        {
            next.ApplyUpdate(MetaUpdate.Sum(blobs.Select(b => MetaUpdate.ReadFrom(b.ToStream()))));
        }
        else
        {
            Average(next, [.. blobs.Select(b => ModelFile.ReadFrom(b.ToStream()))], [.. shards.Select(s => s.TaskCount)]);
        }

        var written = await WriteCheckpointAsync(plan.RunId, request.Round, next, meanLoss, cancellationToken).ConfigureAwait(false);
        if (!written.Created)
        {
            // A concurrent execution of this step wrote the round first: its checkpoint is the round's.
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, written.BlobName);
            return await WithValidationAsync(plan, request.Validate, new AggregateResult(new CheckpointRef(request.Round, written.BlobName, written.ETag), meanLoss, Applied: false, WorkerId), cancellationToken).ConfigureAwait(false);
        }

        Log.Aggregated(_logger, plan.RunId, request.Round, taskCount, meanLoss, WorkerId);
        var algorithmTag = new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm);
        ServerlessMetaTelemetry.RoundDuration.Record(shards.Max(s => s.Milliseconds) + aggregateClock.Elapsed.TotalMilliseconds, algorithmTag);
        ServerlessMetaTelemetry.MetaLoss.Record(meanLoss, algorithmTag);
        activity?.SetTag("smeta.meta_loss", meanLoss);
        return await WithValidationAsync(plan, request.Validate, new AggregateResult(new CheckpointRef(request.Round, written.BlobName, written.ETag), meanLoss, Applied: true, WorkerId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the validation figures of the round's checkpoint when the request asks for them (a pure function of the checkpoint, so retries agree).</summary>
    private async Task<AggregateResult> WithValidationAsync(PretrainingPlan plan, bool validate, AggregateResult result, CancellationToken cancellationToken) =>
        validate
            ? result with { Validation = await EvaluateAsync(new EvaluationRequest(plan, result.Checkpoint, EvaluationSplit.Validation), cancellationToken).ConfigureAwait(false) }
            : result;

    /// <summary>
    /// Accuracy after adaptation and mean query loss of a checkpoint on a fixed set of episodes from the
    /// validation or test categories, beside nearest centroid on raw features on the same episodes.
    /// </summary>
    public async Task<EvaluationResult> EvaluateAsync(EvaluationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.evaluate");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Checkpoint.Round).SetTag("smeta.split", request.Split.ToString());
        var (episodes, baselines) = await GetEvaluationSetAsync(plan, request.Split, cancellationToken).ConfigureAwait(false);
        var baseline = baselines.Average();
        using var lease = await GetModelAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var model = lease.Model;
        // Evaluation runs alone between rounds: use every core (results do not depend on the thread count).
        var threads = Environment.ProcessorCount;
        var perEpisode = Evaluator.ClassificationAccuracy(model, episodes, maxParallelism: threads);
        var accuracy = perEpisode.Average();
        var advantage = MeanEstimate.Of([.. perEpisode.Select((a, i) => a - baselines[i])]);
        var loss = model.ComputeUpdate(episodes, threads).MeanLoss;
        Log.Evaluated(_logger, plan.RunId, request.Checkpoint.Round, request.Split, accuracy, loss, baseline);
        ServerlessMetaTelemetry.HeldOutAccuracy.Record(accuracy, new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm), new KeyValuePair<string, object?>("smeta.split", request.Split.ToString()));
        activity?.SetTag("smeta.accuracy", accuracy).SetTag("smeta.baseline_accuracy", baseline);
        return new EvaluationResult(request.Checkpoint.Round, request.Split, accuracy, loss, baseline, episodes.Count, advantage.Ci95);
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
    /// The serving rule: a meta-model is served only when it beats nearest centroid on the same features and
    /// episodes by more than the 95% confidence half-width of the per-episode difference (more than chance would).
    /// </summary>
    public static bool BeatsBaseline(EvaluationResult test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return test.Accuracy - test.BaselineAccuracy > test.AdvantageCi95;
    }

    /// <summary>
    /// The last step: evaluates the best checkpoint on the test categories beside nearest centroid;
    /// registers it (with lineage and both figures) as the new serving meta-model only if it beats the
    /// baseline, otherwise keeps it under the run and says why. Idempotent: a run registers at most once.
    /// Then deletes the run's shard updates and the checkpoints other than the best and the last.
    /// </summary>
    public async Task<PretrainingOutcome> FinishAsync(FinishRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        var data = await GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        var test = await EvaluateAsync(new EvaluationRequest(plan, request.Best, EvaluationSplit.Test), cancellationToken).ConfigureAwait(false);
        var accuracy = Math.Round(test.Accuracy, 6);
        var baseline = Math.Round(test.BaselineAccuracy, 6);
        var margin = Math.Round(test.AdvantageCi95, 6);
        var figures = string.Create(CultureInfo.InvariantCulture, $"held-out test accuracy {accuracy:F4} vs nearest centroid {baseline:F4} on the same {test.Episodes} episodes from {data.Test.Count} held-out categories (best round {request.Best.Round}; a gain must exceed {margin:F4}, the 95% confidence half-width of the per-episode difference)");

        PretrainingOutcome outcome;
        MetaModelVersion? registered = null;
        await foreach (var version in _registry.ListVersionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (version.PretrainingRunId == plan.RunId)
            {
                registered = version;
            }
        }

        if (BeatsBaseline(test))
        {
            if (registered is null)
            {
                var bytes = await _artifacts.ReadAsync(plan.RunId, RelativeName(plan.RunId, request.Best.BlobName), request.Best.ETag, cancellationToken).ConfigureAwait(false);
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
                {
                    ["testAccuracy"] = accuracy,
                    ["baselineNearestCentroidAccuracy"] = baseline,
                    ["advantageCi95"] = margin,
                    ["bestRound"] = request.Best.Round,
                    ["roundsTrained"] = request.Last.Round,
                };
                if (request.BestValidationAccuracy is { } validation)
                {
                    metrics["validationAccuracy"] = Math.Round(validation, 6);
                }

                registered = await _registry.AddVersionAsync(bytes.ToStream(), new NewMetaModel
                {
                    Algorithm = plan.ParsedAlgorithm.ToWireName(),
                    PretrainingRunId = plan.RunId,
                    Iterations = request.Best.Round,
                    DataSnapshotId = data.SnapshotId,
                    Hyperparameters = plan.Describe(Hyperparameters(plan)),
                    Metrics = metrics,
                }, cancellationToken).ConfigureAwait(false);
            }

            outcome = new PretrainingOutcome(plan.RunId, true, registered.Version, registered.BlobName, $"Served as meta-model version {registered.Version}: {figures}.",
                request.Best.Round, request.Last.Round, accuracy, baseline, request.BestValidationAccuracy, data.SnapshotId, request.Workers);
        }
        else
        {
            var bytes = await _artifacts.ReadAsync(plan.RunId, RelativeName(plan.RunId, request.Best.BlobName), request.Best.ETag, cancellationToken).ConfigureAwait(false);
            var kept = await _artifacts.CreateAsync(plan.RunId, ModelArtifact, bytes, cancellationToken).ConfigureAwait(false);
            outcome = new PretrainingOutcome(plan.RunId, false, null, kept.BlobName, $"Not served (kept at {kept.BlobName}): it does not beat the baseline by more than chance: {figures}.",
                request.Best.Round, request.Last.Round, accuracy, baseline, request.BestValidationAccuracy, data.SnapshotId, request.Workers);
        }

        await _artifacts.DeleteAsync(plan.RunId, UpdatesPrefix, cancellationToken).ConfigureAwait(false);
        var keep = new HashSet<string>(StringComparer.Ordinal) { RelativeName(plan.RunId, request.Best.BlobName), RelativeName(plan.RunId, request.Last.BlobName) };
        var stale = new List<string>();
        await foreach (var checkpoint in _artifacts.ListAsync(plan.RunId, CheckpointsPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (!keep.Contains(checkpoint))
            {
                stale.Add(checkpoint);
            }
        }

        foreach (var checkpoint in stale)
        {
            await _artifacts.DeleteAsync(plan.RunId, checkpoint, cancellationToken).ConfigureAwait(false);
        }

        if (_logger.IsEnabled(LogLevel.Information))
        {
            Log.Finished(_logger, plan.RunId, outcome.Served, outcome.Reason);
        }
        return outcome;
    }

    /// <summary>
    /// A lease on a checkpoint pinned by its ETag, loaded once per process: dispose the lease when done, and
    /// never modify or dispose the model.
    /// </summary>
    internal Task<ModelLease<MetaModel>> GetModelAsync(string runId, CheckpointRef checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return _models.AcquireAsync(checkpoint.BlobName + "|" + checkpoint.ETag, async _ =>
        {
            var bytes = await _artifacts.ReadAsync(runId, RelativeName(runId, checkpoint.BlobName), checkpoint.ETag, CancellationToken.None).ConfigureAwait(false);
            return MetaModel.Load(bytes.ToStream());
        }, cancellationToken);
    }

    /// <summary>Releases the loaded checkpoints (those still in use when their step ends).</summary>
    public void Dispose() => _models.Dispose();

    private static string RelativeName(string runId, string blobName)
    {
        var prefix = RunArtifactStore.Prefix + runId + "/";
        return blobName.StartsWith(prefix, StringComparison.Ordinal)
            ? blobName[prefix.Length..]
            : throw new ArgumentException($"'{blobName}' is not an artifact of run '{runId}'.", nameof(blobName));
    }

    /// <summary>
    /// Local SGD: <see cref="PretrainingPlan.LocalSteps"/> Adam steps on this shard's tasks from the round's
    /// checkpoint (parameters and optimizer state). Local step l of round r samples the tasks of step
    /// (r − 1)·L + l + 1, so no two steps share tasks.
    /// </summary>
    private static MetaModel LocalSteps(MetaModel start, ITaskSource sampler, PretrainingPlan plan, int round, int first, int count, out double meanLoss)
    {
        var local = start.Clone();
        double lossSum = 0;
        for (var step = 0; step < plan.LocalSteps; step++)
        {
            var localRound = ((long)(round - 1) * plan.LocalSteps) + step + 1;
            var tasks = TaskSampling.SampleRound(sampler, plan.Seed, localRound, first, count);
            var update = local.ComputeUpdate(tasks, plan.ThreadsPerShard);
            local.ApplyUpdate(update);
            lossSum += update.MeanLoss;
        }

        meanLoss = lossSum / plan.LocalSteps;
        return local;
    }

    /// <summary>
    /// Sets <paramref name="model"/> to the task-weighted mean of the shards' local models: parameters and
    /// both Adam moments; the step count advances by the local steps (all shards took the same number).
    /// </summary>
    private static void Average(MetaModel model, IReadOnlyList<ModelFile> shards, IReadOnlyList<int> weights)
    {
        using (var first = MetaModel.FromFile(shards[0]))
        {
            model.CopyStateFrom(first);
        }

        var total = (float)weights.Sum();
        foreach (var (prefix, target) in new[] { ("param.", model.Parameters), ("adam.m.", model.Optimizer.FirstMoments), ("adam.v.", model.Optimizer.SecondMoments) })
        {
            var groups = shards.Select(f => f.Group(prefix)).ToList();
            var averaged = groups[0].Select((entry, i) =>
            {
                var values = new float[entry.Data.Values.Length];
                for (var s = 0; s < groups.Count; s++)
                {
                    var weight = weights[s] / total;
                    var source = groups[s][i].Data.Values;
                    for (var j = 0; j < values.Length; j++)
                    {
                        values[j] += weight * source[j];
                    }
                }

                return (entry.Name, new TensorData(entry.Data.Shape, values));
            }).ToList();
            using var tensors = NamedTensors.FromData(averaged, requiresGrad: false);
            target.CopyFrom(tensors);
        }
    }

    private static (int TaskCount, double LossSum) Counts(MetaUpdate update) => (update.TaskCount, update.LossSum);

    private static (int TaskCount, double LossSum) Counts(ModelFile file) =>
        (int.Parse(file.Header.Metadata[TaskCountKey], CultureInfo.InvariantCulture), double.Parse(file.Header.Metadata[LossSumKey], CultureInfo.InvariantCulture));

    private async Task<RunArtifact> WriteCheckpointAsync(string runId, int round, MetaModel model, double? meanLoss, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["runId"] = runId, ["round"] = round.ToString(CultureInfo.InvariantCulture) };
        if (meanLoss is { } loss)
        {
            metadata[MeanLossKey] = loss.ToString("R", CultureInfo.InvariantCulture);
        }

        model.Save(buffer, metadata);
        return await _artifacts.CreateAsync(runId, CheckpointName(round), new BinaryData(buffer.ToArray()), cancellationToken).ConfigureAwait(false);
    }

    private async Task<DataSnapshot> PinSnapshotAsync(PretrainingPlan plan, CancellationToken cancellationToken)
    {
        var lazy = _snapshots.GetOrAdd(plan.RunId, _ => new Lazy<Task<DataSnapshot>>(async () =>
        {
            if (await _artifacts.FindAsync(plan.RunId, SnapshotArtifact, CancellationToken.None).ConfigureAwait(false) is null)
            {
                var now = await _datasets.TakeSnapshotAsync(CancellationToken.None).ConfigureAwait(false);
                if (plan.DataSnapshotId is { } wanted && !string.Equals(wanted, now.Id, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"Run '{plan.RunId}' asks for data snapshot {wanted}, but the data is now at {now.Id}; a snapshot can only be pinned while it is current.");
                }

                await _artifacts.CreateAsync(plan.RunId, SnapshotArtifact, BinaryData.FromObjectAsJson(now), CancellationToken.None).ConfigureAwait(false);
            }

            // Everyone uses the stored one: the first writer won.
            var stored = (await _artifacts.ReadAsync(plan.RunId, SnapshotArtifact, null, CancellationToken.None).ConfigureAwait(false)).ToObjectFromJson<DataSnapshot>()
                ?? throw new InvalidDataException($"Run '{plan.RunId}': the pinned snapshot is empty.");
            if (plan.DataSnapshotId is { } expected && !string.Equals(expected, stored.Id, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Run '{plan.RunId}' was pinned to data snapshot {stored.Id}, not {expected}.");
            }

            return stored;
        }));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _snapshots.TryRemove(new KeyValuePair<string, Lazy<Task<DataSnapshot>>>(plan.RunId, lazy));
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
            var byKey = await _embeddings.LoadAsync(plan, snapshot, encoder, WorkerId, cancellationToken).ConfigureAwait(false);
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
