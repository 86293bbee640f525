using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Application;

namespace ServerlessMeta.Orchestration;

/// <summary>
/// Durable meta-pretraining. First, for runs on encoder features, the embedding phase: fan out one
/// <see cref="EmbedChunkActivity"/> per chunk of the data snapshot (each embeds only texts the
/// content-addressed cache lacks). Then per round: fan out one <see cref="ComputeShardActivity"/> per shard (each
/// reads the checkpoint named in its input and writes its summed update as a blob), fan in, and let one
/// <see cref="AggregateRoundActivity"/> apply the outer step and write the next checkpoint. Every
/// <see cref="PretrainingPlan.ValidationInterval"/> rounds it evaluates on the validation categories and
/// remembers the best checkpoint (early stopping); ContinueAsNew every
/// <see cref="PretrainingPlan.CheckpointPeriod"/> rounds keeps the history small. At the end
/// <see cref="FinishRunActivity"/> tests the best checkpoint against nearest centroid and registers it if
/// it wins. Deterministic: no clock but the context's, no random, no I/O, no tensors.
/// </summary>
public sealed partial class PretrainingOrchestrator : TaskOrchestrator<PretrainingInput, PretrainingOutcome?>
{
    public const string Name = nameof(PretrainingOrchestrator);

    /// <summary>Activities are idempotent, so retrying them is always safe.</summary>
    private static readonly RetryPolicy Retry = new(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30));

    private static readonly TaskOptions RetryOptions = TaskOptions.FromRetryPolicy(Retry);

    public override async Task<PretrainingOutcome?> RunAsync(TaskOrchestrationContext context, PretrainingInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger<PretrainingOrchestrator>();
        var plan = input.Plan;
        var state = input.State;
        if (state is null)
        {
            var embeddingWorkers = new Dictionary<string, int>(StringComparer.Ordinal);
            if (plan.Encoder is not null)
            {
                context.SetCustomStatus(new PretrainingStatus("embedding", 0, plan.Rounds, null, null, null, 0, null, null, null, 0));
                var embedding = await context.CallActivityAsync<EmbeddingPlan>(PlanEmbeddingActivity.Name, plan, RetryOptions);
                var chunkCalls = new List<Task<EmbedChunkResult>>(embedding.Chunks);
                for (var chunk = 0; chunk < embedding.Chunks; chunk++)
                {
                    chunkCalls.Add(context.CallActivityAsync<EmbedChunkResult>(EmbedChunkActivity.Name, new EmbedChunkRequest(plan, chunk), RetryOptions));
                }

                var chunks = await Task.WhenAll(chunkCalls);
                int texts = 0, embedded = 0;
                foreach (var chunk in chunks)
                {
                    embeddingWorkers[chunk.Worker] = embeddingWorkers.GetValueOrDefault(chunk.Worker) + 1;
                    texts += chunk.Texts;
                    embedded += chunk.Embedded;
                }

                Log.Embedded(logger, plan.RunId, chunks.Length, texts, embedded);
            }

            context.SetCustomStatus(new PretrainingStatus("preparing", 0, plan.Rounds, null, null, null, 0, null, null, null, 0));
            var prepared = await context.CallActivityAsync<PreparedRun>(PrepareRunActivity.Name, plan, RetryOptions);
            state = new PretrainingState(prepared, prepared.Initial, prepared.Initial, null, null, null, null, context.CurrentUtcDateTime, 0, embeddingWorkers);
            if (plan.ValidationInterval > 0)
            {
                state = await ValidateAsync(context, plan, state);
            }
        }

        var end = Math.Min(plan.Rounds, state.Checkpoint.Round + plan.CheckpointPeriod);
        while (state.Checkpoint.Round < end)
        {
            var round = state.Checkpoint.Round + 1;
            var checkpoint = state.Checkpoint;
            var validate = plan.ValidationInterval > 0 && (round % plan.ValidationInterval == 0 || round == plan.Rounds);
            AggregateResult aggregate;
            IEnumerable<string> shardWorkers;
            if (plan.Shards == 1)
            {
                // One shard: the whole round in one activity, one queue round trip instead of two.
                aggregate = await context.CallActivityAsync<AggregateResult>(ComputeRoundActivity.Name, new RoundRequest(plan, round, checkpoint, validate), RetryOptions);
                shardWorkers = [];
            }
            else
            {
                var shardCalls = new List<Task<ShardResult>>(plan.Shards);
                for (var shard = 0; shard < plan.Shards; shard++)
                {
                    shardCalls.Add(context.CallActivityAsync<ShardResult>(ComputeShardActivity.Name, new ShardRequest(plan, round, shard, checkpoint), RetryOptions));
                }

                var shards = await Task.WhenAll(shardCalls);
                aggregate = await context.CallActivityAsync<AggregateResult>(AggregateRoundActivity.Name, new AggregateRequest(plan, round, checkpoint, shards, validate), RetryOptions);
                shardWorkers = shards.Select(s => s.Worker);
            }

            var workers = new Dictionary<string, int>(state.Workers, StringComparer.Ordinal);
            foreach (var worker in shardWorkers.Append(aggregate.Worker))
            {
                workers[worker] = workers.GetValueOrDefault(worker) + 1;
            }

            state = state with
            {
                Checkpoint = aggregate.Checkpoint,
                MetaLossAverage = state.MetaLossAverage is { } average ? (0.9 * average) + (0.1 * aggregate.MeanLoss) : aggregate.MeanLoss,
                Workers = workers,
            };
            if (aggregate.Validation is { } validation)
            {
                // The aggregate step evaluated its own checkpoint: no separate evaluation activity this round.
                state = WithValidation(logger, plan, state, validation);
            }

            context.SetCustomStatus(Status("training", context, plan, state));
        }

        if (state.Checkpoint.Round < plan.Rounds)
        {
            Log.ContinuingAsNew(logger, plan.RunId, state.Checkpoint.Round, state.Generation + 1);
            context.ContinueAsNew(input with { State = state with { Generation = state.Generation + 1 } });
            return null;
        }

        var best = plan.ValidationInterval > 0 ? state.Best : state.Checkpoint;
        context.SetCustomStatus(Status("finishing", context, plan, state));
        var outcome = await context.CallActivityAsync<PretrainingOutcome>(
            FinishRunActivity.Name, new FinishRequest(plan, best, state.Checkpoint, state.BestValidationAccuracy, state.Workers), RetryOptions);
        context.SetCustomStatus(Status("completed", context, plan, state));
        Log.Completed(logger, plan.RunId, outcome.Served, outcome.Reason);
        return outcome;
    }

    private static async Task<PretrainingState> ValidateAsync(TaskOrchestrationContext context, PretrainingPlan plan, PretrainingState state)
    {
        var logger = context.CreateReplaySafeLogger<PretrainingOrchestrator>();
        var result = await context.CallActivityAsync<EvaluationResult>(
            EvaluateCheckpointActivity.Name, new EvaluationRequest(plan, state.Checkpoint, EvaluationSplit.Validation), RetryOptions);
        return WithValidation(logger, plan, state, result);
    }

    /// <summary>Records a validation result of the current checkpoint: the latest figures, and the best checkpoint so far (early stopping).</summary>
    private static PretrainingState WithValidation(ILogger logger, PretrainingPlan plan, PretrainingState state, EvaluationResult result)
    {
        var improved = state.BestValidationAccuracy is not { } best || result.Accuracy > best;
        Log.Validated(logger, plan.RunId, state.Checkpoint.Round, result.Accuracy, result.Loss, improved);
        return state with
        {
            LastValidationAccuracy = result.Accuracy,
            LastValidationLoss = result.Loss,
            Best = improved ? state.Checkpoint : state.Best,
            BestValidationAccuracy = improved ? result.Accuracy : state.BestValidationAccuracy,
        };
    }

    private static PretrainingStatus Status(string phase, TaskOrchestrationContext context, PretrainingPlan plan, PretrainingState state)
    {
        var round = state.Checkpoint.Round;
        double? secondsPerRound = round > 0 ? (context.CurrentUtcDateTime - state.StartedAt).TotalSeconds / round : null;
        DateTime? eta = secondsPerRound is { } s ? context.CurrentUtcDateTime.AddSeconds(s * (plan.Rounds - round)) : null;
        return new PretrainingStatus(phase, round, plan.Rounds, state.MetaLossAverage, state.LastValidationAccuracy, state.LastValidationLoss,
            state.Best.Round, state.BestValidationAccuracy, secondsPerRound, eta, state.Generation);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "Run {RunId} round {Round}: validation accuracy {Accuracy:F4}, loss {Loss:F4} (new best: {Improved})")]
        public static partial void Validated(ILogger logger, string runId, int round, double accuracy, double loss, bool improved);

        [LoggerMessage(EventId = 7302, Level = LogLevel.Information, Message = "Run {RunId}: continuing as new after round {Round} (generation {Generation})")]
        public static partial void ContinuingAsNew(ILogger logger, string runId, int round, int generation);

        [LoggerMessage(EventId = 7304, Level = LogLevel.Information, Message = "Run {RunId}: embedding phase done, {Chunks} chunks, {Texts} distinct texts, {Embedded} embedded (the rest from the cache)")]
        public static partial void Embedded(ILogger logger, string runId, int chunks, int texts, int embedded);

        [LoggerMessage(EventId = 7303, Level = LogLevel.Information, Message = "Run {RunId} completed (served: {Served}): {Reason}")]
        public static partial void Completed(ILogger logger, string runId, bool served, string reason);
    }
}
