using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// The training steps of distributed meta-pretraining, each idempotent and addressed by artifact names and
/// ETags so that orchestrations carry no weights: write the initial checkpoint; compute a shard's part of a
/// round; combine a round's shards into the next checkpoint (or do a one-shard round in one step). What a
/// shard computes and how shards combine is the plan's <see cref="RoundUpdate"/>.
/// </summary>
public sealed class PretrainingRounds
{
    private readonly PretrainingData _data;
    private readonly PretrainingCheckpoints _checkpoints;
    private readonly PretrainingEvaluation _evaluation;
    private readonly RunArtifactStore _artifacts;
    private readonly string _workerId;
    private readonly ILogger _logger;

    public PretrainingRounds(PretrainingData data, PretrainingCheckpoints checkpoints, PretrainingEvaluation evaluation, RunArtifactStore artifacts, IOptions<PretrainingServiceOptions> options, ILogger<PretrainingRounds> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _data = data;
        _checkpoints = checkpoints;
        _evaluation = evaluation;
        _artifacts = artifacts;
        _workerId = options.Value.WorkerId;
        _logger = logger;
    }

    /// <summary>
    /// The first step: pins the data snapshot (taken now unless the run already pinned one), loads it,
    /// and writes the round-0 checkpoint (initial weights from the seed). Idempotent.
    /// </summary>
    public async Task<PreparedRun> PrepareAsync(PretrainingPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Validate();
        var data = await _data.GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        var initial = await _checkpoints.FindAsync(plan.RunId, 0, cancellationToken).ConfigureAwait(false);
        if (initial is null)
        {
            var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = data.Featurizer.OutputDimension, HiddenWidths = [plan.HiddenWidth] };
            using var model = MetaModel.Create(plan.ParsedAlgorithm, config, plan.Hyperparameters(), data.Featurizer, plan.Seed);
            (initial, _) = await _checkpoints.WriteAsync(plan.RunId, 0, model, null, cancellationToken).ConfigureAwait(false);
        }

