using Microsoft.DurableTask;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;

namespace ServerlessMeta.Orchestration;

/// <summary>Pins the data snapshot and writes the round-0 checkpoint.</summary>
public sealed class PrepareRunActivity(PretrainingRounds rounds) : TaskActivity<PretrainingPlan, PreparedRun>
{
    public const string Name = nameof(PrepareRunActivity);

    public override Task<PreparedRun> RunAsync(TaskActivityContext context, PretrainingPlan input) => rounds.PrepareAsync(input);
}

/// <summary>Pins the data snapshot and cuts it into embedding chunks (none for hashed text features).</summary>
public sealed class PlanEmbeddingActivity(PretrainingData data) : TaskActivity<PretrainingPlan, EmbeddingPlan>
{
    public const string Name = nameof(PlanEmbeddingActivity);

    public override Task<EmbeddingPlan> RunAsync(TaskActivityContext context, PretrainingPlan input) => data.PlanEmbeddingAsync(input);
}

/// <summary>Embeds one chunk of the snapshot's texts through the content-addressed embedding cache.</summary>
public sealed class EmbedChunkActivity(PretrainingData data) : TaskActivity<EmbedChunkRequest, EmbedChunkResult>
{
    public const string Name = nameof(EmbedChunkActivity);

    public override Task<EmbedChunkResult> RunAsync(TaskActivityContext context, EmbedChunkRequest input) => data.EmbedChunkAsync(input);
}

/// <summary>One shard's summed meta-update for one round, written as a blob.</summary>
public sealed class ComputeShardActivity(PretrainingRounds rounds) : TaskActivity<ShardRequest, ShardResult>
{
    public const string Name = nameof(ComputeShardActivity);

    public override Task<ShardResult> RunAsync(TaskActivityContext context, ShardRequest input) => rounds.ComputeShardAsync(input);
}

/// <summary>Sums the round's updates, applies one outer step, writes the next checkpoint (at most once per round).</summary>
public sealed class AggregateRoundActivity(PretrainingRounds rounds) : TaskActivity<AggregateRequest, AggregateResult>
{
    public const string Name = nameof(AggregateRoundActivity);

    public override Task<AggregateResult> RunAsync(TaskActivityContext context, AggregateRequest input) => rounds.AggregateAsync(input);
}

/// <summary>Held-out accuracy and loss of a checkpoint beside nearest centroid.</summary>
public sealed class EvaluateCheckpointActivity(PretrainingEvaluation evaluation) : TaskActivity<EvaluationRequest, EvaluationResult>
{
    public const string Name = nameof(EvaluateCheckpointActivity);

    public override Task<EvaluationResult> RunAsync(TaskActivityContext context, EvaluationRequest input) => evaluation.EvaluateAsync(input);
}

/// <summary>Tests the best checkpoint against the baseline and registers it if it wins.</summary>
public sealed class FinishRunActivity(PretrainingRegistration registration) : TaskActivity<FinishRequest, PretrainingOutcome>
{
    public const string Name = nameof(FinishRunActivity);

    public override Task<PretrainingOutcome> RunAsync(TaskActivityContext context, FinishRequest input) => registration.FinishAsync(input);
}

/// <summary>A whole round of a one-shard plan: shard update, outer step and (when asked) validation in one activity.</summary>
public sealed class ComputeRoundActivity(PretrainingRounds rounds) : TaskActivity<RoundRequest, AggregateResult>
{
    public const string Name = nameof(ComputeRoundActivity);

    public override Task<AggregateResult> RunAsync(TaskActivityContext context, RoundRequest input) => rounds.ComputeRoundAsync(input);
}

/// <summary>Every orchestrator and activity of pretraining, for hosts that register them by name.</summary>
public static class PretrainingTasks
{
    public static IReadOnlyList<(string Name, Type Type)> Activities { get; } =
    [
        (PlanEmbeddingActivity.Name, typeof(PlanEmbeddingActivity)),
        (EmbedChunkActivity.Name, typeof(EmbedChunkActivity)),
        (PrepareRunActivity.Name, typeof(PrepareRunActivity)),
        (ComputeShardActivity.Name, typeof(ComputeShardActivity)),
        (AggregateRoundActivity.Name, typeof(AggregateRoundActivity)),
        (ComputeRoundActivity.Name, typeof(ComputeRoundActivity)),
        (EvaluateCheckpointActivity.Name, typeof(EvaluateCheckpointActivity)),
        (FinishRunActivity.Name, typeof(FinishRunActivity)),
    ];

    public static IReadOnlyList<(string Name, Type Type)> Orchestrators { get; } =
    [
        (PretrainingOrchestrator.Name, typeof(PretrainingOrchestrator)),
    ];
}