        Log.Prepared(_logger, plan.RunId, data.SnapshotId, data.Train.Count, data.Validation.Count, data.Test.Count);
        return new PreparedRun(data.SnapshotId, data.Train.Count, data.Validation.Count, data.Test.Count, data.Featurizer.OutputDimension, initial);
    }

    /// <summary>
    /// One shard of one round: its part of the round (tasks sampled from seed, round and shard) at the
    /// checkpoint named in the request, written create-only as a blob. Re-executing it returns the stored blob.
    /// </summary>
    public async Task<ShardResult> ComputeShardAsync(ShardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        var update = RoundUpdate.For(plan);
        var name = RunArtifactNames.Update(request.Round, request.Shard);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.shard");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.shard", request.Shard).SetTag("smeta.algorithm", plan.Algorithm);
        var stopwatch = Stopwatch.StartNew();
        var existing = await _artifacts.FindAsync(plan.RunId, name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            var bytes = await _artifacts.ReadAsync(plan.RunId, name, existing.ETag, cancellationToken).ConfigureAwait(false);
            var (taskCount, lossSum) = update.ReadCounts(bytes);
            return new ShardResult(request.Shard, existing.BlobName, existing.ETag, taskCount, lossSum, _workerId, stopwatch.Elapsed.TotalMilliseconds);
        }

        var data = await _data.GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        using var lease = await _checkpoints.AcquireAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var (start, count) = TaskSampling.ShardRange(plan.MetaBatchSize, plan.Shards, request.Shard);
        using var buffer = new MemoryStream();
        var meanLoss = update.WriteShard(lease.Model, data.TrainingSampler(plan), request.Round, start, count, buffer);
        EnsureFinite(meanLoss, $"round {request.Round}, shard {request.Shard}");
        var written = await _artifacts.CreateAsync(plan.RunId, name, new BinaryData(buffer.ToArray()), cancellationToken).ConfigureAwait(false);
        Log.ShardComputed(_logger, plan.RunId, request.Round, request.Shard, count, meanLoss, _workerId, stopwatch.Elapsed.TotalMilliseconds);
        ServerlessMetaTelemetry.ShardDuration.Record(stopwatch.Elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm));
        return new ShardResult(request.Shard, written.BlobName, written.ETag, count, meanLoss * count, _workerId, stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// A round of a one-shard plan in one step: from the round's checkpoint, the round's update on the whole
    /// meta-batch, written create-only as the next checkpoint, plus the validation when asked. The same
    /// computation as a shard followed by the aggregate step, without writing and reading the shard's
    /// artifact: one activity and two blob transfers less per round. Re-executing it finds the checkpoint
    /// and applies nothing.
    /// </summary>
    public async Task<AggregateResult> ComputeRoundAsync(RoundRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        if (plan.Shards != 1)
        {
            throw new ArgumentException($"A round is computed in one step only with one shard; the plan has {plan.Shards}.", nameof(request));
        }

        RequireStartsFrom(request.Round, request.Checkpoint, nameof(request));
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.round");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.algorithm", plan.Algorithm);
        var clock = Stopwatch.StartNew();
        if (await _checkpoints.FindAsync(plan.RunId, request.Round, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, existing.BlobName);
            var storedLoss = await _checkpoints.ReadMeanLossAsync(plan.RunId, existing, cancellationToken).ConfigureAwait(false);
            return await ResultAsync(plan, request.Validate, existing, storedLoss, applied: false, cancellationToken).ConfigureAwait(false);
        }

        var data = await _data.GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        using var lease = await _checkpoints.AcquireAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var (next, meanLoss) = RoundUpdate.For(plan).Advance(lease.Model, data.TrainingSampler(plan), request.Round);
        using (next)
        {
            EnsureFinite(meanLoss, $"round {request.Round}");
            var (checkpoint, created) = await _checkpoints.WriteAsync(plan.RunId, request.Round, next, meanLoss, cancellationToken).ConfigureAwait(false);
            var algorithmTag = new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm);
            ServerlessMetaTelemetry.RoundDuration.Record(clock.Elapsed.TotalMilliseconds, algorithmTag);
            ServerlessMetaTelemetry.MetaLoss.Record(meanLoss, algorithmTag);
            Log.Aggregated(_logger, plan.RunId, request.Round, plan.MetaBatchSize, meanLoss, _workerId);
            return await ResultAsync(plan, request.Validate, checkpoint, meanLoss, created, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Combines a round's shard artifacts in shard order into the next checkpoint, written create-only. If
    /// the next checkpoint already exists (a re-executed step), it is returned without applying anything:
    /// one update per round, one checkpoint per round.
    /// </summary>
    public async Task<AggregateResult> AggregateAsync(AggregateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        RequireStartsFrom(request.Round, request.Previous, nameof(request));
        var shards = request.Shards.OrderBy(s => s.Shard).ToList();
        if (!shards.Select(s => s.Shard).SequenceEqual(Enumerable.Range(0, plan.Shards)))
        {
            throw new ArgumentException($"Round {request.Round} needs exactly one update from each of the {plan.Shards} shards.", nameof(request));
        }

        var meanLoss = shards.Sum(s => s.LossSum) / shards.Sum(s => s.TaskCount);
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.aggregate");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Round).SetTag("smeta.algorithm", plan.Algorithm);
        var aggregateClock = Stopwatch.StartNew();
        if (await _checkpoints.FindAsync(plan.RunId, request.Round, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, existing.BlobName);
            return await ResultAsync(plan, request.Validate, existing, meanLoss, applied: false, cancellationToken).ConfigureAwait(false);
        }

        var blobs = new List<BinaryData>(shards.Count);
        foreach (var shard in shards)
        {
            blobs.Add(await _artifacts.ReadAsync(plan.RunId, RunArtifactNames.Update(request.Round, shard.Shard), shard.ETag, cancellationToken).ConfigureAwait(false));
        }

        using var lease = await _checkpoints.AcquireAsync(plan.RunId, request.Previous, cancellationToken).ConfigureAwait(false);
        using var next = lease.Model.Clone();
        var taskCount = shards.Sum(s => s.TaskCount);
        RoundUpdate.For(plan).Aggregate(next, blobs, [.. shards.Select(s => s.TaskCount)]);
        var (checkpoint, created) = await _checkpoints.WriteAsync(plan.RunId, request.Round, next, meanLoss, cancellationToken).ConfigureAwait(false);
        if (!created)
        {
            // A concurrent execution of this step wrote the round first: its checkpoint is the round's.
            Log.AggregateSkipped(_logger, plan.RunId, request.Round, checkpoint.BlobName);
            return await ResultAsync(plan, request.Validate, checkpoint, meanLoss, applied: false, cancellationToken).ConfigureAwait(false);
        }

        Log.Aggregated(_logger, plan.RunId, request.Round, taskCount, meanLoss, _workerId);
        var algorithmTag = new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm);
        ServerlessMetaTelemetry.RoundDuration.Record(shards.Max(s => s.Milliseconds) + aggregateClock.Elapsed.TotalMilliseconds, algorithmTag);
        ServerlessMetaTelemetry.MetaLoss.Record(meanLoss, algorithmTag);
        activity?.SetTag("smeta.meta_loss", meanLoss);
        return await ResultAsync(plan, request.Validate, checkpoint, meanLoss, applied: true, cancellationToken).ConfigureAwait(false);
    }

    private static void RequireStartsFrom(int round, CheckpointRef start, string parameterName)
    {
        if (start.Round != round - 1)
        {
            throw new ArgumentException($"Round {round} must start from the checkpoint of round {round - 1}, not {start.Round}.", parameterName);
        }
    }

    private static void EnsureFinite(double meanLoss, string where)
    {
        if (!double.IsFinite(meanLoss))
        {
            throw new InvalidOperationException($"Meta-training diverged in {where}: the meta-loss is {meanLoss}. Lower the outer or inner learning rate.");
        }
    }

    /// <summary>
    /// The round's result, with the validation figures of its checkpoint when the request asks for them (a
    /// pure function of the checkpoint, so retries agree).
    /// </summary>
    private async Task<AggregateResult> ResultAsync(PretrainingPlan plan, bool validate, CheckpointRef checkpoint, double meanLoss, bool applied, CancellationToken cancellationToken)
    {
        var result = new AggregateResult(checkpoint, meanLoss, applied, _workerId);
        return validate
            ? result with { Validation = await _evaluation.EvaluateAsync(new EvaluationRequest(plan, checkpoint, EvaluationSplit.Validation), cancellationToken).ConfigureAwait(false) }
            : result;
    }
}
